// tests/integration/smtp_delivery_test.cpp: the whole daemon delivering
// email over SMTP to a scripted aiosmtpd server on loopback (a static route
// sends every domain there): delivered, refused (550), retried four times
// then failed with the last reply, deferred then delivered; the envelope
// sender is the VERP return path and the message carries the trace header.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "../mta/peers.h"
#include "server_process.h"

namespace {

using testing_support::Peer;
using testing_support::ServerProcess;
using testing_support::TempDir;
using testing_support::wait_until;
namespace json = boost::json;

std::string message_json(const std::string& to) {
  return R"({"channels":["email"],"to":{"email":")" + to +
         R"(","name":"Іван Петренко"},"from":{"email":"school@mail.example.com","name":"Школа"},)"
         R"("subject":"Ваше замовлення №1842 оплачено","text":"Дякуємо!\n.\nРядок з крапкою")"
         "}";
}

class SmtpDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    json::object script{
        {"record", dir_.path() + "/record.jsonl"},
        {"rules", json::array{
                      json::object{{"rcpt", "^always-defer@"}, {"reply", "451 4.7.1 greylisted, try again later"}},
                      json::object{{"rcpt", "^defer-twice@"}, {"reply", "450 4.2.1 mailbox busy"}, {"times", 2}},
                      json::object{{"rcpt", "^no-such-user@"}, {"reply", "550 5.1.1 no such user here"}}}}};
    std::string script_path = dir_.path() + "/script.json";
    std::ofstream(script_path) << json::serialize(script);
    std::string port, err;
    ASSERT_TRUE(testing_support::start_script_server(peer_, script_path, &port, &err))
        << err;
    std::string toml = testing_support::test_tenants_toml() + R"(
[retry]
schedule = ["1s", "1s", "1s", "1s"]
jitter = 0.0

[engine]
poll_interval = "50ms"

[dns]
servers = ["127.0.0.1:9"]

[smtp]
ehlo_name = "vestnik.test"
return_path = "bounce-{token}@bounces.example.com"
idle_timeout = "1s"

[[smtp.routes]]
domain = "*"
host = "127.0.0.1"
port = )" + port + "\n";
    server_ = std::make_unique<ServerProcess>(dir_.path(), toml);
    ASSERT_TRUE(server_->start(&err)) << err;
  }

  std::string post(const std::string& to) {
    auto r = server_->request("POST", "/v1/messages", message_json(to));
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->status, 202u) << r->body;
    return std::string(json::parse(r->body).at("id").as_string());
  }

  std::vector<json::object> recorded() {
    std::vector<json::object> out;
    std::ifstream in(dir_.path() + "/record.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
  }

  TempDir dir_;
  Peer peer_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SmtpDeliveryTest, DeliveredWithVerpReturnPathAndTraceHeader) {
  std::string id = post("ivan@example.com");
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "delivered"; }))
      << json::serialize(full) << server_->log_text();
  EXPECT_EQ(full.at("attempts").to_number<int64_t>(), 1);
  auto rec = recorded();
  ASSERT_EQ(rec.size(), 1u);
  std::string from(rec[0].at("mail_from").as_string());
  EXPECT_EQ(from.rfind("bounce-", 0), 0u) << from;
  EXPECT_TRUE(from.ends_with("@bounces.example.com")) << from;
  EXPECT_EQ(rec[0].at("rcpt_tos").as_array().at(0).as_string(), "ivan@example.com");
  std::string data(rec[0].at("data").as_string());
  EXPECT_NE(data.find("X-Vestnik-Id: " + id), std::string::npos) << data;
  EXPECT_NE(data.find("Subject: =?"), std::string::npos);
  EXPECT_EQ(data.find("\n.\r\n"), std::string::npos);  // dot-stuffing undone by the server
}

TEST_F(SmtpDeliveryTest, RefusedRecipientFailsAtOnceWithTheReply) {
  std::string id = post("no-such-user@example.com");
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "failed"; }))
      << json::serialize(full);
  EXPECT_EQ(full.at("attempts").to_number<int64_t>(), 1);
  const auto& bounce = full.at("bounce").as_object();
  EXPECT_EQ(bounce.at("code").as_string(), "550");
  EXPECT_NE(json::serialize(bounce).find("5.1.1"), std::string::npos) << json::serialize(bounce);
  EXPECT_NE(json::serialize(bounce).find("no such user here"), std::string::npos);
}

TEST_F(SmtpDeliveryTest, DeferredFourRetriesThenFailedWithTheLastReply) {
  std::string id = post("always-defer@example.com");
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "failed"; }, std::chrono::seconds(90)))
      << json::serialize(full);
  EXPECT_EQ(full.at("attempts").to_number<int64_t>(), 5);  // the first attempt and 4 retries
  const auto& bounce = full.at("bounce").as_object();
  EXPECT_EQ(bounce.at("code").as_string(), "451");
  EXPECT_NE(json::serialize(bounce).find("greylisted"), std::string::npos);
  EXPECT_TRUE(recorded().empty());
}

TEST_F(SmtpDeliveryTest, DeferredTwiceThenDelivered) {
  std::string id = post("defer-twice@example.com");
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "delivered"; }, std::chrono::seconds(60)))
      << json::serialize(full);
  EXPECT_EQ(full.at("attempts").to_number<int64_t>(), 3);
  ASSERT_EQ(recorded().size(), 1u);
}

}  // namespace
