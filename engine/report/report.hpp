// Reports of a comparison (engine/report/compare.hpp): a text table for the terminal, JSON, and a
// self-contained HTML page (no network, no scripts, no external fonts; inline SVG charts). Every
// string that came from a result file (metadata, tensor names) or a path is untrusted: the text
// report replaces control characters, the HTML report escapes everything, the JSON report
// replaces invalid UTF-8.
#pragma once

#include <string>
#include <string_view>

#include "report/compare.hpp"

namespace lockstep::report {

std::string render_text(const Comparison& c);
std::string render_json(const Comparison& c);  // 2-space indented, ends with a newline
// `title` heads the page; `intro_html` (already escaped HTML) goes right after the verdict.
struct HtmlPage {
  std::string title = "lockstep compare";
  std::string intro_html;
};
std::string render_html(const Comparison& c, const HtmlPage& page = {});

// &, <, >, " and ' as entities; control characters (but tab and newline) and invalid UTF-8
// bytes as visible \xNN.
std::string html_escape(std::string_view s);
// Control characters (ESC included) and invalid UTF-8 bytes as \xNN: safe to print to a terminal.
std::string terminal_safe(std::string_view s);

}  // namespace lockstep::report
