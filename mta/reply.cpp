// mta/reply.cpp: see reply.h.
#include "mta/reply.h"

#include <algorithm>
#include <charconv>

namespace mta {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// "5.1.1" with class `klass`: class one digit, subject and detail 1-3 digits.
size_t enhanced_length(std::string_view s, int klass) noexcept {
  if (s.size() < 5 || s[0] - '0' != klass || s[1] != '.') return 0;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t start = i;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) ++i;
    if (i == start) return 0;
    if (part == 0) {
      if (i >= s.size() || s[i] != '.') return 0;
      ++i;
    }
  }
  if (i < s.size() && s[i] != ' ') return 0;  // "5.1.1x" is text
  return i;
}

}  // namespace

std::string Reply::text() const {
  std::string out;
  for (const auto& l : lines) {
    if (l.empty()) continue;
    if (!out.empty()) out.push_back(' ');
    out.append(l);
  }
  return out;
}

core::Reply Reply::to_core() const { return core::Reply{code, enhanced, text()}; }

ParseState parse_reply(std::string_view in, Reply* reply, size_t* consumed, std::string* error) {
  Reply r;
  size_t pos = 0;
  for (;;) {
    size_t nl = in.find('\n', pos);
    std::string_view line = nl == std::string_view::npos ? in.substr(pos) : in.substr(pos, nl - pos);
    if (line.size() > kMaxReplyLine) {
      *error = "reply line longer than " + std::to_string(kMaxReplyLine) + " octets";
      return ParseState::kMalformed;
    }
    if (nl == std::string_view::npos) return ParseState::kNeedMore;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
      *error = "reply line does not start with a three-digit code";
      return ParseState::kMalformed;
    }
    uint16_t code = static_cast<uint16_t>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
    if (code < 200 || code > 599 || line[1] > '5') {
      *error = "reply code " + std::string(line.substr(0, 3)) + " out of range";
      return ParseState::kMalformed;
    }
    if (r.lines.empty()) {
      r.code = code;
    } else if (code != r.code) {
      *error = "multi-line reply changes its code";
      return ParseState::kMalformed;
    }
    bool more = false;
    if (line.size() > 3) {
      if (line[3] == '-') {
        more = true;
      } else if (line[3] != ' ') {
        *error = "reply code not followed by a space or '-'";
        return ParseState::kMalformed;
      }
    }
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
    if (r.lines.empty()) {
      if (size_t n = enhanced_length(text, r.klass())) {
        r.enhanced.assign(text.substr(0, n));
        text.remove_prefix(std::min(text.size(), n + 1));
      }
    } else if (!r.enhanced.empty() && text.substr(0, r.enhanced.size()) == r.enhanced &&
               (text.size() == r.enhanced.size() || text[r.enhanced.size()] == ' ')) {
      text.remove_prefix(std::min(text.size(), r.enhanced.size() + 1));
    }
    if (r.lines.size() >= kMaxReplyLines) {
      *error = "reply has more than " + std::to_string(kMaxReplyLines) + " lines";
      return ParseState::kMalformed;
    }
    r.lines.emplace_back(text);
    pos = nl + 1;
    if (!more) break;
  }
  *reply = std::move(r);
  *consumed = pos;
  return ParseState::kComplete;
}

Capabilities parse_ehlo(const Reply& reply) {
  Capabilities caps;
  caps.esmtp = reply.code == 250;
  for (size_t i = 1; i < reply.lines.size(); ++i) {
    std::string line = reply.lines[i];
    std::transform(line.begin(), line.end(), line.begin(),
                   [](unsigned char c) { return static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c); });
    std::string_view v = line;
    size_t sp = v.find_first_of(" =");
    std::string_view kw = v.substr(0, sp);
    std::string_view args = sp == std::string_view::npos ? std::string_view{} : v.substr(sp + 1);
    if (kw == "PIPELINING") {
      caps.pipelining = true;
    } else if (kw == "SIZE") {
      caps.size = true;
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(args.data(), args.data() + args.size(), n);
      caps.max_size = ec == std::errc{} ? n : 0;
    } else if (kw == "8BITMIME") {
      caps.eight_bit_mime = true;
    } else if (kw == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (kw == "ENHANCEDSTATUSCODES") {
      caps.enhanced_status_codes = true;
    } else if (kw == "STARTTLS") {
      caps.starttls = true;
    } else if (kw == "CHUNKING") {
      caps.chunking = true;
    } else if (kw == "DSN") {
      caps.dsn = true;
    } else if (kw == "AUTH") {
      while (!args.empty()) {
        size_t e = args.find_first_of(" =");
        std::string_view m = args.substr(0, e);
        if (!m.empty()) caps.auth.emplace_back(m);
        if (e == std::string_view::npos) break;
        args.remove_prefix(e + 1);
      }
    }
  }
  return caps;
}

}  // namespace mta
