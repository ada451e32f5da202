// tests/mta/server_session_itest.cpp: the SMTP listener over real loopback
// sockets, spoken to byte by byte: the dialogue, pipelining, DATA and BDAT
// content, limits, refusals and sink failures.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server_support.h"

namespace {

using testing_support::FakeSink;
using testing_support::RawClient;
using testing_support::TestServer;

int code(const std::string& r) { return RawClient::code(r); }

class Listener : public ::testing::Test {
 protected:
  void start(const core::ListenerConfig& c = testing_support::test_config()) {
    server_ = std::make_unique<TestServer>(c, sink_);
    ASSERT_TRUE(server_->started()) << server_->error();
  }
  // Connects and reads the banner.
  void open(RawClient& c, const std::string& ip = "127.0.0.1") {
    ASSERT_TRUE(c.connect(server_->port(), ip));
    const std::string banner = c.reply();
    ASSERT_EQ(banner.rfind("220 mx.test ESMTP", 0), 0u) << banner;
  }
  // Connects, EHLO, MAIL, RCPT (one recipient), DATA up to the 354.
  void open_transaction(RawClient& c, const std::string& mail_params = "") {
    open(c);
    ASSERT_EQ(code(c.command("EHLO client.example")), 250);
    ASSERT_EQ(code(c.command("MAIL FROM:<sender@example.com>" + mail_params)), 250);
    ASSERT_EQ(code(c.command("RCPT TO:<rcpt@example.org>")), 250);
    ASSERT_EQ(code(c.command("DATA")), 354);
  }
  // What the sink got after the Received header.
  static std::string body_of(const mta::InjectedMessage& m) {
    const size_t end = m.data.find(" +0000\r\n");
    return end == std::string::npos ? std::string() : m.data.substr(end + 8);
  }

