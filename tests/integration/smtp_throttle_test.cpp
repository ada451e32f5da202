// tests/integration/smtp_throttle_test.cpp: throttles in the running
// daemon, against a scripted aiosmtpd server on loopback: a Yahoo-style
// "421 4.7.0 [TSS04]" reply suspends the destination by the built-in
// backoff rule (visible in GET /v1/throttles with its reason, and in the
// log), mail for it waits; an operator's pause holds a destination until
// resumed; SIGHUP reloads the throttle rules from the file.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "../mta/peers.h"
#include "server_process.h"

namespace {

using testing_support::Peer;
using testing_support::ServerProcess;
using testing_support::TempDir;
using testing_support::wait_until;
namespace json = boost::json;

class SmtpThrottleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    json::object script{
        {"record", dir_.path() + "/record.jsonl"},
        {"rules", json::array{json::object{
                      {"rcpt", "^tss@"},
                      {"reply", "421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred"}}}}};
    const std::string script_path = dir_.path() + "/script.json";
    std::ofstream(script_path) << json::serialize(script);
    std::string err;
    ASSERT_TRUE(testing_support::start_script_server(peer_, script_path, &port_, &err))
        << err;
    server_ = std::make_unique<ServerProcess>(dir_.path(), toml(""));
    ASSERT_TRUE(server_->start(&err)) << err;
  }

  std::string toml(const std::string& extra) const {
    return testing_support::test_tenants_toml() + R"(
[retry]
schedule = ["1s", "1s", "1s", "1s"]
jitter = 0.0

[engine]
poll_interval = "50ms"

[dns]
servers = ["127.0.0.1:9"]

[smtp]
idle_timeout = "1s"

[[smtp.routes]]
domain = "*"
host = "127.0.0.1"
port = )" + port_ + "\n" + extra;
  }

  std::string post(const std::string& to) {
    auto r = server_->request("POST", "/v1/messages",
                              R"({"channels":["email"],"to":{"email":")" + to +
                                  R"("},"from":{"email":"school@market.test"},"subject":"Hi","text":"Hello"})");
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->status, 202u) << r->body;
    return std::string(json::parse(r->body).at("id").as_string());
  }

  json::object throttles() {
    auto r = server_->request("GET", "/v1/throttles", {}, ServerProcess::kAdminKey);
    EXPECT_TRUE(r.has_value());
    if (!r || r->status != 200) return {};
    return json::parse(r->body).as_object();
  }

  const json::object* group(const json::object& t, const std::string& key) {
    for (const auto& g : t.at("groups").as_array())
      if (g.as_object().at("key").as_string() == key) return &g.as_object();
    return nullptr;
  }

  size_t recorded() {
    std::ifstream in(dir_.path() + "/record.jsonl");
    size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }

  TempDir dir_;
  Peer peer_;
  std::string port_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SmtpThrottleTest, ProviderThrottlingReplySuspendsTheDestination) {
  const std::string first = post("tss@yahoo.test");
  json::object full;
  ASSERT_TRUE(wait_until([&] {
    return server_->status_of(first, &full) == "sending" && full.at("attempts").to_number<int64_t>() >= 1;
  })) << json::serialize(full) << server_->log_text();

  json::object t;
  const json::object* g = nullptr;
  ASSERT_TRUE(wait_until([&] {
    t = throttles();
    g = t.empty() ? nullptr : group(t, "default:email:yahoo.test");
    return g != nullptr && !g->at("backoff").is_null();
  })) << json::serialize(t);
  EXPECT_TRUE(g->at("suspended").as_bool());
  const json::object& b = g->at("backoff").as_object();
  EXPECT_EQ(b.at("rule").as_string(), "yahoo-tss04");
  EXPECT_EQ(b.at("action").as_string(), "suspend");
  EXPECT_NE(std::string(b.at("reply").as_string()).find("[TSS04]"), std::string::npos);
  EXPECT_NE(server_->log_text().find("\"msg\":\"throttle backoff\""), std::string::npos);

  // Mail for the suspended destination waits, though the peer would take it.
  const std::string second = post("anna@yahoo.test");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_NE(server_->status_of(second), "delivered");
  EXPECT_EQ(recorded(), 0u);
  // Other destinations are not held back.
  const std::string other = post("olga@elsewhere.test");
  EXPECT_TRUE(wait_until([&] { return server_->status_of(other) == "delivered"; }));
}

