// tests/providers/whatsapp_test.cpp: the WhatsApp Cloud API codec
// (transports/providers/whatsapp.cpp) against channels.md §4: request
// bodies, every row of the error table, the webhook's authentication,
// subscription check and status parsing.
#include "transports/providers/whatsapp.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

namespace transports::providers {
namespace {

namespace json = boost::json;

templating::Rendered rendered(std::string text, templating::ButtonRows buttons = {}) {
  templating::Rendered r;
  r.channel = core::Channel::kWhatsapp;
  r.text = std::move(text);
  r.buttons = std::move(buttons);
  return r;
}

std::string header(const HttpRequest& req, std::string_view name) {
  for (const auto& [n, v] : req.headers) {
    if (n == name) return v;
  }
  return "<none>";
}

json::value parse(std::string_view s) {
  boost::system::error_code ec;
  json::value v = json::parse(s, ec);
  EXPECT_FALSE(ec) << s;
  return v;
}

// ---- requests ----------------------------------------------------------------

TEST(WhatsappSendRequest, TextMessage) {
  const HttpRequest req = whatsapp_send_request("TOKEN", "12345", "+15551234567",
                                                rendered("Your order shipped"), nullptr, "dlv-42",
                                                {});
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v21.0/12345/messages");
  EXPECT_EQ(header(req, "Authorization"), "Bearer TOKEN");
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
  EXPECT_EQ(parse(req.body), parse(R"({"messaging_product":"whatsapp","recipient_type":"individual",
      "to":"15551234567","type":"text","text":{"preview_url":false,"body":"Your order shipped"},
      "biz_opaque_callback_data":"dlv-42"})"));
  // The member order is stable too (what the fake server and logs show).
  EXPECT_EQ(req.body,
            R"({"messaging_product":"whatsapp","recipient_type":"individual","to":"15551234567",)"
            R"("type":"text","text":{"preview_url":false,"body":"Your order shipped"},)"
            R"("biz_opaque_callback_data":"dlv-42"})");
}

TEST(WhatsappSendRequest, ApiVersionAndNoCallbackData) {
  WhatsappOptions o;
  o.api_version = "v19.0";
  const HttpRequest req =
      whatsapp_send_request("T", "999", "+44 7700 900123", rendered("Hi \"you\"\n\xD0\x9F"), nullptr, "", o);
  EXPECT_EQ(req.target, "/v19.0/999/messages");
  const json::value body = parse(req.body);
  EXPECT_EQ(body.at("to"), "447700900123");
  EXPECT_EQ(body.at("text").at("body"), "Hi \"you\"\n\xD0\x9F");
  EXPECT_FALSE(body.as_object().contains("biz_opaque_callback_data"));
}

TEST(WhatsappSendRequest, ReplyButtonsFromRows) {
  // Rows become one list; id = payload, title = text.
  const templating::ButtonRows rows = {{{"Yes", "", "yes"}, {"No", "", "no"}},
                                       {{"Later", "", "later"}}};
  const HttpRequest req = whatsapp_send_request("T", "1", "+15551234567",
                                                rendered("Confirm delivery?", rows), nullptr, "d1", {});
  EXPECT_EQ(parse(req.body), parse(R"({"messaging_product":"whatsapp","recipient_type":"individual",
      "to":"15551234567","type":"interactive",
      "interactive":{"type":"button","body":{"text":"Confirm delivery?"},
        "action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},
                             {"type":"reply","reply":{"id":"no","title":"No"}},
                             {"type":"reply","reply":{"id":"later","title":"Later"}}]}},
      "biz_opaque_callback_data":"d1"})"));
}

TEST(WhatsappSendRequest, OneUrlButtonIsCtaUrl) {
  const templating::ButtonRows rows = {{{"Track", "https://example.com/t/1", ""}}};
  const HttpRequest req =
      whatsapp_send_request("T", "1", "+15551234567", rendered("Shipped", rows), nullptr, "", {});
  EXPECT_EQ(parse(req.body), parse(R"({"messaging_product":"whatsapp","recipient_type":"individual",
      "to":"15551234567","type":"interactive",
      "interactive":{"type":"cta_url","body":{"text":"Shipped"},
        "action":{"name":"cta_url","parameters":{"display_text":"Track","url":"https://example.com/t/1"}}}})"));
}

