// tests/api/throttles_test.cpp: api/routes_throttles.cpp — GET/PUT
// /v1/throttles and POST /v1/destinations/{key}:pause|:resume, matched by
// api/router.cpp, over a real server on loopback with the real engine and
// its engine::Throttles (server_fixture.h).
#include "api/routes.h"
#include "core/time_format.h"
#include "engine/throttle.h"
#include "server_fixture.h"

namespace api {
namespace {

// --- routing (pure) ---------------------------------------------------------

std::optional<Route> route_of(http::verb m, std::string_view path) {
  auto matched = match_route(m, path, Format::kJson);
  if (auto* r = std::get_if<Route>(&matched)) return *r;
  return std::nullopt;
}

unsigned status_of(http::verb m, std::string_view path) {
  auto matched = match_route(m, path, Format::kJson);
  if (auto* r = std::get_if<Response>(&matched)) return r->status;
  return 0;
}

TEST(ThrottleRoutesTest, MatchThrottlesAndDestinationVerbs) {
  auto r = route_of(http::verb::get, "/v1/throttles");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, RouteId::kGetThrottles);
  r = route_of(http::verb::head, "/v1/throttles");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, RouteId::kGetThrottles);
  r = route_of(http::verb::put, "/v1/throttles");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, RouteId::kPutThrottles);

  // The key keeps its own ':'; the verb follows the last one.
  r = route_of(http::verb::post, "/v1/destinations/email:gmail.com:pause");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, RouteId::kPauseDestination);
  EXPECT_EQ(r->param, "email:gmail.com");
  r = route_of(http::verb::post, "/v1/destinations/google:resume");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, RouteId::kResumeDestination);
  EXPECT_EQ(r->param, "google");
  r = route_of(http::verb::post, "/v1/destinations/default:email:example.com:pause");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->param, "default:email:example.com");
  // An empty or malformed key still routes: the handler names the field.
  r = route_of(http::verb::post, "/v1/destinations/:pause");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->param, "");

  // A percent-encoded ':' (what the CLI sends) decodes to the same route.
  std::string path;
  std::string_view query;
  ASSERT_TRUE(split_target("/v1/destinations/email%3Agmail.com:pause", &path, &query));
  r = route_of(http::verb::post, path);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->param, "email:gmail.com");
}

TEST(ThrottleRoutesTest, WrongMethodIs405AndUnknownVerbIs404) {
  auto matched = match_route(http::verb::post, "/v1/throttles", Format::kJson);
  auto* res = std::get_if<Response>(&matched);
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->status, 405u);
  EXPECT_EQ(res->allow, "GET, HEAD, PUT");
  EXPECT_EQ(status_of(http::verb::delete_, "/v1/throttles"), 405u);

  matched = match_route(http::verb::get, "/v1/destinations/google:pause", Format::kJson);
  res = std::get_if<Response>(&matched);
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->status, 405u);
  EXPECT_EQ(res->allow, "POST");

  EXPECT_EQ(status_of(http::verb::post, "/v1/destinations/google"), 404u);
  EXPECT_EQ(status_of(http::verb::post, "/v1/destinations/google:drain"), 404u);
  EXPECT_EQ(status_of(http::verb::post, "/v1/destinations"), 404u);
  EXPECT_EQ(status_of(http::verb::get, "/v1/throttles/google"), 404u);
}

TEST(ThrottleRoutesTest, RoutesHaveMetricNames) {
  EXPECT_EQ(route_name(RouteId::kGetThrottles), "get_throttles");
  EXPECT_EQ(route_name(RouteId::kPutThrottles), "put_throttles");
  EXPECT_EQ(route_name(RouteId::kPauseDestination), "pause_destination");
  EXPECT_EQ(route_name(RouteId::kResumeDestination), "resume_destination");
  EXPECT_EQ(route_name(RouteId::kProviderCallback), "provider_callback");
  EXPECT_LT(size_t(RouteId::kProviderCallback), kRouteCount);
}

