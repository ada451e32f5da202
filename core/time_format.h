// core/time_format.h: RFC 3339 times and "90s"/"24h" durations, as the API
// and the config speak them. Pure functions; no allocation on parse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace core {

// "2026-11-24T09:00:00Z", "2026-11-24T09:00:00.123+02:00". Accepts any
// offset, 't'/'z' in lower case and fractional seconds (kept to the
// millisecond, further digits dropped); checks every field's range including
// days per month and leap years; 23:59:60 reads as the next second. Returns
// nullopt on anything else, and on times a TimePoint cannot hold (before
// 1678 or after 2261).
std::optional<TimePoint> parse_rfc3339(std::string_view s) noexcept;
// Always UTC with millisecond precision: "2026-11-24T09:00:00.000Z".
std::string format_rfc3339(TimePoint t);

// "250ms", "90s", "15m", "24h", "7d", and sums such as "1h30m" (largest unit
// first, each unit once). A bare number is refused (the unit must be
// explicit). Negative values, spaces, fractions and overflow are refused.
std::optional<Duration> parse_duration(std::string_view s) noexcept;
// The shortest exact form: "5m", "1h30m", "250ms", "0s". Each unit is as
// large as it can be ("1d", not "24h"); parse_duration reads it back.
std::string format_duration(Duration d);

// "64MiB", "1GiB", "512KiB", "1024" or "1024B" (bytes); also "kB"/"KB",
// "MB", "GB", "TB" as powers of 10. Units are case-sensitive; no spaces;
// nullopt on overflow of 64 bits.
std::optional<uint64_t> parse_size(std::string_view s) noexcept;
// "64MiB" when exact in a binary unit, else the number of bytes: "1000".
std::string format_size(uint64_t bytes);

}  // namespace core
