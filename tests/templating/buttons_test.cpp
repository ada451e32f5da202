// tests/templating/buttons_test.cpp: parse_buttons(), button_limits(),
// check_buttons() (templating/channels.h). Errors are pinned with their
// exact field path and message.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <string_view>

#include "templating/channels.h"

namespace templating {
namespace {

core::Result<ButtonRows> parse(std::string_view json, std::string_view field = "buttons") {
  return parse_buttons(boost::json::parse(json), field);
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out.append(s);
  return out;
}

TEST(ButtonParse, NestedRows) {
  auto r = parse(R"([[{"text":"Трек","url":"https://x.ua/t/1"},{"text":"OK","payload":"ack:42"}],
                     [{"text":"Уроки","url":"HTTP://x.ua/l"}]])");
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  ASSERT_EQ((*r)[0].size(), 2u);
  EXPECT_EQ((*r)[0][0].text, "Трек");
  EXPECT_EQ((*r)[0][0].url, "https://x.ua/t/1");
  EXPECT_EQ((*r)[0][0].payload, "");
  EXPECT_EQ((*r)[0][1].payload, "ack:42");
  EXPECT_EQ((*r)[1][0].url, "HTTP://x.ua/l");
}

TEST(ButtonParse, FlatFormIsOneButtonPerRow) {
  auto r = parse(R"([{"text":"a","url":"https://x.ua"},{"text":"b","payload":"p"}])");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].size(), 1u);
  EXPECT_EQ((*r)[1][0].text, "b");
}

TEST(ButtonParse, FormsMayMix) {
  auto r = parse(R"([{"text":"a","payload":"1"},[{"text":"b","payload":"2"},{"text":"c","payload":"3"}]])");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].size(), 2u);
}

TEST(ButtonParse, EmptyArrayIsNoButtons) {
  auto r = parse("[]");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST(ButtonParse, NullMembersAreAbsent) {
  auto r = parse(R"([[{"text":"a","url":null,"payload":"p"}]])");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)[0][0].payload, "p");
}

TEST(ButtonParse, UrlMayHoldTemplatePlaceholders) {
  EXPECT_TRUE(parse(R"([[{"text":"{{ name }}","url":"https://x.ua/o/{{ order.id }}"}]])"));
}

TEST(ButtonParse, LimitsAtTheEdge) {
  const std::string text64 = repeat("ї", 64);  // 64 characters, 128 bytes
  const std::string payload64(64, 'p');
  std::string row = "[";
  for (int i = 0; i < 8; ++i) {
    row += std::string(i ? "," : "") + R"({"text":")" + text64 + R"(","payload":")" + payload64 + "\"}";
  }
  row += "]";
  std::string json = "[";
  for (int i = 0; i < 10; ++i) json += (i ? "," : "") + row;
  json += "]";
  auto r = parse(json);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->size(), kMaxButtonRows);
  EXPECT_EQ(r->back().size(), kMaxButtonsPerRow);
}

struct Bad {
  const char* name;
  std::string json;
  std::string field;
  std::string message;
};

