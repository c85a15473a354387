// `lockstep compare A B [C ...]`: N-way comparison of result files written by
// `lockstep run --save` (engine/report/). Needs no Vulkan device.
#pragma once
#include <string>
#include <vector>

namespace lockstep::cli {

struct CompareOptions {
  std::string json;   // write the JSON report here ("-": to stdout, instead of the text report)
  std::string html;   // write the self-contained HTML report here
  bool quiet = false; // only the verdict line instead of the text report (errors still go to stderr)
  bool allow_different_inputs = false;  // measure files of different input/preprocessing/dropout (flagged)
};

// Exit status: 0 every fixed-order pair bit-identical (or no fixed-order pair to check),
// 1 a fixed-order mismatch (the first layer, element, values and hex bits are printed),
// 2 bad input: fewer than two files, an unreadable, truncated, foreign or tampered file, files
// that are not comparable (different model, weights, input or preprocessing), a report that
// cannot be written.
int compare(const std::vector<std::string>& files, const CompareOptions& options);

}  // namespace lockstep::cli
