// tests/integration/messenger_test.cpp: the whole daemon delivering over
// Telegram, Viber, VK, WhatsApp and Twilio SMS to the fake providers
// (tests/fakes/fake_providers.py) over TLS with a test CA on loopback, with
// email on the sink for channel fallback. The fake keeps each API's own
// conventions and records what it got; the tests read its stats.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "../mta/peers.h"
#include "server_process.h"

namespace {

using testing_support::Peer;
using testing_support::ServerProcess;
using testing_support::TempDir;
using testing_support::wait_until;
namespace json = boost::json;

const std::string kSource = VESTNIK_SOURCE_DIR;
const std::string kFakes = kSource + "/tests/fakes";
constexpr const char* kBotToken = "123456:AAtestbottoken";
constexpr const char* kViberToken = "viber-test-token";
constexpr const char* kVkToken = "vk1.a.test-community-token";
constexpr const char* kWaToken = "EAAGtestsystemusertoken";
constexpr const char* kWaPhoneId = "106540352242922";
constexpr const char* kTwilioSid = "AC00000000000000000000000000000001";
constexpr const char* kTwilioToken = "twilio-test-auth-token";
constexpr const char* kWaAppSecret = "whatsapp-test-app-secret";

class MessengerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Recipients script their own fate; everyone else gets "ok".
    json::object script{
        {"telegram",
         json::object{{"tokens", json::array{kBotToken}},
                      {"recipients", json::object{{"4001", json::array{"rate_limit:1", "ok"}},
                                                  {"4002", "blocked"},
                                                  {"4003", json::array{"bad_gateway", "ok"}},
                                                  {"-1001234567890", "migrate:-1009876543210"}}}}},
        {"viber", json::object{{"tokens", json::array{kViberToken}},
                               {"recipients", json::object{{"unsub==", "blocked"}}}}},
        {"vk", json::object{{"tokens", json::array{kVkToken}},
                            {"recipients", json::object{{"5002", json::array{"rate_limit", "ok"}}}}}},
        {"whatsapp", json::object{{"tokens", json::array{kWaToken}},
                                  {"phone_number_ids", json::array{kWaPhoneId}},
                                  {"templates", json::object{{"order_update", 1}}},
                                  {"recipients", json::object{{"380671110002", json::array{"outside_window", "ok"}}}}}},
        {"twilio", json::object{{"accounts", json::object{{kTwilioSid, kTwilioToken}}},
                                {"recipients", json::object{{"+15550021610", "blocked"}}}}}};
    std::ofstream(dir_.path() + "/script.json") << json::serialize(script);
    stats_ = dir_.path() + "/stats.json";
    std::string port, err;
    ASSERT_TRUE(fake_.start({"/usr/bin/python3", kFakes + "/fake_providers.py", "--port", "0",
                             "--tls", kFakes + "/data/server_cert.pem",
                             kFakes + "/data/server_key.pem", "--script",
                             dir_.path() + "/script.json", "--stats", stats_,
                             "--whatsapp-app-secret", kWaAppSecret},
                            "READY ", std::chrono::seconds(20), &port, &err))
        << err;
    const std::string base = "https://127.0.0.1:" + port;
    std::string toml = testing_support::test_tenants_toml() +
                       testing_support::fast_sink_toml(R"(["email"])") + R"(
[http]
ca_file = ")" + kFakes + R"(/data/ca.pem"
request_timeout = "5s"

[telegram]
base_url = ")" + base + R"("
per_chat_interval = "1s"
[[telegram.bots]]
name = "school"
token = ")" + kBotToken + R"("
webhook_secret = "tg-webhook-secret"

# The bot's bulk limit, lowered so a test can see it hold (the built-in
# rule "telegram-bot" gives 30/s): 5/s with a burst of 2.
[[throttle.rules]]
name = "school-bot"
channels = ["telegram"]
domains = ["school"]
rate = "5/s"
burst = 2

[viber]
base_url = ")" + base + R"("
[[viber.accounts]]
name = "school"
token = ")" + kViberToken + R"("
sender_name = "Online school"

[vk]
base_url = ")" + base + R"("
[[vk.communities]]
name = "school"
token = ")" + kVkToken + R"("

[whatsapp]
base_url = ")" + base + R"("
app_secret = ")" + kWaAppSecret + R"("
[[whatsapp.numbers]]
name = "main"
token = ")" + kWaToken + R"("
phone_number_id = ")" + kWaPhoneId + R"("
template_name = "order_update"
template_language = "uk"
template_params = ["order.id"]

[sms]
base_url = ")" + base + R"("
status_callback_base = "https://vestnik.example.com/v1/callbacks/sms/"
[[sms.twilio]]
name = "us"
account_sid = ")" + kTwilioSid + R"("
token = ")" + kTwilioToken + R"("
from = "+15550001111"
)";
    server_ = std::make_unique<ServerProcess>(dir_.path(), toml);
    ASSERT_TRUE(server_->start(&err)) << err;
    fake_port_ = port;
    script_ = script;
  }

  // Replaces the fake's script (POST /_fake/script over TLS, by a bounded
  // python3 client that trusts the test CA).
  void set_script(const json::object& script) { fake_control("script", script); }

  // POST /_fake/<op> with `spec` (script, callback, reset).
  void fake_control(const std::string& op, const json::object& script) {
    const std::string path = dir_.path() + "/script2.json";
    std::ofstream(path) << json::serialize(script);
    const std::string code =
        "import ssl,sys,urllib.request\n"
        "ctx=ssl.create_default_context(cafile=sys.argv[1])\n"
        "body=open(sys.argv[3],'rb').read()\n"
        "r=urllib.request.urlopen(urllib.request.Request(sys.argv[2],data=body,method='POST',"
        "headers={'Content-Type':'application/json'}),context=ctx,timeout=10)\n"
        "sys.exit(0 if r.status==200 else 1)\n";
    int status = -1;
    const std::string out = testing_support::run_bounded(
        {"/usr/bin/python3", "-c", code, kFakes + "/data/ca.pem",
         "https://127.0.0.1:" + fake_port_ + "/_fake/" + op, path},
        &status, 20);
    ASSERT_EQ(status, 0) << out;
  }

  void TearDown() override {
    if (server_) server_->stop();
    fake_.stop();
  }

  // POST /v1/messages; returns the id.
  std::string send(const std::string& channels, const std::string& to,
                   const std::string& extra = "") {
    const std::string body = R"({"channels": )" + channels + R"(, "to": )" + to +
                             R"(, "from": {"email": "school@example.com"}, "subject": "Order",)"
                             R"( "text": "Your order {{ order.id }} is <b>paid</b>",)"
                             R"( "variables": {"order": {"id": 1842}})" + extra + "}";
    auto r = server_->request("POST", "/v1/messages", body);
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->status, 202) << r->body;
    return std::string(json::parse(r->body).as_object().at("id").as_string());
  }

  bool reaches(const std::string& id, const std::string& status, json::object* full = nullptr) {
    return wait_until([&] { return server_->status_of(id, full) == status; },
                      std::chrono::seconds(40));
  }

  json::object stats() {
    std::string text;
    for (int i = 0; i < 50 && text.empty(); ++i) {
      std::ifstream in(stats_);
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
      if (text.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    return ec || !v.is_object() ? json::object{} : v.as_object();
  }

  // The recorded requests of `provider` to `recipient`, oldest first,
  // once there are `expected` of them (the fake writes its stats file at
  // most every 100 ms), or whatever there is after 5 s.
  std::vector<json::object> requests(const std::string& provider, const std::string& recipient,
                                     size_t expected) {
    std::vector<json::object> out;
    wait_until([&] { return (out = requests_now(provider, recipient)).size() >= expected; },
               std::chrono::seconds(5));
    return out;
  }
  std::vector<json::object> requests_now(const std::string& provider,
                                         const std::string& recipient) {
    std::vector<json::object> out;
    const json::object s = stats();
    if (!s.contains("requests")) return out;
    for (const auto& r : s.at("requests").as_array()) {
      const json::object& o = r.as_object();
      if (o.at("provider").as_string() == provider && o.contains("recipient") &&
          o.at("recipient").is_string() && o.at("recipient").as_string() == recipient) {
        out.push_back(o);
      }
    }
    return out;
  }

  std::string events_text(const json::object& full) {
    std::string out;
    if (!full.contains("events")) return out;
    for (const auto& e : full.at("events").as_array()) out += json::serialize(e) + "\n";
    return out;
  }

  TempDir dir_;
  Peer fake_;
  std::string fake_port_;
  json::object script_;
  std::string stats_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(MessengerTest, EveryChannelDeliversThroughItsProvider) {
  const std::string tg = send(R"(["telegram"])", R"({"telegram_chat_id": "4000"})");
  const std::string vb = send(R"(["viber"])", R"({"viber_id": "01234567890A="})");
  const std::string vk = send(R"(["vk"])", R"({"vk_peer_id": "5001"})");
  const std::string wa = send(R"(["whatsapp"])", R"({"whatsapp": "+380671110001"})");
  const std::string sms = send(R"(["sms"])", R"({"phone": "+15550001234"})");
  for (const std::string& id : {tg, vb, vk, wa, sms}) {
    json::object full;
    EXPECT_TRUE(reaches(id, "delivered", &full)) << id << " " << server_->status_of(id);
  }
  // What went on the wire, as each API wants it.
  const auto t = requests("telegram", "4000", 1);
  ASSERT_EQ(t.size(), 1u);
  const json::object& tb = t[0].at("body").as_object();
  EXPECT_TRUE(tb.at("chat_id").is_int64());  // a number, not a string
  EXPECT_EQ(tb.at("parse_mode").as_string(), "HTML");
  // Inline text is text: Telegram's HTML mode gets it escaped.
  EXPECT_EQ(tb.at("text").as_string(), "Your order 1842 is &lt;b&gt;paid&lt;/b&gt;");
  const auto v = requests("viber", "01234567890A=", 1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].at("body").at("sender").at("name").as_string(), "Online school");
  const auto k = requests("vk", "5001", 1);
  ASSERT_EQ(k.size(), 1u);
  EXPECT_TRUE(k[0].at("body").as_object().contains("random_id"));
  // No message from the user yet: the approved template (outside the
  // 24 h window).
  const auto w = requests("whatsapp", "380671110001", 1);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].at("body").at("type").as_string(), "template");
  const auto s = requests("twilio", "+15550001234", 1);
  ASSERT_EQ(s.size(), 1u);
}

