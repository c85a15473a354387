#include "vk/embedded_shaders.hpp"

#include <stdexcept>
#include <string>

namespace lockstep::shaders {

const EmbeddedShader& find(std::string_view name) {
  for (const EmbeddedShader& s : all())
    if (name == s.name) return s;
  throw std::out_of_range("no embedded shader named '" + std::string(name) + "'");
}

}  // namespace lockstep::shaders
