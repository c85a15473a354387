// The text and JSON reports, and the escaping shared by all three.
#include "report/report.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace lockstep::report {

namespace {

// Walks s as UTF-8: calls ok(sequence) for each well-formed code point that is not a control
// character, bad(byte) for every other byte (control characters, invalid or overlong sequences,
// surrogates, C1 controls such as U+009B, which some terminals take for CSI).
template <class Ok, class Bad>
void walk_utf8(std::string_view s, Ok ok, Bad bad) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) bad(c);
      else ok(s.substr(i, 1));
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
    bool valid = len > 0 && i + len <= n;
    for (size_t k = 1; valid && k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) valid = false;
      else cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (valid) {
      const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
      valid = cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) && !(cp >= 0x80 && cp <= 0x9f);
    }
    if (!valid) {
      bad(c);
      ++i;
      continue;
    }
    ok(s.substr(i, len));
    i += len;
  }
}

std::string hex_escape(unsigned char c) {
  char b[8];
  std::snprintf(b, sizeof b, "\\x%02x", c);
  return b;
}

std::string pad(const std::string& s, size_t width) {
  // Width in code points (good enough for names, which are ASCII in practice).
  size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xc0) != 0x80;
  return cps >= width ? s : s + std::string(width - cps, ' ');
}

// Right-aligned.
std::string rpad(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string ulp_text(uint64_t u) { return u == UINT64_MAX ? "NaN" : std::to_string(u); }

std::string coords_text(const std::vector<uint64_t>& c) {
  std::string s = "[";
  for (size_t k = 0; k < c.size(); ++k) s += (k ? ", " : "") + std::to_string(c[k]);
  return s + "]";
}

std::string percent(uint64_t part, uint64_t whole) {
  return whole ? fmt("%.1f%%", 100.0 * double(part) / double(whole)) : "-";
}

using nlohmann::ordered_json;

ordered_json difference_json(const ElementDifference& d) {
  return {{"index", d.index},   {"coords", d.coords},          {"a", float_text(d.a)},
          {"b", float_text(d.b)}, {"a_bits", hex_bits(d.a_bits)}, {"b_bits", hex_bits(d.b_bits)}};
}

ordered_json tensor_json(const TensorComparison& t) {
  ordered_json hist = ordered_json::object();
  for (size_t k = 0; k < kUlpBuckets; ++k) hist[std::string(kUlpBucketNames[k])] = t.ulp_histogram[k];
  ordered_json j = {{"name", t.name},
                    {"shape", t.shape},
                    {"elements", t.elements},
                    {"identical", t.identical()},
                    {"differing", t.differing},
                    {"share", t.share()},
                    {"max_ulp", t.max_ulp == UINT64_MAX ? ordered_json("nan") : ordered_json(t.max_ulp)},
                    {"ulp_histogram", hist},
                    {"max_abs", t.max_abs},
                    {"max_rel", t.max_rel},
                    {"nonfinite_mismatches", t.nonfinite_mismatches}};
  j["first_difference"] = t.first ? difference_json(*t.first) : ordered_json(nullptr);
  return j;
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  walk_utf8(
      s,
      [&](std::string_view cp) {
        switch (cp[0]) {
          case '&': out += "&amp;"; break;
          case '<': out += "&lt;"; break;
          case '>': out += "&gt;"; break;
          case '"': out += "&quot;"; break;
          case '\'': out += "&#39;"; break;
          default: out += cp;
        }
      },
      [&](unsigned char c) {
        if (c == '\n' || c == '\t') out += char(c);
        else out += hex_escape(c);
      });
  return out;
}

std::string terminal_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  walk_utf8(s, [&](std::string_view cp) { out += cp; }, [&](unsigned char c) { out += hex_escape(c); });
  return out;
}

