// templating/tz.cpp: see tz.h.
//
// The TZif parser reads through a bounds-checked cursor: every read asks
// for n bytes and fails, rather than reads, when fewer remain. Counts from
// the header are 32-bit and their products are computed in 64 bits before
// they are compared with what is left, so a hostile header cannot make us
// allocate or read more than the file holds.
#include "templating/tz.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#include "templating/date_format.h"

namespace templating::lang {

namespace {

class Cursor {
 public:
  explicit Cursor(std::span<const std::byte> b) : b_(b) {}
  size_t left() const noexcept { return b_.size() - pos_; }
  size_t pos() const noexcept { return pos_; }
  bool skip(uint64_t n) noexcept {
    if (n > left()) return false;
    pos_ += size_t(n);
    return true;
  }
  bool u8(uint8_t* v) noexcept {
    if (left() < 1) return false;
    *v = uint8_t(b_[pos_++]);
    return true;
  }
  bool be32(uint32_t* v) noexcept {
    if (left() < 4) return false;
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) r = (r << 8) | uint8_t(b_[pos_++]);
    *v = r;
    return true;
  }
  bool be64(uint64_t* v) noexcept {
    if (left() < 8) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r = (r << 8) | uint8_t(b_[pos_++]);
    *v = r;
    return true;
  }
  const std::byte* here() const noexcept { return b_.data() + pos_; }

