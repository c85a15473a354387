#version 450
// Multiply-add ceiling, fp16 scalar (see peak_mad.glsl). Needs shaderFloat16.
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_GOOGLE_include_directive : require
#define T float16_t
#define SUM(a) float(a)
#include "peak_mad.glsl"
