// tests/providers/telegram_test.cpp: the Telegram Bot API codec
// (transports/providers/telegram.h) against channels.md §1: the exact
// sendMessage body, every row of the error table, and webhook Updates.
#include "transports/providers/telegram.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace transports::providers {
namespace {

namespace json = boost::json;

templating::Rendered rendered(std::string html, templating::ButtonRows buttons = {}) {
  templating::Rendered r;
  r.channel = core::Channel::kTelegram;
  r.html = std::move(html);
  r.buttons = std::move(buttons);
  return r;
}

json::object body_of(const HttpRequest& req) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  EXPECT_FALSE(ec) << req.body;
  EXPECT_TRUE(v.is_object()) << req.body;
  return v.is_object() ? v.as_object() : json::object();
}

std::string header(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

HttpResponse response(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(TelegramSend, RequestIsExactlyTheDocumentedBody) {
  const HttpRequest req = telegram_send_request(
      "123:ABC", "123",
      rendered("<b>Order</b> shipped",
               {{{"Track", "https://ex.com/t/1", ""}, {"OK", "", "ack:42"}}}),
      {});
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/bot123:ABC/sendMessage");
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
  const json::object b = body_of(req);
  EXPECT_EQ(b.at("chat_id"), json::value(123));
  EXPECT_TRUE(b.at("chat_id").is_int64());
  EXPECT_EQ(b.at("text"), "<b>Order</b> shipped");
  EXPECT_EQ(b.at("parse_mode"), "HTML");
  EXPECT_EQ(b.at("link_preview_options"), json::parse(R"({"is_disabled":true})"));
  EXPECT_FALSE(b.contains("disable_notification"));
  EXPECT_EQ(b.at("reply_markup"), json::parse(R"({"inline_keyboard":[[{"text":"Track","url":"https://ex.com/t/1"},
                                                    {"text":"OK","callback_data":"ack:42"}]]})"));
}

TEST(TelegramSend, OptionsAndNoKeyboardWithoutButtons) {
  TelegramOptions o;
  o.disable_link_preview = false;
  o.disable_notification = true;
  const json::object b = body_of(telegram_send_request("t", "42", rendered("hi"), o));
  EXPECT_FALSE(b.contains("link_preview_options"));
  EXPECT_EQ(b.at("disable_notification"), json::value(true));
  EXPECT_FALSE(b.contains("reply_markup"));
}

TEST(TelegramSend, ButtonRowsKeepTheirShape) {
  const json::object b = body_of(telegram_send_request(
      "t", "1",
      rendered("x", {{{"A", "https://a.example/", ""}}, {{"B", "", "b"}, {"C", "", "c"}}}), {}));
  EXPECT_EQ(b.at("reply_markup"),
            json::parse(R"({"inline_keyboard":[[{"text":"A","url":"https://a.example/"}],
                            [{"text":"B","callback_data":"b"},{"text":"C","callback_data":"c"}]]})"));
}

TEST(TelegramSend, ChatIdIsANumberOnlyWhenItIsAnInt64) {
  struct Case {
    const char* chat_id;
    bool number;
  };
  for (const Case c : std::vector<Case>{{"123", true},
                                        {"-1001234567890", true},
                                        {"9223372036854775807", true},
                                        {"-9223372036854775808", true},
                                        {"0", true},
                                        {"@channelusername", false},
                                        {"9223372036854775808", false},  // beyond int64
                                        {"007", false},
                                        {"+5", false},
                                        {"-0", false},
                                        {"12 ", false},
                                        {"", false}}) {
    const json::object b = body_of(telegram_send_request("t", c.chat_id, rendered("x"), {}));
    if (c.number) {
      ASSERT_TRUE(b.at("chat_id").is_int64()) << c.chat_id;
      EXPECT_EQ(std::to_string(b.at("chat_id").as_int64()), c.chat_id);
    } else {
      ASSERT_TRUE(b.at("chat_id").is_string()) << c.chat_id;
      EXPECT_EQ(b.at("chat_id").as_string(), c.chat_id);
    }
  }
}

