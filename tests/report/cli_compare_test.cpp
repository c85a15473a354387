// `lockstep compare` as the CLI runs it (tools/cmd_compare.cpp): exit codes, what it prints,
// the JSON report.
#include <gtest/gtest.h>

#include <bit>

#include <nlohmann/json.hpp>

#include "cmd_compare.hpp"
#include "report/compare.hpp"
#include "report_test_util.hpp"

namespace lockstep::report {
namespace {

using namespace test;

nlohmann::json read_json(const std::string& path) {
  const auto bytes = read_bytes(path);
  return nlohmann::json::parse(bytes.begin(), bytes.end());
}

TEST(CliCompare, IdenticalFilesExitZero) {
  ScratchDir dir;
  write_result(dir.path("a.safetensors"), {{"device.name", "AMD Radeon RX 7900"}});
  write_result(dir.path("b.safetensors"), {{"device.name", "Intel Arc A770"}});
  const auto c = capture([&] { return cli::compare({dir.path("a.safetensors"), dir.path("b.safetensors")}, {}); });
  EXPECT_EQ(c.rc, 0) << c.out << c.err;
  EXPECT_MENTIONS(c.out, "PASS", "AMD Radeon RX 7900", "Intel Arc A770", "bit-identical in all 5 shared tensors");
  EXPECT_EQ(c.err, "");
}

TEST(CliCompare, OneCorruptedBitIsNamedAndFails) {
  ScratchDir dir;
  const std::string a = dir.path("amd.safetensors"), good = dir.path("nv0.safetensors"),
                    b = dir.path("nvidia.safetensors"), json = dir.path("report.json");
  write_result(a);
  write_result(good);
  // One bit of one layer, in a copy whose fingerprint was recomputed: a self-consistent file.
  flip_bit(good, b, "layer.2.pool", 9, 5, /*update_fingerprint=*/true);
  cli::CompareOptions o;
  o.json = json;
  const auto c = capture([&] { return cli::compare({a, b}, o); });
  EXPECT_EQ(c.rc, 1) << c.out << c.err;
  // The text names the layer, the element and both values' bits.
  const auto r = read_result_file(a);
  const float va = r.find("layer.2.pool")->data[9];
  uint32_t vb_bits = std::bit_cast<uint32_t>(va) ^ (1u << 5);
  EXPECT_MENTIONS(c.out, "FAIL", "layer 'layer.2.pool' element 9", hex_bits(va).c_str(), hex_bits(vb_bits).c_str(),
                  "FIXED-ORDER MISMATCH");

  const auto j = read_json(json);
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["failure"]["tensor"], "layer.2.pool");
  EXPECT_EQ(j["failure"]["element"]["index"], 9);
  EXPECT_EQ(j["failure"]["element"]["a_bits"], hex_bits(va));
  EXPECT_EQ(j["failure"]["element"]["b_bits"], hex_bits(vb_bits));
  EXPECT_EQ(j["pairs"][0]["first_divergent_tensor"], "layer.2.pool");
  int differing_tensors = 0;
  for (const auto& t : j["pairs"][0]["tensors"]) {
    if (t["identical"]) continue;
    differing_tensors++;
    EXPECT_EQ(t["name"], "layer.2.pool");
    EXPECT_EQ(t["differing"], 1);
    EXPECT_EQ(t["first_difference"]["index"], 9);
  }
  EXPECT_EQ(differing_tensors, 1);
}

TEST(CliCompare, BadInputExitsTwoWithTheReason) {
  ScratchDir dir;
  const std::string good = dir.path("good.safetensors");
  write_result(good);
  auto run = [&](const std::string& other) { return capture([&] { return cli::compare({good, other}, {}); }); };

  flip_bit(good, dir.path("tampered.safetensors"), "layer.0.conv1", 3, 1, /*update_fingerprint=*/false);
  auto c = run(dir.path("tampered.safetensors"));
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "lockstep compare: error:", "tampered.safetensors", "'layer.0.conv1'", "fingerprint");

  auto bytes = read_bytes(good);
  write_bytes(dir.path("truncated.safetensors"), std::vector<uint8_t>(bytes.begin(), bytes.end() - 10));
  c = run(dir.path("truncated.safetensors"));
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "truncated.safetensors", "truncated");

  write_bytes(dir.path("empty.safetensors"), {});
  c = run(dir.path("empty.safetensors"));
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "empty.safetensors", "empty");

  write_bytes(dir.path("image.png"), {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'});
  c = run(dir.path("image.png"));
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "image.png", "PNG");

  io::write_safetensors(dir.path("foreign.safetensors"), {{"w", {1}, {1.0f}}}, {{"format", "pt"}});
  c = run(dir.path("foreign.safetensors"));
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "foreign.safetensors", "not a lockstep result file");

  write_result(dir.path("other_input.safetensors"), {{"input.xxh3_128", "0000000000000000000000000000abcd"}});
  c = run(dir.path("other_input.safetensors"));
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "not comparable", "different input", "0000000000000000000000000000abcd");

  c = run(dir.path("missing.safetensors"));
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "missing.safetensors");

  c = capture([&] { return cli::compare({good}, {}); });
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "at least two");

  // A report that cannot be written is bad input too, not a crash.
  cli::CompareOptions o;
  o.html = dir.path("no/such/dir/report.html");
  c = capture([&] { return cli::compare({good, good}, o); });
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "report.html");
}

