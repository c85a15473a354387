#version 450
// Multiply-add ceiling, fp16 vec4 (see peak_mad.glsl). Needs shaderFloat16.
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_GOOGLE_include_directive : require
#define T f16vec4
#define SUM(a) (float((a).x) + float((a).y) + float((a).z) + float((a).w))
#include "peak_mad.glsl"
