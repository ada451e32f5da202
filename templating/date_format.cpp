// templating/date_format.cpp: see date_format.h. Names are CLDR 44's
// (wide and abbreviated, format and stand-alone contexts).
#include "templating/date_format.h"

#include <array>
#include <charconv>

namespace templating::lang {

namespace {

using Names12 = std::array<std::string_view, 12>;
using Names7 = std::array<std::string_view, 7>;

struct LocaleNames {
  Names12 months_nominative;  // stand-alone: "листопад 2026"
  Names12 months_genitive;    // format: "23 листопада"
  Names12 months_short_standalone;
  Names12 months_short_format;
  Names7 days;  // Sunday first
  Names7 days_short;
};

constexpr LocaleNames kUk{
    {"січень", "лютий", "березень", "квітень", "травень", "червень", "липень", "серпень",
     "вересень", "жовтень", "листопад", "грудень"},
    {"січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня",
     "жовтня", "листопада", "грудня"},
    {"січ.", "лют.", "бер.", "квіт.", "трав.", "черв.", "лип.", "серп.", "вер.", "жовт.",
     "лист.", "груд."},
    {"січ.", "лют.", "бер.", "квіт.", "трав.", "черв.", "лип.", "серп.", "вер.", "жовт.",
     "лист.", "груд."},
    {"неділя", "понеділок", "вівторок", "середа", "четвер", "пʼятниця", "субота"},
    {"нд", "пн", "вт", "ср", "чт", "пт", "сб"},
};

constexpr LocaleNames kRu{
    {"январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь",
     "октябрь", "ноябрь", "декабрь"},
    {"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
     "октября", "ноября", "декабря"},
    {"янв.", "февр.", "март", "апр.", "май", "июнь", "июль", "авг.", "сент.", "окт.", "нояб.",
     "дек."},
    {"янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.",
     "дек."},
    {"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"},
    {"вс", "пн", "вт", "ср", "чт", "пт", "сб"},
};

constexpr LocaleNames kEn{
    {"January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"},
    {"January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"},
    {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
    {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
    {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
    {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
};

const LocaleNames& names(Locale l) noexcept {
  switch (l) {
    case Locale::kUk: return kUk;
    case Locale::kRu: return kRu;
    case Locale::kEn: return kEn;
  }
  return kEn;
}

bool known_directive(char c) noexcept {
  switch (c) {
    case 'Y': case 'm': case 'd': case 'H': case 'M': case 'S': case 'y': case 'e': case 'j':
    case 'Z': case 'z': case '%': case 'B': case 'b': case 'A': case 'a':
      return true;
    default:
      return false;
  }
}

bool numeric_directive(char c) noexcept {
  switch (c) {
    case 'Y': case 'm': case 'd': case 'H': case 'M': case 'S': case 'y': case 'e': case 'j':
      return true;
    default:
      return false;
  }
}

// Appends v (>= 0 except for years) padded to `width` with `pad`, or
// unpadded when width is 0.
void append_num(std::string& out, int64_t v, int width, char pad) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  size_t len = size_t(r.ptr - buf);
  for (size_t i = len; i < size_t(width); ++i) out.push_back(pad);
  out.append(buf, len);
}

bool has_day_of_month(std::string_view f) noexcept {
  for (size_t i = 0; i + 1 < f.size(); ++i) {
    if (f[i] != '%') continue;
    size_t k = i + 1;
    if (f[k] == '%') {  // "%%" is a literal percent sign
      i = k;
      continue;
    }
    if (f[k] == '-' && k + 1 < f.size()) ++k;
    if (f[k] == 'd' || f[k] == 'e') return true;
    i = k;
  }
  return false;
}

}  // namespace

CivilTime civil_time(int64_t unix_seconds, int32_t utc_offset, std::string_view abbreviation) noexcept {
  CivilTime t;
  int64_t local = unix_seconds + utc_offset;
  int64_t days = floor_div(local, 86400);
  int64_t sod = local - days * 86400;
  t.hour = int(sod / 3600);
  t.minute = int(sod / 60 % 60);
  t.second = int(sod % 60);
  t.wday = weekday_from_days(days);
  // Hinnant's civil_from_days.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  t.day = int(doy - (153 * mp + 2) / 5 + 1);
  t.month = int(mp < 10 ? mp + 3 : mp - 9);
  t.year = yoe + era * 400 + (t.month <= 2);
  t.yday = int(days - days_from_civil(t.year, 1, 1) + 1);
  t.utc_offset = utc_offset;
  t.abbreviation = abbreviation;
  return t;
}

std::optional<std::string> check_date_format(std::string_view f) {
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') continue;
    if (i + 1 >= f.size()) return std::string("'%' at the end of the format");
    size_t k = i + 1;
    bool flag = f[k] == '-';
    if (flag) {
      if (k + 1 >= f.size()) return std::string("'%-' at the end of the format");
      ++k;
    }
    char c = f[k];
    if (!known_directive(c) || (flag && !numeric_directive(c))) {
      std::string d = "%";
      if (flag) d.push_back('-');
      // Quote the whole character after '%', which may be multi-byte.
      size_t end = k + 1;
      while (end < f.size() && (static_cast<unsigned char>(f[end]) & 0xC0) == 0x80) ++end;
      d.append(f.substr(k, end - k));
      return "unknown directive '" + d + "'";
    }
    i = k;
  }
  return std::nullopt;
}

void append_date(std::string& out, std::string_view f, const CivilTime& t, Locale l) {
  const LocaleNames& n = names(l);
  const bool genitive = has_day_of_month(f);
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c != '%' || i + 1 >= f.size()) {
      out.push_back(c);
      continue;
    }
    size_t k = i + 1;
    bool unpadded = f[k] == '-' && k + 1 < f.size();
    if (unpadded) ++k;
    i = k;
    int w2 = unpadded ? 0 : 2;
    switch (f[k]) {
      case 'Y': append_num(out, t.year, unpadded ? 0 : 4, '0'); break;
      case 'y': append_num(out, ((t.year % 100) + 100) % 100, w2, '0'); break;
      case 'm': append_num(out, t.month, w2, '0'); break;
      case 'd': append_num(out, t.day, w2, '0'); break;
      case 'e': append_num(out, t.day, w2, ' '); break;
      case 'H': append_num(out, t.hour, w2, '0'); break;
      case 'M': append_num(out, t.minute, w2, '0'); break;
      case 'S': append_num(out, t.second, w2, '0'); break;
      case 'j': append_num(out, t.yday, unpadded ? 0 : 3, '0'); break;
      case 'B':
        out.append(genitive ? n.months_genitive[size_t(t.month - 1)]
                            : n.months_nominative[size_t(t.month - 1)]);
        break;
      case 'b':
        out.append(genitive ? n.months_short_format[size_t(t.month - 1)]
                            : n.months_short_standalone[size_t(t.month - 1)]);
        break;
      case 'A': out.append(n.days[size_t(t.wday)]); break;
      case 'a': out.append(n.days_short[size_t(t.wday)]); break;
      case 'Z': {
        if (!t.abbreviation.empty()) {
          out.append(t.abbreviation);
          break;
        }
        [[fallthrough]];  // no abbreviation: the numeric offset
      }
      case 'z': {
        int32_t off = t.utc_offset;
        out.push_back(off < 0 ? '-' : '+');
        if (off < 0) off = -off;
        append_num(out, off / 3600, 2, '0');
        append_num(out, off / 60 % 60, 2, '0');
        break;
      }
      case '%': out.push_back('%'); break;
      default:  // unreachable after check_date_format; keep the text
        out.push_back('%');
        out.push_back(f[k]);
        break;
    }
  }
}

}  // namespace templating::lang
