#version 450
// Residual add (a + b, then ReLU if asked) or ReLU alone (x > 0 ? x : +0). Exact in both
// orders: one correctly rounded add per element.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "fixed_arith.glsl"

layout(constant_id = 9) const bool RELU = false;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint count, has_b; } pc;

void main() {
  uint i = ls_global_index();
  if (i >= pc.count) return;
  float v = pc.has_b != 0u ? ls_add(a[i], b[i]) : a[i];
  y[i] = (RELU || pc.has_b == 0u) ? ls_relu(v) : v;
}
