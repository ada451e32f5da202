// tests/templating/text_case_test.cpp: UTF-8 helpers and case mapping
// (templating/text_case.h).
#include "templating/text_case.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace templating::lang;

TEST(TextCase, Utf8Validation) {
  EXPECT_EQ(utf8_invalid_offset(""), std::string_view::npos);
  EXPECT_EQ(utf8_invalid_offset("plain ascii text, longer than eight bytes"), std::string_view::npos);
  EXPECT_EQ(utf8_invalid_offset("Привіт 🙂 ΑΒΓ"), std::string_view::npos);
  EXPECT_EQ(utf8_invalid_offset("abcdefghij\xFF"), 10u);
  EXPECT_EQ(utf8_invalid_offset("\xC0\xAF"), 0u);              // overlong '/'
  EXPECT_EQ(utf8_invalid_offset("\xE0\x80\xAF"), 0u);          // overlong
  EXPECT_EQ(utf8_invalid_offset("a\xED\xA0\x80"), 1u);         // surrogate
  EXPECT_EQ(utf8_invalid_offset("\xF4\x90\x80\x80"), 0u);      // beyond U+10FFFF
  EXPECT_EQ(utf8_invalid_offset("\xF0\x9F\x99"), 0u);          // truncated
  EXPECT_EQ(utf8_invalid_offset("\x80"), 0u);                  // lone continuation
  EXPECT_EQ(utf8_invalid_offset(std::string_view("a\0b", 3)), std::string_view::npos);
}

TEST(TextCase, Lengths) {
  EXPECT_EQ(utf8_length("Їжак🙂"), 5u);
  EXPECT_EQ(utf8_prefix_bytes("Їжак🙂", 1), 2u);
  EXPECT_EQ(utf8_prefix_bytes("Їжак🙂", 4), 8u);
  EXPECT_EQ(utf8_prefix_bytes("Їжак🙂", 9), 12u);
  EXPECT_EQ(utf8_prefix_bytes("abc", 0), 0u);
}

TEST(TextCase, CaseMapping) {
  struct Pair {
    char32_t upper, lower;
  };
  for (const Pair& p : {Pair{U'A', U'a'}, Pair{U'Z', U'z'}, Pair{U'À', U'à'}, Pair{U'Þ', U'þ'},
                        Pair{U'Ā', U'ā'}, Pair{U'Ł', U'ł'}, Pair{U'Ź', U'ź'}, Pair{U'Ž', U'ž'},
                        Pair{U'Ŋ', U'ŋ'}, Pair{U'Α', U'α'}, Pair{U'Ω', U'ω'}, Pair{U'Ά', U'ά'},
                        Pair{U'Ώ', U'ώ'}, Pair{U'Ϊ', U'ϊ'}, Pair{U'А', U'а'}, Pair{U'Я', U'я'},
                        Pair{U'Ё', U'ё'}, Pair{U'Є', U'є'}, Pair{U'І', U'і'}, Pair{U'Ї', U'ї'},
                        Pair{U'Ґ', U'ґ'}, Pair{U'Ў', U'ў'}, Pair{U'Ѣ', U'ѣ'}, Pair{U'Ӂ', U'ӂ'},
                        Pair{U'Ӏ', U'ӏ'}, Pair{U'Ԯ', U'ԯ'}}) {
    EXPECT_EQ(to_lower(p.upper), p.lower) << uint32_t(p.upper);
    EXPECT_EQ(to_upper(p.lower), p.upper) << uint32_t(p.lower);
    EXPECT_EQ(to_upper(p.upper), p.upper);
    EXPECT_EQ(to_lower(p.lower), p.lower);
  }
  // One-way and caseless.
  EXPECT_EQ(to_upper(U'ς'), U'Σ');
  EXPECT_EQ(to_upper(U'ÿ'), U'Ÿ');
  EXPECT_EQ(to_lower(U'Ÿ'), U'ÿ');
  EXPECT_EQ(to_lower(U'İ'), U'i');
  EXPECT_EQ(to_upper(U'ı'), U'I');
  EXPECT_EQ(to_upper(U'ſ'), U'S');
  EXPECT_EQ(to_upper(U'µ'), U'Μ');
  for (char32_t c : {U'ß', U'ĸ', U'×', U'÷', U'1', U'中', U'🙂', U'ʼ'}) {
    EXPECT_EQ(to_upper(c), c);
    EXPECT_EQ(to_lower(c), c);
  }
}

TEST(TextCase, Strings) {
  std::string out;
  append_upper(out, "Київ, ґудзик, їжак, єнот");
  EXPECT_EQ(out, "КИЇВ, ҐУДЗИК, ЇЖАК, ЄНОТ");
  out.clear();
  append_lower(out, "ПЕТРО І ЇЖАК");
  EXPECT_EQ(out, "петро і їжак");
  out.clear();
  append_capitalized(out, "ґанок ҐАНОК");
  EXPECT_EQ(out, "Ґанок ҐАНОК");
  out.clear();
  append_upper(out, "a\xFF\xD0z");  // invalid bytes pass through untouched
  EXPECT_EQ(out, "A\xFF\xD0Z");
  EXPECT_EQ(trim_spaces(" \t\n\u00a0 привіт світ \u2003\u3000\ufeff"), "привіт світ");
  EXPECT_EQ(trim_spaces("   "), "");
  EXPECT_EQ(trim_spaces("x"), "x");
  EXPECT_EQ(trim_spaces("\xFF "), "\xFF");
}

}  // namespace
