// tests/api/suppressions_test.cpp: api/routes_suppressions.cpp — GET, POST
// and DELETE /v1/suppressions, matched by api/router.cpp, over a real
// server on loopback with the real engine and spool (server_fixture.h):
// the list, its filters and pages, validation, the tenant rules, and what
// an entry does to the next message sent.
#include "api/routes.h"
#include "core/time_format.h"
#include "server_fixture.h"

namespace api {
namespace {

// --- routing (pure) ---------------------------------------------------------

std::optional<Route> route_of(http::verb m, std::string_view path) {
  auto matched = match_route(m, path, Format::kJson);
  if (auto* r = std::get_if<Route>(&matched)) return *r;
  return std::nullopt;
}

TEST(SuppressionRoutesTest, MethodsOfOnePath) {
  EXPECT_EQ(route_of(http::verb::get, "/v1/suppressions")->id, RouteId::kListSuppressions);
  EXPECT_EQ(route_of(http::verb::head, "/v1/suppressions")->id, RouteId::kListSuppressions);
  EXPECT_EQ(route_of(http::verb::post, "/v1/suppressions")->id, RouteId::kAddSuppressions);
  EXPECT_EQ(route_of(http::verb::delete_, "/v1/suppressions")->id, RouteId::kDeleteSuppressions);
  auto matched = match_route(http::verb::put, "/v1/suppressions", Format::kJson);
  auto* res = std::get_if<Response>(&matched);
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->status, 405u);
  EXPECT_EQ(res->allow, "GET, HEAD, POST, DELETE");
  EXPECT_FALSE(route_of(http::verb::get, "/v1/suppressions/x"));
}

TEST(SuppressionRoutesTest, RoutesHaveMetricNames) {
  EXPECT_EQ(route_name(RouteId::kListSuppressions), "list_suppressions");
  EXPECT_EQ(route_name(RouteId::kAddSuppressions), "add_suppressions");
  EXPECT_EQ(route_name(RouteId::kDeleteSuppressions), "delete_suppressions");
  EXPECT_EQ(route_name(RouteId::kUnsubscribePage), "unsubscribe_page");
  EXPECT_EQ(route_name(RouteId::kUnsubscribe), "unsubscribe");
  EXPECT_EQ(size_t(RouteId::kUnsubscribe) + 1, kRouteCount);
  for (size_t i = 0; i < kRouteCount; ++i) EXPECT_NE(route_name(RouteId(i)), "unknown") << i;
}

// --- over the server ----------------------------------------------------------

std::string text(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : "<not a string: " + json::serialize(v) + ">";
}

std::string field(const json::value& entry, std::string_view key) {
  if (!entry.is_object()) return "<not an object>";
  const auto* v = entry.as_object().if_contains(key);
  return v ? text(*v) : "<absent>";
}

class SuppressionsTest : public ServerTest {
 protected:
  Reply add(const std::string& body, const char* key = kShopKey) {
    return call(http::verb::post, "/v1/suppressions", body, key);
  }

  // One page of GET /v1/suppressions`query`; fails the test unless 200.
  json::value list(const std::string& query = {}, const char* key = kShopKey) {
    Reply r = call(http::verb::get, "/v1/suppressions" + query, {}, key);
    EXPECT_EQ(r.status, 200u) << r.body();
    return r.json();
  }

  json::array entries(const std::string& query = {}, const char* key = kShopKey) {
    auto v = list(query, key);
    if (!v.is_object() || !v.as_object().contains("suppressions")) return {};
    return v.at("suppressions").as_array();
  }

  Reply remove(const std::string& query, const char* key = kShopKey) {
    return call(http::verb::delete_, "/v1/suppressions" + query, {}, key);
  }

