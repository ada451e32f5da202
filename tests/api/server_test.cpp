// tests/api/server_test.cpp: api/session.cpp, router.cpp, routes_*.cpp —
// the HTTP server over a real socket on 127.0.0.1, with the in-memory spool,
// the real engine and the sink transport.
//
// The client is Beast's synchronous API with socket receive/send timeouts,
// so a broken server fails a test instead of hanging it. The engine is not
// started: tests move messages with TEST_poll, which commits everything it
// does before returning.
#include "server_fixture.h"

namespace api {
namespace {

TEST_F(ServerTest, HealthzNeedsNoKey) {
  Reply r = call(http::verb::get, "/healthz");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body(), R"({"status":"ok"})");
  EXPECT_EQ(r.header(http::field::content_type), "application/json");
}

TEST_F(ServerTest, MetricsArePrometheusText) {
  call(http::verb::get, "/healthz");
  Reply r = call(http::verb::get, "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header(http::field::content_type), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body().find("vestnik_api_requests_total{route=\"healthz\"}"), std::string::npos)
      << r.body();
}

TEST_F(ServerTest, MissingOrInvalidKeyIs401) {
  Reply none = call(http::verb::post, "/v1/messages", email_message("ivan@example.com"));
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.error_code(), "unauthenticated");
  EXPECT_EQ(none.header(http::field::www_authenticate).rfind("Bearer", 0), 0u);

  Reply bad = call(http::verb::post, "/v1/messages", email_message("ivan@example.com"),
                   "not-a-real-key-at-all");
  EXPECT_EQ(bad.status, 401u);
  EXPECT_NE(bad.header(http::field::www_authenticate).find("invalid_token"), std::string::npos);

  Reply get = call(http::verb::get, "/v1/messages/01J0000000000000000000000");
  EXPECT_EQ(get.status, 401u);

  // A rejected request changed nothing.
  auto counts = spool_->counts();
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->by_status[core::MessageStatus::kQueued], 0u);
}

TEST_F(ServerTest, UnknownRouteIs404AndWrongMethodIs405) {
  Reply r = call(http::verb::get, "/v2/nothing", {}, kShopKey);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.error_code(), "not_found");

  r = call(http::verb::get, "/v1/messages", {}, kShopKey);
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header(http::field::allow), "POST");

  r = call(http::verb::put, "/v1/messages/01J0000000000000000000000", "{}", kShopKey);
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header(http::field::allow), "GET, HEAD, DELETE");

  r = call(http::verb::post, "/healthz", "{}");
  EXPECT_EQ(r.status, 405u);
}

TEST_F(ServerTest, OversizedBodyIs413WithTheErrorShape) {
  std::string big(kMaxBody + 1, ' ');
  Reply r = call(http::verb::post, "/v1/messages", big, kShopKey);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.error_code(), "too_large");
}

TEST_F(ServerTest, OversizedBodyIsRefusedBeforeItIsSent) {
  // With Expect: 100-continue the client waits; the server answers 413 from
  // the head alone, and never asks for the body.
  Client c(server_->port());
  c.send_raw("POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
             std::string(kShopKey) + "\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(kMaxBody * 10) + "\r\nExpect: 100-continue\r\n\r\n");
  Reply r = c.receive();
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 413u);
}

TEST_F(ServerTest, ExpectContinueIsHonoured) {
  const std::string body = email_message("ivan@example.com");
  Client c(server_->port());
  c.send_raw("POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
             std::string(kShopKey) + "\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n");
  Reply cont = c.receive();
  ASSERT_TRUE(cont.ok);
  EXPECT_EQ(cont.status, 100u);
  c.send_raw(body);
  Reply r = c.receive();
  EXPECT_EQ(r.status, 202u) << r.body();
}

