#include "report/compare.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <set>

#include "numerics/fixed_arith.hpp"

namespace lockstep::report {

namespace {

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<uint64_t> coords_of(uint64_t index, const std::vector<uint64_t>& shape) {
  std::vector<uint64_t> c(shape.size(), 0);
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 0) break;
    c[d] = index % shape[d];
    index /= shape[d];
  }
  return c;
}

// A model name for comparison: ONNX models are named by their path ("onnx:PATH/SIZE"), which
// differs between machines; the weights hash identifies them, so only the size is kept.
std::string model_identity(const std::string& model) {
  if (model.rfind("onnx:", 0) != 0) return model;
  const size_t slash = model.rfind('/');
  return "onnx:*" + (slash == std::string::npos ? std::string() : model.substr(slash));
}

// "i ranks before j" for top-k: larger value first, NaN last, lower index on ties.
bool ranks_before(const float* v, uint64_t i, uint64_t j) {
  const float a = v[i], b = v[j];
  const bool na = std::isnan(a), nb = std::isnan(b);
  if (na != nb) return nb;
  if (!na && a != b) return a > b;
  return i < j;
}

std::vector<uint64_t> top_k(const float* row, uint64_t classes, uint64_t k) {
  std::vector<uint64_t> idx(classes);
  std::iota(idx.begin(), idx.end(), uint64_t{0});
  k = std::min(k, classes);
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                    [&](uint64_t i, uint64_t j) { return ranks_before(row, i, j); });
  idx.resize(k);
  return idx;
}

std::string label_of(size_t i, const ResultFile& f) {
  const std::string& dev = f.meta("device.name");
  const std::string& variant = f.meta("variant");  // lockstep check --variant ENV=VAL
  return "#" + std::to_string(i) + " " + (dev.empty() ? f.path : dev) + (variant.empty() ? "" : " [" + variant + "]");
}

}  // namespace

size_t ulp_bucket(uint64_t ulp) {
  if (ulp == 0) return 0;
  if (ulp == 1) return 1;
  if (ulp <= 3) return 2;
  if (ulp <= 15) return 3;
  if (ulp <= 255) return 4;
  return 5;
}

std::string_view to_string(PairKind k) {
  switch (k) {
    case PairKind::Fixed: return "fixed";
    case PairKind::FixedDifferentMode: return "fixed, different contracts";
    case PairKind::MixedOrder: return "fixed vs free";
    case PairKind::Free: return "free";
    case PairKind::DifferentInputs: return "different inputs";
  }
  return "?";
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Pass: return "pass";
    case Verdict::Fail: return "fail";
    case Verdict::NoFixedPair: return "no_fixed_pair";
  }
  return "?";
}

std::string hex_bits(uint32_t bits) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", bits);
  return b;
}

std::string hex_bits(float v) { return hex_bits(std::bit_cast<uint32_t>(v)); }

std::string float_text(float v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", double(v));
  return b;
}

uint64_t PairComparison::max_ulp() const {
  uint64_t m = 0;
  for (const auto& t : tensors) m = std::max(m, t.max_ulp);
  return m;
}

TensorComparison compare_tensor(const Tensor& a, const Tensor& b) {
  TensorComparison r;
  r.name = a.name;
  r.shape = a.shape;
  r.elements = std::min(a.data.size(), b.data.size());
  const float* pa = a.data.data();
  const float* pb = b.data.data();
  for (uint64_t i = 0; i < r.elements; ++i) {
    const uint32_t ba = std::bit_cast<uint32_t>(pa[i]), bb = std::bit_cast<uint32_t>(pb[i]);
    if (ba == bb) {
      r.ulp_histogram[0]++;
      continue;
    }
    r.differing++;
    if (!r.first) {
      r.first = ElementDifference{i, coords_of(i, a.shape), pa[i], pb[i], ba, bb};
    }
    // NaNs with different payloads are different bits but not an ordered distance.
    const uint64_t ulp = ulp_distance(pa[i], pb[i]);
    r.max_ulp = std::max(r.max_ulp, ulp);
    r.ulp_histogram[ulp_bucket(ulp)]++;
    if (!std::isfinite(pa[i]) || !std::isfinite(pb[i])) {
      r.nonfinite_mismatches++;
      continue;
    }
    const double x = pa[i], y = pb[i];
    const double abs = std::fabs(x - y);
    const double mag = std::max(std::fabs(x), std::fabs(y));
    r.max_abs = std::max(r.max_abs, abs);
    if (mag > 0) r.max_rel = std::max(r.max_rel, abs / mag);
  }
  return r;
}

