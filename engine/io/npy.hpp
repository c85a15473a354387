// NumPy .npy files holding float32 (read and write) or float64 (read only, converted).
// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lockstep::io {

struct NpyArray {
  std::vector<uint64_t> shape;  // empty shape = 0-d scalar holding one element
  std::vector<float> data;      // C order
  // True when the file held '<f8': each value was rounded to the nearest float.
  bool converted_from_f64 = false;
};

// Reads versions 1.0, 2.0 and 3.0, '<f4' or '<f8', C order only. Any malformed input
// throws std::runtime_error naming the file, the field and what was expected.
NpyArray read_npy(const std::string& path);

// Same checks on bytes already in memory; `name` is used in error messages.
NpyArray parse_npy(std::span<const uint8_t> bytes, const std::string& name);

// Writes format 1.0 (2.0 only if the header would not fit), '<f4', C order, with the same
// header bytes NumPy writes. Goes through a temporary file renamed into place, so a reader
// never sees a half-written file. Throws if shape and data size disagree.
void write_npy(const std::string& path, const NpyArray& array);

// Product of the shape (1 for a 0-d array); throws std::overflow_error past 2^64.
uint64_t element_count(std::span<const uint64_t> shape);

}  // namespace lockstep::io
