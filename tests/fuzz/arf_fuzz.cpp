// tests/fuzz/arf_fuzz.cpp: mta::report::parse() (mta/report/report.h) over
// arbitrary complaints. The first byte selects the frame (% 3), the rest is
// the input:
//   0  the input is the whole message
//   1  the input is the body of a message/feedback-report part inside a
//      multipart/report; report-type=feedback-report skeleton (with an
//      attached original carrying X-Vestnik-Id)
//   2  the input is the attached message/rfc822 of a Microsoft JMRP report
// Invariants: no crash or exception; only an input without a header
// section is refused, as invalid_argument on "message"; a feedback-report
// frame is always a complaint with a feedback type; a JMRP frame is a
// complaint of some kind (JMRP unless the input smuggles in a report part);
// kinds agree with their fields.
//
// Seed corpus: tests/fuzz/corpus/arf/ (the ARF/JMRP fixtures of
// tests/mta/report/data behind a '0', feedback blocks behind a '1',
// attached originals behind a '2').
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
          "From: fbl@isp.example\r\nSubject: report\r\nMIME-Version: 1.0\r\n"
          "Content-Type: multipart/report; report-type=feedback-report; boundary=\"=_fz\"\r\n\r\n"
          "--=_fz\r\nContent-Type: text/plain\r\n\r\nabuse report\r\n--=_fz\r\n"
          "Content-Type: message/feedback-report\r\n\r\n" +
          std::string(input) +
          "\r\n--=_fz\r\nContent-Type: message/rfc822\r\n\r\nX-Vestnik-Id: 01JF3K8Q2Z7M4XW9N6TB5CRD99\r\n"
          "Message-ID: <01JF3K8Q2Z7M4XW9N6TB5CRD99@mail.example.com>\r\n\r\nx\r\n--=_fz--\r\n";
      const auto r = mta::report::parse(message);
      FUZZ_CHECK(r.has_value());
      check_report(*r);
      FUZZ_CHECK(r->kind == Kind::kComplaint);
      break;
    }
    case 2: {
      const std::string message =
          "From: staff@hotmail.com\nSubject: complaint about message from 192.0.2.1\n"
          "Content-Type: multipart/mixed; boundary=\"=_jm\"\n\n--=_jm\nContent-Type: text/plain\n\nreport\n"
          "--=_jm\nContent-Type: message/rfc822\n\n" +
          std::string(input) + "\n--=_jm--\n";
      const auto r = mta::report::parse(message);
      FUZZ_CHECK(r.has_value());
      check_report(*r);
      FUZZ_CHECK(r->kind == Kind::kJmrp || r->kind == Kind::kComplaint || r->kind == Kind::kDsn);
      if (r->kind == Kind::kJmrp) FUZZ_CHECK(r->source_ip == "192.0.2.1");
      break;
    }
  }
  return 0;
}
