#version 450
// Start-up probe: does texelFetch of an RGBA32F uniform texel buffer return every bit pattern
// unchanged (denormals, -0, infinities, NaN payloads)? Fixed order reads operands this way only
// where it does (engine/vk/probe.cpp).
layout(local_size_x_id = 100) in;
layout(binding = 0) uniform samplerBuffer texels;
layout(std430, binding = 1) writeonly buffer Results { uvec4 results[]; };
layout(push_constant) uniform Push { uint count; } pc;

void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i >= pc.count) return;
  results[i] = floatBitsToUint(texelFetch(texels, int(i)));
}
