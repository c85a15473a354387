#include "io/result_file.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "util/atomic_file.hpp"

namespace lockstep::io {

void write_safetensors(const std::string& path, const std::vector<ResultTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    uint64_t count = 1;
    for (uint64_t d : t.shape) count *= d;
    if (count != t.data.size())
      throw std::invalid_argument(path + ": tensor '" + t.name + "' has " + std::to_string(t.data.size()) +
                                  " values but its shape holds " + std::to_string(count));
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + count * 4}}};
    offset += count * 4;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // tensors start 8-byte aligned
  util::AtomicFile out(path);  // a temporary, renamed into place when complete
  const uint64_t n = text.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  out.write(len, 8);
  out.write(text);
  for (const auto& t : tensors) out.write(t.data.data(), t.data.size() * 4);
  out.commit();
}

}  // namespace lockstep::io
