// tests/mta/smtp_postfix_itest.cpp: the SMTP client session against a real
// Postfix (a throwaway instance on loopback, smtp_support_postfix.h) as the
// receiving MTA over STARTTLS with the test certificate: opportunistic TLS
// with several pipelined transactions on one session, required TLS with
// certificate verification, a permanent per-recipient refusal, and a
// message over the SIZE Postfix announces. Postfix's maillog shows what it
// saw on its side.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <iostream>
#include <optional>

#include "mta/smtp_client.h"
#include "peers.h"
#include "smtp_support_postfix.h"

namespace mta {
namespace {

namespace asio = boost::asio;
using testing_support::count_lines;
using testing_support::PostfixInstance;
using testing_support::PostfixOptions;
using testing_support::test_data_dir;
using namespace std::chrono_literals;

struct Message {
  std::string from;
  std::vector<std::string> to;
  std::string data;
  bool eight_bit = false;
};

struct Conversation {
  bool opened = false;
  OpenFailure failure;
  Capabilities caps;
  SessionInfo info;
  std::vector<TransactionResult> results;
  uint32_t transactions = 0;
};

asio::awaitable<Conversation> converse(asio::any_io_executor ex, Target target,
                                       SessionOptions options, std::vector<Message> messages) {
  Conversation run;
  auto opened = co_await SmtpSession::open(ex, target, options);
  if (!opened.session) {
    run.failure = opened.failure;
    co_return run;
  }
  run.opened = true;
  run.caps = opened.session->capabilities();
  run.info = opened.session->info();
  for (const Message& m : messages) {
    Transaction t;
    t.mail_from = m.from;
    t.rcpt_to = m.to;
    t.data = m.data;
    t.eight_bit = m.eight_bit;
    run.results.push_back(co_await opened.session->send(t));
    if (!opened.session->usable()) break;
  }
  run.transactions = opened.session->transactions();
  co_await opened.session->quit();
  co_return run;
}

// A message whose Subject the instance's header_checks log ("subject seen").
std::string message(std::string_view tag, std::string_view body) {
  return "From: s@client.test\r\nTo: r@dest.test\r\nSubject: vestnik-postfix " + std::string(tag) +
         "\r\n\r\n" + std::string(body);
}

class PostfixTest : public ::testing::Test {
 protected:
  PostfixTest() : ctx_(asio::ssl::context::tls_client), verify_(asio::ssl::context::tls_client) {
    ctx_.set_verify_mode(asio::ssl::verify_none);
    // The self-signed test certificate is its own CA.
    verify_.load_verify_file(test_data_dir() + "/smtp_test_cert.pem");
    verify_.set_verify_mode(asio::ssl::verify_peer);
    // Bounded, but generous: Postfix spawns smtpd and friends on demand,
    // and process creation is slow on this VM.
    cfg_.connect_timeout = 5s;
    cfg_.greeting_timeout = 20s;
    cfg_.ehlo_timeout = 20s;
    cfg_.tls_timeout = 20s;
    cfg_.mail_timeout = 20s;
    cfg_.rcpt_timeout = 20s;
    cfg_.data_timeout = 20s;
    cfg_.data_block_timeout = 20s;
    cfg_.data_done_timeout = 30s;
    cfg_.rset_timeout = 10s;
    cfg_.quit_timeout = 5s;
  }

