// ResNet layer names of the first Keras weight files (Keras 2.0, keras_applications
// resnet50.py, fchollet/deep-learning-models release v0.2), which follow the Caffe model:
//   conv1, bn_conv1                      -> conv1_conv, conv1_bn
//   res2a_branch2a, bn2a_branch2a        -> conv2_block1_1_conv, conv2_block1_1_bn
//   res2a_branch2b / 2c                  -> conv2_block1_2_... / conv2_block1_3_...
//   res2a_branch1, bn2a_branch1          -> conv2_block1_0_conv, conv2_block1_0_bn (shortcut)
//   fc1000                               -> predictions
// Stages 2..5; blocks a, b, c, ... (block index 1, 2, 3, ...). The Caffe ResNet-101/152
// spelling of long stages (a, b1, b2, ...; b1 is block 2) is read too. Names come from untrusted
// files: matched by hand in one bounded pass (no std::regex, whose matcher recursed per character).
#pragma once
#include <cstdint>
#include <string>

namespace lockstep::keras {

// The current keras.applications name for a legacy name; any other name is returned unchanged.
std::string modern_resnet_name(const std::string& legacy);

// The legacy name for a current one; any other name is returned unchanged. `blocks_in_stage`
// is the number of blocks in the layer's stage: stages longer than 26 blocks use the Caffe
// spelling (a, b1, b2, ...), the others letters.
std::string legacy_resnet_name(const std::string& modern, uint32_t blocks_in_stage);

// For a current ResNet block layer name conv<stage>_block<index>_...: true, with the stage
// ('2'..'5') and the block index. Names over 64 characters are never block names.
bool resnet_block_of(const std::string& name, char* stage, unsigned* block);

}  // namespace lockstep::keras