TEST_F(ServerTest, SendThenReadStatus) {
  const std::string id = send_ok(email_message("ivan@example.com"));
  ASSERT_EQ(id.size(), 26u);

  Reply r = call(http::verb::get, "/v1/messages/" + id, {}, kShopKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  auto v = r.json().as_object();
  EXPECT_EQ(v["id"], id.c_str());
  EXPECT_EQ(v["status"], "queued");
  EXPECT_EQ(v["channel"], "email");
  EXPECT_EQ(v["to"], "ivan@example.com");
  EXPECT_EQ(v["attempts"], 0);
  ASSERT_TRUE(v["events"].is_array());
  ASSERT_GE(v["events"].as_array().size(), 1u);
  EXPECT_EQ(v["events"].as_array()[0].at("status"), "queued");
  EXPECT_TRUE(v.contains("created_at"));
  EXPECT_TRUE(v.contains("next_attempt_at"));
  EXPECT_EQ(v["category"], "notifications");
  EXPECT_EQ(v["tags"].at("campaign"), "autumn");
  EXPECT_FALSE(v.contains("bounce"));
}

TEST_F(ServerTest, DuplicateIdempotencyKeyAnswers200WithTheFirstId) {
  const std::string first = send_ok(email_message("ivan@example.com", "order-1842"));
  Reply again = call(http::verb::post, "/v1/messages",
                     email_message("someone-else@example.com", "order-1842"), kShopKey);
  EXPECT_EQ(again.status, 200u) << again.body();
  EXPECT_EQ(again.json().at("id"), first.c_str());

  // Another tenant's key space is separate.
  Reply other = call(http::verb::post, "/v1/messages",
                     email_message("ivan@example.com", "order-1842"), kSchoolKey);
  EXPECT_EQ(other.status, 202u);
  EXPECT_NE(other.json().at("id"), first.c_str());
}

TEST_F(ServerTest, ValidationErrorNamesTheFieldAndStoresNothing) {
  Reply r = call(http::verb::post, "/v1/messages", email_message("ivan@"), kShopKey);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(
      r.body(),
      R"({"error":{"code":"invalid_argument","message":"to.email: 'ivan@' is not a valid address","field":"to.email"}})");
  r = call(http::verb::post, "/v1/messages", "{not json", kShopKey);
  EXPECT_EQ(r.status, 400u);
  auto counts = spool_->counts();
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->by_status[core::MessageStatus::kQueued], 0u);
}

TEST_F(ServerTest, BatchAnswersInOrderAndSubmitsTheValidItems) {
  json::array messages;
  messages.push_back(json::parse(email_message("a@example.com")));
  messages.push_back(json::parse(email_message("broken@")));
  messages.push_back(json::parse(email_message("c@example.com")));
  Reply r = call(http::verb::post, "/v1/messages:batch",
                 json::serialize(json::object{{"messages", messages}}), kShopKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  const json::value v = r.json();
  const auto& results = v.at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].at("status"), "queued");
  EXPECT_EQ(results[1].at("error").at("field"), "to.email");
  EXPECT_EQ(results[2].at("status"), "queued");
  for (size_t i : {0u, 2u}) {
    std::string id(results[i].at("id").as_string());
    Reply g = call(http::verb::get, "/v1/messages/" + id, {}, kShopKey);
    EXPECT_EQ(g.status, 200u);
  }
  auto counts = spool_->counts();
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->by_status[core::MessageStatus::kQueued], 2u);
}

TEST_F(ServerTest, BatchOverTheLimitIs413) {
  json::array messages;
  for (uint32_t i = 0; i <= kMaxBatch; ++i) messages.push_back(json::object{});
  Reply r = call(http::verb::post, "/v1/messages:batch",
                 json::serialize(json::object{{"messages", messages}}), kShopKey);
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.error_field(), "messages");
}

TEST_F(ServerTest, TenantsCannotSeeEachOthersMessages) {
  const std::string id = send_ok(email_message("ivan@example.com"), kShopKey);
  Reply r = call(http::verb::get, "/v1/messages/" + id, {}, kSchoolKey);
  EXPECT_EQ(r.status, 404u);
  r = call(http::verb::delete_, "/v1/messages/" + id, {}, kSchoolKey);
  EXPECT_EQ(r.status, 404u);
  // Unknown and malformed ids look the same.
  r = call(http::verb::get, "/v1/messages/not-an-id", {}, kSchoolKey);
  EXPECT_EQ(r.status, 404u);
  // The owner and an admin see it; it is still queued.
  EXPECT_EQ(call(http::verb::get, "/v1/messages/" + id, {}, kShopKey).status, 200u);
  r = call(http::verb::get, "/v1/messages/" + id, {}, kAdminKey);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.json().at("status"), "queued");
}

TEST_F(ServerTest, CancelThenConflict) {
  const std::string id = send_ok(email_message("ivan@example.com"));
  Reply r = call(http::verb::delete_, "/v1/messages/" + id, {}, kShopKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.json().at("status"), "cancelled");
  EXPECT_EQ(r.json().at("id"), id.c_str());
  r = call(http::verb::delete_, "/v1/messages/" + id, {}, kShopKey);
  EXPECT_EQ(r.status, 409u) << r.body();
  EXPECT_EQ(r.error_code(), "conflict");
  EXPECT_EQ(call(http::verb::get, "/v1/messages/" + id, {}, kShopKey).json().at("status"),
            "cancelled");
}