  void SetUp() override {
    if (std::string why = PostfixInstance::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    PostfixOptions o;
    o.relay_domain = "dest.test";
    o.message_size_limit = 100000;
    o.tls_cert_file = test_data_dir() + "/smtp_test_cert.pem";
    o.tls_key_file = test_data_dir() + "/smtp_test_key.pem";
    o.recipient_access = {{"nobody@dest.test", "REJECT 5.1.1 no such user"}};
    // cleanup(8) logs these headers of every message it receives: the
    // content arrived, and smtpd's Received: header records the TLS session
    // (smtpd_tls_received_header).
    o.header_checks = {
        {"/^Subject: vestnik-postfix /", "INFO subject seen"},
        {"/^Received: .*\\(using TLSv1\\.[23] with cipher /", "INFO received over tls"}};
    std::string error;
    ASSERT_TRUE(postfix_.start(o, &error)) << error;
  }

  void TearDown() override {
    if (HasFailure()) {
      std::string log = postfix_.maillog();
      if (log.size() > 6000) log = log.substr(log.size() - 6000);
      std::cout << "---- Postfix maillog (tail) ----\n" << log << "--------\n";
    }
    postfix_.stop();
  }

  SessionOptions options(core::TlsMode tls) {
    SessionOptions o;
    o.ehlo_name = "client.test";
    o.tls = tls;
    o.opportunistic = &ctx_;
    o.verifying = &verify_;
    o.config = &cfg_;
    return o;
  }

  Target target(std::string host) const {
    Target t;
    t.host = std::move(host);
    t.endpoints.emplace_back(asio::ip::make_address("127.0.0.1"), postfix_.port());
    return t;
  }

  Conversation talk(Target t, SessionOptions o, std::vector<Message> msgs) {
    asio::io_context io;
    auto strand = asio::make_strand(io);
    std::optional<Conversation> out;
    asio::co_spawn(strand, converse(strand, std::move(t), std::move(o), std::move(msgs)),
                   [&](std::exception_ptr e, Conversation r) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(r);
                   });
    io.run_for(60s);
    EXPECT_TRUE(out.has_value()) << "conversation did not finish in time";
    return out.value_or(Conversation{});
  }

  // Waits until Postfix logged `n` lines with every one of `parts`.
  std::string wait_for_lines(size_t n, std::initializer_list<std::string_view> parts) {
    std::string log;
    std::vector<std::string_view> p(parts);
    bool ok = postfix_.wait_for_log([&](const std::string& l) { return count_lines(l, p) >= n; },
                                    20s, &log);
    EXPECT_TRUE(ok) << "Postfix did not log " << n << " line(s) with: " << p.front();
    return log;
  }

