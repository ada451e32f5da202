// tests/engine/inbound_test.cpp: plan_report (engine/inbound.h) as data —
// which message a report is tied to (VERP token, ENVID, trace header,
// Message-ID), when an unauthenticated match is refused, and what each
// kind of report turns into.
#include <gtest/gtest.h>

#include <cctype>
#include <map>

#include "engine/inbound.h"
#include "mta/bounce/classify.h"
#include "templating/token.h"
#include "transports/email.h"

namespace engine {
namespace {

using Kind = queue::Feedback::Kind;
constexpr std::string_view kKey = "0123456789abcdef0123456789abcdef";

class PlanReportTest : public ::testing::Test {
 protected:
  PlanReportTest() {
    config_.email.token_secret = std::string(kKey);
    config_.smtp.return_path = "bounce-{token}@bounces.example.test";
    config_.email.unsubscribe_mailto = "unsubscribe@bounces.example.test";
    record_.id = *core::Id::parse("01JF3K8Q2Z5W7X9Y1A2B3C4D5E");
    record_.tenant = "school";
    record_.status = core::MessageStatus::kDelivered;
    record_.request.channels = {core::Channel::kEmail};
    record_.request.to.email = "gone@example.com";
    record_.request.category = "notifications";
  }

  std::string verp(const core::Id& id) const {
    return "bounce-" + templating::seal_id_token(kKey, transports::kReturnPathTokenKind, id) +
           "@bounces.example.test";
  }

  ReportPlan plan(std::string data, std::vector<std::string> rcpt) {
    queue::InboundReport in;
    in.rcpt_to = std::move(rcpt);
    in.data = std::move(data);
    const MessageLookup lookup = [this](const core::Id& id) -> std::optional<core::MessageRecord> {
      if (id == record_.id) return record_;
      return std::nullopt;
    };
    return plan_report(in, config_, *mta::bounce::Classifier::defaults(), lookup,
                       core::from_unix_ms(1'800'000'000'000));
  }

  static std::string dsn(std::string_view final_recipient, std::string_view status,
                         std::string_view diagnostic, std::string_view original_headers,
                         std::string_view action = "failed", std::string_view envid = "") {
    std::string m =
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: bounce@bounces.example.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n"
        "\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n";
    if (!envid.empty()) m += "Original-Envelope-Id: " + std::string(envid) + "\r\n";
    m += "\r\nFinal-Recipient: rfc822; " + std::string(final_recipient) + "\r\nAction: " +
         std::string(action) + "\r\nStatus: " + std::string(status) +
         "\r\nDiagnostic-Code: smtp; " + std::string(diagnostic) + "\r\n";
    m += "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n" + std::string(original_headers) +
         "\r\n--B--\r\n";
    return m;
  }

  std::string original() const {
    return "From: school@mail.example.net\r\nTo: gone@example.com\r\n"
           "Message-ID: <" + record_.id.to_string() + "@mail.example.net>\r\n"
           "X-Vestnik-Id: " + record_.id.to_string() + "\r\nSubject: Hello\r\n";
  }

  static const queue::Feedback* find(const ReportPlan& p, Kind k) {
    for (const auto& f : p.feedback) {
      if (f.kind == k) return &f;
    }
    return nullptr;
  }

  core::Config config_;
  core::MessageRecord record_;
};

TEST_F(PlanReportTest, ADsnThroughVerpFailsTheMessageAndSuppressesAHardBounce) {
  const auto p = plan(dsn("gone@example.com", "5.1.1",
                          "550 5.1.1 The email account that you tried to reach does not exist",
                          "Subject: x\r\n"),
                      {verp(record_.id)});
  EXPECT_TRUE(p.matched) << p.outcome;
  EXPECT_EQ(p.kind, "dsn");
  const auto* b = find(p, Kind::kBounced);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->id, record_.id);
  ASSERT_TRUE(b->bounce);
  EXPECT_EQ(b->bounce->category, "bad-mailbox");
  EXPECT_EQ(b->bounce->reply.code, 550);
  EXPECT_EQ(b->bounce->reply.enhanced, "5.1.1");
  EXPECT_EQ(b->bounce->reply.text, "The email account that you tried to reach does not exist");
  EXPECT_NE(b->detail.find("mx.example.com"), std::string::npos) << b->detail;
  const auto* s = find(p, Kind::kSuppress);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->suppression.tenant, "school");
  EXPECT_EQ(s->suppression.address, "gone@example.com");
  EXPECT_EQ(s->suppression.category, "*");
  EXPECT_EQ(s->suppression.reason, core::SuppressionReason::kHardBounce);
}

