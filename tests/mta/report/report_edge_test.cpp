// tests/mta/report/report_edge_test.cpp: edge cases of mta::report::parse()
// as tables (errors, folding, xtext, transfer encodings, charsets, RFC 2047,
// precedence of the kinds, the bounds on hostile input) and the private
// helpers of report_internal.h they rest on.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "mta/report/report.h"
#include "mta/report/report_internal.h"

namespace mta::report {
namespace {

Report must_parse(const std::string& message, const ReportOptions& options = {}) {
  auto r = parse(message, options);
  EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.error().to_string());
  return r.has_value() ? *r : Report{};
}

// A multipart/report; report-type=delivery-status around `status`.
std::string dsn(const std::string& status, const std::string& status_headers = "") {
  return "From: MAILER-DAEMON@relay.example\nSubject: Returned mail\nMIME-Version: 1.0\n"
         "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
         "--B\nContent-Type: text/plain\n\nfailed\n\n--B\nContent-Type: message/delivery-status\n" +
         status_headers + "\n" + status + "\n--B--\n";
}

TEST(ReportErrors, NoHeaderSection) {
  const std::vector<std::string> bad = {
      "",
      "\r\n\r\nbody only",
      "\nFrom: a@b.example\n",
      "just a line of text\nand another\n",
      std::string("\x00\x01\x02\xff\xfe binary", 12),
      ": no name\n",
  };
  for (const std::string& m : bad) {
    const auto r = parse(m);
    ASSERT_FALSE(r.has_value()) << m;
    EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
    EXPECT_EQ(r.error().field, "message");
  }
}

TEST(ReportErrors, TooLarge) {
  const std::string big = "Subject: x\n\n" + std::string(kMaxMessageBytes, 'a');
  const auto r = parse(big);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().field, "message");
  EXPECT_TRUE(parse(big.substr(0, kMaxMessageBytes)).has_value());
}

TEST(ReportEdge, HeadersOnlyAndMissingBlankLine) {
  // No blank line: the first line that is no field starts the body.
  Report r = must_parse("From: a@b.example\nSubject: Out of Office\nI am away until Monday\n");
  EXPECT_EQ(r.kind, Kind::kAutoReply);
  EXPECT_EQ(r.subject, "Out of Office");
  r = must_parse("Subject: hello");  // no line end at all
  EXPECT_EQ(r.kind, Kind::kUnknown);
  EXPECT_EQ(r.subject, "hello");
  r = must_parse("From sender@example.net Mon Dec  2 10:00:00 2024\nSubject: mbox\n\nx\n");
  EXPECT_EQ(r.subject, "mbox");
}

TEST(ReportEdge, FoldedDsnFields) {
  const Report r = must_parse(dsn(
      "Reporting-MTA: dns;\n  relay.example\n\nFinal-Recipient:\n rfc822;\n\tfolded@example.net\n"
      "Action:\n failed\nStatus: 5.1.1\n  (unknown user)\nDiagnostic-Code: smtp;\n\t550 5.1.1\n\t  <folded@example.net>"
      "\n\t  user unknown\nRemote-MTA: dns;\n mx.example.net.\n"));
  ASSERT_EQ(r.kind, Kind::kDsn);
  EXPECT_EQ(r.reporting_mta, "relay.example");
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].final_recipient, "folded@example.net");
  EXPECT_EQ(r.recipients[0].action, "failed");
  EXPECT_EQ(r.recipients[0].status, "5.1.1");
  EXPECT_EQ(r.recipients[0].code, 550);
  EXPECT_EQ(r.recipients[0].diagnostic, "550 5.1.1 <folded@example.net> user unknown");
  EXPECT_EQ(r.recipients[0].remote_mta, "mx.example.net");
}

TEST(ReportEdge, XtextEnvelopeId) {
  const struct {
    const char* written;
    const char* decoded;
  } cases[] = {
      {"abc+2Bdef", "abc+def"}, {"a+3Db+2C", "a=b,"}, {"plain", "plain"}, {"bad+zz", "bad+zz"}, {"end+2", "end+2"},
  };
  for (const auto& c : cases) {
    const Report r = must_parse(dsn(std::string("Reporting-MTA: dns; x.example\nOriginal-Envelope-Id: ") + c.written +
                                    "\n\nFinal-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.0.0\n"));
    EXPECT_EQ(r.envelope_id, c.decoded) << c.written;
    EXPECT_EQ(detail::xtext_decode(c.written), c.decoded);
  }
}

