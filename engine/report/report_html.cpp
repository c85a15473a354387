// The HTML report: one self-contained page. No scripts, no external fonts, styles or images; a
// Content-Security-Policy that forbids any fetch; charts are inline SVG. Every string from the
// files goes through html_escape.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "report/report.hpp"

namespace lockstep::report {

namespace {

std::string E(std::string_view s) { return html_escape(s); }

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

const char* kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em; color: #1d2330; background: #fff; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #d8dce4; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin-top: 1.6em; }
.verdict { padding: 0.9em 1.2em; border-radius: 6px; font-weight: 600; margin: 1em 0; }
.verdict.pass { background: #e3f6e8; border: 1px solid #3c9a57; color: #145a2a; }
.verdict.fail { background: #fde8e8; border: 1px solid #c53030; color: #8a1c1c; }
.verdict.info { background: #eef2fb; border: 1px solid #5b7bc0; color: #24407a; }
.verdict .word { font-size: 1.3em; margin-right: 0.5em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #d8dce4; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f5f9; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.differs td { background: #fff6e0; }
tr.first td { background: #fde8e8; }
td.code, span.code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }
.scroll { overflow-x: auto; max-width: 100%; }
.legend { font-size: 0.85em; color: #4a5160; margin: 0.3em 0 0.8em; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; vertical-align: -0.1em; margin: 0 0.3em 0 0.9em; }
td.name { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: nowrap; }
.traits td { max-width: 28em; word-break: break-word; }
.flag { color: #8a5a00; }
.ok { color: #145a2a; }
.bad { color: #8a1c1c; font-weight: 600; }
svg { display: block; max-width: 100%; height: auto; background: #fbfcfe; border: 1px solid #e3e6ec; }
svg text { font-family: system-ui, sans-serif; font-size: 11px; fill: #4a5160; }
svg .grid { stroke: #e3e6ec; stroke-width: 1; }
svg .axis { stroke: #8a91a0; stroke-width: 1; }
svg .bar { fill: #e08a1e; }
svg .bar.first { fill: #c53030; }
svg .bar.nan { fill: #6b2fb3; }
svg .zero { fill: #3c9a57; }
details { margin: 0.5em 0; }
summary { cursor: pointer; }
footer { margin-top: 3em; color: #7a8190; font-size: 0.85em; }
)";

// Max ULP per tensor as bars on a log scale: height 0 for identical, 1 unit for 1 ULP, one more
// unit per factor of ten. NaN (UINT64_MAX) gets a full-height bar of its own colour.
std::string divergence_chart(const PairComparison& p) {
  const size_t n = p.tensors.size();
  const double bar = n <= 20 ? 24 : n <= 60 ? 12 : n <= 160 ? 6 : 3;
  const double left = 56, right = 16, top = 16, plot_h = 160, bottom = 42;
  const double plot_w = std::max(640.0, bar * double(n));
  const double width = left + plot_w + right, height = top + plot_h + bottom;
  uint64_t finite_max = 0;
  bool any_nan = false;
  for (const auto& t : p.tensors) {
    if (t.max_ulp == UINT64_MAX) any_nan = true;
    else finite_max = std::max(finite_max, t.max_ulp);
  }
  auto level = [](uint64_t ulp) { return ulp == 0 ? 0.0 : 1.0 + std::log10(double(ulp)); };
  int decades = std::max(1, int(std::ceil(level(finite_max))));
  if (any_nan) decades = std::max(decades, 2);
  const double unit = plot_h / decades;
  const double step = plot_w / double(std::max<size_t>(n, 1));

  std::string s;
  s += "<svg viewBox=\"0 0 " + fmt("%.0f", width) + " " + fmt("%.0f", height) + "\" width=\"" + fmt("%.0f", width) +
       "\" height=\"" + fmt("%.0f", height) + "\" role=\"img\" aria-label=\"maximum ULP distance per layer\">";
  // Grid lines at 1, 10, 100, ... ULP.
  for (int k = 0; k <= decades; ++k) {
    const double y = top + plot_h - k * unit;
    s += "<line class=\"grid\" x1=\"" + fmt("%.1f", left) + "\" x2=\"" + fmt("%.1f", left + plot_w) + "\" y1=\"" +
         fmt("%.1f", y) + "\" y2=\"" + fmt("%.1f", y) + "\"/>";
    std::string label = k == 0 ? "0" : k == 1 ? "1" : k <= 4 ? std::to_string(int(std::pow(10, k - 1))) : "1e" + std::to_string(k - 1);
    s += "<text x=\"" + fmt("%.1f", left - 6) + "\" y=\"" + fmt("%.1f", y + 4) + "\" text-anchor=\"end\">" + label +
         "</text>";
  }
  s += "<line class=\"axis\" x1=\"" + fmt("%.1f", left) + "\" x2=\"" + fmt("%.1f", left) + "\" y1=\"" +
       fmt("%.1f", top) + "\" y2=\"" + fmt("%.1f", top + plot_h) + "\"/>";
  s += "<line class=\"axis\" x1=\"" + fmt("%.1f", left) + "\" x2=\"" + fmt("%.1f", left + plot_w) + "\" y1=\"" +
       fmt("%.1f", top + plot_h) + "\" y2=\"" + fmt("%.1f", top + plot_h) + "\"/>";
  const size_t label_every = std::max<size_t>(1, (n + 19) / 20);
  for (size_t i = 0; i < n; ++i) {
    const auto& t = p.tensors[i];
    const double x = left + step * double(i);
    const std::string tip = E(t.name) + ": " +
                            (t.identical() ? std::string("bit-identical")
                                           : "max " + ulp_text(t.max_ulp) + " ULP, " + std::to_string(t.differing) +
                                                 " of " + std::to_string(t.elements) + " elements differ (" +
                                                 fmt("%.3g%%", 100.0 * t.share()) + ")");
    if (t.identical()) {
      s += "<rect class=\"zero\" x=\"" + fmt("%.1f", x + step * 0.15) + "\" y=\"" + fmt("%.1f", top + plot_h - 2) +
           "\" width=\"" + fmt("%.1f", step * 0.7) + "\" height=\"2\"><title>" + tip + "</title></rect>";
    } else {
      const bool nan = t.max_ulp == UINT64_MAX;
      const double h = nan ? plot_h : std::max(2.0, level(t.max_ulp) * unit);
      const std::string cls = nan ? "bar nan" : (p.first_divergent && *p.first_divergent == i) ? "bar first" : "bar";
      s += "<rect class=\"" + cls + "\" x=\"" + fmt("%.1f", x + step * 0.15) + "\" y=\"" +
           fmt("%.1f", top + plot_h - h) + "\" width=\"" + fmt("%.1f", step * 0.7) + "\" height=\"" + fmt("%.1f", h) +
           "\"><title>" + tip + "</title></rect>";
    }
    if (i % label_every == 0) {
      const auto li = layer_index(t.name);
      const std::string lab = li ? std::to_string(*li) : t.name == "output" ? "out" : "·";
      s += "<text x=\"" + fmt("%.1f", x + step / 2) + "\" y=\"" + fmt("%.1f", top + plot_h + 14) +
           "\" text-anchor=\"middle\">" + E(lab) + "</text>";
    }
  }
  s += "<text x=\"" + fmt("%.1f", left + plot_w / 2) + "\" y=\"" + fmt("%.1f", height - 8) +
       "\" text-anchor=\"middle\">layer (tensor order); bar height: max ULP distance, log scale</text>";
  if (p.identical())
    s += "<text x=\"" + fmt("%.1f", left + plot_w / 2) + "\" y=\"" + fmt("%.1f", top + plot_h / 2) +
         "\" text-anchor=\"middle\">bit-identical in every layer</text>";
  s += "</svg>\n";
  return s;
}

bool is_layer_fingerprint(const std::string& key, const std::set<std::string>& tensors) {
  static const std::string suffix = ".xxh3_128";
  if (key.size() <= suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  const std::string base = key.substr(0, key.size() - suffix.size());
  return base != "output" && tensors.count(base);
}

// Rows of the side-by-side traits table: device first, then the numeric mode, then the rest.
std::vector<std::string> trait_rows(const Comparison& c) {
  const std::set<std::string> tensors(c.tensor_names.begin(), c.tensor_names.end());
  std::set<std::string> keys;
  for (const auto& f : c.files)
    for (const auto& [k, v] : f.metadata)
      if (!is_layer_fingerprint(k, tensors)) keys.insert(k);
  auto rank = [](const std::string& k) {
    if (k.rfind("device.", 0) == 0) return 0;
    if (k == "engine") return 1;
    if (k == "order" || k == "contract" || k == "denormals") return 2;
    if (k == "format") return 4;
    return 3;
  };
  std::vector<std::string> rows(keys.begin(), keys.end());
  std::stable_sort(rows.begin(), rows.end(), [&](const std::string& a, const std::string& b) {
    const int ra = rank(a), rb = rank(b);
    return ra != rb ? ra < rb : a < b;
  });
  return rows;
}

std::string tensor_table(const Comparison& c, size_t pi) {
  const auto& p = c.pairs[pi];
  std::string s = "<div class=\"scroll\"><table><thead><tr><th>tensor</th><th>shape</th><th>elements</th><th>differ</th><th>share</th>"
                  "<th>max ULP</th>";
  for (auto b : kUlpBucketNames) s += "<th>" + std::string(b) + " ULP</th>";
  s += "<th>max abs</th><th>max rel</th><th>first difference</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < p.tensors.size(); ++i) {
    const auto& t = p.tensors[i];
    const bool first = p.first_divergent && *p.first_divergent == i;
    s += std::string("<tr") + (first ? " class=\"first\"" : !t.identical() ? " class=\"differs\"" : "") + "><td class=\"name\">" +
         E(t.name) + "</td><td class=\"name\">" + coords_text(t.shape) + "</td><td class=\"num\">" +
         std::to_string(t.elements) + "</td><td class=\"num\">" + std::to_string(t.differing) +
         "</td><td class=\"num\">" + fmt("%.3g%%", 100.0 * t.share()) + "</td><td class=\"num\">" +
         (t.identical() ? "identical" : ulp_text(t.max_ulp)) + "</td>";
    for (size_t k = 0; k < kUlpBuckets; ++k) s += "<td class=\"num\">" + std::to_string(t.ulp_histogram[k]) + "</td>";
    s += "<td class=\"num\">" + fmt("%.3g", t.max_abs) + "</td><td class=\"num\">" + fmt("%.3g", t.max_rel) +
         "</td><td class=\"name\">";
    if (t.first)
      s += std::to_string(t.first->index) + " " + coords_text(t.first->coords) + ": " + E(float_text(t.first->a)) +
           " (" + hex_bits(t.first->a_bits) + ") vs " + E(float_text(t.first->b)) + " (" + hex_bits(t.first->b_bits) +
           ")";
    s += "</td></tr>\n";
  }
  return s + "</tbody></table></div>\n";
}

std::string agreement(const PairComparison& p, bool top5) {
  if (!p.topk || !p.topk->rows) return "-";
  const uint64_t a = top5 ? p.topk->top5_agree : p.topk->top1_agree;
  return std::to_string(a) + "/" + std::to_string(p.topk->rows) + " (" +
         fmt("%.1f%%", 100.0 * double(a) / double(p.topk->rows)) + ")";
}

}  // namespace

std::string render_html(const Comparison& c, const HtmlPage& page) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
       "img-src data:\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<link rel=\"icon\" href=\"data:,\">\n";
  h += "<title>" + E(page.title) + ": " + E(std::string(to_string(c.verdict))) + "</title>\n";
  h += "<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  h += "<h1>" + E(page.title) + "</h1>\n<p>" + std::to_string(c.files.size()) + " result files, " +
       std::to_string(c.tensor_names.size()) + " tensors, " + std::to_string(c.pairs.size()) + " pairs.</p>\n";

  const char* cls = c.verdict == Verdict::Pass ? "pass" : c.verdict == Verdict::Fail ? "fail" : "info";
  const char* word = c.verdict == Verdict::Pass ? "PASS" : c.verdict == Verdict::Fail ? "FAIL" : "NO FIXED-ORDER PAIR";
  std::string rest = c.summary;
  for (std::string prefix : {"PASS: ", "FAIL: ", "NO FIXED-ORDER PAIR: "})
    if (rest.rfind(prefix, 0) == 0) rest = rest.substr(prefix.size());
  h += std::string("<div class=\"verdict ") + cls + "\" id=\"verdict\"><span class=\"word\">" + word + "</span>" +
       E(rest) + "</div>\n";
  if (c.failure) {
    const auto& p = c.pairs[c.failure->pair];
    const auto& t = p.tensors[c.failure->tensor];
    const auto& d = *t.first;
    h += "<table><tbody><tr><th>first layer</th><td class=\"code\">" + E(t.name) + "</td></tr><tr><th>element</th>"
         "<td class=\"code\">" + std::to_string(d.index) + " " + coords_text(d.coords) + "</td></tr><tr><th>" +
         E(c.files[p.a].label) + "</th><td class=\"code\">" + E(float_text(d.a)) + " (" + hex_bits(d.a_bits) +
         ")</td></tr><tr><th>" + E(c.files[p.b].label) + "</th><td class=\"code\">" + E(float_text(d.b)) + " (" +
         hex_bits(d.b_bits) + ")</td></tr></tbody></table>\n";
  }
  h += page.intro_html;

  // Devices side by side.
  // With many files the table is wide and long: folded, so the verdict and the charts come first.
  h += "<h2>Devices and runs</h2>\n";
  h += std::string("<details") + (c.files.size() <= 4 ? " open" : "") + "><summary>" +
       std::to_string(c.files.size()) + " files: devices, drivers, traits, modes and fingerprints side by side</summary>\n";
  h += "<div class=\"scroll\"><table class=\"traits\"><thead><tr><th></th>";
  for (const auto& f : c.files) h += "<th>" + E(f.label) + "</th>";
  h += "</tr></thead><tbody>\n<tr><th>file</th>";
  for (const auto& f : c.files) h += "<td class=\"code\">" + E(f.path) + "</td>";
  h += "</tr>\n<tr><th>mode</th>";
  for (const auto& f : c.files) h += "<td>" + E(f.mode_name) + "</td>";
  h += "</tr>\n<tr><th>tensors</th>";
  for (const auto& f : c.files) h += "<td class=\"num\">" + std::to_string(f.tensors) + "</td>";
  h += "</tr>\n";
  for (const auto& key : trait_rows(c)) {
    std::set<std::string> values;
    for (const auto& f : c.files) {
      const auto it = f.metadata.find(key);
      values.insert(it == f.metadata.end() ? std::string(1, '\0') + "absent" : it->second);
    }
    h += std::string("<tr") + (values.size() > 1 ? " class=\"differs\"" : "") + "><th>" + E(key) + "</th>";
    for (const auto& f : c.files) {
      const auto it = f.metadata.find(key);
      h += it == f.metadata.end() ? std::string("<td>—</td>") : "<td class=\"code\">" + E(it->second) + "</td>";
    }
    h += "</tr>\n";
  }
  h += "</tbody></table></div>\n<p>Rows that differ between files are highlighted.</p>\n</details>\n";

  if (!c.notes.empty()) {
    h += "<h2>Notes</h2>\n<ul>\n";
    for (const auto& n : c.notes) h += "<li class=\"flag\">" + E(n) + "</li>\n";
    h += "</ul>\n";
  }

  h += "<h2>Pairs</h2>\n<table><thead><tr><th>pair</th><th>kind</th><th>result</th><th>first divergent layer</th>"
       "<th>max ULP</th><th>top-1 agreement</th><th>top-5 agreement</th></tr></thead><tbody>\n";
  for (size_t pi = 0; pi < c.pairs.size(); ++pi) {
    const auto& p = c.pairs[pi];
    size_t differ = 0;
    for (const auto& t : p.tensors) differ += !t.identical();
    const bool failing = c.failure && c.failure->pair == pi;
    h += "<tr><td><a href=\"#pair-" + std::to_string(pi) + "\">" + E(c.files[p.a].label) + " vs " +
         E(c.files[p.b].label) + "</a></td><td>" + E(std::string(to_string(p.kind))) + "</td><td class=\"" +
         (p.identical() ? "ok" : p.kind == PairKind::Fixed ? "bad" : "flag") + "\">" +
         (p.identical() ? "bit-identical (" + std::to_string(p.tensors.size()) + " tensors)"
                        : std::to_string(differ) + " of " + std::to_string(p.tensors.size()) + " tensors differ" +
                              (failing ? " — fixed-order mismatch" : "")) +
         "</td><td class=\"code\">" + (p.first_divergent ? E(p.tensors[*p.first_divergent].name) : "—") +
         "</td><td class=\"num\">" + ulp_text(p.max_ulp()) + "</td><td class=\"num\">" + agreement(p, false) +
         "</td><td class=\"num\">" + agreement(p, true) + "</td></tr>\n";
  }
  h += "</tbody></table>\n";

  h += "<h2>Per-layer divergence</h2>\n";
  for (size_t pi = 0; pi < c.pairs.size(); ++pi) {
    const auto& p = c.pairs[pi];
    h += "<section id=\"pair-" + std::to_string(pi) + "\">\n<h3>" + E(c.files[p.a].label) + " vs " +
         E(c.files[p.b].label) + " <small>(" + E(std::string(to_string(p.kind))) + ")</small></h3>\n";
    if (!p.flag.empty()) h += "<p class=\"flag\">" + E(p.flag) + "</p>\n";
    h += divergence_chart(p);
    h += "<div class=\"legend\"><span class=\"swatch\" style=\"background:#3c9a57\"></span>bit-identical"
         "<span class=\"swatch\" style=\"background:#c53030\"></span>first divergent layer"
         "<span class=\"swatch\" style=\"background:#e08a1e\"></span>differs"
         "<span class=\"swatch\" style=\"background:#6b2fb3\"></span>NaN against a number</div>\n";
    if (p.identical()) {
      h += "<p class=\"ok\">Bit-identical in all " + std::to_string(p.tensors.size()) + " shared tensors.</p>\n";
    } else {
      const auto& t = p.tensors[*p.first_divergent];
      h += "<p>First divergence: layer <span class=\"code\">" + E(t.name) + "</span>, element " +
           std::to_string(t.first->index) + " " + coords_text(t.first->coords) + ": <span class=\"code\">" +
           E(float_text(t.first->a)) + " (" + hex_bits(t.first->a_bits) + ") vs " + E(float_text(t.first->b)) + " (" +
           hex_bits(t.first->b_bits) + ")</span></p>\n";
    }
    if (!p.only_in_a.empty() || !p.only_in_b.empty())
      h += "<p class=\"flag\">Not compared: " + std::to_string(p.only_in_a.size()) + " tensor(s) only in " +
           E(c.files[p.a].label) + ", " + std::to_string(p.only_in_b.size()) + " only in " + E(c.files[p.b].label) +
           ".</p>\n";
    h += std::string("<details") + (p.identical() ? "" : " open") + "><summary>Per-layer table</summary>\n" +
         tensor_table(c, pi) + "</details>\n</section>\n";
  }
  h += "<footer>Written by " + E(page.title) + ". ULP distances count representable float32 values between the two; "
       "relative error is |a−b| / max(|a|, |b|); the share counts elements whose bits differ (+0 and −0 "
       "included).</footer>\n</body>\n</html>\n";
  return h;
}

}  // namespace lockstep::report
