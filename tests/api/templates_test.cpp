// tests/api/templates_test.cpp: /v1/templates and /v1/messages:preview over
// a real server on loopback (api/routes_templates.cpp), sharing
// server_test.cpp's fixture through server_fixture.h.
#include "server_fixture.h"

namespace api {
namespace {

using TemplatesTest = ServerTest;

constexpr const char* kOrderPaid = R"({
  "channel": "email",
  "subject": "Замовлення №{{order.id}} оплачено",
  "html": "<p>{{name | default: \"друже\"}}, дякуємо!</p>{{#each order.items}}<p>{{title}}</p>{{/each}}",
  "text": "{{name | default: \"друже\"}}, дякуємо!",
  "preheader": "Квитанція №{{order.id}}",
  "locale": "uk",
  "time_zone": "Europe/Kyiv"
})";

TEST_F(TemplatesTest, PutGetListDeleteRoundTrip) {
  Reply put = call(http::verb::put, "/v1/templates/order_paid", kOrderPaid, kShopKey);
  ASSERT_EQ(put.status, 201u) << put.body();
  auto v = put.json();
  EXPECT_EQ(v.at("version").as_int64(), 1);
  EXPECT_EQ(v.at("subject").as_string(), "Замовлення №{{order.id}} оплачено");
  EXPECT_EQ(v.at("time_zone").as_string(), "Europe/Kyiv");

  Reply put2 = call(http::verb::put, "/v1/templates/order_paid", kOrderPaid, kShopKey);
  ASSERT_EQ(put2.status, 200u) << put2.body();
  EXPECT_EQ(put2.json().at("version").as_int64(), 2);

  Reply get = call(http::verb::get, "/v1/templates/order_paid", {}, kShopKey);
  ASSERT_EQ(get.status, 200u) << get.body();
  EXPECT_EQ(get.json().at("version").as_int64(), 2);
  Reply get1 = call(http::verb::get, "/v1/templates/order_paid?version=1", {}, kShopKey);
  ASSERT_EQ(get1.status, 200u) << get1.body();
  EXPECT_EQ(get1.json().at("version").as_int64(), 1);

  // Another tenant sees nothing of it.
  EXPECT_EQ(call(http::verb::get, "/v1/templates/order_paid", {}, kSchoolKey).status, 404u);
  Reply list = call(http::verb::get, "/v1/templates", {}, kShopKey);
  ASSERT_EQ(list.status, 200u);
  ASSERT_EQ(list.json().at("templates").as_array().size(), 1u);
  EXPECT_EQ(call(http::verb::get, "/v1/templates", {}, kSchoolKey).json().at("templates").as_array().size(),
            0u);

  Reply del = call(http::verb::delete_, "/v1/templates/order_paid", {}, kShopKey);
  ASSERT_EQ(del.status, 200u) << del.body();
  EXPECT_TRUE(del.json().at("deleted").as_bool());
  EXPECT_EQ(call(http::verb::get, "/v1/templates/order_paid", {}, kShopKey).status, 404u);
  EXPECT_EQ(call(http::verb::delete_, "/v1/templates/order_paid", {}, kShopKey).status, 404u);
  EXPECT_EQ(call(http::verb::get, "/v1/templates/order_paid?version=2", {}, kShopKey).status, 200u);
}

TEST_F(TemplatesTest, TemplateThatDoesNotCompileIs400WithLineAndColumn) {
  Reply r = call(http::verb::put, "/v1/templates/broken",
                 R"({"subject":"ok","html":"<p>\n  {{#if paid}}yes</p>"})", kShopKey);
  ASSERT_EQ(r.status, 400u) << r.body();
  EXPECT_EQ(r.error_field(), "html");
  const std::string msg(r.json().at("error").at("message").as_string());
  EXPECT_NE(msg.find("line "), std::string::npos) << msg;
  EXPECT_NE(msg.find("column "), std::string::npos) << msg;
  EXPECT_EQ(call(http::verb::get, "/v1/templates/broken", {}, kShopKey).status, 404u);
}

TEST_F(TemplatesTest, BadTemplateBodiesNameTheField) {
  struct Case {
    const char* body;
    const char* field;
  } cases[] = {
      {R"({"subject":"a\r\nBcc: x@y","text":"t"})", "subject"},
      {R"({"text":"t","colour":"red"})", "colour"},
      {R"({"text":"t","locale":"de"})", "locale"},
      {R"({"text":"t","time_zone":"Mars/Olympus"})", "time_zone"},
      {R"({"text":"t","time_zone":"../../etc/passwd"})", "time_zone"},
      {R"({"text":"t","channel":"pigeon"})", "channel"},
      {R"({"text":"t","buttons":{"text":"x"}})", "buttons"},
      {R"({"text":"t","buttons":[{"text":"x"}]})", "buttons[0]"},
      {R"({"text":"t","strict":"yes"})", "strict"},
      {R"({"locale":"uk"})", "text"},
      {R"({"text":"a\u0000b"})", "text"},
      {R"({"subject":"a\tb","html":"x\u0000"})", "html"},
      {R"([1,2])", "body"},
  };
  for (const auto& c : cases) {
    Reply r = call(http::verb::put, "/v1/templates/t1", c.body, kShopKey);
    EXPECT_EQ(r.status, 400u) << c.body << " -> " << r.body();
    EXPECT_EQ(r.error_field(), c.field) << c.body << " -> " << r.body();
  }
  Reply bad_id = call(http::verb::put, "/v1/templates/a:b", R"({"text":"t"})", kShopKey);
  EXPECT_EQ(bad_id.status, 400u);
}

TEST_F(TemplatesTest, MessagesUseTheTemplateAndStrictRefusesMissingVariables) {
  ASSERT_EQ(call(http::verb::put, "/v1/templates/order_paid", kOrderPaid, kShopKey).status, 201u);
  const std::string body = R"({"channel":"email","to":{"email":"ivan@example.com"},
      "from":{"email":"school@mail.example.com"},"template_id":"order_paid",
      "variables":{"name":"Іван","order":{"id":1842}}})";
  const std::string id = send_ok(body);
  ASSERT_FALSE(id.empty());

  Reply unknown = call(http::verb::post, "/v1/messages",
                       R"({"channel":"email","to":{"email":"a@example.com"},"template_id":"nope"})",
                       kShopKey);
  EXPECT_EQ(unknown.status, 400u) << unknown.body();
  EXPECT_EQ(unknown.error_field(), "template_id");

  std::string strict = kOrderPaid;
  strict.insert(strict.rfind('}'), R"(, "strict": true)");
  ASSERT_EQ(call(http::verb::put, "/v1/templates/strict_one", strict, kShopKey).status, 201u);
  Reply missing = call(http::verb::post, "/v1/messages",
                       R"({"channel":"email","to":{"email":"a@example.com"},
                           "from":{"email":"school@mail.example.com"},
                           "template_id":"strict_one","variables":{"name":"A"}})",
                       kShopKey);
  EXPECT_EQ(missing.status, 400u) << missing.body();
  EXPECT_EQ(missing.error_field(), "variables");
}

