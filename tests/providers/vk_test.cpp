// tests/providers/vk_test.cpp: the VK API codec (transports/providers/vk.h)
// against channels.md §3: random_id, the exact messages.send form, every
// error code, and Callback API requests.
#include "transports/providers/vk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace transports::providers {
namespace {

namespace json = boost::json;

templating::Rendered rendered(std::string text, templating::ButtonRows buttons = {}) {
  templating::Rendered r;
  r.channel = core::Channel::kVk;
  r.text = std::move(text);
  r.buttons = std::move(buttons);
  return r;
}

std::string header(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A strict form decoder: every byte outside the unreserved set must be
// %-encoded, so a '+' or a raw space fails the test.
std::vector<std::pair<std::string, std::string>> decode_form(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos <= body.size()) {
    const size_t amp = std::min(body.find('&', pos), body.size());
    const std::string_view pair = body.substr(pos, amp - pos);
    const size_t eq = pair.find('=');
    EXPECT_NE(eq, std::string_view::npos) << pair;
    std::string value;
    for (size_t i = eq + 1; i < pair.size(); ++i) {
      const char c = pair[i];
      if (c == '%') {
        EXPECT_LE(i + 2, pair.size() - 1);
        value.push_back(static_cast<char>(hex_value(pair[i + 1]) * 16 + hex_value(pair[i + 2])));
        i += 2;
      } else {
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~')
            << "unencoded byte in " << pair;
        value.push_back(c);
      }
    }
    out.emplace_back(std::string(pair.substr(0, eq)), value);
    pos = amp + 1;
  }
  return out;
}

HttpResponse response(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(VkRandomId, StablePositiveNonZero) {
  std::array<uint8_t, 16> b = {0x01, 0x90, 0xF5, 0xA3, 0xC2, 0xD1, 0x7E, 0x4B,
                               0x8A, 0x9C, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB};
  // First 31 bits of SHA-256 of the 16 bytes (computed independently): a
  // frozen value, since retries in flight across an upgrade rely on it.
  EXPECT_EQ(vk_random_id(core::Id(b)), 279874404);
  EXPECT_EQ(vk_random_id(core::Id(b)), vk_random_id(core::Id(b)));
  std::set<int32_t> seen;
  for (int i = 0; i < 2000; ++i) {
    b[15] = static_cast<uint8_t>(i);
    b[14] = static_cast<uint8_t>(i >> 8);
    const int32_t id = vk_random_id(core::Id(b));
    EXPECT_GT(id, 0);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
  EXPECT_GT(vk_random_id(core::Id()), 0);
}

TEST(VkSend, RequestIsTheDocumentedForm) {
  const HttpRequest req = vk_send_request(
      "vk1.a.secret-token", "2000000001",
      rendered("Order #42 & co = shipped\n\xD0\x97\xD0\xB0\xD0\xBA\xD0\xB0\xD0\xB7 \"ok\"",
               {{{"Yes", "", "yes"}, {"Open", "https://ex.com/?a=1&b=2", ""}}}),
      279874404, {});
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/method/messages.send");
  EXPECT_EQ(header(req, "Authorization"), "Bearer vk1.a.secret-token");
  EXPECT_EQ(header(req, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(req.body.find("secret-token"), std::string::npos);
  EXPECT_EQ(req.body.find("access_token"), std::string::npos);

  const auto form = decode_form(req.body);
  std::map<std::string, std::string> f(form.begin(), form.end());
  EXPECT_EQ(form.size(), f.size());  // no parameter twice
  EXPECT_EQ(f.at("peer_id"), "2000000001");
  EXPECT_EQ(f.at("random_id"), "279874404");
  EXPECT_EQ(f.at("message"), "Order #42 & co = shipped\n\xD0\x97\xD0\xB0\xD0\xBA\xD0\xB0\xD0\xB7 \"ok\"");
  EXPECT_EQ(f.at("v"), "5.199");
  EXPECT_EQ(json::parse(f.at("keyboard")), json::parse(R"({"inline":true,"buttons":[[
      {"action":{"type":"text","label":"Yes","payload":"{\"payload\":\"yes\"}"}},
      {"action":{"type":"open_link","link":"https://ex.com/?a=1&b=2","label":"Open"}}]]})"));
  // The payload VK echoes back is itself JSON.
  EXPECT_EQ(json::parse(json::parse(f.at("keyboard")).at("buttons").at(0).at(0).at("action").at("payload").as_string()),
            json::parse(R"({"payload":"yes"})"));
}

TEST(VkSend, NoKeyboardWithoutButtonsAndTheVersionIsAnOption) {
  VkOptions o;
  o.api_version = "5.131";
  const auto form = decode_form(vk_send_request("t", "-123", rendered("hi"), 7, o).body);
  std::map<std::string, std::string> f(form.begin(), form.end());
  EXPECT_FALSE(f.contains("keyboard"));
  EXPECT_EQ(f.at("v"), "5.131");
  EXPECT_EQ(f.at("peer_id"), "-123");
  EXPECT_EQ(f.at("random_id"), "7");
}

TEST(VkParse, ResponseIsTheMessageId) {
  const SendResult r = vk_parse_send(response(200, R"({"response":123456})"));
  EXPECT_EQ(r.failure, FailureClass::kNone);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.outcome.reply.code, 250);
  EXPECT_EQ(r.provider_ref, "123456");
  // The peer_ids form.
  EXPECT_EQ(vk_parse_send(response(200, R"({"response":[{"peer_id":1,"message_id":10,"conversation_message_id":5}]})"))
                .provider_ref,
            "10");
  const SendResult e = vk_parse_send(
      response(200, R"({"response":[{"peer_id":2,"error":{"code":901,"description":"Can't send messages for users without permission"}}]})"));
  EXPECT_EQ(e.failure, FailureClass::kRecipient);
  EXPECT_TRUE(e.recipient_blocked);
  EXPECT_EQ(e.outcome.reply.text, "vk error 901: Can't send messages for users without permission");
}

struct ErrorCase {
  int code;
  FailureClass cls;
  const char* enhanced;
  bool blocked;
};

TEST(VkParse, EveryErrorCode) {
  using F = FailureClass;
  const std::vector<ErrorCase> cases = {
      {1, F::kRetry, "4.3.0", false},       {10, F::kRetry, "4.3.0", false},
      {5, F::kConfig, "4.3.5", false},      {6, F::kRetry, "4.7.0", false},
      {7, F::kConfig, "4.3.5", false},      {9, F::kRetry, "4.7.0", false},
      {14, F::kRetry, "4.7.0", false},      {18, F::kRecipient, "5.1.1", false},
      {29, F::kRetry, "4.7.0", false},      {100, F::kBadRequest, "5.6.0", false},
      {113, F::kBadRequest, "5.6.0", false}, {900, F::kRecipient, "5.7.1", true},
      {901, F::kRecipient, "5.7.1", true},  {902, F::kRecipient, "5.7.1", true},
      {911, F::kBadRequest, "5.6.0", false}, {913, F::kBadRequest, "5.6.0", false},
      {914, F::kBadRequest, "5.6.0", false}, {917, F::kRecipient, "5.7.1", true},
      {936, F::kRecipient, "5.1.1", false}, {945, F::kRecipient, "5.1.1", false},
      {946, F::kRecipient, "5.1.1", false}, {943, F::kBadRequest, "5.6.0", false},
      {944, F::kRetry, "4.7.0", false},     {950, F::kRecipient, "5.7.1", false},
      {985, F::kConfig, "4.3.5", false},    {15, F::kRetry, "4.3.0", false},
      {4242, F::kRetry, "4.3.0", false},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.code);
    const SendResult r = vk_parse_send(response(
        200, R"({"error":{"error_code":)" + std::to_string(c.code) +
                 R"(,"error_msg":"Some message","request_params":[{"key":"method","value":"messages.send"},{"key":"v","value":"5.199"}]}})"));
    EXPECT_EQ(r.failure, c.cls);
    EXPECT_EQ(r.outcome.reply.enhanced, c.enhanced);
    EXPECT_EQ(r.recipient_blocked, c.blocked);
    EXPECT_EQ(r.outcome.reply.text, "vk error " + std::to_string(c.code) + ": Some message");
    const bool permanent = c.cls == F::kRecipient || c.cls == F::kBadRequest;
    EXPECT_EQ(r.outcome.kind, permanent ? OutcomeKind::kPermanent : OutcomeKind::kTransient);
    EXPECT_EQ(r.outcome.blames_message, permanent);
    EXPECT_EQ(r.outcome.reply.code, c.cls == F::kRecipient ? 550 : c.cls == F::kBadRequest ? 554 : 451);
  }
}

TEST(VkParse, NotAVkAnswerIsRetried) {
  for (const auto& [status, body] : std::vector<std::pair<unsigned, std::string>>{
           {500, R"({"response":1})"},
           {502, "<html>Bad Gateway</html>"},
           {200, "garbage"},
           {200, ""},
           {200, "{}"},
           {200, R"({"response":"x"})"},
           {200, R"({"response":[]})"},
           {200, R"({"error":{"error_msg":"no code"}})"}}) {
    const SendResult r = vk_parse_send(response(status, body));
    EXPECT_EQ(r.failure, FailureClass::kRetry) << body;
    EXPECT_FALSE(r.outcome.blames_message) << body;
  }
}

// ---- callbacks ------------------------------------------------------------

CallbackRequest callback(std::string_view body) {
  CallbackRequest req;
  req.method = "POST";
  req.target = "/v1/callbacks/vk";
  req.body = body;
  return req;
}

TEST(VkCallback, ConfirmationAnswersTheConfirmationString) {
  const CallbackResult r =
      vk_callback(callback(R"({"type":"confirmation","group_id":123,"secret":"s3cr3t"})"), "s3cr3t", "e7e13fe2");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "e7e13fe2");
  EXPECT_TRUE(r.receipts.empty());
}

TEST(VkCallback, SecretMismatchIs403) {
  for (std::string_view body : {R"({"type":"confirmation","group_id":123})",
                                R"({"type":"message_deny","object":{"user_id":1},"group_id":1,"event_id":"e","secret":"wrong"})",
                                R"({"type":"message_deny","object":{"user_id":1},"group_id":1,"event_id":"e","secret":"s3cr3"})",
                                R"({"type":"message_deny","object":{"user_id":1},"group_id":1,"event_id":"e","secret":5})"}) {
    const CallbackResult r = vk_callback(callback(body), "s3cr3t", "e7e13fe2");
    EXPECT_EQ(r.status, 403u) << body;
    EXPECT_TRUE(r.receipts.empty());
    EXPECT_NE(r.body, "e7e13fe2");
  }
  // No configured secret authenticates nothing, even a matching empty one.
  EXPECT_EQ(vk_callback(callback(R"({"type":"confirmation","secret":""})"), "", "c").status, 403u);
}

TEST(VkCallback, MalformedIs400) {
  for (std::string_view body : {"", "{", "[]", "ok", "\"s\""}) {
    EXPECT_EQ(vk_callback(callback(body), "s3cr3t", "c").status, 400u) << body;
  }
}

TEST(VkCallback, AllowDenyAndNewMessages) {
  const CallbackResult allow = vk_callback(
      callback(R"({"type":"message_allow","object":{"user_id":1,"key":"abc"},"group_id":123,"event_id":"a1b2","v":"5.199","secret":"s3cr3t"})"),
      "s3cr3t", "c");
  EXPECT_EQ(allow.status, 200u);
  EXPECT_EQ(allow.body, "ok");
  ASSERT_EQ(allow.receipts.size(), 1u);
  EXPECT_EQ(allow.receipts[0].channel, core::Channel::kVk);
  EXPECT_EQ(allow.receipts[0].kind, ReceiptKind::kUnblocked);
  EXPECT_EQ(allow.receipts[0].recipient, "1");
  EXPECT_EQ(allow.receipts[0].event_id, "vk:a1b2");

  const CallbackResult deny = vk_callback(
      callback(R"({"type":"message_deny","object":{"user_id":777},"group_id":123,"event_id":"c3d4","v":"5.199","secret":"s3cr3t"})"),
      "s3cr3t", "c");
  ASSERT_EQ(deny.receipts.size(), 1u);
  EXPECT_EQ(deny.body, "ok");
  EXPECT_EQ(deny.receipts[0].kind, ReceiptKind::kBlocked);
  EXPECT_EQ(deny.receipts[0].recipient, "777");
  EXPECT_EQ(deny.receipts[0].event_id, "vk:c3d4");

  const CallbackResult msg = vk_callback(
      callback(R"({"type":"message_new","object":{"message":{"date":1746268800,"from_id":5,"id":11,"out":0,"peer_id":2000000001,"text":"hi"},
                   "client_info":{"keyboard":true,"inline_keyboard":true}},"group_id":123,"event_id":"e5f6","v":"5.199","secret":"s3cr3t"})"),
      "s3cr3t", "c");
  ASSERT_EQ(msg.receipts.size(), 1u);
  EXPECT_EQ(msg.receipts[0].kind, ReceiptKind::kInbound);
  EXPECT_EQ(msg.receipts[0].recipient, "2000000001");
  EXPECT_EQ(core::to_unix_ms(msg.receipts[0].at), 1746268800000);
  EXPECT_EQ(msg.receipts[0].event_id, "vk:e5f6");

