#include "io/labels.hpp"

#include "io/file_util.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#ifndef LOCKSTEP_SOURCE_DIR
#error "LOCKSTEP_SOURCE_DIR must be defined by the build (engine/io/CMakeLists.txt)"
#endif

namespace lockstep::io {

std::vector<std::string> load_labels(const std::string& path, size_t expected) {
  const std::vector<uint8_t> bytes = read_whole_file(path, 1 << 20);
  std::string text(bytes.begin(), bytes.end());
  if (!text.empty() && text.back() == '\n') text.pop_back();  // one final newline is optional

  std::vector<std::string> labels;
  size_t start = 0;
  while (!text.empty() && start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos)
      throw std::runtime_error(path + ": line " + std::to_string(labels.size() + 1) +
                               " is empty: expected one non-empty label per line");
    labels.push_back(std::move(line));
    start = end + 1;
  }
  if (labels.size() != expected)
    throw std::runtime_error(path + ": has " + std::to_string(labels.size()) +
                             " labels: expected exactly " + std::to_string(expected) +
                             " (one per line)");
  return labels;
}

std::string default_labels_path() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("LOCKSTEP_DATA_DIR"); dir && *dir) {
    candidates = {fs::path(dir) / "imagenet_labels.txt",
                  fs::path(dir) / "models" / "imagenet_labels.txt"};
  } else {
    candidates = {fs::path(LOCKSTEP_SOURCE_DIR) / "models" / "imagenet_labels.txt"};
  }
  std::string tried;
  for (const fs::path& p : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
    tried += (tried.empty() ? "" : ", ") + p.string();
  }
  throw std::runtime_error("imagenet_labels.txt not found (tried " + tried +
                           "); set LOCKSTEP_DATA_DIR to the directory holding it");
}

}  // namespace lockstep::io