TEST_F(PlanReportTest, AQuotaBounceCountsAndAPolicyBounceSuppressesNothing) {
  auto p = plan(dsn("gone@example.com", "5.2.2", "552 5.2.2 Mailbox size limit exceeded", ""),
                {verp(record_.id)});
  EXPECT_EQ(find(p, Kind::kBounced)->bounce->category, "quota-issues");
  ASSERT_NE(find(p, Kind::kSoftBounce), nullptr);
  p = plan(dsn("gone@example.com", "5.7.1",
               "554 5.7.1 Message rejected under suspicion of SPAM; https://ya.cc/1", ""),
           {verp(record_.id)});
  EXPECT_EQ(find(p, Kind::kBounced)->bounce->category, "spam-related");
  EXPECT_EQ(find(p, Kind::kSuppress), nullptr);
  EXPECT_EQ(find(p, Kind::kSoftBounce), nullptr);
}

TEST_F(PlanReportTest, ADelayedDsnIsOnlyNoted) {
  const auto p = plan(dsn("gone@example.com", "4.4.1", "451 4.4.1 no answer from host", "",
                          "delayed"),
                      {verp(record_.id)});
  ASSERT_EQ(p.feedback.size(), 1u);
  EXPECT_EQ(p.feedback[0].kind, Kind::kNote);
  EXPECT_NE(p.feedback[0].detail.find("delayed"), std::string::npos);
}

TEST_F(PlanReportTest, AForgedOrForeignTokenMatchesNothing) {
  const std::string forged =
      "bounce-" +
      templating::seal_id_token("another key entirely, 32 bytes!!",
                                transports::kReturnPathTokenKind, record_.id) +
      "@bounces.example.test";
  auto p = plan(dsn("gone@example.com", "5.1.1", "550 5.1.1 unknown", ""), {forged});
  EXPECT_FALSE(p.matched);
  EXPECT_TRUE(p.feedback.empty());
  // A token of another kind (an unsubscribe id token) does not open as VERP.
  const std::string other_kind =
      "bounce-" + templating::seal_id_token(kKey, "u2", record_.id) + "@bounces.example.test";
  p = plan(dsn("gone@example.com", "5.1.1", "550 5.1.1 unknown", ""), {other_kind});
  EXPECT_FALSE(p.matched);
  // The local part may come back in upper case: base32 does not care.
  std::string upper = verp(record_.id);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  p = plan(dsn("gone@example.com", "5.1.1", "550 5.1.1 unknown", ""), {upper});
  EXPECT_TRUE(p.matched) << p.outcome;
  // Short enough for RFC 5321's 64-octet local part.
  EXPECT_LE(verp(record_.id).find('@'), 64u);
}

TEST_F(PlanReportTest, QuotedIdsMatchOnlyWhenTheRecipientIsOurs) {
  // No VERP (a plain bounce address): the trace header finds the message,
  // and the DSN names its recipient.
  auto p = plan(dsn("gone@example.com", "5.1.1", "550 5.1.1 unknown", original()),
                {"postmaster@bounces.example.test"});
  EXPECT_TRUE(p.matched) << p.outcome;
  ASSERT_NE(find(p, Kind::kBounced), nullptr);
  // ENVID alone works the same way.
  p = plan(dsn("gone@example.com", "5.1.1", "550 5.1.1 unknown", "Subject: x\r\n", "failed",
               record_.id.to_string()),
           {"postmaster@bounces.example.test"});
  EXPECT_TRUE(p.matched) << p.outcome;
  // Someone else's address with our id: forged or confused, ignored.
  p = plan(dsn("victim@example.org", "5.1.1", "550 5.1.1 unknown", original()),
           {"postmaster@bounces.example.test"});
  EXPECT_FALSE(p.matched);
  EXPECT_TRUE(p.feedback.empty());
  // An id we never issued.
  p = plan(dsn("gone@example.com", "5.1.1", "550 5.1.1 unknown",
               "X-Vestnik-Id: 01JF3K8Q2Z00000000000000ZZ\r\n"),
           {"postmaster@bounces.example.test"});
  EXPECT_FALSE(p.matched);
}