std::string render_text(const Comparison& c) {
  auto T = [](std::string_view s) { return terminal_safe(s); };
  std::string o;
  o += "lockstep compare: " + std::to_string(c.files.size()) + " result files, " +
       std::to_string(c.tensor_names.size()) + " tensors\n";
  o += T(c.summary) + "\n\n";

  o += "files\n";
  size_t wl = 8;
  for (const auto& f : c.files) wl = std::max(wl, T(f.label).size());
  wl = std::min<size_t>(wl, 60);
  for (const auto& f : c.files) {
    const auto sg = f.metadata.find("device.subgroup_size");
    o += "  " + pad(T(f.label), wl) + "  " + pad(f.mode_name, 22) + "  subgroup " +
         pad(sg == f.metadata.end() ? "?" : T(sg->second), 4) + "  " + std::to_string(f.tensors) + " tensors  " +
         T(f.path) + "\n";
  }
  if (!c.notes.empty()) {
    o += "\nnotes\n";
    for (const auto& n : c.notes) o += "  - " + T(n) + "\n";
  }

  o += "\npairs\n";
  for (const auto& p : c.pairs) {
    std::string line = "  #" + std::to_string(p.a) + " vs #" + std::to_string(p.b) + "  " +
                       pad(std::string(to_string(p.kind)), 26) + "  ";
    if (p.identical()) {
      line += "bit-identical in all " + std::to_string(p.tensors.size()) + " shared tensors";
    } else {
      size_t differ = 0;
      for (const auto& t : p.tensors) differ += !t.identical();
      line += std::to_string(differ) + " of " + std::to_string(p.tensors.size()) +
              " tensors differ, first at '" + T(p.tensors[*p.first_divergent].name) + "', max " +
              ulp_text(p.max_ulp()) + " ULP";
    }
    if (p.topk && p.topk->rows)
      line += "; top-1 agree " + std::to_string(p.topk->top1_agree) + "/" + std::to_string(p.topk->rows) +
              ", top-5 agree " + std::to_string(p.topk->top5_agree) + "/" + std::to_string(p.topk->rows);
    o += line + "\n";
  }

  for (size_t pi = 0; pi < c.pairs.size(); ++pi) {
    const auto& p = c.pairs[pi];
    if (p.identical()) continue;
    o += "\n#" + std::to_string(p.a) + " " + T(c.files[p.a].label.substr(c.files[p.a].label.find(' ') + 1)) +
         " vs #" + std::to_string(p.b) + " " +
         T(c.files[p.b].label.substr(c.files[p.b].label.find(' ') + 1)) + " (" + std::string(to_string(p.kind)) +
         ")" + (c.failure && c.failure->pair == pi ? ": FIXED-ORDER MISMATCH" : "") + "\n";
    if (!p.flag.empty()) o += "  " + T(p.flag) + "\n";
    size_t wn = 6;
    for (const auto& t : p.tensors) wn = std::max(wn, T(t.name).size());
    wn = std::min<size_t>(wn, 48);
    // Only the tensors that differ; JSON and HTML list them all.
    std::string head = "  " + pad("tensor", wn) + "  " + rpad("elements", 10) + " " + rpad("differ", 10) + " " +
                       rpad("share", 9) + " " + rpad("max ulp", 10) + " |";
    for (auto b : kUlpBucketNames) head += rpad(std::string(b) + " ulp", 11);
    o += head + " | " + rpad("max abs", 9) + " " + rpad("max rel", 9) + "\n";
    size_t identical = 0;
    for (const auto& t : p.tensors) {
      if (t.identical()) {
        identical++;
        continue;
      }
      std::string row = "  " + pad(T(t.name), wn) + "  " + rpad(std::to_string(t.elements), 10) + " " +
                        rpad(std::to_string(t.differing), 10) + " " + rpad(fmt("%.3g%%", 100.0 * t.share()), 9) + " " +
                        rpad(ulp_text(t.max_ulp), 10) + " |";
      for (size_t k = 0; k < kUlpBuckets; ++k) row += rpad(std::to_string(t.ulp_histogram[k]), 11);
      o += row + " | " + rpad(fmt("%.3g", t.max_abs), 9) + " " + rpad(fmt("%.3g", t.max_rel), 9) + "\n";
    }
    if (identical)
      o += "  (" + std::to_string(identical) + " bit-identical tensor" + (identical == 1 ? "" : "s") +
           " not listed)\n";
    const auto& first = p.tensors[*p.first_divergent];
    const auto& d = *first.first;
    o += "  first divergence: layer '" + T(first.name) + "' element " + std::to_string(d.index) + " " +
         coords_text(d.coords) + ": " + float_text(d.a) + " (" + hex_bits(d.a_bits) + ") vs " + float_text(d.b) +
         " (" + hex_bits(d.b_bits) + ")\n";
    if (p.topk && p.topk->rows) {
      o += "  top-1 agreement " + std::to_string(p.topk->top1_agree) + "/" + std::to_string(p.topk->rows) + " (" +
           percent(p.topk->top1_agree, p.topk->rows) + "), top-5 agreement " + std::to_string(p.topk->top5_agree) +
           "/" + std::to_string(p.topk->rows) + " (" + percent(p.topk->top5_agree, p.topk->rows) + ")";
      if (p.topk->top1_agree < p.topk->rows)
        o += ", first top-1 flip in row " + std::to_string(p.topk->first_top1_disagreement);
      o += "\n";
    }
    if (!p.only_in_a.empty() || !p.only_in_b.empty())
      o += "  not compared: " + std::to_string(p.only_in_a.size()) + " tensor(s) only in #" + std::to_string(p.a) +
           ", " + std::to_string(p.only_in_b.size()) + " only in #" + std::to_string(p.b) + "\n";
  }
  o += "\n" + T(c.summary) + "\n";
  return o;
}

