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

#include "report_fuzz_check.h"

using report_fuzz::check_report;
using report_fuzz::check_report_result;
using report_fuzz::Kind;

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