TEST_F(TemplatesTest, InlineContentThatDoesNotCompileIs400) {
  Reply r = call(http::verb::post, "/v1/messages",
                 R"({"channel":"email","to":{"email":"a@example.com"},"subject":"s",
                     "text":"Hi {{#each x}}"})",
                 kShopKey);
  EXPECT_EQ(r.status, 400u) << r.body();
  EXPECT_EQ(r.error_field(), "text");
}

TEST_F(TemplatesTest, PreviewRendersEmailWithMimeAndTelegramAndSms) {
  ASSERT_EQ(call(http::verb::put, "/v1/templates/order_paid", kOrderPaid, kShopKey).status, 201u);
  Reply email = call(http::verb::post, "/v1/messages:preview",
                     R"({"channel":"email","to":{"email":"ivan@example.com","name":"Іван Петренко"},
                         "from":{"email":"school@mail.example.com","name":"Онлайн-школа"},
                         "template_id":"order_paid",
                         "variables":{"name":"Іван","order":{"id":1842,"items":[{"title":"Курс"}]}}})",
                     kShopKey);
  ASSERT_EQ(email.status, 200u) << email.body();
  auto e = email.json();
  EXPECT_EQ(e.at("subject").as_string(), "Замовлення №1842 оплачено");
  EXPECT_EQ(e.at("html").as_string(), "<p>Іван, дякуємо!</p><p>Курс</p>");
  EXPECT_EQ(e.at("preheader").as_string(), "Квитанція №1842");
  const std::string mime(e.at("mime").as_string());
  EXPECT_NE(mime.find("Subject: =?UTF-8?"), std::string::npos) << mime;
  EXPECT_NE(mime.find("MIME-Version: 1.0\r\n"), std::string::npos) << mime;
  EXPECT_NE(mime.find("X-Vestnik-Id: "), std::string::npos) << mime;
  EXPECT_EQ(mime.find("List-Unsubscribe"), std::string::npos);  // notifications are not bulk

  Reply tg = call(http::verb::post, "/v1/messages:preview",
                  R"({"channel":"telegram","to":{"telegram_chat_id":"12345"},
                      "html":"<div><b>{{name}}</b> & <script>x</script>co</div>",
                      "variables":{"name":"<Оля>"}})",
                  kShopKey);
  ASSERT_EQ(tg.status, 200u) << tg.body();
  EXPECT_EQ(tg.json().at("parse_mode").as_string(), "HTML");
  const std::string text(tg.json().at("text").as_string());
  EXPECT_NE(text.find("<b>&lt;Оля&gt;</b> &amp;"), std::string::npos) << text;
  EXPECT_EQ(text.find("script"), std::string::npos) << text;

  Reply sms = call(http::verb::post, "/v1/messages:preview",
                   R"({"channel":"sms","to":{"phone":"+380671234567"},
                       "text":"Код: {{code}}","variables":{"code":"4821"}})",
                   kShopKey);
  ASSERT_EQ(sms.status, 200u) << sms.body();
  EXPECT_EQ(sms.json().at("text").as_string(), "Код: 4821");
  EXPECT_EQ(sms.json().at("sms").at("encoding").as_string(), "ucs2");
  EXPECT_EQ(sms.json().at("sms").at("segments").as_int64(), 1);
}

}  // namespace
}  // namespace api
