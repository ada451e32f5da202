// templating/sms.cpp: SMS encodings and segments (channels.h).
//
// The tables are 3GPP TS 23.038 §6.2.1 (GSM 7 bit default alphabet) and
// §6.2.1.1 (its extension table, reached through ESC 0x1B), written by
// septet value so that they can be checked against the specification row
// by row; the code-point lookup is derived from them at compile time.
// National language shift tables (§6.2.1.2, Turkish, Portuguese, Indian
// languages) are not used: Ukrainian and Russian text is UCS-2 either way,
// and many SMSCs do not support them.
#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "templating/channels.h"
#include "templating/channels_internal.h"

namespace templating {
namespace {

constexpr char32_t kNone = 0x110000;  // the ESC position: no character

// TS 23.038 §6.2.1, septets 0x00-0x7F. 0x09 is CAPITAL C WITH CEDILLA
// (the standard notes that some handsets show it as small ç; the small one
// is not in the alphabet).
constexpr std::array<char32_t, 128> kBasic = {
    // 0x00
    U'@', U'£', U'$', U'¥', U'è', U'é', U'ù', U'ì', U'ò', U'Ç', U'\n', U'Ø', U'ø', U'\r', U'Å', U'å',
    // 0x10
    U'Δ', U'_', U'Φ', U'Γ', U'Λ', U'Ω', U'Π', U'Ψ', U'Σ', U'Θ', U'Ξ', kNone, U'Æ', U'æ', U'ß', U'É',
    // 0x20
    U' ', U'!', U'"', U'#', U'¤', U'%', U'&', U'\'', U'(', U')', U'*', U'+', U',', U'-', U'.', U'/',
    // 0x30
    U'0', U'1', U'2', U'3', U'4', U'5', U'6', U'7', U'8', U'9', U':', U';', U'<', U'=', U'>', U'?',
    // 0x40
    U'¡', U'A', U'B', U'C', U'D', U'E', U'F', U'G', U'H', U'I', U'J', U'K', U'L', U'M', U'N', U'O',
    // 0x50
    U'P', U'Q', U'R', U'S', U'T', U'U', U'V', U'W', U'X', U'Y', U'Z', U'Ä', U'Ö', U'Ñ', U'Ü', U'§',
    // 0x60
    U'¿', U'a', U'b', U'c', U'd', U'e', U'f', U'g', U'h', U'i', U'j', U'k', U'l', U'm', U'n', U'o',
    // 0x70
    U'p', U'q', U'r', U's', U't', U'u', U'v', U'w', U'x', U'y', U'z', U'ä', U'ö', U'ñ', U'ü', U'à',
};

struct Extension {
  uint8_t septet;
  char32_t cp;
};
// TS 23.038 §6.2.1.1: the characters defined in the extension table. (0x0D
// and 0x1B there are control codes, not characters.)
constexpr Extension kExtension[] = {
    {0x0A, U'\f'}, {0x14, U'^'}, {0x28, U'{'}, {0x29, U'}'}, {0x2F, U'\\'},
    {0x3C, U'['},  {0x3D, U'~'}, {0x3E, U']'}, {0x40, U'|'}, {0x65, U'€'},
};

// Code point -> septet (0x00-0x7F) or 0x100 | septet for the extension.
struct Code {
  char32_t cp;
  uint16_t code;
};
constexpr size_t kCodeCount = 127 + std::size(kExtension);
constexpr auto kByCodePoint = [] {
  std::array<Code, kCodeCount> a{};
  size_t n = 0;
  for (size_t s = 0; s < kBasic.size(); ++s) {
    if (kBasic[s] != kNone) a[n++] = Code{kBasic[s], static_cast<uint16_t>(s)};
  }
  for (const Extension& e : kExtension) a[n++] = Code{e.cp, static_cast<uint16_t>(0x100 | e.septet)};
  std::sort(a.begin(), a.end(), [](const Code& x, const Code& y) { return x.cp < y.cp; });
  return a;
}();
constexpr bool unique_code_points() {
  for (size_t i = 1; i < kByCodePoint.size(); ++i) {
    if (kByCodePoint[i - 1].cp == kByCodePoint[i].cp) return false;
  }
  return true;
}
static_assert(unique_code_points(), "a character is in the GSM tables once");

constexpr int kNotGsm = -1;
// ASCII fast path, derived from the tables above.
constexpr auto kAsciiCode = [] {
  std::array<int16_t, 128> t{};
  for (auto& v : t) v = kNotGsm;
  for (const Code& c : kByCodePoint) {
    if (c.cp < 128) t[c.cp] = static_cast<int16_t>(c.code);
  }
  return t;
}();

int gsm_code(char32_t cp) noexcept {
  if (cp < 128) return kAsciiCode[cp];
  const auto it = std::lower_bound(kByCodePoint.begin(), kByCodePoint.end(), cp,
                                   [](const Code& c, char32_t v) { return c.cp < v; });
  return (it != kByCodePoint.end() && it->cp == cp) ? it->code : kNotGsm;
}

// Calls f(cp, bytes) for each character; ill-formed UTF-8 is one U+FFFD per
// byte (bytes is then empty: the caller writes U+FFFD itself).
template <class F>
void for_each_char(std::string_view s, F&& f) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp;
    const size_t len = chan::decode_utf8(p + i, s.size() - i, &cp);
    if (len == 0) {
      f(chan::kReplacement, std::string_view());
      ++i;
    } else {
      f(cp, s.substr(i, len));
      i += len;
    }
  }
}