TEST(WhatsappSendRequest, MixedButtonsSendTheReplyButtons) {
  // render() refuses the mix; if one gets here anyway, the reply buttons win.
  const templating::ButtonRows rows = {{{"Track", "https://example.com/t/1", ""}}, {{"Ok", "", "ok"}}};
  const json::value body = parse(
      whatsapp_send_request("T", "1", "+1555", rendered("x", rows), nullptr, "", {}).body);
  EXPECT_EQ(body.at("interactive").at("type"), "button");
  EXPECT_EQ(body.at("interactive").at("action").at("buttons").as_array().size(), 1u);
}

TEST(WhatsappSendRequest, Template) {
  const WhatsappTemplate t{"order_update", "en_US", {"#1234", "Anna"}};
  // Text and buttons are the approved template's, not the rendered ones.
  const HttpRequest req = whatsapp_send_request(
      "T", "1", "+15551234567", rendered("ignored", {{{"B", "", "p"}}}), &t, "dlv-7", {});
  EXPECT_EQ(parse(req.body), parse(R"({"messaging_product":"whatsapp","recipient_type":"individual",
      "to":"15551234567","type":"template",
      "template":{"name":"order_update","language":{"code":"en_US"},
        "components":[{"type":"body","parameters":[{"type":"text","text":"#1234"},
                                                   {"type":"text","text":"Anna"}]}]},
      "biz_opaque_callback_data":"dlv-7"})"));
}

TEST(WhatsappSendRequest, TemplateWithoutParameters) {
  const WhatsappTemplate t{"hello_world", "en_US", {}};
  const json::value body =
      parse(whatsapp_send_request("T", "1", "+15551234567", rendered("x"), &t, "", {}).body);
  EXPECT_EQ(body.at("template"), parse(R"({"name":"hello_world","language":{"code":"en_US"}})"));
}

// ---- send answers ---------------------------------------------------------------

TEST(WhatsappParseSend, Accepted) {
  HttpResponse resp;
  resp.status = 200;
  resp.body = R"({"messaging_product":"whatsapp","contacts":[{"input":"15551234567","wa_id":"15551234567"}],)"
              R"("messages":[{"id":"wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI=","message_status":"accepted"}]})";
  const SendResult r = whatsapp_parse_send(resp);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.outcome.reply.code, 250);
  EXPECT_EQ(r.outcome.reply.enhanced, "2.0.0");
  EXPECT_EQ(r.failure, FailureClass::kNone);
  EXPECT_EQ(r.provider_ref, "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI=");

  // Held for quality assessment is still accepted.
  resp.body = R"({"messages":[{"id":"wamid.X","message_status":"held_for_quality_assessment"}]})";
  EXPECT_EQ(whatsapp_parse_send(resp).provider_ref, "wamid.X");
}

struct ErrorCase {
  unsigned http;
  long long code;
  FailureClass cls;
  uint16_t reply_code;
  std::string enhanced;
  OutcomeKind kind;
  bool blames_message;
  bool recipient_blocked = false;
  bool needs_template = false;
};

