// mta/report/mime.cpp: header blocks, Content-Type, transfer decodings, the
// bounded MIME walk and address helpers for the report parser.
//
// Reports come from every MTA ever written, so this reader is lenient where
// RFC 5322/2045 are strict (bare LF, whitespace-only separator lines, a
// missing blank line, "Name :" fields, unterminated multiparts) and strict
// where hostile input could cost us: values are cut at kMaxFieldBytes,
// blocks keep at most kMaxFields fields, nesting stops at kMaxDepth and the
// walk at kMaxParts entities. Each nesting level scans its own bytes once,
// so the whole walk is O(kMaxDepth * size).
#include <algorithm>
#include <cstring>

#include "mta/report/report_internal.h"

namespace mta::report::detail {
namespace {

constexpr size_t kMaxFields = 1024;

char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

// "Name:" or "Name :" at the start of `line`; returns the colon's offset
// or npos. Names are printable ASCII without ':' (RFC 5322 ftext).
size_t field_colon(std::string_view line) noexcept {
  size_t i = 0;
  while (i < line.size() && i < 200) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c == ':') break;
    if (c <= 32 || c >= 127) break;
    ++i;
  }
  if (i == 0) return std::string_view::npos;
  size_t j = i;
  while (j < line.size() && is_wsp(line[j])) ++j;
  if (j < line.size() && line[j] == ':') return j;
  return std::string_view::npos;
}

