#version 450
// Start-up probe: does imageStore to an RGBA32F storage texel buffer write every bit pattern
// unchanged (denormals, -0, infinities, NaN payloads)? Fixed order writes results this way only
// where it does (engine/vk/probe.cpp).
layout(local_size_x_id = 100) in;
layout(std430, binding = 0) readonly buffer Bits { uvec4 bits[]; };
layout(rgba32f, binding = 1) uniform writeonly imageBuffer texels;
layout(push_constant) uniform Push { uint count; } pc;

void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i >= pc.count) return;
  imageStore(texels, int(i), uintBitsToFloat(bits[i]));
}
