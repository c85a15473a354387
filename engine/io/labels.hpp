// ImageNet-1k class names (models/imagenet_labels.txt: one per line, in class-index order).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace lockstep::io {

inline constexpr size_t kImageNetClasses = 1000;

// Reads one label per line ('\r\n' accepted, one final newline optional). Throws
// std::runtime_error naming the file unless there are exactly `expected` non-empty lines.
std::vector<std::string> load_labels(const std::string& path, size_t expected = kImageNetClasses);

// Where imagenet_labels.txt is. With $LOCKSTEP_DATA_DIR set, only
// $LOCKSTEP_DATA_DIR/imagenet_labels.txt and $LOCKSTEP_DATA_DIR/models/imagenet_labels.txt
// are tried (an explicit setting is never silently ignored); otherwise
// <source dir>/models/imagenet_labels.txt, the source dir being fixed at compile time.
// Throws, listing the places tried, when none exists.
std::string default_labels_path();

}  // namespace lockstep::io
