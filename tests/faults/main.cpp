// The fault tests' main: the environment every test and every CLI child it starts runs in,
// set here rather than by ctest (gtest_discover_tests splits a list-valued ENVIRONMENT
// property, so only its first variable would arrive). A value already in the environment wins.
#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  setenv("LP_NATIVE_VECTOR_WIDTH", "256", 0);
  setenv("LOCKSTEP_VALIDATION", "sync", 0);  // the CLI children too: no validation message allowed
  setenv("LOCKSTEP_CACHE_DIR", LOCKSTEP_FAULT_TEST_CACHE, 0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