  FakeSink sink_;  // outlives the server
  std::unique_ptr<TestServer> server_;
};

TEST_F(Listener, BannerAndCapabilities) {
  start();
  RawClient c;
  open(c);
  const std::string ehlo = c.command("EHLO client.example");
  EXPECT_EQ(ehlo,
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n");
  EXPECT_EQ(c.command("QUIT"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(c.closed());
}

TEST_F(Listener, OptionalExtensionsFollowTheConfig) {
  auto cfg = testing_support::test_config();
  cfg.pipelining = false;
  cfg.chunking = false;
  cfg.max_message_bytes = 1000;
  start(cfg);
  RawClient c;
  open(c);
  EXPECT_EQ(c.command("EHLO client.example"),
            "250-mx.test\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
            "250 ENHANCEDSTATUSCODES\r\n");
  // CHUNKING off: the chunk is still read (and not taken for commands).
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  ASSERT_TRUE(c.send("BDAT 6 LAST\r\nQUIT\r\n"));
  EXPECT_EQ(c.reply().rfind("502 5.5.1", 0), 0u);
  EXPECT_EQ(code(c.command("NOOP")), 250);
}

TEST_F(Listener, PlainSessionDeliversToTheSink) {
  start();
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  EXPECT_EQ(c.command("MAIL FROM:<sender@example.com> BODY=8BITMIME SIZE=100"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.command("RCPT TO:<one@example.org>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.command("RCPT TO:<two@example.net>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.command("DATA"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  const std::string content = "Subject: hello\r\nFrom: <sender@example.com>\r\n\r\nHi there.\r\n";
  ASSERT_TRUE(c.send(content + ".\r\n"));
  const std::string done = c.reply();
  ASSERT_EQ(sink_.count(), 1u);
  ASSERT_EQ(sink_.ids().size(), 2u);
  EXPECT_EQ(done, "250 2.0.0 Ok: queued as " + sink_.ids()[0].to_string() + "\r\n");

  const auto m = sink_.messages()[0];
  EXPECT_EQ(m.tenant, "acme");
  EXPECT_EQ(m.mail_from, "sender@example.com");
  EXPECT_EQ(m.rcpt_to, (std::vector<std::string>{"one@example.org", "two@example.net"}));
  EXPECT_EQ(m.client_ip, "127.0.0.1");
  EXPECT_EQ(m.helo, "client.example");
  EXPECT_EQ(m.auth_user, "");
  EXPECT_FALSE(m.tls);
  EXPECT_TRUE(m.eight_bit);
  EXPECT_FALSE(m.smtputf8);
  EXPECT_EQ(m.data.rfind("Received: from client.example ([127.0.0.1])\r\n"
                         "\tby mx.test (vestnik) with ESMTP;\r\n\t", 0),
            0u)
      << m.data;
  EXPECT_EQ(body_of(m), content);

  // The transaction was reset: a second one in the same session, with the
  // null reverse path and SMTPUTF8.
  EXPECT_EQ(code(c.command("RCPT TO:<x@example.org>")), 503);
  ASSERT_EQ(code(c.command("MAIL FROM:<> SMTPUTF8")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: again\r\n\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  ASSERT_EQ(sink_.count(), 2u);
  const auto m2 = sink_.messages()[1];
  EXPECT_EQ(m2.mail_from, "");
  EXPECT_TRUE(m2.smtputf8);
  EXPECT_FALSE(m2.eight_bit);
  EXPECT_EQ(c.command("QUIT"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(c.closed());
}

TEST_F(Listener, HeloFallback) {
  start();
  RawClient c;
  open(c);
  EXPECT_EQ(c.command("HELO old.example"), "250 mx.test\r\n");
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: x\r\n\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  ASSERT_EQ(sink_.count(), 1u);
  EXPECT_NE(sink_.messages()[0].data.find("with SMTP;"), std::string::npos);
  EXPECT_EQ(sink_.messages()[0].helo, "old.example");
}

// RFC 2920: a group sent in one write is answered in order, in one write.
TEST_F(Listener, PipelinedGroupIsAnsweredInOrderInOneWrite) {
  start();
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  ASSERT_TRUE(c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
                     "RCPT TO:<not an address>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n"));
  const std::string first = c.read_some();
  EXPECT_EQ(first,
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n501 5.1.3 Error: bad recipient address syntax\r\n"
            "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  // The content and the next group too: end of data, RSET, NOOP, QUIT.
  ASSERT_TRUE(c.send("Subject: p\r\n\r\nbody\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  EXPECT_EQ(c.reply(), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(c.reply(), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(c.reply(), "221 2.0.0 Bye\r\n");
  ASSERT_EQ(sink_.count(), 1u);
  EXPECT_EQ(sink_.messages()[0].rcpt_to,
            (std::vector<std::string>{"b@example.org", "c@example.org"}));
}

TEST_F(Listener, DotUnstuffing) {
  start();
  RawClient c;
  open_transaction(c);
  ASSERT_TRUE(c.send("Subject: dots\r\n\r\n..one\r\n...two\r\nmid.dle\r\n..\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  ASSERT_EQ(sink_.count(), 1u);
  EXPECT_EQ(body_of(sink_.messages()[0]), "Subject: dots\r\n\r\n.one\r\n..two\r\nmid.dle\r\n.\r\n");
}

// SMTP smuggling: a bare LF before the dot must not end the data, so the
// "second message" stays inside the first, which is refused as a whole.
TEST_F(Listener, BareLfSmugglingIsRefused) {
  start();
  const char* variants[] = {"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r\n"};
  for (const char* dot : variants) {
    RawClient c;
    open_transaction(c);
    ASSERT_TRUE(c.send(std::string("Subject: x\r\n\r\nhello") + dot +
                       "MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.org>\r\n"
                       "DATA\r\nFrom: <ceo@example.com>\r\n\r\nsmuggled\r\n.\r\n"));
    EXPECT_EQ(c.reply(),
              "550 5.6.11 Error: bare CR or LF in message content, use CRLF line endings\r\n");
    // Nothing else was answered: the next reply is the NOOP's.
    EXPECT_EQ(c.command("NOOP"), "250 2.0.0 Ok\r\n");
    EXPECT_EQ(c.pending(), "");
  }
  EXPECT_EQ(sink_.count(), 0u);
  // The session is still good for a clean message.
  RawClient c;
  open_transaction(c);
  ASSERT_TRUE(c.send("Subject: clean\r\n\r\nok\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  EXPECT_EQ(sink_.count(), 1u);
}

TEST_F(Listener, MessageSizeLimit) {
  auto cfg = testing_support::test_config();
  cfg.max_message_bytes = 1000;
  start(cfg);
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  EXPECT_EQ(c.command("MAIL FROM:<a@example.com> SIZE=1001"),
            "552 5.3.4 Error: message size exceeds fixed limit\r\n");
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com> SIZE=500")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  // Grows past the limit: read to its end, then refused.
  std::string big;
  for (int i = 0; i < 40; ++i) big += std::string(60, 'x') + "\r\n";
  ASSERT_TRUE(c.send(big + ".\r\n"));
  EXPECT_EQ(c.reply(), "552 5.3.4 Error: message size exceeds fixed limit\r\n");
  EXPECT_EQ(sink_.count(), 0u);
  // The transaction is over, the session is not.
  EXPECT_EQ(code(c.command("RCPT TO:<b@example.org>")), 503);
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send(std::string(900, 'y') + "\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  EXPECT_EQ(sink_.count(), 1u);
}

TEST_F(Listener, RecipientLimit) {
  auto cfg = testing_support::test_config();
  cfg.max_recipients = 2;
  start(cfg);
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  EXPECT_EQ(code(c.command("RCPT TO:<1@example.org>")), 250);
  EXPECT_EQ(code(c.command("RCPT TO:<2@example.org>")), 250);
  EXPECT_EQ(c.command("RCPT TO:<3@example.org>"), "452 4.5.3 Error: too many recipients\r\n");
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: x\r\n\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  ASSERT_EQ(sink_.count(), 1u);
  EXPECT_EQ(sink_.messages()[0].rcpt_to.size(), 2u);
}

TEST_F(Listener, UnknownClientMustAuthenticate) {
  auto cfg = testing_support::test_config();
  cfg.networks = {"10.0.0.0/8", "2001:db8::/32"};  // not loopback
  start(cfg);
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  EXPECT_EQ(c.command("MAIL FROM:<a@example.com>"), "530 5.7.0 Authentication required\r\n");
  EXPECT_EQ(code(c.command("RCPT TO:<b@example.org>")), 503);
  EXPECT_EQ(code(c.command("DATA")), 503);
  EXPECT_EQ(sink_.count(), 0u);
}

TEST_F(Listener, CommandSequenceErrors) {
  start();
  RawClient c;
  open(c);
  EXPECT_EQ(c.command("MAIL FROM:<a@example.com>"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  EXPECT_EQ(c.command("RCPT TO:<b@example.org>"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(c.command("DATA"), "503 5.5.1 Error: need MAIL command\r\n");
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  EXPECT_EQ(c.command("MAIL FROM:<a@example.com>"), "503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(c.command("DATA"), "554 5.5.1 Error: no valid recipients\r\n");
  // EHLO resets the transaction.
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  EXPECT_EQ(code(c.command("RCPT TO:<b@example.org>")), 503);
}

TEST_F(Listener, OtherCommands) {
  start();
  RawClient c;
  open(c);
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(code(c.command("VRFY postmaster")), 252);
  EXPECT_EQ(code(c.command("EXPN staff")), 502);
  EXPECT_EQ(code(c.command("HELP")), 214);
  EXPECT_EQ(c.command("RSET"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(c.command("XYZZY"), "500 5.5.1 Error: command not recognized\r\n");
  EXPECT_EQ(c.command("STARTTLS"), "502 5.5.1 Error: STARTTLS not available\r\n");
  EXPECT_EQ(c.command("AUTH PLAIN AHUAcA=="), "503 5.5.1 Error: authentication not enabled\r\n");
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  EXPECT_EQ(c.command("MAIL FROM:a@example.com"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  // Commands end in CRLF, but a bare LF is tolerated there (as Postfix does).
  ASSERT_TRUE(c.send("NOOP\n"));
  EXPECT_EQ(c.reply(), "250 2.0.0 Ok\r\n");
}

TEST_F(Listener, LongCommandLines) {
  start();
  RawClient c;
  open(c);
  EXPECT_EQ(c.command("NOOP " + std::string(600, 'x')), "500 5.5.2 Error: line too long\r\n");
  // Longer than anything we buffer: skipped to its end, answered once.
  EXPECT_EQ(c.command("NOOP " + std::string(50000, 'x')), "500 5.5.2 Error: line too long\r\n");
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 Ok\r\n");
}

TEST_F(Listener, TooManyErrorsEndTheSession) {
  start();
  RawClient c;
  open(c);
  std::string group;
  for (int i = 0; i < 25; ++i) group += "BOGUS\r\n";
  ASSERT_TRUE(c.send(group));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(code(c.reply()), 500) << i;
  EXPECT_EQ(c.reply(), "421 4.7.0 mx.test Error: too many errors\r\n");
  EXPECT_TRUE(c.closed());
}

TEST_F(Listener, HttpRequestIsHungUpOn) {
  start();
  RawClient c;
  open(c);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: mx.test\r\n\r\n"));
  EXPECT_EQ(code(c.reply()), 221);
  EXPECT_TRUE(c.closed());
}

TEST_F(Listener, SinkFailures) {
  start();
  RawClient c;
  sink_.set_mode(FakeSink::Mode::kUnavailable);
  open_transaction(c);
  ASSERT_TRUE(c.send("Subject: x\r\n\r\n.\r\n"));
  EXPECT_EQ(c.reply(), "451 4.3.0 Error: temporary failure storing the message, try again later\r\n");

  sink_.set_mode(FakeSink::Mode::kInvalid);
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: x\r\n\r\n.\r\n"));
  EXPECT_EQ(c.reply(), "550 5.6.0 content refused by test\r\n");

  sink_.set_mode(FakeSink::Mode::kAccept);
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: x\r\n\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  EXPECT_EQ(sink_.count(), 3u);
}

TEST_F(Listener, Ipv6Loopback) {
  auto cfg = testing_support::test_config();
  cfg.listen = "[::1]:0";
  start(cfg);
  RawClient c;
  open(c, "::1");
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@[IPv6:2001:db8::1]>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: v6\r\n\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  ASSERT_EQ(sink_.count(), 1u);
  const auto m = sink_.messages()[0];
  EXPECT_EQ(m.client_ip, "::1");
  EXPECT_EQ(m.tenant, "acme");
  EXPECT_NE(m.data.find("([IPv6:::1])"), std::string::npos);
}

}  // namespace
