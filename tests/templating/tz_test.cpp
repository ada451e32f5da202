// tests/templating/tz_test.cpp: the TZif reader and POSIX TZ rules
// (templating/tz.h). The real zones are checked against glibc's own
// reader (localtime_r) at thousands of instants; the parser's robustness
// against every truncation and random corruption of real files.
#include "templating/tz.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using templating::lang::find_zone;
using templating::lang::is_valid_zone_name;
using templating::lang::parse_posix_tz;
using templating::lang::PosixTz;
using templating::lang::Zone;

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  for (size_t i = 0; i < c.size(); ++i) b[i] = std::byte(c[i]);
  return b;
}

// Builds a TZif file: version '2' (a v1 block with no data, then the
// 64-bit block) or version 0 (32-bit block only).
struct TzifSpec {
  char version = '2';
  std::vector<int64_t> times;
  std::vector<uint8_t> indices;
  struct T {
    int32_t off;
    uint8_t dst;
    uint8_t idx;
  };
  std::vector<T> types;
  std::string chars;
  std::string footer;
};

void put32(std::vector<std::byte>& b, uint32_t v) {
  for (int i = 3; i >= 0; --i) b.push_back(std::byte((v >> (8 * i)) & 0xFF));
}
void put64(std::vector<std::byte>& b, uint64_t v) {
  for (int i = 7; i >= 0; --i) b.push_back(std::byte((v >> (8 * i)) & 0xFF));
}
void header(std::vector<std::byte>& b, char version, uint32_t timecnt, uint32_t typecnt, uint32_t charcnt) {
  for (char c : std::string("TZif")) b.push_back(std::byte(c));
  b.push_back(std::byte(version));
  for (int i = 0; i < 15; ++i) b.push_back(std::byte{0});
  put32(b, 0);  // isutcnt
  put32(b, 0);  // isstdcnt
  put32(b, 0);  // leapcnt
  put32(b, timecnt);
  put32(b, typecnt);
  put32(b, charcnt);
}
std::vector<std::byte> build(const TzifSpec& s) {
  std::vector<std::byte> b;
  auto data = [&](bool wide) {
    for (int64_t t : s.times) wide ? put64(b, uint64_t(t)) : put32(b, uint32_t(int32_t(t)));
    for (uint8_t i : s.indices) b.push_back(std::byte(i));
    for (const auto& t : s.types) {
      put32(b, uint32_t(t.off));
      b.push_back(std::byte(t.dst));
      b.push_back(std::byte(t.idx));
    }
    for (char c : s.chars) b.push_back(std::byte(c));
  };
  if (s.version == 0) {
    header(b, 0, uint32_t(s.times.size()), uint32_t(s.types.size()), uint32_t(s.chars.size()));
    data(false);
    return b;
  }
  // A minimal v1 block: one type, one char.
  header(b, s.version, 0, 1, 1);
  put32(b, 0);
  b.push_back(std::byte{0});
  b.push_back(std::byte{0});
  b.push_back(std::byte{0});
  header(b, s.version, uint32_t(s.times.size()), uint32_t(s.types.size()), uint32_t(s.chars.size()));
  data(true);
  b.push_back(std::byte{'\n'});
  for (char c : s.footer) b.push_back(std::byte(c));
  b.push_back(std::byte{'\n'});
  return b;
}

TzifSpec simple_spec() {
  TzifSpec s;
  s.times = {1000, 2000};
  s.indices = {1, 0};
  s.types = {{3600, 0, 0}, {7200, 1, 4}};
  s.chars = std::string("AAA\0BBB\0", 8);
  s.footer = "CCC-3";
  return s;
}