TEST_F(MessengerTest, TelegramRetryAfterIsHonouredAndA502IsRetried) {
  const std::string limited = send(R"(["telegram"])", R"({"telegram_chat_id": "4001"})");
  const std::string gateway = send(R"(["telegram"])", R"({"telegram_chat_id": "4003"})");
  json::object full;
  ASSERT_TRUE(reaches(limited, "delivered", &full)) << server_->status_of(limited);
  const std::string ev = events_text(full);
  EXPECT_NE(ev.find("451 4.7.0 telegram 429"), std::string::npos) << ev;
  const auto r = requests("telegram", "4001", 2);
  ASSERT_EQ(r.size(), 2u);
  // retry_after = 1 s: the second request came no earlier.
  EXPECT_GE(r[1].at("t").to_number<double>() - r[0].at("t").to_number<double>(), 0.95);
  json::object g;
  ASSERT_TRUE(reaches(gateway, "delivered", &g)) << events_text(g);
  EXPECT_NE(events_text(g).find("telegram HTTP 502"), std::string::npos) << events_text(g);
}

TEST_F(MessengerTest, ABlockedRecipientFallsBackToEmail) {
  const std::string id = send(R"(["telegram", "email"])",
                              R"({"telegram_chat_id": "4002", "email": "ivan@example.com"})");
  json::object full;
  ASSERT_TRUE(reaches(id, "delivered", &full)) << server_->status_of(id);
  EXPECT_EQ(full.at("channel").as_string(), "email");
  const std::string ev = events_text(full);
  EXPECT_NE(ev.find("telegram failed: 550 5.7.1 telegram 403"), std::string::npos) << ev;
  EXPECT_NE(ev.find("next channel email"), std::string::npos) << ev;
  // Permanent refusals everywhere and nothing to fall back to: failed.
  const std::string viber = send(R"(["viber"])", R"({"viber_id": "unsub=="})");
  const std::string sms = send(R"(["sms"])", R"({"phone": "+15550021610"})");
  json::object f;
  ASSERT_TRUE(reaches(viber, "failed", &f));
  EXPECT_EQ(f.at("bounce").at("code").as_string(), "550") << json::serialize(f);
  ASSERT_TRUE(reaches(sms, "failed", &f));
  EXPECT_NE(json::serialize(f).find("twilio error 21610"), std::string::npos);
}

