// core/address.cpp: see address.h.
#include "core/address.h"

#include "core/utf8.h"

namespace core {
namespace {

constexpr size_t kMaxAddress = 254;  // RFC 5321 path limit minus <>
constexpr size_t kMaxLocalPart = 64;  // RFC 5321 4.5.3.1.1
constexpr size_t kMaxDomain = 255;   // RFC 5321 4.5.3.1.2
constexpr size_t kMaxLabel = 63;

bool is_alpha(unsigned char c) noexcept { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alnum(unsigned char c) noexcept { return is_alpha(c) || is_digit(c); }

// RFC 5322 atext.
bool is_atext(unsigned char c) noexcept {
  constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return is_alnum(c) || (c != 0 && kSpecials.find(char(c)) != std::string_view::npos);
}

// The length of the UTF-8 sequence at p when non-ASCII is allowed, else 0.
size_t utf8_len(const unsigned char* p, size_t n, bool utf8) noexcept {
  return utf8 ? utf8::sequence_length(p, n) : 0;
}

// Dot-string = Atom *("." Atom), atoms of atext (or UTF-8, RFC 6531).
bool valid_dot_string(std::string_view s, bool utf8) noexcept {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  bool prev_dot = false;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = p[i];
    if (c == '.') {
      if (prev_dot) return false;
      prev_dot = true;
      ++i;
      continue;
    }
    prev_dot = false;
    if (c < 0x80) {
      if (!is_atext(c)) return false;
      ++i;
    } else {
      const size_t len = utf8_len(p + i, s.size() - i, utf8);
      if (len == 0) return false;
      i += len;
    }
  }
  return true;
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE (RFC 5321 4.1.2, RFC 6531).
bool valid_quoted_string(std::string_view s, bool utf8) noexcept {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t end = s.size() - 1;
  for (size_t i = 1; i < end;) {
    const unsigned char c = p[i];
    if (c == '\\') {
      if (i + 1 >= end || p[i + 1] < 32 || p[i + 1] > 126) return false;
      i += 2;
    } else if (c == '"') {
      return false;
    } else if (c >= 32 && c <= 126) {
      ++i;
    } else if (c >= 0x80) {
      const size_t len = utf8_len(p + i, end - i, utf8);
      if (len == 0) return false;
      i += len;
    } else {
      return false;  // control characters, including CR and LF
    }
  }
  return true;
}

// One label: LDH, or an IDN U-label (UTF-8 letters mixed in).
bool valid_label(std::string_view label, bool utf8) noexcept {
  if (label.empty() || label.size() > kMaxLabel) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  const auto* p = reinterpret_cast<const unsigned char*>(label.data());
  for (size_t i = 0; i < label.size();) {
    if (p[i] < 0x80) {
      if (!is_alnum(p[i]) && p[i] != '-') return false;
      ++i;
    } else {
      const size_t len = utf8_len(p + i, label.size() - i, utf8);
      if (len == 0) return false;
      i += len;
    }
  }
  return true;
}

bool valid_domain(std::string_view d, bool utf8) noexcept {
  if (d.empty() || d.size() > kMaxDomain) return false;
  size_t labels = 0;
  std::string_view last;
  while (true) {
    const size_t dot = d.find('.');
    const std::string_view label = d.substr(0, dot);
    if (!valid_label(label, utf8)) return false;
    ++labels;
    last = label;
    if (dot == std::string_view::npos) break;
    d.remove_prefix(dot + 1);
  }
  if (labels < 2) return false;  // a bare host name cannot receive mail from us
  for (unsigned char c : last) {
    if (!is_digit(c)) return true;
  }
  return false;
}

}  // namespace

bool is_valid_mailbox(std::string_view s, bool utf8) noexcept {
  if (s.size() < 3 || s.size() > kMaxAddress) return false;
  const size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  const std::string_view local = s.substr(0, at);
  const std::string_view domain = s.substr(at + 1);
  if (local.size() > kMaxLocalPart) return false;
  const bool local_ok =
      local.front() == '"' ? valid_quoted_string(local, utf8) : valid_dot_string(local, utf8);
  return local_ok && valid_domain(domain, utf8);  // '[' (an address literal) fails as a label
}

}  // namespace core
