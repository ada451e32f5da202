// core/clock.cpp
#include "core/clock.h"

namespace core {

SystemClock& SystemClock::instance() noexcept {
  // Stateless, so one shared instance is enough; a function-local static is
  // initialised thread-safely on first use.
  static SystemClock clock;
  return clock;
}

}  // namespace core
