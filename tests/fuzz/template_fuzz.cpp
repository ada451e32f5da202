// tests/fuzz/template_fuzz.cpp: fuzz target for templating/template.h — the
// template lexer, compiler and interpreter.
//
// Any input either compiles or fails with "line L, column C: reason" (L and
// C within the input, the message valid UTF-8 on one line). A template that
// compiles renders against a fixed set of variables without crashing, the
// same way twice; when the source is valid UTF-8 — and it must be, to
// compile — the output and the report are valid UTF-8 too.
//
// Seed corpus: tests/fuzz/corpus/template/.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "templating/template.h"
#include "templating/text_case.h"
#include "fuzz_check.h"

namespace {

using templating::lang::is_valid_utf8;

// Lists have at most two items so that nested loops grow slowly; the
// renderer's step budget bounds the rest.
const boost::json::value& variables() {
  static const boost::json::value v = boost::json::parse(R"({
    "name": "Іван", "empty": "", "nothing": null, "zero": 0, "yes": true, "no": false,
    "html": "<b>Tom & \"Jerry\"</b>", "n": 21, "x": 1.5, "big": 18446744073709551615,
    "neg": -9223372036854775808, "when": "2026-03-29T01:00:00Z", "unix": 1792890000,
    "order": {"id": 1842, "total": 1234.5, "items": [{"title": "Вступ"}, {"title": "ΑΒΓ"}]},
    "list": [1, "два"], "obj": {"a": [], "b": {}}, "text": "  привіт, світе  ",
    "bad_date": "2026-02-30T00:00:00Z", "emoji": "🙂👍🏽"
  })");
  return v;
}

// "line L, column C: reason"
void check_error(const core::Error& e, std::string_view source) {
  FUZZ_CHECK(e.code == core::Errc::kInvalidArgument);
  FUZZ_CHECK(e.field.empty());
  FUZZ_CHECK(is_valid_utf8(e.message));
  FUZZ_CHECK(e.message.find('\n') == std::string::npos && e.message.find('\r') == std::string::npos);
  unsigned long line = 0, column = 0;
  int consumed = 0;
  FUZZ_CHECK(std::sscanf(e.message.c_str(), "line %lu, column %lu: %n", &line, &column, &consumed) == 2);
  FUZZ_CHECK(consumed > 0 && size_t(consumed) < e.message.size());
  size_t lines = 1;
  for (char c : source) lines += c == '\n';
  FUZZ_CHECK(line >= 1 && line <= lines);
  FUZZ_CHECK(column >= 1 && column <= source.size() + 1);
}

void check_report(const templating::RenderReport& r) {
  for (const auto& m : r.missing) FUZZ_CHECK(!m.empty() && is_valid_utf8(m));
  for (const auto& w : r.warnings) FUZZ_CHECK(!w.empty() && is_valid_utf8(w));
  FUZZ_CHECK(r.warnings.size() <= 64);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view source(reinterpret_cast<const char*>(data), size);
  templating::CompileOptions copt;
  copt.escape = (size % 2) ? templating::Escape::kHtml : templating::Escape::kNone;
  auto t = templating::Template::compile(source, copt);
  if (!t) {
    check_error(t.error(), source);
    return 0;
  }
  FUZZ_CHECK(is_valid_utf8(source));

  templating::RenderOptions uk;
  uk.time_zone = "Europe/Kyiv";
  uk.now = core::from_unix_ms(1'795'000'000'000);
  templating::RenderOptions en = uk;
  en.locale = "en";
  en.time_zone = "America/New_York";

  for (const auto* opt : {&uk, &en}) {
    std::string out, again;
    templating::RenderReport report, report_again;
    t->render(variables(), *opt, out, &report);
    t->render(variables(), *opt, again, &report_again);
    FUZZ_CHECK(out == again);
    FUZZ_CHECK(report.missing == report_again.missing && report.warnings == report_again.warnings);
    FUZZ_CHECK(is_valid_utf8(out));
    check_report(report);
    if (!t->uses_variables()) {
      // Pure text renders the same whatever the variables.
      std::string plain;
      t->render(boost::json::value(), *opt, plain, nullptr);
      FUZZ_CHECK(plain == out);
      FUZZ_CHECK(report.missing.empty() && report.warnings.empty());
    }
  }
  return 0;
}
