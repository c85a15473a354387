// The comparison: metrics on known values, verdicts, the first divergence, comparability.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "report/compare.hpp"
#include "report_test_util.hpp"

namespace lockstep::report {
namespace {

using namespace test;

Tensor tensor(const std::string& name, std::vector<uint64_t> shape, std::vector<float> data) {
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.data = std::move(data);
  return t;
}

float bits(uint32_t b) { return std::bit_cast<float>(b); }

TEST(CompareTensor, MetricsOnKnownValues) {
  const float one = 1.0f;
  const uint32_t ob = std::bit_cast<uint32_t>(one);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  //                      same  1 ulp         3 ulp         10 ulp         100 ulp         1000 ulp         +0/-0  NaN
  const std::vector<float> a = {2.0f, one, one, one, one, one, 0.0f, 5.0f};
  const std::vector<float> b = {2.0f, bits(ob + 1), bits(ob + 3), bits(ob - 10), bits(ob + 100), bits(ob + 1000),
                                -0.0f, nan};
  const auto r = compare_tensor(tensor("layer.3.x", {2, 4}, a), tensor("layer.3.x", {2, 4}, b));
  EXPECT_EQ(r.elements, 8u);
  EXPECT_EQ(r.differing, 7u);
  EXPECT_FALSE(r.identical());
  EXPECT_DOUBLE_EQ(r.share(), 7.0 / 8.0);
  EXPECT_EQ(r.max_ulp, UINT64_MAX);  // the NaN
  // 0 (the equal pair and +0/-0), 1, 2-3, 4-15, 16-255, 256+ (1000 ulp and the NaN)
  EXPECT_EQ(r.ulp_histogram, (std::array<uint64_t, kUlpBuckets>{2, 1, 1, 1, 1, 2}));
  EXPECT_EQ(r.nonfinite_mismatches, 1u);
  EXPECT_DOUBLE_EQ(r.max_abs, double(bits(ob + 1000)) - 1.0);
  EXPECT_DOUBLE_EQ(r.max_rel, (double(bits(ob + 1000)) - 1.0) / double(bits(ob + 1000)));
  ASSERT_TRUE(r.first.has_value());
  EXPECT_EQ(r.first->index, 1u);
  EXPECT_EQ(r.first->coords, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(r.first->a_bits, 0x3f800000u);
  EXPECT_EQ(r.first->b_bits, 0x3f800001u);

  // Without the NaN, max ULP is the largest distance.
  auto a2 = a, b2 = b;
  b2[7] = 5.0f;
  const auto r2 = compare_tensor(tensor("t", {8}, a2), tensor("t", {8}, b2));
  EXPECT_EQ(r2.max_ulp, 1000u);
  EXPECT_EQ(r2.differing, 6u);
  EXPECT_EQ(r2.nonfinite_mismatches, 0u);

  // Identical.
  const auto r3 = compare_tensor(tensor("t", {8}, a), tensor("t", {8}, a2));
  EXPECT_EQ(r3.differing, 0u);
  EXPECT_EQ(r3.ulp_histogram[0], 8u);
  EXPECT_FALSE(r3.first.has_value());
}

TEST(CompareTensor, SignedZeroDiffersAtZeroUlp) {
  const auto r = compare_tensor(tensor("t", {1}, {0.0f}), tensor("t", {1}, {-0.0f}));
  EXPECT_EQ(r.differing, 1u);
  EXPECT_EQ(r.max_ulp, 0u);
  EXPECT_EQ(r.ulp_histogram[0], 1u);
  ASSERT_TRUE(r.first);
  EXPECT_EQ(r.first->b_bits, 0x80000000u);
}

TEST(CompareTensor, UlpBuckets) {
  EXPECT_EQ(ulp_bucket(0), 0u);
  EXPECT_EQ(ulp_bucket(1), 1u);
  EXPECT_EQ(ulp_bucket(2), 2u);
  EXPECT_EQ(ulp_bucket(3), 2u);
  EXPECT_EQ(ulp_bucket(4), 3u);
  EXPECT_EQ(ulp_bucket(15), 3u);
  EXPECT_EQ(ulp_bucket(16), 4u);
  EXPECT_EQ(ulp_bucket(255), 4u);
  EXPECT_EQ(ulp_bucket(256), 5u);
  EXPECT_EQ(ulp_bucket(UINT64_MAX), 5u);
}

TEST(CompareTopK, ArgmaxPerRowAndTop5Sets) {
  // 3 rows of 8 classes.
  std::vector<float> a = {0, 1, 2, 3, 4, 5, 6, 7,   // top-1 7, top-5 {3..7}
                          9, 1, 2, 3, 4, 5, 6, 7,   // top-1 0
                          0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<float> b = a;
  b[8] = 6.5f;   // row 1: argmax becomes 7, top-5 set still {0,4,5,6,7}
  b[19] = 3.9f;  // row 2: 3 -> 3.9, still 5th: top-5 unchanged
  b[18] = 3.95f; // row 2: 2 -> 3.95 now 5th, 3 drops out: top-5 set changes
  const auto t = compare_topk(tensor("output", {3, 8}, a), tensor("output", {3, 8}, b));
  EXPECT_EQ(t.rows, 3u);
  EXPECT_EQ(t.classes, 8u);
  EXPECT_EQ(t.top1_agree, 2u);
  EXPECT_EQ(t.first_top1_disagreement, 1u);
  EXPECT_EQ(t.top5_agree, 2u);
  // Ties go to the lowest index; NaN ranks last.
  const auto ties = compare_topk(tensor("output", {1, 3}, {1, 1, 0}), tensor("output", {1, 3}, {1, 1, -1}));
  EXPECT_EQ(ties.top1_agree, 1u);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto n = compare_topk(tensor("output", {1, 3}, {nan, 1, 0}), tensor("output", {1, 3}, {0, 1, nan}));
  EXPECT_EQ(n.top1_agree, 1u);
}

struct Files {
  ScratchDir dir;
  std::vector<ResultFile> read(const std::vector<std::string>& names) {
    std::vector<ResultFile> r;
    for (const auto& n : names) r.push_back(read_result_file(dir.path(n)));
    return r;
  }
};

TEST(Compare, IdenticalFilesPass) {
  Files f;
  write_result(f.dir.path("a"), {{"device.name", "AMD Radeon"}});
  write_result(f.dir.path("b"), {{"device.name", "NVIDIA GeForce"}, {"device.subgroup_size", "32"}});
  const Comparison c = compare_results(f.read({"a", "b"}));
  EXPECT_EQ(c.verdict, Verdict::Pass);
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_TRUE(c.all_identical);
  EXPECT_FALSE(c.failure);
  ASSERT_EQ(c.pairs.size(), 1u);
  EXPECT_EQ(c.pairs[0].kind, PairKind::Fixed);
  EXPECT_EQ(c.pairs[0].tensors.size(), 5u);
  EXPECT_TRUE(c.pairs[0].identical());
  ASSERT_TRUE(c.pairs[0].topk);
  EXPECT_EQ(c.pairs[0].topk->top1_agree, 2u);
  EXPECT_EQ(c.pairs[0].topk->rows, 2u);
  EXPECT_EQ(c.files[0].label, "#0 AMD Radeon");
  EXPECT_NE(c.summary.find("PASS"), std::string::npos) << c.summary;
  EXPECT_TRUE(c.notes.empty());
}

TEST(Compare, OneFlippedBitIsFoundExactly) {
  Files f;
  write_result(f.dir.path("a"));
  write_result(f.dir.path("b"));
  flip_bit(f.dir.path("b"), f.dir.path("c"), "layer.1.conv1_relu", 123, 0, /*update_fingerprint=*/true);
  const Comparison c = compare_results(f.read({"a", "b", "c"}));
  EXPECT_EQ(c.verdict, Verdict::Fail);
  EXPECT_EQ(c.exit_code(), 1);
  ASSERT_TRUE(c.failure);
  const PairComparison& p = c.pairs[c.failure->pair];
  EXPECT_EQ(p.a, 0u);
  EXPECT_EQ(p.b, 2u);
  const TensorComparison& t = p.tensors[c.failure->tensor];
  EXPECT_EQ(t.name, "layer.1.conv1_relu");
  EXPECT_EQ(t.differing, 1u);
  EXPECT_EQ(t.max_ulp, 1u);
  ASSERT_TRUE(t.first);
  EXPECT_EQ(t.first->index, 123u);
  EXPECT_EQ(t.first->coords, (std::vector<uint64_t>{1, 0, 4, 3}));  // [2,4,5,5]: 123 = 100 + 0*25 + 4*5 + 3
  EXPECT_EQ(t.first->a_bits ^ t.first->b_bits, 1u);
  EXPECT_EQ(std::bit_cast<uint32_t>(t.first->a), t.first->a_bits);
  // Only that layer differs; the pair (a, b) is identical.
  EXPECT_TRUE(c.pairs[0].identical());
  for (const auto& other : p.tensors) {
    if (other.name != "layer.1.conv1_relu") {
      EXPECT_TRUE(other.identical()) << other.name;
    }
  }
  EXPECT_NE(c.summary.find("layer 'layer.1.conv1_relu' element 123"), std::string::npos) << c.summary;
  EXPECT_NE(c.summary.find(hex_bits(t.first->a_bits)), std::string::npos) << c.summary;
  EXPECT_NE(c.summary.find(hex_bits(t.first->b_bits)), std::string::npos) << c.summary;
}

TEST(Compare, FirstDivergentLayerIsTheEarliestInLayerOrder) {
  Files f;
  write_result(f.dir.path("a"));
  // Damage layer 10 and layer 2: layer 2 comes first (numeric order, not "layer.10" < "layer.2").
  flip_bit(f.dir.path("a"), f.dir.path("t"), "layer.10.predictions", 0, 30, true);
  flip_bit(f.dir.path("t"), f.dir.path("b"), "layer.2.pool", 31, 22, true);
  const Comparison c = compare_results(f.read({"a", "b"}));
  ASSERT_TRUE(c.failure);
  EXPECT_EQ(c.pairs[0].tensors[*c.pairs[0].first_divergent].name, "layer.2.pool");
  EXPECT_EQ(c.pairs[0].tensors[c.failure->tensor].first->index, 31u);
}

TEST(Compare, DifferentContractsAreComparedButFlagged) {
  Files f;
  write_result(f.dir.path("a"));
  write_result(f.dir.path("b"), sample_tensors(1), run_metadata({{"contract", "fma"}}));
  const Comparison c = compare_results(f.read({"a", "b"}));
  EXPECT_EQ(c.pairs[0].kind, PairKind::FixedDifferentMode);
  EXPECT_FALSE(c.pairs[0].identical());
  EXPECT_NE(c.pairs[0].flag.find("fixed/muladd/preserve vs fixed/fma/preserve"), std::string::npos) << c.pairs[0].flag;
  EXPECT_EQ(c.verdict, Verdict::NoFixedPair);
  EXPECT_EQ(c.exit_code(), 0);
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_NE(c.notes[0].find("different fixed-order contracts"), std::string::npos);
}

TEST(Compare, FreeOrderIsMeasuredNotFailed) {
  Files f;
  write_result(f.dir.path("fixed1"), {{"device.name", "dev A"}});
  write_result(f.dir.path("fixed2"), {{"device.name", "dev B"}});
  write_result(f.dir.path("free"), sample_tensors(7), run_metadata({{"order", "free"}}));
  const Comparison c = compare_results(f.read({"fixed1", "fixed2", "free"}));
  EXPECT_EQ(c.verdict, Verdict::Pass);
  EXPECT_EQ(c.exit_code(), 0);
  ASSERT_EQ(c.pairs.size(), 3u);
  EXPECT_EQ(c.pairs[0].kind, PairKind::Fixed);
  EXPECT_EQ(c.pairs[1].kind, PairKind::MixedOrder);
  EXPECT_EQ(c.pairs[2].kind, PairKind::MixedOrder);
  EXPECT_FALSE(c.pairs[1].identical());
  EXPECT_EQ(*c.pairs[1].first_divergent, 0u);  // layer.0 differs
  EXPECT_NE(c.summary.find("2 other pair(s)"), std::string::npos) << c.summary;

  write_result(f.dir.path("free2"), sample_tensors(8), run_metadata({{"order", "free"}}));
  const Comparison d = compare_results(f.read({"free", "free2"}));
  EXPECT_EQ(d.pairs[0].kind, PairKind::Free);
  EXPECT_EQ(d.verdict, Verdict::NoFixedPair);
  EXPECT_FALSE(d.all_identical);
}

TEST(Compare, NotComparableFilesAreRefusedWithTheReason) {
  Files f;
  write_result(f.dir.path("a"));
  struct Case {
    const char* key;
    const char* value;
    const char* reason;
  };
  for (const Case& k : {Case{"input.xxh3_128", "00000000000000000000000000000000", "different input"},
                        Case{"weights.xxh3_128", "11111111111111111111111111111111", "different weights"},
                        Case{"model", "vgg19/keras/64", "different model"},
                        Case{"preprocess", "torch", "different preprocessing"}}) {
    write_result(f.dir.path("b"), {{k.key, k.value}});
    try {
      compare_results(f.read({"a", "b"}));
      ADD_FAILURE() << "compared files with a different " << k.key;
    } catch (const NotComparableError& e) {
      const std::string m = e.what();
      EXPECT_MENTIONS(m, k.reason, k.key, k.value, "not comparable", f.dir.path("a").c_str(), f.dir.path("b").c_str());
    }
  }
  // The same tensor with different shapes.
  auto t = sample_tensors();
  t[4].shape = {1, 20};
  write_result(f.dir.path("b"), t, run_metadata());
  EXPECT_THROW(compare_results(f.read({"a", "b"})), NotComparableError);
  EXPECT_THROW(compare_results(f.read({"a"})), std::invalid_argument);
}

TEST(Compare, OnnxModelsAreIdentifiedByTheirWeightsNotTheirPath) {
  Files f;
  write_result(f.dir.path("a"), {{"model", "onnx:/home/ann/models/resnet50.onnx/224"}});
  write_result(f.dir.path("b"), {{"model", "onnx:C:/Users/bob/resnet50.onnx/224"}});
  EXPECT_EQ(compare_results(f.read({"a", "b"})).verdict, Verdict::Pass);
  write_result(f.dir.path("b"), {{"model", "onnx:/home/ann/models/resnet50.onnx/160"}});
  EXPECT_THROW(compare_results(f.read({"a", "b"})), NotComparableError);
}

TEST(Compare, FilesWithoutLayersCompareWhatTheyShare) {
  Files f;
  write_result(f.dir.path("a"));
  auto t = sample_tensors();
  t.resize(1);  // output only
  write_result(f.dir.path("b"), t, run_metadata());
  const Comparison c = compare_results(f.read({"a", "b"}));
  EXPECT_EQ(c.verdict, Verdict::Pass);
  EXPECT_EQ(c.pairs[0].tensors.size(), 1u);
  EXPECT_EQ(c.pairs[0].only_in_a.size(), 4u);
  EXPECT_TRUE(c.pairs[0].only_in_b.empty());
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_NE(c.notes[0].find("1 of the 5 tensors"), std::string::npos) << c.notes[0];
}

}  // namespace
}  // namespace lockstep::report
