// tests/mta/smtp_session_itest.cpp: the SMTP client session against real
// peers on loopback: Postfix's smtp-sink (pipelining, many transactions per
// session), scripted aiosmtpd servers (per-recipient replies, 451 then 250,
// content integrity, STARTTLS) and a raw scripted server for misbehaviour
// (421 greeting, a drop in the middle of the content, a stall after the
// final dot); and an in-process recording peer for the exact commands sent
// (the DSN parameters, RFC 3461).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <optional>

#include "mta/smtp_client.h"
#include "peers.h"

namespace mta {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using testing_support::Peer;
using testing_support::test_data_dir;

struct Message {
  std::string from;
  std::vector<std::string> to;
  std::string data;
  std::string envid;
};

struct Conversation {
  bool opened = false;
  OpenFailure failure;
  Capabilities caps;
  SessionInfo info;
  std::vector<TransactionResult> results;
};

// With `pipelined`, the messages go through send_pipelined (content held
// back for the next transaction's commands) and a final flush.
asio::awaitable<Conversation> converse(asio::any_io_executor ex, Target target, SessionOptions options,
                              std::vector<Message> messages, bool pipelined) {
  Conversation run;
  auto opened = co_await SmtpSession::open(ex, target, options);
  if (!opened.session) {
    run.failure = opened.failure;
    co_return run;
  }
  run.opened = true;
  run.caps = opened.session->capabilities();
  run.info = opened.session->info();
  std::optional<size_t> staged;  // index of the message held back
  for (const Message& m : messages) {
    Transaction t;
    t.mail_from = m.from;
    t.rcpt_to = m.to;
    t.data = m.data;
    t.envid = m.envid;
    if (!pipelined) {
      run.results.push_back(co_await opened.session->send(t));
      if (!opened.session->usable()) break;
      continue;
    }
    const size_t index = run.results.size();
    run.results.emplace_back();
    SmtpSession::Sent sent = co_await opened.session->send_pipelined(t);
    if (sent.previous) run.results[*staged] = std::move(*sent.previous);
    staged.reset();
    if (sent.current) {
      run.results[index] = std::move(*sent.current);
    } else {
      staged = index;
    }
    if (!opened.session->usable()) break;
  }
  if (pipelined) {
    auto last = co_await opened.session->flush();
    EXPECT_EQ(last.has_value(), staged.has_value());
    if (last && staged) run.results[*staged] = std::move(*last);
  }
  EXPECT_FALSE(opened.session->staged());
  co_await opened.session->quit();
  co_return run;
}

// An in-process peer on 127.0.0.1 that offers `keywords` in its EHLO
// reply, accepts everything (354 to DATA, 250 to the final dot) and records
// every command line exactly as it arrived. One thread; each wait is a
// 50 ms poll that checks for the destructor, so nothing blocks unbounded.
class RecordingPeer {
 public:
  explicit RecordingPeer(std::vector<std::string> keywords) : keywords_(std::move(keywords)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 4) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~RecordingPeer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  RecordingPeer(const RecordingPeer&) = delete;
  RecordingPeer& operator=(const RecordingPeer&) = delete;

  uint16_t port() const { return port_; }
  std::vector<std::string> commands() {
    std::lock_guard lock(mu_);
    return commands_;
  }
  // The recorded lines that start with `prefix`.
  std::vector<std::string> commands(std::string_view prefix) {
    std::vector<std::string> out;
    for (auto& c : commands())
      if (c.rfind(prefix, 0) == 0) out.push_back(c);
    return out;
  }

