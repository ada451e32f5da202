// tests/mta/smtp_reply_test.cpp: the pure reply and EHLO parsers,
// dot-stuffing, and the DSN (RFC 3461) parameters the client sends.
#include <gtest/gtest.h>

#include "mta/reply.h"
#include "mta/smtp_client.h"

namespace mta {
namespace {

ParseState parse(std::string_view in, Reply* r, size_t* used, std::string* err) {
  return parse_reply(in, r, used, err);
}

TEST(ReplyParser, SingleLineWithEnhancedCode) {
  Reply r;
  size_t used = 0;
  std::string err;
  std::string in = "550 5.1.1 <x@example.com>: Recipient address rejected\r\nnext";
  ASSERT_EQ(parse(in, &r, &used, &err), ParseState::kComplete);
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced, "5.1.1");
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0], "<x@example.com>: Recipient address rejected");
  EXPECT_EQ(used, in.size() - 4);
  EXPECT_EQ(r.to_core().text, "<x@example.com>: Recipient address rejected");
}

TEST(ReplyParser, MultiLineGmailStyleRepeatsEnhancedCode) {
  std::string in =
      "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
      "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
      "550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser x\r\n";
  Reply r;
  size_t used = 0;
  std::string err;
  ASSERT_EQ(parse(in, &r, &used, &err), ParseState::kComplete) << err;
  EXPECT_EQ(used, in.size());
  EXPECT_EQ(r.enhanced, "5.1.1");
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[1], "double-checking the recipient's email address for typos or");
  EXPECT_EQ(r.text(),
            "The email account that you tried to reach does not exist. Please try "
            "double-checking the recipient's email address for typos or unnecessary spaces. "
            "https://support.google.com/mail/?p=NoSuchUser x");
}

TEST(ReplyParser, NeedsMoreUntilTheLastLine) {
  Reply r;
  size_t used = 99;
  std::string err;
  EXPECT_EQ(parse("250-mx.example.com\r\n250-PIPE", &r, &used, &err), ParseState::kNeedMore);
  EXPECT_EQ(parse("250-mx.example.com\r\n", &r, &used, &err), ParseState::kNeedMore);
  EXPECT_EQ(parse("", &r, &used, &err), ParseState::kNeedMore);
  EXPECT_EQ(parse("25", &r, &used, &err), ParseState::kNeedMore);
  EXPECT_EQ(used, 99u);  // nothing consumed
}

TEST(ReplyParser, CodeOnlyAndBareLf) {
  Reply r;
  size_t used = 0;
  std::string err;
  ASSERT_EQ(parse("250\r\n", &r, &used, &err), ParseState::kComplete);
  EXPECT_EQ(r.code, 250);
  EXPECT_TRUE(r.enhanced.empty());
  ASSERT_EQ(parse("354 go ahead\n", &r, &used, &err), ParseState::kComplete);
  EXPECT_EQ(r.code, 354);
  EXPECT_EQ(used, 13u);
}

TEST(ReplyParser, EnhancedCodeMustMatchClassAndShape) {
  Reply r;
  size_t used = 0;
  std::string err;
  ASSERT_EQ(parse("450 5.1.1 mismatched\r\n", &r, &used, &err), ParseState::kComplete);
  EXPECT_TRUE(r.enhanced.empty());
  EXPECT_EQ(r.lines[0], "5.1.1 mismatched");
  ASSERT_EQ(parse("451 4.7.1234 too long\r\n", &r, &used, &err), ParseState::kComplete);
  EXPECT_TRUE(r.enhanced.empty());
  ASSERT_EQ(parse("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred\r\n", &r, &used, &err),
            ParseState::kComplete);
  EXPECT_EQ(r.enhanced, "4.7.0");
  EXPECT_EQ(r.text(), "[TSS04] Messages from 192.0.2.1 temporarily deferred");
  ASSERT_EQ(parse("250 2.0.0\r\n", &r, &used, &err), ParseState::kComplete);
  EXPECT_EQ(r.enhanced, "2.0.0");
  EXPECT_EQ(r.text(), "");
}