 private:
  std::span<const std::byte> b_;
  size_t pos_ = 0;
};

struct Header {
  char version = 0;
  uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

bool read_header(Cursor& c, Header* h) {
  if (c.left() < 44) return false;
  const std::byte* p = c.here();
  if (char(p[0]) != 'T' || char(p[1]) != 'Z' || char(p[2]) != 'i' || char(p[3]) != 'f') return false;
  h->version = char(p[4]);
  if (h->version != 0 && (h->version < '2' || h->version > '4')) return false;
  c.skip(20);
  c.be32(&h->isutcnt);
  c.be32(&h->isstdcnt);
  c.be32(&h->leapcnt);
  c.be32(&h->timecnt);
  c.be32(&h->typecnt);
  c.be32(&h->charcnt);
  // RFC 8536 3.1: typecnt and charcnt are never zero; the indicator
  // arrays are either absent or one per type.
  if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0) return false;
  if (h->isutcnt != 0 && h->isutcnt != h->typecnt) return false;
  if (h->isstdcnt != 0 && h->isstdcnt != h->typecnt) return false;
  return true;
}

uint64_t block_size(const Header& h, uint64_t time_size) {
  return uint64_t(h.timecnt) * time_size + h.timecnt + uint64_t(h.typecnt) * 6 + h.charcnt +
         uint64_t(h.leapcnt) * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

// ---- POSIX TZ strings -------------------------------------------------------

class TzScanner {
 public:
  explicit TzScanner(std::string_view s) : s_(s) {}
  bool done() const noexcept { return i_ >= s_.size(); }
  char peek() const noexcept { return done() ? '\0' : s_[i_]; }
  bool eat(char c) noexcept {
    if (peek() != c) return false;
    ++i_;
    return true;
  }

  bool name(std::string* out) {
    if (eat('<')) {
      size_t b = i_;
      while (!done() && peek() != '>') {
        char c = peek();
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '-';
        if (!ok) return false;
        ++i_;
      }
      if (!eat('>') || i_ - 1 - b < 3) return false;
      *out = std::string(s_.substr(b, i_ - 1 - b));
      return true;
    }
    size_t b = i_;
    while (!done() && ((peek() >= 'A' && peek() <= 'Z') || (peek() >= 'a' && peek() <= 'z'))) ++i_;
    if (i_ - b < 3) return false;
    *out = std::string(s_.substr(b, i_ - b));
    return true;
  }

  // [+-]hh[:mm[:ss]] with hh <= max_hours; seconds, sign applied.
  bool hms(int32_t* out, int max_hours) {
    int sign = 1;
    if (eat('-')) {
      sign = -1;
    } else {
      eat('+');
    }
    int32_t h = 0;
    if (!number(&h, 3) || h > max_hours) return false;
    int32_t m = 0, sec = 0;
    if (eat(':')) {
      if (!number(&m, 2) || m > 59) return false;
      if (eat(':') && (!number(&sec, 2) || sec > 59)) return false;
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }

  bool number(int32_t* out, int max_digits) {
    int32_t v = 0;
    int n = 0;
    while (!done() && peek() >= '0' && peek() <= '9' && n < max_digits) {
      v = v * 10 + (peek() - '0');
      ++i_;
      ++n;
    }
    if (n == 0) return false;
    *out = v;
    return true;
  }

  bool rule(PosixTz::Rule* r) {
    int32_t v = 0;
    if (eat('J')) {
      if (!number(&v, 3) || v < 1 || v > 365) return false;
      r->kind = PosixTz::Rule::Kind::kJulian1;
      r->day = int16_t(v);
    } else if (eat('M')) {
      int32_t m = 0, w = 0, d = 0;
      if (!number(&m, 2) || m < 1 || m > 12 || !eat('.')) return false;
      if (!number(&w, 1) || w < 1 || w > 5 || !eat('.')) return false;
      if (!number(&d, 1) || d > 6) return false;
      r->kind = PosixTz::Rule::Kind::kMonthWeekDay;
      r->month = int8_t(m);
      r->week = int8_t(w);
      r->day = int16_t(d);
    } else {
      if (!number(&v, 3) || v > 365) return false;
      r->kind = PosixTz::Rule::Kind::kJulian0;
      r->day = int16_t(v);
    }
    r->time = 7200;
    if (eat('/') && !hms(&r->time, 167)) return false;
    return true;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// Days since the epoch of the local date on which `r` falls in year y.
int64_t rule_day(const PosixTz::Rule& r, int64_t y) noexcept {
  int64_t jan1 = days_from_civil(y, 1, 1);
  switch (r.kind) {
    case PosixTz::Rule::Kind::kJulian1:
      // Jn counts 1..365 and never Feb 29: day 60 is always March 1.
      return jan1 + r.day - 1 + ((is_leap_year(y) && r.day >= 60) ? 1 : 0);
    case PosixTz::Rule::Kind::kJulian0:
      return jan1 + r.day;
    case PosixTz::Rule::Kind::kMonthWeekDay: {
      int64_t first = days_from_civil(y, r.month, 1);
      int64_t d = first + (r.day - weekday_from_days(first) + 7) % 7 + int64_t(r.week - 1) * 7;
      int64_t next_month = first + days_in_month(y, r.month);
      while (d >= next_month) d -= 7;
      return d;
    }
  }
  return jan1;
}

}  // namespace

std::optional<PosixTz> parse_posix_tz(std::string_view s) {
  TzScanner sc(s);
  PosixTz tz;
  int32_t off = 0;
  if (!sc.name(&tz.std_abbr) || !sc.hms(&off, 24)) return std::nullopt;
  tz.std_offset = -off;
  if (sc.done()) return tz;
  if (!sc.name(&tz.dst_abbr)) return std::nullopt;
  tz.dst_offset = tz.std_offset + 3600;
  if (!sc.done() && sc.peek() != ',') {
    if (!sc.hms(&off, 24)) return std::nullopt;
    tz.dst_offset = -off;
  }
  if (sc.done()) {
    // POSIX leaves the rule to the implementation; glibc, musl and the tz
    // code use the US rules of 2007.
    tz.start = {PosixTz::Rule::Kind::kMonthWeekDay, 0, 3, 2, 7200};
    tz.end = {PosixTz::Rule::Kind::kMonthWeekDay, 0, 11, 1, 7200};
    return tz;
  }
  if (!sc.eat(',') || !sc.rule(&tz.start) || !sc.eat(',') || !sc.rule(&tz.end) || !sc.done()) {
    return std::nullopt;
  }
  return tz;
}

std::optional<Zone> Zone::parse(std::span<const std::byte> bytes) {
  Cursor c(bytes);
  Header h;
  if (!read_header(c, &h)) return std::nullopt;
  uint64_t time_size = 4;
  if (h.version >= '2') {
    // Skip the 32-bit block; the 64-bit one after the second header is
    // authoritative.
    if (!c.skip(block_size(h, 4))) return std::nullopt;
    Header h2;
    if (!read_header(c, &h2) || h2.version != h.version) return std::nullopt;
    h = h2;
    time_size = 8;
  }
  if (block_size(h, time_size) > c.left()) return std::nullopt;

  Zone z;
  z.transitions_.resize(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    if (time_size == 8) {
      uint64_t v = 0;
      c.be64(&v);
      z.transitions_[i] = int64_t(v);
    } else {
      uint32_t v = 0;
      c.be32(&v);
      z.transitions_[i] = int32_t(v);
    }
    if (i > 0 && z.transitions_[i] <= z.transitions_[i - 1]) return std::nullopt;
  }
  z.transition_types_.resize(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    c.u8(&z.transition_types_[i]);
    if (z.transition_types_[i] >= h.typecnt) return std::nullopt;
  }
  struct RawType {
    int32_t off;
    uint8_t dst, idx;
  };
  std::vector<RawType> raw(h.typecnt);
  for (auto& t : raw) {
    uint32_t off = 0;
    c.be32(&off);
    c.u8(&t.dst);
    c.u8(&t.idx);
    t.off = int32_t(off);
    // RFC 8536: utoff is never -2**31 and should be in -89999..93599.
    if (t.off < -89999 || t.off > 93599 || t.dst > 1 || t.idx >= h.charcnt) return std::nullopt;
  }
  std::string_view chars(reinterpret_cast<const char*>(c.here()), h.charcnt);
  c.skip(h.charcnt);
  z.types_.reserve(h.typecnt);
  for (const auto& t : raw) {
    size_t end = chars.find('\0', t.idx);
    if (end == std::string_view::npos) return std::nullopt;
    z.types_.push_back({t.off, t.dst != 0, std::string(chars.substr(t.idx, end - t.idx))});
  }
  // Leap-second records and the standard/UT indicators are not needed for
  // POSIX time; they were bounds-checked by block_size.
  c.skip(uint64_t(h.leapcnt) * (time_size + 4) + h.isstdcnt + h.isutcnt);

  if (h.version >= '2') {
    // Footer: "\n" TZ-string "\n". An empty string means "no rule".
    uint8_t nl = 0;
    if (!c.u8(&nl) || nl != '\n') return std::nullopt;
    std::string_view rest(reinterpret_cast<const char*>(c.here()), c.left());
    size_t end = rest.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    if (end > 0) {
      z.footer_ = parse_posix_tz(rest.substr(0, end));
      if (!z.footer_) return std::nullopt;
    }
  }
  return z;
}

Zone Zone::utc() {
  Zone z;
  z.types_.push_back({0, false, "UTC"});
  return z;
}

Zone::Local Zone::at(int64_t t) const noexcept {
  if (transitions_.empty() || t >= transitions_.back()) {
    if (footer_) return from_footer(t);
    if (transitions_.empty()) {
      const Type& ty = types_.front();
      return {ty.utc_offset, ty.is_dst, ty.abbreviation};
    }
    const Type& ty = types_[transition_types_.back()];
    return {ty.utc_offset, ty.is_dst, ty.abbreviation};
  }
  if (t < transitions_.front()) {
    const Type& ty = types_.front();  // RFC 8536 3.2: before the first transition
    return {ty.utc_offset, ty.is_dst, ty.abbreviation};
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  const Type& ty = types_[transition_types_[size_t(it - transitions_.begin()) - 1]];
  return {ty.utc_offset, ty.is_dst, ty.abbreviation};
}

Zone::Local Zone::from_footer(int64_t t) const noexcept {
  const PosixTz& p = *footer_;
  Local std_time{p.std_offset, false, p.std_abbr};
  if (p.dst_abbr.empty()) return std_time;
  // The year is that of the local standard time; clamp so that the
  // calendar arithmetic stays in range for absurd instants.
  int64_t local = std::clamp<int64_t>(t, kMinDateSeconds, kMaxDateSeconds) + p.std_offset;
  int64_t year = civil_time(local, 0, {}).year;
  // Daylight time starts at the rule's local *standard* time and ends at
  // its local *daylight* time.
  int64_t start = rule_day(p.start, year) * 86400 + p.start.time - p.std_offset;
  int64_t end = rule_day(p.end, year) * 86400 + p.end.time - p.dst_offset;
  bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  if (!dst) return std_time;
  return {p.dst_offset, true, p.dst_abbr};
}

bool is_valid_zone_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 128 || name.front() == '/') return false;
  size_t part = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      std::string_view p = name.substr(part, i - part);
      if (p.empty() || p == "." || p == "..") return false;
      part = i + 1;
      continue;
    }
    char c = name[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

namespace {

// Holds every zone asked for; the set of names a deployment uses is small.
// Unknown names are remembered too (as nullptr), up to a bound, so a bad
// name in a hot template costs one failed open, not one per message.
struct ZoneCache {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const Zone>, std::less<>> zones;  // GUARDED_BY(mu)
  size_t negatives = 0;                                                    // GUARDED_BY(mu)
};
constexpr size_t kMaxNegatives = 256;
constexpr long kMaxZoneFile = 1 << 20;

ZoneCache& cache() {
  static ZoneCache* c = new ZoneCache;  // never destroyed: renders may run during exit
  return *c;
}

std::shared_ptr<const Zone> load(std::string_view name) {
  const char* dir = std::getenv("TZDIR");
  std::string path = (dir && *dir) ? dir : "/usr/share/zoneinfo";
  path.push_back('/');
  path.append(name);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return nullptr;
  std::vector<std::byte> bytes;
  std::byte buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    if (bytes.size() + n > size_t(kMaxZoneFile)) {
      std::fclose(f);
      return nullptr;
    }
    bytes.insert(bytes.end(), buf, buf + n);
  }
  std::fclose(f);
  auto z = Zone::parse(bytes);
  if (!z) return nullptr;
  return std::make_shared<const Zone>(std::move(*z));
}

}  // namespace

std::shared_ptr<const Zone> find_zone(std::string_view name) {
  static const std::shared_ptr<const Zone> kUtc = std::make_shared<const Zone>(Zone::utc());
  if (name == "UTC" || name == "Etc/UTC") return kUtc;
  if (!is_valid_zone_name(name)) return nullptr;
  ZoneCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (auto it = c.zones.find(name); it != c.zones.end()) return it->second;
  auto z = load(name);
  if (z || c.negatives < kMaxNegatives) {
    if (!z) ++c.negatives;
    c.zones.emplace(std::string(name), z);
  }
  return z;
}

}  // namespace templating::lang
