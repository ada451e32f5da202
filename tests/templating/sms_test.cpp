// tests/templating/sms_test.cpp: sms_info(), sms_segments(), gsm7_encode(),
// ucs2_encode() (templating/channels.h).
//
// The GSM tables below are typed again from 3GPP TS 23.038 §6.2.1 and
// §6.2.1.1 in a different form from templating/sms.cpp (rows of UTF-8 text,
// as the standard prints them), and every character of both is checked.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "templating/channels.h"

namespace templating {
namespace {

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out.append(s);
  return out;
}

// Splits UTF-8 into characters (the input here is well-formed).
std::vector<std::string> chars(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.emplace_back(s.substr(i, len));
    i += len;
  }
  return out;
}

// TS 23.038 §6.2.1: septet 0x00 + 16*row + column. "\x1B" (ESC) stands for
// itself: it is the escape to the extension table, not a character.
const std::string_view kBasicRows[8] = {
    "@£$¥èéùìòÇ\nØø\rÅå", "Δ_ΦΓΛΩΠΨΣΘΞ\x1B" "ÆæßÉ", " !\"#¤%&'()*+,-./", "0123456789:;<=>?",
    "¡ABCDEFGHIJKLMNO",   "PQRSTUVWXYZÄÖÑÜ§",   "¿abcdefghijklmno",  "pqrstuvwxyzäöñüà",
};

