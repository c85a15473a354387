#version 450
// Multiply-add ceiling, fp32 vec4 (see peak_mad.glsl).
#extension GL_GOOGLE_include_directive : require
#define T vec4
#define SUM(a) ((a).x + (a).y + (a).z + (a).w)
#include "peak_mad.glsl"
