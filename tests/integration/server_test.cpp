// End to end through the real `vestnik serve` process: HTTP in, the sink
// transport out, statuses read back over HTTP; restart keeps everything.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/time_format.h"
#include "server_process.h"

namespace {

using testing_support::ServerProcess;
using testing_support::TempDir;
using testing_support::wait_until;
namespace json = boost::json;

// Short retries so five attempts fit in a few seconds.
const std::string kSinkToml = testing_support::fast_sink_toml(R"(["email", "telegram"])") + R"(

[[transports.sink.rules]]
match = "^always-defer@"
reply = "451 4.7.1 greylisted, try again later"

[[transports.sink.rules]]
match = "^defer-twice@"
reply = "421 4.7.0 try again later"
first_attempts = 2

[[transports.sink.rules]]
match = "^no-such-user@"
reply = "550 5.1.1 no such user here"
)";

std::string message_json(const std::string& to, const std::string& extra = {}) {
  return R"({"channels":["email"],"to":{"email":")" + to +
         R"(","name":"Іван Петренко"},"from":{"email":"school@mail.example.com"},)"
         R"("subject":"Ваше замовлення №1842 оплачено","text":"Дякуємо!")" +
         extra + "}";
}

// A send_at far enough ahead that the message waits for the whole test.
std::string later_json() {
  return R"(,"send_at":")" +
         core::format_rfc3339(std::chrono::system_clock::now() + std::chrono::hours(24 * 30)) + "\"";
}

std::string post_id(const ServerProcess& s, const std::string& body, unsigned expect = 202) {
  auto r = s.request("POST", "/v1/messages", body);
  EXPECT_TRUE(r.has_value());
  if (!r) return {};
  EXPECT_EQ(r->status, expect) << r->body;
  auto v = json::parse(r->body);
  return std::string(v.at("id").as_string());
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_.path(),
                                              testing_support::test_tenants_toml() + kSinkToml);
    std::string err;
    ASSERT_TRUE(server_->start(&err)) << err;
  }
  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServerTest, DeliversThroughSinkAndReportsEvents) {
  std::string id = post_id(*server_, message_json("ivan@example.com"));
  ASSERT_FALSE(id.empty());
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "delivered"; }))
      << json::serialize(full);
  EXPECT_EQ(full.at("channel").as_string(), "email");
  EXPECT_EQ(full.at("to").as_string(), "ivan@example.com");
  EXPECT_EQ(full.at("attempts").to_number<int64_t>(), 1);
  const auto& events = full.at("events").as_array();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().at("status").as_string(), "queued");
  EXPECT_EQ(events.back().at("status").as_string(), "delivered");
}

TEST_F(ServerTest, TransientFailureIsRetriedFourTimesThenFailed) {
  std::string id = post_id(*server_, message_json("always-defer@example.com"));
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "failed"; },
                         std::chrono::seconds(60)))
      << json::serialize(full);
  EXPECT_EQ(full.at("attempts").to_number<int64_t>(), 5);  // 1 + 4 retries
  const auto& bounce = full.at("bounce").as_object();
  EXPECT_EQ(bounce.at("code").as_string(), "451");
  EXPECT_NE(std::string(bounce.at("text").as_string()).find("greylisted"), std::string::npos);
  // Every attempt left an event carrying the reply.
  int with_reply = 0;
  for (auto& e : full.at("events").as_array()) {
    auto* d = e.as_object().if_contains("detail");
    if (d && d->is_string() && std::string(d->as_string()).find("451") != std::string::npos) ++with_reply;
  }
  EXPECT_GE(with_reply, 5);
}

TEST_F(ServerTest, TransientThenDelivered) {
  std::string id = post_id(*server_, message_json("defer-twice@example.com"));
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "delivered"; },
                         std::chrono::seconds(60)))
      << json::serialize(full);
  EXPECT_EQ(full.at("attempts").to_number<int64_t>(), 3);
}

