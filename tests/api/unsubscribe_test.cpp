// tests/api/unsubscribe_test.cpp: api/routes_unsubscribe.cpp and
// api/unsubscribe_page.cpp — GET and POST /u/{token} (RFC 8058 one-click
// and the confirm page), over a real server on loopback with the real
// engine and spool (server_fixture.h); the language choice and the HTML
// escaping as pure functions.
#include "api/routes.h"
#include "api/unsubscribe_page.h"
#include "server_fixture.h"
#include "templating/render.h"
#include "templating/token.h"

namespace api {
namespace {

// --- pure -------------------------------------------------------------------

TEST(UnsubscribePageTest, LanguageFromAcceptLanguage) {
  struct Case {
    std::string_view header;
    PageLanguage want;
  } cases[] = {
      {"", PageLanguage::kUk},
      {"en", PageLanguage::kEn},
      {"ru", PageLanguage::kRu},
      {"uk-UA,uk;q=0.9,en-US;q=0.8,en;q=0.7", PageLanguage::kUk},
      {"ru-RU,ru;q=0.9,en;q=0.8", PageLanguage::kRu},
      {"en-GB,en;q=0.9", PageLanguage::kEn},
      {"EN-us", PageLanguage::kEn},
      {"de-DE, de;q=0.9, en;q=0.5", PageLanguage::kEn},
      {"en;q=0.5, ru;q=0.8", PageLanguage::kRu},
      {"en;q=0.8, ru;q=0.8", PageLanguage::kEn},  // a tie: the earlier
      {"fr, de", PageLanguage::kUk},
      {"*", PageLanguage::kUk},
      {"en;q=0, *", PageLanguage::kUk},
      {"en;q=0", PageLanguage::kUk},
      {"en;q=2, ru", PageLanguage::kRu},  // a malformed q excludes
      {"en ; q=0.7 , ru ; q=0.6", PageLanguage::kEn},
      {",,;;q=,", PageLanguage::kUk},
      {"english, russian", PageLanguage::kUk},
  };
  for (const auto& c : cases) EXPECT_EQ(page_language(c.header), c.want) << c.header;
  EXPECT_EQ(language_tag(PageLanguage::kUk), "uk");
  EXPECT_EQ(language_tag(PageLanguage::kRu), "ru");
  EXPECT_EQ(language_tag(PageLanguage::kEn), "en");
}

TEST(UnsubscribePageTest, EscapesEveryValue) {
  EXPECT_EQ(html_escape(R"(<a href="x">'&'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  engine::UnsubscribeToken t{"shop", "email", "<script>@example.com", "news\"><i>"};
  for (PageLanguage lang : {PageLanguage::kUk, PageLanguage::kRu, PageLanguage::kEn}) {
    for (const std::string& html : {confirm_page(lang, t, "/u/a\"b"), done_page(lang, t)}) {
      EXPECT_EQ(html.find("<script"), std::string::npos) << html;
      EXPECT_EQ(html.find("<i>"), std::string::npos) << html;
      EXPECT_NE(html.find("&lt;script&gt;@example.com"), std::string::npos) << html;
    }
    EXPECT_NE(confirm_page(lang, t, "/u/a\"b").find("action=\"/u/a&quot;b\""), std::string::npos);
  }
}

TEST(UnsubscribePageTest, EveryTextInEveryLanguage) {
  engine::UnsubscribeToken one{"shop", "email", "ivan@example.com", "marketing"};
  engine::UnsubscribeToken all{"shop", "email", "ivan@example.com", "*"};
  const struct {
    PageLanguage lang;
    std::string_view confirm, button, done, every, invalid, later;
  } cases[] = {
      {PageLanguage::kUk, "Відписати", "Відписатися", "Вас відписано", "усіх розсилок",
       "Посилання недійсне", "Спробуйте пізніше"},
      {PageLanguage::kRu, "Отписать", "Отписаться", "Вы отписаны", "всех рассылок",
       "Ссылка недействительна", "Попробуйте позже"},
      {PageLanguage::kEn, "Unsubscribe", "Unsubscribe", "You are unsubscribed", "all our mailings",
       "This link is not valid", "Please try again later"},
  };
  for (const auto& c : cases) {
    const std::string lang_attr = "<html lang=\"" + std::string(language_tag(c.lang)) + "\">";
    const std::string confirm = confirm_page(c.lang, one, "/u/t");
    EXPECT_NE(confirm.find(lang_attr), std::string::npos);
    EXPECT_NE(confirm.find(c.confirm), std::string::npos) << confirm;
    EXPECT_NE(confirm.find(c.button), std::string::npos);
    EXPECT_NE(confirm.find("<b>ivan@example.com</b>"), std::string::npos);
    EXPECT_NE(confirm.find("<b>marketing</b>"), std::string::npos);
    EXPECT_NE(confirm.find("<meta charset=\"utf-8\">"), std::string::npos);
    EXPECT_EQ(confirm.find("<script"), std::string::npos);
    EXPECT_EQ(confirm.find("http"), std::string::npos);  // no external resource
    EXPECT_NE(confirm_page(c.lang, all, "/u/t").find(c.every), std::string::npos);
    EXPECT_NE(done_page(c.lang, one).find(c.done), std::string::npos);
    EXPECT_NE(done_page(c.lang, all).find(c.every), std::string::npos);
    EXPECT_NE(invalid_link_page(c.lang).find(c.invalid), std::string::npos);
    EXPECT_NE(try_later_page(c.lang).find(c.later), std::string::npos);
    EXPECT_EQ(invalid_link_page(c.lang).find("<form"), std::string::npos);
  }
}

TEST(UnsubscribeRoutesTest, PublicRoutesOfTheToken) {
  auto m = match_route(http::verb::get, "/u/abc_DEF-123", Format::kJson);
  ASSERT_TRUE(std::holds_alternative<Route>(m));
  EXPECT_EQ(std::get<Route>(m).id, RouteId::kUnsubscribePage);
  EXPECT_EQ(std::get<Route>(m).param, "abc_DEF-123");
  m = match_route(http::verb::head, "/u/abc", Format::kJson);
  ASSERT_TRUE(std::holds_alternative<Route>(m));
  EXPECT_EQ(std::get<Route>(m).id, RouteId::kUnsubscribePage);
  m = match_route(http::verb::post, "/u/abc", Format::kJson);
  ASSERT_TRUE(std::holds_alternative<Route>(m));
  EXPECT_EQ(std::get<Route>(m).id, RouteId::kUnsubscribe);
  m = match_route(http::verb::delete_, "/u/abc", Format::kJson);
  ASSERT_TRUE(std::holds_alternative<Response>(m));
  EXPECT_EQ(std::get<Response>(m).status, 405u);
  EXPECT_EQ(std::get<Response>(m).allow, "GET, HEAD, POST");
  for (const char* path : {"/u/", "/u/a/b", "/u"}) {
    m = match_route(http::verb::get, path, Format::kJson);
    ASSERT_TRUE(std::holds_alternative<Response>(m)) << path;
    EXPECT_EQ(std::get<Response>(m).status, 404u) << path;
  }
}

// --- over the server ----------------------------------------------------------

constexpr char kForm[] = "application/x-www-form-urlencoded";
constexpr char kOneClick[] = "List-Unsubscribe=One-Click";

std::string token_for(std::string_view tenant, std::string_view address, std::string_view category,
                      std::string_view key = kTokenSecret) {
  return templating::seal_token(
      key, {templating::kUnsubscribeTokenKind, tenant, "email", address, category});
}

class UnsubscribeTest : public ServerTest {
 protected:
  Reply get(const std::string& token, std::string accept_language = {}) {
    std::vector<std::pair<http::field, std::string>> headers;
    if (!accept_language.empty())
      headers.emplace_back(http::field::accept_language, accept_language);
    return call_with(http::verb::get, "/u/" + token, std::move(headers));
  }
  Reply post(const std::string& token, std::string body, std::string type = kForm,
             std::string accept_language = {}) {
    std::vector<std::pair<http::field, std::string>> headers;
    if (!accept_language.empty())
      headers.emplace_back(http::field::accept_language, accept_language);
    return call_with(http::verb::post, "/u/" + token, std::move(headers), std::move(body), {},
                     std::move(type));
  }

  // The shop's entries, through the API.
  json::array shop_entries() {
    Reply r = call(http::verb::get, "/v1/suppressions", {}, kShopKey);
    EXPECT_EQ(r.status, 200u) << r.body();
    auto v = r.json();
    if (!v.is_object() || !v.as_object().contains("suppressions")) return {};
    return v.at("suppressions").as_array();
  }

  std::string send_status(const std::string& address, const std::string& category) {
    json::object o{{"channel", "email"},
                   {"to", json::object{{"email", address}}},
                   {"category", category},
                   {"subject", "News"},
                   {"text", "Hello"}};
    Reply r = call(http::verb::post, "/v1/messages", json::serialize(o), kShopKey);
    EXPECT_EQ(r.status, 202u) << r.body();
    auto v = r.json();
    return v.is_object() && v.as_object().contains("status")
               ? std::string(v.at("status").as_string())
               : "<" + r.body() + ">";
  }
};

std::string field(const json::value& entry, std::string_view key) {
  if (!entry.is_object()) return "<not an object>";
  const auto* v = entry.as_object().if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "<absent>";
}

bool contains(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}

TEST_F(UnsubscribeTest, PageShowsWhatTheLinkDoesInUkrainianByDefault) {
  const std::string token = token_for("shop", "Ivan@Example.com", "marketing");
  Reply r = get(token);
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.header(http::field::content_type), "text/html; charset=utf-8");
  const std::string& html = r.body();
  EXPECT_TRUE(contains(html, "<html lang=\"uk\">")) << html;
  EXPECT_TRUE(contains(html, "ivan@example.com")) << html;  // normalized
  EXPECT_TRUE(contains(html, "marketing"));
  EXPECT_TRUE(contains(html, "Відписатися"));
  EXPECT_TRUE(contains(html, "<form method=\"post\" action=\"/u/" + token + "\">")) << html;
  EXPECT_TRUE(contains(html, "<input type=\"hidden\" name=\"confirm\" value=\"1\">"));
  EXPECT_FALSE(contains(html, "<script"));
  // No script, no external resource, no framing.
  const std::string csp(r.res["Content-Security-Policy"]);
  EXPECT_TRUE(contains(csp, "default-src 'none'")) << csp;
  EXPECT_TRUE(contains(csp, "frame-ancestors 'none'")) << csp;
  EXPECT_EQ(r.header(http::field::cache_control), "no-store");
  // GET changes nothing.
  EXPECT_EQ(shop_entries().size(), 0u);

  r = get(token, "en-US,en;q=0.9");
  ASSERT_EQ(r.status, 200u);
  EXPECT_TRUE(contains(r.body(), "<html lang=\"en\">"));
  EXPECT_TRUE(contains(r.body(), "Unsubscribe <b>ivan@example.com</b> from the “<b>marketing</b>”"))
      << r.body();
  r = get(token, "ru");
  ASSERT_EQ(r.status, 200u);
  EXPECT_TRUE(contains(r.body(), "<html lang=\"ru\">"));
  EXPECT_TRUE(contains(r.body(), "Отписаться"));

  // HEAD: the headers of the GET, no body.
  r = call_with(http::verb::head, "/u/" + token, {});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header(http::field::content_type), "text/html; charset=utf-8");
  EXPECT_TRUE(r.body().empty());
}

TEST_F(UnsubscribeTest, EveryCategoryTokenSaysSo) {
  Reply r = get(token_for("shop", "ivan@example.com", ""));  // no category: every one
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_TRUE(contains(r.body(), "від усіх розсилок")) << r.body();
}

TEST_F(UnsubscribeTest, ForgedTokensAre404PagesThatSayNothingMore) {
  const std::string good = token_for("shop", "ivan@example.com", "marketing");
  // A character inside the tag (the last one may hold only padding bits).
  std::string flipped = good;
  char& c = flipped[flipped.size() - 5];
  c = c == 'A' ? 'B' : 'A';
  const std::string forged[] = {
      flipped,
      "not-a-token",
      good.substr(0, good.size() / 2),
      token_for("shop", "ivan@example.com", "marketing", "another-key-0123456789abcdef0123"),
      templating::seal_token(kTokenSecret, {"o1", "shop", "01KAQ3V7Z5C6W0N8R4T2Y9B1XE"}),
      std::string(3000, 'A'),
  };
  for (const std::string& token : forged) {
    Reply r = get(token);
    EXPECT_EQ(r.status, 404u) << token;
    EXPECT_EQ(r.header(http::field::content_type), "text/html; charset=utf-8");
    EXPECT_TRUE(contains(r.body(), "Посилання недійсне")) << r.body();
    EXPECT_FALSE(contains(r.body(), "ivan@example.com"));
    EXPECT_FALSE(contains(r.body(), "<form"));
    r = get(token, "en");
    EXPECT_EQ(r.status, 404u);
    EXPECT_TRUE(contains(r.body(), "This link is not valid"));

    r = post(token, kOneClick);
    EXPECT_EQ(r.status, 404u) << token;
    EXPECT_EQ(r.header(http::field::content_type), "text/plain; charset=utf-8");
    r = post(token, "confirm=1", kForm, "ru");
    EXPECT_EQ(r.status, 404u);
    EXPECT_TRUE(contains(r.body(), "Ссылка недействительна"));
  }
  EXPECT_EQ(shop_entries().size(), 0u);
}

TEST_F(UnsubscribeTest, OneClickUnsubscribesAtOnceWithoutAPage) {
  const std::string token = token_for("shop", "ivan@example.com", "marketing");
  EXPECT_EQ(send_status("ivan@example.com", "marketing"), "queued");

  Reply r = post(token, kOneClick);
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.header(http::field::content_type), "text/plain; charset=utf-8");
  EXPECT_FALSE(contains(r.body(), "<"));
  EXPECT_TRUE(r.header(http::field::location).empty());

