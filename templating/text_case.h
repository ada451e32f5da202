// templating/text_case.h: UTF-8 scanning and table-driven case mapping for
// the template language (private to templating/).
//
// Case mapping is the Unicode *simple* mapping (one code point to one code
// point) for Basic Latin, Latin-1 Supplement, Latin Extended-A, Greek and
// Cyrillic (U+0400..U+052F, with Ukrainian і ї є ґ). Everything else passes
// through unchanged: no ICU, no locale data, no allocation but the output.
// Bytes that are not valid UTF-8 are copied through untouched, so a
// transformation never makes valid text invalid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace templating::lang {

// Decodes the code point at s[i]. Returns its length in bytes (1..4), or 0
// when the bytes there are not valid UTF-8 (overlong, surrogate, beyond
// U+10FFFF, truncated). REQUIRES: i < s.size().
size_t utf8_decode(std::string_view s, size_t i, char32_t* cp) noexcept;
// Appends the UTF-8 encoding of cp. REQUIRES: cp is a scalar value.
void utf8_append(std::string& out, char32_t cp);
// The offset of the first byte that does not start a valid sequence, or
// std::string_view::npos when the whole string is valid UTF-8.
size_t utf8_invalid_offset(std::string_view s) noexcept;
inline bool is_valid_utf8(std::string_view s) noexcept {
  return utf8_invalid_offset(s) == std::string_view::npos;
}
// Number of characters: bytes that are not UTF-8 continuation bytes.
size_t utf8_length(std::string_view s) noexcept;
// The byte offset just after the first n characters (s.size() if shorter).
size_t utf8_prefix_bytes(std::string_view s, size_t n) noexcept;

char32_t to_upper(char32_t cp) noexcept;
char32_t to_lower(char32_t cp) noexcept;

void append_upper(std::string& out, std::string_view s);
void append_lower(std::string& out, std::string_view s);
// The first character in upper case, the rest unchanged (names such as
// "МакДональд" keep their inner capitals; Liquid would lower them).
void append_capitalized(std::string& out, std::string_view s);

// Unicode White_Space plus U+FEFF (a stray BOM is never wanted at an edge).
bool is_space(char32_t cp) noexcept;
// s without leading and trailing is_space() characters.
std::string_view trim_spaces(std::string_view s) noexcept;

}  // namespace templating::lang
