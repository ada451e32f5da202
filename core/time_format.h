// core/time_format.h: RFC 3339 times and "90s"/"24h" durations, as the API
// and the config speak them. Pure functions; no allocation on parse.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace core {

// "2026-11-24T09:00:00Z", "2026-11-24T09:00:00.123+02:00". Accepts any
// offset and fractional seconds; returns nullopt on anything else.
std::optional<TimePoint> parse_rfc3339(std::string_view s) noexcept;
// Always UTC with millisecond precision: "2026-11-24T09:00:00.000Z".
std::string format_rfc3339(TimePoint t);

// "250ms", "90s", "15m", "24h", "7d", and sums such as "1h30m". A bare
// number is refused (the unit must be explicit). Negative values refused.
std::optional<Duration> parse_duration(std::string_view s) noexcept;
// The shortest exact form: "5m", "1h30m", "250ms", "0s".
std::string format_duration(Duration d);

// "64MiB", "1GiB", "512KiB", "1024" (bytes), also "MB"/"GB" as powers of 10.
std::optional<uint64_t> parse_size(std::string_view s) noexcept;

}  // namespace core
