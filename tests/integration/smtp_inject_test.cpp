// tests/integration/smtp_inject_test.cpp: the whole daemon as an MTA, with
// real peers on loopback only:
//   swaks --(SMTP)--> vestnik's listener --(spool)--> MX lookup at a local
//   DNS server (dns_server.py) --(SMTP)--> a scripted aiosmtpd server,
// plus the accounting log each attempt leaves. MX hosts resolve to
// 127.0.0.1 and smtp.port points at the scripted server, so "the Internet"
// is this machine.
#include <gtest/gtest.h>


#include <boost/json.hpp>
#include <fstream>
#include <regex>

#include "../mta/dns_support.h"
#include "../mta/peers.h"
#include "server_process.h"

namespace {

using testing_support::DnsServer;
using testing_support::Peer;
using testing_support::ServerProcess;
using testing_support::TempDir;
using testing_support::run_bounded;
using testing_support::wait_until;
namespace json = boost::json;

// xn--80atdl2c is "школа" in punycode (IDNA 2008).
constexpr const char* kZone =
    "school.test. 300 IN MX 10 mx1.school.test.\n"
    "mx1.school.test. 300 IN A 127.0.0.1\n"
    "xn--80atdl2c.test. 300 IN MX 10 mx.xn--80atdl2c.test.\n"
    "mx.xn--80atdl2c.test. 300 IN A 127.0.0.1\n"
    "implicit.test. 300 IN A 127.0.0.1\n"
    "nullmx.test. 300 IN MX 0 .\n"
    "!servfail broken.test\n";

class SmtpInjectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(dns_.start(kZone, &err)) << err;
    json::object script{
        {"record", dir_.path() + "/record.jsonl"},
        {"rules", json::array{json::object{{"rcpt", "^no-such-user@"},
                                           {"reply", "550 5.1.1 no such user here"}}}}};
    const std::string script_path = dir_.path() + "/script.json";
    std::ofstream(script_path) << json::serialize(script);
    std::string port;
    ASSERT_TRUE(testing_support::start_script_server(mx_, script_path, &port, &err))
        << err;
    listener_port_ = testing_support::pick_port();
    std::string toml = testing_support::test_tenants_toml() + R"(
[engine]
poll_interval = "50ms"

[dns]
servers = ["127.0.0.1:)" + std::to_string(dns_.port()) + R"("]

[smtp]
ehlo_name = "vestnik.test"
port = )" + port + R"(
return_path = "bounce-{token}@bounces.example.com"
idle_timeout = "1s"

[listener]
enabled = true
listen = "127.0.0.1:)" + std::to_string(listener_port_) + R"("
hostname = "relay.vestnik.test"
networks = ["127.0.0.1/32"]
network_tenant = "market"
)";
    server_ = std::make_unique<ServerProcess>(dir_.path(), toml);
    ASSERT_TRUE(server_->start(&err)) << err;
    ASSERT_TRUE(testing_support::wait_for_port(listener_port_, std::chrono::seconds(10)))
        << server_->log_text();
  }

  // swaks into the listener; returns its transcript.
  std::string swaks(const std::string& to, std::vector<std::string> extra, int* status) {
    std::vector<std::string> argv = {"swaks", "--server", "127.0.0.1:" + std::to_string(listener_port_),
                                     "--helo", "app1.market.test", "--from", "shop@market.test",
                                     "--to", to, "--header", "Subject: Order 1842 paid",
                                     "--header", "X-Vestnik-Category: notifications",
                                     "--body", "Thank you!\n.\nA line with a dot."};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_bounded(argv, status);
  }

  // The message id of "250 2.0.0 Ok: queued as <id>" in a transcript.
  static std::string queued_id(const std::string& transcript) {
    std::smatch m;
    static const std::regex re("250 2\\.0\\.0 Ok: queued as ([0-9A-Za-z]+)");
    return std::regex_search(transcript, m, re) ? m[1].str() : std::string();
  }

  std::vector<json::object> recorded() {
    std::vector<json::object> out;
    std::ifstream in(dir_.path() + "/record.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
  }

  // Accounting lines (the daemon's default file in its spool) of one message.
  std::vector<json::object> accounting(const std::string& id) {
    std::vector<json::object> out;
    std::ifstream in(server_->dir() + "/spool/accounting.jsonl");
    for (std::string line; std::getline(in, line);) {
      json::object o = json::parse(line).as_object();
      if (o.at("id").as_string() == id) out.push_back(std::move(o));
    }
    return out;
  }

  std::string post(const std::string& to) {
    auto r = server_->request(
        "POST", "/v1/messages",
        R"({"channels":["email"],"to":{"email":")" + to +
            R"("},"from":{"email":"school@market.test"},"subject":"Hi","text":"Hello"})");
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->status, 202u) << r->body;
    return std::string(json::parse(r->body).at("id").as_string());
  }

  TempDir dir_;
  DnsServer dns_;
  Peer mx_;
  uint16_t listener_port_ = 0;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SmtpInjectTest, InjectedMailIsDeliveredAsIsThroughTheMx) {
  int status = 0;
  const std::string out = swaks("anna@school.test", {}, &status);
  ASSERT_EQ(status, 0) << out;
  const std::string id = queued_id(out);
  ASSERT_FALSE(id.empty()) << out;
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "delivered"; }))
      << json::serialize(full) << server_->log_text();
  // Readable with the "market" key: the network's tenant owns it.

  auto rec = recorded();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].at("rcpt_tos").as_array().at(0).as_string(), "anna@school.test");
  const std::string mail_from(rec[0].at("mail_from").as_string());
  EXPECT_EQ(mail_from.rfind("bounce-", 0), 0u) << mail_from;
  const std::string data(rec[0].at("data").as_string());
  // One trace header from our listener, first; the control header gone;
  // the body byte for byte (dot-stuffing undone twice).
  EXPECT_EQ(data.rfind("Received: from app1.market.test ([127.0.0.1])", 0), 0u) << data;
  EXPECT_NE(data.find("by relay.vestnik.test (vestnik) with ESMTP;"), std::string::npos) << data;
  EXPECT_EQ(data.find("Received:", 1), std::string::npos) << data;
  EXPECT_EQ(data.find("X-Vestnik-Category"), std::string::npos) << data;
  EXPECT_NE(data.find("Subject: Order 1842 paid"), std::string::npos) << data;
  EXPECT_NE(data.find("Thank you!\r\n.\r\nA line with a dot."), std::string::npos) << data;

  // The accounting log says where it went.
  std::vector<json::object> lines;
  ASSERT_TRUE(wait_until([&] { return !(lines = accounting(id)).empty(); }, std::chrono::seconds(10)));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("result").as_string(), "delivered");
  EXPECT_EQ(lines[0].at("mx").as_string(), "mx1.school.test");
  EXPECT_EQ(lines[0].at("mx_ip").as_string(), "127.0.0.1");
  EXPECT_EQ(lines[0].at("recipient_domain").as_string(), "school.test");
  EXPECT_EQ(lines[0].at("code").to_number<int64_t>(), 250);
}