TEST_F(ServerTest, DeliveredAndFailedMessagesShowTheirHistory) {
  const std::string ok = send_ok(email_message("ivan@example.com"));
  const std::string bad = send_ok(email_message("bounce@example.com"));
  engine_->TEST_poll();

  Reply r = call(http::verb::get, "/v1/messages/" + ok, {}, kShopKey);
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.json().at("status"), "delivered") << r.body();
  EXPECT_EQ(r.json().at("attempts"), 1);
  EXPECT_GE(r.json().at("events").as_array().size(), 2u);
  EXPECT_FALSE(r.json().as_object().contains("next_attempt_at"));
  // Too late to cancel.
  EXPECT_EQ(call(http::verb::delete_, "/v1/messages/" + ok, {}, kShopKey).status, 409u);

  r = call(http::verb::get, "/v1/messages/" + bad, {}, kShopKey);
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.json().at("status"), "failed") << r.body();
  ASSERT_TRUE(r.json().as_object().contains("bounce")) << r.body();
  EXPECT_EQ(r.json().at("bounce").at("code"), "550");
  EXPECT_EQ(r.json().at("bounce").at("enhanced"), "5.1.1");
  EXPECT_EQ(call(http::verb::delete_, "/v1/messages/" + bad, {}, kShopKey).status, 409u);
}

TEST_F(ServerTest, QueuesIsForAdminsOnly) {
  send_ok(email_message("ivan@example.com"));
  send_ok(email_message("petro@example.org"));
  Reply r = call(http::verb::get, "/v1/queues", {}, kShopKey);
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(r.error_code(), "permission_denied");

  r = call(http::verb::get, "/v1/queues", {}, kAdminKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  uint64_t queued = 0;
  const json::value v = r.json();
  for (const auto& t : v.at("totals").as_array()) {
    if (t.at("status") == "queued") queued = t.at("count").to_number<uint64_t>();
  }
  EXPECT_EQ(queued, 2u);
  EXPECT_EQ(r.json().at("destinations").as_array().size(), 2u) << r.body();
}

TEST_F(ServerTest, ProtobufInAndOut) {
  vestnik::v1::SendMessageRequest m;
  m.add_channels("email");
  m.mutable_to()->set_email("ivan@example.com");
  m.set_subject("Hi");
  m.set_text("Hello");
  Reply r = call(http::verb::post, "/v1/messages", m.SerializeAsString(), kShopKey,
                 "application/x-protobuf");
  ASSERT_EQ(r.status, 202u);
  EXPECT_EQ(r.header(http::field::content_type), "application/x-protobuf");
  vestnik::v1::SendMessageResponse sent;
  ASSERT_TRUE(sent.ParseFromString(r.body()));
  EXPECT_EQ(sent.status(), "queued");

  auto get = make(http::verb::get, "/v1/messages/" + sent.id(), {}, kShopKey);
  get.set(http::field::accept, "application/x-protobuf");
  Client c(server_->port());
  Reply g = c.call(get);
  ASSERT_EQ(g.status, 200u);
  vestnik::v1::MessageStatus st;
  ASSERT_TRUE(st.ParseFromString(g.body()));
  EXPECT_EQ(st.id(), sent.id());
  EXPECT_EQ(st.to(), "ivan@example.com");

  // Errors come back as ErrorResponse.
  m.mutable_to()->set_email("ivan@");
  r = call(http::verb::post, "/v1/messages", m.SerializeAsString(), kShopKey,
           "application/x-protobuf");
  EXPECT_EQ(r.status, 400u);
  vestnik::v1::ErrorResponse err;
  ASSERT_TRUE(err.ParseFromString(r.body()));
  EXPECT_EQ(err.error().field(), "to.email");
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Client c(server_->port());
  for (int i = 0; i < 20; ++i) {
    Reply r = c.call(make(http::verb::post, "/v1/messages",
                          email_message("user" + std::to_string(i) + "@example.com"), kShopKey));
    ASSERT_EQ(r.status, 202u) << i;
    EXPECT_TRUE(r.res.keep_alive());
  }
  Reply h = c.call(make(http::verb::get, "/healthz"));
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(server_->connections(), 1u);
}

TEST_F(ServerTest, HeadAnswersHeadersOnly) {
  Client c(server_->port());
  c.send(make(http::verb::head, "/healthz"));
  Reply head = c.receive_head();
  ASSERT_TRUE(head.ok);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header(http::field::content_length), "15");
  // Had the server sent a body, it would now be read as the next response.
  Reply get = c.call(make(http::verb::get, "/healthz"));
  ASSERT_TRUE(get.ok);
  EXPECT_EQ(get.body(), R"({"status":"ok"})");
}

