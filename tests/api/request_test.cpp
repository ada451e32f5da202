// tests/api/request_test.cpp: api/request_json.cpp and api/request_proto.cpp
// with api/validate.cpp — wire bodies to validated core::MessageRequest.
//
// Table-driven: one valid full request, then one row per rule that breaks
// exactly one field and names the field the error must point at.
#include "api/request.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/time_format.h"
#include "vestnik/v1/messages.pb.h"

namespace api {
namespace {

namespace json = boost::json;

const core::TimePoint kNow = *core::parse_rfc3339("2026-11-24T08:00:00Z");

ParseOptions options(uint32_t max_batch = 10000) {
  ParseOptions o;
  o.now = kNow;
  o.max_batch = max_batch;
  return o;
}

// The example of API.md, inline content instead of a template.
json::object full_request() {
  return json::parse(R"({
    "idempotency_key": "order-1842-created",
    "channels": ["telegram", "email"],
    "to": {"email": "ivan@example.com", "name": "Іван Петренко",
           "telegram_chat_id": "123456789", "phone": "+380671234567",
           "vk_peer_id": "12345", "viber_id": "01234567890A+b/c=", "whatsapp": "+380671234567"},
    "from": {"email": "school@mail.example.com", "name": "Онлайн-школа"},
    "category": "notifications",
    "subject": "Замовлення 1842", "html": "<p>Дякуємо!</p>", "text": "Дякуємо!",
    "variables": {"name": "Іван", "order": {"id": 1842, "items": [{"title": "Курс", "price": "990 ₴"}]}},
    "send_at": "2026-11-24T09:00:00Z",
    "expires_at": "2026-11-25T09:00:00Z",
    "priority": "transactional",
    "tags": {"campaign": "black-friday"}
  })")
      .as_object();
}

core::Result<core::MessageRequest> parse(const json::object& o) {
  return parse_message_json(json::serialize(o), options());
}

TEST(RequestTest, FullRequestMapsEveryField) {
  auto r = parse(full_request());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->idempotency_key, "order-1842-created");
  ASSERT_EQ(r->channels.size(), 2u);
  EXPECT_EQ(r->channels[0], core::Channel::kTelegram);
  EXPECT_EQ(r->channels[1], core::Channel::kEmail);
  EXPECT_EQ(r->to.email, "ivan@example.com");
  EXPECT_EQ(r->to.name, "Іван Петренко");
  EXPECT_EQ(r->to.telegram_chat_id, "123456789");
  EXPECT_EQ(r->to.phone, "+380671234567");
  EXPECT_EQ(r->to.vk_peer_id, "12345");
  EXPECT_EQ(r->to.viber_id, "01234567890A+b/c=");
  EXPECT_EQ(r->to.whatsapp, "+380671234567");
  EXPECT_EQ(r->from.email, "school@mail.example.com");
  EXPECT_EQ(r->from.name, "Онлайн-школа");
  EXPECT_EQ(r->category, "notifications");
  EXPECT_EQ(r->content.template_id, "");
  EXPECT_EQ(r->content.subject, "Замовлення 1842");
  EXPECT_EQ(r->content.html, "<p>Дякуємо!</p>");
  EXPECT_EQ(r->content.text, "Дякуємо!");
  EXPECT_EQ(json::parse(r->variables_json), full_request()["variables"]);
  EXPECT_EQ(r->variables_json, json::serialize(json::parse(r->variables_json))) << "stored compact";
  ASSERT_TRUE(r->send_at);
  EXPECT_EQ(*r->send_at, *core::parse_rfc3339("2026-11-24T09:00:00Z"));
  ASSERT_TRUE(r->expires_at);
  EXPECT_EQ(*r->expires_at, *core::parse_rfc3339("2026-11-25T09:00:00Z"));
  EXPECT_EQ(r->priority, core::Priority::kTransactional);
  ASSERT_EQ(r->tags.size(), 1u);
  EXPECT_EQ(r->tags[0].key, "campaign");
  EXPECT_EQ(r->tags[0].value, "black-friday");
}

TEST(RequestTest, MinimalRequestGetsDefaults) {
  auto r = parse_message_json(
      R"({"channel":"telegram","to":{"telegram_chat_id":"-1001234567890"},"text":"hi"})",
      options());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->channels.size(), 1u);
  EXPECT_EQ(r->channels[0], core::Channel::kTelegram);
  EXPECT_EQ(r->category, "notifications");
  EXPECT_EQ(r->priority, core::Priority::kNormal);
  EXPECT_EQ(r->variables_json, "{}");
  EXPECT_FALSE(r->send_at);
  EXPECT_FALSE(r->expires_at);
  EXPECT_TRUE(r->tags.empty());
}

