// tests/mta/report/report_test.cpp: mta::report::parse() over the fixtures
// in data/ (one per report style), each pinned field by field, and every
// fixture again with CRLF line ends.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mta/report/report.h"

namespace mta::report {
namespace {

constexpr const char* kPrefix = "01JF3K8Q2Z7M4XW9N6TB5CRD";

std::string id(int n) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", n);
  return std::string(kPrefix) + buf;
}

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(VESTNIK_REPORT_DATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Report load(const std::string& name) {
  const std::string raw = read_fixture(name);
  auto r = parse(raw);
  EXPECT_TRUE(r.has_value()) << name << ": " << (r.has_value() ? "" : r.error().to_string());
  return r.has_value() ? *r : Report{};
}

struct Rcpt {
  std::string final_recipient, original_recipient, action, status;
  uint16_t code;
  std::string diagnostic, remote_mta;
};

void expect_rcpt(const RecipientStatus& got, const Rcpt& want) {
  EXPECT_EQ(got.final_recipient, want.final_recipient);
  EXPECT_EQ(got.original_recipient, want.original_recipient);
  EXPECT_EQ(got.action, want.action);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.code, want.code);
  EXPECT_EQ(got.diagnostic, want.diagnostic);
  EXPECT_EQ(got.remote_mta, want.remote_mta);
}

// Our original: trace id, Message-ID and From as every fixture writes them.
void expect_ours(const OriginalRefs& o, int n, const std::string& to) {
  EXPECT_EQ(o.trace_id, id(n));
  EXPECT_EQ(o.message_id, "<" + id(n) + "@mail.example.com>");
  EXPECT_EQ(o.from, "news@mail.example.com");
  EXPECT_EQ(o.return_path, "b+" + id(n) + "@bounce.mail.example.com");
  EXPECT_EQ(o.to, to);
}

TEST(ReportFixture, Rfc3464Example) {
  const Report r = load("dsn_rfc3464.eml");
  EXPECT_EQ(r.kind, Kind::kDsn);
  EXPECT_EQ(r.reporting_mta, "smtpgw.example.jp");
  EXPECT_EQ(r.arrival_date, "Wed, 16 Oct 2013 14:15:34 +0900");
  EXPECT_EQ(r.from, "MAILER-DAEMON@smtpgw.example.jp");
  EXPECT_EQ(r.subject, "Returned mail: see transcript for details");
  EXPECT_EQ(r.auto_submitted, "auto-generated");
  ASSERT_EQ(r.recipients.size(), 1u);
  expect_rcpt(r.recipients[0], {"userunknown@bouncehammer.jp", "", "failed", "5.1.1", 550,
                                "550 5.1.1 <userunknown@bouncehammer.jp>... User Unknown", "mx.bouncehammer.jp"});
  expect_ours(r.original, 1, "userunknown@bouncehammer.jp");
  EXPECT_TRUE(r.feedback_type.empty());
}

TEST(ReportFixture, DelayedWithXtextEnvelopeId) {
  const Report r = load("dsn_delayed.eml");
  EXPECT_EQ(r.kind, Kind::kDsn);
  EXPECT_EQ(r.envelope_id, id(2) + "+retry=yes");
  EXPECT_EQ(r.reporting_mta, "relay.example.org");
  ASSERT_EQ(r.recipients.size(), 1u);
  expect_rcpt(r.recipients[0], {"slow@example.net", "slow@example.net", "delayed", "4.4.1", 0,
                                "connect to mx.example.net[203.0.113.9]:25: Connection timed out", "mx.example.net"});
  expect_ours(r.original, 2, "slow@example.net");
}

TEST(ReportFixture, MultiRecipientDsn) {
  const Report r = load("dsn_multi.eml");
  EXPECT_EQ(r.kind, Kind::kDsn);
  EXPECT_EQ(r.envelope_id, id(3));
  ASSERT_EQ(r.recipients.size(), 3u);
  expect_rcpt(r.recipients[0],
              {"alice@example.net", "Alice@Example.NET", "failed", "5.1.1", 550,
               "550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown in virtual mailbox table",
               "mx1.example.net"});
  expect_rcpt(r.recipients[1],
              {"bob@example.net", "", "failed", "5.2.2", 552, "552 5.2.2 Mailbox full", "mx2.example.net"});
  expect_rcpt(r.recipients[2], {"carol@example.org", "", "delivered", "2.0.0", 250,
                                "250 2.0.0 Ok: queued as 4Y2XYZ", "mx.example.org"});
  expect_ours(r.original, 3, "alice@example.net");
}

TEST(ReportFixture, GmailMultilineDiagnostic) {
  const Report r = load("dsn_gmail.eml");
  EXPECT_EQ(r.kind, Kind::kDsn);  // X-Failed-Recipients does not make it a text bounce
  EXPECT_EQ(r.reporting_mta, "googlemail.com");
  EXPECT_EQ(r.from, "mailer-daemon@googlemail.com");
  EXPECT_EQ(r.subject, "Delivery Status Notification (Failure)");
  ASSERT_EQ(r.recipients.size(), 1u);
  expect_rcpt(r.recipients[0],
              {"nosuchuser.4711@gmail.com", "", "failed", "5.1.1", 550,
               "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking "
               "the recipient's email address for typos or unnecessary spaces. Learn more at "
               "https://support.google.com/mail/?p=NoSuchUser d2si1234567lfa.101 - gsmtp",
               "gmail-smtp-in.l.google.com"});
  expect_ours(r.original, 4, "nosuchuser.4711@gmail.com");
}

TEST(ReportFixture, YahooStyle) {
  const Report r = load("dsn_yahoo.eml");
  EXPECT_EQ(r.kind, Kind::kDsn);
  EXPECT_EQ(r.reporting_mta, "mta1001.mail.bf1.yahoo.com");
  ASSERT_EQ(r.recipients.size(), 1u);
  expect_rcpt(r.recipients[0], {"no.such.user.1999@yahoo.com", "", "failed", "5.0.0", 554,
                                "554 delivery error: dd This user doesn't have a yahoo.com account "
                                "(no.such.user.1999@yahoo.com) [0] - mta1001.mail.bf1.yahoo.com",
                                ""});
  expect_ours(r.original, 5, "no.such.user.1999@yahoo.com");
}

TEST(ReportFixture, OutlookMailboxUnavailable) {
  const Report r = load("dsn_outlook.eml");
  EXPECT_EQ(r.kind, Kind::kDsn);
  EXPECT_EQ(r.reporting_mta, "DB8EUR05HT123.eop-eur05.prod.protection.outlook.com");
  EXPECT_EQ(r.subject, "Undeliverable: Your order has shipped");
  ASSERT_EQ(r.recipients.size(), 1u);
  expect_rcpt(r.recipients[0], {"gone.away@outlook.com", "", "failed", "5.5.0", 550,
                                "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302) "
                                "[DB8EUR05FT044.eop-eur05.prod.protection.outlook.com]",
                                ""});
  expect_ours(r.original, 6, "gone.away@outlook.com");
}

TEST(ReportFixture, OutlookBannedIp) {
  const Report r = load("dsn_outlook_banned.eml");
  EXPECT_EQ(r.kind, Kind::kDsn);
  ASSERT_EQ(r.recipients.size(), 1u);
  expect_rcpt(r.recipients[0],
              {"someone@hotmail.com", "someone@hotmail.com", "failed", "5.7.606", 550,
               "550 5.7.606 Access denied, banned sending IP [198.51.100.7]. To request removal from this list "
               "please visit https://sender.office.com/ and follow the directions.",
               "hotmail-com.olc.protection.outlook.com"});
  expect_ours(r.original, 7, "someone@hotmail.com");
}

TEST(ReportFixture, MailRuEximTextBounce) {
  const Report r = load("bounce_mailru.eml");
  EXPECT_EQ(r.kind, Kind::kTextBounce);  // despite Auto-Submitted: auto-replied
  EXPECT_EQ(r.auto_submitted, "auto-replied");
  EXPECT_EQ(r.from, "mailer-daemon@corp.mail.ru");
  ASSERT_EQ(r.recipients.size(), 1u);
  expect_rcpt(r.recipients[0], {"no-such-user-2024@mail.ru", "", "failed", "5.0.0", 550,
                                "550 Message was not accepted -- invalid mailbox.  Local mailbox "
                                "no-such-user-2024@mail.ru is unavailable: user not found",
                                "mxs.mail.ru"});
  expect_ours(r.original, 8, "no-such-user-2024@mail.ru");
}

TEST(ReportFixture, YandexKoi8TextBounceTwoRecipients) {
  const Report r = load("bounce_yandex.eml");
  EXPECT_EQ(r.kind, Kind::kTextBounce);
  EXPECT_EQ(r.subject, "Недоставленное сообщение");
  ASSERT_EQ(r.recipients.size(), 2u);
  expect_rcpt(r.recipients[0], {"no.such.user@yandex.ru", "", "failed", "5.7.1", 550,
                                "550 5.7.1 No such user! (in reply to RCPT TO command)", "mx.yandex.ru"});
  expect_rcpt(r.recipients[1], {"spam.trap@yandex.ru", "", "failed", "5.7.1", 554,
                                "554 5.7.1 Message rejected under suspicion of SPAM; https://ya.cc/1IrBc "
                                "1733133780-AbCdEf12-1 (in reply to end of DATA command)",
                                "mx.yandex.ru"});
  expect_ours(r.original, 9, "no.such.user@yandex.ru");
}

TEST(ReportFixture, PostfixWithoutDsn) {
  const Report r = load("bounce_postfix.eml");
  EXPECT_EQ(r.kind, Kind::kTextBounce);
  ASSERT_EQ(r.recipients.size(), 1u);
  expect_rcpt(r.recipients[0], {"nobody@example.net", "", "failed", "5.1.1", 550,
                                "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown in "
                                "local recipient table (in reply to RCPT TO command)",
                                "mx.example.net"});
  expect_ours(r.original, 10, "nobody@example.net");
}

TEST(ReportFixture, Qmail) {
  const Report r = load("bounce_qmail.eml");
  EXPECT_EQ(r.kind, Kind::kTextBounce);
  ASSERT_EQ(r.recipients.size(), 1u);
  expect_rcpt(r.recipients[0], {"vacant@qmail.example.net", "", "failed", "5.1.1", 0,
                                "Sorry, no mailbox here by that name. (#5.1.1)", ""});
  expect_ours(r.original, 11, "vacant@qmail.example.net");
}

TEST(ReportFixture, OutOfOfficeEnglish) {
  const Report r = load("autoreply_en.eml");
  EXPECT_EQ(r.kind, Kind::kAutoReply);
  EXPECT_TRUE(r.recipients.empty());
  EXPECT_EQ(r.auto_submitted, "auto-replied");
  EXPECT_EQ(r.from, "jane.roe@example.com");
  EXPECT_EQ(r.original.message_id, "<" + id(12) + "@mail.example.com>");  // from In-Reply-To
  EXPECT_TRUE(r.original.trace_id.empty());
}

TEST(ReportFixture, OutOfOfficeRussian) {
  const Report r = load("autoreply_ru.eml");
  EXPECT_EQ(r.kind, Kind::kAutoReply);
  EXPECT_EQ(r.subject, "Автоответ: Ваш заказ отправлен");
  EXPECT_EQ(r.from, "ivan@example.ru");
  EXPECT_EQ(r.original.message_id, "<" + id(13) + "@mail.example.com>");
}

TEST(ReportFixture, ArfRfc5965) {
  const Report r = load("arf_rfc5965.eml");
  EXPECT_EQ(r.kind, Kind::kComplaint);
  EXPECT_EQ(r.feedback_type, "abuse");
  EXPECT_EQ(r.user_agent, "SomeGenerator/1.0");
  EXPECT_EQ(r.original_mail_from, "somespammer@example.net");
  EXPECT_EQ(r.original_rcpt_to, std::vector<std::string>{"user@example.com"});
  EXPECT_EQ(r.arrival_date, "Thu, 8 Mar 2005 14:00:00 EDT");
  EXPECT_EQ(r.reporting_mta, "mail.example.com");
  EXPECT_EQ(r.source_ip, "192.0.2.1");
  EXPECT_EQ(r.from, "abusedesk@example.com");
  EXPECT_TRUE(r.recipients.empty());
  EXPECT_EQ(r.original.trace_id, id(14));
  EXPECT_EQ(r.original.message_id, "8787KJKJ3K4J3K4J3K4J3.mail@example.net");  // as written
  EXPECT_EQ(r.original.from, "somespammer@example.net");
  EXPECT_EQ(r.original.to, "");  // "<Undisclosed Recipients>" is no address
}

TEST(ReportFixture, ArfYahooVersion01) {
  const Report r = load("arf_yahoo.eml");
  EXPECT_EQ(r.kind, Kind::kComplaint);
  EXPECT_EQ(r.feedback_type, "abuse");
  EXPECT_EQ(r.user_agent, "Yahoo!-Mail-Feedback/1.0");
  EXPECT_EQ(r.original_mail_from, "b+" + id(15) + "@bounce.mail.example.com");
  EXPECT_EQ(r.original_rcpt_to, std::vector<std::string>{"complainer@yahoo.com"});
  EXPECT_EQ(r.arrival_date, "Mon, 2 Dec 2024 10:00:00 -0800");
  EXPECT_EQ(r.source_ip, "198.51.100.7");
  EXPECT_EQ(r.from, "feedback@arf.mail.yahoo.com");
  expect_ours(r.original, 15, "complainer@yahoo.com");
}

TEST(ReportFixture, ArfReturnPathReorderedSourceIp) {
  const Report r = load("arf_returnpath.eml");
  EXPECT_EQ(r.kind, Kind::kComplaint);  // the JMRP-like subject does not matter
  EXPECT_EQ(r.feedback_type, "abuse");
  EXPECT_EQ(r.source_ip, "198.51.100.7");
  EXPECT_EQ(r.user_agent, "ReturnPathFBL/2.0");
  EXPECT_EQ(r.original_rcpt_to, (std::vector<std::string>{"first@isp.example", "second@isp.example"}));
  EXPECT_EQ(r.original_mail_from, "b+" + id(16) + "@bounce.mail.example.com");
  EXPECT_EQ(r.arrival_date, "Mon, 02 Dec 2024 18:00:00 GMT");
  expect_ours(r.original, 16, "first@isp.example");
}

TEST(ReportFixture, ArfHeadersOnly) {
  const Report r = load("arf_headers_only.eml");
  EXPECT_EQ(r.kind, Kind::kComplaint);
  EXPECT_EQ(r.feedback_type, "opt-out");
  EXPECT_EQ(r.original_rcpt_to, std::vector<std::string>{"reader@isp.example"});
  expect_ours(r.original, 17, "reader@isp.example");
}

TEST(ReportFixture, JmrpLegacy) {
  const Report r = load("jmrp.eml");
  EXPECT_EQ(r.kind, Kind::kJmrp);
  EXPECT_EQ(r.feedback_type, "abuse");
  EXPECT_EQ(r.source_ip, "198.51.100.7");
  EXPECT_EQ(r.original.hotmail_recipient, "complainer@hotmail.com");  // the attachment's, not the outer one
  EXPECT_EQ(r.original_rcpt_to, std::vector<std::string>{"complainer@hotmail.com"});
  EXPECT_TRUE(r.recipients.empty());
  expect_ours(r.original, 18, "complainer@hotmail.com");
}

TEST(ReportFixture, HumanMailIsUnknown) {
  const Report r = load("human.eml");
  EXPECT_EQ(r.kind, Kind::kUnknown);
  EXPECT_TRUE(r.recipients.empty());
  EXPECT_TRUE(r.feedback_type.empty());
  EXPECT_EQ(r.from, "pat@example.net");
  EXPECT_EQ(r.original.message_id, "<" + id(19) + "@mail.example.com>");
}

// Every fixture parses to the same Report with CRLF line ends.
TEST(ReportFixture, CrlfGivesTheSameReport) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(VESTNIK_REPORT_DATA)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".eml")) continue;
    ++n;
    const std::string lf = read_fixture(name);
    std::string crlf;
    for (const char c : lf) {
      if (c == '\n') crlf += '\r';
      crlf += c;
    }
    const auto a = parse(lf);
    const auto b = parse(crlf);
    ASSERT_TRUE(a.has_value() && b.has_value()) << name;
    EXPECT_EQ(a->kind, b->kind) << name;
    EXPECT_EQ(a->subject, b->subject) << name;
    EXPECT_EQ(a->original.trace_id, b->original.trace_id) << name;
    EXPECT_EQ(a->original.message_id, b->original.message_id) << name;
    EXPECT_EQ(a->original_rcpt_to, b->original_rcpt_to) << name;
    ASSERT_EQ(a->recipients.size(), b->recipients.size()) << name;
    for (size_t i = 0; i < a->recipients.size(); ++i) {
      EXPECT_EQ(a->recipients[i].final_recipient, b->recipients[i].final_recipient) << name;
      EXPECT_EQ(a->recipients[i].diagnostic, b->recipients[i].diagnostic) << name;
      EXPECT_EQ(a->recipients[i].status, b->recipients[i].status) << name;
    }
  }
  EXPECT_EQ(n, 19u);
}

TEST(ReportFixture, KindNames) {
  EXPECT_EQ(kind_name(Kind::kUnknown), "unknown");
  EXPECT_EQ(kind_name(Kind::kDsn), "dsn");
  EXPECT_EQ(kind_name(Kind::kTextBounce), "text-bounce");
  EXPECT_EQ(kind_name(Kind::kAutoReply), "auto-reply");
  EXPECT_EQ(kind_name(Kind::kComplaint), "complaint");
  EXPECT_EQ(kind_name(Kind::kJmrp), "jmrp");
}

}  // namespace
}  // namespace mta::report
