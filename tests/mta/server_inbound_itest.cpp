// tests/mta/server_inbound_itest.cpp: the listener's inbound role (issue
// #7) over real loopback sockets: bounces and reports for the configured
// domains and addresses are taken from anyone, the null sender included;
// every other recipient from a client that may not relay gets "550 5.7.1";
// limits and protocol errors hold for strangers as for trusted clients.
//
// "Untrusted" here is 127.0.0.1 with listener.networks set to a network
// that does not contain it (TEST-NET-1).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server_support.h"

namespace {

using testing_support::FakeSink;
using testing_support::RawClient;
using testing_support::TestServer;

int code(const std::string& r) { return RawClient::code(r); }

core::InboundConfig inbound() {
  core::InboundConfig in;
  in.domains = {"bounces.example.com"};
  in.addresses = {"fbl@reports.example.net"};
  return in;
}

core::ListenerConfig untrusted_config() {
  auto c = testing_support::test_config();
  c.networks = {"192.0.2.0/24"};
  return c;
}

class Inbound : public ::testing::Test {
 protected:
  void start(const core::ListenerConfig& c, const core::InboundConfig& in = inbound()) {
    server_ = std::make_unique<TestServer>(c, sink_, in);
    ASSERT_TRUE(server_->started()) << server_->error();
  }
  // Connects, reads the banner, says EHLO.
  void open(RawClient& c) {
    ASSERT_TRUE(c.connect(server_->port()));
    const std::string banner = c.reply();
    ASSERT_EQ(banner.rfind("220 mx.test ESMTP", 0), 0u) << banner;
    ASSERT_EQ(code(c.command("EHLO mx.bouncer.example")), 250);
  }