std::vector<ErrorCase> error_table() {
  using F = FailureClass;
  const OutcomeKind T = OutcomeKind::kTransient;
  const OutcomeKind P = OutcomeKind::kPermanent;
  return {
      // Rate limits.
      {400, 130429, F::kRetry, 451, "4.7.0", T, false},
      {429, 130429, F::kRetry, 451, "4.7.0", T, false},
      {400, 80007, F::kRetry, 451, "4.7.0", T, false},
      {400, 4, F::kRetry, 451, "4.7.0", T, false},
      {400, 131048, F::kRetry, 451, "4.7.0", T, false},
      {400, 131056, F::kRetry, 451, "4.7.0", T, true},  // the pair: that recipient only
      {400, 131049, F::kRetry, 451, "4.7.0", T, true},  // per-user marketing cap
      // Provider trouble.
      {400, 131057, F::kRetry, 451, "4.3.0", T, false},
      {500, 1, F::kRetry, 451, "4.3.0", T, false},
      {503, 2, F::kRetry, 451, "4.3.0", T, false},
      {500, 131000, F::kRetry, 451, "4.3.0", T, false},
      {400, 131053, F::kRetry, 451, "4.3.0", T, true},
      {400, 131052, F::kRetry, 451, "4.3.0", T, true},
      // Permanent for this message or recipient.
      {400, 131047, F::kBadRequest, 554, "5.7.1", P, true, false, true},
      {400, 131026, F::kRecipient, 550, "5.1.1", P, true},
      {400, 131050, F::kRecipient, 550, "5.7.1", P, true, true},
      {400, 130472, F::kRecipient, 550, "5.7.1", P, true},
      // Our payload.
      {400, 100, F::kBadRequest, 554, "5.6.0", P, true},
      {400, 131008, F::kBadRequest, 554, "5.6.0", P, true},
      {400, 131009, F::kBadRequest, 554, "5.6.0", P, true},
      {400, 131021, F::kBadRequest, 554, "5.6.0", P, true},
      {400, 131051, F::kBadRequest, 554, "5.6.0", P, true},
      {400, 132000, F::kBadRequest, 554, "5.6.0", P, true},
      {400, 132012, F::kBadRequest, 554, "5.6.0", P, true},
      // Our token or account.
      {404, 132001, F::kConfig, 451, "4.3.5", T, false},
      {400, 132015, F::kConfig, 451, "4.3.5", T, false},
      {401, 190, F::kConfig, 451, "4.3.5", T, false},
      {401, 0, F::kConfig, 451, "4.3.5", T, false},
      {403, 10, F::kConfig, 451, "4.3.5", T, false},
      {403, 200, F::kConfig, 451, "4.3.5", T, false},
      {403, 250, F::kConfig, 451, "4.3.5", T, false},
      {403, 299, F::kConfig, 451, "4.3.5", T, false},
      {403, 368, F::kConfig, 451, "4.3.5", T, false},
      {400, 131031, F::kConfig, 451, "4.3.5", T, false},
      {400, 130497, F::kConfig, 451, "4.3.5", T, false},
      {400, 131042, F::kConfig, 451, "4.3.5", T, false},
      // Unknown codes go by the HTTP status.
      {400, 987654, F::kBadRequest, 554, "5.6.0", P, true},
      {403, 987654, F::kConfig, 451, "4.3.5", T, false},
      {401, 987654, F::kConfig, 451, "4.3.5", T, false},
      {429, 987654, F::kRetry, 451, "4.7.0", T, false},
      {500, 987654, F::kRetry, 451, "4.3.0", T, false},
      {400, 300, F::kBadRequest, 554, "5.6.0", P, true},  // just past the permission range
  };
}

void expect_case(const SendResult& r, const ErrorCase& c, const std::string& what) {
  EXPECT_EQ(r.failure, c.cls) << what;
  EXPECT_EQ(r.outcome.kind, c.kind) << what;
  EXPECT_EQ(r.outcome.reply.code, c.reply_code) << what;
  EXPECT_EQ(r.outcome.reply.enhanced, c.enhanced) << what;
  EXPECT_EQ(r.outcome.blames_message, c.blames_message) << what;
  EXPECT_EQ(r.recipient_blocked, c.recipient_blocked) << what;
  EXPECT_EQ(r.needs_template, c.needs_template) << what;
  EXPECT_TRUE(r.provider_ref.empty()) << what;
  EXPECT_FALSE(r.outcome.peer) << what;
}

TEST(WhatsappParseSend, EveryErrorCode) {
  for (const ErrorCase& c : error_table()) {
    HttpResponse resp;
    resp.status = c.http;
    resp.body = R"({"error":{"message":"(#)" + std::to_string(c.code) +
                R"() Something","type":"OAuthException","code":)" + std::to_string(c.code) +
                R"(,"error_data":{"messaging_product":"whatsapp","details":"d"},"fbtrace_id":"Az8"}})";
    const std::string what = "HTTP " + std::to_string(c.http) + " code " + std::to_string(c.code);
    const SendResult r = whatsapp_parse_send(resp);
    expect_case(r, c, what);
    EXPECT_EQ(r.outcome.reply.text, "whatsapp error " + std::to_string(c.code) + ": Something") << what;
  }
}