std::vector<Bad> bad_cases() {
  const std::string b = R"({"text":"a","payload":"p"})";
  std::string eleven = "[";
  for (int i = 0; i < 11; ++i) eleven += (i ? "," : "") + ("[" + b + "]");
  eleven += "]";
  std::string nine = "[[";
  for (int i = 0; i < 9; ++i) nine += (i ? "," : "") + b;
  nine += "]]";
  return {
      {"not_array", R"({"text":"a"})", "buttons", "buttons: must be an array of button rows"},
      {"too_many_rows", eleven, "buttons", "buttons: at most 10 rows"},
      {"too_many_in_row", nine, "buttons[0]", "buttons[0]: at most 8 buttons per row"},
      {"empty_row", "[[" + b + "],[]]", "buttons[1]", "buttons[1]: a row needs at least one button"},
      {"row_not_array", "[42]", "buttons[0]",
       "buttons[0]: must be a button object or an array of buttons"},
      {"button_not_object", "[[" + b + ",\"x\"]]", "buttons[0][1]",
       "buttons[0][1]: must be a button object"},
      {"unknown_field", R"([[{"text":"a","payload":"p","color":"red"}]])", "buttons[0][0].color",
       "buttons[0][0].color: unknown field"},
      {"text_missing", "[[" + b + "],[{\"url\":\"https://x.ua\"}]]", "buttons[1][0].text",
       "buttons[1][0].text: is required"},
      {"text_null", R"([[{"text":null,"payload":"p"}]])", "buttons[0][0].text",
       "buttons[0][0].text: is required"},
      {"text_not_string", R"([[{"text":1,"payload":"p"}]])", "buttons[0][0].text",
       "buttons[0][0].text: must be a string"},
      {"text_empty", R"([[{"text":"","payload":"p"}]])", "buttons[0][0].text",
       "buttons[0][0].text: must not be empty"},
      {"text_blank", R"([[{"text":"   ","payload":"p"}]])", "buttons[0][0].text",
       "buttons[0][0].text: must not be empty"},
      {"text_too_long", R"([[{"text":")" + repeat("ї", 65) + R"(","payload":"p"}]])",
       "buttons[0][0].text", "buttons[0][0].text: at most 64 characters"},
      {"text_newline", R"([[{"text":"a\nb","payload":"p"}]])", "buttons[0][0].text",
       "buttons[0][0].text: must not contain control characters (CR, LF, tab, ...)"},
      {"url_not_http", "[[" + b + "],[{\"text\":\"a\",\"url\":\"ftp://x.ua\"}]]", "buttons[1][0].url",
       "buttons[1][0].url: must be an http or https URL"},
      {"url_javascript", R"j([[{"text":"a","url":"javascript:alert(1)"}]])j", "buttons[0][0].url",
       "buttons[0][0].url: must be an http or https URL"},
      {"url_no_host", R"([[{"text":"a","url":"https:///path"}]])", "buttons[0][0].url",
       "buttons[0][0].url: must be an http or https URL"},
      {"url_relative", R"([[{"text":"a","url":"/path"}]])", "buttons[0][0].url",
       "buttons[0][0].url: must be an http or https URL"},
      {"url_empty", R"([[{"text":"a","url":""}]])", "buttons[0][0].url",
       "buttons[0][0].url: must be an http or https URL"},
      {"url_crlf", R"([[{"text":"a","url":"https://x.ua/\r\nX: y"}]])", "buttons[0][0].url",
       "buttons[0][0].url: must be an http or https URL"},
      {"url_not_string", R"([[{"text":"a","url":["https://x.ua"]}]])", "buttons[0][0].url",
       "buttons[0][0].url: must be a string"},
      {"both", R"([[{"text":"a","url":"https://x.ua","payload":"p"}]])", "buttons[0][0]",
       "buttons[0][0]: give either url or payload, not both"},
      {"neither", R"([[{"text":"a"}]])", "buttons[0][0]", "buttons[0][0]: needs a url or a payload"},
      {"payload_empty", R"([[{"text":"a","payload":""}]])", "buttons[0][0].payload",
       "buttons[0][0].payload: must not be empty"},
      {"payload_too_long", R"([[{"text":"a","payload":")" + std::string(65, 'p') + "\"}]]",
       "buttons[0][0].payload", "buttons[0][0].payload: at most 64 bytes"},
      {"payload_bytes_not_chars", R"([[{"text":"a","payload":")" + repeat("ї", 33) + "\"}]]",
       "buttons[0][0].payload", "buttons[0][0].payload: at most 64 bytes"},
      {"flat_form_path", R"([{"text":"a","payload":"p"},{"text":"b","url":"mailto:a@x.ua"}])",
       "buttons[1].url", "buttons[1].url: must be an http or https URL"},
  };
}

TEST(ButtonParse, ErrorsNameTheField) {
  for (const Bad& c : bad_cases()) {
    auto r = parse(c.json);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument) << c.name;
    EXPECT_EQ(r.error().field, c.field) << c.name;
    EXPECT_EQ(r.error().message, c.message) << c.name;
  }
}

