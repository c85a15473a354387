#version 450
// Start-up probe: what this device really does with fma(), rounding and denormals.
// Each case (a, b, c) yields fma(a,b,c), (a*b)+c with two roundings, a+c and a*b.
#extension GL_KHR_shader_subgroup_basic : require
layout(local_size_x_id = 100) in;
layout(std430, binding = 0) readonly buffer Cases { float cases[]; };
layout(std430, binding = 1) writeonly buffer Results { float results[]; };
layout(std430, binding = 2) writeonly buffer Info { uint info[]; };
layout(push_constant) uniform Push { uint count; } pc;

void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i == 0u) info[0] = gl_SubgroupSize;
  if (i >= pc.count) return;
  float a = cases[3u * i], b = cases[3u * i + 1u], c = cases[3u * i + 2u];
  precise float fused = fma(a, b, c);
  precise float product = a * b;
  precise float unfused = product + c;
  precise float sum = a + c;
  results[4u * i] = fused;
  results[4u * i + 1u] = unfused;
  results[4u * i + 2u] = sum;
  results[4u * i + 3u] = product;
}
