// `lockstep check` end to end, through the binary: VGG19 and ResNet-50 at 64x64 on
// lavapipe at widths 128, 256 and 512 (child processes under --variant) and the CPU reference;
// a variant that corrupts one layer; failing and timed-out children; several queues on one
// device in one process; `run` on several devices and on the CPU reference.
//
// What check reports is verified independently: its result files (--save-dir) are read back,
// every fixed-order tensor compared with memcmp, and the free-order table recomputed from the
// saved free-order tensors.
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "graph/reference_forward.hpp"
#include "models/models.hpp"
#include "report/result_reader.hpp"

namespace {

using namespace lockstep;
namespace fs = std::filesystem;
using nlohmann::json;

struct Result {
  int status = -1;
  std::string out;
};

Result cli(const std::string& args) {
  const std::string cmd = std::string(LOCKSTEP_CLI) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  Result r;
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int s = ::pclose(p);
  r.status = WIFEXITED(s) ? WEXITSTATUS(s) : -1;
  return r;
}

class Scratch {
 public:
  Scratch() {
    dir_ = fs::temp_directory_path() / ("lockstep-check-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~Scratch() { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// The network as check builds it, for layer names and sizes (not from check's output).
graph::Network network(const std::string& arch, uint32_t size) {
  auto net = models::build({arch, models::Layout::Keras, size});
  models::init_synthetic(net, 1, 64.0);  // prepare() checks the parameters; their values do not matter here
  graph::prepare(net);
  return net;
}

uint64_t ulp_distance(float a, float b) {
  auto key = [](float f) {
    const int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? -int64_t(i & 0x7fffffff) : int64_t(i);
  };
  const int64_t d = key(a) - key(b);
  return uint64_t(d < 0 ? -d : d);
}

const report::Tensor& tensor(const report::ResultFile& f, const std::string& name) {
  const report::Tensor* t = f.find(name);
  if (!t) throw std::runtime_error(f.path + " has no tensor " + name);
  return *t;
}

// The row of the free-order table for `layer` ("  12 block3_conv1   65536   0   4 (1.2%) ... |  1.2e-07 ..."):
// the pair cells (max ULP, or -1 for a cell that does not parse) and the oracle errors.
struct Row {
  uint64_t elements = 0;
  std::vector<int64_t> max_ulp;
  std::vector<double> f64;
};

std::optional<Row> table_row(const std::string& out, uint32_t index, const std::string& name) {
  const std::regex row_re("\\n  " + std::to_string(index) + " " + name + " +([0-9]+)((?:  +[0-9]+(?: \\([0-9.e+-]+%\\))?)+)  \\|([ 0-9.e+-]+)\\n");
  std::smatch m;
  if (!std::regex_search(out, m, row_re)) return std::nullopt;
  Row r;
  r.elements = std::stoull(m[1].str());
  const std::string cells = m[2].str();
  const std::regex cell_re("([0-9]+)(?: \\(([0-9.e+-]+)%\\))?");
  for (auto it = std::sregex_iterator(cells.begin(), cells.end(), cell_re); it != std::sregex_iterator(); ++it)
    r.max_ulp.push_back(std::stoll((*it)[1].str()));
  std::istringstream f64(m[3].str());
  double v;
  while (f64 >> v) r.f64.push_back(v);
  return r;
}

// check on `arch` at `size` across the three lavapipe widths, then every claim verified.
void check_across_widths(const std::string& arch, uint32_t size) {
  Scratch dir;
  const std::string json_path = dir.path("check.json"), saved = dir.path("results");
  const Result r = cli("check --model " + arch + " --input-size " + std::to_string(size) +
                       " --variant LP_NATIVE_VECTOR_WIDTH=128 --variant LP_NATIVE_VECTOR_WIDTH=256"
                       " --variant LP_NATIVE_VECTOR_WIDTH=512 --denormals preserve --json " + json_path +
                       " --save-dir " + saved + " --html " + dir.path("check.html"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("PASS: every fixed-order pair is bit-identical"), std::string::npos) << r.out;
  const graph::Network net = network(arch, size);
  const size_t layers = net.layers.size();

  const json j = read_json(json_path);
  EXPECT_EQ(j["verdict"], "pass");
  ASSERT_EQ(j["participants"].size(), 4u);  // the reference and three widths
  std::set<uint32_t> subgroups;
  for (size_t k = 1; k < 4; ++k) subgroups.insert(j["participants"][k]["subgroup"].get<uint32_t>());
  EXPECT_EQ(subgroups, (std::set<uint32_t>{4, 8, 16})) << "the variants did not change the subgroup size";
  ASSERT_EQ(j["fixed_pairs"].size(), 3u);
  for (const auto& p : j["fixed_pairs"]) EXPECT_TRUE(p["identical"].get<bool>()) << p.dump();

  // Independently: every tensor of every fixed-order device file equals the reference's (memcmp).
  std::map<std::pair<int, std::string>, report::ResultFile> files;  // (participant, mode slug)
  for (int k = 0; k < 4; ++k)
    for (const char* mode : {"fixed-muladd-preserve", "free"}) {
      const std::string path = saved + "/p" + std::to_string(k) + "." + mode + ".safetensors";
      if (k == 0 && std::string(mode) == "free") continue;
      ASSERT_TRUE(fs::exists(path)) << path;
      files.emplace(std::make_pair(k, std::string(mode)), report::read_result_file(path));
    }
  const auto& ref = files.at({0, "fixed-muladd-preserve"});
  ASSERT_EQ(ref.tensors.size(), layers + 1) << "every layer and the output";
  for (int k = 1; k < 4; ++k) {
    const auto& dev = files.at({k, "fixed-muladd-preserve"});
    EXPECT_EQ(dev.meta("device.subgroup_size"), std::to_string(j["participants"][k]["subgroup"].get<uint32_t>()));
    for (const auto& t : ref.tensors) {
      const auto& d = tensor(dev, t.name);
      ASSERT_EQ(d.data.size(), t.data.size()) << t.name;
      EXPECT_EQ(std::memcmp(d.data.data(), t.data.data(), t.data.size() * 4), 0)
          << "participant " << k << " tensor " << t.name << " differs from the reference";
    }
  }

  // The free-order table: a row per layer, with the layer's size, one cell per device pair
  // whose max ULP matches the saved tensors, and a float64 error per participant.
  const std::vector<std::pair<int, int>> pairs = {{1, 2}, {1, 3}, {2, 3}};
  EXPECT_NE(r.out.find("#1-#2"), std::string::npos) << r.out;
  size_t divergent_layers = 0;
  for (uint32_t li = 0; li < layers; ++li) {
    const auto& l = net.layers[li];
    const auto row = table_row(r.out, li, l.name);
    ASSERT_TRUE(row) << "no free-order table row for layer " << li << " " << l.name << "\n" << r.out;
    EXPECT_EQ(row->elements, l.out.elements()) << l.name;
    ASSERT_EQ(row->max_ulp.size(), pairs.size()) << l.name;
    ASSERT_EQ(row->f64.size(), 4u) << l.name;
    const std::string name = "layer." + std::to_string(li) + "." + l.name;
    bool differs = false;
    for (size_t p = 0; p < pairs.size(); ++p) {
      const auto& a = tensor(files.at({pairs[p].first, "free"}), name).data;
      const auto& b = tensor(files.at({pairs[p].second, "free"}), name).data;
      uint64_t max_ulp = 0;
      for (size_t e = 0; e < a.size(); ++e) max_ulp = std::max(max_ulp, ulp_distance(a[e], b[e]));
      EXPECT_EQ(row->max_ulp[p], int64_t(max_ulp)) << l.name << " pair " << p;
      differs |= max_ulp > 0;
    }
    divergent_layers += differs;
    for (double e : row->f64) {
      EXPECT_TRUE(std::isfinite(e)) << l.name;
      EXPECT_LT(e, 1e-4) << l.name << ": float32 far from the float64 oracle";
    }
  }
  // lavapipe's subgroupAdd sums lanes left to right, so free-order dense layers (subgroup
  // reductions) change bits with the subgroup size; fixed order above does not.
  EXPECT_GT(divergent_layers, 0u) << "free order is bit-identical across widths: nothing was measured\n" << r.out;
  EXPECT_NE(r.out.find("top-1 agree"), std::string::npos) << r.out;

  // The HTML report is lockstep compare's page (tested in headless Chromium there) with the
  // check's tables: self-contained, the verdict on top.
  std::ifstream html_in(dir.path("check.html"));
  const std::string html((std::istreambuf_iterator<char>(html_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("<h1>lockstep check</h1>"), std::string::npos);
  EXPECT_NE(html.find("class=\"verdict pass\""), std::string::npos);
  EXPECT_NE(html.find("Against the float64 oracle"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
}

TEST(CheckAcrossWidths, Vgg19At64) { check_across_widths("vgg19", 64); }
TEST(CheckAcrossWidths, ResNet50At64) { check_across_widths("resnet50", 64); }

TEST(CheckFailures, AVariantWithOneFlippedBitFailsNamingTheLayerAndElement) {
  Scratch dir;
  const std::string saved = dir.path("results");
  const Result r = cli("check --model resnet18 --input-size 32 --order fixed --denormals preserve"
                       " --variant LP_NATIVE_VECTOR_WIDTH=128"
                       " --variant LOCKSTEP_TEST_FLIP_BIT=conv3_block1_2_conv --save-dir " + saved);
  EXPECT_EQ(r.status, 1) << r.out;
  const auto ref = report::read_result_file(saved + "/p0.fixed-muladd-preserve.safetensors");
  const graph::Network net = network("resnet18", 32);
  const int li = net.find("conv3_block1_2_conv");
  ASSERT_GE(li, 0);
  const std::string name = "layer." + std::to_string(li) + ".conv3_block1_2_conv";
  const float v = tensor(ref, name).data[0];
  char bits[2][16];
  std::snprintf(bits[0], sizeof bits[0], "0x%08x", std::bit_cast<uint32_t>(v));
  std::snprintf(bits[1], sizeof bits[1], "0x%08x", std::bit_cast<uint32_t>(v) ^ 1u);
  EXPECT_NE(r.out.find("FAIL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("layer '" + name + "' element 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(bits[0]), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(bits[1]), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LOCKSTEP_TEST_FLIP_BIT"), std::string::npos) << "the failing variant is named\n" << r.out;
  // The unmodified variant passed: only one of the two devices differs.
  EXPECT_NE(r.out.find("1 of 2 devices differ"), std::string::npos) << r.out;
}

TEST(CheckFailures, FailedOrSlowChildrenAndBadVariantsAreClearErrors) {
  Result r = cli("check --model resnet18 --input-size 32 --variant VK_DRIVER_FILES=/nonexistent/driver.json");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("variant VK_DRIVER_FILES=/nonexistent/driver.json"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exited with status"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vkCreateInstance"), std::string::npos) << "the child's own error is shown\n" << r.out;

  r = cli("check --model resnet18 --input-size 32 --variant LP_NATIVE_VECTOR_WIDTH=256 --child-timeout 1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("timed out after 1 s"), std::string::npos) << r.out;

  r = cli("check --model resnet18 --input-size 32 --variant NOEQUALSSIGN");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("--variant 'NOEQUALSSIGN': expected NAME=VALUE"), std::string::npos) << r.out;

  r = cli("check --model resnet18 --input-size 32 --contract fused");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("fused"), std::string::npos) << r.out;

  r = cli("check --model resnet18 --input-size 32 --random 2 --inputs /nonexistent");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("give inputs one way"), std::string::npos) << r.out;
}

// Two logical devices (two queues, two threads) on the one lavapipe device, many inputs.
TEST(CheckInProcess, TwoQueuesOnOneDeviceOverManyInputs) {
  Scratch dir;
  const std::string json_path = dir.path("check.json");
  const Result r = cli("--device 0,0 check --model resnet18 --input-size 32 --random 6 --batch 4"
                       " --denormals preserve --json " + json_path + " --save-dir " + dir.path("results"));
  ASSERT_EQ(r.status, 0) << r.out;
  const json j = read_json(json_path);
  ASSERT_EQ(j["participants"].size(), 3u);
  EXPECT_EQ(j["model"]["inputs"], 6);
  EXPECT_EQ(j["model"]["batch"], 4);
  for (const auto& p : j["fixed_pairs"]) {
    EXPECT_TRUE(p["identical"].get<bool>());
    EXPECT_EQ(p["rows"], 6);
    EXPECT_EQ(p["top1_flips"], 0);
  }
  ASSERT_EQ(j["free_pairs"].size(), 1u);
  EXPECT_EQ(j["free_pairs"][0]["rows"], 6);
  // The same device, shaders and order twice: free order is the same too.
  EXPECT_TRUE(j["free_pairs"][0]["identical"].get<bool>()) << r.out;
  EXPECT_NE(r.out.find("top-1 flip rate between devices in free order: 0 of 6"), std::string::npos) << r.out;
  // The six generated inputs differ, so do their outputs (the flip rate is over six cases).
  const auto ref = report::read_result_file(dir.path("results") + "/p0.fixed-muladd-preserve.safetensors");
  const auto& out = tensor(ref, "output");
  ASSERT_EQ(out.shape, (std::vector<uint64_t>{6, 1000}));
  std::set<std::string> rows;
  for (size_t i = 0; i < 6; ++i) rows.insert(std::string(reinterpret_cast<const char*>(&out.data[i * 1000]), 4000));
  EXPECT_EQ(rows.size(), 6u);
}

std::vector<std::string> fingerprints(const std::string& out) {
  std::vector<std::string> f;
  const std::regex re("fingerprint \\(XXH3-128 of the [a-z/]+ output\\): ([0-9a-f]{32})");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator(); ++it)
    f.push_back((*it)[1].str());
  return f;
}

TEST(RunConcurrent, TwoQueuesAndTheCpuReferenceGiveOneFingerprint) {
  Scratch dir;
  const std::string model = "--model resnet18 --layout torch --input-size 32 --fingerprint";
  const Result two = cli("--device 0,0 run " + model + " --check --save " + dir.path("out.safetensors"));
  ASSERT_EQ(two.status, 0) << two.out;
  const auto fp = fingerprints(two.out);
  ASSERT_EQ(fp.size(), 2u) << two.out;
  EXPECT_EQ(fp[0], fp[1]);
  EXPECT_TRUE(fs::exists(dir.path("out.device0-0.safetensors"))) << two.out;
  EXPECT_TRUE(fs::exists(dir.path("out.device0-1.safetensors"))) << two.out;
  const Result ref = cli("run --reference " + model);
  ASSERT_EQ(ref.status, 0) << ref.out;
  ASSERT_EQ(fingerprints(ref.out).size(), 1u) << ref.out;
  EXPECT_EQ(fingerprints(ref.out)[0], fp[0]) << "the CPU reference and the device disagree in fixed order";
  // Under the fma contract (which lavapipe refuses) the reference still runs, and rounds differently.
  const Result fma = cli("run --reference --contract fma " + model);
  ASSERT_EQ(fma.status, 0) << fma.out;
  ASSERT_EQ(fingerprints(fma.out).size(), 1u) << fma.out;
  EXPECT_NE(fingerprints(fma.out)[0], fp[0]);
  const Result refused = cli("--device 0 run --contract fma " + model);
  EXPECT_EQ(refused.status, 2) << refused.out;
  EXPECT_NE(refused.out.find("fma"), std::string::npos) << refused.out;
}

}  // namespace