  // POST /v1/messages of one email in `category`; returns its status.
  std::string send_status(const std::string& address, const std::string& category,
                          const char* key = kShopKey) {
    json::object o{{"channel", "email"},
                   {"to", json::object{{"email", address}}},
                   {"category", category},
                   {"subject", "Autumn sale"},
                   {"text", "Everything half price"}};
    Reply r = call(http::verb::post, "/v1/messages", json::serialize(o), key);
    EXPECT_EQ(r.status, 202u) << r.body();
    auto v = r.json();
    return v.is_object() && v.as_object().contains("status") ? text(v.at("status"))
                                                             : "<" + r.body() + ">";
  }
};

constexpr char kThree[] = R"({"suppressions": [
  {"channel": "email", "address": "ivan@example.com", "category": "marketing",
   "reason": "unsubscribed", "detail": "asked by phone"},
  {"channel": "email", "address": "olena@example.com"},
  {"channel": "telegram", "address": "123456789", "category": "news", "reason": "complaint"}
]})";

TEST_F(SuppressionsTest, AddListFilterDelete) {
  Reply r = add(kThree);
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.json().at("added").to_number<int64_t>(), 3);

  auto all = entries();
  ASSERT_EQ(all.size(), 3u) << json::serialize(all);
  // Key order: channel, then address, then category.
  EXPECT_EQ(field(all[0], "address"), "ivan@example.com");
  EXPECT_EQ(field(all[1], "address"), "olena@example.com");
  EXPECT_EQ(field(all[2], "channel"), "telegram");

  const json::value& ivan = all[0];
  EXPECT_EQ(field(ivan, "tenant"), "shop");
  EXPECT_EQ(field(ivan, "channel"), "email");
  EXPECT_EQ(field(ivan, "category"), "marketing");
  EXPECT_EQ(field(ivan, "reason"), "unsubscribed");
  EXPECT_EQ(field(ivan, "detail"), "asked by phone");
  const std::string created = field(ivan, "created_at");
  EXPECT_TRUE(core::parse_rfc3339(created).has_value()) << created;
  EXPECT_FALSE(ivan.as_object().contains("message_id"));
  // Defaults: every category, reason manual.
  EXPECT_EQ(field(all[1], "category"), "*");
  EXPECT_EQ(field(all[1], "reason"), "manual");
  EXPECT_EQ(field(all[1], "detail"), "");
  EXPECT_EQ(field(all[2], "reason"), "complaint");
  EXPECT_FALSE(list().as_object().contains("next"));

  // Filters.
  EXPECT_EQ(entries("?channel=email").size(), 2u);
  EXPECT_EQ(entries("?channel=telegram").size(), 1u);
  EXPECT_EQ(entries("?channel=viber").size(), 0u);
  auto one = entries("?address=olena%40example.com");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(field(one[0], "address"), "olena@example.com");
  EXPECT_EQ(entries("?address=OLENA@Example.com&channel=email").size(), 1u);  // normalized
  EXPECT_EQ(entries("?category=marketing").size(), 1u);
  EXPECT_EQ(entries("?category=*").size(), 1u);
  EXPECT_EQ(entries("?channel=email&category=news").size(), 0u);

  // DELETE one category, then every category of an address.
  r = remove("?channel=email&address=ivan@example.com&category=news");
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.json().at("removed").to_number<int64_t>(), 0);
  r = remove("?channel=email&address=ivan@example.com&category=marketing");
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.json().at("removed").to_number<int64_t>(), 1);
  ASSERT_TRUE(
      add(R"({"channel":"email","address":"olena@example.com","category":"news"})").status == 200u);
  r = remove("?channel=email&address=Olena@Example.com");
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.json().at("removed").to_number<int64_t>(), 2);
  all = entries();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(field(all[0], "channel"), "telegram");
}

TEST_F(SuppressionsTest, SingleObjectAndNormalizedAddresses) {
  Reply r = add(R"({"channel": "email", "address": "  Ivan.Petrenko@Example.COM "})");
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.json().at("added").to_number<int64_t>(), 1);
  r = add(R"({"channel": "sms", "address": "+380 67 123-45-67", "category": "promotions"})");
  ASSERT_EQ(r.status, 200u) << r.body();
  r = add(R"({"channel": "*", "address": "someone@example.org", "reason": "hard_bounce"})");
  ASSERT_EQ(r.status, 200u) << r.body();

  auto all = entries();
  ASSERT_EQ(all.size(), 3u) << json::serialize(all);
  EXPECT_EQ(field(all[0], "channel"), "*");
  EXPECT_EQ(field(all[0], "reason"), "hard_bounce");
  EXPECT_EQ(field(all[1], "address"), "ivan.petrenko@example.com");
  EXPECT_EQ(field(all[2], "address"), "+380671234567");

  // '+' in the query is a plus sign, encoded or not.
  EXPECT_EQ(entries("?channel=sms&address=%2B380671234567").size(), 1u);
  EXPECT_EQ(entries("?channel=sms&address=+380671234567").size(), 1u);
  EXPECT_EQ(entries("?channel=sms&address=%2B380%2067%20123-45-67").size(), 1u);
  r = remove("?channel=sms&address=%2B380671234567");
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.json().at("removed").to_number<int64_t>(), 1);
}

