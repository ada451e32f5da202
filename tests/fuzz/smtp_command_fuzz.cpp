// tests/fuzz/smtp_command_fuzz.cpp: fuzz target for what an SMTP client
// sends the listener (mta/smtp_command.h): command lines, mailboxes, the
// DATA decoder, base64 and SASL PLAIN.
//
// Any bytes either parse or are refused with a well-formed reply; never a
// read outside the input, a crash or a hang. Views in a parsed command
// point into the line. The DATA decoder consumes no more than it was given,
// keeps no more than its limit, ends only right after "\r\n.\r\n" (or a
// leading ".\r\n"), and gives the same result however the input is split.
//
// Seed corpus: tests/fuzz/corpus/smtp_command/ (one session transcript per
// file: command lines, then DATA content).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mta/smtp_command.h"
#include "fuzz_check.h"

namespace {

bool inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_line(std::string_view line, bool smtputf8) {
  const mta::ParsedCommand p = mta::parse_command(line, mta::ParseContext{smtputf8});
  if (!p.ok()) {
    FUZZ_CHECK(p.error.code >= 400 && p.error.code < 600);
    FUZZ_CHECK(!p.error.text.empty());
    const std::string r = p.error.to_string();
    FUZZ_CHECK(r.size() >= 6 && r.substr(r.size() - 2) == "\r\n");
    FUZZ_CHECK(r.find('\n') == r.size() - 1);
    return;
  }
  const mta::Command& c = p.command;
  FUZZ_CHECK(c.verb != mta::Verb::kUnknown);
  FUZZ_CHECK(line.size() + 2 <= mta::kMaxAuthLine);
  FUZZ_CHECK(inside(c.domain, line) && inside(c.path, line) && inside(c.argument, line) &&
             inside(c.initial_response, line));
  if (c.verb == mta::Verb::kMail || c.verb == mta::Verb::kRcpt) {
    FUZZ_CHECK(c.path.size() + 2 <= mta::kMaxPath);
    if (!c.path.empty()) {
      const bool utf8 = c.verb == mta::Verb::kMail ? c.smtputf8 : smtputf8;
      FUZZ_CHECK(mta::check_mailbox(c.path, utf8) == mta::MailboxCheck::kOk);
    } else {
      FUZZ_CHECK(c.verb == mta::Verb::kMail);  // the null path is MAIL's only
    }
  }
  if (c.verb != mta::Verb::kAuth) FUZZ_CHECK(line.size() + 2 <= mta::kMaxCommandLine);
}

// True if some CR is not followed by LF, or some LF not preceded by CR.
bool bare_reference(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return true;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
  }
  return false;
}

struct Decoded {
  std::string out;
  size_t consumed = 0;
  bool done = false;
  bool bare = false;
};

Decoded decode(std::string_view in, size_t step, uint64_t max) {
  mta::DataDecoder d(max);
  Decoded r;
  while (r.consumed < in.size() && !d.done()) {
    const size_t n = d.feed(in.substr(r.consumed, step), r.out);
    FUZZ_CHECK(n <= step);
    r.consumed += n;
  }
  r.done = d.done();
  r.bare = d.bare_line_ending();
  FUZZ_CHECK(r.out.size() <= max);
  FUZZ_CHECK(d.size() >= r.out.size());
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // Every line as a command, in both SMTPUTF8 states; the whole input too.
  size_t start = 0;
  while (start <= input.size()) {
    size_t lf = input.find('\n', start);
    if (lf == std::string_view::npos) lf = input.size();
    std::string_view line = input.substr(start, lf - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    check_line(line, false);
    check_line(line, true);
    start = lf + 1;
  }
  check_line(input, false);

  // The whole input as DATA content, whole and split.
  const Decoded whole = decode(input, input.size() + 1, 1 << 20);
  FUZZ_CHECK(whole.consumed <= input.size());
  if (whole.done) {
    const std::string_view used = input.substr(0, whole.consumed);
    FUZZ_CHECK(used == ".\r\n" ||
               (used.size() >= 5 && used.substr(used.size() - 5) == "\r\n.\r\n"));
  } else {
    FUZZ_CHECK(whole.consumed == input.size());
  }
  if (!whole.bare) FUZZ_CHECK(!bare_reference(whole.out));  // content is CRLF lines only
  for (size_t step : {size_t(1), size_t(3), size_t(64)}) {
    const Decoded split = decode(input, step, 1 << 20);
    FUZZ_CHECK(split.out == whole.out);
    FUZZ_CHECK(split.consumed == whole.consumed);
    FUZZ_CHECK(split.done == whole.done && split.bare == whole.bare);
  }
  decode(input, 7, 16);  // the limit holds

  // The BDAT check, fed in pieces, agrees with a direct scan.
  mta::LineEndingCheck endings;
  for (size_t i = 0; i < input.size(); i += 5) endings.feed(input.substr(i, 5));
  FUZZ_CHECK(endings.bare_line_ending() == bare_reference(input));

  // base64 round trip, and SASL PLAIN over anything.
  if (auto decoded = mta::decode_base64(input)) {
    FUZZ_CHECK(mta::encode_base64(*decoded).size() == input.size());
  }
  const std::string encoded = mta::encode_base64(input);
  auto back = mta::decode_base64(encoded);
  FUZZ_CHECK(back && *back == input);
  if (auto creds = mta::decode_sasl_plain(encoded)) {
    FUZZ_CHECK(!creds->user.empty() && !creds->password.empty());
  }
  mta::decode_sasl_plain(input);
  return 0;
}
