// templating/text_case.cpp: see text_case.h.
//
// The case tables are ranges, not a 64 K array: within the scripts we
// cover, code points either shift by a constant (A..Z, А..Я, Ѐ..Џ, Α..Ω) or
// come in upper/lower pairs on consecutive code points (Ā ā, Ґ ґ, Ѡ ѡ). A
// handful of singletons (Ÿ/ÿ, ς, İ, ı, ſ, µ, Ӏ) sit in the delta tables. The
// tables were checked against Python's str.upper()/str.lower() for every
// code point in U+0000..U+052F where those give one code point
// (tests/templating/template_test.cpp pins representative ones).
#include "templating/text_case.h"

#include <algorithm>
#include <array>

#include "core/utf8.h"

namespace templating::lang {

size_t utf8_decode(std::string_view s, size_t i, char32_t* cp) noexcept {
  return core::utf8::decode(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i, cp);
}

void utf8_append(std::string& out, char32_t cp) { core::utf8::append(out, cp); }

size_t utf8_invalid_offset(std::string_view s) noexcept {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII runs are the common case in templates; skip them eight at a time.
    while (i + 8 <= s.size()) {
      uint64_t w;
      __builtin_memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= s.size()) break;
    char32_t cp;
    size_t n = utf8_decode(s, i, &cp);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

size_t utf8_length(std::string_view s) noexcept {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

size_t utf8_prefix_bytes(std::string_view s, size_t n) noexcept {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == n) return i;
      ++chars;
    }
  }
  return s.size();
}

namespace {

// Code points in [lo, hi] map to cp + delta.
struct DeltaRange {
  char32_t lo, hi;
  int32_t delta;
};
// Upper/lower pairs on consecutive code points: lo (upper), lo+1 (lower),
// lo+2 (upper), ... hi.
struct PairRange {
  char32_t lo, hi;
};

constexpr std::array<DeltaRange, 16> kToLower{{
    {0x0041, 0x005A, 32},    {0x00C0, 0x00D6, 32},  {0x00D8, 0x00DE, 32},
    {0x0130, 0x0130, -199},  // İ -> i
    {0x0178, 0x0178, -121},  // Ÿ -> ÿ
    {0x0386, 0x0386, 38},    {0x0388, 0x038A, 37},  {0x038C, 0x038C, 64},
    {0x038E, 0x038F, 63},    {0x0391, 0x03A1, 32},  {0x03A3, 0x03AB, 32},
    {0x0400, 0x040F, 80},    {0x0410, 0x042F, 32},
    {0x04C0, 0x04C0, 15},  // Ӏ -> ӏ
    {0x0000, 0x0000, 0},     {0x0000, 0x0000, 0},
}};

constexpr std::array<DeltaRange, 18> kToUpper{{
    {0x0061, 0x007A, -32},  {0x00B5, 0x00B5, 743},  // µ -> Μ
    {0x00E0, 0x00F6, -32},  {0x00F8, 0x00FE, -32},
    {0x00FF, 0x00FF, 121},   // ÿ -> Ÿ
    {0x0131, 0x0131, -232},  // ı -> I
    {0x017F, 0x017F, -300},  // ſ -> S
    {0x03AC, 0x03AC, -38},  {0x03AD, 0x03AF, -37},  {0x03B1, 0x03C1, -32},
    {0x03C2, 0x03C2, -31},  // ς -> Σ
    {0x03C3, 0x03CB, -32},  {0x03CC, 0x03CC, -64},  {0x03CD, 0x03CE, -63},
    {0x0430, 0x044F, -32},  {0x0450, 0x045F, -80},
    {0x04CF, 0x04CF, -15},  // ӏ -> Ӏ
    {0x0000, 0x0000, 0},
}};

constexpr std::array<PairRange, 9> kPairs{{
    {0x0100, 0x012F},
    {0x0132, 0x0137},
    {0x0139, 0x0148},
    {0x014A, 0x0177},
    {0x0179, 0x017E},
    {0x0460, 0x0481},
    {0x048A, 0x04BF},  // includes Ґ ґ (U+0490/U+0491)
    {0x04C1, 0x04CE},
    {0x04D0, 0x052F},
}};

template <size_t N>
char32_t apply_delta(const std::array<DeltaRange, N>& table, char32_t cp, bool* hit) noexcept {
  for (const auto& r : table) {
    if (r.hi == 0) break;
    if (cp >= r.lo && cp <= r.hi) {
      *hit = true;
      return char32_t(int32_t(cp) + r.delta);
    }
  }
  *hit = false;
  return cp;
}

using MapFn = char32_t (*)(char32_t) noexcept;

void append_mapped(std::string& out, std::string_view s, MapFn fn, size_t limit_chars) {
  size_t i = 0, chars = 0;
  while (i < s.size()) {
    if (chars == limit_chars) {
      out.append(s.substr(i));
      return;
    }
    unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(char(fn(b)));
      ++i;
      ++chars;
      continue;
    }
    char32_t cp;
    size_t n = utf8_decode(s, i, &cp);
    if (n == 0) {  // not UTF-8: keep the byte as it is
      out.push_back(s[i]);
      ++i;
      continue;
    }
    char32_t m = fn(cp);
    if (m == cp) {
      out.append(s.substr(i, n));
    } else {
      utf8_append(out, m);
    }
    i += n;
    ++chars;
  }
}

}  // namespace

char32_t to_lower(char32_t cp) noexcept {
  if (cp < 0x41 || cp > 0x052F) return cp;
  if (cp <= 0x7F) return (cp <= 0x5A) ? cp + 32 : cp;
  bool hit;
  char32_t m = apply_delta(kToLower, cp, &hit);
  if (hit) return m;
  for (const auto& r : kPairs) {
    if (cp >= r.lo && cp <= r.hi) return ((cp - r.lo) % 2 == 0) ? cp + 1 : cp;
  }
  return cp;
}

char32_t to_upper(char32_t cp) noexcept {
  if (cp < 0x61 || cp > 0x052F) return cp;
  if (cp <= 0x7F) return (cp <= 0x7A) ? cp - 32 : cp;
  bool hit;
  char32_t m = apply_delta(kToUpper, cp, &hit);
  if (hit) return m;
  for (const auto& r : kPairs) {
    if (cp >= r.lo && cp <= r.hi) return ((cp - r.lo) % 2 == 1) ? cp - 1 : cp;
  }
  return cp;
}

void append_upper(std::string& out, std::string_view s) {
  append_mapped(out, s, &to_upper, std::string_view::npos);
}
void append_lower(std::string& out, std::string_view s) {
  append_mapped(out, s, &to_lower, std::string_view::npos);
}
void append_capitalized(std::string& out, std::string_view s) { append_mapped(out, s, &to_upper, 1); }

bool is_space(char32_t cp) noexcept {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 ||
         cp == 0xFEFF;
}

std::string_view trim_spaces(std::string_view s) noexcept {
  size_t b = 0;
  while (b < s.size()) {
    char32_t cp;
    size_t n = utf8_decode(s, b, &cp);
    if (n == 0 || !is_space(cp)) break;
    b += n;
  }
  size_t e = s.size();
  while (e > b) {
    // Step back to the start of the last character.
    size_t k = e - 1;
    while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80 && e - k < 4) --k;
    char32_t cp;
    size_t n = utf8_decode(s, k, &cp);
    if (n == 0 || k + n != e || !is_space(cp)) break;
    e = k;
  }
  return s.substr(b, e - b);
}

}  // namespace templating::lang