 private:
  bool wait_readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }
  static void send_all(int fd, std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(size_t(n));
    }
  }
  void run() {
    while (wait_readable(fd_)) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      serve(c);
      ::close(c);
    }
  }
  void serve(int c) {
    send_all(c, "220 peer.test ESMTP\r\n");
    std::string buf;
    bool in_data = false;
    for (;;) {
      for (size_t lf; (lf = buf.find('\n')) != std::string::npos;) {
        std::string line = buf.substr(0, lf);
        buf.erase(0, lf + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (in_data) {
          if (line == ".") {
            in_data = false;
            send_all(c, "250 2.0.0 queued\r\n");
          }
          continue;
        }
        {
          std::lock_guard lock(mu_);
          commands_.push_back(line);
        }
        std::string verb = line.substr(0, 4);
        for (char& ch : verb) ch = char(std::toupper(static_cast<unsigned char>(ch)));
        if (verb == "EHLO") {
          std::string r = "250-peer.test\r\n";
          for (const auto& k : keywords_) r += "250-" + k + "\r\n";
          send_all(c, r + "250 ENHANCEDSTATUSCODES\r\n");
        } else if (verb == "DATA") {
          in_data = true;
          send_all(c, "354 go ahead\r\n");
        } else if (verb == "QUIT") {
          send_all(c, "221 2.0.0 bye\r\n");
          return;
        } else {
          send_all(c, "250 2.0.0 ok\r\n");
        }
      }
      if (!wait_readable(c)) return;
      char chunk[4096];
      const ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buf.append(chunk, size_t(n));
    }
  }

  const std::vector<std::string> keywords_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> commands_;  // GUARDED_BY(mu_)
};

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() : ctx_(asio::ssl::context::tls_client), verify_(asio::ssl::context::tls_client) {
    ctx_.set_verify_mode(asio::ssl::verify_none);
    verify_.load_verify_file(test_data_dir() + "/smtp_test_cert.pem");
    verify_.set_verify_mode(asio::ssl::verify_peer);
    cfg_.connect_timeout = std::chrono::seconds(5);
    cfg_.greeting_timeout = std::chrono::seconds(5);
    cfg_.data_done_timeout = std::chrono::seconds(10);
  }

  SessionOptions options(core::TlsMode tls = core::TlsMode::kOpportunistic) {
    SessionOptions o;
    o.ehlo_name = "client.test";
    o.tls = tls;
    o.opportunistic = &ctx_;
    o.verifying = &verify_;
    o.config = &cfg_;
    return o;
  }

  static Target target(uint16_t port, std::string host = "localhost") {
    Target t;
    t.host = std::move(host);
    t.endpoints.emplace_back(asio::ip::make_address("127.0.0.1"), port);
    return t;
  }

  Conversation talk(Target t, SessionOptions o, std::vector<Message> msgs, bool pipelined = false) {
    asio::io_context io;
    auto strand = asio::make_strand(io);
    std::optional<Conversation> out;
    asio::co_spawn(strand, converse(strand, std::move(t), std::move(o), std::move(msgs), pipelined),
                   [&](std::exception_ptr e, Conversation r) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(r);
                   });
    io.run_for(std::chrono::seconds(60));
    EXPECT_TRUE(out.has_value()) << "conversation did not finish in time";
    return out.value_or(Conversation{});
  }

  // Starts Postfix's smtp-sink; returns its port (0 on failure).
  uint16_t start_sink(Peer& sink) {
    const uint16_t port = testing_support::pick_port();
    std::string error;
    const bool ok =
        sink.start(testing_support::smtp_sink_argv(port), "", std::chrono::seconds(5), nullptr, &error);
    EXPECT_TRUE(ok) << error;
    if (!ok || !testing_support::wait_for_port(port, std::chrono::seconds(10))) return 0;
    return port;
  }

  // Starts smtp_script_server.py with `cfg`; returns its port.
  uint16_t script(Peer& peer, json::object cfg) {
    std::string path = dir_ + "/script" + std::to_string(scripts_++) + ".json";
    std::ofstream(path) << json::serialize(cfg);
    std::string port, error;
    bool ok = peer.start({"/usr/bin/python3", test_data_dir() + "/smtp_script_server.py", path},
                         "READY ", std::chrono::seconds(20), &port, &error);
    EXPECT_TRUE(ok) << error;
    return ok ? static_cast<uint16_t>(std::stoi(port)) : 0;
  }

  std::vector<json::object> recorded() {
    std::vector<json::object> out;
    std::ifstream in(dir_ + "/record.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
  }

  void SetUp() override {
    char tmpl[] = "/tmp/vestnik-smtp-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  asio::ssl::context ctx_;
  asio::ssl::context verify_;
  core::SmtpConfig cfg_;
  std::string dir_;
  int scripts_ = 0;
};

std::string message(std::string_view subject, std::string_view body) {
  return "From: a@client.test\r\nTo: b@example.test\r\nSubject: " + std::string(subject) +
         "\r\n\r\n" + std::string(body);
}

// n messages with a dot-stuffing line, each to r<i>@example.test plus `more`.
std::vector<Message> sink_messages(int n, std::vector<std::string> more) {
  std::vector<Message> msgs;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> to{"r" + std::to_string(i) + "@example.test"};
    to.insert(to.end(), more.begin(), more.end());
    msgs.push_back({"bounce@client.test", std::move(to),
                    message("n" + std::to_string(i), ".dot line\r\nbody\r\n")});
  }
  return msgs;
}

