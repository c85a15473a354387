// SPIR-V compiled from shaders/ at build time (cmake/Shaders.cmake) and linked in.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace lockstep::shaders {

struct EmbeddedShader {
  const char* name;  // "<file stem>" or "<file stem>+rte", "+dp", "+rte+dp"
  const uint32_t* words;
  size_t word_count;
};

std::span<const EmbeddedShader> all();
// Throws std::out_of_range naming the shader when it was not built in.
const EmbeddedShader& find(std::string_view name);

}  // namespace lockstep::shaders
