// Small file helpers shared by the io readers and writers. Every error is a
// std::runtime_error that starts with the path.
#pragma once

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace lockstep::io {

// Opens for binary reading; a missing or unreadable file throws with the OS reason.
std::ifstream open_for_reading(const std::string& path);

// Size of an open file in bytes (the stream is left at the start).
uint64_t file_size(std::ifstream& f, const std::string& path);

// Reads exactly n bytes or throws ("file ends early").
void read_exact(std::ifstream& f, void* dst, uint64_t n, const std::string& path);

// The whole file; refuses files larger than max_bytes before reading them.
std::vector<uint8_t> read_whole_file(const std::string& path, uint64_t max_bytes);

// Writes the pieces to a temporary file next to `path`, then renames it over `path`,
// so readers see either the old file or the complete new one (util/atomic_file.hpp).
void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces);

}  // namespace lockstep::io
