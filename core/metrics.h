// core/metrics.h: the process-wide metrics registry (Prometheus text format).
//
// Each module declares its metrics once (in <module>/metrics.h) and keeps the
// returned pointers; the registry owns them for the life of the process.
// Updates are lock-free atomics, safe from any thread, and cost a few
// nanoseconds, so they may sit on the hot path. Labels are bounded by
// construction: a family refuses new label values beyond `max_series` and
// counts them under the value "_other" instead (never label by recipient).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace core::metrics {

class Counter {
 public:
  void inc(uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void set(int64_t v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Fixed buckets chosen at declaration (upper bounds, seconds or bytes).
// A value v lands in the first bucket with v <= bound (Prometheus `le`).
// The sum is kept in millionths, so it is exact to 1e-6 and holds up to
// about 9.2e12 in total; NaN is counted (in +Inf) but not summed.
class Histogram {
 public:
  // Non-finite bounds are dropped; the rest are sorted and de-duplicated.
  explicit Histogram(std::vector<double> bounds);
  // Lock-free: two relaxed atomic adds and a binary search.
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Cumulative counts per bound, then +Inf; sum; count (== the +Inf count,
  // so a snapshot is always self-consistent).
  void snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<uint64_t> sum_micros_{0};  // sum * 1e6 as two's complement, to stay lock-free
};

enum class Kind : uint8_t { kCounter, kGauge, kHistogram };

// Thread-safe. A local Registry (tests) owns its metrics like global() does.
class Registry {
 public:
  static Registry& global();

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Declaring the same name twice returns the same metric; REQUIRES: same kind.
  Counter* counter(std::string_view name, std::string_view help);
  Gauge* gauge(std::string_view name, std::string_view help);
  Histogram* histogram(std::string_view name, std::string_view help, std::vector<double> bounds);

  // Labelled families: one label key, at most max_series values; any further
  // value is counted under "_other". Takes the registry lock: look a series
  // up once and keep the pointer, do not call this per event.
  Counter* counter(std::string_view name, std::string_view help, std::string_view label_key,
                   std::string_view label_value, size_t max_series = 64);
  Gauge* gauge(std::string_view name, std::string_view help, std::string_view label_key,
               std::string_view label_value, size_t max_series = 64);

  // Prometheus text exposition format 0.0.4, metrics sorted by name, series
  // by label value. Safe to call while other threads update the metrics.
  std::string render() const;

  // Declaring a name again with another kind, or another label key, or once
  // with and once without a label, is a programming error: it aborts.

 private:
  struct Series;
  struct Metric;
  Metric* find_or_add(std::string_view name, std::string_view help, Kind kind);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Metric>, std::less<>> metrics_;  // GUARDED_BY(mu_)
};

}  // namespace core::metrics