TEST_F(SmtpInjectTest, EachRecipientOfOneTransactionGetsItsOwnOutcome) {
  int status = 0;
  const std::string out = swaks("anna@school.test,no-such-user@school.test", {}, &status);
  ASSERT_EQ(status, 0) << out;
  const std::string first = queued_id(out);
  ASSERT_FALSE(first.empty()) << out;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(first) == "delivered"; }))
      << server_->log_text();
  // The refused recipient: find its message through the accounting log.
  std::string failed_line;
  ASSERT_TRUE(wait_until(
      [&] {
        std::ifstream in(server_->dir() + "/spool/accounting.jsonl");
        for (std::string line; std::getline(in, line);)
          if (line.find("\"result\":\"failed\"") != std::string::npos) failed_line = line;
        return !failed_line.empty();
      },
      std::chrono::seconds(20)));
  const json::object f = json::parse(failed_line).as_object();
  EXPECT_EQ(f.at("code").to_number<int64_t>(), 550);
  EXPECT_EQ(f.at("enhanced").as_string(), "5.1.1");
  EXPECT_EQ(f.at("bounce_class").as_string(), "bad-mailbox");
  json::object full;
  EXPECT_EQ(server_->status_of(std::string(f.at("id").as_string()), &full), "failed");
  EXPECT_NE(json::serialize(full).find("no such user here"), std::string::npos);
  ASSERT_EQ(recorded().size(), 1u);  // only the accepted recipient's copy arrived
}