TEST_F(MessengerTest, TelegramSendsAtMostOneMessagePerChatPerSecond) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(send(R"(["telegram"])", R"({"telegram_chat_id": "4100"})"));
  for (const auto& id : ids) ASSERT_TRUE(reaches(id, "delivered")) << id;
  const auto r = requests("telegram", "4100", 4);
  ASSERT_EQ(r.size(), 4u);
  for (size_t i = 1; i < r.size(); ++i) {
    // An upper bound on the rate only (a slow machine is never a failure).
    EXPECT_GE(r[i].at("t").to_number<double>() - r[i - 1].at("t").to_number<double>(), 0.95)
        << "requests " << i - 1 << " and " << i;
  }
}

TEST_F(MessengerTest, TheBotsRateLimitHoldsInEveryWindow) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(send(R"(["telegram"])",
                       R"({"telegram_chat_id": ")" + std::to_string(4200 + i) + R"("})"));
  }
  for (const auto& id : ids) ASSERT_TRUE(reaches(id, "delivered")) << id;
  ASSERT_EQ(requests("telegram", "4219", 1).size(), 1u);
  // An upper bound only: no 1-second window holds more than rate + burst.
  int status = -1;
  const std::string out = testing_support::run_bounded(
      {"/usr/bin/python3", kFakes + "/rate_check.py", stats_, "--provider", "telegram", "--key",
       kBotToken, "--limit", "5", "--window", "1", "--burst", "2"},
      &status, 30);
  EXPECT_EQ(status, 0) << out;
}

