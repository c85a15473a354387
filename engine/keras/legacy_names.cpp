#include "keras/legacy_names.hpp"

#include <regex>

namespace lockstep::keras {

namespace {
// Caffe branch suffix <-> our position in the block (0 is the projection shortcut).
const char* const kBranches[] = {"1", "2a", "2b", "2c"};
}  // namespace

std::string modern_resnet_name(const std::string& legacy) {
  if (legacy == "conv1") return "conv1_conv";
  if (legacy == "bn_conv1") return "conv1_bn";
  if (legacy == "fc1000") return "predictions";
  static const std::regex re("(res|bn)([2-5])([a-z]|b[1-9][0-9]*)_branch(1|2a|2b|2c)");
  std::smatch m;
  if (!std::regex_match(legacy, m, re)) return legacy;
  const std::string block = m[3];
  const unsigned index = block.size() == 1 ? unsigned(block[0] - 'a') + 1 : unsigned(std::stoul(block.substr(1))) + 1;
  unsigned position = 0;
  while (m[4] != kBranches[position]) ++position;
  return "conv" + m[2].str() + "_block" + std::to_string(index) + "_" + std::to_string(position) +
         (m[1] == "res" ? "_conv" : "_bn");
}

std::string legacy_resnet_name(const std::string& modern, uint32_t blocks_in_stage) {
  if (modern == "conv1_conv") return "conv1";
  if (modern == "conv1_bn") return "bn_conv1";
  if (modern == "predictions") return "fc1000";
  static const std::regex re("conv([2-5])_block([1-9][0-9]*)_([0-3])_(conv|bn)");
  std::smatch m;
  if (!std::regex_match(modern, m, re)) return modern;
  const unsigned index = unsigned(std::stoul(m[2].str()));
  std::string block;
  if (blocks_in_stage <= 26) {
    if (index > 26) return modern;
    block = std::string(1, char('a' + index - 1));
  } else {
    block = index == 1 ? "a" : "b" + std::to_string(index - 1);
  }
  return (m[4] == "conv" ? "res" : "bn") + m[1].str() + block + "_branch" + kBranches[std::stoi(m[3].str())];
}

}  // namespace lockstep::keras