std::string render_json(const Comparison& c) {
  ordered_json j;
  j["format"] = "lockstep-compare-1";
  j["verdict"] = std::string(to_string(c.verdict));
  j["exit_code"] = c.exit_code();
  j["summary"] = c.summary;
  j["all_identical"] = c.all_identical;
  ordered_json files = ordered_json::array();
  for (size_t i = 0; i < c.files.size(); ++i) {
    const auto& f = c.files[i];
    files.push_back({{"index", i},
                     {"path", f.path},
                     {"label", f.label},
                     {"mode", f.mode_name},
                     {"tensors", f.tensors},
                     {"metadata", f.metadata}});
  }
  j["files"] = files;
  j["tensors"] = c.tensor_names;
  j["notes"] = c.notes;
  ordered_json pairs = ordered_json::array();
  for (const auto& p : c.pairs) {
    ordered_json pj = {{"a", p.a}, {"b", p.b}, {"kind", std::string(to_string(p.kind))}, {"flag", p.flag},
                       {"identical", p.identical()}};
    pj["max_ulp"] = p.max_ulp() == UINT64_MAX ? ordered_json("nan") : ordered_json(p.max_ulp());
    pj["first_divergent_tensor"] =
        p.first_divergent ? ordered_json(p.tensors[*p.first_divergent].name) : ordered_json(nullptr);
    if (p.topk) {
      pj["topk"] = {{"rows", p.topk->rows},
                    {"classes", p.topk->classes},
                    {"top1_agree", p.topk->top1_agree},
                    {"top5_agree", p.topk->top5_agree},
                    {"top1_agreement", p.topk->rows ? double(p.topk->top1_agree) / double(p.topk->rows) : 1.0},
                    {"top5_agreement", p.topk->rows ? double(p.topk->top5_agree) / double(p.topk->rows) : 1.0}};
    } else {
      pj["topk"] = nullptr;
    }
    ordered_json ts = ordered_json::array();
    for (const auto& t : p.tensors) ts.push_back(tensor_json(t));
    pj["tensors"] = ts;
    pj["only_in_a"] = p.only_in_a;
    pj["only_in_b"] = p.only_in_b;
    pairs.push_back(pj);
  }
  j["pairs"] = pairs;
  if (c.failure) {
    const auto& p = c.pairs[c.failure->pair];
    const auto& t = p.tensors[c.failure->tensor];
    ordered_json fj = {{"a", p.a}, {"b", p.b}, {"tensor", t.name}};
    fj["element"] = difference_json(*t.first);
    j["failure"] = fj;
  } else {
    j["failure"] = nullptr;
  }
  // Paths and metadata are untrusted: invalid UTF-8 becomes U+FFFD instead of an exception.
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace lockstep::report
