#version 450
// `lockstep peak`: device-memory copy bandwidth. Each invocation copies vec4s with a grid
// stride, so any dispatch size covers the buffer; consecutive invocations touch consecutive
// addresses (coalesced on GPUs, whole cache lines on CPU drivers).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Src { vec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; };
layout(push_constant) uniform Push { uint count; } pc;  // vec4s

void main() {
  const uint stride = ls_group_count() * gl_WorkGroupSize.x;
  for (uint i = ls_global_index(); i < pc.count; i += stride) dst[i] = src[i];
}