  FakeSink sink_;  // outlives the server
  std::unique_ptr<TestServer> server_;
};

const std::string kDsn =
    "From: Mail Delivery System <MAILER-DAEMON@mx.bouncer.example>\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n"
    "\r\n"
    "--b\r\n\r\nsorry\r\n--b--\r\n";

TEST_F(Inbound, NullSenderBounceFromAnUntrustedClientIsReceived) {
  start(untrusted_config());
  RawClient c;
  open(c);
  EXPECT_EQ(c.command("MAIL FROM:<>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bounce-xyz@bounces.example.com>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send(kDsn + ".\r\n"));
  const std::string done = c.reply();
  ASSERT_EQ(sink_.count(), 1u);
  ASSERT_EQ(sink_.ids().size(), 1u);  // one id: the stored inbound copy
  EXPECT_EQ(done, "250 2.0.0 Ok: queued as " + sink_.ids()[0].to_string() + "\r\n");

  const auto m = sink_.messages()[0];
  EXPECT_TRUE(m.rcpt_to.empty());
  EXPECT_EQ(m.inbound_rcpt, (std::vector<std::string>{"bounce-xyz@bounces.example.com"}));
  EXPECT_EQ(m.tenant, "");
  EXPECT_EQ(m.mail_from, "");
  EXPECT_EQ(m.client_ip, "127.0.0.1");
  EXPECT_EQ(m.helo, "mx.bouncer.example");
  // The Received header goes on as for injected mail.
  EXPECT_EQ(m.data.rfind("Received: from mx.bouncer.example ([127.0.0.1])\r\n\tby mx.test", 0), 0u)
      << m.data;
  EXPECT_EQ(m.data.substr(m.data.size() - kDsn.size()), kDsn);
  EXPECT_EQ(code(c.command("QUIT")), 221);
}

// Case-insensitive, the exact address, several inbound recipients in one
// transaction (one stored copy), pipelined with a refused one in between.
TEST_F(Inbound, AddressesAndPipelinedRefusals) {
  start(untrusted_config());
  RawClient c;
  open(c);
  ASSERT_TRUE(c.send("MAIL FROM:<complaints@feedback.example>\r\n"
                     "RCPT TO:<FBL@Reports.Example.NET>\r\n"
                     "RCPT TO:<other@reports.example.net>\r\n"
                     "RCPT TO:<Bounce-ABC@BOUNCES.example.com>\r\n"
                     "DATA\r\n"));
  EXPECT_EQ(c.reply(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.reply(), "550 5.7.1 Relaying denied\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(code(c.reply()), 354);
  ASSERT_TRUE(c.send("Subject: report\r\n\r\nx\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  ASSERT_EQ(sink_.count(), 1u);
  const auto m = sink_.messages()[0];
  EXPECT_TRUE(m.rcpt_to.empty());
  EXPECT_EQ(m.inbound_rcpt, (std::vector<std::string>{"FBL@Reports.Example.NET",
                                                      "Bounce-ABC@BOUNCES.example.com"}));
  EXPECT_EQ(m.mail_from, "complaints@feedback.example");
}

TEST_F(Inbound, EverythingElseFromAnUntrustedClientIsRelayingDenied) {
  start(untrusted_config());
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("MAIL FROM:<spammer@example.net>")), 250);
  EXPECT_EQ(c.command("RCPT TO:<someone@gmail.com>"), "550 5.7.1 Relaying denied\r\n");
  // Subdomains and look-alikes of an inbound domain are not inbound.
  EXPECT_EQ(code(c.command("RCPT TO:<x@sub.bounces.example.com>")), 550);
  EXPECT_EQ(code(c.command("RCPT TO:<x@evilbounces.example.com>")), 550);
  EXPECT_EQ(code(c.command("RCPT TO:<x@example.com>")), 550);
  EXPECT_EQ(code(c.command("RCPT TO:<\"x@bounces.example.com\"@gmail.com>")), 550);
  // Nothing accepted: the transaction ends at DATA, and BDAT, as before.
  EXPECT_EQ(c.command("DATA"), "554 5.5.1 Error: no valid recipients\r\n");
  ASSERT_TRUE(c.send("BDAT 3 LAST\r\nabc"));
  EXPECT_EQ(code(c.reply()), 554);
  EXPECT_EQ(code(c.command("NOOP")), 250);
  EXPECT_EQ(sink_.count(), 0u);
}

// A trusted client may mix relayed and inbound recipients: each list gets
// its own, and the sink answers one id per relayed recipient plus one for
// the inbound copy.
TEST_F(Inbound, MixedTransactionFromATrustedNetwork) {
  start(testing_support::test_config());  // 127.0.0.0/8 trusted
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("MAIL FROM:<>")), 250);
  EXPECT_EQ(code(c.command("RCPT TO:<user@gmail.com>")), 250);
  EXPECT_EQ(code(c.command("RCPT TO:<bounce-1@bounces.example.com>")), 250);
  EXPECT_EQ(code(c.command("RCPT TO:<user2@mail.ru>")), 250);
  EXPECT_EQ(code(c.command("RCPT TO:<fbl@reports.example.net>")), 250);
  EXPECT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send(kDsn + ".\r\n"));
  const std::string done = c.reply();
  ASSERT_EQ(sink_.count(), 1u);
  ASSERT_EQ(sink_.ids().size(), 3u);
  EXPECT_EQ(done, "250 2.0.0 Ok: queued as " + sink_.ids()[0].to_string() + "\r\n");
  const auto m = sink_.messages()[0];
  EXPECT_EQ(m.tenant, "acme");
  EXPECT_EQ(m.rcpt_to, (std::vector<std::string>{"user@gmail.com", "user2@mail.ru"}));
  EXPECT_EQ(m.inbound_rcpt,
            (std::vector<std::string>{"bounce-1@bounces.example.com", "fbl@reports.example.net"}));
}

TEST_F(Inbound, WithoutInboundConfigAnUntrustedClientGets530AtMail) {
  start(untrusted_config(), core::InboundConfig{});
  RawClient c;
  open(c);
  EXPECT_EQ(c.command("MAIL FROM:<>"), "530 5.7.0 Authentication required\r\n");
  EXPECT_EQ(c.command("RCPT TO:<bounce-xyz@bounces.example.com>"),
            "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(code(c.command("QUIT")), 221);
  EXPECT_EQ(sink_.count(), 0u);
}

TEST_F(Inbound, InboundMailOverTheSizeLimitIsRefused) {
  auto cfg = untrusted_config();
  cfg.max_message_bytes = 1000;
  start(cfg);
  RawClient c;
  open(c);
  // Announced too large: refused at MAIL.
  EXPECT_EQ(c.command("MAIL FROM:<> SIZE=5000"),
            "552 5.3.4 Error: message size exceeds fixed limit\r\n");
  // Not announced: the content is read to its end, then refused.
  ASSERT_EQ(code(c.command("MAIL FROM:<>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<bounce-xyz@bounces.example.com>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  std::string big = "Subject: big\r\n\r\n";
  for (int i = 0; i < 100; ++i) big += std::string(78, 'x') + "\r\n";
  ASSERT_TRUE(c.send(big + ".\r\n"));
  EXPECT_EQ(c.reply(), "552 5.3.4 Error: message size exceeds fixed limit\r\n");
  // By BDAT too.
  ASSERT_EQ(code(c.command("MAIL FROM:<>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<x@bounces.example.com>")), 250);
  ASSERT_TRUE(c.send("BDAT " + std::to_string(big.size()) + " LAST\r\n" + big));
  EXPECT_EQ(code(c.reply()), 552);
  // The session is still in step, and a small bounce still goes through.
  EXPECT_EQ(code(c.command("NOOP")), 250);
  ASSERT_EQ(code(c.command("MAIL FROM:<>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<x@bounces.example.com>")), 250);
  ASSERT_TRUE(c.send("BDAT 4 LAST\r\nok\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  ASSERT_EQ(sink_.count(), 1u);
  EXPECT_EQ(sink_.messages()[0].inbound_rcpt, (std::vector<std::string>{"x@bounces.example.com"}));
}

// Each "Relaying denied" counts as an error: a stranger probing recipient
// after recipient is cut off at the error limit (20), as in Postfix.
TEST_F(Inbound, RelayProbingEndsAtTheErrorLimit) {
  start(untrusted_config());
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("MAIL FROM:<>")), 250);
  EXPECT_EQ(code(c.command("RCPT TO:<ok@bounces.example.com>")), 250);  // not an error
  std::string probes;
  for (int i = 0; i < 25; ++i) probes += "RCPT TO:<user" + std::to_string(i) + "@gmail.com>\r\n";
  ASSERT_TRUE(c.send(probes));
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c.reply(), "550 5.7.1 Relaying denied\r\n") << i;
  EXPECT_EQ(c.reply(), "421 4.7.0 mx.test Error: too many errors\r\n");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(sink_.count(), 0u);
}

// max_recipients counts inbound recipients too.
TEST_F(Inbound, RecipientLimitCountsInboundRecipients) {
  auto cfg = untrusted_config();
  cfg.max_recipients = 2;
  start(cfg);
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("MAIL FROM:<>")), 250);
  EXPECT_EQ(code(c.command("RCPT TO:<a@bounces.example.com>")), 250);
  EXPECT_EQ(code(c.command("RCPT TO:<b@bounces.example.com>")), 250);
  EXPECT_EQ(c.command("RCPT TO:<c@bounces.example.com>"), "452 4.5.3 Error: too many recipients\r\n");
}

// What a stranger may throw at the port: junk, commands out of order,
// broken addresses, an over-long line, an HTTP request. Each gets its
// reply and the listener keeps serving.
TEST_F(Inbound, GarbageFromAnUntrustedClient) {
  start(untrusted_config());
  {
    RawClient c;
    ASSERT_TRUE(c.connect(server_->port()));
    ASSERT_EQ(code(c.reply()), 220);
    EXPECT_EQ(code(c.command("MAIL FROM:<>")), 503);  // no EHLO yet
    EXPECT_EQ(code(c.command("EHLO mx.bouncer.example")), 250);
    EXPECT_EQ(code(c.command("RCPT TO:<x@bounces.example.com>")), 503);  // no MAIL
    EXPECT_EQ(code(c.command("DATA")), 503);
    EXPECT_EQ(code(c.command(std::string("\x01\x02\xff\xfe garbage", 12))), 500);
    EXPECT_EQ(code(c.command("MAIL FROM:<unterminated")), 501);
    ASSERT_EQ(code(c.command("MAIL FROM:<>")), 250);
    EXPECT_EQ(code(c.command("MAIL FROM:<>")), 503);  // nested
    EXPECT_EQ(code(c.command("RCPT TO:<>")), 501);
    EXPECT_EQ(code(c.command("RCPT TO:<x@bounces.example.com> NOTIFY=NEVER")), 555);
    EXPECT_EQ(code(c.command("RCPT TO:<" + std::string(300, 'a') + "@bounces.example.com>")), 501);
    EXPECT_EQ(code(c.command("RCPT " + std::string(20000, 'z'))), 500);  // line too long
    EXPECT_EQ(code(c.command("VRFY postmaster")), 252);
    EXPECT_EQ(code(c.command("RSET")), 250);
    EXPECT_EQ(code(c.command("GET / HTTP/1.1")), 221);
    EXPECT_TRUE(c.closed());
  }
  {
    // Binary noise without a line end, then a close: nothing to answer.
    RawClient c;
    ASSERT_TRUE(c.connect(server_->port()));
    ASSERT_EQ(code(c.reply()), 220);
    ASSERT_TRUE(c.send(std::string(5000, '\0')));
    c.close();
  }
  // Still serving.
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("MAIL FROM:<>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<x@bounces.example.com>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: x\r\n\r\ny\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  EXPECT_EQ(sink_.count(), 1u);
}

// A sink that refuses the message (the engine side not configured for
// inbound processing) gives the client a permanent refusal, not a retry.
TEST_F(Inbound, SinkRefusalIsPassedOn) {
  start(untrusted_config());
  sink_.set_mode(FakeSink::Mode::kInvalid);
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("MAIL FROM:<>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<x@bounces.example.com>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: x\r\n\r\ny\r\n.\r\n"));
  EXPECT_EQ(c.reply(), "550 5.6.0 content refused by test\r\n");
}

}  // namespace