TopKAgreement compare_topk(const Tensor& a, const Tensor& b) {
  TopKAgreement t;
  const uint64_t n = std::min(a.data.size(), b.data.size());
  if (n == 0) return t;
  t.rows = a.shape.empty() ? 1 : a.shape[0];
  if (t.rows == 0) return t;
  t.classes = n / t.rows;
  if (t.classes == 0) return TopKAgreement{};
  bool seen_disagreement = false;
  for (uint64_t r = 0; r < t.rows; ++r) {
    const float* ra = a.data.data() + r * t.classes;
    const float* rb = b.data.data() + r * t.classes;
    auto ka = top_k(ra, t.classes, 5), kb = top_k(rb, t.classes, 5);
    const bool top1 = ka[0] == kb[0];
    t.top1_agree += top1;
    if (!top1 && !seen_disagreement) {
      t.first_top1_disagreement = r;
      seen_disagreement = true;
    }
    std::sort(ka.begin(), ka.end());
    std::sort(kb.begin(), kb.end());
    t.top5_agree += ka == kb;
  }
  return t;
}

namespace {

struct IdentityKey {
  const char* key;
  const char* what;
  bool input;  // may differ with inputs_may_differ
};
constexpr IdentityKey kIdentity[] = {{"model", "model", false},
                                     {"weights.xxh3_128", "weights", false},
                                     {"input.xxh3_128", "input", true},
                                     {"preprocess", "preprocessing", true},
                                     {"dropout", "dropout", true}};

std::string identity_value(const ResultFile& f, const IdentityKey& k) {
  const std::string& v = f.meta(k.key);
  if (std::string(k.key) == "model") return model_identity(v);
  if (std::string(k.key) == "dropout" && v.empty()) return "off";  // files written before it was recorded
  return v;
}

}  // namespace

std::optional<std::string> incomparable_reason(const ResultFile& a, const ResultFile& b, bool inputs_may_differ) {
  for (const IdentityKey& k : kIdentity) {
    if (inputs_may_differ && k.input) continue;
    if (identity_value(a, k) != identity_value(b, k))
      return a.path + " and " + b.path + " are not comparable: different " + k.what + " (" + k.key + " is '" +
             a.meta(k.key) + "' in " + a.path + ", '" + b.meta(k.key) + "' in " + b.path + ")" +
             (k.input ? "; compare --allow-different-inputs measures what the difference does" : "");
  }
  return std::nullopt;
}

std::string input_difference(const ResultFile& a, const ResultFile& b) {
  std::string out;
  for (const IdentityKey& k : kIdentity)
    if (k.input && identity_value(a, k) != identity_value(b, k)) out += (out.empty() ? "" : ", ") + std::string(k.what);
  return out;
}