TEST(PosixTz, Parses) {
  auto kyiv = parse_posix_tz("EET-2EEST,M3.5.0/3,M10.5.0/4");
  ASSERT_TRUE(kyiv);
  EXPECT_EQ(kyiv->std_abbr, "EET");
  EXPECT_EQ(kyiv->std_offset, 7200);
  EXPECT_EQ(kyiv->dst_abbr, "EEST");
  EXPECT_EQ(kyiv->dst_offset, 10800);
  EXPECT_EQ(kyiv->start.month, 3);
  EXPECT_EQ(kyiv->start.week, 5);
  EXPECT_EQ(kyiv->start.day, 0);
  EXPECT_EQ(kyiv->start.time, 3 * 3600);
  EXPECT_EQ(kyiv->end.time, 4 * 3600);

  auto plus3 = parse_posix_tz("<+03>-3");
  ASSERT_TRUE(plus3);
  EXPECT_EQ(plus3->std_abbr, "+03");
  EXPECT_EQ(plus3->std_offset, 10800);
  EXPECT_TRUE(plus3->dst_abbr.empty());

  auto ny = parse_posix_tz("EST5EDT");  // no rule: the US rules
  ASSERT_TRUE(ny);
  EXPECT_EQ(ny->std_offset, -18000);
  EXPECT_EQ(ny->dst_offset, -14400);
  EXPECT_EQ(ny->start.month, 3);
  EXPECT_EQ(ny->end.month, 11);

  auto india = parse_posix_tz("IST-5:30");
  ASSERT_TRUE(india);
  EXPECT_EQ(india->std_offset, 19800);

  auto nuuk = parse_posix_tz("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
  ASSERT_TRUE(nuuk);
  EXPECT_EQ(nuuk->start.time, -3600);

  auto israel = parse_posix_tz("IST-2IDT,M3.4.4/26,M10.5.0");
  ASSERT_TRUE(israel);
  EXPECT_EQ(israel->start.time, 26 * 3600);

  auto julian = parse_posix_tz("EST5EDT4,0/0,J365/25");
  ASSERT_TRUE(julian);
  EXPECT_EQ(julian->start.kind, PosixTz::Rule::Kind::kJulian0);
  EXPECT_EQ(julian->end.kind, PosixTz::Rule::Kind::kJulian1);
  EXPECT_EQ(julian->end.time, 25 * 3600);

  for (const char* bad : {"", "E-2", "EET", "EET-", "EET-2EEST,M13.1.0,M10.5.0", "EET-2EEST,M3.6.0,M10.5.0",
                          "EET-2EEST,M3.5.7,M10.5.0", "EET-2EEST,M3.5.0/168,M10.5.0", "EET-25",
                          "<AB>0", "<+03-3", "EET-2EEST,M3.5.0", "EET-2EEST,M3.5.0,M10.5.0,", "EET-2:60",
                          "EET-2EEST,J0,J365", "EET-2EEST,366,J365", "EET-2x"}) {
    EXPECT_FALSE(parse_posix_tz(bad)) << bad;
  }
}

TEST(Zone, TransitionsAndFooter) {
  auto z = Zone::parse(build(simple_spec()));
  ASSERT_TRUE(z);
  auto at = [&](int64_t t) {
    auto l = z->at(t);
    return std::to_string(l.utc_offset) + (l.is_dst ? "D" : "S") + std::string(l.abbreviation);
  };
  EXPECT_EQ(at(-100000), "3600SAAA");  // before the first transition: type 0
  EXPECT_EQ(at(999), "3600SAAA");
  EXPECT_EQ(at(1000), "7200DBBB");
  EXPECT_EQ(at(1999), "7200DBBB");
  EXPECT_EQ(at(2000), "10800SCCC");  // from the last transition on: the footer
  EXPECT_EQ(at(int64_t(1) << 40), "10800SCCC");

  TzifSpec no_footer = simple_spec();
  no_footer.footer.clear();
  auto nf = Zone::parse(build(no_footer));
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->at(5000).utc_offset, 3600);  // the last transition's type

  TzifSpec v1 = simple_spec();
  v1.version = 0;
  auto z1 = Zone::parse(build(v1));
  ASSERT_TRUE(z1);
  EXPECT_EQ(z1->at(1500).utc_offset, 7200);
  EXPECT_EQ(z1->at(5000).utc_offset, 3600);

  TzifSpec permanent_dst;
  permanent_dst.types = {{-18000, 0, 0}};
  permanent_dst.chars = std::string("EST\0", 4);
  permanent_dst.footer = "EST5EDT4,0/0,J365/25";
  auto pd = Zone::parse(build(permanent_dst));
  ASSERT_TRUE(pd);
  EXPECT_EQ(pd->at(1783180800).utc_offset, -14400);  // 2026-07-04
  EXPECT_EQ(pd->at(1767244200).utc_offset, -14400);  // 2026-01-01T05:10Z
  EXPECT_EQ(pd->at(1798759800).utc_offset, -14400);  // 2026-12-31T23:30Z
}

