// core/metrics.cpp: the registry and the Prometheus text exposition.
//
// Metrics are created under the registry lock and never destroyed, so the
// pointers handed out stay valid for the life of the registry and updates
// need no lock at all. render() takes the lock only to walk the maps; the
// values it reads are relaxed atomics, so a scrape shows each series at some
// recent moment, which is all Prometheus asks.
#include "core/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace core::metrics {
namespace {

constexpr std::string_view kOtherLabel = "_other";

// Declaration mistakes are programming errors, found on first start.
[[noreturn]] void misuse(std::string_view name, std::string_view what) {
  std::fprintf(stderr, "metrics: %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
               static_cast<int>(what.size()), what.data());
  std::abort();
}

bool valid_name(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// HELP text escapes backslash and newline; label values also escape '"'.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::kCounter:
      return "counter";
    case Kind::kGauge:
      return "gauge";
    case Kind::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::erase_if(bounds_, [](double b) { return !std::isfinite(b); });
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) noexcept {
  // lower_bound: first bound >= v, so v == bound counts in that bucket (le).
  // NaN compares false with everything and would land in bucket 0; send it
  // to +Inf instead.
  const size_t i = std::isnan(v)
                       ? bounds_.size()
                       : static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                             bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  if (std::isnan(v)) return;
  // Sum in fixed point: doubles have no atomic add. Two's complement wraps
  // for negative values, and reads back correctly as int64.
  constexpr double kLimit = 9.2e18;
  const double micros = std::clamp(v * 1e6, -kLimit, kLimit);
  sum_micros_.fetch_add(static_cast<uint64_t>(static_cast<int64_t>(std::llround(micros))),
                        std::memory_order_relaxed);
}

void Histogram::snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const {
  cumulative->assign(bounds_.size() + 1, 0);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    (*cumulative)[i] = running;
  }
  *count = running;
  *sum =
      static_cast<double>(static_cast<int64_t>(sum_micros_.load(std::memory_order_relaxed))) / 1e6;
}

// One time series: a metric with one label value, or the metric itself when
// it has no label. Exactly one of the pointers is set, by the metric's kind.
struct Registry::Series {
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;

  explicit Series(Kind kind, std::vector<double> bounds = {}) {
    switch (kind) {
      case Kind::kCounter:
        counter = std::make_unique<Counter>();
        break;
      case Kind::kGauge:
        gauge = std::make_unique<Gauge>();
        break;
      case Kind::kHistogram:
        histogram = std::make_unique<Histogram>(std::move(bounds));
        break;
    }
  }
};

struct Registry::Metric {
  std::string name;
  std::string help;
  Kind kind;
  std::string label_key;          // empty: a single unlabelled series
  size_t max_series = 0;          // labelled only; "_other" comes on top
  std::unique_ptr<Series> plain;  // unlabelled only
  std::map<std::string, std::unique_ptr<Series>, std::less<>> by_label;

  Series* labelled(std::string_view key, std::string_view value, size_t max) {
    if (label_key.empty() && plain) misuse(name, "declared without a label, used with one");
    if (label_key.empty()) {
      if (!valid_name(key, false) || key == "le") misuse(name, "invalid label key");
      label_key = std::string(key);
      max_series = max;
    } else if (label_key != key) {
      misuse(name, "declared with another label key");
    }
    if (auto it = by_label.find(value); it != by_label.end()) return it->second.get();
    // Bounded by construction: a label fed from outside (a domain, a tenant)
    // must not grow the exposition without limit. Beyond max_series real
    // values, everything new shares "_other".
    const size_t real = by_label.size() - by_label.count(kOtherLabel);
    std::string_view chosen = real < max_series ? value : kOtherLabel;
    auto [it, inserted] = by_label.try_emplace(std::string(chosen), nullptr);
    if (inserted) it->second = std::make_unique<Series>(kind);
    return it->second.get();
  }

