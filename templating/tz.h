// templating/tz.h: IANA time zones for the `date` filter (private to
// templating/).
//
// A Zone is parsed from a TZif file (RFC 8536, versions 1 to 4) and answers
// "what is the UTC offset and abbreviation at this instant". Instants after
// the last transition in the file use the POSIX TZ rule in the file's
// footer, so "slim" files (Debian's default since tzdata 2020b) work for
// every future year. Leap-second records are skipped: our clock is POSIX
// time. Zones are immutable and shared; find_zone() loads each one once per
// process and is safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace templating::lang {

// A POSIX TZ string such as "EET-2EEST,M3.5.0/3,M10.5.0/4" (POSIX.1-2017
// 8.3, with RFC 8536's extension of rule times to -167..167 hours). Offsets
// here are seconds *east* of UTC, the opposite sign of the string.
struct PosixTz {
  struct Rule {
    enum class Kind : uint8_t { kJulian1, kJulian0, kMonthWeekDay };
    Kind kind = Kind::kMonthWeekDay;
    int16_t day = 0;    // Jn: 1..365; n: 0..365; M: weekday 0..6 (Sunday 0)
    int8_t month = 0;   // M: 1..12
    int8_t week = 0;    // M: 1..5 (5 = the last)
    int32_t time = 7200;  // local seconds after midnight, -167h..167h
  };
  std::string std_abbr;
  std::string dst_abbr;  // empty: no daylight saving time
  int32_t std_offset = 0;
  int32_t dst_offset = 0;
  Rule start, end;
};

// Pure; nullopt when `s` is not a valid TZ string.
std::optional<PosixTz> parse_posix_tz(std::string_view s);

class Zone {
 public:
  struct Local {
    int32_t utc_offset;             // seconds east of UTC
    bool is_dst;
    std::string_view abbreviation;  // "EEST"; valid while the Zone lives
  };

  // Parses a whole TZif file. Pure: never reads outside `bytes`, never
  // throws; nullopt when the bytes are not a well-formed TZif file.
  static std::optional<Zone> parse(std::span<const std::byte> bytes);
  static Zone utc();

  Local at(int64_t unix_seconds) const noexcept;

 private:
  struct Type {
    int32_t utc_offset;
    bool is_dst;
    std::string abbreviation;
  };
  Local from_footer(int64_t t) const noexcept;

  std::vector<int64_t> transitions_;
  std::vector<uint8_t> transition_types_;
  std::vector<Type> types_;
  std::optional<PosixTz> footer_;
};

// "Europe/Kyiv": letters, digits and "_+-." in "/"-separated parts, none
// of them empty, "." or ".."; no leading "/"; at most 128 bytes.
bool is_valid_zone_name(std::string_view name) noexcept;

// The zone from $TZDIR (default /usr/share/zoneinfo)/<name>, loaded once
// and cached process-wide; "UTC" is built in. nullptr when the name is
// invalid, the file is missing or it does not parse. Thread-safe.
std::shared_ptr<const Zone> find_zone(std::string_view name);

}  // namespace templating::lang