TEST(ButtonParse, FieldPrefixIsTheCallers) {
  auto r = parse(R"([[{"text":"a","url":"ftp://x"}]])", "content.buttons");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "content.buttons[0][0].url");
  EXPECT_EQ(r.error().to_string(),
            "invalid_argument: content.buttons[0][0].url: must be an http or https URL");
}

TEST(ButtonParse, UnprintableUnknownKeyIsNotEchoed) {
  auto r = parse(R"([[{"text":"a","payload":"p","x\ny":1}]])");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "buttons[0][0]");
  EXPECT_EQ(r.error().message, "buttons[0][0]: has an unknown field");
}

TEST(ButtonLimits, PerChannel) {
  struct Want {
    core::Channel channel;
    ButtonLimits lim;
  };
  const Want kWant[] = {
      {core::Channel::kTelegram, {10, 8, 80, 64, SIZE_MAX, true}},
      {core::Channel::kViber, {10, 6, 60, 64, SIZE_MAX, true}},
      {core::Channel::kVk, {6, 5, 10, 40, SIZE_MAX, true}},
      {core::Channel::kWhatsapp, {3, 3, 3, 20, 1, false}},
      {core::Channel::kEmail, {0, 0, 0, 0, 0, false}},
      {core::Channel::kSms, {0, 0, 0, 0, 0, false}},
  };
  for (const Want& w : kWant) {
    const ButtonLimits l = button_limits(w.channel);
    EXPECT_EQ(l.max_rows, w.lim.max_rows) << core::channel_name(w.channel);
    EXPECT_EQ(l.max_per_row, w.lim.max_per_row) << core::channel_name(w.channel);
    EXPECT_EQ(l.max_total, w.lim.max_total) << core::channel_name(w.channel);
    EXPECT_EQ(l.max_text, w.lim.max_text) << core::channel_name(w.channel);
    EXPECT_EQ(l.max_url, w.lim.max_url) << core::channel_name(w.channel);
    EXPECT_EQ(l.mix_url_and_payload, w.lim.mix_url_and_payload) << core::channel_name(w.channel);
    // Never wider than what parse_buttons() lets through.
    EXPECT_LE(l.max_rows, kMaxButtonRows);
    EXPECT_LE(l.max_per_row, kMaxButtonsPerRow);
    EXPECT_LE(l.max_text, kMaxButtonText);
  }
}

Button reply(std::string text, std::string payload = "p") { return Button{std::move(text), "", std::move(payload)}; }
Button link(std::string text, std::string url = "https://x.ua") { return Button{std::move(text), std::move(url), ""}; }

struct Check {
  const char* name;
  ButtonRows rows;
  core::Channel channel;
  std::string field;  // empty: OK
  std::string message;
};

