// mta/report/text_bounce.cpp: what a bounce says in words. SMTP reply
// helpers shared with the DSN reader, the wording lists that tell bounces
// and automatic replies apart, and the recipient extraction for bounces
// that are not RFC 3464 (Exim, mail.ru, qmail, Postfix without DSN, Yandex).
//
// Text bounces have no grammar, only habits. Every MTA we know names a
// failed recipient at the start of a line, alone ("  a@b", Exim), in angle
// brackets ("<a@b>: host ... said: 550 ...", Postfix, qmail) or followed by
// a colon, and puts the remote server's reply in the same paragraph. So we
// read paragraphs, never sentences, and stop where the bounce starts
// quoting the original message: its headers would name our own addresses.
#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <utility>

#include "mta/report/report_internal.h"

namespace mta::report::detail {
namespace {

constexpr size_t kMaxDiagnosticBytes = 1000;
constexpr size_t kMaxContextLines = 12;
constexpr size_t kMaxMentionSearches = 16;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

bool contains_any(std::string_view text, std::initializer_list<std::string_view> needles) noexcept {
  for (const std::string_view n : needles) {
    if (icontains(text, n)) return true;
  }
  return false;
}

// ---- enhanced status codes ----

// A well-formed "c.sss.ddd" at text[i] (class 2/4/5, 1-3 digits each);
// returns its length or 0.
size_t enhanced_at(std::string_view text, size_t i) noexcept {
  if (i >= text.size() || (text[i] != '2' && text[i] != '4' && text[i] != '5')) return 0;
  if (i > 0 && (is_digit(text[i - 1]) || text[i - 1] == '.')) return 0;
  size_t j = i + 1;
  for (int group = 0; group < 2; ++group) {
    if (j >= text.size() || text[j] != '.') return 0;
    ++j;
    const size_t start = j;
    while (j < text.size() && is_digit(text[j]) && j - start < 4) ++j;
    if (j == start || j - start > 3) return 0;
  }
  // "5.1.1.1" is an IP address, not a status.
  if (j < text.size() && (is_digit(text[j]) || (text[j] == '.' && j + 1 < text.size() && is_digit(text[j + 1])))) {
    return 0;
  }
  return j - i;
}

// ---- reply codes inside prose ----

// Offset of the first SMTP reply code in `text` ("... said: 550 5.1.1 ..."),
// or npos. A code stands alone: after a separator, before ' ' or '-' or
// the end, never part of an IP address or a longer number.
size_t find_reply_code(std::string_view text) noexcept {
  for (size_t i = 0; i + 3 <= text.size(); ++i) {
    if (text[i] != '2' && text[i] != '4' && text[i] != '5') continue;
    if (!is_digit(text[i + 1]) || !is_digit(text[i + 2])) continue;
    if (i > 0 && std::string_view(" \t:([\"=#").find(text[i - 1]) == std::string_view::npos) continue;
    if (i + 3 < text.size() && text[i + 3] != ' ' && text[i + 3] != '-') continue;
    if (i + 4 < text.size() && text[i + 3] == '-' && !is_digit(text[i + 4]) &&
        !(text[i + 4] >= 'A' && text[i + 4] <= 'z')) {
      continue;
    }
    return i;
  }
  return std::string_view::npos;
}

// ---- recipient lines ----

bool plausible_address(std::string_view a) noexcept {
  if (a.size() < 3 || a.size() > 254) return false;
  const size_t at = a.rfind('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= a.size()) return false;
  if (a.substr(at + 1).find('.') == std::string_view::npos) return false;
  for (const char c : a) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u == 127 || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' ||
        c == '[' || c == ']' || c == '"') {
      return false;
    }
  }
  return true;
}

struct RecipientLine {
  std::string address;
  std::string_view rest;  // what follows the address (and its colon) on that line
};

// A line that names a recipient at its start; empty address otherwise.
RecipientLine recipient_line(std::string_view line) {
  RecipientLine r;
  std::string_view t = line;
  while (!t.empty() && is_wsp(t.front())) t.remove_prefix(1);
  std::string_view addr;
  std::string_view rest;
  if (t.starts_with('<')) {
    const size_t close = t.find('>');
    if (close == std::string_view::npos) return r;
    addr = t.substr(1, close - 1);
    rest = t.substr(close + 1);
  } else {
    size_t end = 0;
    while (end < t.size() && !is_wsp(t[end]) && t[end] != ':') ++end;
    addr = t.substr(0, end);
    rest = t.substr(end);
    while (!addr.empty() && addr.back() == '.') addr.remove_suffix(1);
  }
  const std::string_view after = trim(rest);
  if (!after.empty() && after.front() != ':' && after.front() != '(' && after.front() != ',') return r;
  if (!plausible_address(addr)) return r;
  if (!after.empty() && after.front() == ':') rest = after.substr(1);
  r.address = std::string(addr);
  r.rest = rest;
  return r;
}

// "host mx.example.com[192.0.2.1]" / "host mx.example.com [192.0.2.1]".
std::string remote_host(std::string_view context) {
  size_t pos = 0;
  while ((pos = ifind(context, "host ", pos)) != std::string_view::npos) {
    if (pos > 0 && !is_wsp(context[pos - 1]) && context[pos - 1] != '(') {
      pos += 5;
      continue;
    }
    size_t i = pos + 5;
    size_t j = i;
    while (j < context.size() && (std::isalnum(static_cast<unsigned char>(context[j])) || context[j] == '.' ||
                                  context[j] == '-' || context[j] == '_')) {
      ++j;
    }
    std::string_view host = context.substr(i, j - i);
    while (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.find('.') != std::string_view::npos && j < context.size() &&
        (context[j] == '[' || context[j] == ' ' || context[j] == ':')) {
      return std::string(host);
    }
    pos = j;
  }
  return {};
}

// Fills code/status/diagnostic/remote_mta from the paragraph about one
// recipient.
void read_context(std::string_view context, bool delayed, RecipientStatus& r) {
  r.remote_mta = remote_host(context);
  const size_t code_at = find_reply_code(context);
  std::string diagnostic;
  if (code_at != std::string_view::npos) {
    diagnostic = join_multiline_reply(trim(context.substr(code_at)));
    r.code = leading_reply_code(diagnostic);
  } else {
    diagnostic = std::string(trim(context));
  }
  if (diagnostic.size() > kMaxDiagnosticBytes) diagnostic.resize(kMaxDiagnosticBytes);
  r.diagnostic = std::move(diagnostic);
  r.status = find_enhanced_status(r.diagnostic);
  if (r.status.empty()) r.status = find_enhanced_status(context);
  if (r.status.empty() && r.code != 0) r.status = r.code >= 500 ? "5.0.0" : r.code >= 400 ? "4.0.0" : "2.0.0";
  r.action = delayed ? "delayed" : "failed";
}

void append_context_line(std::string& context, std::string_view line) {
  const std::string_view t = trim(line);
  if (t.empty() || context.size() > 4 * kMaxDiagnosticBytes) return;
  if (!context.empty()) context.push_back(' ');
  for (const char c : t) context.push_back(c == '\r' ? ' ' : c);
}

struct Candidate {
  std::string address;
  std::string context;
};

struct QuoteStart {
  size_t marker = std::string_view::npos;   // where the bounce's own words end
  size_t headers = std::string_view::npos;  // the first quoted header line
};

bool is_header_line(std::string_view line) noexcept {
  size_t i = 0;
  while (i < line.size() && i < 80 && line[i] > 32 && line[i] < 127 && line[i] != ':') ++i;
  return i > 0 && i < line.size() && line[i] == ':' && i + 1 < line.size() && line[i + 1] == ' ';
}

QuoteStart find_quote(std::string_view text) noexcept {
  QuoteStart q;
  size_t pos = 0;
  bool previous_blank = true;
  while (pos < text.size()) {
    const size_t line_start = pos;
    const std::string_view line = next_line(text, pos);
    const bool marker =
        contains_any(line, {"copy of the message", "copy of the original message", "original message follows",
                            "original message -----", "original message headers", "message headers follow",
                            "headers of the original", "undelivered message follows",
                            "копия сообщения", "исходное сообщение", "заголовки сообщения"}) &&
        line.size() < 200;
    const bool quoted_header =
        previous_blank && (istarts_with(line, "Received: ") || istarts_with(line, "Return-Path: "));
    if (marker || quoted_header) {
      q.marker = line_start;
      // The quoted header block: the first header-looking line from here.
      size_t p = marker ? pos : line_start;
      while (p < text.size()) {
        const size_t s = p;
        const std::string_view l = next_line(text, p);
        if (is_header_line(l)) {
          q.headers = s;
          break;
        }
        if (!trim(l).empty() && p - line_start > 2000) break;
      }
      return q;
    }
    previous_blank = trim(line).empty();
  }
  return q;
}

std::vector<Candidate> recipient_candidates(std::string_view text) {
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<Candidate> out;
  std::unordered_map<std::string, size_t> index;  // lower-cased address -> out[]
  size_t pos = 0;
  size_t open = kNone;  // the recipient whose paragraph we are in
  size_t open_lines = 0;
  while (pos < text.size()) {
    const std::string_view line = next_line(text, pos);
    if (trim(line).empty()) {
      open = kNone;
      continue;
    }
    RecipientLine r = recipient_line(line);
    if (!r.address.empty() && !(open != kNone && iequals(out[open].address, r.address))) {
      const auto [it, fresh] = index.try_emplace(lower(r.address), out.size());
      if (!fresh) {
        open = it->second;  // named again (Postfix repeats it in the reply): more context
      } else {
        if (out.size() >= kMaxRecipients) break;
        out.push_back(Candidate{std::move(r.address), {}});
        open = out.size() - 1;
      }
      open_lines = 0;
      append_context_line(out[open].context, r.rest);
      continue;
    }
    if (open != kNone && open_lines++ < kMaxContextLines) append_context_line(out[open].context, line);
  }
  return out;
}

// The paragraph around the first mention of `address` in `text`.
std::string context_of_mention(std::string_view text, std::string_view address) {
  const size_t at = ifind(text, address);
  if (at == std::string_view::npos) return {};
  size_t pos = text.rfind('\n', at);
  pos = pos == std::string_view::npos ? 0 : pos + 1;
  std::string context;
  for (size_t n = 0; pos < text.size() && n < kMaxContextLines; ++n) {
    const std::string_view line = next_line(text, pos);
    if (trim(line).empty()) break;
    append_context_line(context, line);
  }
  return context;
}

}  // namespace

