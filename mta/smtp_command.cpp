// mta/smtp_command.cpp: the command-line parser (see smtp_command.h).
//
// Each verb's argument grammar is RFC 5321 4.1.1 and 4.1.2, with the
// leniencies real clients need (spaces after "FROM:", trailing spaces) and
// none that would let an address or parameter through unchecked. Every
// refusal is a static Reply: nothing here allocates.
#include <algorithm>
#include <cstring>

#include "mta/smtp_command.h"

namespace mta {

namespace {

// The replies. Enhanced codes per RFC 3463: 5.5.x protocol, 5.1.3 bad
// destination syntax, 5.1.7 bad sender syntax, 5.6.7 non-ASCII address.
constexpr Reply kEmpty{500, "5.5.2", "Error: empty command"};
constexpr Reply kUnknown{500, "5.5.1", "Error: command not recognized"};
constexpr Reply kTooLong{500, "5.5.2", "Error: line too long"};
constexpr Reply kEhloSyntax{501, "5.5.4", "Syntax: EHLO hostname"};
constexpr Reply kHeloSyntax{501, "5.5.4", "Syntax: HELO hostname"};
constexpr Reply kBadHostname{501, "5.5.4", "Error: invalid hostname"};
constexpr Reply kMailSyntax{501, "5.5.4", "Syntax: MAIL FROM:<address>"};
constexpr Reply kRcptSyntax{501, "5.5.4", "Syntax: RCPT TO:<address>"};
constexpr Reply kDataSyntax{501, "5.5.4", "Syntax: DATA"};
constexpr Reply kRsetSyntax{501, "5.5.4", "Syntax: RSET"};
constexpr Reply kQuitSyntax{501, "5.5.4", "Syntax: QUIT"};
constexpr Reply kStartTlsSyntax{501, "5.5.4", "Syntax: STARTTLS"};
constexpr Reply kVrfySyntax{501, "5.5.4", "Syntax: VRFY address"};
constexpr Reply kExpnSyntax{501, "5.5.4", "Syntax: EXPN list"};
constexpr Reply kBdatSyntax{501, "5.5.4", "Syntax: BDAT count [LAST]"};
constexpr Reply kAuthSyntax{501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"};
constexpr Reply kAuthMechanism{504, "5.5.4", "Error: unrecognized authentication type"};
constexpr Reply kAuthEncoding{501, "5.5.2", "Error: cannot decode response"};
constexpr Reply kBadParameter{501, "5.5.4", "Error: bad parameter syntax"};
constexpr Reply kDuplicateParameter{501, "5.5.4", "Error: duplicate parameter"};
constexpr Reply kBadSize{501, "5.5.4", "Error: bad SIZE parameter"};
constexpr Reply kBadSmtputf8{501, "5.5.4", "Error: SMTPUTF8 takes no value"};
constexpr Reply kUnsupportedBody{555, "5.5.4", "Error: unsupported BODY type"};
constexpr Reply kUnsupportedParameter{555, "5.5.4", "Error: unsupported parameter"};
constexpr Reply kSenderSyntax{501, "5.1.7", "Error: bad sender address syntax"};
constexpr Reply kSenderPathTooLong{501, "5.1.7", "Error: path too long"};
constexpr Reply kSenderLocalTooLong{501, "5.1.7", "Error: local part longer than 64 octets"};
constexpr Reply kSenderDomainTooLong{501, "5.1.7", "Error: domain too long"};
constexpr Reply kSenderUtf8{553, "5.6.7", "Error: non-ASCII sender requires SMTPUTF8"};
constexpr Reply kSenderRoute{553, "5.1.7", "Error: source routes are not accepted"};
constexpr Reply kRcptAddrSyntax{501, "5.1.3", "Error: bad recipient address syntax"};
constexpr Reply kRcptPathTooLong{501, "5.1.3", "Error: path too long"};
constexpr Reply kRcptLocalTooLong{501, "5.1.3", "Error: local part longer than 64 octets"};
constexpr Reply kRcptDomainTooLong{501, "5.1.3", "Error: domain too long"};
constexpr Reply kRcptUtf8{553, "5.6.7", "Error: non-ASCII recipient requires SMTPUTF8"};
constexpr Reply kRcptRoute{553, "5.1.3", "Error: source routes are not accepted"};
constexpr Reply kRcptNull{501, "5.1.3", "Error: null recipient"};

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// 1*DIGIT, saturating at UINT64_MAX when `saturate`, else refusing overflow.
bool parse_number(std::string_view s, bool saturate, uint64_t* out) noexcept {
  if (s.empty() || s.size() > 40) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    const uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      if (!saturate) return false;
      v = UINT64_MAX;
      continue;
    }
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

struct VerbName {
  std::string_view name;
  Verb verb;
};
constexpr VerbName kVerbs[] = {
    {"EHLO", Verb::kEhlo}, {"HELO", Verb::kHelo}, {"MAIL", Verb::kMail},
    {"RCPT", Verb::kRcpt}, {"DATA", Verb::kData}, {"BDAT", Verb::kBdat},
    {"RSET", Verb::kRset}, {"NOOP", Verb::kNoop}, {"QUIT", Verb::kQuit},
    {"VRFY", Verb::kVrfy}, {"EXPN", Verb::kExpn}, {"HELP", Verb::kHelp},
    {"STARTTLS", Verb::kStartTls}, {"AUTH", Verb::kAuth},
    // HTTP methods: never SMTP.
    {"GET", Verb::kForbidden}, {"POST", Verb::kForbidden}, {"HEAD", Verb::kForbidden},
    {"PUT", Verb::kForbidden}, {"CONNECT", Verb::kForbidden}, {"OPTIONS", Verb::kForbidden},
};

ParsedCommand fail(Verb verb, const Reply& r) noexcept {
  ParsedCommand p;
  p.command.verb = verb;
  p.error = r;
  return p;
}

// A client name for EHLO/HELO: visible ASCII or UTF-8 (RFC 6531 clients
// may send U-labels), no controls, so it can go into a Received header.
bool valid_hostname(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxDomain) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// The path between "<" and the matching ">", skipping a ">" inside a
// quoted local part. Sets *end to the index after ">". False without one.
bool take_path(std::string_view s, std::string_view* path, size_t* end) noexcept {
  if (s.empty() || s[0] != '<') return false;
  bool quoted = false;
  for (size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      *path = s.substr(1, i - 1);
      *end = i + 1;
      return true;
    }
  }
  return false;
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool valid_keyword(std::string_view k) noexcept {
  if (k.empty()) return false;
  for (size_t i = 0; i < k.size(); ++i) {
    const char c = k[i];
    const bool alnum = is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z');
    if (!alnum && !(i > 0 && c == '-')) return false;
  }
  return true;
}

// esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 under SMTPUTF8 (which we
// do not know yet while reading the parameters; the values we act on are
// ASCII, and AUTH= is ignored, so any byte above 0x7f is let through).
bool valid_value(std::string_view v) noexcept {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (c < 33 || c == '=' || c == 127) return false;
  }
  return true;
}

// MAIL parameters into *cmd. Returns the refusal, or code 0.
Reply parse_mail_parameters(std::string_view rest, Command* cmd) noexcept {
  bool seen_body = false, seen_auth = false;
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    const size_t sp = rest.find(' ');
    const std::string_view param = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
    const size_t eq = param.find('=');
    const std::string_view key = param.substr(0, eq);
    const bool has_value = eq != std::string_view::npos;
    const std::string_view value = has_value ? param.substr(eq + 1) : std::string_view{};
    if (!valid_keyword(key) || (has_value && !valid_value(value))) return kBadParameter;
    if (iequals(key, "SIZE")) {
      if (cmd->size) return kDuplicateParameter;
      uint64_t n = 0;
      if (!parse_number(value, true, &n)) return kBadSize;
      cmd->size = n;
    } else if (iequals(key, "BODY")) {
      if (seen_body) return kDuplicateParameter;
      seen_body = true;
      if (iequals(value, "7BIT")) {
        cmd->body = BodyType::k7Bit;
      } else if (iequals(value, "8BITMIME")) {
        cmd->body = BodyType::k8BitMime;
      } else if (!has_value) {
        return kBadParameter;
      } else {
        return kUnsupportedBody;  // BINARYMIME needs CHUNKING's BINARYMIME, not offered
      }
    } else if (iequals(key, "SMTPUTF8")) {
      if (has_value) return kBadSmtputf8;
      if (cmd->smtputf8) return kDuplicateParameter;
      cmd->smtputf8 = true;
    } else if (iequals(key, "AUTH")) {
      // RFC 4954 5: a server offering AUTH must accept AUTH=<mailbox>; we
      // trust the session's own authentication, never this claim.
      if (!has_value) return kBadParameter;
      if (seen_auth) return kDuplicateParameter;
      seen_auth = true;
    } else {
      return kUnsupportedParameter;
    }
  }
  return {};
}

// "FROM:<path> params" / "TO:<path> params".
ParsedCommand parse_path_command(Verb verb, std::string_view rest, const ParseContext& ctx) {
  const bool mail = verb == Verb::kMail;
  const std::string_view keyword = mail ? "FROM:" : "TO:";
  if (!istarts_with(rest, keyword)) return fail(verb, mail ? kMailSyntax : kRcptSyntax);
  rest.remove_prefix(keyword.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::string_view path;
  size_t end = 0;
  if (!take_path(rest, &path, &end)) return fail(verb, mail ? kMailSyntax : kRcptSyntax);
  rest.remove_prefix(end);
  if (!rest.empty() && rest.front() != ' ') return fail(verb, mail ? kMailSyntax : kRcptSyntax);

  ParsedCommand p;
  p.command.verb = verb;
  p.command.path = path;
  if (mail) {
    if (Reply r = parse_mail_parameters(rest, &p.command); r.code != 0) return fail(verb, r);
  } else if (!trim(rest).empty()) {
    return fail(verb, kUnsupportedParameter);  // no DSN: RCPT takes no parameters
  }

  if (path.empty()) {
    if (mail) return p;  // the null reverse path
    return fail(verb, kRcptNull);
  }
  if (path.size() + 2 > kMaxPath) return fail(verb, mail ? kSenderPathTooLong : kRcptPathTooLong);
  if (path.front() == '@') return fail(verb, mail ? kSenderRoute : kRcptRoute);
  const bool utf8 = mail ? p.command.smtputf8 : ctx.smtputf8;
  switch (check_mailbox(path, utf8)) {
    case MailboxCheck::kOk:
      return p;
    case MailboxCheck::kLocalPartTooLong:
      return fail(verb, mail ? kSenderLocalTooLong : kRcptLocalTooLong);
    case MailboxCheck::kDomainTooLong:
      return fail(verb, mail ? kSenderDomainTooLong : kRcptDomainTooLong);
    case MailboxCheck::kNeedsSmtputf8:
      return fail(verb, mail ? kSenderUtf8 : kRcptUtf8);
    case MailboxCheck::kBadSyntax:
      break;
  }
  return fail(verb, mail ? kSenderSyntax : kRcptAddrSyntax);
}

bool is_base64_char(char c) noexcept {
  return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '+' ||
         c == '/' || c == '=';
}

}  // namespace

std::string Reply::to_string() const {
  std::string s = std::to_string(code);
  s.reserve(s.size() + enhanced.size() + text.size() + 4);
  s += ' ';
  if (!enhanced.empty()) {
    s += enhanced;
    s += ' ';
  }
  s += text;
  s += "\r\n";
  return s;
}

ParsedCommand parse_command(std::string_view line, const ParseContext& ctx) noexcept {
  const size_t verb_end = std::min(line.find(' '), line.size());
  const std::string_view word = line.substr(0, verb_end);
  Verb verb = Verb::kUnknown;
  for (const auto& v : kVerbs) {
    if (iequals(word, v.name)) verb = v.verb;
  }
  const size_t limit = verb == Verb::kAuth ? kMaxAuthLine : kMaxCommandLine;
  if (line.size() + 2 > limit) return fail(verb, kTooLong);
  if (trim(line).empty()) return fail(verb, kEmpty);
  if (verb == Verb::kUnknown) return fail(verb, kUnknown);

  const std::string_view rest = trim(line.substr(verb_end));
  ParsedCommand p;
  Command& c = p.command;
  c.verb = verb;
  switch (verb) {
    case Verb::kEhlo:
    case Verb::kHelo: {
      if (rest.empty()) return fail(verb, verb == Verb::kEhlo ? kEhloSyntax : kHeloSyntax);
      // Only the first word: "EHLO name comment" is common enough.
      const std::string_view name = rest.substr(0, rest.find_first_of(" \t"));
      if (!valid_hostname(name)) return fail(verb, kBadHostname);
      c.domain = name;
      return p;
    }
    case Verb::kMail:
    case Verb::kRcpt:
      return parse_path_command(verb, rest, ctx);
    case Verb::kData:
      return rest.empty() ? p : fail(verb, kDataSyntax);
    case Verb::kRset:
      return rest.empty() ? p : fail(verb, kRsetSyntax);
    case Verb::kQuit:
      return rest.empty() ? p : fail(verb, kQuitSyntax);
    case Verb::kStartTls:
      return rest.empty() ? p : fail(verb, kStartTlsSyntax);
    case Verb::kNoop:
    case Verb::kHelp:
    case Verb::kForbidden:
      c.argument = rest;
      return p;
    case Verb::kVrfy:
    case Verb::kExpn:
      if (rest.empty()) return fail(verb, verb == Verb::kVrfy ? kVrfySyntax : kExpnSyntax);
      c.argument = rest;
      return p;
    case Verb::kBdat: {
      const size_t sp = rest.find(' ');
      const std::string_view count = rest.substr(0, sp);
      std::string_view tail = sp == std::string_view::npos ? std::string_view{} : trim(rest.substr(sp));
      if (!parse_number(count, false, &c.chunk_size)) return fail(verb, kBdatSyntax);
      if (!tail.empty()) {
        if (!iequals(tail, "LAST")) return fail(verb, kBdatSyntax);
        c.last = true;
      }
      return p;
    }
    case Verb::kAuth: {
      if (rest.empty()) return fail(verb, kAuthSyntax);
      const size_t sp = rest.find(' ');
      const std::string_view mech = rest.substr(0, sp);
      const std::string_view initial =
          sp == std::string_view::npos ? std::string_view{} : trim(rest.substr(sp));
      if (iequals(mech, "PLAIN")) {
        c.mechanism = AuthMechanism::kPlain;
      } else if (iequals(mech, "LOGIN")) {
        c.mechanism = AuthMechanism::kLogin;
      } else {
        return fail(verb, kAuthMechanism);
      }
      if (!initial.empty()) {
        for (char ch : initial) {
          if (!is_base64_char(ch)) return fail(verb, kAuthEncoding);
        }
        c.has_initial_response = true;
        if (initial != "=") c.initial_response = initial;
      }
      return p;
    }
    case Verb::kUnknown:
      break;
  }
  return fail(verb, kUnknown);
}

}  // namespace mta
