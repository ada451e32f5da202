// templating/template.h: the template language (docs/templates.md).
//
// A Template is compiled once from source text and rendered many times, once
// per recipient, against a Boost.JSON object of variables:
//
//   Іване, ваше замовлення №{{order.id}} оплачено.
//   {{#each lessons}}{{@number}}. {{title}}{{/each}}
//   {{lessons | size | plural: "# урок", "# уроки", "# уроків"}}
//
// Compilation checks everything that can be checked without variables and
// fails with "line L, column C: reason". Rendering never fails: a missing
// variable renders empty and is named in the RenderReport, a value of the
// wrong type renders empty with a warning. Whether a missing variable stops
// a message (strict templates) is the caller's decision.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace templating {

namespace lang {
struct Program;
}

// How {{x}} output is escaped. {{{x}}} and the `raw` filter never escape.
enum class Escape : uint8_t { kNone = 0, kHtml = 1 };

struct CompileOptions {
  Escape escape = Escape::kNone;
};

struct RenderOptions {
  std::string_view locale = "uk";      // "uk", "ru", "en": plural rules, number separators, names
  std::string_view time_zone = "UTC";  // default zone for date filters (IANA name)
  core::TimePoint now{};               // what "now" means for the date filter (injected; tests)
};

// What went wrong while rendering, for the message's events. Appended to,
// never cleared by render(): one report can collect a subject, an HTML and
// a text body.
struct RenderReport {
  // Distinct dotted paths, as written in the template, that an output tag
  // used while they were absent or null and had no `default`; first-use order.
  std::vector<std::string> missing;
  // "line 3, column 5: date: 'abc' is not a time"; at most 64, no duplicates.
  std::vector<std::string> warnings;
  void clear();
};

// A compiled template. Immutable once compiled; copies share the program
// (a shared_ptr), so copying is cheap. render() is const and may run on
// many threads at once.
class Template {
 public:
  Template();  // empty: renders nothing

  // Limits: source at most 1 MiB of valid UTF-8, blocks nested at most 32
  // deep. Errors: core::Errc::kInvalidArgument with the message exactly
  // "line L, column C: <reason>" (1-based; the column counts UTF-8
  // characters, not bytes) and an empty field (the caller names the field).
  static core::Result<Template> compile(std::string_view source, const CompileOptions& options = {});

  // Appends the output to `out`. Never throws (but std::bad_alloc), never
  // fails: problems go into *report, which may be null. Cost: one pass over
  // a flat program; allocates only for filters that transform text and
  // for the report. A runaway template (nested loops over large lists)
  // stops after 2^22 steps or 64 MiB of output, with a warning.
  void render(const boost::json::value& vars, const RenderOptions& options, std::string& out,
              RenderReport* report) const;

  bool empty() const noexcept;
  size_t size_hint() const noexcept;     // a good reserve() for the output (literal bytes + estimate)
  bool uses_variables() const noexcept;  // false when the source is pure literal text

 private:
  explicit Template(std::shared_ptr<const lang::Program> p);
  std::shared_ptr<const lang::Program> program_;
};

// True when `name` is an IANA time zone this process can load ("UTC",
// "Europe/Kyiv"), as the date filter would. For validating a template's
// default zone when it is stored. Thread-safe; loads and caches the zone.
bool is_known_time_zone(std::string_view name);

}  // namespace templating