// Appends up to the cap; a bare CR inside a line becomes a space, so every
// value is one line.
void append_capped(std::string& out, std::string_view s) {
  if (out.size() >= kMaxFieldBytes) return;
  const size_t from = out.size();
  out.append(s.substr(0, kMaxFieldBytes - out.size()));
  for (size_t i = from; i < out.size(); ++i) {
    if (out[i] == '\r') out[i] = ' ';
  }
}

}  // namespace

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (is_wsp(s.front()) || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

size_t ifind(std::string_view hay, std::string_view needle, size_t from) noexcept {
  if (needle.empty()) return from <= hay.size() ? from : std::string_view::npos;
  if (needle.size() > hay.size()) return std::string_view::npos;
  const char first = ascii_lower(needle[0]);
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (ascii_lower(hay[i]) != first) continue;
    if (iequals(hay.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string_view next_line(std::string_view text, size_t& pos) noexcept {
  const size_t start = pos;
  const size_t nl = text.find('\n', start);
  size_t end;
  if (nl == std::string_view::npos) {
    end = text.size();
    pos = text.size();
  } else {
    end = nl;
    pos = nl + 1;
  }
  if (end > start && text[end - 1] == '\r') --end;
  return text.substr(start, end - start);
}

const std::string* HeaderBlock::get(std::string_view name) const noexcept {
  for (const Field& f : fields) {
    if (iequals(f.name, name)) return &f.value;
  }
  return nullptr;
}

std::string_view HeaderBlock::get_or_empty(std::string_view name) const noexcept {
  const std::string* v = get(name);
  return v ? std::string_view(*v) : std::string_view();
}

size_t parse_header_block(std::string_view text, HeaderBlock& out) {
  size_t pos = 0;
  bool have_field = false;  // the last line was a field we keep folding into
  while (pos < text.size()) {
    const size_t line_start = pos;
    const std::string_view line = next_line(text, pos);
    if (trim(line).empty()) return pos;  // the separator line belongs to the headers
    if (is_wsp(line[0])) {
      if (have_field) {
        std::string& v = out.fields.back().value;
        if (!v.empty()) append_capped(v, " ");
        append_capped(v, trim(line));
      }
      continue;  // a continuation with nothing to continue is dropped
    }
    // An mbox "From " envelope line may precede the first field.
    if (line_start == 0 && line.starts_with("From ")) continue;
    const size_t colon = field_colon(line);
    if (colon == std::string_view::npos) return line_start;  // no blank line: the body starts here
    if (out.fields.size() >= kMaxFields) {
      have_field = false;
      continue;
    }
    Field f;
    f.name = std::string(trim(line.substr(0, colon)));
    append_capped(f.value, trim(line.substr(colon + 1)));
    out.fields.push_back(std::move(f));
    have_field = true;
  }
  // Values were trimmed per line; a trailing fold may have left a space.
  return text.size();
}

ContentType parse_content_type(std::string_view value) {
  ContentType ct;
  const size_t semi = value.find(';');
  const std::string type = lower(trim(value.substr(0, semi)));
  if (type.find('/') != std::string::npos) ct.type = type;
  if (semi == std::string_view::npos) return ct;
  std::string_view rest = value.substr(semi + 1);
  while (!rest.empty()) {
    const size_t eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    const std::string name = lower(trim(rest.substr(0, eq)));
    rest.remove_prefix(eq + 1);
    while (!rest.empty() && is_wsp(rest.front())) rest.remove_prefix(1);
    std::string val;
    if (!rest.empty() && rest.front() == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        val.push_back(rest[i]);
      }
      rest.remove_prefix(std::min(rest.size(), i + 1));
      const size_t next = rest.find(';');
      rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
    } else {
      const size_t next = rest.find(';');
      val = std::string(trim(rest.substr(0, next)));
      rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
    }
    if (name == "boundary") {
      ct.boundary = val;
    } else if (name == "charset") {
      ct.charset = lower(val);
    } else if (name == "report-type") {
      ct.report_type = lower(val);
    }
  }
  return ct;
}

std::string decode_base64(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      v = 62;
    } else if (c == '/' || c == '_') {
      v = 63;
    } else if (c == '=') {
      // Padding ends a quantum; a later quantum (concatenated encodings)
      // starts afresh.
      acc = 0;
      bits = 0;
      continue;
    } else {
      continue;  // line breaks and garbage are skipped
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

namespace {
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

std::string decode_quoted_printable(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c != '=') {
      out.push_back(c);
      continue;
    }
    // Soft line break, possibly with trailing whitespace before it.
    size_t j = i + 1;
    while (j < in.size() && is_wsp(in[j])) ++j;
    if (j < in.size() && (in[j] == '\n' || in[j] == '\r')) {
      if (in[j] == '\r' && j + 1 < in.size() && in[j + 1] == '\n') ++j;
      i = j;
      continue;
    }
    if (j == in.size()) break;
    if (i + 2 < in.size() && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 2;
      continue;
    }
    out.push_back(c);  // a bare '=' is kept
  }
  return out;
}

namespace {

std::string decode_transfer(std::string_view body, std::string_view encoding) {
  const std::string_view enc = trim(encoding);
  if (iequals(enc, "base64")) return decode_base64(body);
  if (iequals(enc, "quoted-printable")) return decode_quoted_printable(body);
  return std::string(body);
}

// Splits a multipart body at its delimiter lines. Preamble and epilogue are
// dropped; a missing close delimiter ends the last part at the end.
std::vector<std::string_view> split_multipart(std::string_view body, std::string_view boundary) {
  std::vector<std::string_view> parts;
  const std::string delimiter = "--" + std::string(boundary);
  size_t pos = 0;
  size_t part_start = std::string_view::npos;
  while (pos < body.size()) {
    const size_t line_start = pos;
    const std::string_view line = next_line(body, pos);
    if (!line.starts_with(delimiter)) continue;
    const std::string_view after = line.substr(delimiter.size());
    const bool close = after.starts_with("--");
    if (!close && !trim(after).empty()) continue;  // "--boundaryX": another boundary
    if (part_start != std::string_view::npos) {
      // The line break before the delimiter belongs to the delimiter.
      size_t end = line_start;
      if (end > part_start && body[end - 1] == '\n') --end;
      if (end > part_start && body[end - 1] == '\r') --end;
      parts.push_back(body.substr(part_start, end - part_start));
      if (parts.size() >= kMaxParts) return parts;
    }
    if (close) return parts;
    part_start = pos;
  }
  if (part_start != std::string_view::npos && part_start < body.size()) {
    parts.push_back(body.substr(part_start));
  }
  return parts;
}

void walk(const HeaderBlock& headers, std::string_view body, int depth, Mime& out) {
  if (out.entities >= kMaxParts) return;
  ++out.entities;
  const std::string* ct_value = headers.get("Content-Type");
  ContentType ct = ct_value ? parse_content_type(*ct_value) : ContentType{};
  if (ct.type.starts_with("multipart/") && !ct.boundary.empty()) {
    if (ct.type == "multipart/report") out.report_types.push_back(ct.report_type);
    if (depth >= kMaxDepth) return;  // too deep: the entity and its children are ignored
    for (const std::string_view part : split_multipart(body, ct.boundary)) {
      HeaderBlock part_headers;
      // A part may have no header fields: it then starts with its blank
      // line, or (leniently) straight with body text.
      size_t start = 0;
      if (!part.empty() && (part[0] == '\n' || part.starts_with("\r\n"))) {
        start = part[0] == '\n' ? 1 : 2;
      } else {
        start = parse_header_block(part, part_headers);
      }
      walk(part_headers, part.substr(start), depth + 1, out);
      if (out.entities >= kMaxParts) return;
    }
    return;
  }
  if (ct.type.starts_with("multipart/")) ct.type = "text/plain";  // no boundary: read it as text
  Part leaf;
  leaf.depth = depth;
  leaf.body = decode_transfer(body, headers.get_or_empty("Content-Transfer-Encoding"));
  if (ct.type.starts_with("text/")) leaf.text = to_utf8(leaf.body, ct.charset);
  leaf.content_type = std::move(ct);
  out.leaves.push_back(std::move(leaf));
}

}  // namespace

Mime parse_mime(std::string_view message) {
  Mime mime;
  const size_t body = parse_header_block(message, mime.headers);
  walk(mime.headers, message.substr(body), 0, mime);
  return mime;
}

// ---- addresses -------------------------------------------------------------

namespace {

// Skips a quoted string or a (nested) comment starting at s[i]; returns the
// index after it.
size_t skip_quoted(std::string_view s, size_t i) noexcept {
  const char open = s[i];
  if (open == '"') {
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        return i + 1;
      }
    }
    return s.size();
  }
  int level = 0;
  for (; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '(') {
      ++level;
    } else if (s[i] == ')' && --level == 0) {
      return i + 1;
    }
  }
  return s.size();
}

std::string_view strip_address_punctuation(std::string_view a) noexcept {
  while (!a.empty() && std::strchr("<>\"'(),;:[]", a.front()) != nullptr) a.remove_prefix(1);
  while (!a.empty() && std::strchr("<>\"'(),;:[].", a.back()) != nullptr) a.remove_suffix(1);
  return a;
}

}  // namespace