TEST(CliCompare, JsonToStdout) {
  ScratchDir dir;
  write_result(dir.path("a"));
  write_result(dir.path("b"), sample_tensors(3), run_metadata({{"order", "free"}}));
  cli::CompareOptions o;
  o.json = "-";
  const auto c = capture([&] { return cli::compare({dir.path("a"), dir.path("b")}, o); });
  EXPECT_EQ(c.rc, 0);
  const auto j = nlohmann::json::parse(c.out);
  EXPECT_EQ(j["format"], "lockstep-compare-1");
  EXPECT_EQ(j["verdict"], "no_fixed_pair");
  EXPECT_EQ(j["pairs"][0]["kind"], "fixed vs free");
  EXPECT_EQ(j["files"][1]["mode"], "free");
  const auto& t0 = j["pairs"][0]["tensors"][0];
  EXPECT_EQ(t0["name"], "layer.0.conv1");
  uint64_t total = 0;
  for (const auto& [bucket, n] : t0["ulp_histogram"].items()) total += n.get<uint64_t>();
  EXPECT_EQ(total, t0["elements"].get<uint64_t>());
  EXPECT_TRUE(j["pairs"][0]["topk"]["rows"] == 2);
}

// Different inputs, preprocessing or dropout: refused, unless asked to measure the difference;
// then flagged, never a failure, even in fixed order. Model and weights must still agree.
TEST(CliCompare, DifferentInputsAreMeasuredOnlyWhenAsked) {
  ScratchDir dir;
  const std::string a = dir.path("a"), b = dir.path("b"), c_ = dir.path("c"), w = dir.path("w");
  write_result(a);
  write_result(b, sample_tensors(5), run_metadata({{"preprocess", "keras,resize=bilinear"},
                                                   {"input.xxh3_128", "0000000000000000000000000000abcd"}}));
  write_result(c_, sample_tensors(6), run_metadata({{"dropout", "mc seed=1 passes=1 (output: the last pass)"}}));
  write_result(w, sample_tensors(7), run_metadata({{"weights.xxh3_128", "ffff0000000000000000000000000000"}}));

  auto c = capture([&] { return cli::compare({a, c_}, {}); });
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "not comparable", "different dropout", "--allow-different-inputs");

  cli::CompareOptions o;
  o.allow_different_inputs = true;
  o.json = dir.path("r.json");
  c = capture([&] { return cli::compare({a, b, c_}, o); });
  EXPECT_EQ(c.rc, 0) << c.out << c.err;
  const auto j = read_json(o.json);
  EXPECT_EQ(j["pairs"][0]["kind"], "different inputs");
  EXPECT_NE(j["pairs"][0]["flag"].get<std::string>().find("different input, preprocessing"), std::string::npos);
  EXPECT_EQ(j["pairs"][1]["kind"], "different inputs");
  EXPECT_NE(j["pairs"][1]["flag"].get<std::string>().find("different dropout"), std::string::npos);
  EXPECT_FALSE(j["pairs"][0]["identical"].get<bool>()) << "different data, so the pair is measured as different";
  EXPECT_NE(j["verdict"], "fail");

  // A file written before "dropout" was recorded has it off.
  auto meta = run_metadata();
  meta.erase("dropout");
  write_result(dir.path("old"), sample_tensors(), meta);
  c = capture([&] { return cli::compare({a, dir.path("old")}, {}); });
  EXPECT_EQ(c.rc, 0) << c.err;

  c = capture([&] { return cli::compare({a, w}, o); });
  EXPECT_EQ(c.rc, 2);
  EXPECT_MENTIONS(c.err, "different weights");
}

TEST(CliCompare, UntrustedStringsCannotReachTheTerminalRaw) {
  ScratchDir dir;
  write_result(dir.path("a"), {{"device.name", "evil\x1b]0;pwned\x07\x1b[2J name"}});
  write_result(dir.path("b"));
  const auto c = capture([&] { return cli::compare({dir.path("a"), dir.path("b")}, {}); });
  EXPECT_EQ(c.rc, 0);
  EXPECT_EQ(c.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(c.out.find('\x07'), std::string::npos);
  EXPECT_MENTIONS(c.out, "evil\\x1b]0;pwned\\x07\\x1b[2J name");
}

}  // namespace
}  // namespace lockstep::report
