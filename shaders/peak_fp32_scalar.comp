#version 450
// Multiply-add ceiling, fp32 scalar (see peak_mad.glsl).
#extension GL_GOOGLE_include_directive : require
#define T float
#define SUM(a) (a)
#include "peak_mad.glsl"