  Series* unlabelled(std::vector<double> bounds = {}) {
    if (!label_key.empty()) misuse(name, "declared with a label, used without one");
    if (!plain) plain = std::make_unique<Series>(kind, std::move(bounds));
    return plain.get();
  }

  void render(std::string& out) const {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped(out, help, false);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += kind_name(kind);
    out += '\n';
    if (plain) render_series(out, {}, *plain);
    for (const auto& [value, series] : by_label) render_series(out, value, *series);
  }

  // `labels` is the inside of the braces, empty for none.
  void render_series(std::string& out, std::string_view label_value, const Series& s) const {
    std::string labels;
    if (!label_key.empty()) {
      labels = label_key + "=\"";
      append_escaped(labels, label_value, true);
      labels += '"';
    }
    const auto line = [&](std::string_view suffix, std::string_view extra_labels, auto value) {
      out += name;
      out += suffix;
      if (!labels.empty() || !extra_labels.empty()) {
        out += '{';
        out += labels;
        if (!labels.empty() && !extra_labels.empty()) out += ',';
        out += extra_labels;
        out += '}';
      }
      out += ' ';
      if constexpr (std::is_same_v<decltype(value), double>) {
        append_double(out, value);
      } else {
        fmt::format_to(std::back_inserter(out), "{}", value);
      }
      out += '\n';
    };
    switch (kind) {
      case Kind::kCounter:
        line("", "", s.counter->value());
        break;
      case Kind::kGauge:
        line("", "", s.gauge->value());
        break;
      case Kind::kHistogram: {
        std::vector<uint64_t> cumulative;
        double sum;
        uint64_t count;
        s.histogram->snapshot(&cumulative, &sum, &count);
        const auto& bounds = s.histogram->bounds();
        std::string le;
        for (size_t i = 0; i <= bounds.size(); ++i) {
          le = "le=\"";
          if (i < bounds.size()) {
            append_double(le, bounds[i]);
          } else {
            le += "+Inf";
          }
          le += '"';
          line("_bucket", le, cumulative[i]);
        }
        line("_sum", "", sum);
        line("_count", "", count);
        break;
      }
    }
  }
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry& Registry::global() {
  // Never destroyed: modules keep raw pointers into it until exit.
  static Registry* registry = new Registry;
  return *registry;
}

Registry::Metric* Registry::find_or_add(std::string_view name, std::string_view help, Kind kind) {
  if (auto it = metrics_.find(name); it != metrics_.end()) {
    if (it->second->kind != kind) misuse(name, "declared twice with different kinds");
    return it->second.get();
  }
  if (!valid_name(name, true)) misuse(name, "invalid metric name");
  auto m = std::make_unique<Metric>();
  m->name = std::string(name);
  m->help = std::string(help);
  m->kind = kind;
  return metrics_.emplace(m->name, std::move(m)).first->second.get();
}

Counter* Registry::counter(std::string_view name, std::string_view help) {
  std::lock_guard lock(mu_);
  return find_or_add(name, help, Kind::kCounter)->unlabelled()->counter.get();
}

Gauge* Registry::gauge(std::string_view name, std::string_view help) {
  std::lock_guard lock(mu_);
  return find_or_add(name, help, Kind::kGauge)->unlabelled()->gauge.get();
}

Histogram* Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  return find_or_add(name, help, Kind::kHistogram)->unlabelled(std::move(bounds))->histogram.get();
}

Counter* Registry::counter(std::string_view name, std::string_view help, std::string_view label_key,
                           std::string_view label_value, size_t max_series) {
  std::lock_guard lock(mu_);
  return find_or_add(name, help, Kind::kCounter)
      ->labelled(label_key, label_value, max_series)
      ->counter.get();
}

Gauge* Registry::gauge(std::string_view name, std::string_view help, std::string_view label_key,
                       std::string_view label_value, size_t max_series) {
  std::lock_guard lock(mu_);
  return find_or_add(name, help, Kind::kGauge)
      ->labelled(label_key, label_value, max_series)
      ->gauge.get();
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, metric] : metrics_) metric->render(out);
  return out;
}

}  // namespace core::metrics