TEST(RequestTest, PreheaderButtonsAndTracking) {
  auto r = parse_message_json(
      R"({"channels":["viber","email"],"to":{"viber_id":"abc","email":"a@example.com"},
          "subject":"s","text":"t","preheader":"Квитанція",
          "buttons":[[{"text":"Відкрити","url":"https://x.example/{{id}}"}]],
          "tracking":{"clicks":true,"opens":false}})",
      options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->content.preheader, "Квитанція");
  EXPECT_EQ(r->content.buttons_json, R"([[{"text":"Відкрити","url":"https://x.example/{{id}}"}]])");
  EXPECT_EQ(r->track_clicks, core::Tracking::kOn);
  EXPECT_EQ(r->track_opens, core::Tracking::kOff);

  auto none = parse_message_json(R"({"channel":"email","to":{"email":"a@example.com"},
                                     "subject":"s","text":"t","tracking":{"opens":null}})",
                                 options());
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(none->track_clicks, core::Tracking::kDefault);
  EXPECT_EQ(none->track_opens, core::Tracking::kDefault);

  struct Bad {
    const char* body;
    const char* field;
  } bad[] = {
      {R"({"channel":"email","to":{"email":"a@example.com"},"subject":"s","text":"t","tracking":{"clicks":"yes"}})",
       "tracking.clicks"},
      {R"({"channel":"email","to":{"email":"a@example.com"},"subject":"s","text":"t","tracking":{"links":true}})",
       "tracking.links"},
      {R"({"channel":"email","to":{"email":"a@example.com"},"subject":"s","text":"t","tracking":true})",
       "tracking"},
      {R"({"channel":"email","to":{"email":"a@example.com"},"subject":"s","text":"t","buttons":{}})",
       "buttons"},
      {R"({"channel":"email","to":{"email":"a@example.com"},"subject":"s","text":"t","preheader":"a\nb"})",
       "preheader"},
      {R"({"channel":"email","to":{"email":"a@example.com"},"template_id":"x","preheader":"p"})",
       "template_id"},
  };
  for (const auto& b : bad) {
    auto e = parse_message_json(b.body, options());
    ASSERT_FALSE(e) << b.body;
    EXPECT_EQ(e.error().field, b.field) << b.body << " -> " << e.error().message;
  }
}

TEST(RequestTest, TemplateInsteadOfInlineContent) {
  auto r = parse_message_json(
      R"({"channels":["email"],"to":{"email":"ivan@example.com"},"template_id":"order_created.v2",
          "variables":{"order":1842}})",
      options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->content.template_id, "order_created.v2");
  EXPECT_EQ(r->variables_json, R"({"order":1842})");
}

TEST(RequestTest, LowerCamelCaseNamesAreAccepted) {
  auto r = parse_message_json(
      R"({"idempotencyKey":"k1","channels":["telegram","vk","viber"],
          "to":{"telegramChatId":"@school_news","vkPeerId":"-42","viberId":"abc"},
          "templateId":"welcome","sendAt":"2026-11-24T09:00:00+02:00",
          "expiresAt":"2026-11-24T12:00:00Z"})",
      options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->idempotency_key, "k1");
  EXPECT_EQ(r->to.telegram_chat_id, "@school_news");
  EXPECT_EQ(r->to.vk_peer_id, "-42");
  EXPECT_EQ(r->to.viber_id, "abc");
  EXPECT_EQ(r->content.template_id, "welcome");
  EXPECT_EQ(*r->send_at, *core::parse_rfc3339("2026-11-24T07:00:00Z"));
  EXPECT_TRUE(r->expires_at);
}

TEST(RequestTest, NullMeansAbsent) {
  auto o = full_request();
  o["category"] = nullptr;
  o["variables"] = nullptr;
  o["tags"] = nullptr;
  o["from"] = nullptr;
  o["send_at"] = nullptr;
  auto r = parse(o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->category, "notifications");
  EXPECT_EQ(r->variables_json, "{}");
  EXPECT_TRUE(r->tags.empty());
  EXPECT_TRUE(r->from.email.empty());
  EXPECT_FALSE(r->send_at);
}

