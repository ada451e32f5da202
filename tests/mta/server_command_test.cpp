// tests/mta/server_command_test.cpp: the SMTP command-line parser and the
// mailbox syntax check (mta/smtp_command.h), table-driven.
#include <gtest/gtest.h>

#include <string>

#include "mta/smtp_command.h"

namespace mta {
namespace {

struct Case {
  std::string line;
  int code;               // 0: parses
  std::string enhanced;   // of the refusal
  Verb verb = Verb::kUnknown;
};

void PrintTo(const Case& c, std::ostream* os) { *os << '"' << c.line << '"'; }

class ParseTable : public ::testing::TestWithParam<Case> {};

TEST_P(ParseTable, CodeAndVerb) {
  const Case& c = GetParam();
  const ParsedCommand p = parse_command(c.line);
  EXPECT_EQ(p.error.code, c.code) << p.error.to_string();
  if (c.code != 0) {
    EXPECT_EQ(p.error.enhanced, c.enhanced);
    EXPECT_FALSE(p.error.text.empty());
  }
  EXPECT_EQ(p.command.verb, c.verb);
}

INSTANTIATE_TEST_SUITE_P(
    Commands, ParseTable,
    ::testing::Values(
        // Verbs, case-insensitive.
        Case{"EHLO client.example", 0, "", Verb::kEhlo},
        Case{"ehlo client.example", 0, "", Verb::kEhlo},
        Case{"HELO [192.0.2.1]", 0, "", Verb::kHelo},
        Case{"EHLO", 501, "5.5.4", Verb::kEhlo},
        Case{"EHLO   ", 501, "5.5.4", Verb::kEhlo},
        Case{"HELO", 501, "5.5.4", Verb::kHelo},
        Case{"EHLO bad\x01name", 501, "5.5.4", Verb::kEhlo},
        Case{"DATA", 0, "", Verb::kData},
        Case{"data", 0, "", Verb::kData},
        Case{"DATA now", 501, "5.5.4", Verb::kData},
        Case{"RSET", 0, "", Verb::kRset},
        Case{"RSET x", 501, "5.5.4", Verb::kRset},
        Case{"NOOP", 0, "", Verb::kNoop},
        Case{"NOOP anything at all", 0, "", Verb::kNoop},
        Case{"QUIT", 0, "", Verb::kQuit},
        Case{"QUIT  ", 0, "", Verb::kQuit},
        Case{"QUIT now", 501, "5.5.4", Verb::kQuit},
        Case{"VRFY postmaster", 0, "", Verb::kVrfy},
        Case{"VRFY", 501, "5.5.4", Verb::kVrfy},
        Case{"EXPN staff", 0, "", Verb::kExpn},
        Case{"HELP", 0, "", Verb::kHelp},
        Case{"HELP MAIL", 0, "", Verb::kHelp},
        Case{"STARTTLS", 0, "", Verb::kStartTls},
        Case{"STARTTLS now", 501, "5.5.4", Verb::kStartTls},
        Case{"GET / HTTP/1.1", 0, "", Verb::kForbidden},
        Case{"POST /v1/messages HTTP/1.1", 0, "", Verb::kForbidden},
        Case{"CONNECT example.com:25 HTTP/1.1", 0, "", Verb::kForbidden},
        // Unknown and empty.
        Case{"", 500, "5.5.2"},
        Case{"   ", 500, "5.5.2"},
        Case{"FOO bar", 500, "5.5.1"},
        Case{"MAILFROM:<a@b.example>", 500, "5.5.1"},
        Case{"\x80\x81", 500, "5.5.1"},
        Case{" MAIL FROM:<a@b.example>", 500, "5.5.1"},
        // MAIL FROM.
        Case{"MAIL FROM:<a@b.example>", 0, "", Verb::kMail},
        Case{"mail from:<a@b.example>", 0, "", Verb::kMail},
        Case{"MAIL FROM: <a@b.example>", 0, "", Verb::kMail},
        Case{"MAIL FROM:<>", 0, "", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> ", 0, "", Verb::kMail},
        Case{"MAIL FROM:a@b.example", 501, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example", 501, "5.5.4", Verb::kMail},
        Case{"MAIL TO:<a@b.example>", 501, "5.5.4", Verb::kMail},
        Case{"MAIL", 501, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example>x", 501, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a b@c.example>", 501, "5.1.7", Verb::kMail},
        Case{"MAIL FROM:<@relay.example:a@b.example>", 553, "5.1.7", Verb::kMail},
        Case{"MAIL FROM:<postmaster>", 501, "5.1.7", Verb::kMail},
        Case{"MAIL FROM:<\xd0\xb8@b.example>", 553, "5.6.7", Verb::kMail},
        Case{"MAIL FROM:<\xd0\xb8@b.example> SMTPUTF8", 0, "", Verb::kMail},
        Case{"MAIL FROM:<\xff@b.example> SMTPUTF8", 501, "5.1.7", Verb::kMail},
        // MAIL parameters.
        Case{"MAIL FROM:<a@b.example> SIZE=1000", 0, "", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> size=1000 body=8bitmime", 0, "", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> BODY=7BIT", 0, "", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> BODY=BINARYMIME", 555, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> BODY", 501, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> SIZE=", 501, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> SIZE=12k", 501, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> SIZE=1 SIZE=2", 501, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> SMTPUTF8=yes", 501, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> AUTH=<>", 0, "", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> RET=HDRS", 555, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> ENVID=x", 555, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> X-FOO", 555, "5.5.4", Verb::kMail},
        Case{"MAIL FROM:<a@b.example> =x", 501, "5.5.4", Verb::kMail},
        // RCPT TO.
        Case{"RCPT TO:<c@d.example>", 0, "", Verb::kRcpt},
        Case{"rcpt to: <c@d.example>", 0, "", Verb::kRcpt},
        Case{"RCPT TO:<>", 501, "5.1.3", Verb::kRcpt},
        Case{"RCPT TO:c@d.example", 501, "5.5.4", Verb::kRcpt},
        Case{"RCPT FROM:<c@d.example>", 501, "5.5.4", Verb::kRcpt},
        Case{"RCPT TO:<@a.example,@b.example:c@d.example>", 553, "5.1.3", Verb::kRcpt},
        Case{"RCPT TO:<c@d.example> NOTIFY=NEVER", 555, "5.5.4", Verb::kRcpt},
        Case{"RCPT TO:<c..x@d.example>", 501, "5.1.3", Verb::kRcpt},
        Case{"RCPT TO:<c@-d.example>", 501, "5.1.3", Verb::kRcpt},
        Case{"RCPT TO:<\xd0\xb8@d.example>", 553, "5.6.7", Verb::kRcpt},
        Case{"RCPT TO:<\"a>b\"@d.example>", 0, "", Verb::kRcpt},
        Case{"RCPT TO:<c@[192.0.2.1]>", 0, "", Verb::kRcpt},
        Case{"RCPT TO:<c@[IPv6:2001:db8::1]>", 0, "", Verb::kRcpt},
        Case{"RCPT TO:<c@[300.0.2.1]>", 501, "5.1.3", Verb::kRcpt},
        // BDAT.
        Case{"BDAT 100", 0, "", Verb::kBdat},
        Case{"BDAT 0 LAST", 0, "", Verb::kBdat},
        Case{"bdat 5 last", 0, "", Verb::kBdat},
        Case{"BDAT", 501, "5.5.4", Verb::kBdat},
        Case{"BDAT x", 501, "5.5.4", Verb::kBdat},
        Case{"BDAT -1", 501, "5.5.4", Verb::kBdat},
        Case{"BDAT 10 FIRST", 501, "5.5.4", Verb::kBdat},
        Case{"BDAT 99999999999999999999999", 501, "5.5.4", Verb::kBdat},
        // AUTH.
        Case{"AUTH PLAIN", 0, "", Verb::kAuth},
        Case{"AUTH PLAIN AHUAcA==", 0, "", Verb::kAuth},
        Case{"AUTH PLAIN =", 0, "", Verb::kAuth},
        Case{"auth login", 0, "", Verb::kAuth},
        Case{"AUTH LOGIN dQ==", 0, "", Verb::kAuth},
        Case{"AUTH", 501, "5.5.4", Verb::kAuth},
        Case{"AUTH CRAM-MD5", 504, "5.5.4", Verb::kAuth},
        Case{"AUTH PLAIN not*base64", 501, "5.5.2", Verb::kAuth}));

TEST(ParseCommand, FieldsOfEhlo) {
  auto p = parse_command("EHLO client.example some comment");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.domain, "client.example");
}

TEST(ParseCommand, FieldsOfMail) {
  auto p = parse_command("MAIL FROM:<a@b.example> SIZE=12345 BODY=8BITMIME SMTPUTF8");
  ASSERT_TRUE(p.ok()) << p.error.to_string();
  EXPECT_EQ(p.command.path, "a@b.example");
  ASSERT_TRUE(p.command.size.has_value());
  EXPECT_EQ(*p.command.size, 12345u);
  EXPECT_EQ(p.command.body, BodyType::k8BitMime);
  EXPECT_TRUE(p.command.smtputf8);

  auto null = parse_command("MAIL FROM:<>");
  ASSERT_TRUE(null.ok());
  EXPECT_TRUE(null.command.path.empty());
  EXPECT_FALSE(null.command.size.has_value());
  EXPECT_EQ(null.command.body, BodyType::kUnspecified);
  EXPECT_FALSE(null.command.smtputf8);
}

TEST(ParseCommand, HugeSizeSaturates) {
  auto p = parse_command("MAIL FROM:<a@b.example> SIZE=999999999999999999999999999");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p.command.size, UINT64_MAX);
}

TEST(ParseCommand, RcptUtf8FollowsTheTransaction) {
  EXPECT_FALSE(parse_command("RCPT TO:<\xd0\xb8@d.example>").ok());
  auto p = parse_command("RCPT TO:<\xd0\xb8@\xd0\xb4.example>", ParseContext{true});
  ASSERT_TRUE(p.ok()) << p.error.to_string();
  EXPECT_EQ(p.command.path, "\xd0\xb8@\xd0\xb4.example");
}

TEST(ParseCommand, QuotedLocalPartKeepsItsAngleBracket) {
  auto p = parse_command("RCPT TO:<\"a>b\"@d.example>");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.path, "\"a>b\"@d.example");
}

TEST(ParseCommand, FieldsOfBdat) {
  auto p = parse_command("BDAT 4096");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.chunk_size, 4096u);
  EXPECT_FALSE(p.command.last);
  auto q = parse_command("BDAT 0 LAST");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q.command.chunk_size, 0u);
  EXPECT_TRUE(q.command.last);
}

