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
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Cumulative counts per bound, then +Inf; sum; count.
  void snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<uint64_t> sum_micros_{0};  // sum * 1e6, to stay lock-free
  std::atomic<uint64_t> count_{0};
};

enum class Kind : uint8_t { kCounter, kGauge, kHistogram };

class Registry {
 public:
  static Registry& global();

  // Declaring the same name twice returns the same metric; REQUIRES: same kind.
  Counter* counter(std::string_view name, std::string_view help);
  Gauge* gauge(std::string_view name, std::string_view help);
  Histogram* histogram(std::string_view name, std::string_view help, std::vector<double> bounds);

  // Labelled families: one label key, at most max_series values.
  Counter* counter(std::string_view name, std::string_view help, std::string_view label_key,
                   std::string_view label_value, size_t max_series = 64);
  Gauge* gauge(std::string_view name, std::string_view help, std::string_view label_key,
               std::string_view label_value, size_t max_series = 64);

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  struct Series;
  struct Metric;
  Metric* find_or_add(std::string_view name, std::string_view help, Kind kind);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Metric>, std::less<>> metrics_;  // GUARDED_BY(mu_)
};

}  // namespace core::metrics