TEST(RequestTest, IdnAddressesAreAccepted) {
  auto o = full_request();
  o["to"].as_object()["email"] = "іван@приклад.укр";
  o["from"].as_object()["email"] = "school@xn--80ak6aa92e.com";
  auto r = parse(o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->to.email, "іван@приклад.укр");
}

struct BadCase {
  const char* name;
  std::function<void(json::object&)> mutate;
  std::string field;
  std::string message;  // a substring of the error message
};

json::object& to(json::object& o) { return o["to"].as_object(); }

TEST(RequestTest, EveryFieldRejectsBadValuesNamingTheField) {
  const BadCase cases[] = {
      // idempotency_key
      {"key type", [](json::object& o) { o["idempotency_key"] = 5; }, "idempotency_key",
       "idempotency_key: expected a string"},
      {"key newline", [](json::object& o) { o["idempotency_key"] = "a\nb"; }, "idempotency_key",
       "printable"},
      {"key long", [](json::object& o) { o["idempotency_key"] = std::string(256, 'k'); },
       "idempotency_key", ""},
      {"key non-ascii", [](json::object& o) { o["idempotency_key"] = "ключ"; }, "idempotency_key",
       ""},
      // channels / channel
      {"channel and channels", [](json::object& o) { o["channel"] = "email"; }, "channel",
       "not both"},
      {"no channels", [](json::object& o) { o.erase("channels"); }, "channels", "required"},
      {"channels not array", [](json::object& o) { o["channels"] = "email"; }, "channels",
       "expected an array"},
      {"channel item type", [](json::object& o) { o["channels"] = json::array{1}; }, "channels[0]",
       "expected a string"},
      {"unknown channel", [](json::object& o) { o["channels"] = json::array{"email", "fax"}; },
       "channels[1]", "'fax' is not a channel"},
      {"duplicate channel", [](json::object& o) { o["channels"] = json::array{"email", "email"}; },
       "channels[1]", "duplicate"},
      {"channel case", [](json::object& o) { o["channels"] = json::array{"Email"}; },
       "channels[0]", "not a channel"},
      {"too many channels",
       [](json::object& o) {
         o["channels"] = json::array{"email", "sms", "vk", "viber", "telegram", "whatsapp", "email"};
       },
       "channels", "at most"},
      // to
      {"no to", [](json::object& o) { o.erase("to"); }, "to", "to: required"},
      {"to type", [](json::object& o) { o["to"] = "ivan@example.com"; }, "to",
       "to: expected an object"},
      {"to unknown field", [](json::object& o) { to(o)["emial"] = "x@example.com"; }, "to.emial",
       "to.emial: unknown field"},
      {"to.email syntax", [](json::object& o) { to(o)["email"] = "ivan@"; }, "to.email",
       "to.email: 'ivan@' is not a valid address"},
      {"to.email type", [](json::object& o) { to(o)["email"] = 42; }, "to.email",
       "to.email: expected a string"},
      {"to.email injection", [](json::object& o) { to(o)["email"] = "a@b.com\r\nBcc: c@d.com"; },
       "to.email", "control characters"},
      {"to.name CRLF", [](json::object& o) { to(o)["name"] = "Ivan\r\nBcc: x@y.z"; }, "to.name",
       "control characters"},
      {"to.name NUL", [](json::object& o) { to(o)["name"] = std::string("Iv\0an", 5); }, "to.name",
       ""},
      {"to.name long", [](json::object& o) { to(o)["name"] = std::string(257, 'n'); }, "to.name",
       "longer than 256"},
      {"to.phone", [](json::object& o) { to(o)["phone"] = "0671234567"; }, "to.phone", "E.164"},
      {"to.phone short", [](json::object& o) { to(o)["phone"] = "+38067"; }, "to.phone", "E.164"},
      {"to.whatsapp", [](json::object& o) { to(o)["whatsapp"] = "+0671234567"; }, "to.whatsapp",
       "E.164"},
      {"to.telegram_chat_id", [](json::object& o) { to(o)["telegram_chat_id"] = "chat1"; },
       "to.telegram_chat_id", "Telegram chat id"},
      {"to.vk_peer_id", [](json::object& o) { to(o)["vk_peer_id"] = "id42"; }, "to.vk_peer_id",
       "integer"},
      {"to.vk_peer_id zero", [](json::object& o) { to(o)["vk_peer_id"] = "0"; }, "to.vk_peer_id",
       ""},
      {"to.viber_id long", [](json::object& o) { to(o)["viber_id"] = std::string(65, 'v'); },
       "to.viber_id", "longer than 64"},
      {"to.viber_id space", [](json::object& o) { to(o)["viber_id"] = "a b"; }, "to.viber_id",
       "spaces"},
      {"no address for channels",
       [](json::object& o) {
         o["channels"] = json::array{"vk"};
         to(o).erase("vk_peer_id");
       },
       "to", "no address for any requested channel (vk)"},
      // from
      {"from type", [](json::object& o) { o["from"] = "school@example.com"; }, "from",
       "expected an object"},
      {"from.email", [](json::object& o) { o["from"].as_object()["email"] = "school"; },
       "from.email", "not a valid address"},
      {"from.name LF", [](json::object& o) { o["from"].as_object()["name"] = "School\nX-Evil: 1"; },
       "from.name", "control characters"},
      {"from unknown", [](json::object& o) { o["from"].as_object()["reply_to"] = "x"; },
       "from.reply_to", "unknown field"},
      // category
      {"category upper", [](json::object& o) { o["category"] = "News"; }, "category", ""},
      {"category space", [](json::object& o) { o["category"] = "a b"; }, "category", ""},
      {"category long", [](json::object& o) { o["category"] = std::string(65, 'c'); }, "category",
       ""},
      // content
      {"template and inline", [](json::object& o) { o["template_id"] = "welcome"; }, "template_id",
       "not both"},
      {"no content",
       [](json::object& o) {
         o.erase("subject");
         o.erase("html");
         o.erase("text");
       },
       "template_id", "required"},
      {"template id chars",
       [](json::object& o) {
         o.erase("subject");
         o.erase("html");
         o.erase("text");
         o["template_id"] = "../etc/passwd";
       },
       "template_id", ""},
      {"subject CRLF", [](json::object& o) { o["subject"] = "Hi\r\nBcc: all@example.com"; },
       "subject", "control characters"},
      {"subject long", [](json::object& o) { o["subject"] = std::string(999, 's'); }, "subject",
       "longer than 998"},
      {"email without subject", [](json::object& o) { o.erase("subject"); }, "subject",
       "required for the email channel"},
      {"subject only",
       [](json::object& o) {
         o.erase("html");
         o.erase("text");
       },
       "text", "html or text"},
      {"html NUL", [](json::object& o) { o["html"] = std::string("<p>\0</p>", 8); }, "html", "NUL"},
      {"text type", [](json::object& o) { o["text"] = json::array{}; }, "text",
       "text: expected a string"},
      // variables
      {"variables string", [](json::object& o) { o["variables"] = "{}"; }, "variables",
       "variables: expected an object"},
      {"variables array", [](json::object& o) { o["variables"] = json::array{1}; }, "variables",
       "expected an object"},
      {"variables deep",
       [](json::object& o) {
         json::value v = 1;
         for (int i = 0; i < 17; ++i) v = json::object{{"a", v}};
         o["variables"] = v;
       },
       "variables", "nested deeper than 16"},
      {"variables large",
       [](json::object& o) { o["variables"] = json::object{{"blob", std::string(300 * 1024, 'x')}}; },
       "variables", "larger than"},
      // times
      {"send_at type", [](json::object& o) { o["send_at"] = 1790000000; }, "send_at",
       "send_at: expected a string"},
      {"send_at format", [](json::object& o) { o["send_at"] = "tomorrow 9am"; }, "send_at",
       "RFC 3339"},
      {"send_at no zone", [](json::object& o) { o["send_at"] = "2026-11-24T09:00:00"; }, "send_at",
       "RFC 3339"},
      {"send_at far", [](json::object& o) { o["send_at"] = "2028-01-01T00:00:00Z"; }, "send_at",
       "366 days"},
      {"expires before send",
       [](json::object& o) { o["expires_at"] = "2026-11-24T08:30:00Z"; }, "expires_at",
       "after send_at"},
      {"expires past",
       [](json::object& o) {
         o.erase("send_at");
         o["expires_at"] = "2026-11-24T07:00:00Z";
       },
       "expires_at", "in the past"},
      // priority
      {"priority value", [](json::object& o) { o["priority"] = "urgent"; }, "priority",
       "'urgent' is not one of transactional, normal, bulk"},
      {"priority type", [](json::object& o) { o["priority"] = 1; }, "priority",
       "expected a string"},
      // tags
      {"tags type", [](json::object& o) { o["tags"] = json::array{"a"}; }, "tags",
       "expected an object"},
      {"tag value type", [](json::object& o) { o["tags"] = json::object{{"campaign", 5}}; },
       "tags.campaign", "tags.campaign: expected a string"},
      {"tag key", [](json::object& o) { o["tags"] = json::object{{"bad key", "x"}}; }, "tags",
       "'bad key'"},
      {"tag value CRLF", [](json::object& o) { o["tags"] = json::object{{"campaign", "a\r\nb"}}; },
       "tags.campaign", "control characters"},
      {"tag value long",
       [](json::object& o) { o["tags"] = json::object{{"campaign", std::string(257, 't')}}; },
       "tags.campaign", "longer than 256"},
      {"too many tags",
       [](json::object& o) {
         json::object t;
         for (int i = 0; i < 33; ++i) t["k" + std::to_string(i)] = "v";
         o["tags"] = t;
       },
       "tags", "at most 32"},
      // unknown top-level field
      {"unknown field", [](json::object& o) { o["colour"] = "blue"; }, "colour",
       "colour: unknown field"},
      {"snake/camel typo", [](json::object& o) { o["send_At"] = "2026-11-24T09:00:00Z"; },
       "send_At", "unknown field"},
  };
  for (const BadCase& c : cases) {
    json::object o = full_request();
    c.mutate(o);
    auto r = parse(o);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument) << c.name;
    EXPECT_EQ(r.error().field, c.field) << c.name << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << c.name << ": " << r.error().message;
    // The message always leads with the field path.
    EXPECT_EQ(r.error().message.rfind(c.field + ": ", 0), 0u)
        << c.name << ": " << r.error().message;
  }
}

