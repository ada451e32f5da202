// templating/channels_internal.h: UTF-8 and URL helpers shared by the
// per-channel text rules (html_text.cpp, telegram.cpp, sms.cpp,
// buttons.cpp). Private to templating/. Pure, header-only, no allocation
// unless a std::string is passed in to append to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/utf8.h"

namespace templating::chan {

inline constexpr char32_t kReplacement = 0xFFFD;

// Decodes the well-formed UTF-8 sequence (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF) at p[0] of the n > 0 bytes left.
// Returns its length (1-4) and sets *cp, or 0 when p does not start one
// (the caller then consumes one byte as U+FFFD).
inline size_t decode_utf8(const unsigned char* p, size_t n, char32_t* cp) noexcept {
  return core::utf8::decode(p, n, cp);
}

// Appends cp as UTF-8. REQUIRES: cp is a Unicode scalar value.
inline void append_utf8(std::string& out, char32_t cp) { core::utf8::append(out, cp); }

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