TEST_F(MessengerTest, SupergroupMigrationAndWhatsappTemplateOutsideTheWindow) {
  const std::string group = send(R"(["telegram"])", R"({"telegram_chat_id": "-1001234567890"})");
  const std::string wa = send(R"(["whatsapp"])", R"({"whatsapp": "+380671110008"})");
  ASSERT_TRUE(reaches(group, "delivered"));
  EXPECT_EQ(requests("telegram", "-1009876543210", 1).size(), 1u);
  // The user never wrote to the number: outside the 24 h window, so the
  // approved template goes at once (no free-form attempt to be refused).
  json::object wf;
  ASSERT_TRUE(reaches(wa, "delivered", &wf)) << json::serialize(wf);
  const auto w = requests("whatsapp", "380671110008", 1);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].at("body").at("type").as_string(), "template");
  const std::string params = json::serialize(w[0].at("body").at("template"));
  EXPECT_NE(params.find("1842"), std::string::npos) << params;
}

TEST_F(MessengerTest, WhatsappFreeFormInsideTheWindowAndTheTemplateWhenItClosedAfterAll) {
  // The users write to our number (inbound webhooks, signed by the fake as
  // Meta signs them); within 24 h a free-form text is allowed.
  const std::string daemon = "http://127.0.0.1:" + std::to_string(server_->port());
  for (const char* from : {"+380671110007", "+380671110002"}) {
    json::object cb{{"provider", "whatsapp"},
                    {"event", "message"},
                    {"from", from},
                    {"text", "where is my order?"},
                    {"url_base", daemon},
                    {"path", "/v1/callbacks/whatsapp/main"}};
    fake_control("callback", cb);
  }
  const std::string open = send(R"(["whatsapp"])", R"({"whatsapp": "+380671110007"})");
  json::object f;
  ASSERT_TRUE(reaches(open, "delivered", &f)) << json::serialize(f);
  const auto w = requests("whatsapp", "380671110007", 1);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].at("body").at("type").as_string(), "text");
  // +380671110002 wrote too, but WhatsApp still answers 131047 (the fake is
  // scripted so): the same message goes again at once as the template.
  const std::string closed = send(R"(["whatsapp"])", R"({"whatsapp": "+380671110002"})");
  ASSERT_TRUE(reaches(closed, "delivered", &f)) << json::serialize(f);
  const auto c = requests("whatsapp", "380671110002", 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].at("body").at("type").as_string(), "text");
  EXPECT_EQ(c[1].at("body").at("type").as_string(), "template");
  const std::string params = json::serialize(c[1].at("body").at("template"));
  EXPECT_NE(params.find("1842"), std::string::npos) << params;
}

