// core/time_format.cpp: RFC 3339 times, durations and sizes as text.
//
// Every parser here is strict on purpose: a config value or API field that is
// almost right ("90", "1.5h", "2026-02-30") is refused rather than guessed,
// and each arithmetic step is overflow-checked, because these strings come
// from users and clients.
#include "core/time_format.h"

#include <fmt/format.h>

#include <chrono>
#include <limits>

namespace core {
namespace {

using std::chrono::days;
using std::chrono::milliseconds;

// Reads exactly n decimal digits at s[pos...]; advances pos.
bool read_digits(std::string_view s, size_t& pos, size_t n, int* out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  *out = v;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) noexcept {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

// TimePoint counts nanoseconds in 64 bits (about 1678..2262); RFC 3339 years
// run 0000..9999. Refuse what TimePoint cannot hold instead of wrapping.
constexpr int64_t kMinMs =
    std::chrono::duration_cast<milliseconds>(TimePoint::min().time_since_epoch()).count() + 1;
constexpr int64_t kMaxMs =
    std::chrono::duration_cast<milliseconds>(TimePoint::max().time_since_epoch()).count() - 1;

// Parses one unsigned decimal number; false on no digits or overflow.
bool read_u64(std::string_view s, size_t& pos, uint64_t* out) noexcept {
  const size_t start = pos;
  uint64_t v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (__builtin_mul_overflow(v, 10u, &v) ||
        __builtin_add_overflow(v, static_cast<uint64_t>(s[pos] - '0'), &v)) {
      return false;
    }
    ++pos;
  }
  *out = v;
  return pos > start;
}

}  // namespace

std::optional<TimePoint> parse_rfc3339(std::string_view s) noexcept {
  // full-date "T" partial-time time-offset, RFC 3339 section 5.6.
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!read_digits(s, pos, 4, &year) || !expect(s, pos, '-') || !read_digits(s, pos, 2, &month) ||
      !expect(s, pos, '-') || !read_digits(s, pos, 2, &day)) {
    return std::nullopt;
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't')) return std::nullopt;
  ++pos;
  if (!read_digits(s, pos, 2, &hour) || !expect(s, pos, ':') || !read_digits(s, pos, 2, &minute) ||
      !expect(s, pos, ':') || !read_digits(s, pos, 2, &second)) {
    return std::nullopt;
  }
  // Milliseconds are all a TimePoint means here (clock.h); further digits are
  // accepted and dropped, as every stored time is whole milliseconds anyway.
  int64_t frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 3) frac_ms = frac_ms * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == start) return std::nullopt;
    for (size_t n = pos - start; n < 3; ++n) frac_ms *= 10;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!read_digits(s, pos, 2, &oh) || !expect(s, pos, ':') || !read_digits(s, pos, 2, &om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;

  // A leap second (23:59:60) is allowed by RFC 3339; like POSIX time we let
  // it read as the first second of the next minute.
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{year},
                                        std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;  // month 1..12, day within that month (leap years)

  const int64_t day_number = std::chrono::sys_days(ymd).time_since_epoch().count();
  const int64_t seconds =
      day_number * 86400 + hour * 3600 + minute * 60 + second - int64_t{offset_minutes} * 60;
  const int64_t ms = seconds * 1000 + frac_ms;  // |ms| < 2^49: no overflow possible
  if (ms < kMinMs || ms > kMaxMs) return std::nullopt;
  return from_unix_ms(ms);
}

std::string format_rfc3339(TimePoint t) {
  const auto ms = std::chrono::floor<milliseconds>(t);
  const auto day_start = std::chrono::floor<days>(ms);
  const std::chrono::year_month_day ymd{day_start};
  const int64_t in_day = (ms - day_start).count();
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     in_day / 3'600'000, in_day / 60'000 % 60, in_day / 1000 % 60, in_day % 1000);
}

namespace {

struct DurationUnit {
  std::string_view suffix;
  int64_t ms;
};
// Largest first: that is the order a sum must be written in ("1h30m", not
// "30m1h"), and the order format_duration emits. "ms" precedes "m" so that
// the longer suffix wins when matching.
constexpr DurationUnit kDurationUnits[] = {
    {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1},
};

}  // namespace

std::optional<Duration> parse_duration(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  size_t pos = 0;
  int64_t total = 0;
  size_t next_unit = 0;  // units must appear largest first, each at most once
  while (pos < s.size()) {
    uint64_t n;
    if (!read_u64(s, pos, &n)) return std::nullopt;
    size_t unit = std::size(kDurationUnits);
    if (s.substr(pos, 2) == "ms") {
      unit = 4;
    } else if (pos < s.size()) {
      for (size_t u = 0; u < 4; ++u) {
        if (s[pos] == kDurationUnits[u].suffix[0]) unit = u;
      }
    }
    if (unit == std::size(kDurationUnits) || unit < next_unit) return std::nullopt;
    pos += kDurationUnits[unit].suffix.size();
    next_unit = unit + 1;
    int64_t part;
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        __builtin_mul_overflow(static_cast<int64_t>(n), kDurationUnits[unit].ms, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return std::nullopt;
    }
  }
  return Duration(total);
}

std::string format_duration(Duration d) {
  int64_t v = d.count();
  if (v == 0) return "0s";
  std::string out;
  uint64_t rest;
  if (v < 0) {
    out += '-';
    rest = static_cast<uint64_t>(0) - static_cast<uint64_t>(v);
  } else {
    rest = static_cast<uint64_t>(v);
  }
  for (const auto& u : kDurationUnits) {
    const auto unit_ms = static_cast<uint64_t>(u.ms);
    if (rest >= unit_ms) {
      fmt::format_to(std::back_inserter(out), "{}{}", rest / unit_ms, u.suffix);
      rest %= unit_ms;
    }
  }
  return out;
}

std::optional<uint64_t> parse_size(std::string_view s) noexcept {
  struct SizeUnit {
    std::string_view suffix;
    uint64_t factor;
  };
  static constexpr SizeUnit kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
      {"TiB", uint64_t{1} << 40},
      {"kB", 1000},
      {"KB", 1000},
      {"MB", 1000'000},
      {"GB", 1000'000'000},
      {"TB", 1000'000'000'000},
  };
  size_t pos = 0;
  uint64_t n;
  if (!read_u64(s, pos, &n)) return std::nullopt;
  const std::string_view suffix = s.substr(pos);
  for (const auto& u : kUnits) {
    if (suffix == u.suffix) {
      uint64_t bytes;
      if (__builtin_mul_overflow(n, u.factor, &bytes)) return std::nullopt;
      return bytes;
    }
  }
  return std::nullopt;
}

std::string format_size(uint64_t bytes) {
  static constexpr std::pair<std::string_view, int> kBinary[] = {
      {"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}};
  for (const auto& [suffix, shift] : kBinary) {
    const uint64_t unit = uint64_t{1} << shift;
    if (bytes >= unit && bytes % unit == 0) return fmt::format("{}{}", bytes / unit, suffix);
  }
  return fmt::format("{}", bytes);
}

}  // namespace core