size_t unit_cost(SmsEncoding enc, char32_t cp) noexcept {
  if (enc == SmsEncoding::kGsm7) return gsm_code(cp) >= 0x100 ? 2 : 1;
  return cp >= 0x10000 ? 2 : 1;
}

}  // namespace

SmsInfo sms_info(std::string_view utf8) {
  SmsInfo info;
  bool gsm = true;
  size_t septets = 0;
  size_t utf16 = 0;
  for_each_char(utf8, [&](char32_t cp, std::string_view) {
    utf16 += cp >= 0x10000 ? 2 : 1;
    if (gsm) {
      const int code = gsm_code(cp);
      if (code == kNotGsm) {
        gsm = false;
      } else {
        septets += code >= 0x100 ? 2 : 1;
      }
    }
  });
  info.encoding = gsm ? SmsEncoding::kGsm7 : SmsEncoding::kUcs2;
  info.units = gsm ? septets : utf16;
  const size_t single = gsm ? kGsm7Single : kUcs2Single;
  const size_t part = gsm ? kGsm7Part : kUcs2Part;
  if (info.units == 0) {
    info.segments = 0;
    info.per_segment = single;
    return info;
  }
  if (info.units <= single) {
    info.segments = 1;
    info.per_segment = single;
    return info;
  }
  // Concatenated: fill each part greedily; a 2-unit character that does
  // not fit whole moves to the next part.
  info.per_segment = part;
  size_t segments = 1;
  size_t used = 0;
  for_each_char(utf8, [&](char32_t cp, std::string_view) {
    const size_t w = unit_cost(info.encoding, cp);
    if (used + w > part) {
      ++segments;
      used = 0;
    }
    used += w;
  });
  info.segments = segments;
  return info;
}

std::vector<std::string> sms_segments(std::string_view utf8) {
  const SmsInfo info = sms_info(utf8);
  std::vector<std::string> parts;
  if (info.segments == 0) return parts;
  parts.reserve(info.segments);
  parts.emplace_back();
  size_t used = 0;
  const bool split = info.segments > 1;
  for_each_char(utf8, [&](char32_t cp, std::string_view bytes) {
    if (split) {
      const size_t w = unit_cost(info.encoding, cp);
      if (used + w > info.per_segment) {
        parts.emplace_back();
        used = 0;
      }
      used += w;
    }
    if (bytes.empty()) {
      chan::append_utf8(parts.back(), cp);
    } else {
      parts.back().append(bytes);
    }
  });
  assert(parts.size() == info.segments);
  return parts;
}

std::string gsm7_encode(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for_each_char(utf8, [&](char32_t cp, std::string_view) {
    const int code = gsm_code(cp);
    if (code == kNotGsm) {
      assert(false && "gsm7_encode: REQUIRES sms_info().encoding == kGsm7");
      out.push_back('?');
    } else if (code >= 0x100) {
      out.push_back('\x1B');
      out.push_back(static_cast<char>(code & 0x7F));
    } else {
      out.push_back(static_cast<char>(code));
    }
  });
  return out;
}

std::string ucs2_encode(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size() * 2);
  auto unit = [&](uint32_t u) {
    out.push_back(static_cast<char>(u >> 8));
    out.push_back(static_cast<char>(u & 0xFF));
  };
  for_each_char(utf8, [&](char32_t cp, std::string_view) {
    if (cp >= 0x10000) {
      const uint32_t v = cp - 0x10000;
      unit(0xD800 | (v >> 10));
      unit(0xDC00 | (v & 0x3FF));
    } else {
      unit(cp);
    }
  });
  return out;
}

}  // namespace templating