Comparison compare_results(const std::vector<ResultFile>& files, const CompareSettings& settings) {
  if (files.size() < 2) throw std::invalid_argument("compare needs at least two result files");
  std::vector<std::pair<size_t, size_t>> plan = settings.pairs;
  if (plan.empty())
    for (size_t i = 0; i < files.size(); ++i)
      for (size_t j = i + 1; j < files.size(); ++j) plan.emplace_back(i, j);
  for (const auto& [i, j] : plan)
    if (i >= j || j >= files.size())
      throw std::invalid_argument("compare: pair (" + std::to_string(i) + ", " + std::to_string(j) + ") of " +
                                  std::to_string(files.size()) + " files");
  Comparison c;
  for (size_t i = 0; i < files.size(); ++i) {
    const ResultFile& f = files[i];
    FileSummary s;
    s.path = f.path;
    s.metadata = f.metadata;
    s.mode = f.mode();
    s.mode_name = describe(s.mode);
    s.tensors = f.tensors.size();
    s.label = i < settings.labels.size() ? settings.labels[i] : label_of(i, f);
    c.files.push_back(std::move(s));
  }
  for (size_t i = 1; i < files.size(); ++i)
    if (auto why = incomparable_reason(files[0], files[i], settings.allow_different_inputs))
      throw NotComparableError(*why);

  // Every tensor name, and one shape per name.
  std::map<std::string, std::pair<size_t, std::vector<uint64_t>>> shapes;
  for (size_t i = 0; i < files.size(); ++i)
    for (const Tensor& t : files[i].tensors) {
      auto [it, fresh] = shapes.emplace(t.name, std::make_pair(i, t.shape));
      if (!fresh && it->second.second != t.shape)
        throw NotComparableError(files[it->second.first].path + " and " + files[i].path +
                                 " are not comparable: tensor '" + t.name + "' has shape " +
                                 shape_text(it->second.second) + " in one and " + shape_text(t.shape) +
                                 " in the other");
    }
  for (const auto& [name, s] : shapes) c.tensor_names.push_back(name);
  std::sort(c.tensor_names.begin(), c.tensor_names.end(),
            [](const std::string& x, const std::string& y) { return tensor_order(x, y); });

  for (size_t i = 0; i < files.size(); ++i)
    if (c.files[i].tensors < c.tensor_names.size())
      c.notes.push_back(c.files[i].label + " (" + files[i].path + ") holds " + std::to_string(c.files[i].tensors) +
                        " of the " + std::to_string(c.tensor_names.size()) +
                        " tensors (saved without --layers?): pairs with it compare only what both hold");

  bool any_fixed = false;
  c.all_identical = true;
  for (const auto& [i, j] : plan) {
      PairComparison p;
      p.a = i;
      p.b = j;
      const NumericMode ma = c.files[i].mode, mb = c.files[j].mode;
      const std::string inputs = input_difference(files[i], files[j]);
      if (!inputs.empty()) {
        p.kind = PairKind::DifferentInputs;
      } else if (ma.fixed() && mb.fixed()) {
        p.kind = ma == mb ? PairKind::Fixed : PairKind::FixedDifferentMode;
      } else {
        p.kind = ma.fixed() || mb.fixed() ? PairKind::MixedOrder : PairKind::Free;
      }
      const std::string modes = c.files[i].mode_name + " vs " + c.files[j].mode_name;
      switch (p.kind) {
        case PairKind::DifferentInputs:
          p.flag = "different " + inputs + " (" + modes + "): compared, differences are expected, not a failure";
          break;
        case PairKind::Fixed: break;
        case PairKind::FixedDifferentMode:
          p.flag = "different fixed-order contracts (" + modes + "): compared, differences are expected, not a failure";
          break;
        case PairKind::MixedOrder:
          p.flag = "different orders (" + modes + "): compared, differences are expected, not a failure";
          break;
        case PairKind::Free: p.flag = "free order: divergence measured, not held to bit-identity"; break;
      }
      if (p.kind == PairKind::FixedDifferentMode || p.kind == PairKind::MixedOrder || p.kind == PairKind::DifferentInputs)
        c.notes.push_back(c.files[i].label + " and " + c.files[j].label + ": " + p.flag);
      any_fixed |= p.kind == PairKind::Fixed;

      for (const std::string& name : c.tensor_names) {
        const Tensor* ta = files[i].find(name);
        const Tensor* tb = files[j].find(name);
        if (ta && tb) {
          p.tensors.push_back(compare_tensor(*ta, *tb));
          if (!p.first_divergent && !p.tensors.back().identical()) p.first_divergent = p.tensors.size() - 1;
        } else if (ta) {
          p.only_in_a.push_back(name);
        } else if (tb) {
          p.only_in_b.push_back(name);
        }
      }
      const Tensor* oa = files[i].find("output");
      const Tensor* ob = files[j].find("output");
      if (oa && ob && !oa->data.empty()) p.topk = compare_topk(*oa, *ob);
      c.all_identical &= p.identical();
      if (p.kind == PairKind::Fixed && !p.identical() && !c.failure)
        c.failure = Failure{c.pairs.size(), *p.first_divergent};
      c.pairs.push_back(std::move(p));
    }

  if (c.failure) {
    c.verdict = Verdict::Fail;
    const PairComparison& p = c.pairs[c.failure->pair];
    const TensorComparison& t = p.tensors[c.failure->tensor];
    const ElementDifference& d = *t.first;
    std::string coords = "[";
    for (size_t k = 0; k < d.coords.size(); ++k) coords += (k ? ", " : "") + std::to_string(d.coords[k]);
    coords += "]";
    c.summary = "FAIL: fixed-order results differ (" + c.files[p.a].mode_name + "): " + c.files[p.a].label + " vs " +
                c.files[p.b].label + ", first at layer '" + t.name + "' element " + std::to_string(d.index) + " " +
                coords + ": " + float_text(d.a) + " (" + hex_bits(d.a_bits) + ") vs " + float_text(d.b) + " (" +
                hex_bits(d.b_bits) + "); " + std::to_string(t.differing) + " of " + std::to_string(t.elements) +
                " elements of that layer differ";
  } else if (any_fixed) {
    c.verdict = Verdict::Pass;
    size_t fixed_pairs = 0, others = 0;
    std::set<std::string> compared;
    for (const auto& p : c.pairs) {
      if (p.kind != PairKind::Fixed) {
        others++;
        continue;
      }
      fixed_pairs++;
      for (const auto& t : p.tensors) compared.insert(t.name);
    }
    c.summary = "PASS: every fixed-order pair is bit-identical in every tensor (" + std::to_string(fixed_pairs) +
                (fixed_pairs == 1 ? " pair, " : " pairs, ") + std::to_string(compared.size()) +
                (compared.size() == 1 ? " tensor)" : " tensors)");
    if (others) c.summary += "; " + std::to_string(others) + " other pair(s) measured, not held to bit-identity";
  } else {
    c.verdict = Verdict::NoFixedPair;
    c.summary = std::string("NO FIXED-ORDER PAIR: nothing is held to bit-identity; ") +
                (c.all_identical ? "all files are bit-identical anyway" : "divergence is reported per pair");
  }
  return c;
}

}  // namespace lockstep::report