TEST_F(ServerTest, PermanentFailureFailsAtOnce) {
  std::string id = post_id(*server_, message_json("no-such-user@example.com"));
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "failed"; }))
      << json::serialize(full);
  EXPECT_EQ(full.at("attempts").to_number<int64_t>(), 1);
  EXPECT_EQ(full.at("bounce").at("code").as_string(), "550");
  EXPECT_EQ(full.at("bounce").at("enhanced").as_string(), "5.1.1");
}

TEST_F(ServerTest, AuthAndTenantIsolation) {
  auto r = server_->request("POST", "/v1/messages", message_json("a@example.com"), "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);
  r = server_->request("POST", "/v1/messages", message_json("a@example.com"), "wrong-key-wrong-key");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);

  std::string id = post_id(*server_, message_json("a@example.com"));
  r = server_->request("GET", "/v1/messages/" + id, "", ServerProcess::kOtherKey);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404u) << "another tenant must not see the message";
  r = server_->request("GET", "/v1/messages/" + id, "", ServerProcess::kAdminKey);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << "an admin sees every tenant";
}

TEST_F(ServerTest, ValidationErrorNamesTheField) {
  auto r = server_->request("POST", "/v1/messages", message_json("ivan@"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  auto v = json::parse(r->body);
  EXPECT_EQ(v.at("error").at("code").as_string(), "invalid_argument");
  EXPECT_EQ(v.at("error").at("field").as_string(), "to.email");
}

TEST_F(ServerTest, IdempotencyKeyReturnsFirstId) {
  std::string body = message_json("ivan@example.com", R"(,"idempotency_key":"order-1842-created")");
  std::string first = post_id(*server_, body, 202);
  std::string again = post_id(*server_, body, 200);
  EXPECT_EQ(first, again);
}

TEST_F(ServerTest, BatchIsAnsweredInOrder) {
  std::string body = R"({"messages":[)" + message_json("b1@example.com") + "," +
                     message_json("bad@") + "," + message_json("b3@example.com") + "]}";
  auto r = server_->request("POST", "/v1/messages:batch", body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto results = json::parse(r->body).at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].as_object().contains("id"));
  EXPECT_TRUE(results[1].as_object().contains("error"));
  EXPECT_TRUE(results[2].as_object().contains("id"));
}

TEST_F(ServerTest, CancelWhileScheduledThenConflictOnceFinal) {
  std::string later = post_id(*server_, message_json("later@example.com",
                                                     later_json()));
  auto r = server_->request("DELETE", "/v1/messages/" + later);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(server_->status_of(later), "cancelled");

  std::string now = post_id(*server_, message_json("now@example.com"));
  ASSERT_TRUE(wait_until([&] { return server_->status_of(now) == "delivered"; }));
  r = server_->request("DELETE", "/v1/messages/" + now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409u);
}

TEST_F(ServerTest, RestartKeepsEverything) {
  std::string done = post_id(*server_, message_json("ivan@example.com"));
  ASSERT_TRUE(wait_until([&] { return server_->status_of(done) == "delivered"; }));
  std::string scheduled = post_id(*server_, message_json("later@example.com",
                                                         later_json()));
  EXPECT_EQ(server_->stop(), 0) << "graceful stop must exit 0\n" << server_->log_text();

  std::string err;
  ASSERT_TRUE(server_->start(&err)) << err;
  EXPECT_EQ(server_->status_of(done), "delivered");
  EXPECT_EQ(server_->status_of(scheduled), "queued");
  auto h = server_->request("GET", "/healthz", "", "");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200u);
}

