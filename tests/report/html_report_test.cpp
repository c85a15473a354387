// The HTML report: self-contained, escaped, and it opens in headless Chromium (Debian's
// `chromium`, where installed) with no console messages and a non-empty screenshot.
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <set>
#include <sstream>

#include "cmd_compare.hpp"
#include "io/image.hpp"
#include "report/report.hpp"
#include "report_test_util.hpp"

namespace lockstep::report {
namespace {

using namespace test;

std::string read_text(const std::string& path) {
  const auto b = read_bytes(path);
  return std::string(b.begin(), b.end());
}

// Three files: two fixed-order devices that disagree in one bit of one layer, and a free-order
// run; device names carry markup that must come out escaped.
std::string make_report(ScratchDir& dir, int* rc = nullptr) {
  write_result(dir.path("amd.safetensors"),
               {{"device.name", "AMD <script>alert(1)</script> & \"Radeon\""}, {"device.subgroup_size", "64"}});
  write_result(dir.path("nv0.safetensors"), {{"device.name", "NVIDIA <img src=x onerror=alert(2)>"}});
  flip_bit(dir.path("nv0.safetensors"), dir.path("nvidia.safetensors"), "layer.1.conv1_relu", 42, 2, true);
  write_result(dir.path("free.safetensors"), sample_tensors(5),
               run_metadata({{"order", "free"}, {"device.name", "llvmpipe' onmouseover='x"}}));
  cli::CompareOptions o;
  o.html = dir.path("report.html");
  o.quiet = true;
  const auto c = capture([&] {
    return cli::compare({dir.path("amd.safetensors"), dir.path("nvidia.safetensors"), dir.path("free.safetensors")}, o);
  });
  if (rc) *rc = c.rc;
  return read_text(o.html);
}

TEST(HtmlReport, SelfContainedAndEscaped) {
  ScratchDir dir;
  int rc = -1;
  const std::string html = make_report(dir, &rc);
  EXPECT_EQ(rc, 1);
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  // The verdict comes first, before the devices table and the charts.
  const size_t verdict = html.find("id=\"verdict\"");
  ASSERT_NE(verdict, std::string::npos);
  EXPECT_LT(verdict, html.find("Devices and runs"));
  EXPECT_LT(verdict, html.find("<svg"));
  EXPECT_NE(html.find("class=\"verdict fail\""), std::string::npos);
  EXPECT_NE(html.find("layer.1.conv1_relu"), std::string::npos);
  // One chart per pair.
  size_t charts = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) charts++;
  EXPECT_EQ(charts, 3u);
  // Nothing fetched, nothing run.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  // No tag carries a source or an event handler (the file's markup appears only as text).
  for (size_t lt = html.find('<'); lt != std::string::npos; lt = html.find('<', lt + 1)) {
    const std::string tag = html.substr(lt, html.find('>', lt) - lt);
    EXPECT_EQ(tag.find(" src="), std::string::npos) << tag;
    EXPECT_EQ(tag.find(" on"), std::string::npos) << tag;
    EXPECT_NE(tag.rfind("<img", 0), 0u) << tag;
  }
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  // The markup from the files is text.
  EXPECT_NE(html.find("AMD &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Radeon&quot;"), std::string::npos);
  EXPECT_NE(html.find("NVIDIA &lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  EXPECT_NE(html.find("llvmpipe&#39; onmouseover=&#39;x"), std::string::npos);
  // The traits side by side: the subgroup size row differs and is highlighted.
  EXPECT_TRUE(std::regex_search(html, std::regex("<tr class=\"differs\"><th>device.subgroup_size</th>")));
}

TEST(HtmlReport, EscapeFunctions) {
  EXPECT_EQ(html_escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(html_escape("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");  // valid UTF-8 kept
  EXPECT_EQ(html_escape("bad \xff\xc3"), "bad \\xff\\xc3");
  EXPECT_EQ(html_escape("\xc0\xaf"), "\\xc0\\xaf");  // overlong '/'
  EXPECT_EQ(html_escape("a\x01" "b"), "a\\x01b");
  EXPECT_EQ(terminal_safe("ok\x1b[31mred\xc2\x9b"), "ok\\x1b[31mred\\xc2\\x9b");  // ESC and C1 CSI
  EXPECT_EQ(terminal_safe("tab\tnl\n"), "tab\\x09nl\\x0a");
}

TEST(HtmlReport, IdenticalRunsReportPass) {
  ScratchDir dir;
  write_result(dir.path("a"));
  write_result(dir.path("b"));
  std::vector<ResultFile> files = {read_result_file(dir.path("a")), read_result_file(dir.path("b"))};
  const std::string html = render_html(compare_results(files));
  EXPECT_NE(html.find("class=\"verdict pass\""), std::string::npos);
  EXPECT_NE(html.find("bit-identical in every layer"), std::string::npos);
}

// Runs headless Chromium on `url`; returns its exit status, stderr in `log`.
int run_chromium(const std::string& url, const std::string& png, const ScratchDir& dir, std::string& log) {
  const std::string profile = dir.path("chromium-profile"), err = dir.path("chromium.log");
  const std::string cmd = "timeout 180 /usr/bin/chromium --headless --no-sandbox --disable-gpu "
                          "--disable-background-networking --disable-component-update --disable-sync --no-first-run "
                          "--disable-extensions --window-size=1280,2400 --user-data-dir='" + profile +
                          "' --screenshot='" + png + "' --enable-logging=stderr --v=0 '" + url + "' >/dev/null 2>'" +
                          err + "'";
  const int rc = std::system(cmd.c_str());
  log = read_text(err);
  return rc;
}

// Console messages in Chromium's log: "[pid:tid:time:INFO:CONSOLE:LINE] "message", source: ...".
// This Chromium prints every console message at INFO, whatever its level, so the level cannot be
// read from the log; the report has no scripts, so any console message at all (a CSP violation,
// a failed load, an error) is a failure.
std::vector<std::string> console_lines(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find(":CONSOLE") != std::string::npos) out.push_back(line);
  return out;
}

TEST(HtmlReport, OpensInHeadlessChromiumWithoutConsoleErrors) {
  if (!std::filesystem::exists("/usr/bin/chromium"))
    GTEST_SKIP() << "/usr/bin/chromium not installed (Debian package chromium): the HTML report was not opened "
                    "in a browser";
  ScratchDir dir;
  const std::string html = make_report(dir);
  ASSERT_FALSE(html.empty());

  // The detector itself: a page with a deliberate console error must be caught.
  write_text(dir.path("control.html"),
             "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>control</title></head><body>"
             "<script>console.error('lockstep-control-error')</script></body></html>");
  std::string log;
  ASSERT_EQ(run_chromium("file://" + dir.path("control.html"), dir.path("control.png"), dir, log), 0) << log;
  const auto control = console_lines(log);
  ASSERT_EQ(control.size(), 1u) << "cannot see console messages in Chromium's log:\n" << log;
  EXPECT_NE(control[0].find("lockstep-control-error"), std::string::npos) << control[0];

  const std::string png = dir.path("report.png");
  ASSERT_EQ(run_chromium("file://" + dir.path("report.html"), png, dir, log), 0) << log;
  const auto lines = console_lines(log);
  std::string joined;
  for (const auto& l : lines) joined += l + "\n";
  EXPECT_TRUE(lines.empty()) << "console messages from the report:\n" << joined;

  // The screenshot exists and shows something: a decodable PNG with more than one colour, and
  // the verdict banner's red among them.
  ASSERT_TRUE(std::filesystem::exists(png)) << log;
  EXPECT_GT(std::filesystem::file_size(png), 1000u);
  const io::Image img = io::load_image(png);
  EXPECT_EQ(img.width, 1280u);
  std::set<uint32_t> colours;
  bool red_banner = false;
  for (size_t i = 0; i + 2 < img.rgb.size(); i += 3) {
    const uint32_t c = (uint32_t(img.rgb[i]) << 16) | (uint32_t(img.rgb[i + 1]) << 8) | img.rgb[i + 2];
    if (colours.size() < 64) colours.insert(c);
    red_banner |= c == 0xfde8e8;  // .verdict.fail background
  }
  EXPECT_GT(colours.size(), 8u);
  EXPECT_TRUE(red_banner) << "the FAIL banner is not on the screenshot";
  // Keep a copy for the README when asked.
  if (const char* keep = std::getenv("LOCKSTEP_KEEP_REPORT"); keep && *keep) {
    std::filesystem::copy_file(png, std::string(keep) + ".png", std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(dir.path("report.html"), std::string(keep) + ".html",
                               std::filesystem::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace lockstep::report
