// api/utf8.h: UTF-8 sequence checks (private to api/).
//
// RFC 3629 well-formedness: no overlong forms, no surrogates (U+D800..DFFF),
// nothing above U+10FFFF. Pure, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace api::utf8 {

// The length (1-4) of the well-formed sequence starting at p[0], or 0 when
// the bytes at p (of which n > 0 remain) do not start one.
inline size_t sequence_length(const unsigned char* p, size_t n) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;  // continuation byte or overlong 2-byte lead
  if (c < 0xE0) {
    return (n >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
  }
  if (c < 0xF0) {
    if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
    if (c == 0xED && p[1] >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c < 0xF5) {
    if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) {
      return 0;
    }
    if (c == 0xF0 && p[1] < 0x90) return 0;   // overlong
    if (c == 0xF4 && p[1] >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// True when all of [p, p+n) is well-formed UTF-8. ASCII runs are checked
// eight bytes at a time.
inline bool valid(const char* data, size_t n) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const size_t len = sequence_length(p + i, n - i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

}  // namespace api::utf8