void expect_all_delivered(const Conversation& r, size_t messages, size_t recipients) {
  ASSERT_EQ(r.results.size(), messages);
  for (const auto& t : r.results) {
    EXPECT_FALSE(t.connection_lost);
    ASSERT_EQ(t.recipients.size(), recipients);
    for (const auto& rr : t.recipients) {
      EXPECT_EQ(rr.reply.code, 250) << rr.reply.text;
      EXPECT_EQ(rr.stage, Stage::kDataEnd);
    }
  }
}

TEST_F(SessionTest, SmtpSinkPipelinedManyTransactionsOnOneSession) {
  Peer sink;
  const uint16_t port = start_sink(sink);
  ASSERT_NE(port, 0);
  Conversation r = talk(target(port), options(), sink_messages(20, {"x@example.test"}));
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  EXPECT_TRUE(r.caps.pipelining);
  EXPECT_EQ(r.info.ip, "127.0.0.1");
  EXPECT_FALSE(r.info.source_ip.empty());
  expect_all_delivered(r, 20, 2);
}

TEST_F(SessionTest, SmtpSinkPipelinedAcrossMessages) {
  Peer sink;
  const uint16_t port = start_sink(sink);
  ASSERT_NE(port, 0);
  Conversation r = talk(target(port), options(), sink_messages(20, {}), true);
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  expect_all_delivered(r, 20, 1);
}

// Each message's content goes out with the next message's MAIL/RCPT/DATA
// (the server finds them buffered behind the final dot), and each message
// still gets the reply to its own dot.
TEST_F(SessionTest, PipelinedAcrossMessagesSendsContentWithTheNextCommands) {
  Peer peer;
  uint16_t port = script(peer, {{"mode", "raw"}, {"pipelining", true}, {"record", dir_ + "/record.jsonl"},
                                {"dot_replies", json::array{"250 2.0.0 OK", "550 5.7.1 content rejected",
                                                            "250 2.0.0 OK"}}});
  ASSERT_NE(port, 0);
  Conversation r = talk(target(port), options(),
                        {{"s@client.test", {"a@example.test"}, message("1", "x\r\n")},
                         {"s@client.test", {"b@example.test", "c@example.test"}, message("2", ".y\r\n")},
                         {"s@client.test", {"d@example.test"}, message("3", "z\r\n")}},
                        true);
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  EXPECT_TRUE(r.caps.pipelining);
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[0].recipients[0].reply.code, 250);
  EXPECT_EQ(r.results[0].recipients[0].stage, Stage::kDataEnd);
  ASSERT_EQ(r.results[1].recipients.size(), 2u);
  for (const auto& rr : r.results[1].recipients) {
    EXPECT_EQ(rr.reply.code, 550);
    EXPECT_EQ(rr.reply.enhanced, "5.7.1");
    EXPECT_EQ(rr.stage, Stage::kDataEnd);
  }
  EXPECT_FALSE(r.results[1].connection_lost);  // a refused message does not end the session
  EXPECT_EQ(r.results[2].recipients[0].reply.code, 250);
  auto rec = recorded();
  ASSERT_EQ(rec.size(), 3u);
  EXPECT_TRUE(rec[0].at("next_buffered").as_bool());
  EXPECT_TRUE(rec[1].at("next_buffered").as_bool());
  EXPECT_FALSE(rec[2].at("next_buffered").as_bool());  // the last one went alone (flush)
}