TEST(CallbackRoutesTest, ChannelAndAccountAreOneParameter) {
  auto m = match_route(http::verb::post, "/v1/callbacks/viber/school", Format::kJson);
  ASSERT_TRUE(std::holds_alternative<Route>(m));
  EXPECT_EQ(std::get<Route>(m).id, RouteId::kProviderCallback);
  EXPECT_EQ(std::get<Route>(m).param, "viber/school");
  EXPECT_TRUE(std::holds_alternative<Route>(
      match_route(http::verb::get, "/v1/callbacks/whatsapp/main", Format::kJson)));
  EXPECT_EQ(status_of(http::verb::post, "/v1/callbacks/viber"), 404u);
  EXPECT_EQ(status_of(http::verb::post, "/v1/callbacks/viber/"), 404u);
  EXPECT_EQ(status_of(http::verb::post, "/v1/callbacks//x"), 404u);
  EXPECT_EQ(status_of(http::verb::post, "/v1/callbacks/viber/a/b"), 404u);
  EXPECT_EQ(status_of(http::verb::put, "/v1/callbacks/viber/a"), 405u);
}

// --- over the server ----------------------------------------------------------

std::string text(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : "<not a string: " + json::serialize(v) + ">";
}

constexpr char kRules[] = R"(recovery_step = "10m"
builtin_rules = false

[default]
connections = 4
rate = "100/min"

[[rules]]
name = "google"
mx_suffixes = [".google.com"]
connections = 2
rate = "10/s"

[[rules]]
name = "example"
domains = ["example.com"]
messages_per_connection = 50

[[backoff]]
name = "slow_down"
match = "^421 .*try later"
action = "rate"
rate = "1/min"
duration = "2h"
threshold = 1
window = "1h"
)";

class ThrottlesTest : public ServerTest {
 protected:
  // Deterministic rules: no built-in provider rules.
  void configure(core::Config& c) override { c.throttle.builtin_rules = false; }

  engine::Throttles& throttles() { return engine_->throttles(); }

  Reply put_rules(std::string_view toml, const char* key = kAdminKey,
                  std::string type = "application/toml") {
    return call(http::verb::put, "/v1/throttles", std::string(toml), key, std::move(type));
  }
};

