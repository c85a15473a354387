#include "keras/legacy_names.hpp"

#include <string_view>

namespace lockstep::keras {

// Hand-written matchers, not std::regex: layer names come from untrusted files, and libstdc++'s
// regex matcher recurses once per character (a 30,000-character name overflowed the stack:
// fuzz/regressions/keras_h5/long_legacy_layer_name.h5). Each one reads a bounded name once.

namespace {

// Caffe branch suffix <-> our position in the block (0 is the projection shortcut).
const char* const kBranches[] = {"1", "2a", "2b", "2c"};
constexpr size_t kMaxName = 64;       // longer than any ResNet layer name, legacy or current
constexpr size_t kMaxBlockDigits = 4;  // no stage has 10,000 blocks

bool digit(char c) { return c >= '0' && c <= '9'; }

// A decimal number without a leading zero, of 1 to kMaxBlockDigits digits: the whole of `s`.
bool parse_index(std::string_view s, unsigned* out) {
  if (s.empty() || s.size() > kMaxBlockDigits || s[0] == '0') return false;
  unsigned v = 0;
  for (char c : s) {
    if (!digit(c)) return false;
    v = v * 10 + unsigned(c - '0');
  }
  *out = v;
  return true;
}

bool take(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

}  // namespace

bool resnet_block_of(const std::string& name, char* stage, unsigned* block) {
  // conv<stage 2-5>_block<index>_<anything>
  if (name.size() > kMaxName) return false;
  std::string_view s = name;
  if (!take(s, "conv") || s.empty() || s[0] < '2' || s[0] > '5') return false;
  const char st = s[0];
  s.remove_prefix(1);
  if (!take(s, "_block")) return false;
  const size_t end = s.find('_');
  if (end == std::string_view::npos || !parse_index(s.substr(0, end), block)) return false;
  *stage = st;
  return true;
}

std::string modern_resnet_name(const std::string& legacy) {
  if (legacy == "conv1") return "conv1_conv";
  if (legacy == "bn_conv1") return "conv1_bn";
  if (legacy == "fc1000") return "predictions";
  // (res|bn)<stage 2-5><block: a letter, or b<number>>_branch(1|2a|2b|2c)
  if (legacy.size() > kMaxName) return legacy;
  std::string_view s = legacy;
  const bool conv = take(s, "res");
  if (!conv && !take(s, "bn")) return legacy;
  if (s.empty() || s[0] < '2' || s[0] > '5') return legacy;
  const char stage = s[0];
  s.remove_prefix(1);
  const size_t at = s.find("_branch");
  if (at == std::string_view::npos) return legacy;
  const std::string_view block = s.substr(0, at), branch = s.substr(at + 7);
  unsigned index = 0;
  if (block.size() == 1 && block[0] >= 'a' && block[0] <= 'z')
    index = unsigned(block[0] - 'a') + 1;
  else if (block.size() >= 2 && block[0] == 'b' && parse_index(block.substr(1), &index))
    index += 1;  // Caffe's long stages: a, b1, b2, ... (b1 is block 2)
  else
    return legacy;
  unsigned position = 0;
  while (position < 4 && branch != kBranches[position]) ++position;
  if (position == 4) return legacy;
  return "conv" + std::string(1, stage) + "_block" + std::to_string(index) + "_" + std::to_string(position) +
         (conv ? "_conv" : "_bn");
}

std::string legacy_resnet_name(const std::string& modern, uint32_t blocks_in_stage) {
  if (modern == "conv1_conv") return "conv1";
  if (modern == "conv1_bn") return "bn_conv1";
  if (modern == "predictions") return "fc1000";
  // conv<stage 2-5>_block<index>_<position 0-3>_(conv|bn)
  char stage = 0;
  unsigned index = 0;
  if (!resnet_block_of(modern, &stage, &index)) return modern;
  std::string_view s = modern;
  s.remove_prefix(s.find('_', 6) + 1);  // past "convN_blockM_"
  if (s.size() < 2 || s[0] < '0' || s[0] > '3' || s[1] != '_') return modern;
  const int position = s[0] - '0';
  s.remove_prefix(2);
  if (s != "conv" && s != "bn") return modern;
  std::string block;
  if (blocks_in_stage <= 26) {
    if (index > 26) return modern;
    block = std::string(1, char('a' + index - 1));
  } else {
    block = index == 1 ? "a" : "b" + std::to_string(index - 1);
  }
  return (s == "conv" ? "res" : "bn") + std::string(1, stage) + block + "_branch" + kBranches[position];
}

}  // namespace lockstep::keras