std::vector<Check> check_cases() {
  using core::Channel;
  const ButtonRows grid_10x8(10, std::vector<Button>(8, reply("b")));
  return {
      {"no_rows_anywhere", {}, Channel::kSms, "", ""},
      {"telegram_full_grid", grid_10x8, Channel::kTelegram, "", ""},
      {"sms_has_none", {{reply("a")}}, Channel::kSms, "buttons", "buttons: sms messages cannot have buttons"},
      {"email_has_none", {{link("a")}}, Channel::kEmail, "buttons",
       "buttons: email messages cannot have buttons"},
      {"whatsapp_three_replies", {{reply("Так"), reply("Ні"), reply("Пізніше")}}, Channel::kWhatsapp, "", ""},
      {"whatsapp_four_in_a_row", {{reply("1"), reply("2"), reply("3"), reply("4")}}, Channel::kWhatsapp,
       "buttons[0]", "buttons[0]: at most 3 buttons per row on whatsapp"},
      {"whatsapp_four_in_rows", {{reply("1"), reply("2")}, {reply("3"), reply("4")}}, Channel::kWhatsapp,
       "buttons", "buttons: at most 3 buttons on whatsapp"},
      {"whatsapp_title_21", {{reply(std::string(21, 'x'))}}, Channel::kWhatsapp, "buttons[0][0].text",
       "buttons[0][0].text: at most 20 characters on whatsapp"},
      {"whatsapp_title_20_cyrillic", {{reply(repeat("ж", 20))}}, Channel::kWhatsapp, "", ""},
      {"whatsapp_one_url", {{link("Open")}}, Channel::kWhatsapp, "", ""},
      {"whatsapp_two_urls", {{link("a")}, {link("b")}}, Channel::kWhatsapp, "buttons[1][0].url",
       "buttons[1][0].url: at most 1 url button on whatsapp"},
      {"whatsapp_mixed", {{link("a"), reply("b")}}, Channel::kWhatsapp, "buttons[0][1]",
       "buttons[0][1]: whatsapp cannot mix url and payload buttons"},
      {"vk_six_in_a_row", {std::vector<Button>(6, reply("b"))}, Channel::kVk, "buttons[0]",
       "buttons[0]: at most 5 buttons per row on vk"},
      {"vk_seven_rows", ButtonRows(7, {reply("b")}), Channel::kVk, "buttons", "buttons: at most 6 rows on vk"},
      {"vk_eleven_buttons", ButtonRows(3, std::vector<Button>(4, reply("b"))), Channel::kVk, "buttons",
       "buttons: at most 10 buttons on vk"},
      {"vk_label_41", {{link(std::string(41, 'x'))}}, Channel::kVk, "buttons[0][0].text",
       "buttons[0][0].text: at most 40 characters on vk"},
      {"viber_seven_in_a_row", {std::vector<Button>(7, reply("b"))}, Channel::kViber, "buttons[0]",
       "buttons[0]: at most 6 buttons per row on viber"},
      {"final_url_with_space", {{link("a", "https://x.ua/a b")}}, Channel::kTelegram, "buttons[0][0].url",
       "buttons[0][0].url: must be an http or https URL"},
      {"rendered_text_empty", {{reply("")}}, Channel::kTelegram, "buttons[0][0].text",
       "buttons[0][0].text: must not be empty"},
      {"rendered_text_invalid_utf8", {{reply("a\xFF")}}, Channel::kTelegram, "buttons[0][0].text",
       "buttons[0][0].text: not valid UTF-8"},
      {"rendered_text_65", {{reply(repeat("ї", 65))}}, Channel::kTelegram, "buttons[0][0].text",
       "buttons[0][0].text: at most 64 characters"},
      {"rendered_both", {{Button{"a", "https://x.ua", "p"}}}, Channel::kViber, "buttons[0][0]",
       "buttons[0][0]: give either url or payload, not both"},
      {"empty_row", {{reply("a")}, {}}, Channel::kTelegram, "buttons[1]",
       "buttons[1]: a row needs at least one button"},
  };
}

TEST(ButtonCheck, PerChannel) {
  for (const Check& c : check_cases()) {
    const core::Status st = check_buttons(c.rows, c.channel);
    if (c.field.empty()) {
      EXPECT_TRUE(st) << c.name << ": " << st.error().to_string();
      continue;
    }
    ASSERT_FALSE(st) << c.name;
    EXPECT_EQ(st.error().code, core::Errc::kInvalidArgument) << c.name;
    EXPECT_EQ(st.error().field, c.field) << c.name;
    EXPECT_EQ(st.error().message, c.message) << c.name;
  }
}

TEST(ButtonCheck, ParsedButtonsPassTheirChannel) {
  auto r = parse(R"([[{"text":"Трек","url":"https://x.ua/t/1"},{"text":"OK","payload":"ack:42"}]])");
  ASSERT_TRUE(r);
  EXPECT_TRUE(check_buttons(*r, core::Channel::kTelegram));
  EXPECT_TRUE(check_buttons(*r, core::Channel::kViber));
  EXPECT_TRUE(check_buttons(*r, core::Channel::kVk));
  EXPECT_FALSE(check_buttons(*r, core::Channel::kWhatsapp));  // mixed
}

}  // namespace
}  // namespace templating