// 1e400 parses as infinity, which has no JSON form: storing it would make
// the stored variables unreadable. (Found by reading Boost.JSON's behaviour.)
TEST(RequestTest, VariablesOutOfDoubleRangeAreRefused) {
  for (const char* number : {"1e400", "-1e400"}) {
    auto r = parse_message_json(std::string(R"({"channel":"sms","to":{"phone":"+380671234567"},)") +
                                    R"("text":"x","variables":{"a":[)" + number + "]}}",
                                options());
    ASSERT_FALSE(r) << number;
    EXPECT_EQ(r.error().field, "variables");
    EXPECT_NE(r.error().message.find("finite"), std::string::npos);
  }
  auto big = parse_message_json(R"({"channel":"sms","to":{"phone":"+380671234567"},"text":"x",)"
                                R"("variables":{"a":123456789012345678901234567890,"b":-0.0}})",
                                options());
  ASSERT_TRUE(big) << big.error().message;
  boost::system::error_code ec;
  json::parse(big->variables_json, ec);
  EXPECT_FALSE(ec) << big->variables_json;
}

TEST(RequestTest, EchoedValuesAreBounded) {
  auto o = full_request();
  to(o)["email"] = std::string(200, 'a') + "@";
  auto r = parse(o);
  ASSERT_FALSE(r);
  EXPECT_LT(r.error().message.size(), 150u) << r.error().message;
  EXPECT_NE(r.error().message.find("...'"), std::string::npos);
}

