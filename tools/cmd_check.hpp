// `lockstep check`: one model and input on every selected device and on the CPU reference
// (canonical float32 and the float64 oracle), in fixed order under every contract the devices
// share and in free order. Fixed order must be bit-identical everywhere, every layer (exit 1
// naming the first layer, element, values and bits otherwise); free order's divergence is
// reported per layer and device pair. With --variant ENV=VAL the devices are child processes
// of lockstep run under each environment (one machine, a matrix of "devices").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model_session.hpp"

namespace CLI {
class App;
}

namespace lockstep::cli {

struct CheckOptions : ModelSpec {
  std::string device = "all";
  bool validation = false;
  std::vector<std::string> variants;  // ENV=VAL, one child process each
  std::string order = "both";         // fixed | free | both
  std::string contract = "all";       // muladd | fma | all
  std::string denormals = "all";      // preserve | ftz | all
  std::string json, html;             // reports ("-": JSON to stdout instead of the table)
  std::string save_dir;               // every result file (reference and devices) written here
  bool details = false;               // every pair's full per-layer table (lockstep compare's)
  uint32_t child_timeout_s = 1800;
  // Children at once (0: all). One by default: variants of a CPU driver share the cores, and
  // several at once slow each other down past the fence timeout (the reference still runs
  // beside them).
  uint32_t jobs = 1;
  // Internal: the child side of --variant.
  std::string child_output;  // write one result file per device and mode here, and manifest.json
  std::string child_modes;   // the modes to run, comma separated ("fixed/muladd/preserve,free")
};

// Registers the options (the model options included) on the `check` subcommand.
void add_check_options(CLI::App& command, CheckOptions& options);

// Exit status: 0 every fixed-order result bit-identical to the reference in every layer,
// 1 a fixed-order mismatch, 2 an error (bad input, a device error, a failed or timed-out child).
int check(const CheckOptions& options);

}  // namespace lockstep::cli