TEST(WhatsappParseSend, ReplyText) {
  HttpResponse resp;
  resp.status = 400;
  resp.body = R"({"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047}})";
  EXPECT_EQ(whatsapp_parse_send(resp).outcome.reply.text, "whatsapp error 131047: Re-engagement message");
  // The example of channels.md, verbatim.
  resp.body = R"({"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,
  "error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},
  "fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}})";
  const SendResult r = whatsapp_parse_send(resp);
  EXPECT_EQ(r.outcome.reply.text, "whatsapp error 130429: Rate limit hit");
  EXPECT_EQ(r.outcome.reply.enhanced, "4.7.0");
  // No message: the code alone; controls in the message become spaces.
  resp.body = R"({"error":{"code":100}})";
  EXPECT_EQ(whatsapp_parse_send(resp).outcome.reply.text, "whatsapp error 100");
  resp.body = R"({"error":{"code":100,"message":"bad\r\nthing"}})";
  EXPECT_EQ(whatsapp_parse_send(resp).outcome.reply.text, "whatsapp error 100: bad  thing");
  // A code given as a string still counts.
  resp.body = R"({"error":{"code":"131026","message":"Message undeliverable"}})";
  EXPECT_EQ(whatsapp_parse_send(resp).failure, FailureClass::kRecipient);
}

TEST(WhatsappParseSend, NoErrorCode) {
  HttpResponse resp;
  resp.status = 502;
  resp.body = "<html>Bad Gateway</html>";
  SendResult r = whatsapp_parse_send(resp);
  EXPECT_EQ(r.failure, FailureClass::kRetry);
  EXPECT_EQ(r.outcome.reply.code, 451);
  EXPECT_EQ(r.outcome.reply.enhanced, "4.3.0");
  EXPECT_FALSE(r.outcome.blames_message);
  EXPECT_EQ(r.outcome.reply.text, "whatsapp HTTP 502: <html>Bad Gateway</html>");

  resp.status = 500;
  resp.body = "{}";
  EXPECT_EQ(whatsapp_parse_send(resp).failure, FailureClass::kRetry);
  resp.status = 400;
  resp.body = "not json";
  EXPECT_EQ(whatsapp_parse_send(resp).failure, FailureClass::kRetry);
  resp.status = 429;
  resp.body = "";
  r = whatsapp_parse_send(resp);
  EXPECT_EQ(r.outcome.reply.enhanced, "4.7.0");
  EXPECT_EQ(r.outcome.reply.text, "whatsapp HTTP 429");
  resp.status = 401;
  resp.body = "Unauthorized";
  EXPECT_EQ(whatsapp_parse_send(resp).failure, FailureClass::kConfig);
  // 200 without a message id: we cannot match it to callbacks; retry.
  resp.status = 200;
  resp.body = R"({"messages":[]})";
  EXPECT_EQ(whatsapp_parse_send(resp).failure, FailureClass::kRetry);
  resp.body = R"({"messages":[{"id":42}]})";
  EXPECT_EQ(whatsapp_parse_send(resp).failure, FailureClass::kRetry);
  resp.body = R"([1,2,3])";
  EXPECT_EQ(whatsapp_parse_send(resp).failure, FailureClass::kRetry);
  // The body in the text is cut and cleaned.
  resp.status = 503;
  resp.body = std::string(1000, 'x') + "\n";
  r = whatsapp_parse_send(resp);
  EXPECT_LE(r.outcome.reply.text.size(), 512u);
  EXPECT_EQ(r.outcome.reply.text.find('\n'), std::string::npos);
}

// ---- webhook ----------------------------------------------------------------------

// The signature computed independently with OpenSSL's one-shot HMAC.
std::string sign(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  std::string hex = "sha256=";
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", mac[i]);
    hex += buf;
  }
  return hex;
}

constexpr std::string_view kSecret = "app-secret";
constexpr std::string_view kVerify = "verify me";