TEST(ReportEdge, Base64AndQuotedPrintableStatusParts) {
  const std::string status =
      "Reporting-MTA: dns; b64.example\n\nFinal-Recipient: rfc822; enc@example.net\nAction: failed\n"
      "Status: 5.2.1\nDiagnostic-Code: smtp; 550 5.2.1 disabled\n";
  const std::string b64 = "UmVwb3J0aW5nLU1UQTogZG5zOyBiNjQuZXhhbXBsZQoKRmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGVu\n"
                          "Y0BleGFtcGxlLm5ldApBY3Rpb246IGZhaWxlZApTdGF0dXM6IDUuMi4xCkRpYWdub3N0aWMtQ29k\n"
                          "ZTogc210cDsgNTUwIDUuMi4xIGRpc2FibGVkCg==\n";
  EXPECT_EQ(detail::decode_base64(b64), status);
  Report r = must_parse(dsn(b64, "Content-Transfer-Encoding: base64\n"));
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].final_recipient, "enc@example.net");
  EXPECT_EQ(r.recipients[0].diagnostic, "550 5.2.1 disabled");
  EXPECT_EQ(r.reporting_mta, "b64.example");

  EXPECT_EQ(detail::decode_quoted_printable("a=3Db=\nc= \r\nd=E2=9C=93 =ZZ="), "a=bcd\xE2\x9C\x93 =ZZ");
}

TEST(ReportEdge, LfOnlyAndBareCr) {
  const Report r = must_parse(dsn("Final-Recipient: rfc822; lf@example.net\nAction: failed\nStatus: 5.1.1\n"));
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].final_recipient, "lf@example.net");
  // The status block directly after the part headers' blank line, no
  // per-message block at all.
  EXPECT_TRUE(r.reporting_mta.empty());
}

TEST(ReportEdge, StatusPartInsideMultipartMixed) {
  const std::string m =
      "From: postmaster@odd.example\nSubject: report\nContent-Type: multipart/mixed; boundary=X\n\n"
      "--X\nContent-Type: text/plain\n\nsee attached\n--X\nContent-Type: message/delivery-status\n\n"
      "Reporting-MTA: dns; odd.example\n\nFinal-Recipient: rfc822; mixed@example.net\nStatus: 4.2.2\n--X--\n";
  const Report r = must_parse(m);
  EXPECT_EQ(r.kind, Kind::kDsn);
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].action, "delayed");  // no Action: derived from the status class
}

TEST(ReportEdge, FeedbackReportWinsOverDeliveryStatus) {
  const std::string m =
      "From: x@isp.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=Q\n\n"
      "--Q\nContent-Type: message/feedback-report\n\nFeedback-Type: fraud\n\n"
      "--Q\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@b.example\nAction: failed\n--Q--\n";
  const Report r = must_parse(m);
  EXPECT_EQ(r.kind, Kind::kComplaint);
  EXPECT_EQ(r.feedback_type, "fraud");
  EXPECT_TRUE(r.recipients.empty());
}

TEST(ReportEdge, ArfWithoutFeedbackTypeIsAbuse) {
  const Report r = must_parse(
      "From: a@isp.example\nContent-Type: multipart/report; report-type=feedback-report; boundary=F\n\n"
      "--F\nContent-Type: text/plain\n\nreport\n--F--\n");
  EXPECT_EQ(r.kind, Kind::kComplaint);
  EXPECT_EQ(r.feedback_type, "abuse");
}

TEST(ReportEdge, JmrpNeedsTheAttachment) {
  const Report r = must_parse("From: staff@hotmail.com\nSubject: complaint about message from 192.0.2.9\n\nno attachment\n");
  EXPECT_EQ(r.kind, Kind::kUnknown);
}

