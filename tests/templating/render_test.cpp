// tests/templating/render_test.cpp: templating/render.cpp — content compiled
// per part, rendered per channel, and composed into an email.
#include "templating/render.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "templating/token.h"

namespace templating {
namespace {

core::TemplateSource email_source() {
  core::TemplateSource s;
  s.subject = "{{name}}, замовлення №{{order.id}}";
  s.html = "<p>Вітаємо, <b>{{name}}</b>!</p><p><a href=\"{{url}}\">Урок</a></p>";
  s.preheader = "Квитанція №{{order.id}}";
  return s;
}

constexpr const char* kVars = R"({"name":"Іван","order":{"id":1842},"url":"https://school.example/l/1"})";

core::Result<Rendered> render(const core::TemplateSource& s, core::Channel c,
                              std::string_view vars = kVars, RenderLimits limits = {}) {
  auto compiled = CompiledContent::compile(s);
  if (!compiled) return compiled.error();
  return (*compiled)->render(c, vars, core::from_unix_ms(0), limits);
}

TEST(RenderTest, EmailPartsAndDerivedText) {
  auto r = render(email_source(), core::Channel::kEmail);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->subject, "Іван, замовлення №1842");
  EXPECT_EQ(r->html, "<p>Вітаємо, <b>Іван</b>!</p><p><a href=\"https://school.example/l/1\">Урок</a></p>");
  EXPECT_NE(r->text.find("Вітаємо, Іван!"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("Урок (https://school.example/l/1)"), std::string::npos) << r->text;
  EXPECT_EQ(r->preheader, "Квитанція №1842");
  EXPECT_TRUE(r->missing.empty());
}

TEST(RenderTest, HtmlOutputIsEscapedAndMissingIsReported) {
  core::TemplateSource s;
  s.subject = "{{name}}";
  s.html = "<p>{{name}} {{nope}}</p>";
  auto r = render(s, core::Channel::kEmail, R"({"name":"<script>"})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->html, "<p>&lt;script&gt; </p>");
  EXPECT_EQ(r->subject, "<script>");  // headers are not HTML
  ASSERT_EQ(r->missing.size(), 1u);
  EXPECT_EQ(r->missing[0], "nope");
  s.strict = true;
  auto strict = render(s, core::Channel::kEmail, R"({"name":"x"})");
  ASSERT_FALSE(strict.has_value());
  EXPECT_EQ(strict.error().field, "variables");
  EXPECT_NE(strict.error().message.find("nope"), std::string::npos);
}

TEST(RenderTest, CompileErrorsNameThePartWithPosition) {
  core::TemplateSource s;
  s.subject = "ok";
  s.text = "line one\n  {{#each items}}";
  auto c = CompiledContent::compile(s);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().field, "text");
  EXPECT_EQ(c.error().message.rfind("text: line ", 0), 0u) << c.error().message;

  core::TemplateSource none;
  auto empty = CompiledContent::compile(none);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().field, "content");

  core::TemplateSource b;
  b.text = "t";
  b.buttons_json = R"([{"text":"Go","url":"{{url}}","payload":"x"}])";
  auto both = CompiledContent::compile(b);
  ASSERT_FALSE(both.has_value());
  EXPECT_EQ(both.error().field, "buttons[0]");
  b.buttons_json = R"([[{"text":"{{#if}}","url":"https://x.example"}]])";
  auto bad = CompiledContent::compile(b);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field, "buttons[0][0].text");
}

TEST(RenderTest, TelegramGetsTheHtmlSubsetAndTheLengthLimit) {
  core::TemplateSource s;
  s.html = "<div><h1>Замовлення</h1><p><b>{{name}}</b>, <span style=\"x\">дякуємо</span></p></div>";
  auto r = render(s, core::Channel::kTelegram);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_NE(r->html.find("<b>Іван</b>"), std::string::npos) << r->html;
  EXPECT_EQ(r->html.find("<div"), std::string::npos) << r->html;
  EXPECT_EQ(r->html.find("<span"), std::string::npos) << r->html;

  core::TemplateSource t;
  t.text = "{{text}}";
  auto plain = render(t, core::Channel::kTelegram, R"({"text":"a < b & c"})");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->html, "a &lt; b &amp; c");