TEST(ParseCommand, FieldsOfAuth) {
  auto p = parse_command("AUTH PLAIN AHUAcA==");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.command.mechanism, AuthMechanism::kPlain);
  EXPECT_TRUE(p.command.has_initial_response);
  EXPECT_EQ(p.command.initial_response, "AHUAcA==");
  auto empty = parse_command("AUTH PLAIN =");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty.command.has_initial_response);
  EXPECT_TRUE(empty.command.initial_response.empty());
  auto none = parse_command("AUTH LOGIN");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.command.mechanism, AuthMechanism::kLogin);
  EXPECT_FALSE(none.command.has_initial_response);
}

// RFC 5321 4.5.3.1.4: 512 octets with the CRLF, so 510 without.
TEST(ParseCommand, CommandLineLimit) {
  const std::string base = "NOOP ";
  const std::string at_limit = base + std::string(510 - base.size(), 'x');
  EXPECT_TRUE(parse_command(at_limit).ok());
  const auto over = parse_command(at_limit + "x");
  EXPECT_EQ(over.error.code, 500);
  EXPECT_EQ(over.error.enhanced, "5.5.2");
  // AUTH may use up to 12288 (RFC 4954 4).
  const std::string auth = "AUTH PLAIN " + std::string(4000, 'A');
  EXPECT_TRUE(parse_command(auth).ok());
  EXPECT_EQ(parse_command("AUTH PLAIN " + std::string(12288, 'A')).error.code, 500);
}