TEST_F(MessengerTest, ABotBlockSuppressesTheChatUntilItIsUnblocked) {
  const std::string daemon = "http://127.0.0.1:" + std::to_string(server_->port());
  auto callback = [&](const char* event) {
    json::object cb{{"provider", "telegram"},   {"event", event},
                    {"chat_id", 4100},          {"bot_token", kBotToken},
                    {"secret", "tg-webhook-secret"}, {"url_base", daemon},
                    {"path", "/v1/callbacks/telegram/school"}};
    fake_control("callback", cb);
  };
  const std::string to = R"({"telegram_chat_id": "4100", "email": "chat4100@example.com"})";
  callback("blocked");
  // The chat blocked the bot: Telegram is passed over, email is used.
  json::object f;
  const std::string after_block = send(R"(["telegram", "email"])", to);
  ASSERT_TRUE(reaches(after_block, "delivered", &f)) << json::serialize(f);
  EXPECT_EQ(f.at("channel").as_string(), "email") << json::serialize(f);
  auto r = server_->request("GET", "/v1/suppressions?channel=telegram&address=4100", "");
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->body.find("unsubscribed"), std::string::npos) << r->body;
  EXPECT_TRUE(requests_now("telegram", "4100").empty());
  // Unblocked: Telegram again.
  callback("unblocked");
  const std::string after_unblock = send(R"(["telegram", "email"])", to);
  ASSERT_TRUE(reaches(after_unblock, "delivered", &f)) << json::serialize(f);
  EXPECT_EQ(f.at("channel").as_string(), "telegram") << json::serialize(f);
}

