// tests/mta/bounce/classify_test.cpp: the bounce classifier (issue #7): the
// compiled-in rules against provider replies (deliverability.md §2.3), the
// RFC 3463 codes and our own local replies; the rule-file reader's errors;
// first-match-wins; custom rule files; the canonical line.
#include "mta/bounce/classify.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mta::bounce {
namespace {

using C = Category;

// ---------------------------------------------------------------------------
// Categories.

TEST(Category, NamesRoundTripAndAreTheDocumentedOnes) {
  const std::vector<std::string_view> expected = {
      "other",          "bad-mailbox",     "inactive-mailbox", "bad-domain",
      "invalid-sender", "quota-issues",    "spam-related",     "policy-related",
      "content-related", "virus-related",  "auth-failed",      "routing-errors",
      "bad-connection", "no-answer-from-host", "dns-failure",  "relaying-issues",
      "bad-configuration", "message-expired", "protocol-errors", "too-many-recipients",
      "throttled"};
  ASSERT_EQ(expected.size(), kCategoryCount);
  for (size_t i = 0; i < kCategoryCount; ++i) {
    const auto c = static_cast<Category>(i);
    EXPECT_EQ(category_name(c), expected[i]);
    EXPECT_EQ(parse_category(expected[i]), c);
  }
  EXPECT_EQ(parse_category("Bad-Mailbox"), std::nullopt);
  EXPECT_EQ(parse_category(""), std::nullopt);
  EXPECT_EQ(category_name(static_cast<Category>(200)), "other");
}

TEST(Category, SeverityAndBounce) {
  for (size_t i = 0; i < kCategoryCount; ++i) {
    const auto c = static_cast<Category>(i);
    const Severity want = (c == C::kBadMailbox || c == C::kBadDomain || c == C::kInactiveMailbox)
                              ? Severity::kHard
                          : c == C::kQuotaIssues ? Severity::kSoft
                                                 : Severity::kNone;
    EXPECT_EQ(severity(c), want) << category_name(c);
    EXPECT_EQ(is_bounce(c), c != C::kThrottled && c != C::kTooManyRecipients) << category_name(c);
  }
}

// ---------------------------------------------------------------------------
// The default rules, one row per sample.

struct Row {
  uint16_t code;
  const char* enhanced;
  const char* text;
  Category want;
};

void PrintTo(const Row& r, std::ostream* os) {
  *os << Classifier::canonical_line(r.code, r.enhanced, r.text);
}

class DefaultRules : public ::testing::TestWithParam<Row> {};

TEST_P(DefaultRules, Classifies) {
  const Row& r = GetParam();
  const auto c = Classifier::defaults();
  const auto v = c->explain(r.code, r.enhanced, r.text);
  EXPECT_EQ(category_name(v.category), category_name(r.want))
      << "line: " << Classifier::canonical_line(r.code, r.enhanced, r.text)
      << "\nrule: " << (v.rule ? std::string(c->rule_name(*v.rule)) : std::string("(none)"));
  // The same reply given as one line, as a peer writes it.
  std::string line = std::to_string(r.code);
  if (*r.enhanced) line += std::string(" ") + r.enhanced;
  line += std::string(" ") + r.text;
  if (r.code != 0) {
    EXPECT_EQ(category_name(c->classify_line(line)), category_name(r.want)) << line;
  }
}

// deliverability.md §2.3, every cell of the provider table.
const Row kProviderRows[] = {
    // bad-mailbox
    {550, "5.1.1", "The email account that you tried to reach does not exist. Please try "
                   "double-checking the recipient's email address for typos or unnecessary spaces.",
     C::kBadMailbox},
    {554, "", "delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0] - "
              "mta1234.mail.bf1.yahoo.com",
     C::kBadMailbox},
    {552, "", "1 Requested mail action aborted, mailbox not found", C::kBadMailbox},
    {550, "5.5.0", "Requested action not taken: mailbox unavailable (S2017062302)", C::kBadMailbox},
    {550, "", "Message was not accepted -- invalid mailbox.  Local mailbox x@mail.ru is "
              "unavailable: user not found",
     C::kBadMailbox},
    {550, "5.7.1", "No such user!", C::kBadMailbox},
    {554, "5.1.1", "Unknown user", C::kBadMailbox},
    // inactive-mailbox
    {550, "5.2.1", "The email account that you tried to reach is disabled.", C::kInactiveMailbox},
    {550, "5.2.1", "The email account that you tried to reach is inactive and not accepting messages",
     C::kInactiveMailbox},
    {554, "", "30 Sorry, your message to x@yahoo.com cannot be delivered. This mailbox is disabled "
              "(554.30).",
     C::kInactiveMailbox},
    {550, "", "Message was not accepted -- invalid mailbox.  Local mailbox x@mail.ru is "
              "unavailable: account is disabled",
     C::kInactiveMailbox},
    {550, "", "Message was not accepted -- invalid mailbox.  Local mailbox x@mail.ru is "
              "unavailable: user is terminated",
     C::kInactiveMailbox},
    {552, "5.2.2", "The recipient's inbox is out of storage space and inactive. Please direct the "
                   "recipient to https://support.google.com/mail/?p=OverQuotaPerm",
     C::kInactiveMailbox},
    // quota-issues
    {452, "4.2.2", "The recipient's inbox is out of storage space. Please direct the recipient to "
                   "https://support.google.com/mail/?p=OverQuotaTemp",
     C::kQuotaIssues},
    {552, "5.2.2", "Sorry, the recipient's mailbox is full", C::kQuotaIssues},
    {550, "5.2.2", "mailbox full", C::kQuotaIssues},
    {552, "5.2.2", "Mailbox size limit exceeded", C::kQuotaIssues},
    {552, "", "Mailbox full", C::kQuotaIssues},
    // spam-related
    {550, "5.7.1", "[1.2.3.4] Our system has detected that this message is likely unsolicited mail. "
                   "To reduce the amount of spam sent to Gmail, this message has been blocked.",
     C::kSpamRelated},
    {553, "5.7.1", "[BL21] Connections will not be accepted from 1.2.3.4, because the ip is in "
                   "Spamhaus's list; see https://postmaster.yahooinc.com/error-codes",
     C::kSpamRelated},
    {550, "5.7.1", "Unfortunately, messages from [1.2.3.4] weren't sent. Please contact your Internet "
                   "service provider since part of their network is on our block list (S3150).",
     C::kSpamRelated},
    {550, "5.7.606", "Access denied, banned sending IP [1.2.3.4]. To request removal from this list "
                     "please visit https://sender.office.com/",
     C::kSpamRelated},
    {550, "", "spam message rejected. Please visit http://help.mail.ru/notspam-support/id?c=abc or  "
              "report details to abuse@corp.mail.ru. Error code: 123. ID: 456.",
     C::kSpamRelated},
    {554, "5.7.1", "Message rejected under suspicion of SPAM; https://ya.cc/1IrBc 1234-abcd",
     C::kSpamRelated},
    // auth-failed and policy-related
    {550, "5.7.26", "This mail has been blocked because the sender is unauthenticated. Gmail requires "
                    "all senders to authenticate with either SPF or DKIM. To best protect our users "
                    "from spam, the message has been blocked.",
     C::kAuthFailed},
    {421, "4.7.27", "Your email has been rate limited because SPF authentication didn't pass for "
                    "this message.",
     C::kAuthFailed},
    {550, "5.7.27", "Your email has been blocked because the sender's SPF authentication didn't pass",
     C::kAuthFailed},
    {550, "5.7.30", "Your email has been blocked because DKIM authentication didn't pass",
     C::kAuthFailed},
    {421, "4.7.30", "Your email has been rate limited because DKIM authentication didn't pass",
     C::kAuthFailed},
    {421, "4.7.32", "Your email has been rate limited because the From: header isn't aligned",
     C::kAuthFailed},
    {550, "5.7.25", "The IP address sending this message does not have a PTR record setup",
     C::kAuthFailed},
    {421, "4.7.23", "The sending IP does not have a PTR record", C::kAuthFailed},
    {530, "5.7.29", "Your email has been blocked because the message was not sent over TLS",
     C::kAuthFailed},
    {550, "5.7.515", "Access denied, sending domain example.com doesn't meet the required "
                     "authentication level: domain in the 5322.From",
     C::kAuthFailed},
    {550, "5.7.509", "Access denied, sending domain example.com does not pass DMARC verification and "
                     "has a DMARC policy of reject.",
     C::kAuthFailed},
    {554, "5.7.9", "Message not accepted for policy reasons. See "
                   "https://help.yahoo.com/kb/postmaster/SLN7206.html",
     C::kPolicyRelated},
    {550, "5.7.1", "The user or domain that you are sending to (or from) has a policy that prohibited "
                   "the mail that you sent.",
     C::kPolicyRelated},
    {550, "5.7.1", "Delivery not authorised, message refused", C::kPolicyRelated},
    // throttled
    {421, "4.7.28", "[1.2.3.4] Our system has detected an unusual rate of mail originating from your "
                    "IP address.",
     C::kThrottled},
    {421, "4.7.0", "[1.2.3.4] Our system has detected an unusual rate of unsolicited mail originating "
                   "from your IP address.",
     C::kThrottled},
    {450, "4.2.1", "The user you are trying to contact is receiving mail at a rate that prevents "
                   "additional messages from being delivered.",
     C::kThrottled},
    {421, "4.7.0", "[TSS04] Messages from 1.2.3.4 temporarily deferred due to unexpected volume or "
                   "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
     C::kThrottled},
    {421, "4.7.0", "[TS01] Messages from 1.2.3.4 temporarily deferred due to user complaints",
     C::kThrottled},
    {421, "4.7.0", "[TS02] Messages from 1.2.3.4 temporarily deferred due to user complaints",
     C::kThrottled},
    {421, "4.7.1", "[TS03] All messages from 1.2.3.4 will be permanently deferred; Retrying will NOT "
                   "succeed.",
     C::kThrottled},
    {421, "", "Max message per connection reached, closing transmission channel", C::kThrottled},
    {451, "4.7.650", "The mail server [1.2.3.4] has been temporarily rate limited due to IP "
                     "reputation.",
     C::kThrottled},
    {451, "4.7.500", "Server busy. Please try again later from [1.2.3.4]. (S77714)", C::kThrottled},
    {451, "4.7.699", "Access denied, please try again later", C::kThrottled},
    {451, "4.7.652", "The mail server [1.2.3.4] has exceeded the maximum number of connections.",
     C::kThrottled},
    {421, "4.3.2", "The maximum number of concurrent server connections has exceeded a limit",
     C::kThrottled},
    {451, "4.7.1", "Sorry, the service is currently unavailable. Please come back later.",
     C::kThrottled},
    {421, "4.7.0", "Try again later, closing connection. (EHLO)", C::kThrottled},
};
INSTANTIATE_TEST_SUITE_P(Providers, DefaultRules, ::testing::ValuesIn(kProviderRows));

// KumoMTA's classifier unit examples and the IANA-style code rules.
const Row kIanaRows[] = {
    {552, "5.2.2", "mailbox is stuffed", C::kQuotaIssues},
    {352, "5.2.2", "mailbox is stuffed", C::kOther},
    {525, "4.7.13", "user account is disabled", C::kInactiveMailbox},
    {551, "4.7.18", "domain owner has changed", C::kBadDomain},
    {550, "5.7.17", "mailbox owner has changed", C::kBadMailbox},
    {550, "5.1.10", "Recipient address has a null MX", C::kBadDomain},
    {556, "5.1.10", "Recipient address has a null MX", C::kBadDomain},
    {550, "5.1.2", "Host unknown (Name server: example.invalid: host not found)", C::kBadDomain},
    {550, "5.1.6", "Recipient has moved, no forwarding address", C::kInactiveMailbox},
    {550, "5.1.7", "Bad sender's mailbox address syntax", C::kInvalidSender},
    {553, "5.1.8", "<a@b.invalid>: Sender address rejected: Domain not found", C::kInvalidSender},
    {550, "5.1.0", "<a@b.example>: Sender address rejected: User unknown in local recipient table",
     C::kInvalidSender},
    {550, "5.7.27", "Sender address has null MX", C::kInvalidSender},
    {550, "5.1.3", "Bad recipient address syntax", C::kBadMailbox},
    {550, "5.1.0", "Address rejected", C::kBadMailbox},
    {450, "4.1.1", "<x@example.com>: Recipient address rejected: unverified address", C::kBadMailbox},
    {452, "4.2.2", "Mailbox full", C::kQuotaIssues},
    {552, "5.2.3", "Message length exceeds administrative limit", C::kQuotaIssues},
    {452, "4.3.1", "Insufficient system storage", C::kQuotaIssues},
    {552, "5.3.4", "Message size exceeds fixed limit", C::kQuotaIssues},
    {554, "5.3.4", "Message too big for system", C::kQuotaIssues},
    {451, "4.4.1", "No answer from host", C::kNoAnswerFromHost},
    {421, "4.4.2", "Connection dropped", C::kBadConnection},
    {451, "4.4.3", "Directory server failure", C::kDnsFailure},
    {554, "5.4.4", "Unable to route", C::kRoutingErrors},
    {554, "5.4.6", "Routing loop detected", C::kRoutingErrors},
    {554, "5.4.7", "Delivery time expired", C::kMessageExpired},
    {451, "4.4.5", "System congestion", C::kThrottled},
    {452, "4.5.3", "Too many recipients", C::kTooManyRecipients},
    {552, "5.5.3", "Too many recipients", C::kTooManyRecipients},
    {452, "", "Too many recipients received this hour", C::kTooManyRecipients},
    {501, "5.5.4", "Syntax: MAIL FROM:<address>", C::kProtocolErrors},
    {503, "", "Bad sequence of commands", C::kProtocolErrors},
    {554, "5.6.0", "Corrupt message content", C::kContentRelated},
    {554, "5.6.1", "Media not supported", C::kProtocolErrors},
    {554, "5.7.1", "<x@example.org>: Relay access denied", C::kRelayingIssues},
    {550, "5.7.1", "Relaying denied", C::kRelayingIssues},
    {550, "", "relay not permitted", C::kRelayingIssues},
    {554, "5.7.1", "Message rejected: virus found (Eicar-Test-Signature)", C::kVirusRelated},
    {550, "5.7.1", "Rejected - Content Policy", C::kContentRelated},
    {550, "5.7.1", "Email rejected per DMARC policy for example.com", C::kAuthFailed},
    {550, "5.7.28", "Our system has detected an unusual rate of unsolicited mail originating from "
                    "your IP address. Mail sent from your IP address has been blocked.",
     C::kSpamRelated},
    {530, "5.7.0", "Must issue a STARTTLS command first", C::kBadConfiguration},
    {535, "5.7.8", "Authentication credentials invalid", C::kBadConfiguration},
    {550, "5.7.0", "Recipient rejected", C::kPolicyRelated},
    {450, "4.7.1", "Client host rejected: cannot find your hostname", C::kPolicyRelated},
    {550, "5.0.0", "Something unexpected happened", C::kOther},
    {451, "4.3.0", "Temporary server failure", C::kOther},
    {250, "2.0.0", "OK queued as 1234", C::kOther},
};
INSTANTIATE_TEST_SUITE_P(Iana, DefaultRules, ::testing::ValuesIn(kIanaRows));

// What our own code produces: mta/smtp_client.cpp local_reply (code 0),
// transports/email.cpp, transports/messenger.cpp and the provider codecs'
// convention (transports/providers/codec.h).
const Row kLocalRows[] = {
    {0, "4.4.1", "connect to mx.example.com failed: Connection refused", C::kNoAnswerFromHost},
    {0, "4.4.1", "no host to connect to", C::kNoAnswerFromHost},
    {0, "4.4.2", "connection with mx.example.com[1.2.3.4] lost reading reply: End of file",
     C::kBadConnection},
    {0, "4.4.2", "timeout reading reply with mx.example.com[1.2.3.4]", C::kBadConnection},
    {0, "4.4.2", "session already closed", C::kBadConnection},
    {0, "4.7.5", "TLS handshake with mx.example.com[1.2.3.4] failed: certificate verify failed",
     C::kBadConfiguration},
    {0, "4.7.10", "mx.example.com does not offer STARTTLS and TLS is required", C::kBadConfiguration},
    {0, "4.4.3", "DNS lookup for example.com failed: SERVFAIL", C::kDnsFailure},
    {556, "5.1.10", "example.com accepts no mail (null MX)", C::kBadDomain},
    {550, "5.1.2", "example.com: no such domain", C::kBadDomain},
    {0, "5.1.3", "recipient address has no domain", C::kBadMailbox},
    {0, "5.6.0", "nothing to send: the message was not rendered", C::kProtocolErrors},
    {0, "4.5.0", "protocol error from mx.example.com after RCPT: bad reply", C::kProtocolErrors},
    {0, "4.3.2", "shutting down", C::kOther},
    {0, "4.3.5", "DKIM signing required for example.com failed: invalid_argument: no key",
     C::kBadConfiguration},
    {0, "4.4.7", "telegram: deadline exceeded", C::kMessageExpired},
    {0, "", "render: unknown variable", C::kOther},
    {550, "5.1.1", "telegram 403: Forbidden: user is deactivated", C::kBadMailbox},
    {550, "5.1.1", "viber status 5: receiverNotRegistered", C::kBadMailbox},
    {550, "5.7.1", "telegram 403: Forbidden: bot was blocked by the user", C::kPolicyRelated},
    {550, "5.7.1", "twilio error 21610: Attempt to send to unsubscribed recipient", C::kPolicyRelated},
    {550, "5.7.1", "vk error 901: Can't send messages for users without permission",
     C::kPolicyRelated},
    {554, "5.6.0", "whatsapp error 131009: Parameter value is not valid", C::kProtocolErrors},
    {451, "4.7.0", "telegram 429: Too Many Requests: retry after 5", C::kThrottled},
    {451, "4.7.0", "whatsapp error 130429: Rate limit hit", C::kThrottled},
    {451, "4.7.0", "vk error 9: Flood control", C::kThrottled},
    {451, "4.3.0", "telegram HTTP 502: Bad Gateway", C::kOther},
    {451, "4.3.5", "telegram 401: Unauthorized", C::kBadConfiguration},
    {554, "5.3.5", "sms: no SMPP bind or Twilio account is configured for tenant \"t\"",
     C::kBadConfiguration},
};
INSTANTIATE_TEST_SUITE_P(Local, DefaultRules, ::testing::ValuesIn(kLocalRows));

TEST(DefaultRulesSet, ParsesAndIsShared) {
  const auto a = Classifier::defaults();
  const auto b = Classifier::defaults();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_GT(a->rule_count(), 40u);
  std::set<std::string_view> names;
  for (size_t i = 0; i < a->rule_count(); ++i) {
    EXPECT_FALSE(a->rule_name(i).empty()) << "rule " << i << " has no name";
    EXPECT_TRUE(names.insert(a->rule_name(i)).second) << "duplicate name " << a->rule_name(i);
    EXPECT_GT(a->rule_line(i), 0u);
  }
}

// Throttling is never a bounce, at any code the providers use for it.
TEST(DefaultRulesSet, ThrottlingIsNeverABounce) {
  const auto c = Classifier::defaults();
  for (const char* line : {
           "421 4.7.28 unusual rate of mail",
           "421 4.7.0 [TSS04] Messages from 1.2.3.4 temporarily deferred",
           "421 Max message per connection reached",
           "451 4.7.650 temporarily rate limited due to IP reputation",
           "550 5.7.1 Too many connections from your IP",
           "554 too many connections",
       }) {
    const Category got = c->classify_line(line);
    EXPECT_EQ(got, C::kThrottled) << line;
    EXPECT_FALSE(is_bounce(got)) << line;
  }
}

// The two ways of giving the same reply agree, and so do the peer's
// multi-line separator and a DSN's bare Status.
TEST(DefaultRulesSet, LineFormsAgree) {
  const auto c = Classifier::defaults();
  EXPECT_EQ(c->classify_line("550-5.1.1 The email account that you tried to reach does not exist"),
            C::kBadMailbox);
  EXPECT_EQ(c->classify_line("5.1.1 user unknown"), C::kBadMailbox);
  EXPECT_EQ(c->classify_line("4.4.1"), C::kNoAnswerFromHost);
  EXPECT_EQ(c->classify(0, "5.2.2", ""), C::kQuotaIssues);
  EXPECT_EQ(c->classify_line("just words"), C::kOther);
  EXPECT_EQ(c->classify_line(""), C::kOther);
}

// ---------------------------------------------------------------------------
// The canonical line.

TEST(CanonicalLine, Format) {
  EXPECT_EQ(Classifier::canonical_line(550, "5.1.1", "User unknown"), "550 5.1.1 User unknown");
  EXPECT_EQ(Classifier::canonical_line(550, "", "User unknown"), "550 User unknown");
  EXPECT_EQ(Classifier::canonical_line(550, "5.1.1", ""), "550 5.1.1 ");
  EXPECT_EQ(Classifier::canonical_line(0, "4.4.1", "no answer"), "400 4.4.1 no answer");
  EXPECT_EQ(Classifier::canonical_line(0, "5.1.1", "x"), "500 5.1.1 x");
  EXPECT_EQ(Classifier::canonical_line(0, "", "x"), "000 x");
  EXPECT_EQ(Classifier::canonical_line(1200, "5.7.1", "x"), "500 5.7.1 x");
  EXPECT_EQ(Classifier::canonical_line(42, "", "x"), "000 x");
  // A malformed enhanced code is left out rather than trusted.
  EXPECT_EQ(Classifier::canonical_line(550, "5.1", "x"), "550 x");
  EXPECT_EQ(Classifier::canonical_line(550, "55.1.1", "x"), "550 x");
  EXPECT_EQ(Classifier::canonical_line(550, "5.1.1 x", "y"), "550 y");
  EXPECT_EQ(Classifier::canonical_line(451, "4.7.650", "x"), "451 4.7.650 x");
}

// ---------------------------------------------------------------------------
// Rule files.

std::shared_ptr<const Classifier> must_parse(std::string_view toml) {
  auto r = Classifier::parse(toml, "test.toml");
  EXPECT_TRUE(r.has_value()) << (r ? std::string() : r.error().to_string());
  return r ? *r : nullptr;
}

core::Error must_fail(std::string_view toml) {
  auto r = Classifier::parse(toml, "test.toml");
  EXPECT_FALSE(r.has_value()) << "parsed: " << toml;
  return r ? core::Error{} : r.error();
}

TEST(RuleFile, FirstMatchWins) {
  const auto c = must_parse(R"(
[[rule]]
name = "first"
category = "spam-related"
match = ['(?i)blocked']

[[rule]]
name = "second"
category = "policy-related"
enhanced = "5.7.1"
)");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->rule_count(), 2u);
  auto v = c->explain(550, "5.7.1", "Message blocked");
  EXPECT_EQ(v.category, C::kSpamRelated);
  EXPECT_EQ(v.rule, 0u);
  EXPECT_EQ(c->rule_name(0), "first");
  EXPECT_EQ(c->rule_line(0), 2u);
  v = c->explain(550, "5.7.1", "Message refused");
  EXPECT_EQ(v.category, C::kPolicyRelated);
  EXPECT_EQ(v.rule, 1u);
  EXPECT_EQ(c->rule_line(1), 7u);
  v = c->explain(550, "5.1.1", "nope");
  EXPECT_EQ(v.category, C::kOther);
  EXPECT_EQ(v.rule, std::nullopt);

  // Swapped, the other rule wins for the same line.
  const auto d = must_parse(R"(
[[rule]]
category = "policy-related"
enhanced = "5.7.1"
[[rule]]
category = "spam-related"
match = '(?i)blocked'
)");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->classify(550, "5.7.1", "Message blocked"), C::kPolicyRelated);
  EXPECT_EQ(d->classify(550, "5.0.0", "Message blocked"), C::kSpamRelated);
}

TEST(RuleFile, ConditionsAllHoldAnyElementWithin) {
  const auto c = must_parse(R"(
[[rule]]
category = "bad-mailbox"
code = ["55x", "4x1"]
enhanced = ["x.1.1", "none"]
match = ['(?i)unknown', 'gone']
)");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->classify(550, "5.1.1", "User Unknown"), C::kBadMailbox);
  EXPECT_EQ(c->classify(451, "4.1.1", "user gone"), C::kBadMailbox);
  EXPECT_EQ(c->classify(553, "", "user unknown"), C::kBadMailbox);   // "none"
  EXPECT_EQ(c->classify(550, "5.1.2", "user unknown"), C::kOther);   // enhanced fails
  EXPECT_EQ(c->classify(540, "5.1.1", "user unknown"), C::kOther);   // code fails
  EXPECT_EQ(c->classify(450, "4.1.1", "user unknown"), C::kOther);   // code fails
  EXPECT_EQ(c->classify(550, "5.1.1", "user GONE"), C::kOther);      // 'gone' is case-sensitive
  EXPECT_EQ(c->classify(0, "5.1.1", "user unknown"), C::kOther);     // derived 500 is not 55x
}

TEST(RuleFile, RegexAndLiteralAgree) {
  // '.' in a regex is any character; '\.' is a dot (the literal fast path
  // must not turn the first into a dot).
  const auto c = must_parse(R"(
[[rule]]
category = "spam-related"
match = ['a.c']
[[rule]]
category = "policy-related"
match = ['x\.z']
[[rule]]
category = "virus-related"
match = ['\[BL\d+\]']
[[rule]]
category = "content-related"
match = ['(?i)^5\d\d HELLO\b']
)");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->classify(550, "", "abc"), C::kSpamRelated);
  EXPECT_EQ(c->classify(550, "", "xyz"), C::kOther);
  EXPECT_EQ(c->classify(550, "", "x.z"), C::kPolicyRelated);
  EXPECT_EQ(c->classify(553, "5.7.1", "[BL21] listed"), C::kVirusRelated);
  EXPECT_EQ(c->classify(553, "5.7.1", "[BLx] listed"), C::kOther);
  EXPECT_EQ(c->classify(553, "", "hello there"), C::kContentRelated);
  EXPECT_EQ(c->classify(553, "", "helloworld"), C::kOther);
}

// The "(?i)" literals of all rules run in one Aho-Corasick pass; it must
// find exactly what a naive case-insensitive search finds, including
// literals that are suffixes or infixes of others ("he" in "she", "hers").
TEST(RuleFile, OnePassLiteralsAgreeWithNaiveSearch) {
  std::vector<std::string> lits = {"hers", "she", "he", "his", "s", "ehs", "rs h", "x.y", "[ab]"};
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7fff;
  };
  const std::string alphabet = "hHeErRsSix. [ab]";
  for (int i = 0; i < 30; ++i) {
    std::string l;
    const size_t n = 1 + next() % 5;
    for (size_t k = 0; k < n; ++k) l += static_cast<char>(std::tolower(alphabet[next() % alphabet.size()]));
    if (l.find_first_not_of(' ') != std::string::npos) lits.push_back(l);
  }
  std::string toml;
  for (size_t i = 0; i < lits.size(); ++i) {
    std::string escaped;
    for (char ch : lits[i]) {
      if (std::string_view(".[]").find(ch) != std::string_view::npos) escaped += '\\';
      escaped += ch;
    }
    toml += "[[rule]]\ncategory = \"" +
            std::string(category_name(static_cast<Category>(1 + i % (kCategoryCount - 1)))) +
            "\"\nmatch = '(?i)" + escaped + "'\n";
  }
  const auto c = must_parse(toml);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->rule_count(), lits.size());
  for (int t = 0; t < 2000; ++t) {
    std::string text;
    const size_t n = next() % 24;
    for (size_t k = 0; k < n; ++k) text += alphabet[next() % alphabet.size()];
    const std::string line = Classifier::canonical_line(550, "", text);
    std::string lower = line;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::optional<size_t> want;
    for (size_t i = 0; i < lits.size() && !want; ++i) {
      if (lower.find(lits[i]) != std::string::npos) want = i;
    }
    const auto got = c->explain(550, "", text);
    ASSERT_EQ(got.rule, want) << "line \"" << line << "\"";
  }
}