  auto all = shop_entries();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(field(all[0], "tenant"), "shop");
  EXPECT_EQ(field(all[0], "channel"), "email");
  EXPECT_EQ(field(all[0], "address"), "ivan@example.com");
  EXPECT_EQ(field(all[0], "category"), "marketing");
  EXPECT_EQ(field(all[0], "reason"), "unsubscribed");
  EXPECT_EQ(field(all[0], "detail"), "one-click");

  // Idempotent.
  r = post(token, kOneClick);
  EXPECT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(shop_entries().size(), 1u);

  // What it is for: the category stops, transactional mail does not.
  EXPECT_EQ(send_status("ivan@example.com", "marketing"), "forbidden");
  EXPECT_EQ(send_status("ivan@example.com", "notifications"), "queued");
}

TEST_F(UnsubscribeTest, OneClickBodiesAsProvidersSendThem) {
  struct Case {
    std::string address;
    std::string type;
    std::string body;
  } cases[] = {
      {"a1@example.com", kForm, "List-Unsubscribe=One-Click\r\n"},
      {"a2@example.com", "application/x-www-form-urlencoded; charset=utf-8",
       "List-Unsubscribe=One-Click"},
      {"a3@example.com", kForm, "List-Unsubscribe=One%2DClick"},
      {"a4@example.com", "multipart/form-data; boundary=----x7MA4YWxk",
       "------x7MA4YWxk\r\n"
       "Content-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
       "One-Click\r\n"
       "------x7MA4YWxk--\r\n"},
      {"a5@example.com", "multipart/form-data; boundary=\"b1\"",
       "--b1\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n"
       "--b1\r\nContent-Type: text/plain\r\n"
       "Content-Disposition: form-data; name=List-Unsubscribe\r\n\r\nOne-Click\r\n--b1--"},
      {"a6@example.com", "", "List-Unsubscribe=One-Click"},
  };
  for (const auto& c : cases) {
    Reply r = post(token_for("shop", c.address, "news"), c.body, c.type);
    EXPECT_EQ(r.status, 200u) << c.address << " " << r.body();
    EXPECT_EQ(r.header(http::field::content_type), "text/plain; charset=utf-8") << c.address;
  }
  auto all = shop_entries();
  ASSERT_EQ(all.size(), std::size(cases));
  for (const auto& e : all) EXPECT_EQ(field(e, "detail"), "one-click");
}

