// templating/plural.cpp: see plural.h. Rules from CLDR 44 plurals.xml.
#include "templating/plural.h"

namespace templating::lang {

std::optional<Locale> parse_locale(std::string_view tag) noexcept {
  if (tag.size() < 2) return std::nullopt;
  if (tag.size() > 2 && tag[2] != '-' && tag[2] != '_') return std::nullopt;
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; };
  char a = lower(tag[0]), b = lower(tag[1]);
  if (a == 'u' && b == 'k') return Locale::kUk;
  if (a == 'r' && b == 'u') return Locale::kRu;
  if (a == 'e' && b == 'n') return Locale::kEn;
  return std::nullopt;
}

std::string_view locale_name(Locale l) noexcept {
  switch (l) {
    case Locale::kUk: return "uk";
    case Locale::kRu: return "ru";
    case Locale::kEn: return "en";
  }
  return "en";
}

PluralCategory plural_category(Locale l, uint64_t i, bool fraction) noexcept {
  if (l == Locale::kEn) return (i == 1 && !fraction) ? PluralCategory::kOne : PluralCategory::kOther;
  if (fraction) return PluralCategory::kOther;
  uint64_t m10 = i % 10, m100 = i % 100;
  if (m10 == 1 && m100 != 11) return PluralCategory::kOne;
  if (m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14)) return PluralCategory::kFew;
  return PluralCategory::kMany;
}

size_t plural_form_index(Locale l, PluralCategory c, size_t forms) noexcept {
  if (c == PluralCategory::kOne) return 0;
  if (l == Locale::kEn || forms < 3) return 1;
  return c == PluralCategory::kMany ? 2 : 1;
}

}  // namespace templating::lang