  asio::ssl::context ctx_;
  asio::ssl::context verify_;
  core::SmtpConfig cfg_;
  PostfixInstance postfix_;
};

TEST_F(PostfixTest, OpportunisticTlsDeliversThreeMessagesOnOnePipelinedSession) {
  std::vector<Message> msgs;
  for (int i = 0; i < 3; ++i)
    msgs.push_back({"s@client.test",
                    {"m" + std::to_string(i) + "@dest.test"},
                    message(std::to_string(i), ".a line with a dot\r\nbody\r\n")});
  msgs[1].data = message("1", "8-bit: \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\r\n");
  msgs[1].eight_bit = true;

  Conversation r = talk(target("localhost"), options(core::TlsMode::kOpportunistic), msgs);
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  EXPECT_TRUE(r.info.tls_version == "TLSv1.3" || r.info.tls_version == "TLSv1.2")
      << r.info.tls_version;
  EXPECT_FALSE(r.info.tls_cipher.empty());
  EXPECT_EQ(r.info.ip, "127.0.0.1");
  // The capabilities are those of the EHLO after STARTTLS.
  EXPECT_TRUE(r.caps.esmtp);
  EXPECT_TRUE(r.caps.pipelining);
  EXPECT_TRUE(r.caps.size);
  EXPECT_EQ(r.caps.max_size, 100000u);
  EXPECT_TRUE(r.caps.eight_bit_mime);
  EXPECT_TRUE(r.caps.enhanced_status_codes);
  EXPECT_TRUE(r.caps.smtputf8);
  EXPECT_TRUE(r.caps.chunking);
  EXPECT_FALSE(r.caps.starttls);
  ASSERT_EQ(r.results.size(), 3u);
  for (const auto& t : r.results) {
    EXPECT_FALSE(t.connection_lost);
    ASSERT_EQ(t.recipients.size(), 1u);
    EXPECT_EQ(t.recipients[0].reply.code, 250) << t.recipients[0].reply.text;
    EXPECT_EQ(t.recipients[0].reply.enhanced, "2.0.0");
    EXPECT_NE(t.recipients[0].reply.text.find("queued as"), std::string::npos);
    EXPECT_EQ(t.recipients[0].stage, Stage::kDataEnd);
  }
  EXPECT_EQ(r.transactions, 3u);

  // Postfix's side: one TLS session that carried three transactions
  // (BDAT, as it offers CHUNKING), each message delivered (discarded) once
  // with its Received: header naming the TLS session.
  wait_for_lines(3, {"postfix/discard[", "@dest.test>", "status=sent"});
  std::string log = wait_for_lines(1, {"disconnect from unknown[127.0.0.1]"});
  EXPECT_EQ(count_lines(log, {"]: connect from unknown[127.0.0.1]"}), 1u);
  EXPECT_EQ(
      count_lines(log, {"Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1."}),
      1u);
  EXPECT_EQ(
      count_lines(
          log,
          {"disconnect from unknown[127.0.0.1] ehlo=2 starttls=1 mail=3 rcpt=3 bdat=3 quit=1 "}),
      1u);
  EXPECT_EQ(count_lines(log, {"improper command pipelining"}), 0u);
  for (int i = 0; i < 3; ++i) {
    std::string to = "to=<m" + std::to_string(i) + "@dest.test>";
    EXPECT_EQ(count_lines(log, {to, "status=sent"}), 1u) << to;
    EXPECT_EQ(count_lines(log, {"info: header Subject: vestnik-postfix " + std::to_string(i), to,
                                "subject seen"}),
              1u)
        << to;
    EXPECT_EQ(count_lines(log, {"info: header Received: ", to, "received over tls"}), 1u) << to;
  }
}

TEST_F(PostfixTest, RequiredTlsVerifiesTheCertificateAndItsName) {
  Conversation good =
      talk(target("localhost"), options(core::TlsMode::kRequire),
           {{"s@client.test", {"verified@dest.test"}, message("verified", "x\r\n")}});
  ASSERT_TRUE(good.opened) << good.failure.reply.text;
  EXPECT_TRUE(good.info.tls_version == "TLSv1.3" || good.info.tls_version == "TLSv1.2")
      << good.info.tls_version;
  ASSERT_EQ(good.results.size(), 1u);
  EXPECT_EQ(good.results[0].recipients[0].reply.code, 250)
      << good.results[0].recipients[0].reply.text;

  // The certificate is for localhost and 127.0.0.1, not for this MX name.
  Conversation bad =
      talk(target("mx.dest.test"), options(core::TlsMode::kRequire),
           {{"s@client.test", {"unverified@dest.test"}, message("unverified", "x\r\n")}});
  EXPECT_FALSE(bad.opened);
  EXPECT_TRUE(bad.failure.tls_failed);
  EXPECT_FALSE(bad.failure.refused);
  EXPECT_EQ(bad.failure.reply.code, 0);
  EXPECT_EQ(bad.failure.reply.enhanced, "4.7.5");

  wait_for_lines(1, {"to=<verified@dest.test>", "status=sent"});
  std::string log = wait_for_lines(2, {"disconnect from unknown[127.0.0.1]"});
  EXPECT_EQ(count_lines(log, {"TLS connection established from unknown[127.0.0.1]"}), 1u);
  // The client broke off the handshake: nothing was sent in plain text
  // after it (kRequire never falls back).
  EXPECT_EQ(count_lines(log, {"SSL_accept error from unknown[127.0.0.1]"}), 1u);
  EXPECT_EQ(count_lines(log, {"lost connection after STARTTLS from unknown[127.0.0.1]"}), 1u);
  EXPECT_EQ(count_lines(log, {"unverified@dest.test"}), 0u);
}

TEST_F(PostfixTest, PermanentRecipientRefusalComesBackPerRecipient) {
  Conversation r = talk(target("localhost"), options(core::TlsMode::kOpportunistic),
                        {{"s@client.test",
                          {"nobody@dest.test", "ok@dest.test", "someone@elsewhere.test"},
                          message("mixed", "x\r\n")}});
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  ASSERT_EQ(r.results.size(), 1u);
  const auto& rs = r.results[0].recipients;
  ASSERT_EQ(rs.size(), 3u);
  // access(5) REJECT answers with access_map_reject_code (554) and keeps
  // the enhanced code given in the map.
  EXPECT_EQ(rs[0].reply.code, 554);
  EXPECT_EQ(rs[0].reply.enhanced, "5.1.1");
  EXPECT_NE(rs[0].reply.text.find("Recipient address rejected: no such user"), std::string::npos)
      << rs[0].reply.text;
  EXPECT_EQ(rs[0].stage, Stage::kRcpt);
  EXPECT_EQ(rs[1].reply.code, 250) << rs[1].reply.text;
  EXPECT_EQ(rs[1].stage, Stage::kDataEnd);
  // Not a relay for other domains, even for a client in mynetworks.
  EXPECT_EQ(rs[2].reply.code, 554);
  EXPECT_EQ(rs[2].reply.enhanced, "5.7.1");
  EXPECT_NE(rs[2].reply.text.find("Relay access denied"), std::string::npos) << rs[2].reply.text;
  EXPECT_EQ(rs[2].stage, Stage::kRcpt);
  EXPECT_FALSE(r.results[0].connection_lost);

  std::string log = wait_for_lines(1, {"to=<ok@dest.test>", "status=sent"});
  EXPECT_EQ(
      count_lines(log, {"reject: RCPT from unknown[127.0.0.1]: 554 5.1.1 <nobody@dest.test>"}), 1u);
  EXPECT_EQ(count_lines(log, {"to=<nobody@dest.test>", "status="}), 0u);
  EXPECT_EQ(count_lines(log, {"nrcpt=1 (queue active)"}), 1u);
}

TEST_F(PostfixTest, MessageOverTheAnnouncedSizeIsRefusedLocally) {
  std::string body;
  for (int i = 0; i < 1200; ++i) body += std::string(98, 'a' + i % 26) + "\r\n";  // 120 000 octets
  Conversation r = talk(target("localhost"), options(core::TlsMode::kOpportunistic),
                        {{"big@client.test", {"big@dest.test"}, message("big", body)},
                         {"s@client.test", {"after@dest.test"}, message("after", "x\r\n")}});
  ASSERT_TRUE(r.opened) << r.failure.reply.text;
  ASSERT_EQ(r.results.size(), 2u);
  const auto& big = r.results[0].recipients[0];
  EXPECT_EQ(big.reply.code, 552);
  EXPECT_EQ(big.reply.enhanced, "5.3.4");
  EXPECT_NE(big.reply.text.find("100000 octet limit"), std::string::npos) << big.reply.text;
  EXPECT_EQ(big.stage, Stage::kMail);
  EXPECT_FALSE(r.results[0].connection_lost);
  EXPECT_EQ(r.results[1].recipients[0].reply.code, 250) << r.results[1].recipients[0].reply.text;

  // Postfix never saw the big message: one MAIL in the whole session.
  std::string log = wait_for_lines(1, {"disconnect from unknown[127.0.0.1]"});
  EXPECT_EQ(
      count_lines(
          log,
          {"disconnect from unknown[127.0.0.1] ehlo=2 starttls=1 mail=1 rcpt=1 bdat=1 quit=1 "}),
      1u);
  EXPECT_EQ(count_lines(log, {"big@"}), 0u);
  wait_for_lines(1, {"to=<after@dest.test>", "status=sent"});
}

}  // namespace
}  // namespace mta
