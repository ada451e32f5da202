// templating/mime_header.cpp: header fields: the sanitiser, folding, RFC 2047
// encoded-words, mailboxes, dates and message ids.
//
// Folding model. A value is cut into tokens at single spaces; a token is a
// word plus any extra spaces that preceded it (so "a   b" is "a" and "  b"
// joined by one separator space). Every separator may become CRLF + SP, and
// unfolding (deleting the CRLF) gives back the exact text. A token is sent
// as it is when it is ASCII, at most 77 octets (so " token" always fits a
// fresh line) and does not look like an encoded-word; a run of adjacent
// tokens that are not is sent as encoded-words with the separators inside
// the encoded text, because whitespace between two encoded-words is
// dropped by the decoder (RFC 2047 §6.2) while whitespace between an
// encoded-word and plain text is kept. The result: every line fits in 78
// octets (76 when it holds an encoded-word, RFC 2047 §2) unless a header
// name alone is nearly that long, and the value decodes back exactly.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "core/utf8.h"
#include "templating/mime.h"
#include "templating/mime_internal.h"

namespace templating {
namespace mime_detail {
namespace {

constexpr size_t kFoldAt = 78;            // RFC 5322 §2.1.1
constexpr size_t kEncodedLineMax = 76;    // RFC 2047 §2, lines holding encoded-words
constexpr size_t kEncodedWordMax = 75;    // RFC 2047 §2
constexpr size_t kEncodedWordOverhead = 12;  // "=?UTF-8?B?" and "?="
constexpr size_t kPlainTokenMax = kFoldAt - 1;
// Encoded-words shorter than this are not started at the end of a line when
// a fold would allow a full one: many tiny words are legal but ugly and long.
constexpr size_t kMinUsefulWord = 32;

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// RFC 5322 atext.
constexpr std::array<bool, 256> make_atext() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-/=?^_`{|}~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto kAtext = make_atext();

// Characters a Q encoded-word may carry literally anywhere, including in a
// phrase (RFC 2047 §5 (3), the strictest context): letters, digits, !*+-/.
constexpr std::array<bool, 256> make_q_literal() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (char c : std::string_view("!*+-/")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto kQLiteral = make_q_literal();

inline size_t q_cost(unsigned char c) { return (kQLiteral[c] || c == ' ') ? 1 : 3; }

// Length of the well-formed UTF-8 sequence at p (RFC 3629 table: no
// overlongs, no surrogates, nothing above U+10FFFF), or 0.
size_t utf8_valid_len(const unsigned char* p, size_t avail) {
  return core::utf8::sequence_length(p, avail);
}

// After sanitising, text is valid UTF-8, so the lead byte gives the length.
inline size_t utf8_len_from_lead(unsigned char b) {
  return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool needs_encoding(std::string_view token) {
  if (token.size() > kPlainTokenMax) return true;
  for (char c : token) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return token.find("=?") != std::string_view::npos;
}

// Writes one header value, tracking the length of the current line.
class Folder {
 public:
  Folder(std::string& out, size_t line_len) : out_(out), line_(line_len) {}

  // An unsplittable token, after a separator space (or a fold) unless it is
  // the first thing in the value. `open`/`close`/`after` wrap it ('<' '>'
  // ',') when set.
  void plain(std::string_view token, bool first, char open = 0, char close = 0, char after = 0) {
    size_t size = token.size() + (open ? 1 : 0) + (close ? 1 : 0) + (after ? 1 : 0);
    size_t limit = line_has_encoded_ ? kEncodedLineMax : kFoldAt;
    if (!first) {
      if (line_ + 1 + size > limit) {
        fold();
      } else {
        out_.push_back(' ');
        ++line_;
      }
    }
    if (open) out_.push_back(open);
    out_.append(token);
    if (close) out_.push_back(close);
    if (after) out_.push_back(after);
    line_ += size;
  }

  // Whether a token of `size` octets fits on the current line right here.
  bool fits(size_t size) const { return line_ + size <= kFoldAt; }

  // `text` (valid UTF-8) as one or more encoded-words.
  void encoded(std::string_view text, bool first) {
    size_t q_total = 0;
    for (unsigned char c : text) q_total += q_cost(c);
    const bool use_q = q_total <= (text.size() + 2) / 3 * 4;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t pos = 0;
    bool need_sep = !first;
    while (pos < n) {
      size_t used = line_ + (need_sep ? 1 : 0);
      size_t room = used < kEncodedLineMax ? kEncodedLineMax - used : 0;
      size_t max_word = std::min(kEncodedWordMax, room);
      size_t take = max_word > kEncodedWordOverhead
                        ? fit(p + pos, n - pos, max_word - kEncodedWordOverhead, use_q)
                        : 0;
      if (need_sep && (take == 0 || (take < n - pos && max_word < kMinUsefulWord))) {
        fold();
        need_sep = false;
        continue;
      }
      if (take == 0) {
        // First thing after a very long header name: nothing to fold at,
        // so the line runs long (still far below 998).
        take = fit(p + pos, n - pos, kEncodedWordMax - kEncodedWordOverhead, use_q);
      }
      if (need_sep) {
        out_.push_back(' ');
        ++line_;
      }
      size_t before = out_.size();
      out_.append(use_q ? "=?UTF-8?Q?" : "=?UTF-8?B?");
      if (use_q) {
        append_q(p + pos, take);
      } else {
        append_b(p + pos, take);
      }
      out_.append("?=");
      line_ += out_.size() - before;
      line_has_encoded_ = true;
      pos += take;
      need_sep = true;
    }
  }

 private:
  void fold() {
    out_.append("\r\n ");
    line_ = 1;
    line_has_encoded_ = false;
  }

  // How many bytes of whole characters from p fit in `payload` encoded chars.
  static size_t fit(const unsigned char* p, size_t n, size_t payload, bool use_q) {
    size_t take = 0;
    if (use_q) {
      size_t cost = 0;
      while (take < n) {
        size_t len = std::min(utf8_len_from_lead(p[take]), n - take);
        size_t c = 0;
        for (size_t i = 0; i < len; ++i) c += q_cost(p[take + i]);
        if (cost + c > payload) break;
        cost += c;
        take += len;
      }
    } else {
      size_t cap = payload / 4 * 3;
      while (take < n) {
        size_t len = std::min(utf8_len_from_lead(p[take]), n - take);
        if (take + len > cap) break;
        take += len;
      }
    }
    return take;
  }

  // Both write the encoded text of one word (at most 63 characters) into a
  // stack buffer and append it once.
  void append_q(const unsigned char* p, size_t n) {
    char buf[kEncodedWordMax];
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) {
      unsigned char c = p[i];
      if (kQLiteral[c]) {
        buf[k++] = static_cast<char>(c);
      } else if (c == ' ') {
        buf[k++] = '_';
      } else {
        buf[k++] = '=';
        buf[k++] = kHexUpper[c >> 4];
        buf[k++] = kHexUpper[c & 15];
      }
    }
    out_.append(buf, k);
  }

  void append_b(const unsigned char* p, size_t n) {
    char buf[kEncodedWordMax];
    char* q = buf;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
      uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
      q[0] = kBase64[v >> 18];
      q[1] = kBase64[(v >> 12) & 63];
      q[2] = kBase64[(v >> 6) & 63];
      q[3] = kBase64[v & 63];
      q += 4;
    }
    if (n - i == 1) {
      uint32_t v = uint32_t{p[i]} << 16;
      q[0] = kBase64[v >> 18];
      q[1] = kBase64[(v >> 12) & 63];
      q[2] = '=';
      q[3] = '=';
      q += 4;
    } else if (n - i == 2) {
      uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
      q[0] = kBase64[v >> 18];
      q[1] = kBase64[(v >> 12) & 63];
      q[2] = kBase64[(v >> 6) & 63];
      q[3] = '=';
      q += 4;
    }
    out_.append(buf, static_cast<size_t>(q - buf));
  }

  std::string& out_;
  size_t line_;
  bool line_has_encoded_ = false;
};

// Unstructured text (sanitised, trimmed, non-empty) as tokens and runs.
void fold_unstructured(Folder& f, std::string_view v) {
  const size_t n = v.size();
  size_t run_start = std::string_view::npos, run_end = 0;
  bool run_first = false;
  bool first = true;
  size_t i = 0;
  while (i < n) {
    size_t start = i;
    size_t j = i;
    while (j < n && v[j] == ' ') ++j;  // extra spaces belong to the token
    size_t end = j;
    while (end < n && v[end] != ' ') ++end;
    std::string_view token = v.substr(start, end - start);
    if (needs_encoding(token)) {
      if (run_start == std::string_view::npos) {
        run_start = start;
        run_first = first;
      }
      run_end = end;
    } else {
      if (run_start != std::string_view::npos) {
        f.encoded(v.substr(run_start, run_end - run_start), run_first);
        run_start = std::string_view::npos;
      }
      f.plain(token, first);
    }
    first = false;
    i = end < n ? end + 1 : n;  // skip the one separator space
  }
  if (run_start != std::string_view::npos) f.encoded(v.substr(run_start, run_end - run_start), run_first);
}

void emit_mailbox(Folder& f, std::string_view display_name, std::string_view address) {
  std::string name_scratch, addr_scratch;
  std::string_view name = trim_spaces(sanitize_header_text(display_name, name_scratch));
  // The address is validated by compose(); here it only must not break the
  // header (spaces are harmless, controls are already gone).
  std::string_view addr = sanitize_header_text(address, addr_scratch);
  if (name.empty()) {
    f.plain(addr, true);
    return;
  }
  bool ascii = true, atoms = true;
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x80) ascii = false;
    if (!(kAtext[c] || (c == ' ' && name[i + 1] != ' '))) atoms = false;  // trimmed: i+1 exists
  }
  bool looks_encoded = name.find("=?") != std::string_view::npos;
  if (ascii && atoms && !looks_encoded) {
    // A phrase of atoms; fold between them.
    bool first = true;
    size_t i = 0;
    while (i < name.size()) {
      size_t end = name.find(' ', i);
      if (end == std::string_view::npos) end = name.size();
      if (end - i > kPlainTokenMax) {
        atoms = false;
        break;
      }
      i = end + 1;
    }
    if (atoms) {
      i = 0;
      while (i < name.size()) {
        size_t end = name.find(' ', i);
        if (end == std::string_view::npos) end = name.size();
        f.plain(name.substr(i, end - i), first);
        first = false;
        i = end + 1;
      }
      f.plain(addr, false, '<', '>');
      return;
    }
  }
  if (ascii && !looks_encoded) {
    // A quoted-string (RFC 5322 §3.2.4) when it fits the line as one token;
    // longer names go as encoded-words, which fold.
    size_t quoted = 2;
    for (char c : name) quoted += (c == '"' || c == '\\') ? 2 : 1;
    if (f.fits(quoted)) {
      char stack[kFoldAt + 2];  // fits() bounds it by the line
      size_t k = 0;
      stack[k++] = '"';
      for (char c : name) {
        if (c == '"' || c == '\\') stack[k++] = '\\';
        stack[k++] = c;
      }
      stack[k++] = '"';
      f.plain(std::string_view(stack, k), true);
      f.plain(addr, false, '<', '>');
      return;
    }
  }
  f.encoded(name, true);
  f.plain(addr, false, '<', '>');
}

void append_dot_atom(std::string& out, std::string_view s) {
  if (s.empty()) {
    out.push_back('_');
    return;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = kAtext[static_cast<unsigned char>(c)] ||
              (c == '.' && i != 0 && i + 1 != s.size() && s[i - 1] != '.');
    out.push_back(ok ? c : '_');
  }
}

bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (s[i - 1] == '.') return false;
    } else if (!kAtext[static_cast<unsigned char>(c)]) {
      return false;
    }
  }
  return true;
}

bool is_valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  if (d.front() == '[') {
    if (d.size() < 3 || d.back() != ']') return false;
    for (char c : d.substr(1, d.size() - 2)) {
      auto u = static_cast<unsigned char>(c);
      if (u < 33 || u > 126 || c == '[' || c == ']' || c == '\\') return false;
    }
    return true;
  }
  size_t label = 0;
  for (size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '.') {
      if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-') return false;
      label = 0;
      continue;
    }
    char c = d[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
    ++label;
  }
  return true;
}

}  // namespace

std::string_view sanitize_header_text(std::string_view in, std::string& scratch) {
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x20 || c >= 0x7F) break;
    ++i;
  }
  if (i == in.size()) return in;
  scratch.assign(in.data(), i);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  while (i < in.size()) {
    unsigned char c = p[i];
    if (c < 0x20 || c == 0x7F) {
      scratch.push_back(' ');
      ++i;
    } else if (c < 0x80) {
      scratch.push_back(static_cast<char>(c));
      ++i;
    } else {
      size_t len = utf8_valid_len(p + i, in.size() - i);
      if (len == 0) {
        scratch.append("\xEF\xBF\xBD");  // U+FFFD
        ++i;
      } else if (len == 2 && c == 0xC2 && p[i + 1] < 0xA0) {
        scratch.push_back(' ');  // C1 control
        i += 2;
      } else {
        scratch.append(in.data() + i, len);
        i += len;
      }
    }
  }
  return scratch;
}

void append_unstructured(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  std::string scratch;
  std::string_view v = trim_spaces(sanitize_header_text(value, scratch));
  if (v.empty()) {
    out.append(":\r\n");
    return;
  }
  out.append(": ");
  Folder f(out, name.size() + 2);
  fold_unstructured(f, v);
  out.append("\r\n");
}

void append_mailbox(std::string& out, std::string_view name, std::string_view display_name,
                    std::string_view address) {
  out.append(name);
  out.append(": ");
  Folder f(out, name.size() + 2);
  emit_mailbox(f, display_name, address);
  out.append("\r\n");
}

void append_list_unsubscribe(std::string& out, std::string_view https_url, std::string_view mailto) {
  static constexpr std::string_view kName = "List-Unsubscribe";
  out.append(kName);
  out.append(": ");
  Folder f(out, kName.size() + 2);
  // https first: RFC 8058 one-click clients (Gmail, Yahoo) use it; others
  // take the first URI they support (RFC 2369 §2).
  if (!https_url.empty()) f.plain(https_url, true, '<', '>', mailto.empty() ? 0 : ',');
  if (!mailto.empty()) f.plain(mailto, https_url.empty(), '<', '>');
  out.append("\r\n");
}

void append_rfc5322_date(std::string& out, long long unix_seconds) {
  using namespace std::chrono;
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  sys_seconds t{seconds{unix_seconds}};
  sys_days day = floor<days>(t);
  year_month_day ymd{day};
  weekday wd{day};
  long long sod = (t - day).count();
  int y = static_cast<int>(ymd.year());
  char buf[40];
  char* o = buf;
  auto two = [&](unsigned v) {
    *o++ = static_cast<char>('0' + v / 10);
    *o++ = static_cast<char>('0' + v % 10);
  };
  std::memcpy(o, kDays[wd.c_encoding()], 3);
  o += 3;
  *o++ = ',';
  *o++ = ' ';
  two(static_cast<unsigned>(ymd.day()));
  *o++ = ' ';
  std::memcpy(o, kMonths[static_cast<unsigned>(ymd.month()) - 1], 3);
  o += 3;
  *o++ = ' ';
  if (y < 0 || y > 9999) y = std::clamp(y, 0, 9999);  // TimePoint range is narrower anyway
  two(static_cast<unsigned>(y / 100));
  two(static_cast<unsigned>(y % 100));
  *o++ = ' ';
  two(static_cast<unsigned>(sod / 3600));
  *o++ = ':';
  two(static_cast<unsigned>(sod / 60 % 60));
  *o++ = ':';
  two(static_cast<unsigned>(sod % 60));
  std::memcpy(o, " +0000", 6);
  o += 6;
  out.append(buf, static_cast<size_t>(o - buf));
}

bool is_valid_field_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || c == ':') return false;
  }
  return true;
}

}  // namespace mime_detail

using namespace mime_detail;

std::string encode_header_value(std::string_view header_name, std::string_view utf8_value) {
  std::string out;
  std::string scratch;
  std::string_view v = trim_spaces(sanitize_header_text(utf8_value, scratch));
  out.reserve(v.size() * 2 + 16);
  Folder f(out, header_name.size() + 2);
  if (!v.empty()) fold_unstructured(f, v);
  return out;
}

std::string encode_mailbox(std::string_view header_name, const Mailbox& m) {
  std::string out;
  out.reserve(m.name.size() * 2 + m.address.size() + 16);
  Folder f(out, header_name.size() + 2);
  emit_mailbox(f, m.name, m.address);
  return out;
}

bool is_valid_addr_spec(std::string_view address) noexcept {
  if (address.size() > 254) return false;
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string_view local = address.substr(0, at), domain = address.substr(at + 1);
  return local.size() <= 64 && is_dot_atom(local) && is_valid_domain(domain);
}

std::string format_rfc5322_date(core::TimePoint t) {
  std::string out;
  append_rfc5322_date(
      out, std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count());
  return out;
}

std::string make_message_id(std::string_view unique, std::string_view domain) {
  std::string out;
  out.reserve(unique.size() + domain.size() + 3);
  out.push_back('<');
  append_dot_atom(out, unique);
  out.push_back('@');
  append_dot_atom(out, domain);
  out.push_back('>');
  return out;
}

}  // namespace templating