TEST_F(SmtpThrottleTest, PausedDestinationWaitsUntilResumed) {
  auto r = server_->request("POST", "/v1/destinations/email:school.test:pause",
                            R"({"reason":"maintenance window"})", ServerProcess::kAdminKey);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->status, 200u) << r->body;
  const std::string id = post("ivan@school.test");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  json::object full;
  EXPECT_EQ(server_->status_of(id, &full), "queued") << json::serialize(full);
  EXPECT_EQ(recorded(), 0u);

  r = server_->request("POST", "/v1/destinations/email:school.test:resume", {}, ServerProcess::kAdminKey);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->status, 200u) << r->body;
  EXPECT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "delivered"; }))
      << json::serialize(full) << server_->log_text();
  EXPECT_EQ(recorded(), 1u);
}

TEST_F(SmtpThrottleTest, SighupReloadsThrottleRulesFromTheFile) {
  std::ofstream(server_->config_path(), std::ios::app) << R"(
[[throttle.rules]]
name = "school"
domains = ["school.test"]
connections = 1
rate = "5/min"
)";
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  json::object t;
  ASSERT_TRUE(wait_until([&] {
    t = throttles();
    if (t.empty()) return false;
    for (const auto& rule : t.at("rules").as_object().at("rules").as_array())
      if (rule.as_object().at("name").as_string() == "school") return true;
    return false;
  })) << json::serialize(t) << server_->log_text();
  EXPECT_NE(server_->log_text().find("SIGHUP: throttle rules reloaded"), std::string::npos);

  // A broken file changes nothing.
  std::ofstream(server_->config_path(), std::ios::app) << "\n[throttle.default]\nrate = \"fast\"\n";
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] {
    return server_->log_text().find("SIGHUP: configuration refused") != std::string::npos;
  }));
  EXPECT_TRUE(server_->running());
  const std::string id = post("ivan@school.test");
  EXPECT_TRUE(wait_until([&] { return server_->status_of(id) == "delivered"; }));
}

TEST_F(SmtpThrottleTest, EgressSourcesTakeTurnsEachWithItsOwnEhloName) {
  server_->stop();
  std::filesystem::create_directories(dir_.path() + "/egress");
  server_ = std::make_unique<ServerProcess>(dir_.path() + "/egress", toml(R"(
[[smtp.sources]]
address = "127.0.0.2"
ehlo_name = "out1.vestnik.test"

[[smtp.sources]]
address = "127.0.0.3"
ehlo_name = "out2.vestnik.test"

[throttle.default]
messages_per_connection = 1
)"));
  std::string err;
  ASSERT_TRUE(server_->start(&err)) << err;
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(post("user" + std::to_string(i) + "@d" + std::to_string(i) + ".test"));
  for (const auto& id : ids)
    ASSERT_TRUE(wait_until([&] { return server_->status_of(id) == "delivered"; })) << server_->log_text();
  std::map<std::string, std::string> helo_of;  // peer address -> EHLO name
  std::map<std::string, int> count;
  std::ifstream in(dir_.path() + "/record.jsonl");
  for (std::string line; std::getline(in, line);) {
    const json::object r = json::parse(line).as_object();
    const std::string peer(r.at("peer").as_string());
    helo_of[peer] = std::string(r.at("helo").as_string());
    ++count[peer];
  }
  EXPECT_EQ(helo_of, (std::map<std::string, std::string>{{"127.0.0.2", "out1.vestnik.test"},
                                                         {"127.0.0.3", "out2.vestnik.test"}}));
  EXPECT_EQ(count["127.0.0.2"], 2);
  EXPECT_EQ(count["127.0.0.3"], 2);
}

}  // namespace
