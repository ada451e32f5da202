// tests/fuzz/fuzz_check.h: the invariant check of every fuzz target. Not
// assert(): it must hold in release builds too (CTest replays the targets
// in the normal RelWithDebInfo build), and it says which invariant failed.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