TEST_F(SessionTest, PipelinedAcrossMessagesOffWaitsForEachFinalReply) {
  Peer peer;
  uint16_t port = script(peer, {{"mode", "raw"}, {"pipelining", true}, {"record", dir_ + "/record.jsonl"}});
  ASSERT_NE(port, 0);
  cfg_.pipeline_messages = false;
  Conversation r = talk(target(port), options(),
                        {{"s@client.test", {"a@example.test"}, message("1", "x\r\n")},
                         {"s@client.test", {"b@example.test"}, message("2", "y\r\n")}},
                        true);
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].recipients[0].reply.code, 250);
  EXPECT_EQ(r.results[1].recipients[0].reply.code, 250);
  auto rec = recorded();
  ASSERT_EQ(rec.size(), 2u);
  EXPECT_FALSE(rec[0].at("next_buffered").as_bool());
}

// 421 to a held-back message's dot: that message has the 421; the next one,
// whose commands the server never answered, is a connection failure.
TEST_F(SessionTest, PipelinedAcrossMessages421AtTheDotFailsTheNextOnTheConnection) {
  Peer peer;
  uint16_t port = script(peer, {{"mode", "raw"}, {"pipelining", true}, {"record", dir_ + "/record.jsonl"},
                                {"dot_replies", json::array{"421 4.7.0 closing"}}});
  ASSERT_NE(port, 0);
  Conversation r = talk(target(port), options(),
                        {{"s@client.test", {"a@example.test"}, message("1", "x\r\n")},
                         {"s@client.test", {"b@example.test"}, message("2", "y\r\n")}},
                        true);
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_TRUE(r.results[0].connection_lost);
  EXPECT_EQ(r.results[0].recipients[0].reply.code, 421);
  EXPECT_EQ(r.results[0].recipients[0].stage, Stage::kDataEnd);
  EXPECT_TRUE(r.results[1].connection_lost);
  EXPECT_EQ(r.results[1].recipients[0].reply.code, 421);
  EXPECT_EQ(r.results[1].recipients[0].stage, Stage::kConnection);
}

TEST_F(SessionTest, PerRecipientRepliesAndContentArrivesIntact) {
  Peer peer;
  uint16_t port = script(peer, {{"record", dir_ + "/record.jsonl"},
                                {"rules", json::array{json::object{{"rcpt", "^nobody@"},
                                                                   {"reply", "550 5.1.1 no such user"}}}}});
  ASSERT_NE(port, 0);
  std::string body = ".starts with a dot\r\n..two dots\r\n.\r\nend\r\n";
  Conversation r = talk(target(port), options(), {{"s@client.test", {"nobody@example.test", "ok@example.test"}, message("t", body)}});
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  ASSERT_EQ(r.results.size(), 1u);
  const auto& rs = r.results[0].recipients;
  EXPECT_EQ(rs[0].reply.code, 550);
  EXPECT_EQ(rs[0].reply.enhanced, "5.1.1");
  EXPECT_EQ(rs[0].reply.text, "no such user");
  EXPECT_EQ(rs[0].stage, Stage::kRcpt);
  EXPECT_EQ(rs[1].reply.code, 250);
  EXPECT_EQ(rs[1].stage, Stage::kDataEnd);
  auto rec = recorded();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].at("mail_from").as_string(), "s@client.test");
  EXPECT_EQ(rec[0].at("data").as_string(), message("t", body));
}