TEST(SmsGsmTable, EveryBasicCharacterIsOneSeptet) {
  int checked = 0;
  for (int row = 0; row < 8; ++row) {
    const std::vector<std::string> cs = chars(kBasicRows[row]);
    ASSERT_EQ(cs.size(), 16u) << "row " << row;
    for (int col = 0; col < 16; ++col) {
      const int septet = row * 16 + col;
      if (septet == 0x1B) continue;
      const std::string& c = cs[col];
      const SmsInfo info = sms_info(c);
      EXPECT_EQ(info.encoding, SmsEncoding::kGsm7) << c;
      EXPECT_EQ(info.units, 1u) << c;
      EXPECT_EQ(gsm7_encode(c), std::string(1, static_cast<char>(septet))) << c;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 127);
}

TEST(SmsGsmTable, EveryExtensionCharacterIsTwoSeptets) {
  struct Ext {
    std::string_view c;
    char septet;
  };
  const Ext kExt[] = {{"\f", 0x0A}, {"^", 0x14}, {"{", 0x28}, {"}", 0x29}, {"\\", 0x2F},
                      {"[", 0x3C},  {"~", 0x3D}, {"]", 0x3E}, {"|", 0x40}, {"€", 0x65}};
  for (const Ext& e : kExt) {
    const SmsInfo info = sms_info(e.c);
    EXPECT_EQ(info.encoding, SmsEncoding::kGsm7) << e.c;
    EXPECT_EQ(info.units, 2u) << e.c;
    EXPECT_EQ(gsm7_encode(e.c), std::string("\x1B") + e.septet) << e.c;
  }
}

TEST(SmsGsmTable, LookalikesAreNotGsm) {
  // Not in either table: small c cedilla (only capital Ç is, at 0x09),
  // backtick, tab, acute a, curly quotes, dashes, guillemets, Cyrillic,
  // the Ohm sign (Ω is GREEK CAPITAL OMEGA), Greek small letters, NBSP.
  for (const std::string_view c :
       {"ç", "`", "\t", "á", "’", "“", "—", "–", "«", "Ё", "і", "\u2126", "δ", "\xC2\xA0", "¢", "ÿ"}) {
    const SmsInfo info = sms_info(c);
    EXPECT_EQ(info.encoding, SmsEncoding::kUcs2) << c;
    EXPECT_EQ(info.units, 1u) << c;
  }
  EXPECT_EQ(sms_info("Ç").encoding, SmsEncoding::kGsm7);
  EXPECT_EQ(sms_info("é ü Ñ").encoding, SmsEncoding::kGsm7);
}

TEST(SmsGsmTable, PrintableAscii) {
  for (char c = 0x20; c < 0x7F; ++c) {
    const SmsInfo info = sms_info(std::string(1, c));
    if (c == '`') {
      EXPECT_EQ(info.encoding, SmsEncoding::kUcs2);
      continue;
    }
    EXPECT_EQ(info.encoding, SmsEncoding::kGsm7) << c;
    const bool ext = std::string_view("^{}\\[~]|").find(c) != std::string_view::npos;
    EXPECT_EQ(info.units, ext ? 2u : 1u) << c;
  }
}

struct Count {
  const char* name;
  std::string text;
  SmsEncoding encoding;
  size_t units;
  size_t segments;
  size_t per_segment;
};

std::vector<Count> counts() {
  const auto g = SmsEncoding::kGsm7;
  const auto u = SmsEncoding::kUcs2;
  return {
      {"empty", "", g, 0, 0, 160},
      {"one", "a", g, 1, 1, 160},
      {"gsm_160", std::string(160, 'a'), g, 160, 1, 160},
      {"gsm_161", std::string(161, 'a'), g, 161, 2, 153},
      {"gsm_306", std::string(306, 'a'), g, 306, 2, 153},
      {"gsm_307", std::string(307, 'a'), g, 307, 3, 153},
      {"gsm_ext_fits_single", repeat("a", 158) + "€", g, 160, 1, 160},
      {"gsm_ext_overflows_single", repeat("a", 159) + "€", g, 161, 2, 153},
      {"gsm_ext_all", repeat("{", 80), g, 160, 1, 160},
      {"gsm_ext_all_81", repeat("{", 81), g, 162, 2, 153},
      // 152 + ESC pair: the pair moves whole to part 2, which then overflows:
      // 306 septets but 3 parts, where 306 plain ones take 2.
      {"gsm_escape_never_split", repeat("a", 152) + "€" + repeat("a", 152), g, 306, 3, 153},
      {"gsm_escape_fits_exactly", repeat("a", 151) + "€" + repeat("a", 153), g, 306, 2, 153},
      {"ucs2_privit", "Привіт", u, 6, 1, 70},
      {"ucs2_70", repeat("ї", 70), u, 70, 1, 70},
      {"ucs2_71", repeat("ї", 71), u, 71, 2, 67},
      {"ucs2_134", repeat("ї", 134), u, 134, 2, 67},
      {"ucs2_135", repeat("ї", 135), u, 135, 3, 67},
      {"one_non_gsm_switches_all", repeat("a", 100) + "ç", u, 101, 2, 67},
      {"emoji_is_two_units", "😀", u, 2, 1, 70},
      {"emoji_35_single", repeat("😀", 35), u, 70, 1, 70},
      {"emoji_36", repeat("😀", 36), u, 72, 2, 67},
      // 66 + surrogate pair: the pair moves whole to part 2; 134 units, 3 parts.
      {"surrogate_never_split", repeat("Я", 66) + "😀" + repeat("Я", 66), u, 134, 3, 67},
      {"surrogate_fits_exactly", repeat("Я", 65) + "😀" + repeat("Я", 67), u, 134, 2, 67},
      {"invalid_utf8_is_ucs2", "ab\xFF", u, 3, 1, 70},
      {"marketplace_uk",
       "Іване, ваше замовлення №1842 оплачено: 1 250 грн. Урок 13.05 о 18:00. "
       "Посилання: https://osvita.example.ua/l/1842",
       u, 113, 2, 67},
      {"marketplace_en_gsm",
       "Ivan, order #1842 is paid: EUR 12.50 (€). Lesson on 13.05 at 18:00 [Zoom]. "
       "Link: https://osvita.example.ua/l/1842",
       g, 116, 1, 160},
  };
}

TEST(SmsInfo, CountsSegmentsExactly) {
  for (const Count& c : counts()) {
    const SmsInfo info = sms_info(c.text);
    EXPECT_EQ(info.encoding, c.encoding) << c.name;
    EXPECT_EQ(info.units, c.units) << c.name;
    EXPECT_EQ(info.segments, c.segments) << c.name;
    EXPECT_EQ(info.per_segment, c.per_segment) << c.name;
    const std::vector<std::string> parts = sms_segments(c.text);
    EXPECT_EQ(parts.size(), c.segments) << c.name;
  }
}

TEST(SmsSegments, SplitsWhereTheSenderMust) {
  {
    const auto parts = sms_segments(repeat("a", 152) + "€" + repeat("a", 152));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0], repeat("a", 152));  // 152 septets: the ESC pair did not fit
    EXPECT_EQ(parts[1], "€" + repeat("a", 151));
    EXPECT_EQ(parts[2], "a");
    EXPECT_EQ(gsm7_encode(parts[1]).size(), 153u);
  }
  {
    const auto parts = sms_segments(repeat("Я", 66) + "😀" + repeat("Я", 66));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0], repeat("Я", 66));
    EXPECT_EQ(parts[1], "😀" + repeat("Я", 65));
    EXPECT_EQ(parts[2], "Я");
    EXPECT_EQ(ucs2_encode(parts[1]).size(), 2u * 67);
  }
  EXPECT_EQ(sms_segments("ab\xFF"), std::vector<std::string>{"ab\xEF\xBF\xBD"});
  EXPECT_TRUE(sms_segments("").empty());
}

