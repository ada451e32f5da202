// templating/date_format.h: calendar arithmetic and the strftime-like
// formats of the `date` filter (private to templating/).
//
// Directives: %Y %m %d %H %M %S %y %e %j %Z %z %% and the localized names
// %B %b %A %a (uk, ru, en). A "-" after the "%" drops the padding of a
// numeric field ("%-d" gives "5", "%e" gives " 5"). In uk and ru, %B is the
// genitive ("23 листопада") when the format also contains a day of the
// month (%d, %e), and the nominative ("листопад 2026") otherwise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "templating/plural.h"

namespace templating::lang {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// algorithm). month 1..12, day 1..31.
constexpr int64_t days_from_civil(int64_t y, int m, int d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
constexpr bool is_leap_year(int64_t y) noexcept { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }
constexpr int days_in_month(int64_t y, int m) noexcept {
  constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return (m == 2 && is_leap_year(y)) ? 29 : kDays[m - 1];
}
// 0 = Sunday.
constexpr int weekday_from_days(int64_t days) noexcept {
  int64_t w = (days + 4) % 7;
  return int(w < 0 ? w + 7 : w);
}
constexpr int64_t floor_div(int64_t a, int64_t b) noexcept {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// The instants the `date` filter accepts: years 0001..9999.
inline constexpr int64_t kMinDateSeconds = -62135596800;  // 0001-01-01T00:00:00Z
inline constexpr int64_t kMaxDateSeconds = 253402300799;  // 9999-12-31T23:59:59Z

struct CivilTime {
  int64_t year = 1970;
  int month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int yday = 1;  // 1..366
  int wday = 4;  // 0 = Sunday
  int32_t utc_offset = 0;
  std::string_view abbreviation;
};

// The local calendar time of an instant at a fixed UTC offset.
// REQUIRES: kMinDateSeconds <= unix_seconds <= kMaxDateSeconds.
CivilTime civil_time(int64_t unix_seconds, int32_t utc_offset, std::string_view abbreviation) noexcept;

// Compile-time check of a format: nullopt when fine, else the reason
// ("unknown directive '%Q'", "'%' at the end of the format").
std::optional<std::string> check_date_format(std::string_view format);

// REQUIRES: check_date_format(format) is nullopt.
void append_date(std::string& out, std::string_view format, const CivilTime& t, Locale l);

}  // namespace templating::lang
