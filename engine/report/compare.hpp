// N-way comparison of lockstep result files: per tensor (layer) and per pair of files, whether
// they are bit-identical and, where not, how far apart (ULP distance and its histogram, absolute
// and relative error, the first differing element), the first layer that diverges, and the
// top-1 / top-5 agreement of the final "output" tensor. The verdict: every pair of fixed-order
// files under the same contract must be bit-identical in every tensor they share.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "numerics/contract.hpp"
#include "report/result_reader.hpp"

namespace lockstep::report {

// Files that must not be compared at all (different model, weights, input or preprocessing,
// or the same tensor with different shapes). The message names both files and the reason.
class NotComparableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ULP-distance buckets: 0, 1, 2-3, 4-15, 16-255, 256+ (NaN against anything else: 256+).
inline constexpr size_t kUlpBuckets = 6;
inline constexpr std::array<std::string_view, kUlpBuckets> kUlpBucketNames = {"0", "1", "2-3", "4-15", "16-255", "256+"};
size_t ulp_bucket(uint64_t ulp);

struct ElementDifference {
  uint64_t index = 0;            // flat, C order
  std::vector<uint64_t> coords;  // the same index per dimension
  float a = 0, b = 0;            // the values in the pair's first and second file
  uint32_t a_bits = 0, b_bits = 0;
};

struct TensorComparison {
  std::string name;
  std::vector<uint64_t> shape;
  uint64_t elements = 0;
  uint64_t differing = 0;  // elements whose bits differ (+0 vs -0 counts, at 0 ULP)
  bool identical() const { return differing == 0; }
  double share() const { return elements ? double(differing) / double(elements) : 0.0; }
  uint64_t max_ulp = 0;  // UINT64_MAX when a NaN meets a different value
  std::array<uint64_t, kUlpBuckets> ulp_histogram{};  // over all elements
  double max_abs = 0;  // over differing elements where both values are finite
  double max_rel = 0;  // |a-b| / max(|a|,|b|), same elements
  uint64_t nonfinite_mismatches = 0;  // differing elements where either value is Inf or NaN
  std::optional<ElementDifference> first;
};

struct TopKAgreement {
  uint64_t rows = 0, classes = 0;
  uint64_t top1_agree = 0;  // rows whose argmax (lowest index on ties) is the same
  uint64_t top5_agree = 0;  // rows whose top-5 classes (as a set) are the same
  uint64_t first_top1_disagreement = 0;  // row, meaningful when top1_agree < rows
};

enum class PairKind {
  Fixed,               // both fixed order, same contract and denormal rule: must be bit-identical
  FixedDifferentMode,  // both fixed order, different contract or denormal rule: flagged, measured
  MixedOrder,          // one fixed, one free: flagged, measured
  Free,                // both free order: measured
  DifferentInputs,     // different input, preprocessing or dropout (CompareSettings): flagged, measured
};
std::string_view to_string(PairKind k);

struct PairComparison {
  size_t a = 0, b = 0;  // indices into Comparison::files, a < b
  PairKind kind = PairKind::Fixed;
  std::string flag;  // why this pair is not held to bit-identity ("" for Fixed)
  std::vector<TensorComparison> tensors;  // the tensors both files hold, in tensor_order
  std::vector<std::string> only_in_a, only_in_b;
  std::optional<size_t> first_divergent;  // index into tensors
  std::optional<TopKAgreement> topk;      // from "output", when both files hold it
  bool identical() const { return !first_divergent.has_value(); }
  uint64_t max_ulp() const;
};

struct FileSummary {
  std::string path;
  std::map<std::string, std::string> metadata;
  NumericMode mode;
  std::string mode_name;  // "fixed/muladd/preserve" or "free"
  size_t tensors = 0;
  std::string label;  // short name for tables: "#0 device.name"
};

enum class Verdict {
  Pass,         // at least one fixed-order pair; every one bit-identical in every shared tensor
  Fail,         // a fixed-order pair differs
  NoFixedPair,  // nothing to hold to bit-identity (e.g. free order only): divergence reported
};
std::string_view to_string(Verdict v);

struct Failure {
  size_t pair = 0;    // index into Comparison::pairs
  size_t tensor = 0;  // index into that pair's tensors
};

struct Comparison {
  std::vector<FileSummary> files;
  std::vector<std::string> tensor_names;  // union over the files, in tensor_order
  std::vector<PairComparison> pairs;      // (0,1), (0,2), ..., (1,2), ...
  std::vector<std::string> notes;         // flags: mixed orders or contracts, missing tensors
  Verdict verdict = Verdict::NoFixedPair;
  std::optional<Failure> failure;  // the first fixed-order mismatch (pair order, then layer order)
  bool all_identical = false;      // every pair identical in every shared tensor
  std::string summary;             // one line: the verdict in words, naming the first mismatch

  int exit_code() const { return verdict == Verdict::Fail ? 1 : 0; }
};

struct CompareSettings {
  // Compare files whose input, preprocessing or dropout differ (to measure what such a change
  // does); their pairs are flagged, never a failure. Model and weights must still agree.
  bool allow_different_inputs = false;
  // The pairs (a < b) to compare, in this order; empty: every pair. Every file is still
  // checked for comparability with the first.
  std::vector<std::pair<size_t, size_t>> pairs;
  // One label per file for tables and messages; empty: "#i device.name [variant]".
  std::vector<std::string> labels;
};

// Throws NotComparableError (or std::invalid_argument for fewer than two files or a bad pair).
Comparison compare_results(const std::vector<ResultFile>& files, const CompareSettings& settings = {});

// Measures one tensor of one pair (exposed for tests and for `lockstep check`).
TensorComparison compare_tensor(const Tensor& a, const Tensor& b);
TopKAgreement compare_topk(const Tensor& a, const Tensor& b);

// The reason two files may not be compared, or nothing: different model, weights, input,
// preprocessing or dropout (a file without "dropout" has it off). With `inputs_may_differ`,
// only model and weights count.
std::optional<std::string> incomparable_reason(const ResultFile& a, const ResultFile& b, bool inputs_may_differ = false);
// What differs among input, preprocessing and dropout ("input, preprocessing"), or "".
std::string input_difference(const ResultFile& a, const ResultFile& b);

// The bits of a float as "0x3f800000".
std::string hex_bits(uint32_t bits);
std::string hex_bits(float v);
// %.9g, or "nan" / "inf" / "-inf".
std::string float_text(float v);

}  // namespace lockstep::report