  // Before 5.103 the message was the object itself, and there was no event_id.
  const CallbackResult old = vk_callback(
      callback(R"({"type":"message_new","object":{"date":1,"from_id":5,"text":"hi"},"group_id":123,"secret":"s3cr3t"})"),
      "s3cr3t", "c");
  ASSERT_EQ(old.receipts.size(), 1u);
  EXPECT_EQ(old.receipts[0].recipient, "5");
  EXPECT_TRUE(old.receipts[0].event_id.starts_with("vk:body:"));
}

TEST(VkCallback, OtherEventsAreOkWithoutReceipts) {
  for (std::string_view body :
       {R"({"type":"message_reply","object":{"id":1,"peer_id":5},"group_id":1,"event_id":"x","secret":"s3cr3t"})",
        R"({"type":"message_event","object":{"user_id":1,"payload":{}},"group_id":1,"event_id":"y","secret":"s3cr3t"})",
        R"({"type":"message_allow","object":{},"group_id":1,"event_id":"z","secret":"s3cr3t"})",
        R"({"group_id":1,"secret":"s3cr3t"})"}) {
    const CallbackResult r = vk_callback(callback(body), "s3cr3t", "c");
    EXPECT_EQ(r.status, 200u) << body;
    EXPECT_EQ(r.body, "ok") << body;
    EXPECT_TRUE(r.receipts.empty()) << body;
  }
}

}  // namespace
}  // namespace transports::providers
