// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
// a counter-based generator, so the value for (seed, layer, element) is the same whatever
// the launch geometry. Mirrored by shaders/philox.glsl.
#pragma once
#include <array>
#include <cstdint>

namespace lockstep {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key);

// Dropout: element `index` of layer `layer` is kept iff the first Philox word of
// counter (index_lo, index_hi, layer, 0) under key (seed_lo, seed_hi) is >= threshold,
// threshold = round(p * 2^32) (clamped to 2^32-1), so P(keep) = 1 - p to within 2^-32.
uint32_t dropout_threshold(double p);
bool dropout_keep(uint64_t seed, uint32_t layer, uint64_t index, uint32_t threshold);
// Inverted dropout scale 1/(1-p), rounded once from double (0 when p == 1).
float dropout_scale(double p);

}  // namespace lockstep
