// tests/mta/server_limits_itest.cpp: connection limits, timeouts, the
// graceful stop, and Postfix's smtp-source as a load of real clients.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <thread>

#include "server_support.h"

namespace {

using testing_support::FakeSink;
using testing_support::RawClient;
using testing_support::TestServer;

int code(const std::string& r) { return RawClient::code(r); }

class Limits : public ::testing::Test {
 protected:
  void start(const core::ListenerConfig& c) {
    server_ = std::make_unique<TestServer>(c, sink_);
    ASSERT_TRUE(server_->started()) << server_->error();
  }
  // Connects until the banner is `want` (the server notices a closed
  // connection asynchronously): at most 100 tries, 50 ms apart.
  bool eventually_greeted(int want) {
    for (int i = 0; i < 100; ++i) {
      RawClient c;
      if (c.connect(server_->port()) && code(c.reply()) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  FakeSink sink_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(Limits, PerIpConnectionLimit) {
  auto cfg = testing_support::test_config();
  cfg.max_connections_per_ip = 2;
  start(cfg);
  RawClient a, b, c;
  ASSERT_TRUE(a.connect(server_->port()));
  ASSERT_EQ(code(a.reply()), 220);
  ASSERT_TRUE(b.connect(server_->port()));
  ASSERT_EQ(code(b.reply()), 220);
  ASSERT_TRUE(c.connect(server_->port()));
  const std::string refused = c.reply();
  EXPECT_EQ(refused.rfind("421 4.7.0 mx.test Error: too many connections from 127.0.0.1", 0), 0u)
      << refused;
  EXPECT_TRUE(c.closed());
  // The other two still work; when one leaves, a newcomer is let in.
  EXPECT_EQ(code(b.command("NOOP")), 250);
  EXPECT_EQ(code(a.command("QUIT")), 221);
  EXPECT_TRUE(eventually_greeted(220));
}

TEST_F(Limits, TotalConnectionLimit) {
  auto cfg = testing_support::test_config();
  cfg.max_connections = 1;
  start(cfg);
  RawClient a, b;
  ASSERT_TRUE(a.connect(server_->port()));
  ASSERT_EQ(code(a.reply()), 220);
  ASSERT_TRUE(b.connect(server_->port()));
  const std::string refused = b.reply();
  EXPECT_EQ(refused.rfind("421 4.7.0 mx.test Error: too many connections", 0), 0u) << refused;
  EXPECT_EQ(server_->server().connections(), 1u);
  a.close();
  EXPECT_TRUE(eventually_greeted(220));
}

TEST_F(Limits, CommandTimeout) {
  auto cfg = testing_support::test_config();
  cfg.command_timeout = std::chrono::milliseconds(300);
  start(cfg);
  RawClient c;
  ASSERT_TRUE(c.connect(server_->port()));
  ASSERT_EQ(code(c.reply()), 220);
  ASSERT_TRUE(c.send("EHLO client.example"));  // no CRLF: the command never ends
  EXPECT_EQ(c.reply(), "421 4.4.2 mx.test Error: timeout exceeded\r\n");
  EXPECT_TRUE(c.closed());
}

TEST_F(Limits, DataTimeout) {
  auto cfg = testing_support::test_config();
  cfg.data_timeout = std::chrono::milliseconds(300);
  start(cfg);
  RawClient c;
  ASSERT_TRUE(c.connect(server_->port()));
  ASSERT_EQ(code(c.reply()), 220);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: slow\r\n\r\npart of it\r\n"));
  EXPECT_EQ(c.reply(), "421 4.4.2 mx.test Error: timeout exceeded\r\n");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(sink_.count(), 0u);
}

TEST_F(Limits, StopClosesIdleSessions) {
  start(testing_support::test_config());
  RawClient c;
  ASSERT_TRUE(c.connect(server_->port()));
  ASSERT_EQ(code(c.reply()), 220);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  EXPECT_TRUE(server_->stop(std::chrono::seconds(30), std::chrono::seconds(10)));
  EXPECT_EQ(c.reply(), "421 4.3.2 mx.test Service shutting down, try again later\r\n");
  EXPECT_TRUE(c.closed());
  // No longer accepting.
  RawClient late;
  EXPECT_FALSE(late.connect(server_->port()) && code(late.reply()) == 220);
}

// A transaction in progress is allowed to finish: its message is answered
// once the sink has it, then the session is told the server is going away.
TEST_F(Limits, StopLetsTheTransactionFinish) {
  start(testing_support::test_config());
  sink_.set_mode(FakeSink::Mode::kHold);
  RawClient c;
  ASSERT_TRUE(c.connect(server_->port()));
  ASSERT_EQ(code(c.reply()), 220);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  ASSERT_EQ(code(c.command("DATA")), 354);
  ASSERT_TRUE(c.send("Subject: in flight\r\n\r\n.\r\n"));
  ASSERT_TRUE(sink_.wait_for(1, std::chrono::seconds(10)));
  auto drained = std::make_shared<std::promise<void>>();
  auto done = drained->get_future();
  server_->server().stop(std::chrono::seconds(30), [drained] { drained->set_value(); });
  EXPECT_NE(done.wait_for(std::chrono::milliseconds(0)), std::future_status::ready);
  sink_.release();
  EXPECT_EQ(code(c.reply()), 250);
  EXPECT_EQ(c.reply(), "421 4.3.2 mx.test Service shutting down, try again later\r\n");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(Limits, StopGraceEndsLingeringTransactions) {
  start(testing_support::test_config());
  RawClient c;
  ASSERT_TRUE(c.connect(server_->port()));
  ASSERT_EQ(code(c.reply()), 220);
  ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  // The client never finishes; after the grace the session is closed.
  EXPECT_TRUE(server_->stop(std::chrono::milliseconds(200), std::chrono::seconds(10)));
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(server_->server().connections(), 0u);
}

// Postfix's own load generator: 200 messages of 4 KB over 5 parallel
// sessions, each accepted by the sink exactly once; then 100 more over two
// long-lived connections.
TEST_F(Limits, SmtpSourceDelivers200Messages) {
  start(testing_support::test_config());
  std::string out;
  const int status = testing_support::run_process(
      {"/usr/sbin/smtp-source", "-c", "-m", "200", "-s", "5", "-l", "4096", "-f",
       "from@example.com", "-t", "to@example.org",
       "127.0.0.1:" + std::to_string(server_->port())},
      std::chrono::seconds(120), &out);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(sink_.count(), 200u);
  for (const auto& m : sink_.messages()) {
    EXPECT_EQ(m.mail_from, "from@example.com");
    ASSERT_EQ(m.rcpt_to.size(), 1u);
    EXPECT_EQ(m.rcpt_to[0], "to@example.org");
    EXPECT_GE(m.data.size(), 4096u);
  }
  EXPECT_EQ(sink_.ids().size(), 200u);

  // -d: many messages per connection, as the end-to-end benchmark runs it.
  out.clear();
  const int reuse = testing_support::run_process(
      {"/usr/sbin/smtp-source", "-d", "-m", "100", "-s", "2", "-l", "4096", "-f",
       "from@example.com", "-t", "to@example.org",
       "127.0.0.1:" + std::to_string(server_->port())},
      std::chrono::seconds(120), &out);
  ASSERT_EQ(reuse, 0) << out;
  EXPECT_EQ(sink_.count(), 300u);
}

}  // namespace