TEST_F(MessengerTest, ProviderCallbacksMoveMessagesForwardOnceAndInOrder) {
  const std::string daemon = "http://127.0.0.1:" + std::to_string(server_->port());
  json::object script = script_;
  script["viber"].as_object()["callback_url_base"] = daemon;
  script["viber"].as_object()["callback_path"] = "/v1/callbacks/viber/school";
  script["viber"].as_object()["recipients"].as_object()["cb==="] =
      json::object{{"behaviours", json::array{"ok"}},
                   {"callbacks", json::array{"delivered", "read"}},
                   {"duplicate", true}};
  auto& wa = script["whatsapp"].as_object();
  wa["callback_url_base"] = daemon;
  wa["callback_path"] = "/v1/callbacks/whatsapp/main";
  wa["recipients"].as_object()["380671110003"] =
      json::object{{"behaviours", json::array{"ok"}},
                   {"callbacks", json::array{"delivered", "read"}},
                   {"out_of_order", true}};
  wa["recipients"].as_object()["380671110004"] =
      json::object{{"behaviours", json::array{"outside_window_async"}},
                   {"callbacks", json::array{"sent", "failed"}}};
  auto& tw = script["twilio"].as_object();
  tw["callback_url_base"] = daemon;
  tw["recipients"].as_object()["+15550030005"] =
      json::object{{"behaviours", json::array{"failed_async:30005"}},
                   {"callbacks", json::array{"sent", "failed"}}};
  tw["recipients"].as_object()["+15550030006"] =
      json::object{{"behaviours", json::array{"ok"}}, {"callbacks", json::array{"delivered"}}};
  set_script(script);

  const std::string vb = send(R"(["viber"])", R"({"viber_id": "cb==="})");
  const std::string wa_read = send(R"(["whatsapp"])", R"({"whatsapp": "+380671110003"})");
  const std::string wa_fail = send(R"(["whatsapp", "email"])",
                                   R"({"whatsapp": "+380671110004", "email": "o@example.com"})");
  const std::string sms_fail = send(R"(["sms"])", R"({"phone": "+15550030005"})");
  const std::string sms_ok = send(R"(["sms"])", R"({"phone": "+15550030006"})");

  auto count = [&](const json::object& full, std::string_view needle) {
    size_t n = 0;
    if (!full.contains("events")) return n;
    for (const auto& e : full.at("events").as_array()) {
      const auto& o = e.as_object();
      if (o.contains("detail") && std::string_view(o.at("detail").as_string()).find(needle) !=
                                      std::string_view::npos) {
        ++n;
      }
    }
    return n;
  };
  json::object f;
  // Viber: delivered then read, each sent twice: at most one event each,
  // in order. (A "delivered" that arrives before the delivery is committed
  // is held and retried; if "read" got in first, it adds nothing: read
  // implies delivered.)
  ASSERT_TRUE(wait_until([&] {
    server_->status_of(vb, &f);
    return count(f, "read by the recipient") == 1;
  }, std::chrono::seconds(30))) << events_text(f);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // duplicates arrive
  server_->status_of(vb, &f);
  EXPECT_LE(count(f, "delivered to the recipient's device"), 1u) << events_text(f);
  EXPECT_EQ(count(f, "read by the recipient"), 1u) << events_text(f);
  EXPECT_EQ(f.at("status").as_string(), "delivered");
  {
    const std::string ev = events_text(f);
    const size_t device_at = ev.find("delivered to the recipient's device");
    EXPECT_TRUE(device_at == std::string::npos || device_at < ev.find("read by the recipient"))
        << ev;
  }
  // WhatsApp, out of order: "read" first. A "delivered" after it adds
  // nothing; one applied before it (held until the delivery was committed)
  // comes first. Either way: never after "read", never twice.
  ASSERT_TRUE(wait_until([&] {
    server_->status_of(wa_read, &f);
    return count(f, "read by the recipient") == 1;
  }, std::chrono::seconds(30))) << events_text(f);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server_->status_of(wa_read, &f);
  EXPECT_LE(count(f, "delivered to the recipient's device"), 1u) << events_text(f);
  EXPECT_EQ(count(f, "read by the recipient"), 1u) << events_text(f);
  const std::string wa_events = events_text(f);
  const size_t read_at = wa_events.find("read by the recipient");
  const size_t device_at = wa_events.find("delivered to the recipient's device");
  EXPECT_TRUE(device_at == std::string::npos || device_at < read_at) << wa_events;
  // WhatsApp accepted, then failed 131047 by webhook: on to email.
  ASSERT_TRUE(wait_until([&] {
    server_->status_of(wa_fail, &f);
    return f.contains("channel") && f.at("channel").as_string() == "email" &&
           f.at("status").as_string() == "delivered";
  }, std::chrono::seconds(30))) << json::serialize(f);
  EXPECT_EQ(count(f, "whatsapp failed: 554 5.7.1 whatsapp error 131047"), 1u) << events_text(f);
  // Twilio: undelivered 30005 after acceptance: failed with its reply.
  ASSERT_TRUE(reaches(sms_fail, "failed", &f)) << json::serialize(f);
  EXPECT_NE(json::serialize(f.at("bounce")).find("30005"), std::string::npos) << json::serialize(f);
  ASSERT_TRUE(wait_until([&] {
    server_->status_of(sms_ok, &f);
    return count(f, "delivered to the recipient's device") == 1;
  }, std::chrono::seconds(30))) << events_text(f);
}

TEST_F(MessengerTest, CallbacksAreAuthenticatedAsTheProviderSignsThem) {
  // Viber: a body signed with the wrong token is refused and changes nothing.
  auto r = server_->request("POST", "/v1/callbacks/viber/school",
                            R"({"event":"delivered","timestamp":1,"message_token":1})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 401) << r->body;
  r = server_->request("POST", "/v1/callbacks/viber/nobody", "{}");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  r = server_->request("POST", "/v1/callbacks/email/x", "{}");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  r = server_->request("POST", "/v1/callbacks/sms/us", "MessageSid=SM1&MessageStatus=delivered");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 403) << r->body;
}

