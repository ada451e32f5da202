// templating/number_format.cpp: see number_format.h.
#include "templating/number_format.h"

#include <charconv>
#include <cmath>

namespace templating::lang {

std::string_view group_separator(Locale l) noexcept {
  return l == Locale::kEn ? std::string_view(",") : std::string_view("\xC2\xA0");
}
std::string_view decimal_separator(Locale l) noexcept {
  return l == Locale::kEn ? std::string_view(".") : std::string_view(",");
}

void append_localized_digits(std::string& out, Locale l, std::string_view s) {
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  size_t point = s.find('.');
  std::string_view int_part = s.substr(0, point);
  std::string_view frac = point == std::string_view::npos ? std::string_view() : s.substr(point + 1);
  // "-0.00" after rounding is zero: no sign.
  if (negative && s.find_first_not_of("0.") == std::string_view::npos) negative = false;
  if (negative) out.push_back('-');
  std::string_view group = group_separator(l);
  size_t n = int_part.size();
  for (size_t i = 0; i < n; ++i) {
    out.push_back(int_part[i]);
    size_t left = n - i - 1;
    if (left > 0 && left % 3 == 0 && n >= 4) out.append(group);
  }
  if (!frac.empty()) {
    out.append(decimal_separator(l));
    out.append(frac);
  }
}

void append_integer(std::string& out, Locale l, bool negative, uint64_t magnitude) {
  char buf[24];
  char* p = buf;
  if (negative && magnitude != 0) *p++ = '-';
  auto r = std::to_chars(p, buf + sizeof buf, magnitude);
  append_localized_digits(out, l, std::string_view(buf, size_t(r.ptr - buf)));
}

void append_double(std::string& out, Locale l, double v, int decimals) {
  if (std::isnan(v)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out.append(v < 0 ? "-\xE2\x88\x9E" : "\xE2\x88\x9E");
    return;
  }
  // The longest fixed form of a double is about 330 characters (the
  // smallest subnormal); 360 leaves room for a sign and 10 decimals.
  char buf[360];
  std::to_chars_result r;
  if (decimals >= 0) {
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  } else {
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  }
  if (r.ec != std::errc()) {
    r = std::to_chars(buf, buf + sizeof buf, v);  // cannot happen; keep a valid output
    out.append(buf, size_t(r.ptr - buf));
    return;
  }
  append_localized_digits(out, l, std::string_view(buf, size_t(r.ptr - buf)));
}

}  // namespace templating::lang