  const std::string long_text(4097, 'x');
  auto too_long = render(t, core::Channel::kTelegram, R"({"text":")" + long_text + "\"}");
  ASSERT_FALSE(too_long.has_value());
  EXPECT_NE(too_long.error().message.find("4096"), std::string::npos);
  auto exact = render(t, core::Channel::kTelegram, R"({"text":")" + std::string(4096, 'x') + "\"}");
  EXPECT_TRUE(exact.has_value());
  auto empty = render(t, core::Channel::kTelegram, R"({"text":"  "})");
  EXPECT_FALSE(empty.has_value());
}

TEST(RenderTest, SmsCountsSegmentsAndRefusesTooMany) {
  core::TemplateSource s;
  s.text = "{{t}}";
  auto gsm = render(s, core::Channel::kSms, R"({"t":")" + std::string(161, 'a') + "\"}");
  ASSERT_TRUE(gsm.has_value());
  EXPECT_EQ(gsm->sms.encoding, SmsEncoding::kGsm7);
  EXPECT_EQ(gsm->sms.segments, 2u);
  auto ucs = render(s, core::Channel::kSms, R"({"t":"Привіт"})");
  ASSERT_TRUE(ucs.has_value());
  EXPECT_EQ(ucs->sms.encoding, SmsEncoding::kUcs2);
  EXPECT_EQ(ucs->sms.segments, 1u);
  auto many = render(s, core::Channel::kSms, R"({"t":")" + std::string(153 * 3 + 1, 'a') + "\"}",
                     RenderLimits{3});
  ASSERT_FALSE(many.has_value());
  EXPECT_NE(many.error().message.find("4 segments"), std::string::npos) << many.error().message;
  // SMS from HTML-only content: the text derived from it.
  core::TemplateSource h;
  h.html = "<p>Код: <b>{{code}}</b></p>";
  auto from_html = render(h, core::Channel::kSms, R"({"code":"4821"})");
  ASSERT_TRUE(from_html.has_value());
  EXPECT_EQ(from_html->text, "Код: 4821");
}

TEST(RenderTest, MessengerButtonsAreRenderedAndChecked) {
  core::TemplateSource s;
  s.text = "Новий урок: {{title}}";
  s.buttons_json = R"([[{"text":"Відкрити {{title}}","url":"{{url}}"}],[{"text":"OK","payload":"ack:{{id}}"}]])";
  auto r = render(s, core::Channel::kTelegram,
                  R"({"title":"Основи","url":"https://school.example/l/1","id":42})");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->buttons.size(), 2u);
  EXPECT_EQ(r->buttons[0][0].text, "Відкрити Основи");
  EXPECT_EQ(r->buttons[0][0].url, "https://school.example/l/1");
  EXPECT_EQ(r->buttons[1][0].payload, "ack:42");
  // A url that renders to something that is not http(s) is refused.
  auto bad = render(s, core::Channel::kViber, R"J({"title":"x","url":"javascript:alert(1)","id":1})J");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field.rfind("buttons", 0), 0u) << bad.error().field;
  // Email and SMS ignore buttons.
  auto email = render(s, core::Channel::kSms, R"({"title":"x","url":"javascript:","id":1})");
  EXPECT_TRUE(email.has_value());
}

core::MessageRecord email_record(std::string category) {
  core::MessageRecord r;
  r.id = core::Id::parse("01KAQ3V7Z5C6W0N8R4T2Y9B1XE").value();
  r.tenant = "school";
  r.created_at = core::from_unix_ms(1'795'000'000'000);
  r.request.channels = {core::Channel::kEmail};
  r.request.to = core::Recipient{"ivan@example.com", "Іван Петренко", "", "", "", "", ""};
  r.request.from = core::Sender{"news@mail.school.example", "Онлайн-школа"};
  r.request.category = std::move(category);
  r.request.tags = {core::Tag{"campaign", "black-friday"}};
  return r;
}