TEST_F(SessionTest, TransientThenAcceptedAndAllRecipientsRefusedSendsNoContent) {
  Peer peer;
  uint16_t port = script(peer, {{"record", dir_ + "/record.jsonl"},
                                {"rules", json::array{
                                    json::object{{"rcpt", "^grey@"}, {"reply", "451 4.7.1 greylisted"}, {"times", 1}},
                                    json::object{{"rcpt", "^full@"}, {"stage", "data"}, {"reply", "452 4.2.2 mailbox full"}},
                                    json::object{{"rcpt", "^bad"}, {"reply", "550 5.1.1 unknown"}}}}});
  ASSERT_NE(port, 0);
  Conversation r = talk(target(port), options(),
              {{"s@client.test", {"grey@example.test"}, message("1", "x\r\n")},
               {"s@client.test", {"grey@example.test"}, message("2", "x\r\n")},
               {"s@client.test", {"bad1@example.test", "bad2@example.test"}, message("3", "x\r\n")},
               {"s@client.test", {"full@example.test"}, message("4", "x\r\n")},
               {"s@client.test", {"ok@example.test"}, message("5", "x\r\n")}});
  ASSERT_TRUE(r.opened);
  ASSERT_EQ(r.results.size(), 5u);
  EXPECT_EQ(r.results[0].recipients[0].reply.code, 451);
  EXPECT_EQ(r.results[0].recipients[0].stage, Stage::kRcpt);
  EXPECT_EQ(r.results[1].recipients[0].reply.code, 250);
  EXPECT_EQ(r.results[2].recipients[0].reply.code, 550);
  EXPECT_EQ(r.results[2].recipients[1].reply.code, 550);
  EXPECT_FALSE(r.results[2].connection_lost);
  EXPECT_EQ(r.results[3].recipients[0].reply.code, 452);
  EXPECT_EQ(r.results[3].recipients[0].stage, Stage::kDataEnd);
  EXPECT_EQ(r.results[4].recipients[0].reply.code, 250);  // the session survived RSETs
  auto rec = recorded();
  ASSERT_EQ(rec.size(), 2u);  // message 2 and 5 only
}

TEST_F(SessionTest, Greeting421FailsTheOpenWithThePeersReply) {
  Peer peer;
  uint16_t port = script(peer, {{"mode", "raw"}, {"greeting", "421 4.7.0 [TSS04] Messages temporarily deferred"}});
  ASSERT_NE(port, 0);
  Conversation r = talk(target(port), options(), {});
  EXPECT_FALSE(r.opened);
  EXPECT_EQ(r.failure.reply.code, 421);
  EXPECT_EQ(r.failure.reply.enhanced, "4.7.0");
  EXPECT_EQ(r.failure.reply.text, "[TSS04] Messages temporarily deferred");
  EXPECT_FALSE(r.failure.refused);
}

TEST_F(SessionTest, DropInTheMiddleOfTheContentIsAConnectionFailure) {
  Peer peer;
  uint16_t port = script(peer, {{"mode", "raw"}, {"drop", "data"}});
  ASSERT_NE(port, 0);
  Conversation r = talk(target(port), options(), {{"s@client.test", {"a@example.test"}, message("t", std::string(200000, 'x') + "\r\n")}});
  ASSERT_TRUE(r.opened);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_TRUE(r.results[0].connection_lost);
  EXPECT_EQ(r.results[0].recipients[0].stage, Stage::kConnection);
  EXPECT_EQ(r.results[0].recipients[0].reply.code, 0);
  EXPECT_EQ(r.results[0].recipients[0].reply.enhanced, "4.4.2");
}

TEST_F(SessionTest, StallAfterTheFinalDotHitsTheDataDoneTimeout) {
  Peer peer;
  uint16_t port = script(peer, {{"mode", "raw"}, {"stall", "dot"}});
  ASSERT_NE(port, 0);
  cfg_.data_done_timeout = std::chrono::milliseconds(700);
  Conversation r = talk(target(port), options(), {{"s@client.test", {"a@example.test"}, message("t", "x\r\n")}});
  ASSERT_TRUE(r.opened);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_TRUE(r.results[0].connection_lost);
  EXPECT_NE(r.results[0].recipients[0].reply.text.find("timeout after the final dot"), std::string::npos)
      << r.results[0].recipients[0].reply.text;
}