TEST_F(SuppressionsTest, PagesFollowNext) {
  json::array list_of;
  for (int i = 0; i < 7; ++i) {
    list_of.push_back(json::object{{"channel", "email"},
                                   {"address", "user" + std::to_string(i) + "@example.com"},
                                   {"category", "marketing"}});
  }
  ASSERT_EQ(add(json::serialize(json::object{{"suppressions", list_of}})).status, 200u);

  std::vector<std::string> seen;
  std::string next;
  int pages = 0;
  for (; pages < 10; ++pages) {
    auto v = list("?limit=3" + (next.empty() ? std::string() : "&after=" + next));
    for (auto& e : v.at("suppressions").as_array()) seen.push_back(field(e, "address"));
    const auto* n = v.as_object().if_contains("next");
    if (!n) break;
    next = text(*n);
    EXPECT_FALSE(next.empty());
    EXPECT_EQ(next.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_"),
              std::string::npos)
        << next;
  }
  EXPECT_EQ(pages, 2);  // 3 + 3 + 1; the last page has no "next"
  ASSERT_EQ(seen.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(seen[i], "user" + std::to_string(i) + "@example.com");

  // Exactly one full page: no "next" either.
  auto v = list("?limit=7");
  EXPECT_EQ(v.at("suppressions").as_array().size(), 7u);
  EXPECT_FALSE(v.as_object().contains("next"));
  // The default page holds them all; filters apply across pages.
  EXPECT_EQ(entries().size(), 7u);
  v = list("?limit=1&category=marketing&channel=email");
  EXPECT_TRUE(v.as_object().contains("next"));
}

TEST_F(SuppressionsTest, QueryErrorsNameTheParameter) {
  struct Case {
    std::string query;
    std::string field;
  } cases[] = {
      {"?limit=0", "limit"},
      {"?limit=1001", "limit"},
      {"?limit=ten", "limit"},
      {"?limit=-1", "limit"},
      {"?after=%21%21", "after"},
      {"?after=not-a-cursor", "after"},
      {"?after=" + std::string("YWJj"), "after"},  // "abc": no separators
      {"?channel=fax", "channel"},
      {"?category=Black%20Friday", "category"},
      {"?address=a%01b", "address"},
      {"?adress=x", "adress"},
      {"?channel=email&channel=sms", "channel"},
      {"?address=%zz", "address"},
      {"?tenant=Shop!", "tenant"},
  };
  for (const auto& c : cases) {
    Reply r = call(http::verb::get, "/v1/suppressions" + c.query, {}, kShopKey);
    EXPECT_EQ(r.status, 400u) << c.query << " " << r.body();
    EXPECT_EQ(r.error_code(), "invalid_argument") << c.query;
    EXPECT_EQ(r.error_field(), c.field) << c.query << " " << r.body();
  }
}

TEST_F(SuppressionsTest, BodyErrorsNameTheFieldAndStoreNothing) {
  struct Case {
    std::string body;
    unsigned status;
    std::string field;
  } cases[] = {
      {R"({"suppressions": [{"channel": "email", "address": "a@example.com"},
                            {"channel": "email", "address": "ivan@"}]})",
       400, "suppressions[1].address"},
      {R"({"suppressions": [{"address": "a@example.com"}]})", 400, "suppressions[0].channel"},
      {R"({"suppressions": [{"channel": "email"}]})", 400, "suppressions[0].address"},
      {R"({"suppressions": [{"channel": "pigeon", "address": "a@example.com"}]})", 400,
       "suppressions[0].channel"},
      {R"({"suppressions": [{"channel": "email", "address": "a@example.com",
                             "category": "Marketing!"}]})",
       400, "suppressions[0].category"},
      {R"({"suppressions": [{"channel": "email", "address": "a@example.com",
                             "reason": "bored"}]})",
       400, "suppressions[0].reason"},
      {R"({"suppressions": [{"channel": "email", "address": "a@example.com",
                             "detail": "two\nlines"}]})",
       400, "suppressions[0].detail"},
      {R"({"suppressions": [{"channel": "email", "address": "a@example.com", "why": "x"}]})", 400,
       "suppressions[0].why"},
      {R"({"suppressions": [{"channel": 1, "address": "a@example.com"}]})", 400,
       "suppressions[0].channel"},
      {R"({"suppressions": ["a@example.com"]})", 400, "suppressions[0]"},
      {R"({"suppressions": [{"channel": "sms", "address": "call me"}]})", 400,
       "suppressions[0].address"},
      {R"({"suppressions": []})", 400, "suppressions"},
      {R"({"suppressions": {}})", 400, "suppressions"},
      {R"({"suppressions": [], "extra": 1})", 400, "extra"},
      {R"({"channel": "email", "address": "nobody"})", 400, "address"},
      {R"({"channel": "email"})", 400, "address"},
      {R"([1, 2])", 400, ""},
      {R"({"suppressions": [)", 400, ""},
  };
  for (const auto& c : cases) {
    Reply r = add(c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " " << r.body();
    EXPECT_EQ(r.error_field(), c.field) << c.body << " " << r.body();
  }
  EXPECT_EQ(entries().size(), 0u);

  // Protobuf is not spoken here.
  Reply r =
      call(http::verb::post, "/v1/suppressions", "\x0a\x00", kShopKey, "application/x-protobuf");
  EXPECT_EQ(r.status, 415u) << r.body();
}