TEST(RuleFile, CustomFileOverridesDefaults) {
  // An operator who wants Yandex's "No such user!" treated as policy, and
  // every Gmail 4.7.x as throttled.
  const auto c = must_parse(R"(
[[rule]]
category = "policy-related"
match = "No such user!"
[[rule]]
category = "throttled"
code = "421"
enhanced = "4.7.x"
)");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(Classifier::defaults()->classify(550, "5.7.1", "No such user!"), C::kBadMailbox);
  EXPECT_EQ(c->classify(550, "5.7.1", "No such user!"), C::kPolicyRelated);
  EXPECT_EQ(Classifier::defaults()->classify(421, "4.7.26", "unauthenticated"), C::kAuthFailed);
  EXPECT_EQ(c->classify(421, "4.7.26", "unauthenticated"), C::kThrottled);
}

TEST(RuleFile, EmptyFileHasNoRules) {
  const auto c = must_parse("# nothing\n");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->rule_count(), 0u);
  EXPECT_EQ(c->classify(550, "5.1.1", "User unknown"), C::kOther);
}

TEST(RuleFile, BadRegexNamesItsPlace) {
  const auto e = must_fail(R"([[rule]]
category = "bad-mailbox"
match = "fine"

[[rule]]
category = "bad-mailbox"
match = ["fine", "a(b"]
)");
  EXPECT_EQ(e.code, core::Errc::kInvalidArgument);
  EXPECT_EQ(e.field, "rule[1].match[1]");
  EXPECT_NE(e.message.find("test.toml:7: invalid regex"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("a(b"), std::string::npos) << e.message;
  // A single string is named without an index.
  EXPECT_EQ(must_fail("[[rule]]\ncategory = \"other\"\nmatch = '[z-a]'\n").field, "rule[0].match");
}

TEST(RuleFile, UnknownCategory) {
  const auto e = must_fail(R"([[rule]]
category = "bad-mailbox"
enhanced = "x.1.1"
[[rule]]
category = "bad-mailbox"
enhanced = "x.1.2"
[[rule]]
category = "mailbox-full"
enhanced = "x.2.2"
)");
  EXPECT_EQ(e.field, "rule[2].category");
  EXPECT_NE(e.message.find("test.toml:8: unknown category \"mailbox-full\""), std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("quota-issues"), std::string::npos) << e.message;
}

TEST(RuleFile, UnknownKeysRefused) {
  auto e = must_fail("[[rule]]\ncategory = \"other\"\ncode = \"5xx\"\ncolour = \"red\"\n");
  EXPECT_EQ(e.field, "rule[0].colour");
  EXPECT_NE(e.message.find("test.toml:4: unknown key"), std::string::npos) << e.message;
  e = must_fail("[rules]\nx = 1\n");
  EXPECT_EQ(e.field, "rules");
  e = must_fail("rule = 3\n");
  EXPECT_EQ(e.field, "rule");
}

TEST(RuleFile, TomlSyntaxErrorHasLineAndColumn) {
  const auto e = must_fail("[[rule]]\ncategory = \"other\"\nmatch = [\"x\",\n  oops]\n");
  EXPECT_EQ(e.code, core::Errc::kInvalidArgument);
  EXPECT_EQ(e.field, "");
  EXPECT_EQ(e.message.rfind("test.toml:4:", 0), 0u) << e.message;
}

TEST(RuleFile, StructuralErrors) {
  EXPECT_EQ(must_fail("[[rule]]\nmatch = 'x'\n").field, "rule[0].category");
  EXPECT_EQ(must_fail("[[rule]]\ncategory = \"other\"\n").field, "rule[0]");
  EXPECT_EQ(must_fail("[[rule]]\ncategory = \"other\"\nmatch = []\n").field, "rule[0].match");
  EXPECT_EQ(must_fail("[[rule]]\ncategory = \"other\"\nmatch = [1]\n").field, "rule[0].match[0]");
  EXPECT_EQ(must_fail("[[rule]]\ncategory = 5\nmatch = 'x'\n").field, "rule[0].category");
  EXPECT_EQ(must_fail("[[rule]]\ncategory = \"other\"\nname = 1\nmatch = 'x'\n").field,
            "rule[0].name");
  auto e = must_fail("[[rule]]\ncategory = \"other\"\ncode = [\"5xx\", \"55\"]\n");
  EXPECT_EQ(e.field, "rule[0].code[1]");
  EXPECT_NE(e.message.find("\"55\""), std::string::npos) << e.message;
  EXPECT_EQ(must_fail("[[rule]]\ncategory = \"other\"\ncode = \"5y0\"\n").field, "rule[0].code");
  e = must_fail("[[rule]]\ncategory = \"other\"\nenhanced = [\"x.1\"]\n");
  EXPECT_EQ(e.field, "rule[0].enhanced[0]");
  EXPECT_EQ(must_fail("[[rule]]\ncategory = \"other\"\nenhanced = \"55.1.1\"\n").field,
            "rule[0].enhanced");
  EXPECT_EQ(must_fail("[[rule]]\ncategory = \"other\"\nenhanced = \"5.1.1000\"\n").field,
            "rule[0].enhanced");
}

TEST(RuleFile, LoadFile) {
  const std::string path = ::testing::TempDir() + "/vestnik_bounce_rules.toml";
  {
    std::ofstream out(path);
    out << "[[rule]]\ncategory = \"quota-issues\"\nmatch = '(?i)stuffed'\n";
  }
  auto r = Classifier::load_file(path);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ((*r)->classify(552, "", "Mailbox STUFFED"), C::kQuotaIssues);
  std::remove(path.c_str());

  auto missing = Classifier::load_file(path);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, core::Errc::kNotFound);

  // Errors name the file.
  {
    std::ofstream out(path);
    out << "[[rule]]\ncategory = \"nope\"\ncode = \"5xx\"\n";
  }
  auto bad = Classifier::load_file(path);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message.rfind(path + ":2:", 0), 0u) << bad.error().message;
  std::remove(path.c_str());
}

// A regex that blows Boost.Regex's complexity bound is "no match", and the
// next rule still gets its turn.
TEST(RuleFile, PathologicalRegexIsNoMatch) {
  const auto c = must_parse(R"(
[[rule]]
category = "spam-related"
match = ['(x+x+)+y']
[[rule]]
category = "policy-related"
code = "5xx"
)");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->classify(550, "", std::string(4000, 'x')), C::kPolicyRelated);
  EXPECT_EQ(c->classify(550, "", "xxy"), C::kSpamRelated);
}

// Shared between threads: same answers as one thread (run under TSan to
// check the scratch buffers stay per thread).
TEST(Classifier, ConcurrentUse) {
  const auto c = Classifier::defaults();
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const bool odd = (i + t) % 2 != 0;
        const Category got =
            odd ? c->classify(550, "5.1.1", "The email account that you tried to reach does not exist")
                : c->classify(421, "4.7.0", "[TSS04] Messages from 1.2.3.4 temporarily deferred");
        if (got != (odd ? C::kBadMailbox : C::kThrottled)) ++wrong[static_cast<size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int w : wrong) EXPECT_EQ(w, 0);
}

}  // namespace
}  // namespace mta::bounce
