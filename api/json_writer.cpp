// api/json_writer.cpp: escaping and number formatting for JsonWriter.
#include "api/json_writer.h"

#include <charconv>
#include <cmath>

#include "api/utf8.h"

namespace api {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Bytes that cannot be copied as they are: control characters, the quote,
// the backslash, and the start of every non-ASCII sequence (checked).
constexpr bool needs_care(unsigned char c) noexcept {
  return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

}  // namespace

void JsonWriter::append_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t run = 0;  // start of the pending run of plain bytes
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (!needs_care(c)) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t len = utf8::sequence_length(p + i, n - i);
      if (len != 0) {
        i += len;  // well-formed: part of the run
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        if (c < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out.append(esc, sizeof esc);
        } else {
          out.append("\xEF\xBF\xBD");  // U+FFFD for a byte that starts no valid sequence
        }
    }
    ++i;
    run = i;
  }
  out.append(s.data() + run, n - run);
  out.push_back('"');
}

void JsonWriter::number(int64_t v) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  comma_ = true;
}

void JsonWriter::number(uint64_t v) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  comma_ = true;
}

void JsonWriter::number(double v) {
  separate();
  if (!std::isfinite(v)) {
    out_.append("null");
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    out_.append(buf, r.ptr);
  }
  comma_ = true;
}

}  // namespace api