CallbackResult post(std::string_view body, std::string signature) {
  CallbackRequest req;
  req.method = "POST";
  req.target = "/v1/webhooks/whatsapp";
  req.headers = {{"content-type", "application/json"}, {"x-hub-signature-256", std::move(signature)}};
  req.body = body;
  return whatsapp_callback(req, kSecret, kVerify);
}

CallbackResult post_signed(std::string_view body) { return post(body, sign(kSecret, body)); }

CallbackResult get(std::string_view target, std::string_view verify = kVerify) {
  CallbackRequest req;
  req.method = "GET";
  req.target = target;
  return whatsapp_callback(req, kSecret, verify);
}

std::string webhook(std::string_view value) {
  return R"({"object":"whatsapp_business_account","entry":[{"id":"WABA_ID","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"12345"},)" +
         std::string(value) + "}}]}]}";
}

TEST(WhatsappCallback, SubscriptionCheck) {
  CallbackResult r = get("/wh?hub.mode=subscribe&hub.verify_token=verify%20me&hub.challenge=1158201444");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "1158201444");
  EXPECT_TRUE(r.receipts.empty());
  // '+' is a space in a query; order does not matter.
  r = get("/wh?hub.challenge=abc&hub.verify_token=verify+me&hub.mode=subscribe");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "abc");

  EXPECT_EQ(get("/wh?hub.mode=subscribe&hub.verify_token=verify%20you&hub.challenge=1").status, 403u);
  EXPECT_EQ(get("/wh?hub.mode=subscribe&hub.verify_token=verify&hub.challenge=1").status, 403u);
  EXPECT_EQ(get("/wh?hub.mode=unsubscribe&hub.verify_token=verify+me&hub.challenge=1").status, 403u);
  EXPECT_EQ(get("/wh?hub.mode=subscribe&hub.verify_token=verify+me").status, 403u);
  EXPECT_EQ(get("/wh?hub.verify_token=verify+me&hub.challenge=1").status, 403u);
  EXPECT_EQ(get("/wh").status, 403u);
  EXPECT_EQ(get("/wh?%zz=%&&=&hub.mode").status, 403u);
  // An unconfigured token never matches, not even an empty one.
  EXPECT_EQ(get("/wh?hub.mode=subscribe&hub.verify_token=&hub.challenge=1", "").status, 403u);
  EXPECT_FALSE(get("/wh").error.empty());
}

TEST(WhatsappCallback, Signature) {
  const std::string body = webhook(R"("statuses":[{"id":"wamid.A","status":"delivered","timestamp":"1454119029","recipient_id":"15551234567"}])");
  EXPECT_EQ(post_signed(body).status, 200u);
  EXPECT_EQ(post_signed(body).receipts.size(), 1u);

  std::string upper = sign(kSecret, body);
  for (size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_EQ(post(body, upper).status, 200u);

  for (const std::string& bad : {std::string(), sign("other", body), sign(kSecret, body + " "),
                                 sign(kSecret, body).substr(7), sign(kSecret, body).substr(0, 70),
                                 "sha1=" + sign(kSecret, body).substr(7),
                                 sign(kSecret, body).substr(0, 70) + "zz"}) {
    const CallbackResult r = post(body, bad);
    EXPECT_EQ(r.status, 401u) << bad;
    EXPECT_TRUE(r.receipts.empty());
    EXPECT_FALSE(r.error.empty());
  }
  // No app secret configured: nothing is accepted (an empty-key HMAC is
  // computable by anyone).
  CallbackRequest req;
  req.method = "POST";
  req.body = body;
  req.headers = {{"x-hub-signature-256", sign("", body)}};
  EXPECT_EQ(whatsapp_callback(req, "", kVerify).status, 401u);
  req.method = "PUT";
  EXPECT_EQ(whatsapp_callback(req, kSecret, kVerify).status, 405u);
}

TEST(WhatsappCallback, Statuses) {
  const std::string body = webhook(R"("statuses":[
    {"id":"wamid.S","status":"sent","timestamp":"1454119020","recipient_id":"15551234567","biz_opaque_callback_data":"dlv-42"},
    {"id":"wamid.S","status":"delivered","timestamp":"1454119029","recipient_id":"15551234567","biz_opaque_callback_data":"dlv-42"},
    {"id":"wamid.S","status":"read","timestamp":1454119031,"recipient_id":"15551234567"},
    {"id":"wamid.S","status":"deleted","timestamp":"1454119040","recipient_id":"15551234567"}])");
  const CallbackResult r = post_signed(body);
  ASSERT_EQ(r.status, 200u);
  ASSERT_EQ(r.receipts.size(), 2u);
  const Receipt& d = r.receipts[0];
  EXPECT_EQ(d.channel, core::Channel::kWhatsapp);
  EXPECT_EQ(d.kind, ReceiptKind::kDelivered);
  EXPECT_EQ(d.provider_ref, "wamid.S");
  EXPECT_EQ(d.recipient, "+15551234567");
  EXPECT_EQ(core::to_unix_ms(d.at), 1454119029000);
  EXPECT_EQ(d.event_id, "whatsapp:wamid.S:delivered");
  EXPECT_EQ(d.failure, FailureClass::kNone);
  const Receipt& rd = r.receipts[1];
  EXPECT_EQ(rd.kind, ReceiptKind::kRead);
  EXPECT_EQ(core::to_unix_ms(rd.at), 1454119031000);
  EXPECT_EQ(rd.event_id, "whatsapp:wamid.S:read");
}

