// Minimum, median and maximum of repeated measurements.
#pragma once
#include <algorithm>
#include <stdexcept>
#include <vector>

namespace lockstep::bench {

struct Stats {
  double min = 0, median = 0, max = 0;
};

// The median of an even count is the mean of the two middle values.
inline Stats stats_of(std::vector<double> v) {
  if (v.empty()) throw std::invalid_argument("stats of no measurements");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return {v.front(), n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v.back()};
}

}  // namespace lockstep::bench