TEST_F(UnsubscribeTest, ConfirmFromOurPageAnswersAPage) {
  const std::string token = token_for("shop", "olena@example.com", "newsletter");
  Reply r = post(token, "confirm=1");
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_EQ(r.header(http::field::content_type), "text/html; charset=utf-8");
  EXPECT_TRUE(contains(r.body(), "Вас відписано")) << r.body();
  EXPECT_TRUE(contains(r.body(), "olena@example.com"));
  EXPECT_FALSE(contains(r.body(), "<form"));
  auto all = shop_entries();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(field(all[0], "reason"), "unsubscribed");
  EXPECT_EQ(field(all[0], "detail"), "page");
  EXPECT_EQ(field(all[0], "category"), "newsletter");

  r = post(token, "confirm=1", kForm, "en");
  ASSERT_EQ(r.status, 200u);
  EXPECT_TRUE(contains(r.body(), "You are unsubscribed"));
  EXPECT_EQ(shop_entries().size(), 1u);
}

TEST_F(UnsubscribeTest, AnythingElseIs400AndChangesNothing) {
  const std::string token = token_for("shop", "ivan@example.com", "marketing");
  const std::pair<std::string, std::string> bodies[] = {
      {"", kForm},
      {"hello", kForm},
      {"List-Unsubscribe=Two-Clicks", kForm},
      {"confirm=0", kForm},
      {"confirm", kForm},
      {R"({"List-Unsubscribe": "One-Click"})", "application/json"},
      {"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nOne-Click\r\n--b--",
       "multipart/form-data; boundary=b"},
      {"List-Unsubscribe=One-Click", "multipart/form-data"},
  };
  for (const auto& [body, type] : bodies) {
    Reply r = post(token, body, type);
    EXPECT_EQ(r.status, 400u) << body;
  }
  EXPECT_EQ(shop_entries().size(), 0u);
}