// SMS over an SMPP bind ([[sms.smpp]]) through the daemon: the fake SMSC
// answers, reassembles the parts and sends delivery receipts, which reach
// the message; an undeliverable receipt falls back to email.
TEST(SmppDaemonTest, DeliveryReceiptsReachTheMessageAndUndeliveredFallsBack) {
  TempDir dir;
  json::object script{
      {"default", json::object{{"action", "ok"}, {"dlr", "DELIVRD"}, {"dlr_delay_ms", 50}}},
      {"destinations",
       json::object{{"380500000002", json::object{{"action", "ok"}, {"dlr", "UNDELIV"},
                                                  {"err", "001"}, {"dlr_delay_ms", 50}}}}}};
  std::ofstream(dir.path() + "/smsc.json") << json::serialize(script);
  Peer smsc;
  std::string port, err;
  ASSERT_TRUE(smsc.start({"/usr/bin/python3", kFakes + "/fake_smsc.py", "--port", "0",
                          "--system-id", "vestnik", "--password", "secret", "--hex-ids",
                          "--script", dir.path() + "/smsc.json", "--stats",
                          dir.path() + "/smsc-stats.json"},
                         "READY ", std::chrono::seconds(20), &port, &err))
      << err;
  const std::string toml = testing_support::test_tenants_toml() +
                           testing_support::fast_sink_toml(R"(["email"])") + R"(
[[sms.smpp]]
name = "smsc1"
host = "127.0.0.1"
port = )" + port + R"(
system_id = "vestnik"
password = "secret"
source_addr = "School"
)";
  ServerProcess server(dir.path(), toml);
  ASSERT_TRUE(server.start(&err)) << err;
  auto send = [&](const std::string& body) {
    auto r = server.request("POST", "/v1/messages", body);
    EXPECT_TRUE(r.has_value());
    if (!r || r->status != 202) return std::string();
    return std::string(json::parse(r->body).as_object().at("id").as_string());
  };
  // 200 GSM-7 characters: two parts.
  const std::string ok = send(R"({"channel": "sms", "to": {"phone": "+380500000001"},)"
                              R"( "text": ")" + std::string(200, 'a') + R"("})");
  const std::string bad = send(
      R"({"channels": ["sms", "email"], "to": {"phone": "+380500000002", "email": "o@example.com"},)"
      R"( "subject": "s", "text": "Your code is 1842"})");
  ASSERT_FALSE(ok.empty());
  ASSERT_FALSE(bad.empty());
  json::object f;
  ASSERT_TRUE(wait_until([&] {
    server.status_of(ok, &f);
    return json::serialize(f).find("sms: delivered to the recipient's device") != std::string::npos;
  }, std::chrono::seconds(30))) << json::serialize(f);
  EXPECT_EQ(f.at("destination").as_string(), "sms:smsc1");
  ASSERT_TRUE(wait_until([&] {
    server.status_of(bad, &f);
    return f.contains("channel") && f.at("channel").as_string() == "email" &&
           f.at("status").as_string() == "delivered";
  }, std::chrono::seconds(30))) << json::serialize(f);
  EXPECT_NE(json::serialize(f).find("sms failed"), std::string::npos) << json::serialize(f);
  EXPECT_EQ(server.stop(), 0);
  // The SMSC saw the long text as one message of two parts.
  std::ifstream in(dir.path() + "/smsc-stats.json");
  std::stringstream ss;
  ss << in.rdbuf();
  const json::value stats = json::parse(ss.str());
  bool two_parts = false;
  for (const auto& m : stats.at("messages").as_array()) {
    if (m.at("dest").as_string() == "380500000001" && m.at("segments").to_number<int>() == 2) {
      two_parts = true;
    }
  }
  EXPECT_TRUE(two_parts) << ss.str();
  EXPECT_GE(stats.at("unbinds").to_number<int>(), 1);  // the daemon unbinds when it stops
}

}  // namespace
