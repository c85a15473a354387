#include "util/fault.hpp"

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace lockstep::fault {

namespace {

struct Point {
  std::string name;
  uint64_t nth = 1;
  bool and_later = false;
  std::atomic<uint64_t> passes{0};
};

struct State {
  std::mutex mutex;  // guards `points` against configure(); hit() only reads
  std::vector<std::unique_ptr<Point>> points;
  std::atomic<bool> any{false};
};

State& state() {
  static State s;
  return s;
}

std::vector<std::unique_ptr<Point>> parse(const std::string& spec) {
  std::vector<std::unique_ptr<Point>> out;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find(',', start), spec.size());
    std::string item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty()) {
      if (end == spec.size()) break;
      continue;
    }
    auto p = std::make_unique<Point>();
    const size_t at = item.find('@');
    p->name = item.substr(0, at);
    if (at != std::string::npos) {
      std::string n = item.substr(at + 1);
      if (!n.empty() && n.back() == '+') {
        p->and_later = true;
        n.pop_back();
      }
      const auto r = std::from_chars(n.data(), n.data() + n.size(), p->nth);
      if (n.empty() || r.ec != std::errc() || r.ptr != n.data() + n.size() || p->nth == 0)
        throw std::invalid_argument("LOCKSTEP_FAULT: '" + item + "': expected POINT, POINT@N or POINT@N+ (N >= 1)");
    }
    if (p->name.empty()) throw std::invalid_argument("LOCKSTEP_FAULT: '" + item + "': no point name");
    out.push_back(std::move(p));
  }
  return out;
}

void load_environment() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("LOCKSTEP_FAULT");
    if (!env || !*env) return;
    State& s = state();
    try {
      s.points = parse(env);
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "lockstep: %s\n", e.what());
      std::exit(2);  // a test that cannot inject its fault must not pass silently
    }
    s.any = !s.points.empty();
  });
}

}  // namespace

bool hit(std::string_view point) {
  load_environment();
  State& s = state();
  if (!s.any.load(std::memory_order_acquire)) return false;
  std::lock_guard<std::mutex> lock(s.mutex);
  for (auto& p : s.points) {
    if (p->name != point) continue;
    const uint64_t pass = ++p->passes;
    return pass == p->nth || (p->and_later && pass > p->nth);
  }
  return false;
}

void configure(const std::string& spec) {
  load_environment();
  auto points = parse(spec);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.points = std::move(points);
  s.any = !s.points.empty();
}

}  // namespace lockstep::fault