TEST(ServerNoConfig, GeneratesAdminKeyOnce) {
  TempDir dir;
  ServerProcess server(dir.path(), "");  // no tenants
  std::string err;
  ASSERT_TRUE(server.start(&err)) << err;
  std::string key_file = dir.path() + "/spool/admin.key";
  struct stat st{};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::ifstream in(key_file);
  std::string key;
  std::getline(in, key);
  ASSERT_GE(key.size(), 32u);
  EXPECT_NE(server.log_text().find(key), std::string::npos) << "printed once in the log";

  auto r = server.request("GET", "/v1/queues", "", key);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  r = server.request("GET", "/v1/queues", "", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);

  EXPECT_EQ(server.stop(), 0);
  ASSERT_TRUE(server.start(&err)) << err;
  std::ifstream again(key_file);
  std::string key2;
  std::getline(again, key2);
  EXPECT_EQ(key, key2) << "the key survives restarts";
}

}  // namespace

namespace {

// Issue #3 end to end through the binary: a template stored over HTTP is
// durable across a restart, messages render it, and the email preview is a
// message Python's email package (policy.default) reads without defects.
TEST_F(ServerTest, TemplatesSurviveRestartAndPreviewIsAValidEmail) {
  const std::string tpl = R"({"subject":"{{name}}, замовлення №{{order.id}} оплачено",
      "html":"<p>Вітаємо, <b>{{name}}</b>!</p>{{#each order.items}}<p>{{@number}}. {{title}}</p>{{/each}}",
      "preheader":"Квитанція №{{order.id}}","locale":"uk","time_zone":"Europe/Kyiv"})";
  auto put = server_->request("PUT", "/v1/templates/order_paid", tpl);
  ASSERT_TRUE(put.has_value());
  ASSERT_EQ(put->status, 201u) << put->body;

  ASSERT_EQ(server_->stop(), 0);
  std::string err;
  ASSERT_TRUE(server_->start(&err)) << err;

  auto get = server_->request("GET", "/v1/templates/order_paid");
  ASSERT_TRUE(get.has_value());
  ASSERT_EQ(get->status, 200u) << get->body;
  EXPECT_EQ(json::parse(get->body).at("version").to_number<int64_t>(), 1);

  const std::string msg = R"({"channels":["email"],"to":{"email":"ivan@example.com","name":"Іван Петренко"},
      "from":{"email":"school@mail.example.com","name":"Онлайн-школа «Вестник»"},
      "template_id":"order_paid","category":"marketing",
      "variables":{"name":"Іван","order":{"id":1842,"items":[{"title":"Урок 1"},{"title":"Урок 2 🎓"}]}}})";
  const std::string id = post_id(*server_, msg);
  ASSERT_FALSE(id.empty());
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "delivered"; }))
      << json::serialize(full);

  auto preview = server_->request("POST", "/v1/messages:preview", msg);
  ASSERT_TRUE(preview.has_value());
  ASSERT_EQ(preview->status, 200u) << preview->body;
  const std::string mime(json::parse(preview->body).at("mime").as_string());
  const std::string path = dir_.path() + "/preview.eml";
  {
    std::ofstream out(path, std::ios::binary);
    out << mime;
  }
  const std::string script =
      "import email, email.policy, sys\n"
      "m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)\n"
      "defects = list(m.defects) + [d for p in m.walk() for d in p.defects]\n"
      "assert not defects, defects\n"
      "assert m['subject'] == 'Іван, замовлення №1842 оплачено', m['subject']\n"
      "assert m['from'].addresses[0].display_name == 'Онлайн-школа «Вестник»'\n"
      "assert m.get_content_type() == 'multipart/alternative', m.get_content_type()\n"
      "html = m.get_body(('html',)).get_content()\n"
      "assert '2. Урок 2 🎓' in html, html\n"
      "text = m.get_body(('plain',)).get_content()\n"
      "assert 'Вітаємо, Іван!' in text, text\n"
      "print('ok')\n";
  const std::string script_path = dir_.path() + "/check.py";
  {
    std::ofstream out(script_path);
    out << script;
  }
  const std::string cmd = "/usr/bin/python3 " + script_path + " " + path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  const int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << output << "\n" << mime;
  EXPECT_EQ(output, "ok\n") << mime;
}

}  // namespace