TEST_F(ServerTest, StopClosesIdleConnectionsAndRefusesNewOnes) {
  Client idle(server_->port());
  ASSERT_EQ(idle.call(make(http::verb::get, "/healthz")).status, 200u);

  std::promise<void> drained;
  auto f = drained.get_future();
  server_->stop([&drained] { drained.set_value(); });
  EXPECT_TRUE(idle.closed_by_server());
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(server_->connections(), 0u);

  Client late(server_->port());
  if (late.connected()) {
    Reply r = late.call(make(http::verb::get, "/healthz"));
    EXPECT_FALSE(r.ok && r.status == 200u);
  }
  server_.reset();
}

TEST_F(ServerTest, StopLetsTheRequestInProgressFinishAndAnswersTheNextWith503) {
  // Hold the spool's writer so the POST is in progress when stop() comes;
  // the GET is pipelined behind it on the same connection.
  store_->TEST_hold_writes();
  Client c(server_->port());
  auto post = make(http::verb::post, "/v1/messages", email_message("ivan@example.com"), kShopKey);
  auto get = make(http::verb::get, "/healthz");
  std::ostringstream both;
  both << post << get;
  c.send_raw(both.str());
  store_->TEST_wait_until_write_held();

  std::promise<void> drained;
  auto f = drained.get_future();
  server_->stop([&drained] { drained.set_value(); });
  store_->TEST_release_writes();

  Reply first = c.receive();
  EXPECT_EQ(first.status, 202u) << first.body();
  Reply second = c.receive();
  EXPECT_EQ(second.status, 503u) << second.body();
  EXPECT_FALSE(second.res.keep_alive());
  c.close();
  EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  server_.reset();
}

TEST_F(ServerTest, StorageFailuresMapToStatusCodes) {
  json::array two{json::parse(email_message("a@example.com")),
                  json::parse(email_message("b@example.com"))};
  const std::string batch = json::serialize(json::object{{"messages", two}});

  // Disk full: the whole batch is refused with 507 and nothing is stored.
  store_->TEST_fail_commits(1, core::Errc::kSpoolFull);
  Reply r = call(http::verb::post, "/v1/messages:batch", batch, kShopKey);
  EXPECT_EQ(r.status, 507u) << r.body();
  EXPECT_EQ(r.error_code(), "spool_full");
  store_->TEST_fail_commits(1, core::Errc::kSpoolFull);
  r = call(http::verb::post, "/v1/messages", email_message("c@example.com"), kShopKey);
  EXPECT_EQ(r.status, 507u) << r.body();
  EXPECT_EQ(call(http::verb::get, "/healthz").status, 200u);
  r = call(http::verb::post, "/v1/messages:batch", batch, kShopKey);
  EXPECT_EQ(r.status, 200u) << r.body();

  // A failed sync latches the spool unhealthy: 5xx with a bland message,
  // and /healthz says why.
  store_->TEST_fail_commits(1, core::Errc::kIoError);
  r = call(http::verb::post, "/v1/messages", email_message("d@example.com"), kShopKey);
  EXPECT_GE(r.status, 500u) << r.body();
  EXPECT_EQ(r.body().find("fsync"), std::string::npos) << r.body();
  Reply h = call(http::verb::get, "/healthz");
  EXPECT_EQ(h.status, 503u) << h.body();
  EXPECT_EQ(h.json().at("status"), "unhealthy");
  r = call(http::verb::post, "/v1/messages", email_message("e@example.com"), kShopKey);
  EXPECT_EQ(r.status, 503u) << r.body();
}

class ServerDeadlineTest : public ServerTest {
 protected:
  void configure(core::Config& c) override { c.api.read_timeout = core::Duration(300); }
};

TEST_F(ServerDeadlineTest, ASpoolThatDoesNotAnswerInTimeGives503) {
  store_->TEST_hold_writes();
  Client c(server_->port());
  c.send(
      make(http::verb::post, "/v1/messages", email_message("ivan@example.com", "k-1"), kShopKey));
  Reply r = c.receive();  // arrives after read_timeout while the spool still holds the write
  EXPECT_EQ(r.status, 503u) << r.body();
  EXPECT_NE(r.body().find("idempotency_key"), std::string::npos) << r.body();
  store_->TEST_release_writes();

  // The late commit lands; the retry with the same key finds it.
  Reply again = c.call(
      make(http::verb::post, "/v1/messages", email_message("ivan@example.com", "k-1"), kShopKey));
  EXPECT_EQ(again.status, 200u) << again.body();
}

}  // namespace
}  // namespace api