TEST(RequestTest, MalformedBodies) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "invalid JSON"},
      {"{", "invalid JSON"},
      {"{\"to\":{}} trailing", "invalid JSON"},
      {"[]", "expected a JSON object"},
      {"\"text\"", "expected a JSON object"},
      {"{\"text\":\"\xff\"}", "invalid JSON"},                          // invalid UTF-8
      {"{\"text\":\"\\ud800\"}", "invalid JSON"},                       // lone surrogate
      {"{/*c*/\"text\":\"x\"}", "invalid JSON"},                        // no comments
      {std::string(100, '[') + std::string(100, ']'), "invalid JSON"},  // depth limit
  };
  for (const auto& [body, want] : cases) {
    auto r = parse_message_json(body, options());
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
    EXPECT_NE(r.error().message.find(want), std::string::npos) << body << ": " << r.error().message;
  }
}

TEST(RequestTest, BatchKeepsOrderAndItemRelativeFields) {
  json::object bad = full_request();
  to(bad)["email"] = "ivan@";
  json::object body{
      {"messages", json::array{full_request(), bad, "not an object", full_request()}}};
  auto r = parse_batch_json(json::serialize(body), options());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 4u);
  EXPECT_TRUE((*r)[0]);
  ASSERT_FALSE((*r)[1]);
  EXPECT_EQ((*r)[1].error().field, "to.email");
  EXPECT_EQ((*r)[1].error().message, "to.email: 'ivan@' is not a valid address");
  ASSERT_FALSE((*r)[2]);
  EXPECT_EQ((*r)[2].error().field, "");
  EXPECT_TRUE((*r)[3]);
}

