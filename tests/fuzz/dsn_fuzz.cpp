// tests/fuzz/dsn_fuzz.cpp: mta::report::parse() (mta/report/report.h) over
// arbitrary bounces. The first byte selects the frame (% 3), the rest is
// the input:
//   0  the input is the whole message
//   1  the input is the body of a message/delivery-status part inside a
//      multipart/report; report-type=delivery-status skeleton
//   2  the input is the body of a text bounce from MAILER-DAEMON with
//      X-Failed-Recipients (the Exim / mail.ru shape)
// Invariants: no crash or exception; only an input without a header
// section is refused, as invalid_argument on "message"; the framed inputs
// always parse, to the kind the frame forces (a DSN unless the input smuggles
// in a feedback-report part; a text bounce); kinds agree with their fields
//; at most kMaxRecipients recipients.
//
// Seed corpus: tests/fuzz/corpus/dsn/ (the fixtures of tests/mta/report/data
// behind a '0', status blocks behind a '1', bounce texts behind a '2').
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "core/utf8.h"
#include "mta/report/report.h"

namespace {

using mta::report::Kind;
using mta::report::Report;

bool well_formed_status(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  size_t i = 2;
  for (int group = 0; group < 2; ++group) {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || i - start > 3) return false;
    if (group == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// What every Report promises, whatever the input.
void check_report(const Report& r) {
  FUZZ_CHECK(static_cast<unsigned>(r.kind) <= static_cast<unsigned>(Kind::kJmrp));
  FUZZ_CHECK(r.recipients.size() <= mta::report::kMaxRecipients);
  FUZZ_CHECK(r.original_rcpt_to.size() <= mta::report::kMaxRecipients);
  FUZZ_CHECK(core::utf8::valid(r.subject.data(), r.subject.size()));
  switch (r.kind) {
    case Kind::kComplaint:
    case Kind::kJmrp:
      FUZZ_CHECK(r.recipients.empty());
      FUZZ_CHECK(!r.feedback_type.empty());
      break;
    case Kind::kDsn:
    case Kind::kTextBounce:
      FUZZ_CHECK(r.feedback_type.empty());
      break;
    case Kind::kAutoReply:
    case Kind::kUnknown:
      FUZZ_CHECK(r.recipients.empty() && r.feedback_type.empty() && r.original_rcpt_to.empty());
      break;
  }
  for (const mta::report::RecipientStatus& x : r.recipients) {
    FUZZ_CHECK(!x.final_recipient.empty());
    FUZZ_CHECK(x.final_recipient.find_first_of("\r\n") == std::string::npos);
    FUZZ_CHECK(x.status.empty() || well_formed_status(x.status));
    FUZZ_CHECK(x.code == 0 || (x.code >= 200 && x.code <= 599));
    FUZZ_CHECK(x.diagnostic.size() <= 1000);
    FUZZ_CHECK(x.diagnostic.find_first_of("\r\n") == std::string::npos);
    if (r.kind == Kind::kTextBounce) FUZZ_CHECK(x.action == "failed" || x.action == "delayed");
  }
}

// The unframed input: a Report, or invalid_argument on "message".
void check_report_result(const core::Result<Report>& r) {
  if (!r.has_value()) {
    FUZZ_CHECK(r.error().code == core::Errc::kInvalidArgument && r.error().field == "message");
    return;
  }
  check_report(*r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1 << 20)) return 0;
  const unsigned frame = data[0] % 3;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (frame) {
    case 0:
      check_report_result(mta::report::parse(input));
      break;
    case 1: {
      const std::string message =
          "From: Mail Delivery System <MAILER-DAEMON@relay.example>\r\nSubject: Undelivered Mail\r\n"
          "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n"
          " boundary=\"=_fz\"\r\n\r\n--=_fz\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--=_fz\r\n"
          "Content-Type: message/delivery-status\r\n\r\n" +
          std::string(input) + "\r\n--=_fz--\r\n";
      const auto r = mta::report::parse(message);
      FUZZ_CHECK(r.has_value());
      check_report(*r);
      FUZZ_CHECK(r->kind == Kind::kDsn || r->kind == Kind::kComplaint);
      break;
    }
    case 2: {
      const std::string message =
          "From: Mail Delivery System <Mailer-Daemon@mx.example>\nX-Failed-Recipients: a@b.example\n"
          "Auto-Submitted: auto-replied\nSubject: Mail delivery failed: returning message to sender\n\n" +
          std::string(input);
      const auto r = mta::report::parse(message);
      FUZZ_CHECK(r.has_value());
      check_report(*r);
      FUZZ_CHECK(r->kind == Kind::kTextBounce);
      FUZZ_CHECK(!r->recipients.empty() && r->recipients[0].final_recipient == "a@b.example");
      break;
    }
  }
  return 0;
}
