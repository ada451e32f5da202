// tests/mta/server_tls_itest.cpp: STARTTLS and SMTP AUTH on the listener,
// with our raw client (OpenSSL) and with swaks as the reference client.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "peers.h"
#include "server_support.h"

namespace {

using testing_support::FakeSink;
using testing_support::RawClient;
using testing_support::TestServer;

int code(const std::string& r) { return RawClient::code(r); }

// AHUAcA== is "\0u\0p"; dQ== "u", cA== "p".
constexpr const char* kPlainUP = "AHUAcA==";

class Tls : public ::testing::Test {
 protected:
  void SetUp() override { start(testing_support::tls_config()); }
  void start(const core::ListenerConfig& c) {
    server_.reset();
    server_ = std::make_unique<TestServer>(c, sink_);
    ASSERT_TRUE(server_->started()) << server_->error();
  }
  // Connects, EHLO, STARTTLS, handshake (no EHLO after it).
  void open_tls(RawClient& c) {
    ASSERT_TRUE(c.connect(server_->port()));
    ASSERT_EQ(code(c.reply()), 220);
    ASSERT_EQ(code(c.command("EHLO client.example")), 250);
    ASSERT_EQ(c.command("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n");
    ASSERT_TRUE(c.start_tls());
  }
  std::string swaks(const std::vector<std::string>& extra, int* status) {
    std::vector<std::string> argv = {"swaks",     "--server", "127.0.0.1:" + std::to_string(server_->port()),
                                     "--from",    "sender@example.com",
                                     "--to",      "rcpt@example.org",
                                     "--helo",    "swaks.example",
                                     "--h-Subject", "swaks test",
                                     "--body",    "hello from swaks",
                                     "--timeout", "20"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string out;
    *status = testing_support::run_process(argv, std::chrono::seconds(60), &out);
    return out;
  }
  FakeSink sink_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(Tls, CapabilitiesBeforeAndAfterTls) {
  RawClient c;
  ASSERT_TRUE(c.connect(server_->port()));
  ASSERT_EQ(code(c.reply()), 220);
  const std::string plain = c.command("EHLO client.example");
  EXPECT_NE(plain.find("250-STARTTLS\r\n"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("AUTH"), std::string::npos) << plain;  // never in plain text
  ASSERT_EQ(code(c.command("STARTTLS")), 220);
  ASSERT_TRUE(c.start_tls());
  const std::string secure = c.command("EHLO client.example");
  EXPECT_EQ(secure.find("STARTTLS"), std::string::npos) << secure;
  EXPECT_NE(secure.find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos) << secure;
  EXPECT_EQ(c.command("STARTTLS"), "503 5.5.1 Error: TLS already active\r\n");
}

TEST_F(Tls, AuthRefusedWithoutTls) {
  RawClient c;
  ASSERT_TRUE(c.connect(server_->port()));
  ASSERT_EQ(code(c.reply()), 220);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  EXPECT_EQ(c.command(std::string("AUTH PLAIN ") + kPlainUP),
            "530 5.7.0 Must issue a STARTTLS command first\r\n");
  EXPECT_EQ(c.command("AUTH LOGIN"), "530 5.7.0 Must issue a STARTTLS command first\r\n");
}

// CVE-2011-0411: commands pipelined after STARTTLS in plain text are
// dropped, and the TLS session starts from nothing (a new EHLO is needed).
TEST_F(Tls, PlainTextAfterStartTlsIsDiscarded) {
  RawClient c;
  ASSERT_TRUE(c.connect(server_->port()));
  ASSERT_EQ(code(c.reply()), 220);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  ASSERT_TRUE(c.send("STARTTLS\r\nMAIL FROM:<injected@example.com>\r\nRCPT TO:<x@example.org>\r\n"));
  EXPECT_EQ(c.reply(), "220 2.0.0 Ready to start TLS\r\n");
  ASSERT_TRUE(c.start_tls());
  // Had the injected MAIL been obeyed, the next reply would be its 250;
  // instead the session knows no EHLO and no transaction.
  EXPECT_EQ(c.command("RCPT TO:<x@example.org>"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<a@example.com>"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  EXPECT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
}

TEST_F(Tls, AuthPlainMapsTheUserToItsTenant) {
  auto cfg = testing_support::tls_config();
  cfg.networks.clear();  // nobody relays without AUTH
  start(cfg);
  RawClient c;
  open_tls(c);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  EXPECT_EQ(c.command("MAIL FROM:<a@example.com>"), "530 5.7.0 Authentication required\r\n");
  EXPECT_EQ(c.command(std::string("AUTH PLAIN ") + kPlainUP),
            "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(c.command(std::string("AUTH PLAIN ") + kPlainUP),
            "503 5.5.1 Error: already authenticated\r\n");
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com> AUTH=<>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: tls\r\n\r\nsecret\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), 250);
  ASSERT_EQ(sink_.count(), 1u);
  const auto m = sink_.messages()[0];
  EXPECT_EQ(m.tenant, "globex");
  EXPECT_EQ(m.auth_user, "u");
  EXPECT_TRUE(m.tls);
  EXPECT_NE(m.data.find("with ESMTPSA;"), std::string::npos) << m.data;
}

TEST_F(Tls, AuthPlainWithChallengeAndAuthLogin) {
  {
    RawClient c;
    open_tls(c);
    ASSERT_EQ(code(c.command("EHLO client.example")), 250);
    EXPECT_EQ(c.command("AUTH PLAIN"), "334 \r\n");
    EXPECT_EQ(code(c.command(kPlainUP)), 235);
  }
  {
    RawClient c;
    open_tls(c);
    ASSERT_EQ(code(c.command("EHLO client.example")), 250);
    EXPECT_EQ(c.command("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
    EXPECT_EQ(c.command("dQ=="), "334 UGFzc3dvcmQ6\r\n");
    EXPECT_EQ(code(c.command("cA==")), 235);
  }
  {
    RawClient c;
    open_tls(c);
    ASSERT_EQ(code(c.command("EHLO client.example")), 250);
    EXPECT_EQ(c.command("AUTH LOGIN dQ=="), "334 UGFzc3dvcmQ6\r\n");
    EXPECT_EQ(code(c.command("cA==")), 235);
  }
  {
    RawClient c;  // the client gives up
    open_tls(c);
    ASSERT_EQ(code(c.command("EHLO client.example")), 250);
    EXPECT_EQ(code(c.command("AUTH LOGIN")), 334);
    EXPECT_EQ(c.command("*"), "501 5.7.0 Error: authentication aborted\r\n");
    EXPECT_EQ(c.command("AUTH PLAIN not-base64"), "501 5.5.2 Error: cannot decode response\r\n");
  }
}

TEST_F(Tls, WrongPasswordsEndTheSession) {
  RawClient c;
  open_tls(c);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  // "\0u\0wrong"
  const std::string wrong = "AHUAd3Jvbmc=";
  EXPECT_EQ(c.command("AUTH PLAIN " + wrong), "535 5.7.8 Error: authentication failed\r\n");
  // "\0nobody\0p"
  EXPECT_EQ(c.command("AUTH PLAIN AG5vYm9keQBw"), "535 5.7.8 Error: authentication failed\r\n");
  // "other\0u\0p": act as someone else
  EXPECT_EQ(code(c.command("AUTH PLAIN b3RoZXIAdQBw")), 535);
  EXPECT_EQ(c.reply(), "421 4.7.0 mx.test Error: too many authentication failures\r\n");
  EXPECT_TRUE(c.closed());
}

TEST_F(Tls, SwaksAuthPlainOverStartTls) {
  auto cfg = testing_support::tls_config();
  cfg.networks.clear();
  start(cfg);
  int status = -1;
  const std::string out = swaks({"--tls", "--auth", "PLAIN", "--auth-user", "u",
                                 "--auth-password", "p"},
                                &status);
  ASSERT_EQ(out.find("TLS not available"), std::string::npos)
      << "swaks has no TLS: install libnet-ssleay-perl\n" << out;
  ASSERT_EQ(status, 0) << out;
  ASSERT_EQ(sink_.count(), 1u);
  const auto m = sink_.messages()[0];
  EXPECT_EQ(m.tenant, "globex");
  EXPECT_EQ(m.auth_user, "u");
  EXPECT_TRUE(m.tls);
  EXPECT_EQ(m.helo, "swaks.example");
  EXPECT_EQ(m.mail_from, "sender@example.com");
  EXPECT_EQ(m.rcpt_to, std::vector<std::string>{"rcpt@example.org"});
  EXPECT_NE(m.data.find("Subject: swaks test\r\n"), std::string::npos);
  EXPECT_NE(m.data.find("hello from swaks\r\n"), std::string::npos);
}

TEST_F(Tls, SwaksAuthLoginAndWrongPassword) {
  int status = -1;
  std::string out = swaks({"--tls", "--auth", "LOGIN", "--auth-user", "u", "--auth-password", "p"},
                          &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(sink_.count(), 1u);
  out = swaks({"--tls", "--auth", "PLAIN", "--auth-user", "u", "--auth-password", "nope"}, &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(out.find("535 5.7.8"), std::string::npos) << out;
  EXPECT_EQ(sink_.count(), 1u);
}

// The watchdog cancels the wait, not the connection: even inside TLS the
// client is told why it is being dropped.
TEST_F(Tls, TimeoutInsideTlsStillSays421) {
  auto cfg = testing_support::tls_config();
  cfg.command_timeout = std::chrono::milliseconds(300);
  start(cfg);
  RawClient c;
  open_tls(c);
  EXPECT_EQ(c.reply(), "421 4.4.2 mx.test Error: timeout exceeded\r\n");
  EXPECT_TRUE(c.closed());
}

TEST_F(Tls, BadCertificatePathFailsStart) {
  auto cfg = testing_support::tls_config();
  cfg.tls_cert = testing_support::test_data_dir() + "/no_such_cert.pem";
  FakeSink sink;
  TestServer s(cfg, sink);
  EXPECT_FALSE(s.started());
  EXPECT_NE(s.error().find("listener.tls_cert"), std::string::npos) << s.error();
}

}  // namespace