TEST(RequestTest, BatchEnvelopeErrors) {
  struct Case {
    std::string body;
    core::Errc code;
    std::string field;
  };
  const Case cases[] = {
      {"{}", core::Errc::kInvalidArgument, "messages"},
      {R"({"messages":[]})", core::Errc::kInvalidArgument, "messages"},
      {R"({"messages":{}})", core::Errc::kInvalidArgument, "messages"},
      {R"({"messages":[{}],"extra":1})", core::Errc::kInvalidArgument, "extra"},
      {R"({"messages":[{},{},{}]})", core::Errc::kTooLarge, "messages"},
      {"[]", core::Errc::kInvalidArgument, ""},
      {"nope", core::Errc::kInvalidArgument, ""},
  };
  for (const Case& c : cases) {
    auto r = parse_batch_json(c.body, options(/*max_batch=*/2));
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_EQ(r.error().field, c.field) << c.body;
  }
}

// --- binary Protobuf -------------------------------------------------------

vestnik::v1::SendMessageRequest full_proto() {
  vestnik::v1::SendMessageRequest m;
  m.set_idempotency_key("order-1842-created");
  m.add_channels("email");
  m.mutable_to()->set_email("ivan@example.com");
  m.mutable_to()->set_name("Іван Петренко");
  m.mutable_from()->set_email("school@mail.example.com");
  m.set_subject("Замовлення 1842");
  m.set_text("Дякуємо!");
  auto& fields = *m.mutable_variables()->mutable_fields();
  fields["name"].set_string_value("Іван");
  fields["order"].set_number_value(1842);
  m.set_send_at("2026-11-24T09:00:00Z");
  m.set_priority("bulk");
  (*m.mutable_tags())["campaign"] = "black-friday";
  return m;
}

TEST(RequestTest, ProtobufMapsToTheSameRequest) {
  auto r = parse_message_proto(full_proto().SerializeAsString(), options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->idempotency_key, "order-1842-created");
  EXPECT_EQ(r->to.name, "Іван Петренко");
  EXPECT_EQ(r->priority, core::Priority::kBulk);
  EXPECT_EQ(json::parse(r->variables_json), json::parse(R"({"name":"Іван","order":1842})"));
  ASSERT_EQ(r->tags.size(), 1u);
  EXPECT_EQ(r->tags[0].key, "campaign");
}

TEST(RequestTest, ProtobufFollowsTheSameRules) {
  auto m = full_proto();
  m.mutable_to()->set_email("ivan@");
  auto r = parse_message_proto(m.SerializeAsString(), options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "to.email");

  m = full_proto();
  m.set_subject("a\r\nBcc: x@y.z");
  r = parse_message_proto(m.SerializeAsString(), options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "subject");

  // Invalid UTF-8 is refused either by protobuf itself or by our check.
  m = full_proto();
  m.set_text("bad \xff utf-8");
  r = parse_message_proto(m.SerializeAsString(), options());
  EXPECT_FALSE(r);

  // An unknown field number is refused, not dropped.
  std::string bytes = full_proto().SerializeAsString();
  bytes += std::string("\xf8\x06\x01", 3);  // field 111, varint 1
  r = parse_message_proto(bytes, options());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown field"), std::string::npos) << r.error().message;

  r = parse_message_proto("\xff\xff\xff", options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
}

TEST(RequestTest, ProtobufBatch) {
  vestnik::v1::BatchRequest b;
  *b.add_messages() = full_proto();
  auto bad = full_proto();
  bad.mutable_to()->set_phone("12");
  *b.add_messages() = bad;
  auto r = parse_batch_proto(b.SerializeAsString(), options());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_TRUE((*r)[0]);
  ASSERT_FALSE((*r)[1]);
  EXPECT_EQ((*r)[1].error().field, "to.phone");

  auto over = parse_batch_proto(b.SerializeAsString(), options(/*max_batch=*/1));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, core::Errc::kTooLarge);
}

}  // namespace
}  // namespace api
