// transports/transport.cpp: reply classification, destination keys and the
// channel -> transport registry.
//
// outcome_from_reply() is the one place where an SMTP-style reply line turns
// into a retry / bounce decision's input, so every transport that speaks
// "code enhanced text" (SMTP, the sink, providers mapped onto SMTP codes)
// classifies alike. It is pure and total: a malformed line is a transient
// failure carrying the line as text, never an error, because the engine must
// always be able to record what the peer said.
#include "transports/transport.h"

#include <algorithm>
#include <cassert>

namespace transports {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39
bool is_reply_code(std::string_view s) noexcept {
  return s.size() >= 3 && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '5' &&
         is_digit(s[2]);
}

// RFC 3463: class "." subject "." detail; class 1 digit, subject and detail
// 1-3 digits each. `cls` is the basic code's first digit, which the class
// must repeat ("451 5.1.1" is not a valid pairing).
bool is_enhanced_code(std::string_view w, char cls) noexcept {
  if (w.size() < 5 || w[0] != cls || w[1] != '.') return false;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t digits = 0;
    while (i < w.size() && is_digit(w[i])) {
      ++i;
      ++digits;
    }
    if (digits < 1 || digits > 3) return false;
    if (part == 0) {
      if (i >= w.size() || w[i] != '.') return false;
      ++i;
    }
  }
  return i == w.size();
}

std::string without_crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

}  // namespace

Outcome outcome_from_reply(std::string_view line_in) {
  const std::string line = without_crlf(line_in);
  std::string_view s = line;
  Outcome out;
  out.kind = OutcomeKind::kTransient;

  const bool coded = is_reply_code(s) && (s.size() == 3 || s[3] == ' ' || s[3] == '-');
  if (!coded) {
    out.reply.code = 0;
    out.reply.text = line;
    return out;
  }
  out.reply.code = static_cast<uint16_t>((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
  s.remove_prefix(std::min<size_t>(4, s.size()));  // the code and its separator

  // The enhanced code, if the first word is one.
  const size_t word_end = s.find(' ');
  const std::string_view word = s.substr(0, word_end);
  if (is_enhanced_code(word, line[0])) {
    out.reply.enhanced = std::string(word);
    s = word_end == std::string_view::npos ? std::string_view() : s.substr(word_end + 1);
  }
  out.reply.text = std::string(s);

  switch (line[0]) {
    case '2':
      out.kind = OutcomeKind::kDelivered;
      break;
    case '5':
      out.kind = OutcomeKind::kPermanent;
      break;
    default:  // 4xx; 3xx is not a final answer about a message: try again
      out.kind = OutcomeKind::kTransient;
      break;
  }
  // 421: the server is closing the channel; nothing is wrong with the message.
  out.blames_message = out.reply.code != 421;
  return out;
}

std::string reply_line(const core::Reply& reply) {
  std::string out;
  if (reply.code != 0) out = std::to_string(reply.code);
  for (const std::string* part : {&reply.enhanced, &reply.text}) {
    if (part->empty()) continue;
    if (!out.empty()) out.push_back(' ');
    out += *part;
  }
  return out;
}

std::string default_destination(core::Channel channel, std::string_view address) {
  std::string out(core::channel_name(channel));
  out.push_back(':');
  const size_t at = address.rfind('@');
  if (channel != core::Channel::kEmail || at == std::string_view::npos ||
      at + 1 == address.size()) {
    out += "default";
    return out;
  }
  // Domains are case-insensitive in ASCII; UTF-8 (IDN) bytes are kept as
  // they are, so one domain spelled in two cases shares one ready queue.
  for (char c : address.substr(at + 1)) {
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

void Registry::add(std::shared_ptr<Transport> t) {
  assert(t != nullptr);
  all_.push_back(std::move(t));
}

Transport* Registry::find(core::Channel c) const noexcept {
  for (const auto& t : all_) {
    if (t->serves(c)) return t.get();
  }
  return nullptr;
}

void Transport::first_hop(std::string_view, std::function<void(std::string)> done) {
  done(std::string());
}

}  // namespace transports