std::string bare_address(std::string_view value) {
  value = trim(value);
  // "rfc822; a@b" (DSN address types): drop the type.
  const size_t semi = value.find(';');
  if (semi != std::string_view::npos && semi < 16 && value.substr(0, semi).find('@') == std::string_view::npos &&
      value.substr(0, semi).find('<') == std::string_view::npos) {
    value = trim(value.substr(semi + 1));
  }
  // An angle-addr outside quotes and comments wins.
  for (size_t i = 0; i < value.size();) {
    const char c = value[i];
    if (c == '"' || c == '(') {
      i = skip_quoted(value, i);
      continue;
    }
    if (c == '<') {
      const size_t close = value.find('>', i + 1);
      const std::string_view inner =
          trim(value.substr(i + 1, close == std::string_view::npos ? std::string_view::npos : close - i - 1));
      // "<@relay:a@b>" source routes keep only the mailbox.
      const size_t route = inner.starts_with('@') ? inner.find(':') : std::string_view::npos;
      const std::string_view mailbox = route == std::string_view::npos ? inner : trim(inner.substr(route + 1));
      // "<Undisclosed Recipients>", "<>": no address.
      return mailbox.find('@') == std::string_view::npos ? std::string() : std::string(mailbox);
    }
    ++i;
  }
  // Otherwise the first word with an '@'.
  size_t i = 0;
  while (i < value.size()) {
    if (value[i] == '(' || value[i] == '"') {
      i = skip_quoted(value, i);
      continue;
    }
    if (is_wsp(value[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < value.size() && !is_wsp(value[j]) && value[j] != '(') ++j;
    const std::string_view word = strip_address_punctuation(value.substr(i, j - i));
    if (word.find('@') != std::string_view::npos) return std::string(word);
    i = j;
  }
  return {};
}

std::vector<std::string> address_list(std::string_view value) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= value.size();) {
    if (i < value.size() && (value[i] == '"' || value[i] == '(')) {
      i = skip_quoted(value, i);
      continue;
    }
    if (i < value.size() && value[i] == '<') {
      const size_t close = value.find('>', i);
      i = close == std::string_view::npos ? value.size() : close + 1;
      continue;
    }
    if (i == value.size() || value[i] == ',') {
      std::string a = bare_address(value.substr(start, i - start));
      if (!a.empty()) out.push_back(std::move(a));
      if (out.size() >= kMaxRecipients) break;
      start = i + 1;
    }
    ++i;
  }
  return out;
}

std::string first_mailbox(std::string_view value) {
  // A group ("Friends: a@b, c@d;") starts with its display name.
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '"' || value[i] == '(') {
      i = skip_quoted(value, i) - 1;
      continue;
    }
    if (value[i] == '<' || value[i] == '@' || value[i] == ',') break;
    if (value[i] == ':') {
      value.remove_prefix(i + 1);
      break;
    }
  }
  std::vector<std::string> all = address_list(value);
  return all.empty() ? std::string() : std::move(all.front());
}

std::string strip_type(std::string_view value) {
  const size_t semi = value.find(';');
  return std::string(trim(semi == std::string_view::npos ? value : value.substr(semi + 1)));
}

}  // namespace mta::report::detail
