// The bounds of the inline 8-bit coverage counters (-fsanitize-coverage, libFuzzer's coverage),
// for keras_h5_fuzz.cpp, which copies the counters of its child process back. The linker names
// the section's bounds __start___sancov_cntrs / __stop___sancov_cntrs; this file is compiled
// without coverage instrumentation (fuzz/CMakeLists.txt) because the coverage pass declares
// those names itself in every file it instruments, and a declaration of ours there makes it
// rename its own (the counters then never reach libFuzzer). Weak: the replay build, without
// coverage, has no such section and gets null.
#include <cstdint>

extern "C" {
__attribute__((weak)) extern uint8_t __start___sancov_cntrs[];
__attribute__((weak)) extern uint8_t __stop___sancov_cntrs[];
}

namespace lockstep::fuzz {

uint8_t* coverage_counters_begin() { return __start___sancov_cntrs; }
uint8_t* coverage_counters_end() { return __stop___sancov_cntrs; }

}  // namespace lockstep::fuzz