TEST_F(SessionTest, StalledGreetingTimesOut) {
  Peer peer;
  uint16_t port = script(peer, {{"mode", "raw"}, {"stall", "greeting"}});
  ASSERT_NE(port, 0);
  cfg_.greeting_timeout = std::chrono::milliseconds(500);
  Conversation r = talk(target(port), options(), {});
  EXPECT_FALSE(r.opened);
  EXPECT_EQ(r.failure.reply.code, 0);
  EXPECT_NE(r.failure.reply.text.find("timeout waiting for the greeting"), std::string::npos) << r.failure.reply.text;
}

TEST_F(SessionTest, ConnectRefusedTriesEveryAddress) {
  uint16_t port = testing_support::pick_port();  // nobody listens
  Target t = target(port);
  t.endpoints.emplace_back(asio::ip::make_address("127.0.0.2"), port);
  Conversation r = talk(t, options(), {});
  EXPECT_FALSE(r.opened);
  EXPECT_EQ(r.failure.reply.enhanced, "4.4.1");
  EXPECT_NE(r.failure.reply.text.find("127.0.0.1"), std::string::npos);
  EXPECT_NE(r.failure.reply.text.find("127.0.0.2"), std::string::npos);
}

TEST_F(SessionTest, OpportunisticStartTlsThenEhloAgain) {
  Peer peer;
  uint16_t port = script(peer, {{"record", dir_ + "/record.jsonl"},
                                {"tls_cert", test_data_dir() + "/smtp_test_cert.pem"},
                                {"tls_key", test_data_dir() + "/smtp_test_key.pem"}});
  ASSERT_NE(port, 0);
  Conversation r = talk(target(port, "mx.not-matching.test"), options(), {{"s@client.test", {"a@example.test"}, message("t", "x\r\n")}});
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  EXPECT_TRUE(r.info.tls_version == "TLSv1.3" || r.info.tls_version == "TLSv1.2") << r.info.tls_version;
  EXPECT_FALSE(r.caps.starttls);  // the EHLO after TLS no longer offers it
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].recipients[0].reply.code, 250);
}

TEST_F(SessionTest, RequiredTlsVerifiesTheCertificateName) {
  Peer peer;
  uint16_t port = script(peer, {{"tls_cert", test_data_dir() + "/smtp_test_cert.pem"},
                                {"tls_key", test_data_dir() + "/smtp_test_key.pem"}});
  ASSERT_NE(port, 0);
  Conversation good = talk(target(port, "localhost"), options(core::TlsMode::kRequire), {});
  EXPECT_TRUE(good.opened) << good.failure.reply.text;
  Conversation bad = talk(target(port, "mx.other.test"), options(core::TlsMode::kRequire), {});
  EXPECT_FALSE(bad.opened);
  EXPECT_TRUE(bad.failure.tls_failed);
  EXPECT_EQ(bad.failure.reply.enhanced, "4.7.5");
}

TEST_F(SessionTest, RequiredTlsWithoutStartTlsIsRefusedLocally) {
  Peer peer;
  uint16_t port = script(peer, {});
  ASSERT_NE(port, 0);
  Conversation r = talk(target(port), options(core::TlsMode::kRequire), {});
  EXPECT_FALSE(r.opened);
  EXPECT_EQ(r.failure.reply.enhanced, "4.7.10");
}

// ---- DSN (RFC 3461): ENVID and ORCPT only to peers that offer DSN ----

constexpr const char* kEnvid = "01J9ZQ0B3N8W5F4D7H2K6M1R9T";  // a message id

std::vector<Message> dsn_messages() {
  return {{"bounces-t1@client.test", {"a+b@example.com", "plain@example.com"}, message("1", "x\r\n"), kEnvid},
          {"bounces-t2@client.test", {"c=d@example.com"}, message("2", "y\r\n"), "id+1=2"},
          {"bounces-t3@client.test", {"e@example.com"}, message("3", "z\r\n"), ""}};
}