TEST(ReportEdge, KindPrecedenceOfWords) {
  const struct {
    std::string headers;
    std::string body;
    Kind want;
  } cases[] = {
      {"From: a@b.example\nAuto-Submitted: auto-replied\nSubject: Re: hi\n", "away", Kind::kAutoReply},
      {"From: a@b.example\nAuto-Submitted: no\nSubject: Re: hi\n", "hi", Kind::kUnknown},
      {"From: a@b.example\nAuto-Submitted: auto-generated\nSubject: digest\n", "x", Kind::kAutoReply},
      {"From: a@b.example\nX-Autoreply: yes\nSubject: Re: hi\n", "away", Kind::kAutoReply},
      {"From: a@b.example\nX-Autorespond: yes\nSubject: Re: hi\n", "away", Kind::kAutoReply},
      {"From: a@b.example\nPrecedence: auto_reply\nSubject: Re: hi\n", "away", Kind::kAutoReply},
      {"From: a@b.example\nPrecedence: bulk\nSubject: Re: hi\n", "away", Kind::kUnknown},
      {"From: a@b.example\nSubject: Out of Office: Your order\n", "away", Kind::kAutoReply},
      {"From: a@b.example\nSubject: Auto: Your order\n", "away", Kind::kAutoReply},
      {"From: a@b.example\nSubject: =?utf-8?B?0JDQstGC0L7QvtGC0LLQtdGCOiDQl9Cw0LrQsNC3?=\n", "x", Kind::kAutoReply},
      {"From: a@b.example\nSubject: Автоматический ответ: заказ\n", "x", Kind::kAutoReply},
      {"From: a@b.example\nSubject: Відпустка\n", "x", Kind::kAutoReply},
      // Bounce wording from a person is not a bounce.
      {"From: a@b.example\nSubject: Mail delivery failed\n", "could not be delivered", Kind::kUnknown},
      // A text bounce wins over Auto-Submitted when the evidence is hard.
      {"From: a@b.example\nAuto-Submitted: auto-replied\nX-Failed-Recipients: x@y.example\nSubject: Re\n", "",
       Kind::kTextBounce},
      {"From: Mail Delivery System <MAILER-DAEMON@mx.example>\nAuto-Submitted: auto-replied\n"
       "Subject: Mail delivery failed: returning message to sender\n",
       "  x@y.example\n    550 no", Kind::kTextBounce},
      {"From: MAILER-DAEMON@mx.example\nAuto-Submitted: auto-replied\nSubject: Out of Office\n", "I am away",
       Kind::kAutoReply},
      {"From: postmaster@mx.example\nSubject: =?koi8-r?B?88/Pwt3FzsnFIM7FIMTP09TB18zFzs8=?=\n",
       "Сообщение не доставлено\n<z@y.example>: 550 5.1.1 unknown", Kind::kTextBounce},
      {"Return-Path: <>\nFrom: robot@mx.example\nSubject: Undeliverable: hi\n", "x", Kind::kTextBounce},
  };
  for (const auto& c : cases) {
    const Report r = must_parse(c.headers + "\n" + c.body + "\n");
    EXPECT_EQ(kind_name(r.kind), kind_name(c.want)) << c.headers;
    if (r.kind != Kind::kTextBounce && r.kind != Kind::kDsn) {
      EXPECT_TRUE(r.recipients.empty()) << c.headers;
    }
  }
}

TEST(ReportEdge, Windows1251BounceBodyIsRead) {
  // "Сообщение не доставлено" in Windows-1251, quoted-printable.
  const std::string m =
      "From: mailer-daemon@mx.example.ru\nSubject: Report\nContent-Type: text/plain; charset=windows-1251\n"
      "Content-Transfer-Encoding: quoted-printable\n\n=D1=EE=EE=E1=F9=E5=ED=E8=E5 =ED=E5 =E4=EE=F1=F2=E0=E2=EB=E5=ED=EE\n\n"
      "<cp@example.ru>: host mx.example.ru[192.0.2.1] said: 550 5.1.1 no such user\n";
  const Report r = must_parse(m);
  ASSERT_EQ(r.kind, Kind::kTextBounce);
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].final_recipient, "cp@example.ru");
  EXPECT_EQ(r.recipients[0].status, "5.1.1");
  EXPECT_EQ(r.recipients[0].remote_mta, "mx.example.ru");
}

TEST(ReportEdge, EximDelayWarning) {
  const std::string m =
      "From: Mail Delivery System <Mailer-Daemon@mx.example>\nSubject: Warning: message 1tH8xY-0001Ab-00 delayed "
      "24 hours\nAuto-Submitted: auto-replied\n\nThis message was created automatically by mail delivery software.\n"
      "A message that you sent has not yet been delivered to one or more of its\nrecipients after more than 24 "
      "hours on the queue on mx.example.\n\n  slow@example.net\n    Delay reason: SMTP error from remote mail "
      "server after RCPT TO:<slow@example.net>:\n    451 4.7.1 Greylisted, try again later\n";
  const Report r = must_parse(m);
  ASSERT_EQ(r.kind, Kind::kTextBounce);
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].action, "delayed");
  EXPECT_EQ(r.recipients[0].status, "4.7.1");
  EXPECT_EQ(r.recipients[0].code, 451);
  EXPECT_EQ(r.recipients[0].diagnostic, "451 4.7.1 Greylisted, try again later");
}