TEST(ReplyParser, Malformed) {
  Reply r;
  size_t used = 0;
  std::string err;
  EXPECT_EQ(parse("hello\r\n", &r, &used, &err), ParseState::kMalformed);
  EXPECT_EQ(parse("199 too low\r\n", &r, &used, &err), ParseState::kMalformed);
  EXPECT_EQ(parse("600 too high\r\n", &r, &used, &err), ParseState::kMalformed);
  EXPECT_EQ(parse("260 bad second digit\r\n", &r, &used, &err), ParseState::kMalformed);
  EXPECT_EQ(parse("250x\r\n", &r, &used, &err), ParseState::kMalformed);
  EXPECT_EQ(parse("250-a\r\n550 b\r\n", &r, &used, &err), ParseState::kMalformed);
  EXPECT_NE(err.find("changes its code"), std::string::npos);
  std::string long_line = "250 " + std::string(kMaxReplyLine, 'x');
  EXPECT_EQ(parse(long_line, &r, &used, &err), ParseState::kMalformed);
  std::string many;
  for (size_t i = 0; i <= kMaxReplyLines; ++i) many += "250-x\r\n";
  many += "250 end\r\n";
  EXPECT_EQ(parse(many, &r, &used, &err), ParseState::kMalformed);
}

TEST(ReplyParser, TwoRepliesBackToBack) {
  std::string in = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
  std::string_view rest = in;
  std::vector<uint16_t> codes;
  for (int i = 0; i < 3; ++i) {
    Reply r;
    size_t used = 0;
    std::string err;
    ASSERT_EQ(parse(rest, &r, &used, &err), ParseState::kComplete);
    codes.push_back(r.code);
    rest.remove_prefix(used);
  }
  EXPECT_EQ(codes, (std::vector<uint16_t>{250, 250, 354}));
  EXPECT_TRUE(rest.empty());
}

TEST(Ehlo, Capabilities) {
  Reply r;
  size_t used = 0;
  std::string err;
  std::string in =
      "250-mx.google.com at your service, [192.0.2.1]\r\n"
      "250-SIZE 157286400\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
      "250-pipelining\r\n250-CHUNKING\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n250-DSN\r\n250 SMTPUTF8\r\n";
  ASSERT_EQ(parse(in, &r, &used, &err), ParseState::kComplete);
  Capabilities c = parse_ehlo(r);
  EXPECT_TRUE(c.esmtp);
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.max_size, 157286400u);
  EXPECT_TRUE(c.eight_bit_mime);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.enhanced_status_codes);
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.chunking);
  EXPECT_TRUE(c.dsn);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_EQ(c.auth, (std::vector<std::string>{"LOGIN", "PLAIN", "XOAUTH2"}));
}

TEST(Ehlo, GreetingLineIsNotACapabilityAndSizeWithoutNumber) {
  Reply r;
  r.code = 250;
  r.lines = {"PIPELINING", "SIZE", "X-UNKNOWN 1"};
  Capabilities c = parse_ehlo(r);
  EXPECT_FALSE(c.pipelining);  // the first line is the server's name
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.max_size, 0u);
}

std::string stuffed(std::string_view in) {
  std::string out;
  dot_stuff(in, &out);
  return out;
}

TEST(DotStuff, LinesStartingWithADot) {
  EXPECT_EQ(stuffed("a\r\n.b\r\n..c\r\n.\r\n"), "a\r\n..b\r\n...c\r\n..\r\n.\r\n");
  EXPECT_EQ(stuffed(".first"), "..first\r\n.\r\n");
  EXPECT_EQ(stuffed(""), ".\r\n");
  EXPECT_EQ(stuffed("x\r\n"), "x\r\n.\r\n");
}