TEST(TelegramSend, TextIsEscapedIntoValidJson) {
  const std::string text = "a \"quoted\" \\ back\nslash\t\x01 \xD0\x9F\xD1\x80\xD0\xB8 \xF0\x9F\x98\x80 &lt;";
  const json::object b = body_of(telegram_send_request("t", "1", rendered(text), {}));
  EXPECT_EQ(b.at("text").as_string(), text);
}

TEST(TelegramParse, SuccessRefIsChatAndMessageId) {
  const SendResult r = telegram_parse_send(
      response(200, R"({"ok":true,"result":{"message_id":42,"from":{"id":987,"is_bot":true,"first_name":"Bot","username":"x_bot"},
                       "chat":{"id":-1001234567890,"type":"supergroup"},"date":1746268800,"text":"Order shipped"}})"),
      "@mygroup");
  EXPECT_EQ(r.failure, FailureClass::kNone);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.outcome.reply.code, 250);
  EXPECT_EQ(r.outcome.reply.enhanced, "2.0.0");
  EXPECT_EQ(r.provider_ref, "-1001234567890:42");
}

TEST(TelegramParse, SuccessWithoutChatUsesTheOneSent) {
  const SendResult r = telegram_parse_send(response(200, R"({"ok":true,"result":{"message_id":7}})"), "123");
  EXPECT_EQ(r.failure, FailureClass::kNone);
  EXPECT_EQ(r.provider_ref, "123:7");
}

TEST(TelegramParse, RateLimitCarriesRetryAfterExactly) {
  const SendResult r = telegram_parse_send(
      response(429, R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 41","parameters":{"retry_after":41}})"),
      "1");
  EXPECT_EQ(r.failure, FailureClass::kRetry);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kTransient);
  EXPECT_EQ(r.outcome.reply.code, 451);
  EXPECT_EQ(r.outcome.reply.enhanced, "4.7.0");
  EXPECT_FALSE(r.outcome.blames_message);
  ASSERT_TRUE(r.outcome.retry_after.has_value());
  EXPECT_EQ(*r.outcome.retry_after, std::chrono::seconds(41));
  EXPECT_EQ(r.outcome.reply.text, "telegram 429: Too Many Requests: retry after 41");
}

TEST(TelegramParse, RetryAfterCanBeLargeButIsBounded) {
  auto after = [](const char* seconds) {
    return telegram_parse_send(
               response(429, std::string(R"({"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":)") +
                                 seconds + "}}"),
               "1")
        .outcome.retry_after;
  };
  EXPECT_EQ(after("5000"), std::chrono::seconds(5000));
  EXPECT_EQ(after("86400"), std::chrono::seconds(86400));
  EXPECT_EQ(after("1000000000000"), std::chrono::seconds(86400));
  EXPECT_EQ(after("-5"), std::nullopt);
  EXPECT_EQ(after("1.5"), std::nullopt);
  EXPECT_EQ(after("\"41\""), std::nullopt);
}

struct ErrorCase {
  unsigned http;
  std::string body;
  FailureClass cls;
  const char* enhanced;
  bool blocked;
};

