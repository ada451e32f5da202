// mta/smtp_command_address.cpp: RFC 5321 4.1.2 Mailbox syntax, with RFC
// 6531's UTF-8 extensions (see check_mailbox in smtp_command.h).
//
// The UTF-8 forms are always parsed and only refused at the end, so a
// client that forgot SMTPUTF8 gets "requires SMTPUTF8" (553 5.6.7) rather
// than a generic syntax error.
#include <arpa/inet.h>

#include <cstring>

#include "core/utf8.h"
#include "mta/smtp_command.h"

namespace mta {

namespace {

bool is_alpha(unsigned char c) noexcept { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }

// RFC 5322 atext.
bool is_atext(unsigned char c) noexcept {
  if (is_alpha(c) || is_digit(c)) return true;
  return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != 0;
}

// Length of a well-formed non-ASCII UTF-8 sequence at s[i], or 0.
size_t utf8_at(std::string_view s, size_t i) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  if (*p < 0x80) return 0;
  return core::utf8::sequence_length(p, s.size() - i);
}

// Dot-string: atoms separated by single dots. Returns false on bad syntax.
bool check_dot_string(std::string_view s, bool* non_ascii) noexcept {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '.') {
      if (s[i + 1] == '.') return false;  // i + 1 < size: s does not end in '.'
      ++i;
    } else if (c < 0x80) {
      if (!is_atext(c)) return false;
      ++i;
    } else {
      const size_t n = utf8_at(s, i);
      if (n == 0) return false;
      *non_ascii = true;
      i += n;
    }
  }
  return true;
}

// Quoted-string: DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE.
bool check_quoted_string(std::string_view s, bool* non_ascii) noexcept {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  s = s.substr(1, s.size() - 2);
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      if (i + 1 >= s.size()) return false;
      const auto q = static_cast<unsigned char>(s[i + 1]);
      if (q < 32 || q > 126) return false;
      i += 2;
    } else if (c == '"') {
      return false;
    } else if (c < 0x80) {
      if (c < 32 || c > 126) return false;
      ++i;
    } else {
      const size_t n = utf8_at(s, i);
      if (n == 0) return false;
      *non_ascii = true;
      i += n;
    }
  }
  return true;
}

// Where the local part ends: the "@" after a dot-string, or after the
// closing quote of a quoted string.
size_t local_part_end(std::string_view m) noexcept {
  if (!m.empty() && m.front() == '"') {
    for (size_t i = 1; i < m.size(); ++i) {
      if (m[i] == '\\') {
        ++i;
      } else if (m[i] == '"') {
        return i + 1;
      }
    }
    return std::string_view::npos;
  }
  return m.find('@');
}

// Snum: 1*3DIGIT with a value 0..255.
bool check_ipv4(std::string_view s) noexcept {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t digits = 0;
    int v = 0;
    while (i < s.size() && is_digit(s[i]) && digits < 4) {
      v = v * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || v > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool check_address_literal(std::string_view s) noexcept {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  s = s.substr(1, s.size() - 2);
  if (s.size() > 5 && (s[0] | 0x20) == 'i' && (s[1] | 0x20) == 'p' && (s[2] | 0x20) == 'v' &&
      s[3] == '6' && s[4] == ':') {
    s.remove_prefix(5);
    // RFC 5321's IPv6-addr is what inet_pton(AF_INET6) reads (full,
    // compressed and IPv4-embedded forms). No zone ids, no whitespace.
    char buf[64];
    if (s.empty() || s.size() >= sizeof buf) return false;
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    unsigned char addr[16];
    return inet_pton(AF_INET6, buf, addr) == 1;
  }
  // General-address-literal needs a registered tag; only IPv6 is.
  return check_ipv4(s);
}

// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str],
// or a U-label (any well-formed non-ASCII UTF-8 with LDH) under SMTPUTF8.
// Labels are at most 63 octets (RFC 1035 2.3.4).
MailboxCheck check_domain(std::string_view d, bool* non_ascii) noexcept {
  if (d.empty()) return MailboxCheck::kBadSyntax;
  if (d.size() > kMaxDomain) return MailboxCheck::kDomainTooLong;
  if (d.front() == '[') {
    return check_address_literal(d) ? MailboxCheck::kOk : MailboxCheck::kBadSyntax;
  }
  size_t label_start = 0;
  for (size_t i = 0; i <= d.size();) {
    if (i == d.size() || d[i] == '.') {
      const size_t len = i - label_start;
      if (len == 0) return MailboxCheck::kBadSyntax;
      if (len > 63) return MailboxCheck::kDomainTooLong;
      if (d[label_start] == '-' || d[i - 1] == '-') return MailboxCheck::kBadSyntax;
      label_start = i + 1;
      ++i;
      continue;
    }
    const auto c = static_cast<unsigned char>(d[i]);
    if (c < 0x80) {
      if (!is_alpha(c) && !is_digit(c) && c != '-') return MailboxCheck::kBadSyntax;
      ++i;
    } else {
      const size_t n = utf8_at(d, i);
      if (n == 0) return MailboxCheck::kBadSyntax;
      *non_ascii = true;
      i += n;
    }
  }
  return MailboxCheck::kOk;
}

}  // namespace

MailboxCheck check_mailbox(std::string_view mailbox, bool utf8) noexcept {
  const size_t end = local_part_end(mailbox);
  if (end == std::string_view::npos || end >= mailbox.size() || mailbox[end] != '@') {
    return MailboxCheck::kBadSyntax;
  }
  const std::string_view local = mailbox.substr(0, end);
  const std::string_view domain = mailbox.substr(end + 1);
  if (local.empty()) return MailboxCheck::kBadSyntax;
  bool non_ascii = false;
  const bool local_ok = local.front() == '"' ? check_quoted_string(local, &non_ascii)
                                             : check_dot_string(local, &non_ascii);
  if (!local_ok) return MailboxCheck::kBadSyntax;
  const MailboxCheck d = check_domain(domain, &non_ascii);
  if (d != MailboxCheck::kOk) return d;
  if (local.size() > kMaxLocalPart) return MailboxCheck::kLocalPartTooLong;
  if (non_ascii && !utf8) return MailboxCheck::kNeedsSmtputf8;
  return MailboxCheck::kOk;
}

}  // namespace mta
