#include "cmd_compare.hpp"

#include <cstdio>
#include <exception>
#include <new>

#include "io/file_util.hpp"
#include "report/compare.hpp"
#include "report/report.hpp"
#include "report/result_reader.hpp"

namespace lockstep::cli {

namespace {

void print_error(const std::string& message) {
  std::fprintf(stderr, "lockstep compare: error: %s\n", report::terminal_safe(message).c_str());
}

}  // namespace

int compare(const std::vector<std::string>& files, const CompareOptions& options) {
  if (files.size() < 2) {
    print_error("compare needs at least two result files (lockstep run --save FILE [--layers]), got " +
                std::to_string(files.size()));
    return 2;
  }
  report::Comparison c;
  try {
    std::vector<report::ResultFile> results;
    results.reserve(files.size());
    for (const std::string& f : files) results.push_back(report::read_result_file(f));
    report::CompareSettings settings;
    settings.allow_different_inputs = options.allow_different_inputs;
    c = report::compare_results(results, settings);
  } catch (const report::NotComparableError& e) {
    print_error(e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    print_error("not enough memory to hold the result files");
    return 2;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 2;
  }

  try {
    if (!options.json.empty()) {
      const std::string j = report::render_json(c);
      if (options.json == "-") std::fwrite(j.data(), 1, j.size(), stdout);
      else io::write_file_atomically(options.json, {j});
    }
    if (!options.html.empty()) io::write_file_atomically(options.html, {report::render_html(c)});
  } catch (const std::exception& e) {
    print_error(e.what());
    return 2;
  }
  if (options.json != "-") {
    const std::string t = options.quiet ? report::terminal_safe(c.summary) + "\n" : report::render_text(c);
    std::fwrite(t.data(), 1, t.size(), stdout);
  }
  if (!options.json.empty() && options.json != "-" && !options.quiet)
    std::printf("wrote %s\n", report::terminal_safe(options.json).c_str());
  if (!options.html.empty() && !options.quiet)
    std::printf("wrote %s\n", report::terminal_safe(options.html).c_str());
  std::fflush(stdout);
  return c.exit_code();
}

}  // namespace lockstep::cli
