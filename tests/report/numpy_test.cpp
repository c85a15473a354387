// Result files load in NumPy without lockstep: a few lines of Python (struct + json +
// numpy.frombuffer) read one, and every value comes back bit for bit.
#include <gtest/gtest.h>

#include <bit>

#include <nlohmann/json.hpp>

#include "report_test_util.hpp"

namespace lockstep::report {
namespace {

using namespace test;

// What a NumPy user writes: the header length, the JSON header, then each tensor as a view of
// the bytes. It prints, per tensor, the shape, the dtype and every value's bits in hex.
constexpr const char* kScript = R"PY(
import json, struct, sys
import numpy as np

with open(sys.argv[1], "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(n))
    data = f.read()
meta = header.pop("__metadata__")
out = {"format": meta["format"], "tensors": {}}
for name, t in header.items():
    begin, end = t["data_offsets"]
    assert t["dtype"] == "F32"
    a = np.frombuffer(data[begin:end], dtype="<f4").reshape(t["shape"])
    out["tensors"][name] = {
        "shape": list(a.shape),
        "dtype": str(a.dtype),
        "bits": [format(int(b), "08x") for b in a.view("<u4").ravel()],
        "argmax": [int(i) for i in a.reshape(a.shape[0], -1).argmax(axis=1)] if a.ndim >= 1 and a.size else [],
    }
with open(sys.argv[2], "w") as f:
    json.dump(out, f)
)PY";

TEST(NumPy, ResultFilesLoadWithAFewLinesOfPython) {
  const auto python = find_python("numpy");
  if (!python)
    GTEST_SKIP() << "no python3 with numpy (Debian package python3-numpy): the NumPy cross-check did not run";
  ScratchDir dir;
  const std::string path = dir.path("run.safetensors"), script = dir.path("read.py"), out = dir.path("out.json");
  const auto tensors = sample_tensors();
  write_result(path, tensors, run_metadata());
  write_text(script, kScript);
  const std::string cmd = *python + " '" + script + "' '" + path + "' '" + out + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  const auto bytes = read_bytes(out);
  const auto j = nlohmann::json::parse(bytes.begin(), bytes.end());
  EXPECT_EQ(j["format"], "lockstep-result-1");
  ASSERT_EQ(j["tensors"].size(), tensors.size());
  for (const auto& t : tensors) {
    SCOPED_TRACE(t.name);
    const auto& got = j["tensors"].at(t.name);
    EXPECT_EQ(got["dtype"], "float32");
    EXPECT_EQ(got["shape"].get<std::vector<uint64_t>>(), t.shape);
    const auto hex = got["bits"].get<std::vector<std::string>>();
    ASSERT_EQ(hex.size(), t.data.size());
    for (size_t i = 0; i < hex.size(); ++i) {
      char want[9];
      std::snprintf(want, sizeof want, "%08x", std::bit_cast<uint32_t>(t.data[i]));
      ASSERT_EQ(hex[i], want) << "element " << i;
    }
  }
  // NumPy's argmax of the output rows is the top-1 lockstep reports.
  const auto& output = tensors[0];
  ASSERT_EQ(output.name, "output");
  const auto argmax = j["tensors"]["output"]["argmax"].get<std::vector<uint64_t>>();
  ASSERT_EQ(argmax.size(), 2u);
  for (uint64_t r = 0; r < 2; ++r) {
    uint64_t best = 0;
    for (uint64_t k = 1; k < 10; ++k)
      if (output.data[r * 10 + k] > output.data[r * 10 + best]) best = k;
    EXPECT_EQ(argmax[r], best) << "row " << r;
  }
}

}  // namespace
}  // namespace lockstep::report
