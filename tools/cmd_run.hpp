// `lockstep run`: a model, weights and images in; top-k classes per device out.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model_session.hpp"
#include "vk/context.hpp"

namespace lockstep::cli {

struct RunOptions : ModelSpec {
  std::string device = "0";
  std::string order = "fixed", contract = "muladd", denormals = "preserve";
  uint32_t top = 5;
  std::string save;
  bool layers = false;
  bool fingerprint = false;
  bool check = false;
  bool profile = false;
  bool reference = false;  // run the CPU reference (canonical float32) instead of a device
};

// Every selected device runs in its own thread with its own queue; the reports are printed in
// device order once all are done. `ctx` may be null with `reference`.
int run(Context* ctx, const RunOptions& options);

// `lockstep export`: a built-in model with synthetic weights written as ONNX or as a Keras
// weight file, so that other frameworks (and lockstep's importers) see the same weights.
int export_model(const RunOptions& options, const std::string& path);

}  // namespace lockstep::cli