TEST(ComposeEmailTest, BulkMailGetsOneClickUnsubscribeWithAVerifiableToken) {
  auto r = render(email_source(), core::Channel::kEmail);
  ASSERT_TRUE(r.has_value());
  core::EmailConfig cfg;
  cfg.unsubscribe_url = "https://mail.school.example/u/";
  cfg.unsubscribe_mailto = "unsub@mail.school.example";
  const std::string key(32, 'k');
  std::string out;
  ASSERT_TRUE(compose_email(*r, email_record("marketing"), cfg, key, out));
  EXPECT_NE(out.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), std::string::npos);
  const size_t at = out.find("https://mail.school.example/u/");
  ASSERT_NE(at, std::string::npos) << out;
  const size_t start = at + cfg.unsubscribe_url.size();
  const std::string token = out.substr(start, out.find('>', start) - start);
  auto fields = open_token(key, token);
  ASSERT_TRUE(fields.has_value()) << fields.error().to_string();
  EXPECT_EQ(*fields, (std::vector<std::string>{std::string(kUnsubscribeTokenKind), "school", "email",
                                               "ivan@example.com", "marketing"}));
  EXPECT_FALSE(open_token(std::string(32, 'x'), token).has_value());
  EXPECT_NE(out.find("Feedback-ID: black-friday:marketing:school:vestnik\r\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("X-Vestnik-Id: 01KAQ3V7Z5C6W0N8R4T2Y9B1XE\r\n"), std::string::npos);
  EXPECT_NE(out.find("Message-ID: <01KAQ3V7Z5C6W0N8R4T2Y9B1XE@mail.school.example>\r\n"),
            std::string::npos)
      << out;
}

TEST(ComposeEmailTest, TransactionalMailHasNoListUnsubscribeAndNoTracking) {
  auto r = render(email_source(), core::Channel::kEmail);
  ASSERT_TRUE(r.has_value());
  core::EmailConfig cfg;
  cfg.unsubscribe_url = "https://mail.school.example/u/";
  cfg.click_url = "https://mail.school.example/c/";
  cfg.track_click_categories = {"marketing"};
  std::string out;
  ASSERT_TRUE(compose_email(*r, email_record("notifications"), cfg, std::string(32, 'k'), out));
  EXPECT_EQ(out.find("List-Unsubscribe"), std::string::npos);
  EXPECT_EQ(out.find("/c/"), std::string::npos);
}

TEST(ComposeEmailTest, ClickAndOpenTrackingWhenEnabledForTheCategory) {
  auto r = render(email_source(), core::Channel::kEmail);
  ASSERT_TRUE(r.has_value());
  core::EmailConfig cfg;
  cfg.click_url = "https://t.school.example/c/";
  cfg.open_url = "https://t.school.example/o/";
  cfg.track_click_categories = {"*"};
  cfg.track_open_categories = {"marketing"};
  const std::string key(32, 'k');
  const std::string html = apply_tracking(r->html, email_record("marketing"), cfg, key);
  const size_t c = html.find("href=\"https://t.school.example/c/");
  ASSERT_NE(c, std::string::npos) << html;
  const size_t start = c + 6 + cfg.click_url.size();
  auto fields = open_token(key, html.substr(start, html.find('"', start) - start));
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ((*fields)[0], "c1");
  EXPECT_EQ((*fields)[3], "https://school.example/l/1");
  EXPECT_NE(html.find("<img"), std::string::npos) << html;
  EXPECT_NE(html.find("https://t.school.example/o/"), std::string::npos) << html;
  // Opens only for listed categories; nothing at all for others.
  const std::string news = apply_tracking(r->html, email_record("news"), cfg, key);
  EXPECT_EQ(news.find("/o/"), std::string::npos);
  EXPECT_NE(news.find("/c/"), std::string::npos);
  core::EmailConfig off;
  EXPECT_EQ(apply_tracking(r->html, email_record("marketing"), off, key), r->html);
  // Per message: on for a category that is not listed, off for one that is.
  core::MessageRecord on = email_record("news");
  on.request.track_opens = core::Tracking::kOn;
  EXPECT_NE(apply_tracking(r->html, on, cfg, key).find("/o/"), std::string::npos);
  core::MessageRecord no = email_record("marketing");
  no.request.track_clicks = core::Tracking::kOff;
  no.request.track_opens = core::Tracking::kOff;
  EXPECT_EQ(apply_tracking(r->html, no, cfg, key), r->html);
  const core::MessageRecord rec = email_record("marketing");
  EXPECT_TRUE(is_bulk(rec, cfg));
  core::MessageRecord bulk = email_record("notifications");
  EXPECT_FALSE(is_bulk(bulk, cfg));
  bulk.request.priority = core::Priority::kBulk;
  EXPECT_TRUE(is_bulk(bulk, cfg));
}

}  // namespace
}  // namespace templating