TEST_F(PlanReportTest, AComplaintMarksTheMessageAndSuppressesEveryCategory) {
  const std::string arf =
      "From: feedback@arf.mail.yahoo.com\r\nTo: x@bounces.example.test\r\n"
      "Subject: FW: Hello\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=feedback-report; boundary=\"A\"\r\n\r\n"
      "--A\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n"
      "--A\r\nContent-Type: message/feedback-report\r\n\r\n"
      "Feedback-Type: abuse\r\nUser-Agent: Yahoo!-Mail-Feedback/1.0\r\nVersion: 0.1\r\n"
      "Original-Rcpt-To: gone@example.com\r\n"
      "\r\n--A\r\nContent-Type: message/rfc822\r\n\r\n" +
      original() + "\r\nbody\r\n--A--\r\n";
  const auto p = plan(arf, {"fbl@bounces.example.test"});
  EXPECT_EQ(p.kind, "complaint");
  EXPECT_TRUE(p.matched) << p.outcome;
  const auto* c = find(p, Kind::kComplained);
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->detail.find("abuse"), std::string::npos);
  const auto* s = find(p, Kind::kSuppress);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->suppression.reason, core::SuppressionReason::kComplaint);
  EXPECT_EQ(s->suppression.category, "*");
  EXPECT_EQ(s->suppression.channel, "email");
}

TEST_F(PlanReportTest, AutoRepliesAndStrangersAreDropped) {
  const std::string ooo =
      "From: gone@example.com\r\nTo: bounce@bounces.example.test\r\n"
      "Subject: Out of Office: Hello\r\nAuto-Submitted: auto-replied\r\n\r\nI am away.\r\n";
  auto p = plan(ooo, {verp(record_.id)});
  EXPECT_EQ(p.kind, "auto-reply");
  EXPECT_TRUE(p.feedback.empty());
  p = plan("Subject: hi\r\n\r\nbuy now\r\n", {"x@bounces.example.test"});
  EXPECT_TRUE(p.feedback.empty());
  p = plan("", {"x@bounces.example.test"});
  EXPECT_EQ(p.kind, "garbage");
  EXPECT_TRUE(p.feedback.empty());
}

TEST_F(PlanReportTest, AMailtoUnsubscribeNeedsOurToken) {
  const std::string token = templating::seal_token(
      kKey, {templating::kUnsubscribeTokenKind, "school", "email", "Ann@Example.com", "marketing"});
  auto p = plan("From: ann@example.com\r\nTo: unsubscribe@bounces.example.test\r\n"
                "Subject: unsubscribe " + token + "\r\n\r\n\r\n",
                {"Unsubscribe@Bounces.Example.Test"});
  EXPECT_EQ(p.kind, "unsubscribe");
  ASSERT_EQ(p.feedback.size(), 1u);
  EXPECT_EQ(p.feedback[0].suppression.address, "ann@example.com");
  EXPECT_EQ(p.feedback[0].suppression.category, "marketing");
  EXPECT_EQ(p.feedback[0].suppression.reason, core::SuppressionReason::kUnsubscribed);
  p = plan("From: ann@example.com\r\nSubject: unsubscribe AAAA\r\n\r\n\r\n",
           {"unsubscribe@bounces.example.test"});
  EXPECT_TRUE(p.feedback.empty());
  EXPECT_FALSE(p.matched);
}

}  // namespace
}  // namespace engine