void expect_class(const ErrorCase& c) {
  SCOPED_TRACE(c.body);
  const SendResult r = telegram_parse_send(response(c.http, c.body), "1");
  EXPECT_EQ(r.failure, c.cls);
  EXPECT_EQ(r.outcome.reply.enhanced, c.enhanced);
  EXPECT_EQ(r.recipient_blocked, c.blocked);
  EXPECT_TRUE(r.migrate_to_chat_id.empty());
  EXPECT_FALSE(r.outcome.retry_after.has_value());
  switch (c.cls) {
    case FailureClass::kRecipient:
      EXPECT_EQ(r.outcome.kind, OutcomeKind::kPermanent);
      EXPECT_EQ(r.outcome.reply.code, 550);
      EXPECT_TRUE(r.outcome.blames_message);
      break;
    case FailureClass::kBadRequest:
      EXPECT_EQ(r.outcome.kind, OutcomeKind::kPermanent);
      EXPECT_EQ(r.outcome.reply.code, 554);
      EXPECT_TRUE(r.outcome.blames_message);
      break;
    case FailureClass::kConfig:
    case FailureClass::kRetry:
      EXPECT_EQ(r.outcome.kind, OutcomeKind::kTransient);
      EXPECT_EQ(r.outcome.reply.code, 451);
      EXPECT_FALSE(r.outcome.blames_message);
      break;
    case FailureClass::kNone: ADD_FAILURE(); break;
  }
}

std::string tg_error(int code, std::string_view description) {
  return R"({"ok":false,"error_code":)" + std::to_string(code) + R"(,"description":")" +
         std::string(description) + "\"}";
}

TEST(TelegramParse, EveryRowOfTheErrorTable) {
  using F = FailureClass;
  const std::vector<ErrorCase> cases = {
      // RETRY: 5xx, and nginx's non-JSON 502/504.
      {500, tg_error(500, "Internal Server Error"), F::kRetry, "4.3.0", false},
      {502, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", F::kRetry, "4.3.0", false},
      {504, "<html>\r\n<head><title>504 Gateway Time-out</title></head></html>", F::kRetry, "4.3.0", false},
      {200, "", F::kRetry, "4.3.0", false},
      {200, R"({"ok":false})", F::kRetry, "4.3.0", false},
      {409, tg_error(409, "Conflict: terminated by other getUpdates request"), F::kRetry, "4.3.0", false},
      // PERM_RCPT.
      {403, tg_error(403, "Forbidden: bot was blocked by the user"), F::kRecipient, "5.7.1", true},
      {403, tg_error(403, "Forbidden: user is deactivated"), F::kRecipient, "5.1.1", false},
      {403, tg_error(403, "Forbidden: bot can't initiate conversation with a user"), F::kRecipient, "5.7.1", true},
      {403, tg_error(403, "Forbidden: bot was kicked from the group chat"), F::kRecipient, "5.7.1", true},
      {403, tg_error(403, "Forbidden: bot was kicked from the supergroup chat"), F::kRecipient, "5.7.1", true},
      {403, tg_error(403, "Forbidden: bot is not a member of the channel chat"), F::kRecipient, "5.7.1", true},
      {403, tg_error(403, "forbidden: BOT WAS BLOCKED BY THE USER"), F::kRecipient, "5.7.1", true},
      {403, tg_error(403, "Forbidden: bots can't send messages to bots"), F::kRecipient, "5.7.1", false},
      {400, tg_error(400, "Bad Request: chat not found"), F::kRecipient, "5.1.1", false},
      {400, tg_error(400, "Bad Request: CHAT NOT FOUND"), F::kRecipient, "5.1.1", false},
      // BAD_REQ.
      {400, tg_error(400, "Bad Request: can't parse entities: Unsupported start tag \\\"div\\\" at byte offset 0"),
       F::kBadRequest, "5.6.0", false},
      {400, tg_error(400, "Bad Request: message is too long"), F::kBadRequest, "5.6.0", false},
      {400, tg_error(400, "Bad Request: message text is empty"), F::kBadRequest, "5.6.0", false},
      {400, tg_error(400, "Bad Request: inline keyboard button URL 'foo' is invalid: unsupported URL protocol"),
       F::kBadRequest, "5.6.0", false},
      {400, tg_error(400, "Bad Request: BUTTON_DATA_INVALID"), F::kBadRequest, "5.6.0", false},
      // CONFIG.
      {401, tg_error(401, "Unauthorized"), F::kConfig, "4.3.5", false},
      {404, tg_error(404, "Not Found"), F::kConfig, "4.3.5", false},
  };
  for (const ErrorCase& c : cases) expect_class(c);
}

TEST(TelegramParse, ErrorCodeInTheBodyWinsOverARewrittenStatus) {
  const SendResult r = telegram_parse_send(response(200, tg_error(403, "Forbidden: bot was blocked by the user")), "1");
  EXPECT_EQ(r.failure, FailureClass::kRecipient);
  EXPECT_TRUE(r.recipient_blocked);
  EXPECT_EQ(r.outcome.reply.text, "telegram 403: Forbidden: bot was blocked by the user");
}

TEST(TelegramParse, NonJsonTextIsShortAndOnOneLine) {
  const SendResult r = telegram_parse_send(response(502, "<html>\r\n" + std::string(1000, 'x')), "1");
  EXPECT_EQ(r.failure, FailureClass::kRetry);
  EXPECT_TRUE(r.outcome.reply.text.starts_with("telegram HTTP 502: <html>  xxx"));
  EXPECT_LE(r.outcome.reply.text.size(), std::string("telegram HTTP 502: ").size() + 200);
  EXPECT_EQ(r.outcome.reply.text.find('\n'), std::string::npos);
}

TEST(TelegramParse, MigratedGroupIsRetriedAtItsNewId) {
  const SendResult r = telegram_parse_send(
      response(400, R"({"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat",
                       "parameters":{"migrate_to_chat_id":-1001234567890}})"),
      "-123456");
  EXPECT_EQ(r.failure, FailureClass::kRetry);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kTransient);
  EXPECT_EQ(r.migrate_to_chat_id, "-1001234567890");
  EXPECT_FALSE(r.recipient_blocked);
}

