// tests/providers/viber_test.cpp: the Viber REST Bot API codec
// (transports/providers/viber.h) against channels.md §2: the exact
// send_message body, every status code, message tokens above 2^53, and
// signed callbacks.
#include "transports/providers/viber.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace transports::providers {
namespace {

namespace json = boost::json;

constexpr std::string_view kToken = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9";

templating::Rendered rendered(std::string text, templating::ButtonRows buttons = {}) {
  templating::Rendered r;
  r.channel = core::Channel::kViber;
  r.text = std::move(text);
  r.buttons = std::move(buttons);
  return r;
}

json::object body_of(const HttpRequest& req) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  EXPECT_FALSE(ec) << req.body;
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

TEST(ViberSend, RequestIsExactlyTheDocumentedBody) {
  ViberOptions o;
  o.sender_name = "Shop";
  o.sender_avatar = "https://ex.com/a.png";
  const HttpRequest req = viber_send_request(
      kToken, "01234567890A=",
      rendered("Your order \"42\" shipped\n\xD0\x94\xD0\xB0",
               {{{"Yes", "", "yes"}, {"Open", "https://ex.com", ""}}}),
      o);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/pa/send_message");
  EXPECT_EQ(header(req, "X-Viber-Auth-Token"), kToken);
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
  EXPECT_EQ(req.body.find(kToken), std::string::npos);  // the token is a header only
  const json::object b = body_of(req);
  EXPECT_EQ(b.at("receiver"), "01234567890A=");
  EXPECT_EQ(b.at("type"), "text");
  EXPECT_EQ(b.at("text"), "Your order \"42\" shipped\n\xD0\x94\xD0\xB0");
  EXPECT_EQ(b.at("min_api_version"), json::value(1));
  EXPECT_EQ(b.at("sender"), json::parse(R"({"name":"Shop","avatar":"https://ex.com/a.png"})"));
  EXPECT_EQ(b.at("keyboard"), json::parse(R"({"Type":"keyboard","DefaultHeight":false,"Buttons":[
      {"ActionType":"reply","ActionBody":"yes","Text":"Yes","Columns":3,"Rows":1},
      {"ActionType":"open-url","ActionBody":"https://ex.com","Text":"Open","Columns":3,"Rows":1}]})"));
}

TEST(ViberSend, NoAvatarNoKeyboardWhenAbsent) {
  ViberOptions o;
  o.sender_name = "Shop";
  o.min_api_version = 3;
  const json::object b = body_of(viber_send_request(kToken, "u", rendered("hi"), o));
  EXPECT_EQ(b.at("sender"), json::parse(R"({"name":"Shop"})"));
  EXPECT_EQ(b.at("min_api_version"), json::value(3));
  EXPECT_FALSE(b.contains("keyboard"));
}

TEST(ViberSend, ColumnsShareTheSixWideGrid) {
  auto row = [](size_t n) {
    std::vector<templating::Button> r;
    for (size_t i = 0; i < n; ++i) r.push_back({"b" + std::to_string(i), "", "p"});
    return r;
  };
  const json::object b = body_of(
      viber_send_request(kToken, "u", rendered("x", {row(1), row(2), row(3), row(4), row(6), row(8)}), {}));
  const json::array& buttons = b.at("keyboard").at("Buttons").as_array();
  ASSERT_EQ(buttons.size(), 1u + 2 + 3 + 4 + 6 + 8);
  const std::vector<int64_t> expected = {6, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  for (size_t i = 0; i < buttons.size(); ++i) {
    const int64_t cols = buttons[i].at("Columns").as_int64();
    EXPECT_EQ(cols, expected[i]) << i;
    EXPECT_GE(cols, 1);
    EXPECT_LE(cols, 6);
    EXPECT_EQ(buttons[i].at("Rows"), json::value(1));
  }
  EXPECT_EQ(b.at("keyboard").at("Type"), "keyboard");
}

TEST(ViberParse, MessageTokenAbove2To53IsExact) {
  const SendResult r = viber_parse_send(response(
      200, R"({"status":0,"status_message":"ok","message_token":5741311803571721087,"chat_hostname":"SN-CHAT-05_","billing_status":1})"));
  EXPECT_EQ(r.failure, FailureClass::kNone);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.outcome.reply.code, 250);
  EXPECT_EQ(r.provider_ref, "5741311803571721087");
  // 2^53 + 1 is the first integer a double cannot hold.
  EXPECT_EQ(viber_parse_send(response(200, R"({"status":0,"message_token":9007199254740993})")).provider_ref,
            "9007199254740993");
  EXPECT_EQ(viber_parse_send(response(200, R"({"status":0,"message_token":18446744073709551615})")).provider_ref,
            "18446744073709551615");
  EXPECT_EQ(viber_parse_send(response(200, R"({"status":0,"message_token":"5741311803571721087"})")).provider_ref,
            "5741311803571721087");
}

TEST(ViberParse, AcceptedWithoutAUsableTokenIsStillAccepted) {
  for (std::string_view body : {R"({"status":0})", R"({"status":0,"message_token":1.5e300})",
                                R"({"status":0,"message_token":"abc"})"}) {
    const SendResult r = viber_parse_send(response(200, std::string(body)));
    EXPECT_EQ(r.failure, FailureClass::kNone) << body;
    EXPECT_EQ(r.provider_ref, "") << body;
  }
}

struct StatusCase {
  int status;
  const char* message;
  FailureClass cls;
  const char* enhanced;
  bool blocked;
  bool rate_limited;
};

TEST(ViberParse, EveryStatusCode) {
  using F = FailureClass;
  const std::vector<StatusCase> cases = {
      {1, "invalidUrl", F::kBadRequest, "5.6.0", false, false},
      {2, "invalidAuthToken", F::kConfig, "4.3.5", false, false},
      {3, "badData", F::kBadRequest, "5.6.0", false, false},
      {4, "missingData", F::kBadRequest, "5.6.0", false, false},
      {5, "receiverNotRegistered", F::kRecipient, "5.1.1", false, false},
      {6, "receiverNotSubscribed", F::kRecipient, "5.7.1", true, false},
      {7, "publicAccountBlocked", F::kConfig, "4.3.5", false, false},
      {8, "publicAccountNotFound", F::kConfig, "4.3.5", false, false},
      {9, "publicAccountSuspended", F::kConfig, "4.3.5", false, false},
      {10, "webhookNotSet", F::kConfig, "4.3.5", false, false},
      {11, "receiverNoSuitableDevice", F::kRecipient, "5.1.1", false, false},
      {12, "tooManyRequests", F::kRetry, "4.7.0", false, true},
      {13, "apiVersionNotSupported", F::kBadRequest, "5.6.0", false, false},
      {14, "incompatibleWithVersion", F::kBadRequest, "5.6.0", false, false},
      {15, "publicAccountNotAuthorized", F::kConfig, "4.3.5", false, false},
      {16, "inchatReplyMessageNotAllowed", F::kBadRequest, "5.6.0", false, false},
      {17, "publicAccountIsNotInline", F::kBadRequest, "5.6.0", false, false},
      {18, "noPublicChat", F::kBadRequest, "5.6.0", false, false},
      {19, "cannotSendBroadcast", F::kConfig, "4.3.5", false, false},
      {20, "broadcastNotAllowed", F::kConfig, "4.3.5", false, false},
      {21, "unsupportedCountry", F::kRecipient, "5.1.1", false, false},
      {22, "paymentUnsupported", F::kBadRequest, "5.6.0", false, false},
      {23, "freeMessagesExceeded", F::kConfig, "4.3.5", false, false},
      {24, "noBalance", F::kConfig, "4.3.5", false, false},
      {25, "General error", F::kRetry, "4.3.0", false, false},
      {99, "General error", F::kRetry, "4.3.0", false, false},
      {-1, "General error", F::kRetry, "4.3.0", false, false},
  };
  for (const StatusCase& c : cases) {
    SCOPED_TRACE(c.status);
    const SendResult r = viber_parse_send(response(
        200, R"({"status":)" + std::to_string(c.status) + R"(,"status_message":")" + c.message +
                 R"(","chat_hostname":"SN-CHAT-01_"})"));
    EXPECT_EQ(r.failure, c.cls);
    EXPECT_EQ(r.outcome.reply.enhanced, c.enhanced);
    EXPECT_EQ(r.recipient_blocked, c.blocked);
    EXPECT_EQ(r.outcome.reply.text, "viber status " + std::to_string(c.status) + ": " + c.message);
    EXPECT_TRUE(r.provider_ref.empty());
    const bool permanent = c.cls == F::kRecipient || c.cls == F::kBadRequest;
    EXPECT_EQ(r.outcome.kind, permanent ? OutcomeKind::kPermanent : OutcomeKind::kTransient);
    EXPECT_EQ(r.outcome.reply.code, c.cls == F::kRecipient ? 550 : c.cls == F::kBadRequest ? 554 : 451);
    // Recipient and payload failures are the message's; status 12 too
    // (Viber's limit is per user); config and provider errors are not.
    EXPECT_EQ(r.outcome.blames_message, permanent || c.rate_limited);
  }
}

TEST(ViberParse, NotAViberAnswerIsRetried) {
  for (const auto& [status, body] : std::vector<std::pair<unsigned, std::string>>{
           {500, R"({"status":0,"message_token":1})"},
           {502, "<html>Bad Gateway</html>"},
           {200, "<html>oops</html>"},
           {200, ""},
           {200, "[]"},
           {200, R"({"status":"0"})"},
           {200, R"({"status_message":"ok"})"}}) {
    const SendResult r = viber_parse_send(response(status, body));
    EXPECT_EQ(r.failure, FailureClass::kRetry) << body;
    EXPECT_EQ(r.outcome.reply.enhanced, "4.3.0") << body;
    EXPECT_FALSE(r.outcome.blames_message) << body;
    EXPECT_TRUE(r.outcome.reply.text.starts_with("viber HTTP " + std::to_string(status) + ": ")) << body;
  }
}

// ---- callbacks ------------------------------------------------------------

TEST(ViberSignature, IsLowercaseHexHmacSha256) {
  // RFC 4231-style public vector (HMAC-SHA256("key", "The quick brown fox...")).
  EXPECT_EQ(viber_signature("key", "The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

constexpr std::string_view kDelivered =
    R"({"event":"delivered","timestamp":1457764197627,"chat_hostname":"SN-448_","message_token":4912661846655238145,"user_id":"01234567890A="})";

CallbackRequest signed_request(std::string_view body, std::string signature) {
  CallbackRequest req;
  req.method = "POST";
  req.target = "/v1/callbacks/viber";
  if (!signature.empty()) req.headers.emplace_back("x-viber-content-signature", std::move(signature));
  req.body = body;
  return req;
}

CallbackRequest signed_request(std::string_view body) {
  return signed_request(body, viber_signature(kToken, body));
}

TEST(ViberCallback, SignatureOfTheRawBody) {
  // Computed independently (Python hmac) over the exact bytes.
  const CallbackRequest req =
      signed_request(kDelivered, "79ded9e17529c4b2e126bec78c067e63a8392e1558638408e1b2f6dda7e851fc");
  const CallbackResult r = viber_callback(req, kToken);
  EXPECT_EQ(r.status, 200u);
  ASSERT_EQ(r.receipts.size(), 1u);
  // Hex in upper case is the same signature.
  EXPECT_EQ(viber_callback(signed_request(kDelivered, "79DED9E17529C4B2E126BEC78C067E63A8392E1558638408E1B2F6DDA7E851FC"),
                           kToken)
                .status,
            200u);
}

TEST(ViberCallback, BadSignaturesAre401) {
  std::string flipped = viber_signature(kToken, kDelivered);
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  std::string body_changed(kDelivered);
  body_changed[body_changed.size() - 3] = 'B';
  for (const CallbackRequest& req :
       {signed_request(kDelivered, ""), signed_request(kDelivered, flipped),
        signed_request(kDelivered, viber_signature("other-token", kDelivered)),
        signed_request(kDelivered, viber_signature(kToken, kDelivered).substr(0, 63)),
        signed_request(kDelivered, "sha256=" + viber_signature(kToken, kDelivered)),
        signed_request(body_changed, viber_signature(kToken, kDelivered))}) {
    const CallbackResult r = viber_callback(req, kToken);
    EXPECT_EQ(r.status, 401u);
    EXPECT_TRUE(r.receipts.empty());
    EXPECT_EQ(r.error.find(kToken), std::string::npos);
  }
  // An empty token signs nothing.
  EXPECT_EQ(viber_callback(signed_request(kDelivered, viber_signature("", kDelivered)), "").status, 401u);
}

TEST(ViberCallback, MalformedSignedBodiesAre400) {
  for (std::string_view body : {"", "{", "[1]", "{\"event\":5}", "{\"timestamp\":1}", "not json"}) {
    const CallbackResult r = viber_callback(signed_request(body), kToken);
    EXPECT_EQ(r.status, 400u) << body;
    EXPECT_TRUE(r.receipts.empty());
  }
}

TEST(ViberCallback, DeliveredSeenFailedKeepTheTokenExact) {
  struct Case {
    std::string body;
    ReceiptKind kind;
  };
  const std::vector<Case> cases = {
      {std::string(kDelivered), ReceiptKind::kDelivered},
      {R"({"event":"seen","timestamp":1457764197627,"message_token":4912661846655238145,"user_id":"01234567890A="})",
       ReceiptKind::kRead},
      {R"({"event":"failed","timestamp":1457764197627,"message_token":4912661846655238145,"user_id":"01234567890A=","desc":"failure description"})",
       ReceiptKind::kFailed},
  };
  for (const Case& c : cases) {
    const CallbackResult r = viber_callback(signed_request(c.body), kToken);
    ASSERT_EQ(r.status, 200u);
    ASSERT_EQ(r.receipts.size(), 1u) << c.body;
    const Receipt& x = r.receipts[0];
    EXPECT_EQ(x.channel, core::Channel::kViber);
    EXPECT_EQ(x.kind, c.kind);
    EXPECT_EQ(x.provider_ref, "4912661846655238145");
    EXPECT_EQ(x.recipient, "01234567890A=");
    EXPECT_EQ(core::to_unix_ms(x.at), 1457764197627);
    EXPECT_FALSE(x.event_id.empty());
    if (c.kind == ReceiptKind::kFailed) {
      EXPECT_EQ(x.failure, FailureClass::kRecipient);
      EXPECT_EQ(x.reply.code, 550);
      EXPECT_EQ(x.reply.text, "viber failed: failure description");
    }
  }
  // Distinct facts, distinct keys; the same fact twice, the same key.
  const auto id = [](const std::string& body) {
    return viber_callback(signed_request(body), kToken).receipts.at(0).event_id;
  };
  EXPECT_NE(id(cases[0].body), id(cases[1].body));
  EXPECT_EQ(id(cases[0].body), id(cases[0].body));
  EXPECT_EQ(id(cases[0].body), "viber:delivered:4912661846655238145:1457764197627:01234567890A=");
}

TEST(ViberCallback, ReceiptWithoutTokenIsIgnored) {
  const CallbackResult r = viber_callback(
      signed_request(R"({"event":"delivered","timestamp":1,"message_token":1.5,"user_id":"u"})"), kToken);
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.receipts.empty());
}

TEST(ViberCallback, SubscriptionEvents) {
  const CallbackResult sub = viber_callback(
      signed_request(
          R"({"event":"subscribed","timestamp":1457764197627,"message_token":4912661846655238145,"user":{"id":"01234567890A=","name":"John McClane","avatar":"http://avatar.example.com","country":"UK","language":"en","api_version":1}})"),
      kToken);
  ASSERT_EQ(sub.receipts.size(), 1u);
  EXPECT_EQ(sub.receipts[0].kind, ReceiptKind::kUnblocked);
  EXPECT_EQ(sub.receipts[0].recipient, "01234567890A=");

  const CallbackResult unsub = viber_callback(
      signed_request(
          R"({"event":"unsubscribed","timestamp":1457764197627,"message_token":4912661846655238145,"user_id":"01234567890A="})"),
      kToken);
  ASSERT_EQ(unsub.receipts.size(), 1u);
  EXPECT_EQ(unsub.receipts[0].kind, ReceiptKind::kBlocked);
  EXPECT_EQ(unsub.receipts[0].recipient, "01234567890A=");
  EXPECT_EQ(core::to_unix_ms(unsub.receipts[0].at), 1457764197627);
}

TEST(ViberCallback, ConversationStartedAndMessages) {
  const CallbackResult opened = viber_callback(
      signed_request(
          R"({"event":"conversation_started","timestamp":1457764197627,"message_token":4912661846655238145,"type":"open","context":"ctx","user":{"id":"01234567890A="},"subscribed":false})"),
      kToken);
  ASSERT_EQ(opened.receipts.size(), 1u);
  EXPECT_EQ(opened.receipts[0].kind, ReceiptKind::kInbound);
  EXPECT_EQ(opened.receipts[0].recipient, "01234567890A=");

  const CallbackResult opened_sub = viber_callback(
      signed_request(
          R"({"event":"conversation_started","timestamp":1457764197627,"message_token":4912661846655238145,"user":{"id":"01234567890A="},"subscribed":true})"),
      kToken);
  ASSERT_EQ(opened_sub.receipts.size(), 2u);
  EXPECT_EQ(opened_sub.receipts[0].kind, ReceiptKind::kInbound);
  EXPECT_EQ(opened_sub.receipts[1].kind, ReceiptKind::kUnblocked);
  EXPECT_NE(opened_sub.receipts[0].event_id, opened_sub.receipts[1].event_id);

  const CallbackResult msg = viber_callback(
      signed_request(
          R"({"event":"message","timestamp":1457764197627,"message_token":4912661846655238145,"sender":{"id":"01234567890A=","name":"John"},"message":{"type":"text","text":"hi"}})"),
      kToken);
  ASSERT_EQ(msg.receipts.size(), 2u);
  EXPECT_EQ(msg.receipts[0].kind, ReceiptKind::kInbound);
  EXPECT_EQ(msg.receipts[1].kind, ReceiptKind::kUnblocked);
  EXPECT_EQ(msg.receipts[0].recipient, "01234567890A=");
  EXPECT_NE(msg.receipts[0].event_id, msg.receipts[1].event_id);
}

TEST(ViberCallback, TimesOutsideTheClockAreEpoch) {
  // Beyond 2200 (the nanosecond clock ends in 2262) or negative: no time.
  for (std::string_view ts : {"9223372036854775807", "-1", "7258118400001", "\"1457764197627\""}) {
    const std::string body = R"({"event":"unsubscribed","timestamp":)" + std::string(ts) + R"(,"user_id":"u"})";
    const CallbackResult r = viber_callback(signed_request(body), kToken);
    ASSERT_EQ(r.receipts.size(), 1u) << ts;
    EXPECT_EQ(r.receipts[0].at, core::TimePoint{}) << ts;
  }
}

TEST(ViberCallback, WebhookCheckAndUnknownEventsGiveNoReceipt) {
  for (std::string_view body :
       {R"({"event":"webhook","timestamp":1457764197627,"chat_hostname":"SN-448_","message_token":241256543215})",
        R"({"event":"client_status","timestamp":1,"user_id":"u"})", R"({"event":"unsubscribed","timestamp":1})"}) {
    const CallbackResult r = viber_callback(signed_request(body), kToken);
    EXPECT_EQ(r.status, 200u) << body;
    EXPECT_TRUE(r.receipts.empty()) << body;
  }
}

}  // namespace
}  // namespace transports::providers