TEST_F(SmtpInjectTest, ClientOutsideTheNetworksIsRefusedAndNothingIsStored) {
  int status = 0;
  const std::string out =
      swaks("anna@school.test", {"--local-interface", "127.0.0.3"}, &status);
  EXPECT_NE(status, 0) << out;
  // The return path's domain makes the listener receive bounces ([inbound]),
  // so a stranger may start a transaction but relays nowhere.
  EXPECT_NE(out.find("550 5.7.1 Relaying denied"), std::string::npos) << out;
  auto r = server_->request("GET", "/v1/queues", {}, ServerProcess::kAdminKey);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body.find("\"queued\":1"), std::string::npos) << r->body;
  EXPECT_TRUE(recorded().empty());
}

TEST_F(SmtpInjectTest, MxOutcomesOfTheResolverReachTheMessage) {
  // IDN: looked up and addressed as A-labels (the local part is ASCII).
  const std::string idn = post("ivan@школа.test");
  // No MX: the domain's own address.
  const std::string implicit = post("olga@implicit.test");
  const std::string nullmx = post("x@nullmx.test");
  const std::string nxdomain = post("x@no-such-domain.test");
  const std::string broken = post("x@broken.test");
  json::object full;
  EXPECT_TRUE(wait_until([&] { return server_->status_of(idn, &full) == "delivered"; }))
      << json::serialize(full) << server_->log_text();
  EXPECT_TRUE(wait_until([&] { return server_->status_of(implicit, &full) == "delivered"; }))
      << json::serialize(full);
  ASSERT_TRUE(wait_until([&] { return server_->status_of(nullmx, &full) == "failed"; }))
      << json::serialize(full);
  EXPECT_EQ(full.at("attempts").to_number<int64_t>(), 1);
  EXPECT_NE(json::serialize(full.at("bounce")).find("5.1.10"), std::string::npos) << json::serialize(full);
  EXPECT_NE(json::serialize(full.at("bounce")).find("bad-domain"), std::string::npos) << json::serialize(full);
  ASSERT_TRUE(wait_until([&] { return server_->status_of(nxdomain, &full) == "failed"; }))
      << json::serialize(full);
  EXPECT_NE(json::serialize(full.at("bounce")).find("5.1.2"), std::string::npos) << json::serialize(full);
  EXPECT_NE(json::serialize(full.at("bounce")).find("bad-domain"), std::string::npos) << json::serialize(full);
  // SERVFAIL is temporary: deferred (sending, waiting for a retry), never failed.
  ASSERT_TRUE(wait_until([&] {
    return server_->status_of(broken, &full) == "sending" &&
           full.at("attempts").to_number<int64_t>() >= 1;
  })) << json::serialize(full);
  EXPECT_NE(json::serialize(full).find("4.4.3"), std::string::npos) << json::serialize(full);
  std::vector<json::object> lines;
  ASSERT_TRUE(wait_until([&] { return !(lines = accounting(broken)).empty(); }, std::chrono::seconds(10)));
  EXPECT_EQ(lines[0].at("result").as_string(), "deferred");
  EXPECT_EQ(lines[0].at("enhanced").as_string(), "4.4.3");
  EXPECT_EQ(lines[0].at("bounce_class").as_string(), "transient");
  EXPECT_TRUE(lines[0].at("retry_at").is_string()) << json::serialize(lines[0]);
  EXPECT_TRUE(lines[0].at("mx").is_null()) << "no peer was reached";
  int delivered_to_idn = 0;
  for (const auto& r : recorded())
    for (const auto& t : r.at("rcpt_tos").as_array())
      if (t.as_string() == "ivan@xn--80atdl2c.test") ++delivered_to_idn;
  EXPECT_EQ(delivered_to_idn, 1);
}

}  // namespace