// ---- callbacks ------------------------------------------------------------

CallbackRequest update(std::string_view body, std::string secret = "s3cr3t") {
  CallbackRequest req;
  req.method = "POST";
  req.target = "/v1/callbacks/telegram";
  if (!secret.empty()) req.headers.emplace_back("x-telegram-bot-api-secret-token", std::move(secret));
  req.body = body;
  return req;
}

constexpr std::string_view kBlocked =
    R"({"update_id":100,"my_chat_member":{"chat":{"id":123,"type":"private","first_name":"John"},
        "from":{"id":123,"is_bot":false,"first_name":"John"},"date":1746268800,
        "old_chat_member":{"status":"member","user":{"id":987,"is_bot":true,"first_name":"Bot"}},
        "new_chat_member":{"status":"kicked","until_date":0,"user":{"id":987,"is_bot":true,"first_name":"Bot"}}}})";

TEST(TelegramCallback, SecretTokenIsRequired) {
  EXPECT_EQ(telegram_callback(update(kBlocked, ""), "s3cr3t").status, 401u);
  EXPECT_EQ(telegram_callback(update(kBlocked, "s3cr3x"), "s3cr3t").status, 401u);
  EXPECT_EQ(telegram_callback(update(kBlocked, "s3cr3"), "s3cr3t").status, 401u);
  const CallbackResult wrong = telegram_callback(update(kBlocked, "nope"), "s3cr3t");
  EXPECT_TRUE(wrong.receipts.empty());
  EXPECT_EQ(wrong.error.find("s3cr3t"), std::string::npos);
  // No configured secret authenticates nothing.
  EXPECT_EQ(telegram_callback(update(kBlocked, ""), "").status, 401u);
}

TEST(TelegramCallback, MalformedBodyIs400) {
  for (std::string_view body : {"", "{", "[]", "{\"update_id\":\"1\"}", "{\"message\":{}}", "nope"}) {
    const CallbackResult r = telegram_callback(update(body), "s3cr3t");
    EXPECT_EQ(r.status, 400u) << body;
    EXPECT_TRUE(r.receipts.empty());
  }
}

