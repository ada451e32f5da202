// tests/mta/server_bdat_itest.cpp: CHUNKING (RFC 3030) on the listener:
// chunks taken as sent, LAST ends the message, never mixed with DATA, and
// a refused chunk is still read so its bytes are never taken for commands.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server_support.h"

namespace {

using testing_support::FakeSink;
using testing_support::RawClient;
using testing_support::TestServer;

int code(const std::string& r) { return RawClient::code(r); }

class Chunking : public ::testing::Test {
 protected:
  void SetUp() override { start(testing_support::test_config()); }
  void start(const core::ListenerConfig& c) {
    server_ = std::make_unique<TestServer>(c, sink_);
    ASSERT_TRUE(server_->started()) << server_->error();
  }
  void open(RawClient& c) {
    ASSERT_TRUE(c.connect(server_->port()));
    ASSERT_EQ(code(c.reply()), 220);
    ASSERT_EQ(code(c.command("EHLO client.example")), 250);
  }
  FakeSink sink_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(Chunking, ChunksAreConcatenatedAsSent) {
  RawClient c;
  open(c);
  const std::string one = "Subject: b\r\n";  // 12
  const std::string two = "\r\n.\r\n..x\r\n";  // dots mean nothing in BDAT
  // The whole transaction pipelined in one write.
  ASSERT_TRUE(c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nBDAT " +
                     std::to_string(one.size()) + "\r\n" + one + "BDAT " +
                     std::to_string(two.size()) + " LAST\r\n" + two));
  EXPECT_EQ(code(c.reply()), 250);
  EXPECT_EQ(code(c.reply()), 250);
  EXPECT_EQ(c.reply(), "250 2.0.0 Ok: 12 octets\r\n");
  const std::string last = c.reply();
  ASSERT_EQ(sink_.count(), 1u);
  EXPECT_EQ(last, "250 2.0.0 Ok: queued as " + sink_.ids()[0].to_string() + "\r\n");
  const auto m = sink_.messages()[0];
  EXPECT_EQ(m.data.rfind("Received: from client.example ([127.0.0.1])", 0), 0u);
  EXPECT_EQ(m.data.substr(m.data.size() - one.size() - two.size()), one + two);
  // The transaction is over; BDAT 0 LAST alone makes an empty message.
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  EXPECT_EQ(code(c.command("BDAT 0 LAST")), 250);
  EXPECT_EQ(sink_.count(), 2u);
}

TEST_F(Chunking, NeverMixedWithData) {
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  ASSERT_TRUE(c.send("BDAT 4\r\nabc\n"));
  EXPECT_EQ(code(c.reply()), 250);
  EXPECT_EQ(c.command("DATA"), "503 5.5.1 Error: DATA after BDAT\r\n");
  EXPECT_EQ(c.command("RCPT TO:<c@example.org>"), "503 5.5.1 Error: RCPT after BDAT\r\n");
  ASSERT_TRUE(c.send("BDAT 2 LAST\r\n\r\n"));
  // "abc\n\r\n": the bare LF refuses the message.
  EXPECT_EQ(c.reply(),
            "550 5.6.11 Error: bare CR or LF in message content, use CRLF line endings\r\n");
  EXPECT_EQ(sink_.count(), 0u);
}

TEST_F(Chunking, RefusedChunkIsStillConsumed) {
  RawClient c;
  open(c);
  // No MAIL: refused, but its 6 bytes ("QUIT\r\n") are skipped, not obeyed.
  ASSERT_TRUE(c.send("BDAT 6\r\nQUIT\r\n"));
  EXPECT_EQ(c.reply(), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 Ok\r\n");
  // No recipients: the same.
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_TRUE(c.send("BDAT 6 LAST\r\nQUIT\r\n"));
  EXPECT_EQ(c.reply(), "554 5.5.1 Error: no valid recipients\r\n");
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(sink_.count(), 0u);
}

TEST_F(Chunking, OversizedChunksEndTheTransaction) {
  auto cfg = testing_support::test_config();
  cfg.max_message_bytes = 100;
  server_.reset();
  start(cfg);
  RawClient c;
  open(c);
  ASSERT_EQ(code(c.command("MAIL FROM:<a@example.com>")), 250);
  ASSERT_EQ(code(c.command("RCPT TO:<b@example.org>")), 250);
  const std::string chunk(80, 'x');
  ASSERT_TRUE(c.send("BDAT 80\r\n" + chunk + "BDAT 80\r\n" + chunk + "BDAT 80 LAST\r\n" + chunk));
  EXPECT_EQ(code(c.reply()), 250);
  EXPECT_EQ(c.reply(), "552 5.3.4 Error: message size exceeds fixed limit\r\n");
  EXPECT_EQ(c.reply(), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(sink_.count(), 0u);
}

TEST_F(Chunking, UnreadableChunkSizeEndsTheSession) {
  RawClient c;
  open(c);
  ASSERT_TRUE(c.send("BDAT lots\r\nQUIT\r\n"));
  EXPECT_EQ(c.reply(), "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
  EXPECT_TRUE(c.closed());
}

}  // namespace