TEST(ReportEdge, FailedRecipientsWithoutDiagnosticInText) {
  const Report r = must_parse("From: x@y.example\nX-Failed-Recipients: a@x.example,\n b@x.example\n\nsorry\n");
  ASSERT_EQ(r.recipients.size(), 2u);
  EXPECT_EQ(r.recipients[0].final_recipient, "a@x.example");
  EXPECT_EQ(r.recipients[1].final_recipient, "b@x.example");
  EXPECT_EQ(r.recipients[1].action, "failed");
  EXPECT_EQ(r.recipients[1].code, 0);
}

// Multiparts nest; the one at kMaxDepth is dropped with all it holds.
std::string nested(int levels) {
  std::string head = "From: MAILER-DAEMON@x.example\nSubject: x\n";
  std::string open;
  std::string close;
  for (int i = 0; i < levels; ++i) {
    const std::string b = "b" + std::to_string(i);
    open += "Content-Type: multipart/mixed; boundary=" + b + "\n\n--" + b + "\n";
    close = "\n--" + b + "--\n" + close;
  }
  return head + open +
         "Content-Type: message/delivery-status\n\nFinal-Recipient: rfc822; deep@example.net\nAction: failed\n" +
         close;
}

TEST(ReportBounds, MimeDepth) {
  Report r = must_parse(nested(kMaxDepth));
  EXPECT_EQ(r.kind, Kind::kDsn);
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].final_recipient, "deep@example.net");
  r = must_parse(nested(kMaxDepth + 1));
  EXPECT_EQ(r.kind, Kind::kUnknown);
  const auto start = std::chrono::steady_clock::now();
  r = must_parse(nested(5000));
  EXPECT_EQ(r.kind, Kind::kUnknown);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(ReportBounds, NestedMessageRfc822) {
  std::string m;
  for (int i = 0; i < 200; ++i) {
    m = "X-Vestnik-Id: LEVEL" + std::to_string(i) + "\nContent-Type: multipart/mixed; boundary=m" + std::to_string(i) +
        "\n\n--m" + std::to_string(i) + "\nContent-Type: message/rfc822\n\n" + m + "\n--m" + std::to_string(i) +
        "--\n";
  }
  const Report r = must_parse("From: staff@hotmail.com\nSubject: complaint about message from 1.2.3.4\n" + m);
  EXPECT_EQ(r.kind, Kind::kJmrp);
  EXPECT_EQ(r.original.trace_id, "LEVEL198");  // the attachment's own header, nothing deeper
}

TEST(ReportBounds, PartsAndRecipients) {
  std::string parts;
  for (int i = 0; i < 1000; ++i) {
    parts += "--P\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; p" + std::to_string(i) +
             "@example.net\nAction: failed\n";
  }
  Report r = must_parse("From: a@b.example\nContent-Type: multipart/mixed; boundary=P\n\n" + parts + "--P--\n");
  EXPECT_EQ(r.kind, Kind::kDsn);
  EXPECT_EQ(r.recipients.size(), kMaxParts - 1);  // the top entity counts too

  std::string blocks;
  for (int i = 0; i < 1500; ++i) {
    blocks += "Final-Recipient: rfc822; r" + std::to_string(i) + "@example.net\nAction: failed\n\n";
  }
  r = must_parse(dsn(blocks));
  EXPECT_EQ(r.recipients.size(), kMaxRecipients);

  std::string failed = "X-Failed-Recipients: ";
  for (int i = 0; i < 1500; ++i) failed += "f" + std::to_string(i) + "@example.net, ";
  r = must_parse("From: a@b.example\n" + failed + "\n\nbody\n");
  EXPECT_EQ(r.kind, Kind::kTextBounce);
  EXPECT_EQ(r.recipients.size(), kMaxRecipients);
}

TEST(ReportBounds, LongHeaderLineIsCut) {
  const Report r = must_parse("Subject: " + std::string(1 << 20, 'x') + "\n\nbody\n");
  EXPECT_EQ(r.subject.size(), kMaxFieldBytes);
}

TEST(ReportEdge, CustomTraceHeader) {
  ReportOptions options;
  options.trace_header = "x-mailer-ref";
  const Report r = must_parse(dsn("Final-Recipient: rfc822; a@b.example\nAction: failed\n") +
                                  "",
                              options);
  EXPECT_TRUE(r.original.trace_id.empty());
  const std::string m = "From: MAILER-DAEMON@x.example\nX-Failed-Recipients: a@b.example\nSubject: failed\n\n"
                        "  a@b.example\n    550 unknown\n\n------ This is a copy of the message, including all "
                        "the headers. ------\n\nX-Mailer-Ref: REF-42\nMessage-ID: <m@x>\nTo: a@b.example\n\nhi\n";
  const Report q = must_parse(m, options);
  EXPECT_EQ(q.original.trace_id, "REF-42");
  EXPECT_EQ(q.original.message_id, "<m@x>");
  EXPECT_EQ(q.original.to, "a@b.example");
}