size_t units_of(const std::string& s, SmsEncoding enc) {
  return enc == SmsEncoding::kGsm7 ? gsm7_encode(s).size() : ucs2_encode(s).size() / 2;
}

// Property: for random mixes of plain, extension, non-GSM and non-BMP
// characters, the parts are consistent with sms_info() and as full as the
// rules allow (the next character would not have fitted).
TEST(SmsSegments, ConsistentWithInfoOnRandomText) {
  const std::vector<std::string_view> gsm_pool = {"a", "Z", " ", "@", "é", "Δ", "€", "{", "\\", "\n"};
  const std::vector<std::string_view> ucs_pool = {"a", "ї", "€", "😀", "{", "—", "𝄞", "Я"};
  std::mt19937 rng(1842);
  for (int round = 0; round < 400; ++round) {
    const auto& pool = round % 2 ? ucs_pool : gsm_pool;
    std::string text;
    const size_t n = rng() % 500;
    std::vector<std::string> cs;
    for (size_t i = 0; i < n; ++i) {
      cs.emplace_back(pool[rng() % pool.size()]);
      text += cs.back();
    }
    const SmsInfo info = sms_info(text);
    const std::vector<std::string> parts = sms_segments(text);
    ASSERT_EQ(parts.size(), info.segments) << text;
    std::string joined;
    size_t total = 0;
    size_t ci = 0;
    for (size_t p = 0; p < parts.size(); ++p) {
      joined += parts[p];
      const size_t u = units_of(parts[p], info.encoding);
      total += u;
      EXPECT_LE(u, info.per_segment);
      EXPECT_GT(u, 0u);
      ci += chars(parts[p]).size();
      if (p + 1 < parts.size()) {  // the next character did not fit
        EXPECT_GT(u + units_of(cs[ci], info.encoding), info.per_segment);
      }
    }
    EXPECT_EQ(joined, text);
    EXPECT_EQ(total, info.units);
  }
}

TEST(SmsEncode, Gsm7Unpacked) {
  EXPECT_EQ(gsm7_encode("Hi @ home_$"), std::string("Hi \x00 home\x11\x02", 11));
  EXPECT_EQ(gsm7_encode("[€]"), "\x1B\x3C\x1B\x65\x1B\x3E");
  EXPECT_EQ(gsm7_encode("\r\n"), "\x0D\x0A");
  EXPECT_EQ(gsm7_encode(""), "");
}

TEST(SmsEncode, Ucs2BigEndianWithSurrogates) {
  EXPECT_EQ(ucs2_encode("Привіт"), std::string("\x04\x1F\x04\x40\x04\x38\x04\x32\x04\x56\x04\x42", 12));
  EXPECT_EQ(ucs2_encode("A😀"), std::string("\x00\x41\xD8\x3D\xDE\x00", 6));
  EXPECT_EQ(ucs2_encode("\xFF"), "\xFF\xFD");
  EXPECT_EQ(ucs2_encode(""), "");
}

}  // namespace
}  // namespace templating
