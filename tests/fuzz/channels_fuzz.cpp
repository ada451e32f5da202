// tests/fuzz/channels_fuzz.cpp: fuzz target for templating/channels.h — the
// per-channel text rules, fed with any bytes.
//
// Invariants, checked on every input:
//   html_to_text    well-formed UTF-8; LF line ends; no control characters
//                   but LF and tab; no trailing blanks on any line; no
//                   leading or trailing blank lines; at most one empty line
//                   in a row.
//   telegram_html   accepted by the independent Bot API checker
//                   (tests/templating/telegram_check.h: only allowed tags and
//                   attributes, balanced, nesting rules, escapes);
//                   telegram_length() equals the UTF-16 length of the text it
//                   shows; and it is idempotent (the output, fed back, comes
//                   out unchanged).
//   telegram_escape well-formed, and shows exactly the (sanitised) input.
//   sms             sms_segments() agrees with sms_info(): count, parts
//                   concatenate to the sanitised input, every part fits,
//                   every part but the last is full, the encoders' sizes add
//                   up to info.units.
//   buttons         when the input is JSON, parse_buttons() and
//                   check_buttons() either succeed or name the field in a
//                   "field: message" error.
//
// Seed corpus: tests/fuzz/corpus/channels/.
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/message.h"
#include "templating/channels.h"
#include "tests/templating/telegram_check.h"
#include "fuzz_check.h"

namespace {

using templating::testing::telegram_check;
using templating::testing::telegram_plain;
using templating::testing::tg_valid_utf8;
using templating::testing::utf16_units;

// The input with every ill-formed byte as U+FFFD (what the SMS and escape
// functions promise to work on). Decoded independently of templating/.
std::string sanitize(std::string_view s, bool drop_nul) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len > 1 && !(i + len <= s.size() && tg_valid_utf8(s.substr(i, len)))) len = 0;
    if (len == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
      continue;
    }
    if (!(drop_nul && c == 0)) out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

void check_text(std::string_view in, const std::string& t) {
  struct Report {  // on failure, show what was produced from what
    std::string_view in;
    const std::string& t;
    ~Report() {}
  } report{in, t};
  (void)report;
  if (getenv("CHANNELS_FUZZ_VERBOSE")) {
    std::fprintf(stderr, "in[%.*s]\nout[%s]\n", static_cast<int>(in.size()), in.data(), t.c_str());
  }
  FUZZ_CHECK(tg_valid_utf8(t));
  for (const char c : t) {
    const auto u = static_cast<unsigned char>(c);
    FUZZ_CHECK(u >= 0x20 || c == '\n' || c == '\t');
    FUZZ_CHECK(u != 0x7F);
  }
  FUZZ_CHECK(t.find("\n\n\n") == std::string::npos);
  FUZZ_CHECK(t.find(" \n") == std::string::npos);
  FUZZ_CHECK(t.find("\t\n") == std::string::npos);
  if (!t.empty()) {
    FUZZ_CHECK(t.front() != '\n');
    FUZZ_CHECK(t.back() != '\n' && t.back() != ' ' && t.back() != '\t');
  }
}

void check_telegram(std::string_view in) {
  const std::string tg = templating::telegram_html(in);
  const std::string why = telegram_check(tg);
  if (!why.empty()) {
    std::fprintf(stderr, "telegram_check: %s\n[%s]\n", why.c_str(), tg.c_str());
    FUZZ_CHECK(why.empty());
  }
  FUZZ_CHECK(templating::telegram_length(tg) == utf16_units(telegram_plain(tg)));
  const std::string again = templating::telegram_html(tg);
  if (again != tg) {
    std::fprintf(stderr, "not idempotent:\n[%s]\n[%s]\n", tg.c_str(), again.c_str());
    FUZZ_CHECK(again == tg);
  }

  const std::string esc = templating::telegram_escape(in);
  FUZZ_CHECK(telegram_check(esc, /*trimmed=*/false).empty());
  FUZZ_CHECK(telegram_plain(esc) == sanitize(in, /*drop_nul=*/true));
}

void check_sms(std::string_view in) {
  const templating::SmsInfo info = templating::sms_info(in);
  const auto parts = templating::sms_segments(in);
  FUZZ_CHECK(parts.size() == info.segments);
  FUZZ_CHECK((info.units == 0) == (info.segments == 0));
  const bool gsm = info.encoding == templating::SmsEncoding::kGsm7;
  std::string joined;
  size_t units = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    joined += parts[i];
    const size_t u = gsm ? templating::gsm7_encode(parts[i]).size()
                         : templating::ucs2_encode(parts[i]).size() / 2;
    FUZZ_CHECK(u > 0 && u <= info.per_segment);
    // A part but the last ends only because the next character (1 or 2
    // units) did not fit.
    if (i + 1 < parts.size()) FUZZ_CHECK(u + 2 > info.per_segment);
    units += u;
  }
  FUZZ_CHECK(units == info.units);
  FUZZ_CHECK(joined == sanitize(in, /*drop_nul=*/false));
  if (info.segments == 1) {
    FUZZ_CHECK(info.per_segment == (gsm ? templating::kGsm7Single : templating::kUcs2Single));
  } else if (info.segments > 1) {
    FUZZ_CHECK(info.per_segment == (gsm ? templating::kGsm7Part : templating::kUcs2Part));
  }
}

void check_error(const core::Error& e) {
  FUZZ_CHECK(e.code == core::Errc::kInvalidArgument);
  FUZZ_CHECK(!e.field.empty());
  FUZZ_CHECK(e.message.rfind(e.field + ": ", 0) == 0);
  FUZZ_CHECK(e.field.rfind("buttons", 0) == 0);
  FUZZ_CHECK(tg_valid_utf8(e.message));
  for (const char c : e.message) FUZZ_CHECK(c != '\n' && c != '\r' && c != '\0');
}

void check_buttons(std::string_view in) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(in, ec);
  if (ec) return;
  auto rows = templating::parse_buttons(v);
  if (!rows) {
    check_error(rows.error());
    return;
  }
  FUZZ_CHECK(rows->size() <= templating::kMaxButtonRows);
  for (const auto& row : *rows) {
    FUZZ_CHECK(!row.empty() && row.size() <= templating::kMaxButtonsPerRow);
    for (const auto& b : row) FUZZ_CHECK(b.url.empty() != b.payload.empty());
  }
  for (const core::Channel c : core::kAllChannels) {
    const core::Status st = templating::check_buttons(*rows, c);
    if (!st) check_error(st.error());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_text(in, templating::html_to_text(in));
  check_telegram(in);
  check_sms(in);
  check_buttons(in);
  return 0;
}