TEST(WhatsappCallback, FailedStatusesAreClassifiedLikeSends) {
  // channels.md's example: 131047 as a failed status.
  const std::string example = webhook(R"("statuses":[{"id":"wamid.HBgL","status":"failed","timestamp":"1454119029","recipient_id":"15551234567",
   "biz_opaque_callback_data":"dlv-42",
   "conversation":{"id":"c","origin":{"type":"utility"}},
   "pricing":{"billable":true,"pricing_model":"PMP","category":"utility"},
   "errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message",
     "error_data":{"details":"Message failed to send because more than 24 hours have passed"}}]}])");
  CallbackResult r = post_signed(example);
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].kind, ReceiptKind::kFailed);
  EXPECT_EQ(r.receipts[0].provider_ref, "wamid.HBgL");
  EXPECT_EQ(r.receipts[0].recipient, "+15551234567");
  EXPECT_TRUE(r.receipts[0].needs_template);
  EXPECT_EQ(r.receipts[0].failure, FailureClass::kBadRequest);
  EXPECT_EQ(r.receipts[0].reply.code, 554);
  EXPECT_EQ(r.receipts[0].reply.enhanced, "5.7.1");
  EXPECT_EQ(r.receipts[0].reply.text, "whatsapp error 131047: Re-engagement message");
  EXPECT_EQ(r.receipts[0].event_id, "whatsapp:wamid.HBgL:failed");

  // Every code of the table classifies as it does in a send answer.
  for (const ErrorCase& c : error_table()) {
    if (c.code == 987654 || c.code == 300) continue;  // unknown codes depend on the HTTP status
    const std::string body = webhook(R"("statuses":[{"id":"wamid.F","status":"failed","timestamp":"1","recipient_id":"1","errors":[{"code":)" +
                                     std::to_string(c.code) + R"(,"title":"T"}]}])");
    r = post_signed(body);
    ASSERT_EQ(r.receipts.size(), 1u);
    const std::string what = "code " + std::to_string(c.code);
    EXPECT_EQ(r.receipts[0].failure, c.cls) << what;
    EXPECT_EQ(r.receipts[0].reply.code, c.reply_code) << what;
    EXPECT_EQ(r.receipts[0].reply.enhanced, c.enhanced) << what;
    EXPECT_EQ(r.receipts[0].needs_template, c.needs_template) << what;
    EXPECT_EQ(r.receipts[0].reply.text, "whatsapp error " + std::to_string(c.code) + ": T") << what;
  }

  // Failed without errors, or with an unknown code: retry class.
  r = post_signed(webhook(R"("statuses":[{"id":"wamid.G","status":"failed","timestamp":"1","recipient_id":"1"}])"));
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].kind, ReceiptKind::kFailed);
  EXPECT_EQ(r.receipts[0].failure, FailureClass::kRetry);
  EXPECT_EQ(r.receipts[0].reply.text, "whatsapp status failed");
  r = post_signed(webhook(R"("statuses":[{"id":"wamid.G","status":"failed","errors":[{"code":555555}]}])"));
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].failure, FailureClass::kRetry);
  EXPECT_EQ(r.receipts[0].recipient, "");
  EXPECT_EQ(r.receipts[0].at, core::TimePoint{});
}

