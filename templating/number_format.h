// templating/number_format.h: locale number formatting for the `number`
// and `plural` filters (private to templating/).
//
// Separators (CLDR): uk and ru group thousands with U+00A0 NO-BREAK SPACE
// and use a decimal comma ("1 234 567,50"); en uses "," and "." ("1,234,567.50").
// The no-break space keeps a number on one line in mail clients and is what
// CLDR and the OS locales of both languages use; the narrow U+202F is
// avoided because older clients and fonts render it as a box. Grouping
// starts at four digits ("1 000"). Negative numbers take ASCII "-".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "templating/plural.h"

namespace templating::lang {

std::string_view group_separator(Locale l) noexcept;    // "\u00A0" or ","
std::string_view decimal_separator(Locale l) noexcept;  // "," or "."

// An exact integer (int64/uint64 never pass through double).
void append_integer(std::string& out, Locale l, bool negative, uint64_t magnitude);
// decimals >= 0: exactly that many fraction digits, rounded from the exact
// binary value (so 2.675 gives "2,67"); decimals < 0: the shortest form that
// reads back to the same double, never in exponent notation. Non-finite
// values print as "∞", "-∞" or "NaN".
void append_double(std::string& out, Locale l, double v, int decimals);

// The decimal digits of "-1234.50"-shaped ASCII text (as std::to_chars
// writes it, sign and point optional) re-emitted with locale separators.
void append_localized_digits(std::string& out, Locale l, std::string_view ascii);

}  // namespace templating::lang