TEST(Rfc2047, Table) {
  const struct {
    const char* in;
    const char* out;
  } cases[] = {
      {"plain text", "plain text"},
      {"=?UTF-8?B?0J/RgNC40LLQtdGC?=", "Привет"},
      {"=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait"},
      {"=?koi8-r?B?8NLJ18XU?=", "Привет"},
      {"=?KOI8-R?Q?=F0=D2=C9=D7=C5=D4?=", "Привет"},
      {"=?windows-1251?B?z/Do4uXy?=", "Привет"},
      {"=?windows-1251?Q?=CF=F0=E8=E2=E5=F2_=EC=E8=F0?=", "Привет мир"},
      {"=?iso-8859-1?q?na=EFve?=", "naïve"},
      {"=?utf-8?B?0J/RgNC4?= =?utf-8?B?0LLQtdGC?=", "Привет"},         // whitespace between words dropped
      {"=?utf-8?B?0J/R?=\t =?utf-8?B?gNC40LLQtdGC?=", "Привет"},       // a character split across words
      {"Re: =?utf-8?B?0J/RgNC40LLQtdGC?= friend", "Re: Привет friend"},  // literal text kept
      {"=?x-unknown?B?AAAA?= tail", "=?x-unknown?B?AAAA?= tail"},        // unknown charset kept raw
      {"=?utf-8?X?abc?=", "=?utf-8?X?abc?="},                            // not an encoded word
      {"=?utf-8?B?broken", "=?utf-8?B?broken"},
      {"=?utf-8?B?/w==?=", "\xEF\xBF\xBD"},  // ill-formed UTF-8 becomes U+FFFD
  };
  for (const auto& c : cases) EXPECT_EQ(detail::decode_2047(c.in), c.out) << c.in;
}

TEST(Helpers, ReplyCodesAndStatuses) {
  EXPECT_EQ(detail::leading_reply_code("550 5.1.1 x"), 550);
  EXPECT_EQ(detail::leading_reply_code("421-4.7.0 x"), 421);
  EXPECT_EQ(detail::leading_reply_code("5501 x"), 0);
  EXPECT_EQ(detail::leading_reply_code("650 x"), 0);
  EXPECT_EQ(detail::find_enhanced_status("host [5.1.1.1] said 550 5.7.26 no"), "5.7.26");
  EXPECT_EQ(detail::find_enhanced_status("version 15.20.1.2"), "");
  EXPECT_EQ(detail::clean_status("5.0.0 (permanent failure)"), "5.0.0");
  EXPECT_EQ(detail::clean_status("5.0"), "");
  EXPECT_EQ(detail::clean_status("4.4.7x"), "");
  EXPECT_EQ(detail::join_multiline_reply("550-5.1.1 a b 550-5.1.1 c 550 5.1.1 d"), "550 5.1.1 a b c d");
  EXPECT_EQ(detail::join_multiline_reply("452-too many 452 later"), "452 too many later");
  EXPECT_EQ(detail::join_multiline_reply("550 5.1.1 one line"), "550 5.1.1 one line");
}

TEST(Helpers, Addresses) {
  EXPECT_EQ(detail::bare_address("Name <a@b.example>"), "a@b.example");
  EXPECT_EQ(detail::bare_address("rfc822; <a@b.example>"), "a@b.example");
  EXPECT_EQ(detail::bare_address("RFC822;a@b.example"), "a@b.example");
  EXPECT_EQ(detail::bare_address("\"x <y@z>\" <a@b.example>"), "a@b.example");
  EXPECT_EQ(detail::bare_address("a@b.example (Comment <c@d>)"), "a@b.example");
  EXPECT_EQ(detail::bare_address("<@relay.example:a@b.example>"), "a@b.example");
  EXPECT_EQ(detail::bare_address("<>"), "");
  EXPECT_EQ(detail::first_mailbox("\"Doe, J\" <j@d.example>, k@d.example"), "j@d.example");
  EXPECT_EQ(detail::first_mailbox("Team: m@t.example, n@t.example;"), "m@t.example");
  EXPECT_EQ(detail::first_mailbox("undisclosed-recipients:;"), "");
  EXPECT_EQ(detail::address_list("a@x.example, B <b@x.example>,, c@x.example").size(), 3u);
}

}  // namespace
}  // namespace mta::report