// ---- SMTP replies ------------------------------------------------------------

uint16_t leading_reply_code(std::string_view text) noexcept {
  if (text.size() < 3 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || !is_digit(text[1]) ||
      !is_digit(text[2])) {
    return 0;
  }
  if (text.size() > 3 && text[3] != ' ' && text[3] != '-' && text[3] != '\t') return 0;
  return static_cast<uint16_t>((text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
}

std::string find_enhanced_status(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const size_t n = enhanced_at(text, i);
    if (n != 0) return std::string(text.substr(i, n));
  }
  return {};
}

std::string clean_status(std::string_view value) {
  value = trim(value);
  const size_t n = enhanced_at(value, 0);
  if (n == 0) return {};
  if (n < value.size() && !is_wsp(value[n]) && value[n] != '(' && value[n] != ';') return {};
  return std::string(value.substr(0, n));
}

std::string join_multiline_reply(std::string_view text) {
  const uint16_t code = leading_reply_code(text);
  if (code == 0 || text.size() < 4 || text[3] != '-') return std::string(text);
  const std::string c = std::string(text.substr(0, 3));
  const std::string enhanced = enhanced_at(text, 4) != 0 ? std::string(text.substr(4, enhanced_at(text, 4))) : "";
  std::string out = c;
  if (!enhanced.empty()) out += " " + enhanced;
  // Tokens: drop each line's "550-" / "550 " prefix and the repeated
  // enhanced code after it.
  size_t i = 0;
  bool after_code = false;
  while (i < text.size()) {
    while (i < text.size() && is_wsp(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !is_wsp(text[j])) ++j;
    std::string_view token = text.substr(i, j - i);
    i = j;
    if (token.empty()) break;
    if (token == c) {
      after_code = true;
      continue;
    }
    if (token.size() >= 4 && token.substr(0, 3) == c && token[3] == '-') {
      token.remove_prefix(4);
      after_code = true;
      if (token.empty()) continue;
    }
    if (after_code && !enhanced.empty() && token == enhanced) {
      after_code = false;
      continue;
    }
    after_code = false;
    out.push_back(' ');
    out.append(token);
  }
  return out;
}

// ---- wording -------------------------------------------------------------------

bool is_daemon_sender(std::string_view from_value) noexcept {
  return contains_any(from_value, {"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "postmaster@",
                                   "<postmaster", "mail delivery subsystem", "mail delivery system"});
}

bool has_bounce_wording(std::string_view text) noexcept {
  return contains_any(
      text, {"mail delivery failed", "undelivered mail returned to sender", "delivery status notification (failure)",
             "undeliverable", "undelivered", "returned mail", "failure notice", "delivery failure", "delivery failed",
             "could not be delivered", "couldn't be delivered", "wasn't delivered", "was not delivered",
             "not be delivered", "delivery has failed", "permanent error", "permanent fatal error",
             "unable to deliver", "wasn't able to deliver", "message not delivered", "non-delivery", "nondelivery",
             "delivery to the following recipient", "delivery status notification (delay)", "warning: message",
             // Russian, without the first letter so either case matches.
             "едоставленн", "ообщение не доставлено", "е может быть доставлено", "е удалось доставить",
             "е было доставлено", "шибка доставки", "исьмо не доставлено", "е доставлено"});
}

bool has_delay_wording(std::string_view text) noexcept {
  return contains_any(text, {"delivery status notification (delay)", "delayed", "delivery delay", "will retry",
                             "still trying", "задерж"});
}

bool has_auto_reply_subject(std::string_view subject) noexcept {
  return istarts_with(trim(subject), "auto:") || istarts_with(trim(subject), "autoreply:") ||
         contains_any(subject, {"out of office", "out of the office", "automatic reply", "auto reply", "auto-reply",
                                "autoreply", "auto response", "auto-response", "autoresponse", "on vacation",
                                "vacation reply", "away from the office", "abwesenheit", "absence du bureau",
                                "fuera de la oficina", "втоответ", "втоматический ответ", "ідпустка",
                                "втовідповідь", "в отпуске", "тсутствую", "не в офисе"});
}

// ---- text bounces --------------------------------------------------------------

size_t quoted_original_offset(std::string_view text) noexcept { return find_quote(text).headers; }

std::vector<RecipientStatus> text_bounce_recipients(const std::vector<std::string>& failed,
                                                    std::string_view text, bool delayed) {
  const QuoteStart quote = find_quote(text);
  const std::string_view own = text.substr(0, std::min(quote.marker, text.size()));
  std::vector<Candidate> candidates = recipient_candidates(own);
  std::vector<RecipientStatus> out;
  if (failed.empty()) {
    for (const Candidate& c : candidates) {
      RecipientStatus r;
      r.final_recipient = c.address;
      read_context(c.context, delayed, r);
      out.push_back(std::move(r));
    }
    return out;
  }
  // X-Failed-Recipients names them; the text only explains.
  std::string fallback;
  if (!candidates.empty()) fallback = candidates.front().context;
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < candidates.size(); ++i) index.try_emplace(lower(candidates[i].address), i);
  // Searching the text for each address costs a scan each: only for the
  // first few (a bounce rarely explains more than that in prose).
  size_t searches = 0;
  for (const std::string& address : failed) {
    if (out.size() >= kMaxRecipients) break;
    RecipientStatus r;
    r.final_recipient = address;
    const auto found = index.find(lower(address));
    std::string context;
    if (found != index.end()) {
      context = candidates[found->second].context;
    } else if (searches++ < kMaxMentionSearches) {
      context = context_of_mention(own, address);
    }
    if (find_reply_code(context) == std::string_view::npos && failed.size() == 1 && !fallback.empty()) {
      context = fallback;
    }
    read_context(context, delayed, r);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace mta::report::detail