TEST_F(UnsubscribeTest, NoKeyNoCookieAndALimitedBody) {
  const std::string token = token_for("shop", "ivan@example.com", "marketing");
  // A key that does not exist changes nothing: the route does not look.
  Reply r = call(http::verb::post, "/u/" + token, kOneClick, "no-such-key", kForm);
  EXPECT_EQ(r.status, 200u) << r.body();

  // Over 8 KiB: 413, whatever api.max_body_bytes allows elsewhere.
  r = post(token, std::string(kOneClick) + "&pad=" + std::string(9000, 'x'));
  EXPECT_EQ(r.status, 413u) << r.body().substr(0, 200);
  r = post(token, std::string(kOneClick) + "&pad=" + std::string(7000, 'x'));
  EXPECT_EQ(r.status, 200u) << r.body().substr(0, 200);
}

// Behind a proxy the link may live under another path: the button posts
// back to the path of email.unsubscribe_url.
class UnsubscribeUrlTest : public UnsubscribeTest {
 protected:
  void configure(core::Config& c) override {
    c.email.unsubscribe_url = "https://mail.school.example/unsubscribe/";
  }
};

TEST_F(UnsubscribeUrlTest, FormPostsToTheMailedPath) {
  const std::string token = token_for("shop", "ivan@example.com", "marketing");
  Reply r = get(token);
  ASSERT_EQ(r.status, 200u) << r.body();
  EXPECT_TRUE(contains(r.body(), "action=\"/unsubscribe/" + token + "\"")) << r.body();
}

}  // namespace
}  // namespace api