TEST(WhatsappCallback, InboundMessage) {
  const std::string body = webhook(R"("contacts":[{"profile":{"name":"Kerry"},"wa_id":"15551234567"}],
    "messages":[{"from":"15551234567","id":"wamid.IN","timestamp":"1700000000","text":{"body":"hi"},"type":"text"}])");
  const CallbackResult r = post_signed(body);
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].kind, ReceiptKind::kInbound);
  EXPECT_EQ(r.receipts[0].recipient, "+15551234567");
  EXPECT_EQ(core::to_unix_ms(r.receipts[0].at), 1700000000000);
  EXPECT_EQ(r.receipts[0].event_id, "whatsapp:wamid.IN:inbound");
  EXPECT_TRUE(r.receipts[0].provider_ref.empty());
}

TEST(WhatsappCallback, DuplicatesCollapseByEventId) {
  // Meta repeats a webhook until it gets 200, and may repeat a status
  // inside one; the event ids are equal, so the receipts collapse.
  const std::string body = webhook(R"("statuses":[
    {"id":"wamid.D","status":"delivered","timestamp":"10","recipient_id":"1"},
    {"id":"wamid.D","status":"delivered","timestamp":"12","recipient_id":"1"}])");
  const CallbackResult a = post_signed(body);
  const CallbackResult b = post_signed(body);
  ASSERT_EQ(a.receipts.size(), 2u);
  ASSERT_EQ(b.receipts.size(), 2u);
  EXPECT_EQ(a.receipts[0].event_id, a.receipts[1].event_id);
  EXPECT_EQ(a.receipts[0].event_id, b.receipts[0].event_id);
}

TEST(WhatsappCallback, MalformedInput) {
  EXPECT_EQ(post_signed("").status, 400u);
  EXPECT_EQ(post_signed("not json").status, 400u);
  EXPECT_EQ(post_signed("[]").status, 400u);
  EXPECT_EQ(post_signed(R"({"entry":)").status, 400u);
  for (const std::string& body : {
           std::string(R"({})"),
           std::string(R"({"entry":{}})"),
           std::string(R"({"entry":[1,"x",null,{"changes":7}]})"),
           std::string(R"({"entry":[{"changes":[1,{"value":[]},{"value":{"statuses":{}}}]}]})"),
           webhook(R"("statuses":[1,{"status":"delivered"},{"id":5,"status":"delivered"},{"id":"w","status":7}])"),
           webhook(R"("messages":[{"id":"w","from":"+1555"},{"id":"w"},{"from":"1555"},{"id":"w","from":""}])"),
       }) {
    const CallbackResult r = post_signed(body);
    EXPECT_EQ(r.status, 200u) << body;
    EXPECT_TRUE(r.receipts.empty()) << body;
  }
  // Another webhook field with a messages[] of its own is not read.
  std::string other = webhook(R"("messages":[{"from":"1555","id":"w","timestamp":"1"}])");
  other.replace(other.find("\"messages\","), 11, "\"smb_message_echoes\",");
  EXPECT_TRUE(post_signed(other).receipts.empty());
  // Timestamps that are not epoch seconds give the epoch.
  const CallbackResult r = post_signed(webhook(
      R"("statuses":[{"id":"w","status":"read","timestamp":"soon","recipient_id":"1 2"},{"id":"v","status":"read","timestamp":-5}])"));
  ASSERT_EQ(r.receipts.size(), 2u);
  EXPECT_EQ(r.receipts[0].at, core::TimePoint{});
  EXPECT_EQ(r.receipts[0].recipient, "");
  EXPECT_EQ(r.receipts[1].at, core::TimePoint{});
}

}  // namespace
}  // namespace transports::providers