TEST(ParseCommand, PathLimit) {
  // 256 octets with the brackets: a 254-octet mailbox.
  const std::string domain = std::string(63, 'd') + "." + std::string(63, 'e') + "." +
                             std::string(63, 'f') + "." + std::string(60, 'g');  // 252
  const std::string ok = "a@" + domain;  // 254
  ASSERT_EQ(ok.size(), 254u);
  EXPECT_TRUE(parse_command("RCPT TO:<" + ok + ">").ok());
  const auto over = parse_command("RCPT TO:<ab@" + domain + ">");
  EXPECT_EQ(over.error.code, 501);
  EXPECT_EQ(over.error.enhanced, "5.1.3");
  EXPECT_NE(over.error.text.find("path"), std::string_view::npos);
}

TEST(ParseCommand, LocalPartLimit) {
  EXPECT_TRUE(parse_command("MAIL FROM:<" + std::string(64, 'l') + "@b.example>").ok());
  const auto over = parse_command("MAIL FROM:<" + std::string(65, 'l') + "@b.example>");
  EXPECT_EQ(over.error.code, 501);
  EXPECT_EQ(over.error.enhanced, "5.1.7");
  EXPECT_NE(over.error.text.find("64"), std::string_view::npos);
}

TEST(ParseCommand, ReplyText) {
  const auto p = parse_command("MAIL FROM:nobracket@b.example");
  EXPECT_EQ(p.error.to_string(), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(parse_command("XYZZY").error.to_string(), "500 5.5.1 Error: command not recognized\r\n");
}

struct MailboxCase {
  std::string mailbox;
  bool utf8;
  MailboxCheck want;
};
void PrintTo(const MailboxCase& c, std::ostream* os) { *os << '"' << c.mailbox << '"'; }

class MailboxTable : public ::testing::TestWithParam<MailboxCase> {};

TEST_P(MailboxTable, Check) {
  EXPECT_EQ(check_mailbox(GetParam().mailbox, GetParam().utf8), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Mailboxes, MailboxTable,
    ::testing::Values(
        MailboxCase{"user@example.com", false, MailboxCheck::kOk},
        MailboxCase{"first.last+tag@sub.example.com", false, MailboxCheck::kOk},
        MailboxCase{"!#$%&'*+-/=?^_`{|}~@example.com", false, MailboxCheck::kOk},
        MailboxCase{"user@localhost", false, MailboxCheck::kOk},
        MailboxCase{"user@a-b.c0", false, MailboxCheck::kOk},
        MailboxCase{"\"john doe\"@example.com", false, MailboxCheck::kOk},
        MailboxCase{"\"a\\\"b\"@example.com", false, MailboxCheck::kOk},
        MailboxCase{"\"\"@example.com", false, MailboxCheck::kOk},
        MailboxCase{"u@[127.0.0.1]", false, MailboxCheck::kOk},
        MailboxCase{"u@[IPv6:::1]", false, MailboxCheck::kOk},
        MailboxCase{"u@[ipv6:2001:db8::192.0.2.1]", false, MailboxCheck::kOk},
        MailboxCase{"\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84",
                    true, MailboxCheck::kOk},
        MailboxCase{"\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@example.com", false,
                    MailboxCheck::kNeedsSmtputf8},
        MailboxCase{"user@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84", false,
                    MailboxCheck::kNeedsSmtputf8},
        MailboxCase{"user", false, MailboxCheck::kBadSyntax},
        MailboxCase{"@example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@", false, MailboxCheck::kBadSyntax},
        MailboxCase{".user@example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user.@example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"us..er@example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"us er@example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"us(er@example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"a@b@example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"\"unclosed@example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"\"a\"b@example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"\"a\x01\"@example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@example..com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@.example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@example.com.", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@-example.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@example-.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@exa_mple.com", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@[127.0.0]", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@[127.0.0.256]", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@[1.2.3.4.5]", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@[IPv6:::g]", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@[IPv6:fe80::1%eth0]", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@[x-tag:stuff]", false, MailboxCheck::kBadSyntax},
        MailboxCase{"user@[]", false, MailboxCheck::kBadSyntax},
        MailboxCase{"\xc0\x80@example.com", true, MailboxCheck::kBadSyntax},  // overlong NUL
        MailboxCase{"u\xed\xa0\x80@example.com", true, MailboxCheck::kBadSyntax},  // surrogate
        MailboxCase{"user@" + std::string(64, 'a') + ".com", false, MailboxCheck::kDomainTooLong},
        MailboxCase{std::string(65, 'a') + "@example.com", false, MailboxCheck::kLocalPartTooLong}));

TEST(CheckMailbox, DomainOf255IsTheLimit) {
  const std::string d = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                        std::string(63, 'c') + "." + std::string(63, 'd');
  ASSERT_EQ(d.size(), 255u);
  EXPECT_EQ(check_mailbox("u@" + d, false), MailboxCheck::kOk);
  EXPECT_EQ(check_mailbox("u@" + d + ".e", false), MailboxCheck::kDomainTooLong);
}

}  // namespace
}  // namespace mta
