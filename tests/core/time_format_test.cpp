// tests/core/time_format_test.cpp: core/time_format.cpp, table-driven.
#include "core/time_format.h"

#include <gtest/gtest.h>

#include <limits>

namespace core {
namespace {

struct TimeCase {
  std::string_view text;
  int64_t unix_ms;
};

TEST(TimeFormatTest, ParsesRfc3339) {
  const TimeCase cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2026-11-24T09:00:00Z", 1795510800000},
      {"2026-11-24T09:00:00.123Z", 1795510800123},
      {"2026-11-24T09:00:00.1Z", 1795510800100},
      {"2026-11-24T09:00:00.12Z", 1795510800120},
      {"2026-11-24T09:00:00.123456789Z", 1795510800123},  // beyond ms: dropped
      {"2026-11-24t09:00:00z", 1795510800000},
      {"2026-11-24T11:00:00+02:00", 1795510800000},
      {"2026-11-24T11:00:00.500+02:00", 1795510800500},
      {"2026-11-24T03:30:00-05:30", 1795510800000},
      {"2026-11-24T09:00:00-00:00", 1795510800000},
      {"2024-02-29T00:00:00Z", 1709164800000},  // leap year
      {"2000-02-29T00:00:00Z", 951782400000},   // divisible by 400: leap
      {"2016-12-31T23:59:60Z", 1483228800000},  // leap second reads as the next second
      {"1969-12-31T23:59:59.999Z", -1},
      {"1900-01-01T00:00:00Z", -2208988800000},
  };
  for (const auto& c : cases) {
    const auto t = parse_rfc3339(c.text);
    ASSERT_TRUE(t.has_value()) << c.text;
    EXPECT_EQ(to_unix_ms(*t), c.unix_ms) << c.text;
  }
}

TEST(TimeFormatTest, RejectsMalformedTimes) {
  for (std::string_view bad : {
           "",
           "2026-11-24",
           "2026-11-24T09:00:00",   // no offset
           "2026-11-24 09:00:00Z",  // space instead of T
           "2026-11-24T09:00Z",     // no seconds
           "2026-1-24T09:00:00Z",
           "26-11-24T09:00:00Z",
           "2026-11-24T09:00:00.Z",  // empty fraction
           "2026-11-24T09:00:00,5Z",
           "2026-11-24T09:00:00+0200",  // offset needs a colon
           "2026-11-24T09:00:00+02",
           "2026-11-24T09:00:00+24:00",
           "2026-11-24T09:00:00+02:60",
           "2026-11-24T09:00:00Zjunk",
           " 2026-11-24T09:00:00Z",
           "2026-13-01T00:00:00Z",
           "2026-00-01T00:00:00Z",
           "2026-11-00T00:00:00Z",
           "2026-11-31T00:00:00Z",  // November has 30 days
           "2026-02-29T00:00:00Z",  // not a leap year
           "1900-02-29T00:00:00Z",  // divisible by 100: not leap
           "2026-11-24T24:00:00Z",
           "2026-11-24T23:60:00Z",
           "2026-11-24T23:59:61Z",
           "9999-12-31T23:59:59Z",  // beyond what a TimePoint holds
           "0001-01-01T00:00:00Z",
           "2026-11-24T09:00:00\xef\xbc\xba",
       }) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

TEST(TimeFormatTest, FormatsUtcWithMilliseconds) {
  const TimeCase cases[] = {
      {"1970-01-01T00:00:00.000Z", 0},
      {"2026-11-24T09:00:00.000Z", 1795510800000},
      {"2026-11-24T09:00:00.123Z", 1795510800123},
      {"2024-02-29T23:59:59.999Z", 1709251199999},
      {"1969-12-31T23:59:59.999Z", -1},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(format_rfc3339(from_unix_ms(c.unix_ms)), c.text);
    EXPECT_EQ(to_unix_ms(*parse_rfc3339(c.text)), c.unix_ms);
  }
  // Sub-millisecond precision is floored, not rounded.
  EXPECT_EQ(format_rfc3339(from_unix_ms(5) + std::chrono::microseconds(999)),
            "1970-01-01T00:00:00.005Z");
}

struct DurationCase {
  std::string_view text;
  int64_t ms;
  std::string_view canonical;  // what format_duration gives back
};

TEST(TimeFormatTest, ParsesAndFormatsDurations) {
  const DurationCase cases[] = {
      {"0s", 0, "0s"},
      {"0ms", 0, "0s"},
      {"250ms", 250, "250ms"},
      {"90s", 90'000, "1m30s"},
      {"15m", 900'000, "15m"},
      {"24h", 86'400'000, "1d"},
      {"7d", 604'800'000, "7d"},
      {"1h30m", 5'400'000, "1h30m"},
      {"1d2h3m4s5ms", 93'784'005, "1d2h3m4s5ms"},
      {"1500ms", 1500, "1s500ms"},
      {"36h", 129'600'000, "1d12h"},
      {"1m1ms", 60'001, "1m1ms"},
      {"0001s", 1000, "1s"},
      {"106751991167d", 106751991167LL * 86'400'000, "106751991167d"},
  };
  for (const auto& c : cases) {
    const auto d = parse_duration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(d->count(), c.ms) << c.text;
    EXPECT_EQ(format_duration(*d), c.canonical) << c.text;
    EXPECT_EQ(parse_duration(format_duration(*d)), d) << c.text;
  }
}

TEST(TimeFormatTest, RejectsMalformedDurations) {
  for (std::string_view bad : {
           "",
           "90",
           "s",
           "-5s",
           "+5s",
           "1.5h",
           "5 s",
           " 5s",
           "5s ",
           "5S",
           "5sec",
           "5y",
           "5us",
           "30m1h",                  // smallest unit first
           "1m1m",                   // a unit twice
           "1h30",                   // a trailing bare number
           "106751991168d",          // overflows int64 milliseconds
           "99999999999999999999s",  // overflows uint64 before the unit
           "9223372036854775807s",
       }) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(TimeFormatTest, FormatsNegativeAndExtremeDurations) {
  EXPECT_EQ(format_duration(Duration(-90'000)), "-1m30s");
  EXPECT_EQ(format_duration(Duration(std::numeric_limits<int64_t>::min())),
            "-106751991167d7h12m55s808ms");
  EXPECT_EQ(format_duration(Duration(std::numeric_limits<int64_t>::max())),
            "106751991167d7h12m55s807ms");
  EXPECT_EQ(parse_duration("106751991167d7h12m55s807ms"),
            Duration(std::numeric_limits<int64_t>::max()));
  EXPECT_FALSE(parse_duration("106751991167d7h12m55s808ms"));
}

TEST(TimeFormatTest, ParsesSizes) {
  const std::pair<std::string_view, uint64_t> cases[] = {
      {"0", 0},
      {"1024", 1024},
      {"1024B", 1024},
      {"512KiB", 512ull << 10},
      {"64MiB", 64ull << 20},
      {"1GiB", 1ull << 30},
      {"2TiB", 2ull << 40},
      {"10MB", 10'000'000},
      {"1kB", 1000},
      {"1KB", 1000},
      {"3GB", 3'000'000'000},
      {"1TB", 1'000'000'000'000},
      {"18446744073709551615", std::numeric_limits<uint64_t>::max()},
      {"16777215TiB", 16777215ull << 40},
  };
  for (const auto& [text, bytes] : cases) {
    EXPECT_EQ(parse_size(text), std::optional<uint64_t>(bytes)) << text;
  }
  for (std::string_view bad : {"", "MiB", "-1", "1.5GiB", "1 GiB", "1gib", "1Mib", "1K", "1M",
                               "18446744073709551616", "16777216TiB", "1GiB "}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
  }
}

TEST(TimeFormatTest, FormatsSizes) {
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(1000), "1000");
  EXPECT_EQ(format_size(1024), "1KiB");
  EXPECT_EQ(format_size(256ull << 20), "256MiB");
  EXPECT_EQ(format_size(1ull << 40), "1TiB");
  EXPECT_EQ(format_size((1ull << 20) + 1), "1048577");
}

}  // namespace
}  // namespace core
