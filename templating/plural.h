// templating/plural.h: the locales the template language knows, and their
// CLDR plural rules (private to templating/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace templating::lang {

enum class Locale : uint8_t { kUk, kRu, kEn };

// "uk", "uk-UA", "uk_UA", "UK" -> kUk; likewise "ru", "en". Anything else
// is nullopt (the renderer then uses English and warns once).
std::optional<Locale> parse_locale(std::string_view tag) noexcept;
std::string_view locale_name(Locale l) noexcept;

// CLDR plural categories; uk and ru use one/few/many/other, en one/other.
enum class PluralCategory : uint8_t { kOne, kFew, kMany, kOther };

// The category of a number whose absolute integer part is `i`; `fraction`
// says whether visible fraction digits exist (1.5, not 1 or 1.0 from JSON
// integers). CLDR for uk/ru: one = i%10=1 and i%100!=11; few = i%10 in 2..4
// and i%100 not in 12..14; many = the rest of the integers; other = any
// number with a fraction. en: one = exactly 1; other = the rest.
PluralCategory plural_category(Locale l, uint64_t i, bool fraction) noexcept;

// Which of `forms` word forms a category selects. Forms are given in the
// order one, few, many for uk/ru ("урок", "уроки", "уроків") and one, other
// for en. CLDR's "other" (fractions) takes the few form: "1,5 уроки".
// (Grammar books prefer the genitive singular, "1,5 уроку", which is not one
// of the three forms; authors who show fractions can word around it.) With
// two forms in uk/ru everything but "one" takes the second; with three in en
// the third is unused. REQUIRES: forms is 2 or 3.
size_t plural_form_index(Locale l, PluralCategory c, size_t forms) noexcept;

}  // namespace templating::lang