TEST(Zone, RejectsMalformedFiles) {
  auto broken = [](auto mutate) {
    TzifSpec s = simple_spec();
    mutate(s);
    return !Zone::parse(build(s)).has_value();
  };
  EXPECT_TRUE(broken([](TzifSpec& s) { s.indices = {1, 2}; }));            // type index out of range
  EXPECT_TRUE(broken([](TzifSpec& s) { s.types[1].idx = 8; }));            // abbreviation out of range
  EXPECT_TRUE(broken([](TzifSpec& s) { s.chars = "AAAABBBB"; }));          // no NUL
  EXPECT_TRUE(broken([](TzifSpec& s) { s.times = {2000, 1000}; }));        // not ascending
  EXPECT_TRUE(broken([](TzifSpec& s) { s.types[0].off = INT32_MIN; }));    // RFC 8536 forbids
  EXPECT_TRUE(broken([](TzifSpec& s) { s.types[0].dst = 2; }));
  EXPECT_TRUE(broken([](TzifSpec& s) { s.footer = "not a rule"; }));
  EXPECT_TRUE(broken([](TzifSpec& s) { s.version = '5'; }));
  EXPECT_TRUE(broken([](TzifSpec& s) {
    s.types.clear();
    s.indices = {};
    s.times = {};
  }));

  std::vector<std::byte> huge;
  header(huge, '2', 0xFFFFFFFFu, 1, 1);
  EXPECT_FALSE(Zone::parse(huge));
  EXPECT_FALSE(Zone::parse({}));

  // Every truncation of a good file fails cleanly (the last byte is the
  // footer's newline, so only the whole file parses).
  std::vector<std::byte> good = build(simple_spec());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(Zone::parse(std::span<const std::byte>(good.data(), n))) << n;
  }
}

TEST(Zone, SurvivesCorruptionOfRealFiles) {
  for (const char* name : {"Europe/Kyiv", "America/New_York"}) {
    std::vector<std::byte> real = read_file("/usr/share/zoneinfo/" + std::string(name));
    ASSERT_FALSE(real.empty()) << "tzdata is a dependency (scripts/install-deps.sh)";
    ASSERT_TRUE(Zone::parse(real)) << name;
    for (size_t n = 0; n < real.size(); ++n) {
      auto z = Zone::parse(std::span<const std::byte>(real.data(), n));
      if (z) z->at(1795428000);
    }
    std::mt19937 rng(42);
    for (int i = 0; i < 3000; ++i) {
      std::vector<std::byte> m = real;
      int flips = 1 + int(rng() % 4);
      for (int k = 0; k < flips; ++k) m[rng() % m.size()] = std::byte(rng() & 0xFF);
      auto z = Zone::parse(m);
      if (!z) continue;
      for (int64_t t : {int64_t(-1) << 40, int64_t(0), int64_t(1795428000), int64_t(1) << 40}) z->at(t);
    }
  }
}