TEST(TelegramCallback, KickedIsBlocked) {
  const CallbackResult r = telegram_callback(update(kBlocked), "s3cr3t");
  EXPECT_EQ(r.status, 200u);
  ASSERT_EQ(r.receipts.size(), 1u);
  const Receipt& x = r.receipts[0];
  EXPECT_EQ(x.channel, core::Channel::kTelegram);
  EXPECT_EQ(x.kind, ReceiptKind::kBlocked);
  EXPECT_EQ(x.recipient, "123");
  EXPECT_EQ(x.event_id, "telegram:100");
  EXPECT_EQ(core::to_unix_ms(x.at), 1746268800000);
}

TEST(TelegramCallback, MemberIsUnblockedAndGroupIdsStayNegative) {
  const CallbackResult r = telegram_callback(
      update(R"({"update_id":9007199254740993,"my_chat_member":{"chat":{"id":-1001234567890,"type":"supergroup"},
                 "date":1746268801,"old_chat_member":{"status":"kicked"},"new_chat_member":{"status":"member"}}})"),
      "s3cr3t");
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].kind, ReceiptKind::kUnblocked);
  EXPECT_EQ(r.receipts[0].recipient, "-1001234567890");
  EXPECT_EQ(r.receipts[0].event_id, "telegram:9007199254740993");
}

TEST(TelegramCallback, MessageFromAUserIsInbound) {
  const CallbackResult r = telegram_callback(
      update(R"({"update_id":101,"message":{"message_id":5,"from":{"id":123,"is_bot":false,"first_name":"John"},
                 "chat":{"id":123,"type":"private"},"date":1746268900,"text":"/start"}})"),
      "s3cr3t");
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].kind, ReceiptKind::kInbound);
  EXPECT_EQ(r.receipts[0].recipient, "123");
  EXPECT_EQ(r.receipts[0].event_id, "telegram:101");
  EXPECT_EQ(core::to_unix_ms(r.receipts[0].at), 1746268900000);
}

TEST(TelegramCallback, DatesOutsideTheClockAreEpoch) {
  for (std::string_view date : {"9223372036854775807", "-1", "1e10"}) {
    const std::string body = R"({"update_id":7,"my_chat_member":{"chat":{"id":1},"date":)" + std::string(date) +
                             R"(,"new_chat_member":{"status":"kicked"}}})";
    const CallbackResult r = telegram_callback(update(body), "s3cr3t");
    ASSERT_EQ(r.receipts.size(), 1u) << date;
    EXPECT_EQ(r.receipts[0].at, core::TimePoint{}) << date;
  }
}

TEST(TelegramParse, OkWithoutAMessageIdIsStillAccepted) {
  // Retrying would send it twice; the reference is what is lost.
  const SendResult r = telegram_parse_send(response(200, R"({"ok":true,"result":true})"), "1");
  EXPECT_EQ(r.failure, FailureClass::kNone);
  EXPECT_EQ(r.provider_ref, "");
}

TEST(TelegramCallback, OtherUpdatesAreAcknowledgedWithoutReceipts) {
  for (std::string_view body :
       {R"({"update_id":1,"callback_query":{"id":"4382","from":{"id":123,"is_bot":false},"data":"ack:42"}})",
        R"({"update_id":2,"message":{"message_id":5,"from":{"id":9,"is_bot":true},"chat":{"id":-100,"type":"group"},"date":1}})",
        R"({"update_id":3,"my_chat_member":{"chat":{"id":1},"new_chat_member":{"status":"restricted"}}})",
        R"({"update_id":4,"edited_message":{"message_id":5,"chat":{"id":1}}})",
        R"({"update_id":5})"}) {
    const CallbackResult r = telegram_callback(update(body), "s3cr3t");
    EXPECT_EQ(r.status, 200u) << body;
    EXPECT_TRUE(r.receipts.empty()) << body;
  }
}

}  // namespace
}  // namespace transports::providers
