// templating/channels_internal.h: UTF-8 and URL helpers shared by the
// per-channel text rules (html_text.cpp, telegram.cpp, sms.cpp,
// buttons.cpp). Private to templating/. Pure, header-only, no allocation
// unless a std::string is passed in to append to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace templating::chan {

inline constexpr char32_t kReplacement = 0xFFFD;

// Decodes the well-formed UTF-8 sequence (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF) at p[0] of the n > 0 bytes left.
// Returns its length (1-4) and sets *cp, or 0 when p does not start one
// (the caller then consumes one byte as U+FFFD).
inline size_t decode_utf8(const unsigned char* p, size_t n, char32_t* cp) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c < 0xC2) return 0;  // continuation byte or overlong 2-byte lead
  if (c < 0xE0) {
    if (n < 2 || (p[1] & 0xC0) != 0x80) return 0;
    *cp = (char32_t(c & 0x1F) << 6) | (p[1] & 0x3F);
    return 2;
  }
  if (c < 0xF0) {
    if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
    if (c == 0xED && p[1] >= 0xA0) return 0;  // surrogate
    *cp = (char32_t(c & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    return 3;
  }
  if (c < 0xF5) {
    if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) {
      return 0;
    }
    if (c == 0xF0 && p[1] < 0x90) return 0;   // overlong
    if (c == 0xF4 && p[1] >= 0x90) return 0;  // above U+10FFFF
    *cp = (char32_t(c & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) |
          (char32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    return 4;
  }
  return 0;
}

// Appends cp as UTF-8. REQUIRES: cp is a Unicode scalar value.
inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    const char b[2] = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 2);
  } else if (cp < 0x10000) {
    const char b[3] = {static_cast<char>(0xE0 | (cp >> 12)),
                       static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                       static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 3);
  } else {
    const char b[4] = {static_cast<char>(0xF0 | (cp >> 18)),
                       static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
                       static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                       static_cast<char>(0x80 | (cp & 0x3F))};
    out.append(b, 4);
  }
}

// Calls f(cp) for every character of s; an ill-formed byte is U+FFFD.
template <class F>
inline void for_each_code_point(std::string_view s, F&& f) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp;
    const size_t len = decode_utf8(p + i, s.size() - i, &cp);
    if (len == 0) {
      f(kReplacement);
      ++i;
    } else {
      f(cp);
      i += len;
    }
  }
}

inline bool is_valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    char32_t cp;
    const size_t len = decode_utf8(p + i, s.size() - i, &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

inline char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

// Case-insensitive (ASCII) equality; `lower` must already be lower case.
inline bool iequals(std::string_view s, std::string_view lower) noexcept {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (ascii_lower(s[i]) != lower[i]) return false;
  }
  return true;
}

inline bool istarts_with(std::string_view s, std::string_view lower) noexcept {
  return s.size() >= lower.size() && iequals(s.substr(0, lower.size()), lower);
}

// The URL's scheme as written ("https", "JavaScript"), or empty when it has
// none (a relative URL, "#top", "/path", "www.x.ua").
inline std::string_view url_scheme(std::string_view url) noexcept {
  if (url.empty()) return {};
  const char c0 = url[0];
  if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z'))) return {};
  for (size_t i = 1; i < url.size(); ++i) {
    const char c = url[i];
    if (c == ':') return url.substr(0, i);
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '-' || c == '.';
    if (!ok) return {};
  }
  return {};
}

// True for "http://host..." or "https://host..." (scheme in any case) with a
// non-empty authority start.
inline bool is_http_url(std::string_view url) noexcept {
  const std::string_view scheme = url_scheme(url);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return false;
  const std::string_view rest = url.substr(scheme.size() + 1);
  if (rest.size() < 3 || rest[0] != '/' || rest[1] != '/') return false;
  const char h = rest[2];
  return h != '/' && h != '?' && h != '#' && h != ' ';
}

}  // namespace templating::chan
