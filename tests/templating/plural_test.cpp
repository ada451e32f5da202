// tests/templating/plural_test.cpp: CLDR plural categories and locale tags
// (templating/plural.h). Rows follow CLDR's own examples for uk and ru.
#include "templating/plural.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

using templating::lang::Locale;
using templating::lang::parse_locale;
using templating::lang::plural_category;
using templating::lang::plural_form_index;
using templating::lang::PluralCategory;

TEST(Plural, UkrainianAndRussianIntegers) {
  struct Row {
    uint64_t n;
    PluralCategory c;
  };
  const auto one = PluralCategory::kOne, few = PluralCategory::kFew, many = PluralCategory::kMany;
  const std::vector<Row> rows = {
      {0, many},   {1, one},    {2, few},    {3, few},    {4, few},     {5, many},    {10, many},
      {11, many},  {12, many},  {13, many},  {14, many},  {15, many},   {20, many},   {21, one},
      {22, few},   {24, few},   {25, many},  {100, many}, {101, one},   {102, few},   {111, many},
      {112, many}, {114, many}, {121, one},  {1001, one}, {1011, many}, {1000000, many},
      {18446744073709551615ull, many},  // ...615: 5 -> many
  };
  for (Locale l : {Locale::kUk, Locale::kRu}) {
    for (const Row& r : rows) EXPECT_EQ(plural_category(l, r.n, false), r.c) << r.n;
    EXPECT_EQ(plural_category(l, 1, true), PluralCategory::kOther);  // 1.5
    EXPECT_EQ(plural_category(l, 0, true), PluralCategory::kOther);  // 0.5
  }
}

TEST(Plural, English) {
  EXPECT_EQ(plural_category(Locale::kEn, 1, false), PluralCategory::kOne);
  for (uint64_t n : {0, 2, 5, 11, 21, 101}) EXPECT_EQ(plural_category(Locale::kEn, n, false), PluralCategory::kOther);
  EXPECT_EQ(plural_category(Locale::kEn, 1, true), PluralCategory::kOther);  // 1.5
}

TEST(Plural, FormIndex) {
  // uk/ru with three forms: one, few, many; "other" (fractions) takes few.
  EXPECT_EQ(plural_form_index(Locale::kUk, PluralCategory::kOne, 3), 0u);
  EXPECT_EQ(plural_form_index(Locale::kUk, PluralCategory::kFew, 3), 1u);
  EXPECT_EQ(plural_form_index(Locale::kUk, PluralCategory::kMany, 3), 2u);
  EXPECT_EQ(plural_form_index(Locale::kRu, PluralCategory::kOther, 3), 1u);
  // uk with two forms; en with two or three.
  EXPECT_EQ(plural_form_index(Locale::kUk, PluralCategory::kMany, 2), 1u);
  EXPECT_EQ(plural_form_index(Locale::kEn, PluralCategory::kOther, 2), 1u);
  EXPECT_EQ(plural_form_index(Locale::kEn, PluralCategory::kOther, 3), 1u);
}

TEST(Plural, LocaleTags) {
  EXPECT_EQ(parse_locale("uk"), Locale::kUk);
  EXPECT_EQ(parse_locale("uk-UA"), Locale::kUk);
  EXPECT_EQ(parse_locale("UK_ua"), Locale::kUk);
  EXPECT_EQ(parse_locale("ru"), Locale::kRu);
  EXPECT_EQ(parse_locale("en-US"), Locale::kEn);
  for (const char* bad : {"", "u", "ukr", "de", "en:US", "ua"}) EXPECT_FALSE(parse_locale(bad)) << bad;
}

}  // namespace
