// mta/report/charset.cpp: the charsets reports arrive in, to UTF-8; RFC 2047
// encoded words; RFC 3461 xtext.
//
// Russian mail still comes in KOI8-R and Windows-1251, so those (and
// KOI8-U, Latin-1) are decoded with 128-entry tables instead of iconv: no
// locale, no global state, nothing that can fail at run time. Other
// charsets pass through with ill-formed UTF-8 replaced by U+FFFD, so every
// string we hand out is valid UTF-8.
#include <array>

#include "core/utf8.h"
#include "mta/report/report_internal.h"

namespace mta::report::detail {
namespace {

// Upper halves (0x80-0xFF) as code points.
constexpr std::array<char16_t, 128> kKoi8r = {
    0x2500, 0x2502, 0x250C, 0x2510, 0x2514, 0x2518, 0x251C, 0x2524,
    0x252C, 0x2534, 0x253C, 0x2580, 0x2584, 0x2588, 0x258C, 0x2590,
    0x2591, 0x2592, 0x2593, 0x2320, 0x25A0, 0x2219, 0x221A, 0x2248,
    0x2264, 0x2265, 0x00A0, 0x2321, 0x00B0, 0x00B2, 0x00B7, 0x00F7,
    0x2550, 0x2551, 0x2552, 0x0451, 0x2553, 0x2554, 0x2555, 0x2556,
    0x2557, 0x2558, 0x2559, 0x255A, 0x255B, 0x255C, 0x255D, 0x255E,
    0x255F, 0x2560, 0x2561, 0x0401, 0x2562, 0x2563, 0x2564, 0x2565,
    0x2566, 0x2567, 0x2568, 0x2569, 0x256A, 0x256B, 0x256C, 0x00A9,
    0x044E, 0x0430, 0x0431, 0x0446, 0x0434, 0x0435, 0x0444, 0x0433,
    0x0445, 0x0438, 0x0439, 0x043A, 0x043B, 0x043C, 0x043D, 0x043E,
    0x043F, 0x044F, 0x0440, 0x0441, 0x0442, 0x0443, 0x0436, 0x0432,
    0x044C, 0x044B, 0x0437, 0x0448, 0x044D, 0x0449, 0x0447, 0x044A,
    0x042E, 0x0410, 0x0411, 0x0426, 0x0414, 0x0415, 0x0424, 0x0413,
    0x0425, 0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E,
    0x041F, 0x042F, 0x0420, 0x0421, 0x0422, 0x0423, 0x0416, 0x0412,
    0x042C, 0x042B, 0x0417, 0x0428, 0x042D, 0x0429, 0x0427, 0x042A,
};
constexpr std::array<char16_t, 128> kCp1251 = {
    0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021,
    0x20AC, 0x2030, 0x0409, 0x2039, 0x040A, 0x040C, 0x040B, 0x040F,
    0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0xFFFD, 0x2122, 0x0459, 0x203A, 0x045A, 0x045C, 0x045B, 0x045F,
    0x00A0, 0x040E, 0x045E, 0x0408, 0x00A4, 0x0490, 0x00A6, 0x00A7,
    0x0401, 0x00A9, 0x0404, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x0407,
    0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491, 0x00B5, 0x00B6, 0x00B7,
    0x0451, 0x2116, 0x0454, 0x00BB, 0x0458, 0x0405, 0x0455, 0x0457,
    0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,
    0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E, 0x041F,
    0x0420, 0x0421, 0x0422, 0x0423, 0x0424, 0x0425, 0x0426, 0x0427,
    0x0428, 0x0429, 0x042A, 0x042B, 0x042C, 0x042D, 0x042E, 0x042F,
    0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437,
    0x0438, 0x0439, 0x043A, 0x043B, 0x043C, 0x043D, 0x043E, 0x043F,
    0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,
    0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F,
};

enum class Charset { kUtf8, kLatin1, kKoi8r, kKoi8u, kCp1251, kUnknown };

Charset charset_of(std::string_view name) noexcept {
  if (name.empty() || iequals(name, "utf-8") || iequals(name, "utf8") || iequals(name, "us-ascii") ||
      iequals(name, "ascii")) {
    return Charset::kUtf8;
  }
  if (iequals(name, "koi8-r")) return Charset::kKoi8r;
  if (iequals(name, "koi8-u") || iequals(name, "koi8-ru")) return Charset::kKoi8u;
  if (iequals(name, "windows-1251") || iequals(name, "cp1251") || iequals(name, "x-cp1251")) {
    return Charset::kCp1251;
  }
  if (iequals(name, "iso-8859-1") || iequals(name, "latin1") || iequals(name, "iso8859-1")) {
    return Charset::kLatin1;
  }
  return Charset::kUnknown;
}

char32_t koi8u_upper(unsigned char c) noexcept {
  switch (c) {
    case 0xA4: return 0x0454;
    case 0xA6: return 0x0456;
    case 0xA7: return 0x0457;
    case 0xAD: return 0x0491;
    case 0xB4: return 0x0404;
    case 0xB6: return 0x0406;
    case 0xB7: return 0x0407;
    case 0xBD: return 0x0490;
    default: return kKoi8r[c - 0x80];
  }
}

void sanitize_utf8(std::string_view bytes, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  while (i < bytes.size()) {
    char32_t cp;
    const size_t len = core::utf8::decode(p + i, bytes.size() - i, &cp);
    if (len == 0) {
      core::utf8::append(out, 0xFFFD);
      ++i;
    } else {
      out.append(bytes.substr(i, len));
      i += len;
    }
  }
}

void convert(std::string_view bytes, Charset cs, std::string& out) {
  if (cs == Charset::kUtf8 || cs == Charset::kUnknown) {
    sanitize_utf8(bytes, out);
    return;
  }
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
      continue;
    }
    char32_t cp = c;
    if (cs == Charset::kKoi8r) cp = kKoi8r[c - 0x80];
    if (cs == Charset::kKoi8u) cp = koi8u_upper(c);
    if (cs == Charset::kCp1251) cp = kCp1251[c - 0x80];
    core::utf8::append(out, cp);
  }
}

