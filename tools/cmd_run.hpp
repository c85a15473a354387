// `lockstep run`: a model, weights and images in; top-k classes per device out.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "vk/context.hpp"

namespace lockstep::cli {

struct RunOptions {
  std::string model = "resnet50";
  std::string layout = "keras";
  std::string weights = "random:1";  // random:SEED | FILE.onnx | FILE.h5
  std::string preprocess;            // keras | torch; default: the layout's
  std::string device = "0";
  uint32_t input_size = 224;
  std::string order = "fixed", contract = "muladd", denormals = "preserve";
  uint32_t batch = 0;  // 0: all inputs in one batch
  uint32_t top = 5;
  std::string save;
  bool layers = false;
  bool fingerprint = false;
  bool check = false;
  bool profile = false;
  uint32_t mc_dropout = 0;
  uint64_t seed = 0;
  std::vector<std::string> inputs;  // images or .npy tensors; none: a generated test image
};

int run(Context& ctx, const RunOptions& options);

// `lockstep export`: a built-in model with synthetic weights written as ONNX or as a Keras
// weight file, so that other frameworks (and lockstep's importers) see the same weights.
int export_model(const RunOptions& options, const std::string& path);

}  // namespace lockstep::cli