// glibc's reader is an independent implementation of the same format.
TEST(Zone, AgreesWithGlibc) {
  const char* old_tz = std::getenv("TZ");
  std::string saved = old_tz ? old_tz : "";
  std::mt19937_64 rng(7);
  for (const char* name : {"Europe/Kyiv", "America/New_York", "Australia/Sydney", "Europe/Dublin",
                           "America/Sao_Paulo", "Pacific/Chatham", "Asia/Tehran", "Africa/Casablanca",
                           "America/Nuuk", "Asia/Jerusalem", "Europe/Moscow", "Asia/Kolkata"}) {
    auto z = find_zone(name);
    ASSERT_TRUE(z) << name;
    setenv("TZ", (std::string(":") + name).c_str(), 1);
    tzset();
    int mismatches = 0;
    // 1902..2037 and 2037..2100 (beyond the tables: footer rules).
    for (int i = 0; i < 4000; ++i) {
      int64_t t = int64_t(rng() % uint64_t(6'300'000'000)) - 2'100'000'000;
      time_t tt = time_t(t);
      std::tm tm{};
      localtime_r(&tt, &tm);
      auto l = z->at(t);
      if (l.utc_offset != tm.tm_gmtoff || l.abbreviation != tm.tm_zone || l.is_dst != (tm.tm_isdst > 0)) {
        if (++mismatches < 5) {
          ADD_FAILURE() << name << " at " << t << ": ours " << l.utc_offset << " " << l.abbreviation
                        << " glibc " << tm.tm_gmtoff << " " << tm.tm_zone;
        }
      }
    }
    EXPECT_EQ(mismatches, 0) << name;
  }
  if (old_tz) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

TEST(Zone, NamesAndCache) {
  for (const char* ok : {"Europe/Kyiv", "UTC", "Etc/GMT+3", "America/Argentina/Buenos_Aires", "EST5EDT",
                         "America/Port-au-Prince"}) {
    EXPECT_TRUE(is_valid_zone_name(ok)) << ok;
  }
  for (const char* bad : {"", "/etc/passwd", "../etc/passwd", "Europe/../../x", "Europe//Kyiv", "Europe/",
                          "./x", "a b", "Europe/Kyiv\n", "Європа/Київ", "x\\y"}) {
    EXPECT_FALSE(is_valid_zone_name(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_zone_name(std::string(129, 'a')));
  auto a = find_zone("Europe/Kyiv");
  auto b = find_zone("Europe/Kyiv");
  ASSERT_TRUE(a);
  EXPECT_EQ(a.get(), b.get());  // loaded once
  EXPECT_FALSE(find_zone("Nowhere/Land"));
  EXPECT_FALSE(find_zone("Nowhere/Land"));  // remembered
  EXPECT_FALSE(find_zone("Europe"));        // a directory
  EXPECT_FALSE(find_zone("../../etc/passwd"));
  auto utc = find_zone("UTC");
  ASSERT_TRUE(utc);
  EXPECT_EQ(utc->at(0).abbreviation, "UTC");
}

TEST(Zone, HonoursTzdir) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("vestnik_tzdir_" + std::to_string(::getpid()));
  fs::create_directories(dir / "Test");
  TzifSpec s;
  s.types = {{19800, 0, 0}};
  s.chars = std::string("IST\0", 4);
  s.footer = "IST-5:30";
  auto bytes = build(s);
  std::ofstream(dir / "Test" / "Zone", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  const char* old = std::getenv("TZDIR");
  std::string saved = old ? old : "";
  setenv("TZDIR", dir.c_str(), 1);
  auto z = find_zone("Test/Zone");
  if (old) {
    setenv("TZDIR", saved.c_str(), 1);
  } else {
    unsetenv("TZDIR");
  }
  fs::remove_all(dir);
  ASSERT_TRUE(z);
  EXPECT_EQ(z->at(1795428000).utc_offset, 19800);
  EXPECT_EQ(z->at(1795428000).abbreviation, "IST");
}

}  // namespace
