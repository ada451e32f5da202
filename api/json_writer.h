// api/json_writer.h: a small append-only JSON text writer (private to api/).
//
// Responses are written by hand rather than through a DOM: a batch answer of
// 10,000 items is one pass of appends into one string. Strings are escaped
// per RFC 8259 and any invalid UTF-8 (a peer's reply text may carry Latin-1
// bytes) is replaced by U+FFFD, so the output is always valid JSON.
//
// Not thread-safe; one writer per response. The writer does not check that
// begin/end calls are balanced: callers are straight-line code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace api {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) noexcept : out_(out) {}

  void begin_object() {
    separate();
    out_.push_back('{');
    comma_ = false;
  }
  void end_object() {
    out_.push_back('}');
    comma_ = true;
  }
  void begin_array() {
    separate();
    out_.push_back('[');
    comma_ = false;
  }
  void end_array() {
    out_.push_back(']');
    comma_ = true;
  }
  // The next value belongs to `k`. REQUIRES: inside an object.
  void key(std::string_view k) {
    separate();
    append_string(k);
    out_.push_back(':');
    comma_ = false;
  }
  void string(std::string_view v) {
    separate();
    append_string(v);
    comma_ = true;
  }
  void number(int64_t v);
  void number(uint64_t v);
  void number(uint32_t v) { number(uint64_t{v}); }
  void number(double v);  // non-finite values are written as null
  void boolean(bool v) {
    separate();
    out_.append(v ? "true" : "false");
    comma_ = true;
  }
  void null() {
    separate();
    out_.append("null");
    comma_ = true;
  }
  // Pre-serialised JSON (e.g. stored compact variables). REQUIRES: valid JSON.
  void raw(std::string_view json) {
    separate();
    out_.append(json);
    comma_ = true;
  }

  // Shorthands for members.
  void member(std::string_view k, std::string_view v) {
    key(k);
    string(v);
  }
  void member(std::string_view k, const char* v) { member(k, std::string_view(v)); }
  void member(std::string_view k, const std::string& v) { member(k, std::string_view(v)); }
  template <class N>
  requires(std::is_arithmetic_v<N> && !std::is_same_v<N, bool>) void member(std::string_view k,
                                                                            N v) {
    key(k);
    if constexpr (std::is_floating_point_v<N>) {
      number(double(v));
    } else if constexpr (std::is_signed_v<N>) {
      number(int64_t(v));
    } else {
      number(uint64_t(v));
    }
  }

  // Appends `s` quoted and escaped to `out`; invalid UTF-8 becomes U+FFFD.
  static void append_string(std::string& out, std::string_view s);

 private:
  void separate() {
    if (comma_) out_.push_back(',');
  }
  void append_string(std::string_view s) { append_string(out_, s); }

  std::string& out_;
  bool comma_ = false;
};

}  // namespace api