int hex(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// One "=?charset?B|Q?text?=" at the start of `s`; its length, or 0.
struct EncodedWord {
  size_t length = 0;
  std::string_view charset;
  char encoding = 0;
  std::string_view text;
};

EncodedWord encoded_word_at(std::string_view s) noexcept {
  EncodedWord w;
  if (!s.starts_with("=?")) return w;
  const size_t q1 = s.find('?', 2);
  if (q1 == std::string_view::npos || q1 == 2 || q1 > 64 || q1 + 3 > s.size() || s[q1 + 2] != '?') return w;
  const char enc = s[q1 + 1];
  if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q') return w;
  const size_t end = s.find("?=", q1 + 3);
  if (end == std::string_view::npos) return w;
  const std::string_view text = s.substr(q1 + 3, end - q1 - 3);
  if (text.find_first_of(" \t") != std::string_view::npos) return w;
  w.charset = s.substr(2, q1 - 2);
  const size_t star = w.charset.find('*');  // RFC 2231 language suffix
  if (star != std::string_view::npos) w.charset = w.charset.substr(0, star);
  w.encoding = static_cast<char>(enc | 0x20);
  w.text = text;
  w.length = end + 2;
  return w;
}

std::string decode_q(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '_') {
      out.push_back(' ');
    } else if (text[i] == '=' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

bool known_charset(std::string_view charset) noexcept { return charset_of(charset) != Charset::kUnknown; }

std::string to_utf8(std::string_view bytes, std::string_view charset) {
  std::string out;
  out.reserve(bytes.size());
  convert(bytes, charset_of(charset), out);
  return out;
}

std::string decode_2047(std::string_view value) {
  std::string out;
  // Adjacent words of one charset are joined as bytes first: a UTF-8
  // character may be split across two words.
  std::string pending;
  Charset pending_cs = Charset::kUtf8;
  auto flush = [&] {
    convert(pending, pending_cs, out);
    pending.clear();
  };
  bool after_word = false;  // whitespace between two encoded words is dropped
  size_t i = 0;
  while (i < value.size()) {
    const EncodedWord w = encoded_word_at(value.substr(i));
    if (w.length != 0 && charset_of(w.charset) != Charset::kUnknown) {
      const Charset cs = charset_of(w.charset);
      if (cs != pending_cs) flush();
      pending_cs = cs;
      pending += w.encoding == 'b' ? decode_base64(w.text) : decode_q(w.text);
      i += w.length;
      after_word = true;
      continue;
    }
    if (after_word && (value[i] == ' ' || value[i] == '\t')) {
      size_t j = i;
      while (j < value.size() && (value[j] == ' ' || value[j] == '\t')) ++j;
      const EncodedWord next = encoded_word_at(value.substr(j));
      if (next.length != 0 && charset_of(next.charset) != Charset::kUnknown) {
        i = j;
        continue;
      }
    }
    flush();
    after_word = false;
    // Literal text up to the next possible word (unknown charsets included).
    const size_t len = w.length != 0 ? w.length : 1;
    size_t j = i + len;
    while (j < value.size() && !(value[j] == '=' && j + 1 < value.size() && value[j + 1] == '?')) {
      if (value[j] == ' ' || value[j] == '\t') {
        ++j;
        break;
      }
      ++j;
    }
    sanitize_utf8(value.substr(i, j - i), out);
    i = j;
  }
  flush();
  return out;
}

std::string xtext_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace mta::report::detail