TEST_F(ThrottlesTest, AdminOnly) {
  struct Case {
    http::verb method;
    const char* target;
  } cases[] = {
      {http::verb::get, "/v1/throttles"},
      {http::verb::put, "/v1/throttles"},
      {http::verb::post, "/v1/destinations/email:gmail.com:pause"},
      {http::verb::post, "/v1/destinations/email:gmail.com:resume"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    Reply none = call(c.method, c.target, {});
    EXPECT_EQ(none.status, 401u);
    Reply sender = call(c.method, c.target, {}, kShopKey);
    EXPECT_EQ(sender.status, 403u) << sender.body();
    EXPECT_EQ(sender.error_code(), "permission_denied");
  }
  // The sender's pause attempt changed nothing.
  EXPECT_FALSE(throttles().paused("email:gmail.com", clock_.now()));
  EXPECT_EQ(call(http::verb::get, "/v1/throttles", {}, kAdminKey).status, 200u);
}

TEST_F(ThrottlesTest, GetShowsRulesGroupsPausesAndGeneration) {
  ASSERT_EQ(put_rules(kRules).status, 200u);
  // A group exists once something asks for it (the dispatcher, normally).
  auto group = throttles().group_for("email:example.com", "");
  ASSERT_NE(group, nullptr);
  auto google = throttles().group_for("email:gmail.com", "gmail-smtp-in.l.google.com");
  throttles().pause("email:yahoo.com", std::nullopt, "complaints");

  Reply r = call(http::verb::get, "/v1/throttles", {}, kAdminKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.header(http::field::content_type), "application/json");
  const json::value v = r.json();
  ASSERT_TRUE(v.is_object()) << r.body();

  const json::object& rules = v.at("rules").as_object();
  EXPECT_EQ(rules.at("recovery_step"), "10m");
  EXPECT_EQ(rules.at("builtin_rules"), false);
  EXPECT_EQ(rules.at("default").at("connections").to_number<int>(), 4);
  EXPECT_EQ(rules.at("default").at("rate"), "100/min");
  EXPECT_FALSE(rules.at("default").as_object().contains("burst"));  // inherited: absent
  const json::array& list = rules.at("rules").as_array();
  ASSERT_EQ(list.size(), 2u) << r.body();
  EXPECT_EQ(list[0].at("name"), "google");
  EXPECT_EQ(list[0].at("mx_suffixes").as_array().size(), 1u);
  EXPECT_EQ(list[0].at("shared"), true);
  EXPECT_EQ(list[0].at("rate"), "10/s");
  EXPECT_EQ(list[1].at("name"), "example");
  EXPECT_EQ(list[1].at("domains").at(0), "example.com");
  EXPECT_EQ(list[1].at("shared"), false);
  EXPECT_EQ(list[1].at("messages_per_connection").to_number<int>(), 50);
  const json::array& backoff = rules.at("backoff").as_array();
  ASSERT_EQ(backoff.size(), 1u);
  EXPECT_EQ(backoff[0].at("name"), "slow_down");
  EXPECT_EQ(backoff[0].at("action"), "rate");
  EXPECT_EQ(backoff[0].at("rate"), "1/min");
  EXPECT_EQ(backoff[0].at("duration"), "2h");
  EXPECT_EQ(backoff[0].at("window"), "1h");
  EXPECT_EQ(backoff[0].at("threshold").to_number<int>(), 1);

  const json::array& groups = v.at("groups").as_array();
  const json::object* example = nullptr;
  const json::object* shared = nullptr;
  for (const auto& g : groups) {
    if (g.at("rule") == "example") example = &g.as_object();
    if (g.at("rule") == "google") shared = &g.as_object();
  }
  ASSERT_NE(example, nullptr) << r.body();
  ASSERT_NE(shared, nullptr) << r.body();
  for (const char* k : {"key", "rule", "shared", "destinations", "destination_count", "limits",
                        "effective", "connections_open", "suspended", "backoff"}) {
    EXPECT_TRUE(example->contains(k)) << k;
  }
  EXPECT_EQ(example->at("shared"), false);
  EXPECT_TRUE(example->at("backoff").is_null());
  EXPECT_EQ(example->at("suspended"), false);
  EXPECT_EQ(example->at("connections_open").to_number<int>(), 0);
  const json::object& limits = example->at("limits").as_object();
  EXPECT_EQ(limits.at("connections").to_number<int>(), 4);  // from [default]
  EXPECT_EQ(limits.at("messages_per_connection").to_number<int>(), 50);
  EXPECT_EQ(limits.at("rate"), "100/min");
  EXPECT_TRUE(limits.at("burst").is_number());
  EXPECT_TRUE(limits.at("connection_rate").is_string());
  EXPECT_EQ(example->at("effective"), example->at("limits"));
  EXPECT_EQ(shared->at("key"), "google");
  EXPECT_EQ(shared->at("shared"), true);
  EXPECT_EQ(shared->at("limits").at("connections").to_number<int>(), 2);
  EXPECT_EQ(shared->at("destinations").at(0), "email:gmail.com");

  const json::array& pauses = v.at("pauses").as_array();
  ASSERT_EQ(pauses.size(), 1u);
  EXPECT_EQ(pauses[0].at("key"), "email:yahoo.com");
  EXPECT_TRUE(pauses[0].at("until").is_null());
  EXPECT_EQ(pauses[0].at("reason"), "complaints");
  EXPECT_EQ(text(pauses[0].at("since")), core::format_rfc3339(clock_.now()));
  EXPECT_EQ(v.at("generation").to_number<uint64_t>(), throttles().generation());
}

TEST_F(ThrottlesTest, BackoffIsShownWithItsReply) {
  ASSERT_EQ(put_rules(kRules).status, 200u);
  auto group = throttles().group_for("email:example.com", "");
  core::Reply reply;
  reply.code = 421;
  reply.enhanced = "4.7.0";
  reply.text = "try later";
  throttles().observe(*group, reply, clock_.now());

  Reply r = call(http::verb::get, "/v1/throttles", {}, kAdminKey);
  ASSERT_EQ(r.status, 200u);
  const json::value v = r.json();
  const json::object* g = nullptr;
  for (const auto& x : v.at("groups").as_array()) {
    if (x.at("rule") == "example") g = &x.as_object();
  }
  ASSERT_NE(g, nullptr) << r.body();
  ASSERT_TRUE(g->at("backoff").is_object()) << r.body();
  const json::object& b = g->at("backoff").as_object();
  EXPECT_EQ(b.at("rule"), "slow_down");
  EXPECT_EQ(b.at("action"), "rate");
  EXPECT_NE(std::string(b.at("reply").as_string()).find("try later"), std::string::npos);
  EXPECT_EQ(text(b.at("since")), core::format_rfc3339(clock_.now()));
  EXPECT_EQ(text(b.at("until")), core::format_rfc3339(clock_.now() + std::chrono::hours(2)));
  EXPECT_EQ(b.at("recovering"), false);
  EXPECT_EQ(g->at("effective").at("rate"), "1/min");
  EXPECT_EQ(g->at("limits").at("rate"), "100/min");
}

TEST_F(ThrottlesTest, PutReplacesTheRulesAndAnswersLikeGet) {
  const uint64_t before = throttles().generation();
  Reply r = put_rules(kRules);
  ASSERT_EQ(r.status, 200u) << r.body();
  const json::value v = r.json();
  EXPECT_GT(v.at("generation").to_number<uint64_t>(), before);
  EXPECT_EQ(v.at("rules").at("rules").as_array().size(), 2u);
  EXPECT_TRUE(v.at("groups").is_array());
  EXPECT_TRUE(v.at("pauses").is_array());
  EXPECT_EQ(throttles().config().rules.size(), 2u);
  EXPECT_EQ(throttles().config().recovery_step, core::Duration(600'000));

  // text/plain (and parameters) are TOML too.
  r = put_rules("builtin_rules = false\n", kAdminKey, "text/plain; charset=utf-8");
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(throttles().config().rules.size(), 0u);
  EXPECT_EQ(r.json().at("rules").at("rules").as_array().size(), 0u);
}

TEST_F(ThrottlesTest, PutErrorsNameTheKeyAndChangeNothing) {
  ASSERT_EQ(put_rules(kRules).status, 200u);
  const uint64_t generation = throttles().generation();

  Reply r = put_rules("[[rules]]\nname = \"google\"\ndomains = [\"gmail.com\"]\nrate = \"fast\"\n");
  ASSERT_EQ(r.status, 400u) << r.body();
  EXPECT_EQ(r.error_code(), "invalid_argument");
  const std::string field = r.error_field();
  EXPECT_EQ(field, "throttle.rules[0].rate");
  const std::string message(r.json().at("error").at("message").as_string());
  EXPECT_EQ(message.rfind(field, 0), 0u) << message;

  r = put_rules("recovery_step = \"10m\"\ncolour = \"red\"\n");
  ASSERT_EQ(r.status, 400u) << r.body();
  EXPECT_NE(r.error_field().find("colour"), std::string::npos) << r.body();

  // A TOML syntax error has no key but says where.
  r = put_rules("[[rules]\nname = \n");
  ASSERT_EQ(r.status, 400u) << r.body();
  EXPECT_EQ(r.error_code(), "invalid_argument");

  // Empty: refused rather than read as "all defaults".
  r = call(http::verb::put, "/v1/throttles", {}, kAdminKey);
  ASSERT_EQ(r.status, 400u) << r.body();

  r = put_rules(R"({"builtin_rules": false})", kAdminKey, "application/json");
  EXPECT_EQ(r.status, 415u) << r.body();
  EXPECT_EQ(r.error_code(), "unsupported_media_type");

  EXPECT_EQ(throttles().generation(), generation);
  EXPECT_EQ(throttles().config().rules.size(), 2u);
}

TEST_F(ThrottlesTest, PauseResumeRoundTrip) {
  Reply r = call(http::verb::post, "/v1/destinations/email:gmail.com:pause",
                 R"({"duration": "1h", "reason": "too many complaints"})", kAdminKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  json::value v = r.json();
  EXPECT_EQ(v.at("key"), "email:gmail.com");
  EXPECT_EQ(text(v.at("until")), core::format_rfc3339(clock_.now() + std::chrono::hours(1)));
  EXPECT_EQ(v.at("reason"), "too many complaints");
  EXPECT_EQ(text(v.at("since")), core::format_rfc3339(clock_.now()));
  EXPECT_TRUE(throttles().paused("email:gmail.com", clock_.now()));

  Reply get = call(http::verb::get, "/v1/throttles", {}, kAdminKey);
  ASSERT_EQ(get.status, 200u);
  ASSERT_EQ(get.json().at("pauses").as_array().size(), 1u);
  EXPECT_EQ(get.json().at("pauses").at(0), v);

  r = call(http::verb::post, "/v1/destinations/email:gmail.com:resume", {}, kAdminKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.json().at("key"), "email:gmail.com");
  EXPECT_EQ(r.json().at("status"), "resumed");
  EXPECT_FALSE(throttles().paused("email:gmail.com", clock_.now()));

  r = call(http::verb::post, "/v1/destinations/email:gmail.com:resume", {}, kAdminKey);
  EXPECT_EQ(r.status, 404u) << r.body();
  EXPECT_EQ(r.error_code(), "not_found");
  EXPECT_EQ(r.error_field(), "key");
}

TEST_F(ThrottlesTest, PauseWithoutBodyLastsUntilResumed) {
  // A group key, percent-encoded ':' and upper case (folded) in a
  // destination key.
  Reply r = call(http::verb::post, "/v1/destinations/google:pause", {}, kAdminKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_TRUE(r.json().at("until").is_null());
  EXPECT_EQ(r.json().at("reason"), "paused by ops");
  EXPECT_TRUE(throttles().paused("google", clock_.now()));

  r = call(http::verb::post, "/v1/destinations/email%3AExample.COM:pause", "{}", kAdminKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.json().at("key"), "email:example.com");
  clock_.advance(std::chrono::hours(24 * 30));
  EXPECT_TRUE(throttles().paused("email:example.com", clock_.now()));
  EXPECT_EQ(
      call(http::verb::post, "/v1/destinations/email:example.com:resume", {}, kAdminKey).status,
      200u);
}

TEST_F(ThrottlesTest, BadKeysAndBodiesNameTheField) {
  struct Case {
    std::string target;
    std::string body;
    const char* field;
  } cases[] = {
      {"/v1/destinations/:pause", "", "key"},
      {"/v1/destinations/email%2Fgmail.com:pause", "", "key"},
      {"/v1/destinations/a/b:pause", "", "key"},
      {"/v1/destinations/email%20gmail.com:pause", "", "key"},
      {"/v1/destinations/email%01gmail.com:pause", "", "key"},
      {"/v1/destinations/" + std::string(256, 'a') + ":pause", "", "key"},
      {"/v1/destinations/%FF:pause", "", "key"},
      {"/v1/destinations/a/b:resume", "", "key"},
      {"/v1/destinations/google:pause", R"({"duration": "soon"})", "duration"},
      {"/v1/destinations/google:pause", R"({"duration": "0s"})", "duration"},
      {"/v1/destinations/google:pause", R"({"duration": "400d"})", "duration"},
      {"/v1/destinations/google:pause", R"({"duration": 3600})", "duration"},
      {"/v1/destinations/google:pause", R"({"reason": "a\r\nb"})", "reason"},
      {"/v1/destinations/google:pause", R"({"reason": 1})", "reason"},
      {"/v1/destinations/google:pause", R"({"colour": "red"})", "colour"},
      {"/v1/destinations/google:pause", R"([1])", ""},
      {"/v1/destinations/google:pause", R"({"duration":)", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target + " " + c.body);
    Reply r = call(http::verb::post, c.target, c.body, kAdminKey);
    EXPECT_EQ(r.status, 400u) << r.body();
    EXPECT_EQ(r.error_code(), "invalid_argument");
    EXPECT_EQ(r.error_field(), c.field) << r.body();
  }
  EXPECT_EQ(throttles().pauses(clock_.now()).size(), 0u);
  // A 255-byte key is fine.
  Reply ok =
      call(http::verb::post, "/v1/destinations/" + std::string(255, 'a') + ":pause", {}, kAdminKey);
  EXPECT_EQ(ok.status, 200u) << ok.body();
}

TEST_F(ThrottlesTest, ProtobufBodiesAre415) {
  Reply r = call(http::verb::post, "/v1/destinations/google:pause", "\x0a\x01x", kAdminKey,
                 "application/x-protobuf");
  EXPECT_EQ(r.status, 415u) << r.body();
  EXPECT_FALSE(throttles().paused("google", clock_.now()));
}

}  // namespace
}  // namespace api
