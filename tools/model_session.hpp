// What `lockstep run` and `lockstep check` share: the model, weights and input options, the
// prepared network with its inputs and their identities, one execution of it on a device or
// on the CPU reference, and the result file (metadata and tensors) that records it.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/network.hpp"
#include "io/image.hpp"
#include "io/result_file.hpp"
#include "models/models.hpp"
#include "numerics/contract.hpp"
#include "vk/device.hpp"
#include "vk/sequence.hpp"

namespace CLI {
class App;
}

namespace lockstep::cli {

struct ModelSpec {
  std::string model = "resnet50";
  std::string layout = "keras";
  std::string weights = "random:1";  // random:SEED | FILE.onnx | FILE.h5
  std::string preprocess;            // keras | torch; default: the layout's
  // One preprocessing step of the preset changed ("" keeps the preset's).
  std::string resize, channels, normalize;
  uint32_t input_size = 224;
  uint32_t batch = 0;  // 0: the command's default
  uint32_t mc_dropout = 0;
  uint64_t seed = 0;
  std::vector<std::string> inputs;  // images or .npy tensors
  std::string inputs_dir;           // every image or .npy file in it, by name
  uint32_t random_inputs = 0;       // N generated test images (seeds 1..N)
};

// Registers --model, --layout, --weights, --preprocess, --resize, --channels, --normalize,
// --input-size, --batch, --mc-dropout, --seed, --inputs, --random and the positional inputs.
void add_model_options(CLI::App& command, ModelSpec& spec);

struct PreparedModel {
  ModelSpec spec;
  graph::Network net;  // prepared (BatchNorm folded, ReLU fused)
  models::Layout layout = models::Layout::Keras;
  io::Preprocess preset = io::Preprocess::Keras;  // the weights' preset (synthetic weights are scaled for it)
  io::PreprocessSteps steps;
  std::string model_name;      // the architecture, or the ONNX graph's name
  std::string model_identity;  // result-file "model": arch/layout/size or onnx:PATH/size
  std::string weights_hash, input_hash;
  uint32_t size = 0;        // square input side
  uint64_t per_input = 0;   // floats per input
  uint64_t classes = 0;     // floats per output row
  uint32_t count = 0;       // inputs
  uint32_t batch = 0;       // inputs per dispatch
  std::vector<std::string> input_names;
  std::vector<float> input_data;  // count * per_input
  std::vector<std::string> labels;  // ImageNet labels when the output is 1000 probabilities

  // Batch `b` of the inputs: `batch` inputs; a short last batch repeats its last input.
  std::vector<float> batch_input(uint32_t first) const;
};

// The network with its weights, not yet prepared; synthetic weights are scaled for `preset`.
graph::Network load_network(const ModelSpec& spec, io::Preprocess preset);

// `default_batch` applies when spec.batch is 0 (0: all inputs in one batch).
PreparedModel prepare_model(const ModelSpec& spec, uint32_t default_batch = 0);

struct Execution {
  std::vector<float> outputs;       // count * classes: every input (the last Monte-Carlo pass)
  std::vector<double> mean, m2;     // Monte-Carlo passes: per output value (Welford)
  uint32_t passes = 1;
  std::vector<std::vector<float>> layers;  // the first batch, every layer (with keep_layers)
  double compile_ms = 0, run_ms = 0;
  uint64_t weight_bytes = 0, activation_bytes = 0;
  std::vector<DispatchTiming> timings;
};

struct ExecOptions {
  NumericMode mode;
  bool keep_layers = false;
  bool profile = false;
  std::function<void(const std::string&)> progress;  // may be empty
};

// On a device (which must accept the mode), or on the CPU reference (canonical float32).
Execution execute_on_device(Device& device, const PreparedModel& m, const ExecOptions& options);
Execution execute_reference(const PreparedModel& m, const ExecOptions& options);
// The float64 oracle for the first batch, every layer (dropout as the runs have it).
std::vector<std::vector<double>> oracle_first_batch(const PreparedModel& m);

// A result file's metadata and tensors ("output" for every input; with layers, every layer of
// the first batch as "layer.<index>.<name>"), each tensor's XXH3-128 fingerprint included.
// `device` null: the CPU reference. `variant` (an ENV=VAL) is recorded when not empty.
struct ResultRecord {
  std::map<std::string, std::string> metadata;
  std::vector<io::ResultTensor> tensors;
};
ResultRecord make_result(const PreparedModel& m, const DeviceTraits* device, const NumericMode& mode,
                         const Execution& e, bool layers, const std::string& variant = "");

std::string xxh3_hex(const void* data, size_t bytes);

// A terminal progress line on stderr (only when stderr is a terminal).
void progress(const std::string& what);
void progress_done();

// Devices named by a --device spec; "A,B" lists specs (a device may be named twice: it is then
// opened twice, each with its own queue and thread).
std::vector<uint32_t> select_devices(const Context& ctx, const std::string& spec);

}  // namespace lockstep::cli