TEST(DotStuff, BareCrAndLfBecomeCrlfSoNoSmugglingSequenceReachesTheWire) {
  // "\n.\n" would end the data early at a lenient receiver (SMTP smuggling).
  EXPECT_EQ(stuffed("a\n.\nMAIL FROM:<x>\n"), "a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n");
  EXPECT_EQ(stuffed("a\r.\rb"), "a\r\n..\r\nb\r\n.\r\n");
  EXPECT_EQ(stuffed("a\r\r\nb"), "a\r\n\r\nb\r\n.\r\n");
  std::string out = stuffed("x\r\n.\r\n\n.\r\r.\n");
  // Only one CRLF.CRLF in the output: the terminator at the end.
  EXPECT_EQ(out.find("\r\n.\r\n"), out.size() - 5);
}

TEST(DotStuff, EightBit) {
  EXPECT_TRUE(has_8bit("пошта"));
  EXPECT_FALSE(has_8bit("mail"));
}

TEST(Xtext, EncodesOutsideBangToTildeAndPlusAndEquals) {
  struct Case {
    std::string_view in;
    const char* out;
  };
  const Case cases[] = {
      {"", ""},
      {"plain@example.com", "plain@example.com"},
      {"a+b@example.com", "a+2Bb@example.com"},
      {"k=v", "k+3Dv"},
      {"with space", "with+20space"},
      {"!~", "!~"},  // the ends of the range stay
      {"\"q\"@x", "\"q\"@x"},
      {"tab\there", "tab+09here"},
      {"\r\n", "+0D+0A"},
      {std::string_view("\0", 1), "+00"},
      {"\x7f", "+7F"},
      {"\xd0\xb8", "+D0+B8"},  // bytes, upper-case hex
      {"++==", "+2B+2B+3D+3D"},
      {"01J9ZQ0B3N8W5F4D7H2K6M1R9T", "01J9ZQ0B3N8W5F4D7H2K6M1R9T"},  // a message id
  };
  for (const auto& c : cases) EXPECT_EQ(xtext(c.in), c.out) << c.in;
}

TEST(Xtext, DsnParameters) {
  EXPECT_EQ(dsn_envid_param("01J9ZQ0B3N8W5F4D7H2K6M1R9T"), " ENVID=01J9ZQ0B3N8W5F4D7H2K6M1R9T");
  EXPECT_EQ(dsn_envid_param("id+1=2"), " ENVID=id+2B1+3D2");
  EXPECT_EQ(dsn_envid_param(""), "");
  // At most 100 characters after encoding (RFC 3461 4.4).
  EXPECT_EQ(dsn_envid_param(std::string(100, 'e')), " ENVID=" + std::string(100, 'e'));
  EXPECT_EQ(dsn_envid_param(std::string(101, 'e')), "");
  // The limit is on the encoded form: 33 '+' encode to 99, 34 to 102.
  std::string encoded33;
  for (int i = 0; i < 33; ++i) encoded33 += "+2B";
  EXPECT_EQ(dsn_envid_param(std::string(33, '+')), " ENVID=" + encoded33);
  EXPECT_EQ(dsn_envid_param(std::string(34, '+')), "");
  EXPECT_EQ(dsn_envid_param("\xd0\xb8" "d"), "");  // not printable ASCII

  EXPECT_EQ(dsn_orcpt_param("a+b@example.com"), " ORCPT=rfc822;a+2Bb@example.com");
  EXPECT_EQ(dsn_orcpt_param("user@example.com"), " ORCPT=rfc822;user@example.com");
  EXPECT_EQ(dsn_orcpt_param("\"a b\"@example.com"), " ORCPT=rfc822;\"a+20b\"@example.com");
  EXPECT_EQ(dsn_orcpt_param("\xd0\xb8@example.com"), "");  // SMTPUTF8 recipients: none
  EXPECT_EQ(dsn_orcpt_param(""), "");
  // The value ("rfc822;" + xtext) is at most 500 characters (RFC 3461 4.2).
  EXPECT_NE(dsn_orcpt_param(std::string(493 - 12, 'a') + "@example.com"), "");
  EXPECT_EQ(dsn_orcpt_param(std::string(494 - 12, 'a') + "@example.com"), "");
}

}  // namespace
}  // namespace mta