void expect_dsn_commands(RecordingPeer& peer) {
  EXPECT_EQ(peer.commands("MAIL"),
            (std::vector<std::string>{
                std::string("MAIL FROM:<bounces-t1@client.test> ENVID=") + kEnvid,
                "MAIL FROM:<bounces-t2@client.test> ENVID=id+2B1+3D2",
                "MAIL FROM:<bounces-t3@client.test>",  // no envid: none sent
            }));
  EXPECT_EQ(peer.commands("RCPT"),
            (std::vector<std::string>{
                "RCPT TO:<a+b@example.com> ORCPT=rfc822;a+2Bb@example.com",
                "RCPT TO:<plain@example.com> ORCPT=rfc822;plain@example.com",
                "RCPT TO:<c=d@example.com> ORCPT=rfc822;c+3Dd@example.com",
                "RCPT TO:<e@example.com> ORCPT=rfc822;e@example.com",  // ORCPT without ENVID
            }));
}

TEST_F(SessionTest, DsnOfferedPipelinedAcrossMessagesSendsEnvidAndOrcpt) {
  RecordingPeer peer({"PIPELINING", "DSN", "8BITMIME"});
  ASSERT_NE(peer.port(), 0);
  Conversation r = talk(target(peer.port()), options(core::TlsMode::kDisabled), dsn_messages(), true);
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  EXPECT_TRUE(r.caps.dsn);
  ASSERT_EQ(r.results.size(), 3u);
  for (const auto& t : r.results)
    for (const auto& rr : t.recipients) EXPECT_EQ(rr.reply.code, 250) << rr.reply.text;
  expect_dsn_commands(peer);
}

TEST_F(SessionTest, DsnOfferedWithoutPipeliningSendsEnvidAndOrcpt) {
  RecordingPeer peer({"DSN"});
  ASSERT_NE(peer.port(), 0);
  Conversation r = talk(target(peer.port()), options(core::TlsMode::kDisabled), dsn_messages());
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  EXPECT_FALSE(r.caps.pipelining);
  ASSERT_EQ(r.results.size(), 3u);
  expect_dsn_commands(peer);
}

// An SMTPUTF8 recipient gets no ORCPT (an rfc822 address is ASCII); the
// others in the same transaction still do.
TEST_F(SessionTest, DsnOrcptLeftOutForANonAsciiRecipient) {
  RecordingPeer peer({"PIPELINING", "DSN", "SMTPUTF8"});
  ASSERT_NE(peer.port(), 0);
  Conversation r = talk(target(peer.port()), options(core::TlsMode::kDisabled),
                        {{"s@client.test", {"\xd0\xb8@example.com", "a@example.com"}, message("1", "x\r\n"), kEnvid}});
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(peer.commands("MAIL"),
            (std::vector<std::string>{std::string("MAIL FROM:<s@client.test> SMTPUTF8 ENVID=") + kEnvid}));
  EXPECT_EQ(peer.commands("RCPT"),
            (std::vector<std::string>{"RCPT TO:<\xd0\xb8@example.com>",
                                      "RCPT TO:<a@example.com> ORCPT=rfc822;a@example.com"}));
}

TEST_F(SessionTest, DsnNotOfferedSendsNeitherEnvidNorOrcpt) {
  for (bool pipelining : {true, false}) {
    RecordingPeer peer(pipelining ? std::vector<std::string>{"PIPELINING"} : std::vector<std::string>{});
    ASSERT_NE(peer.port(), 0);
    Conversation r = talk(target(peer.port()), options(core::TlsMode::kDisabled), dsn_messages(), pipelining);
    ASSERT_TRUE(r.opened) << r.failure.reply.text;
    EXPECT_FALSE(r.caps.dsn);
    ASSERT_EQ(r.results.size(), 3u);
    EXPECT_EQ(peer.commands("MAIL"), (std::vector<std::string>{"MAIL FROM:<bounces-t1@client.test>",
                                                               "MAIL FROM:<bounces-t2@client.test>",
                                                               "MAIL FROM:<bounces-t3@client.test>"}))
        << "pipelining " << pipelining;
    EXPECT_EQ(peer.commands("RCPT"),
              (std::vector<std::string>{"RCPT TO:<a+b@example.com>", "RCPT TO:<plain@example.com>",
                                        "RCPT TO:<c=d@example.com>", "RCPT TO:<e@example.com>"}))
        << "pipelining " << pipelining;
  }
}

}  // namespace
}  // namespace mta
