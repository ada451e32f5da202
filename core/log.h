// core/log.h: operational log, one JSON object per line (STYLE.md R14b).
//
//   {"ts":"2026-11-23T15:04:05.123Z","level":"warn","msg":"lease expired",
//    "id":"01J...","destination":"email:gmail.com"}
//
// Severities are a fixed vocabulary: debug, info, warn, error, fatal. Every
// line about a message names its id. Thread-safe: one write(2) per line, so
// lines from different threads never interleave. Delivery records (one per
// attempt) are a separate stream owned by the engine, not this log.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace core::log {

enum class Level : uint8_t { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kFatal = 4 };
std::string_view level_name(Level l) noexcept;
// Exact lower-case names as level_name() gives them; false otherwise.
bool parse_level(std::string_view s, Level* out) noexcept;

struct Field {
  using Value = std::variant<std::string_view, int64_t, uint64_t, double, bool>;
  std::string_view key;
  Value value;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  Field(std::string_view k, I v)
      : key(k), value(std::is_signed_v<I> ? Value(int64_t(v)) : Value(uint64_t(v))) {}
};

// Where lines go. Default: stderr at info. `path` empty means stderr; a file
// is opened O_APPEND (created 0640). Returns false if the file cannot be
// opened: the level is still applied and lines keep going where they went.
bool configure(Level min_level, const std::string& path = {});
Level min_level() noexcept;
// Reopens the file (after logrotate moved it). Safe from any thread. If the
// file cannot be opened, lines keep going to the old descriptor.
void reopen();

// Writes one line if `level` >= min_level() (fatal always). Field values:
// strings escaped, integers and bools as JSON, doubles in the shortest form
// that reads back exactly (NaN and infinities as null).

void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kDebug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kInfo, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kWarn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kError, m, f);
}
// Logs and terminates the process with exit status 1 (Postfix msg_fatal).
[[noreturn]] void fatal(std::string_view m, std::initializer_list<Field> f = {});

// Appends `s` to `out` as the inside of a JSON string (escapes ", \, control
// characters; passes valid UTF-8 through and turns each invalid byte into
// \ufffd, so the output is always valid JSON). Shared with other JSON writers.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace core::log