// With a body limit that lets 10,001 entries through, the entry limit
// answers: 413, naming "suppressions", nothing stored.
class LargeBodySuppressionsTest : public SuppressionsTest {
 protected:
  void configure(core::Config& c) override { c.api.max_body_bytes = 1u << 20; }
};

TEST_F(LargeBodySuppressionsTest, AtMostTenThousandEntries) {
  auto body = [](int n) {
    std::string b = R"({"suppressions": [)";
    for (int i = 0; i < n; ++i) {
      b += (i ? "," : "") + std::string(R"({"channel":"*","address":"x)") + std::to_string(i) +
           R"("})";
    }
    return b + "]}";
  };
  Reply r = add(body(10'001));
  EXPECT_EQ(r.status, 413u) << r.body().substr(0, 200);
  EXPECT_EQ(r.error_code(), "too_large");
  EXPECT_EQ(r.error_field(), "suppressions");
  EXPECT_EQ(entries().size(), 0u);
  r = add(body(10'000));
  ASSERT_EQ(r.status, 200u) << r.body().substr(0, 200);
  EXPECT_EQ(r.json().at("added").to_number<int64_t>(), 10'000);
  EXPECT_EQ(list("?limit=1000").at("suppressions").as_array().size(), 1000u);
}

TEST_F(SuppressionsTest, DeleteNeedsChannelAndAddress) {
  Reply r = remove("?address=a@example.com");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.error_field(), "channel");
  r = remove("?channel=email");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.error_field(), "address");
  r = remove("");
  EXPECT_EQ(r.status, 400u);
  r = remove("?channel=email&address=a@example.com&category=NEWS");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.error_field(), "category");
  r = remove("?channel=email&address=a@example.com&limit=5");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.error_field(), "limit");
}

