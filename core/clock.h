// core/clock.h: the injectable clock (STYLE.md R2).
//
// Every component that compares times (due dates, leases, retries, expiry)
// reads a Clock passed in at construction, so tests can drive days of retry
// schedule in microseconds. Time is wall-clock UTC with millisecond meaning;
// persisted times are milliseconds since the Unix epoch.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace core {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::milliseconds;

inline int64_t to_unix_ms(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline TimePoint from_unix_ms(int64_t ms) noexcept {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

// Thread-safe: now() may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const noexcept = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const noexcept override { return std::chrono::system_clock::now(); }
  static SystemClock& instance() noexcept;
};

// A clock that moves only when told to. For tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = from_unix_ms(1'790'000'000'000)) noexcept
      : ms_(to_unix_ms(start)) {}
  TimePoint now() const noexcept override { return from_unix_ms(ms_.load()); }
  void advance(Duration d) noexcept { ms_.fetch_add(d.count()); }
  void set(TimePoint t) noexcept { ms_.store(to_unix_ms(t)); }

 private:
  std::atomic<int64_t> ms_;
};

}  // namespace core
