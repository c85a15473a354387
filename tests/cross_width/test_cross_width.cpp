// The op suite in three child processes, one per lavapipe vector width (subgroup size 4, 8,
// 16; the width is read when the driver loads, so each needs its own process). Every
// fixed-order output hash must be identical across the widths; the report also counts the
// free-order outputs whose hashes differ between widths.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <sys/wait.h>

namespace {

struct Width {
  int bits;
  uint32_t subgroup = 0;
  std::map<std::string, std::string> hashes;  // "op/case/mode" -> hash
  int exit_code = -1;
  std::string dump;
};

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

uint64_t ulps(float a, float b) {
  auto key = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? -int64_t(i & 0x7fffffff) : int64_t(i);
  };
  const int64_t d = key(a) - key(b);
  return uint64_t(d < 0 ? -d : d);
}

std::string run(const std::string& command, int* exit_code) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return {};
  std::string out;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace

TEST(CrossWidth, FixedOrderHashesAreIdenticalAcrossSubgroupSizes) {
  const std::string dump_root = std::filesystem::temp_directory_path() / ("lockstep-xw-" + std::to_string(::getpid()));
  std::vector<Width> widths(3);
  widths[0].bits = 128, widths[1].bits = 256, widths[2].bits = 512;
  for (Width& w : widths) {
    w.dump = dump_root + "/w" + std::to_string(w.bits);
    const std::string cmd = "LP_NATIVE_VECTOR_WIDTH=" + std::to_string(w.bits) + " LOCKSTEP_VALIDATION=1 " LOCKSTEP_CLI
                            " --device 0 opsuite --dump " + w.dump;
    const std::string out = run(cmd, &w.exit_code);
    ASSERT_EQ(w.exit_code, 0) << cmd << " failed:\n" << out.substr(0, 4000);
    const auto j = nlohmann::json::parse(out);
    ASSERT_EQ(j.size(), 1u);
    w.subgroup = j[0]["device"]["subgroup_size_measured"].get<uint32_t>();
    for (const auto& r : j[0]["runs"]) {
      if (r.contains("refused")) continue;
      w.hashes[r["op"].get<std::string>() + "/" + r["case"].get<std::string>() + "/" + r["mode"].get<std::string>()] =
          r["hash"].get<std::string>();
    }
  }
  // Three different subgroup sizes, or the test proves nothing.
  EXPECT_EQ((std::set<uint32_t>{widths[0].subgroup, widths[1].subgroup, widths[2].subgroup}).size(), 3u);

  std::map<std::string, std::pair<int, int>> free_by_op;  // op -> (outputs differing, outputs)
  std::map<std::string, std::pair<uint64_t, uint64_t>> free_elements;  // op -> (elements differing, max ulp)
  size_t fixed_compared = 0;
  for (const auto& [key, hash] : widths[0].hashes) {
    const bool fixed = key.find("/fixed/") != std::string::npos;
    const std::string op = key.substr(0, key.find('/'));
    bool same = true;
    for (size_t i = 1; i < widths.size(); ++i) {
      auto it = widths[i].hashes.find(key);
      ASSERT_NE(it, widths[i].hashes.end()) << key << " missing at width " << widths[i].bits;
      same = same && it->second == hash;
    }
    if (fixed) {
      fixed_compared++;
      EXPECT_TRUE(same) << key << ": fixed-order output differs between subgroup sizes";
    } else {
      free_by_op[op].second++;
      if (!same) free_by_op[op].first++;
      // Element by element, widths 128 and 512 against 256.
      // The file name the CLI's --dump gives: <op>__<case>__<mode, '/' as '_'>.f32
      const size_t first = key.find('/'), second = key.find('/', first + 1);
      std::string mode = key.substr(second + 1);
      std::replace(mode.begin(), mode.end(), '/', '_');
      const std::string file = key.substr(0, first) + "__" + key.substr(first + 1, second - first - 1) + "__" + mode + ".f32";
      const auto base = read_floats(widths[1].dump + "/device0/" + file);
      for (size_t i : {size_t(0), size_t(2)}) {
        const auto other = read_floats(widths[i].dump + "/device0/" + file);
        ASSERT_EQ(other.size(), base.size()) << file;
        for (size_t e = 0; e < base.size(); ++e)
          if (std::memcmp(&base[e], &other[e], 4) != 0) {
            free_elements[op].first++;
            free_elements[op].second = std::max(free_elements[op].second, ulps(base[e], other[e]));
          }
      }
    }
  }
  EXPECT_GT(fixed_compared, 50u);
  std::printf("[cross-width] subgroup sizes %u, %u, %u: %zu fixed-order outputs identical at every width\n",
              widths[0].subgroup, widths[1].subgroup, widths[2].subgroup, fixed_compared);
  for (const auto& [op, c] : free_by_op)
    std::printf("[cross-width] free order %-20s %d of %d case outputs differ; %llu elements differ (128 or 512 vs 256), "
                "max %llu ulp\n",
                op.c_str(), c.first, c.second, static_cast<unsigned long long>(free_elements[op].first),
                static_cast<unsigned long long>(free_elements[op].second));
  std::filesystem::remove_all(dump_root);
}