TEST_F(SuppressionsTest, KeysAndTenants) {
  // No key: 401 on every method.
  EXPECT_EQ(call(http::verb::get, "/v1/suppressions").status, 401u);
  EXPECT_EQ(call(http::verb::post, "/v1/suppressions", kThree).status, 401u);
  EXPECT_EQ(
      call(http::verb::delete_, "/v1/suppressions?channel=email&address=a@example.com").status,
      401u);

  ASSERT_EQ(add(kThree).status, 200u);
  // Each sender sees its own tenant's list only.
  EXPECT_EQ(entries({}, kSchoolKey).size(), 0u);
  EXPECT_EQ(entries("?tenant=school", kSchoolKey).size(), 0u);  // its own, named
  EXPECT_EQ(entries("?tenant=shop", kShopKey).size(), 3u);

  // A sender naming another tenant: 403 everywhere, nothing changed.
  Reply r = call(http::verb::get, "/v1/suppressions?tenant=shop", {}, kSchoolKey);
  EXPECT_EQ(r.status, 403u) << r.body();
  EXPECT_EQ(r.error_field(), "tenant");
  r = add(R"({"suppressions": [{"tenant": "school", "channel": "email", "address": "a@example.com"},
                               {"tenant": "shop", "channel": "email", "address": "b@example.com"}]})",
          kSchoolKey);
  EXPECT_EQ(r.status, 403u) << r.body();
  EXPECT_EQ(r.error_field(), "suppressions[1].tenant");
  r = remove("?tenant=shop&channel=email&address=olena@example.com", kSchoolKey);
  EXPECT_EQ(r.status, 403u) << r.body();
  EXPECT_EQ(entries({}, kSchoolKey).size(), 0u);
  EXPECT_EQ(entries().size(), 3u);

  // An admin reads and writes any tenant's; without tenant= its own.
  EXPECT_EQ(entries("?tenant=shop", kAdminKey).size(), 3u);
  EXPECT_EQ(entries({}, kAdminKey).size(), 0u);  // tenant "ops"
  r = add(R"({"suppressions": [
            {"tenant": "school", "channel": "email", "address": "pupil@example.com"},
            {"channel": "email", "address": "ops-own@example.com"}]})",
          kAdminKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  auto school = entries({}, kSchoolKey);
  ASSERT_EQ(school.size(), 1u);
  EXPECT_EQ(field(school[0], "tenant"), "school");
  EXPECT_EQ(field(school[0], "address"), "pupil@example.com");
  auto ops = entries({}, kAdminKey);
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(field(ops[0], "tenant"), "ops");
  r = remove("?tenant=shop&channel=telegram&address=123456789", kAdminKey);
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.json().at("removed").to_number<int64_t>(), 1);
  EXPECT_EQ(entries().size(), 2u);
  // A malformed tenant id is a 400, not a 403, for an admin too.
  r = call(http::verb::get, "/v1/suppressions?tenant=No%20Such", {}, kAdminKey);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.error_field(), "tenant");
}

TEST_F(SuppressionsTest, SuppressedRecipientIsForbiddenPerCategory) {
  // A marketing unsubscribe stops marketing, not transactional mail.
  ASSERT_EQ(add(R"({"channel": "email", "address": "Ivan@Example.com", "category": "marketing",
                    "reason": "unsubscribed"})")
                .status,
            200u);
  EXPECT_EQ(send_status("ivan@example.com", "marketing"), "forbidden");
  EXPECT_EQ(send_status("IVAN@example.com", "marketing"), "forbidden");
  EXPECT_EQ(send_status("ivan@example.com", "notifications"), "queued");
  EXPECT_EQ(send_status("olena@example.com", "marketing"), "queued");
  // Suppressions are per tenant.
  EXPECT_EQ(send_status("ivan@example.com", "marketing", kSchoolKey), "queued");

  // Every category ("*"): transactional mail stops too.
  ASSERT_EQ(
      add(R"({"channel": "email", "address": "ivan@example.com", "reason": "complaint"})").status,
      200u);
  EXPECT_EQ(send_status("ivan@example.com", "notifications"), "forbidden");

  // Removed: mail flows again.
  ASSERT_EQ(remove("?channel=email&address=ivan@example.com").status, 200u);
  EXPECT_EQ(send_status("ivan@example.com", "marketing"), "queued");
  EXPECT_EQ(send_status("ivan@example.com", "notifications"), "queued");

  // A "*" channel entry covers email as well.
  ASSERT_EQ(add(R"({"channel": "*", "address": "olena@example.com"})").status, 200u);
  EXPECT_EQ(send_status("olena@example.com", "notifications"), "forbidden");
}

}  // namespace
}  // namespace api
