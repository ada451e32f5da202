// tests/providers/twilio_test.cpp: the Twilio SMS codec
// (transports/providers/twilio.cpp) against channels.md §5b: the form
// request, every row of the error tables, X-Twilio-Signature (Twilio's own
// published examples and an independent OpenSSL HMAC) and status callbacks.
#include "transports/providers/twilio.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <string>
#include <vector>

namespace transports::providers {
namespace {

templating::Rendered sms(std::string text) {
  templating::Rendered r;
  r.channel = core::Channel::kSms;
  r.text = std::move(text);
  return r;
}

std::string header(const HttpRequest& req, std::string_view name) {
  for (const auto& [n, v] : req.headers) {
    if (n == name) return v;
  }
  return "<none>";
}

// An independent form decoder: name=value pairs split on '&', %XX decoded.
std::vector<Header> decode_form(std::string_view s) {
  auto decode = [](std::string_view in) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
          std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
        out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(in[i] == '+' ? ' ' : in[i]);
      }
    }
    return out;
  };
  std::vector<Header> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t amp = s.find('&', pos);
    if (amp == std::string_view::npos) amp = s.size();
    const std::string_view pair = s.substr(pos, amp - pos);
    const size_t eq = pair.find('=');
    out.emplace_back(decode(pair.substr(0, eq)),
                     eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1)));
    pos = amp + 1;
  }
  return out;
}

// ---- requests -------------------------------------------------------------------

TEST(TwilioSendRequest, FromNumber) {
  const HttpRequest req = twilio_send_request("AC123", "secret", "+15550001111", "+15551234567",
                                              sms("Your code is 1234"),
                                              "https://hooks.example.com/v1/twilio?x=1&y=2", {});
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/2010-04-01/Accounts/AC123/Messages.json");
  EXPECT_EQ(header(req, "Authorization"), "Basic QUMxMjM6c2VjcmV0");  // base64("AC123:secret")
  EXPECT_EQ(header(req, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(req.body,
            "To=%2B15551234567&From=%2B15550001111&Body=Your%20code%20is%201234"
            "&StatusCallback=https%3A%2F%2Fhooks.example.com%2Fv1%2Ftwilio%3Fx%3D1%26y%3D2");
  const std::vector<Header> expected = {{"To", "+15551234567"},
                                        {"From", "+15550001111"},
                                        {"Body", "Your code is 1234"},
                                        {"StatusCallback", "https://hooks.example.com/v1/twilio?x=1&y=2"}};
  EXPECT_EQ(decode_form(req.body), expected);
}

TEST(TwilioSendRequest, Utf8AndReservedCharacters) {
  const std::string text = "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 & 100% +1=ok~\n\xF0\x9F\x98\x80";
  const HttpRequest req = twilio_send_request("AC1", "t", "+1", "+2", sms(text), "", {});
  EXPECT_EQ(req.body,
            "To=%2B2&From=%2B1&Body=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%26%20100%25%20%2B1%3Dok~"
            "%0A%F0%9F%98%80");
  const std::vector<Header> fields = decode_form(req.body);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[2].second, text);
}

TEST(TwilioSendRequest, MessagingServiceAndValidity) {
  const std::string mg = "MG9752274e9e519418a7406176694466fa";
  TwilioOptions o;
  o.validity_period_s = 600;
  HttpRequest req = twilio_send_request("AC1", "t", mg, "+15551234567", sms("hi"), "", o);
  std::vector<Header> expected = {{"To", "+15551234567"},
                                  {"MessagingServiceSid", mg},
                                  {"Body", "hi"},
                                  {"ValidityPeriod", "600"}};
  EXPECT_EQ(decode_form(req.body), expected);
  // Twilio's maximum is 36000 seconds.
  o.validity_period_s = 100000;
  req = twilio_send_request("AC1", "t", mg, "+1", sms("hi"), "", o);
  EXPECT_EQ(decode_form(req.body).back(), Header("ValidityPeriod", "36000"));
  // An alphanumeric sender that starts with MG is a From.
  req = twilio_send_request("AC1", "t", "MGMShop", "+1", sms("hi"), "", {});
  EXPECT_EQ(decode_form(req.body)[1], Header("From", "MGMShop"));
  req = twilio_send_request("AC1", "t", "MG9752274e9e519418a7406176694466fz", "+1", sms("hi"), "", {});
  EXPECT_EQ(decode_form(req.body)[1].first, "From");
}

// ---- send answers ------------------------------------------------------------------

TEST(TwilioParseSend, Accepted) {
  HttpResponse resp;
  resp.status = 201;
  resp.body = R"({"sid":"SM1f0e8ae6ade43cb3c0ce4525424e404f","account_sid":"AC123","to":"+15551234567",
    "from":"+15550001111","messaging_service_sid":null,"body":"hi","status":"queued","num_segments":"1",
    "direction":"outbound-api","error_code":null,"error_message":null,"price":null,"price_unit":"USD",
    "date_created":"Tue, 26 Jul 2016 12:50:07 +0000","api_version":"2010-04-01",
    "uri":"/2010-04-01/Accounts/AC123/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json"})";
  const SendResult r = twilio_parse_send(resp);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kDelivered);
  EXPECT_EQ(r.outcome.reply.code, 250);
  EXPECT_EQ(r.failure, FailureClass::kNone);
  EXPECT_EQ(r.provider_ref, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
}

struct ErrorCase {
  unsigned http;
  long long code;  // < 0: no JSON body at all
  FailureClass cls;
  uint16_t reply_code;
  std::string enhanced;
  bool blames_message;
  bool recipient_blocked = false;
};

TEST(TwilioParseSend, EveryErrorRow) {
  using F = FailureClass;
  const std::vector<ErrorCase> cases = {
      {429, 20429, F::kRetry, 451, "4.7.0", false},
      {400, 20429, F::kRetry, 451, "4.7.0", false},
      {500, 20500, F::kRetry, 451, "4.3.0", false},
      {503, 20503, F::kRetry, 451, "4.3.0", false},
      {400, 21610, F::kRecipient, 550, "5.7.1", true, true},
      {400, 21211, F::kRecipient, 550, "5.1.1", true},
      {400, 21614, F::kRecipient, 550, "5.1.1", true},
      {400, 21602, F::kBadRequest, 554, "5.6.0", true},
      {400, 21617, F::kBadRequest, 554, "5.6.0", true},
      {400, 21408, F::kConfig, 451, "4.3.5", false},
      {400, 21606, F::kConfig, 451, "4.3.5", false},
      {401, 20003, F::kConfig, 451, "4.3.5", false},
      {404, 20404, F::kConfig, 451, "4.3.5", false},
      {400, 21999, F::kBadRequest, 554, "5.6.0", true},  // unknown 4xx
      {422, 12345, F::kBadRequest, 554, "5.6.0", true},
      {403, 12345, F::kConfig, 451, "4.3.5", false},
      // No JSON: by the HTTP status.
      {429, -1, F::kRetry, 451, "4.7.0", false},
      {502, -1, F::kRetry, 451, "4.3.0", false},
      {401, -1, F::kConfig, 451, "4.3.5", false},
      {400, -1, F::kRetry, 451, "4.3.0", false},
      {302, -1, F::kRetry, 451, "4.3.0", false},
  };
  for (const ErrorCase& c : cases) {
    HttpResponse resp;
    resp.status = c.http;
    const std::string what = "HTTP " + std::to_string(c.http) + " code " + std::to_string(c.code);
    if (c.code >= 0) {
      resp.body = R"({"code":)" + std::to_string(c.code) +
                  R"(,"message":"Said so","more_info":"https://www.twilio.com/docs/errors/)" +
                  std::to_string(c.code) + R"(","status":)" + std::to_string(c.http) + "}";
    } else {
      resp.body = "<html>gateway</html>";
    }
    const SendResult r = twilio_parse_send(resp);
    EXPECT_EQ(r.failure, c.cls) << what;
    EXPECT_EQ(r.outcome.reply.code, c.reply_code) << what;
    EXPECT_EQ(r.outcome.reply.enhanced, c.enhanced) << what;
    EXPECT_EQ(r.outcome.kind, c.reply_code >= 500 ? OutcomeKind::kPermanent : OutcomeKind::kTransient)
        << what;
    EXPECT_EQ(r.outcome.blames_message, c.blames_message) << what;
    EXPECT_EQ(r.recipient_blocked, c.recipient_blocked) << what;
    EXPECT_FALSE(r.needs_template) << what;
    EXPECT_TRUE(r.provider_ref.empty()) << what;
    if (c.code >= 0) {
      EXPECT_EQ(r.outcome.reply.text, "twilio error " + std::to_string(c.code) + ": Said so") << what;
    } else {
      EXPECT_EQ(r.outcome.reply.text, "twilio HTTP " + std::to_string(c.http) + ": <html>gateway</html>")
          << what;
    }
  }
}

TEST(TwilioParseSend, ReplyTextAndOddAnswers) {
  HttpResponse resp;
  resp.status = 400;
  resp.body = R"({"code":21610,"message":"Attempt to send to unsubscribed recipient","more_info":"https://www.twilio.com/docs/errors/21610","status":400})";
  EXPECT_EQ(twilio_parse_send(resp).outcome.reply.text,
            "twilio error 21610: Attempt to send to unsubscribed recipient");
  resp.body = R"({"code":21211,"message":"Invalid 'To' Phone Number: +1555\r\n"})";
  EXPECT_EQ(twilio_parse_send(resp).outcome.reply.text,
            "twilio error 21211: Invalid 'To' Phone Number: +1555  ");
  // JSON without a code: by status (a JSON 4xx is Twilio's: our request).
  resp.body = R"({"message":"nope"})";
  EXPECT_EQ(twilio_parse_send(resp).failure, FailureClass::kBadRequest);
  resp.body = R"({"code":"21614","message":"not mobile"})";
  EXPECT_EQ(twilio_parse_send(resp).failure, FailureClass::kRecipient);
  resp.body = R"({"code":1.5e3})";  // not an integer code: by status
  EXPECT_EQ(twilio_parse_send(resp).failure, FailureClass::kBadRequest);
  resp.body = R"({"code":-21610})";
  EXPECT_EQ(twilio_parse_send(resp).failure, FailureClass::kBadRequest);
  // A 2xx without a sid cannot be matched to callbacks: retry.
  resp.status = 201;
  resp.body = R"({"status":"queued"})";
  EXPECT_EQ(twilio_parse_send(resp).failure, FailureClass::kRetry);
  resp.body = R"({"sid":""})";
  EXPECT_EQ(twilio_parse_send(resp).failure, FailureClass::kRetry);
  resp.body = "";
  EXPECT_EQ(twilio_parse_send(resp).failure, FailureClass::kRetry);
}

// ---- signatures ------------------------------------------------------------------

// Twilio's published examples (docs "Webhooks security" and twilio-python's
// tests): token 12345, this URL and these parameters.
TEST(TwilioSignature, PublishedExamples) {
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  EXPECT_EQ(twilio_signature("12345", url,
                             {{"CallSid", "CA1234567890ABCDE"},
                              {"Caller", "+14158675309"},
                              {"Digits", "1234"},
                              {"From", "+14158675309"},
                              {"To", "+18005551212"}}),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  // Order of the input does not matter: the algorithm sorts by name.
  EXPECT_EQ(twilio_signature("12345", url,
                             {{"To", "+18005551212"},
                              {"Digits", "1234"},
                              {"From", "+12349013030"},
                              {"CallSid", "CA1234567890ABCDE"},
                              {"Caller", "+12349013030"}}),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
}

std::string openssl_signature(std::string_view token, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha1(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  out.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac,
                                                 static_cast<int>(len))));
  return out;
}

TEST(TwilioSignature, SortedByteOrderThenValue) {
  // Upper case sorts before lower case ("Zeta" < "alpha"); a repeated name
  // goes by value.
  const std::vector<Header> params = {{"alpha", "1"}, {"Zeta", "2"}, {"Body", "b"}, {"Body", "a"}};
  EXPECT_EQ(twilio_signature("tok", "https://x.example/cb", params),
            openssl_signature("tok", "https://x.example/cbBodyaBodybZeta2alpha1"));
  EXPECT_EQ(twilio_signature("tok", "https://x.example/cb", {}),
            openssl_signature("tok", "https://x.example/cb"));
}

// ---- status callbacks -------------------------------------------------------------

constexpr std::string_view kToken = "tok";
const std::string kUrl = "https://example.com/cb?x=1";

CallbackRequest callback(const std::string& body, std::string signature) {
  CallbackRequest req;
  req.method = "POST";
  req.target = "/cb?x=1";
  req.url = kUrl;
  req.headers = {{"content-type", "application/x-www-form-urlencoded"},
                 {"x-twilio-signature", std::move(signature)}};
  req.body = body;
  return req;
}

CallbackResult signed_callback(const std::string& body) {
  return twilio_callback(callback(body, twilio_signature(kToken, kUrl, decode_form(body))), kToken);
}

TEST(TwilioCallback, SignatureOnAKnownBody) {
  // The signature computed outside the codec (openssl dgst -sha1 -hmac tok
  // over the URL and the sorted pairs).
  const std::string body =
      "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30005&To=%2B15551234567"
      "&From=%2B15550001111&AccountSid=AC123";
  const CallbackResult r = twilio_callback(callback(body, "weGk5LviO9MY+WNSKgtkSVY7fxk="), kToken);
  EXPECT_EQ(r.status, 200u);
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].kind, ReceiptKind::kFailed);
  EXPECT_EQ(r.receipts[0].failure, FailureClass::kRecipient);
}

TEST(TwilioCallback, BadSignatures) {
  const std::string body = "MessageSid=SM1&MessageStatus=delivered&To=%2B15551234567";
  const std::string good = twilio_signature(kToken, kUrl, decode_form(body));
  for (const std::string& bad :
       {std::string(), good.substr(1), good + "=", twilio_signature("other", kUrl, decode_form(body)),
        twilio_signature(kToken, "https://example.com/cb", decode_form(body))}) {
    const CallbackResult r = twilio_callback(callback(body, bad), kToken);
    EXPECT_EQ(r.status, 403u) << bad;
    EXPECT_TRUE(r.receipts.empty());
    EXPECT_FALSE(r.error.empty());
  }
  // A changed body no longer matches.
  EXPECT_EQ(twilio_callback(callback(body + "&x=1", good), kToken).status, 403u);
  // No token configured: nothing passes.
  CallbackRequest req = callback(body, twilio_signature("", kUrl, decode_form(body)));
  EXPECT_EQ(twilio_callback(req, "").status, 403u);
  req.method = "GET";
  EXPECT_EQ(twilio_callback(req, kToken).status, 405u);
}

TEST(TwilioCallback, DeliveredAndRead) {
  CallbackResult r = signed_callback(
      "SmsSid=SM9&SmsStatus=delivered&MessageStatus=delivered&To=%2B15551234567&MessageSid=SM9"
      "&AccountSid=AC1&From=%2B15550001111&ApiVersion=2010-04-01&RawDlrDoneDate=2407261250");
  ASSERT_EQ(r.status, 200u);
  ASSERT_EQ(r.receipts.size(), 1u);
  const Receipt& d = r.receipts[0];
  EXPECT_EQ(d.channel, core::Channel::kSms);
  EXPECT_EQ(d.kind, ReceiptKind::kDelivered);
  EXPECT_EQ(d.provider_ref, "SM9");
  EXPECT_EQ(d.recipient, "+15551234567");
  EXPECT_EQ(core::to_unix_ms(d.at), 1721998200000);  // 2024-07-26T12:50:00Z
  EXPECT_EQ(d.event_id, "twilio:SM9:delivered");
  EXPECT_EQ(d.failure, FailureClass::kNone);

  r = signed_callback("MessageSid=SM9&MessageStatus=read&To=%2B15551234567");
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].kind, ReceiptKind::kRead);
  EXPECT_EQ(r.receipts[0].at, core::TimePoint{});
  EXPECT_EQ(r.receipts[0].event_id, "twilio:SM9:read");

  // The older SmsSid/SmsStatus names alone.
  r = signed_callback("SmsSid=SM8&SmsStatus=delivered&To=%2B1");
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].provider_ref, "SM8");
}

TEST(TwilioCallback, InterimStatusesGiveNothing) {
  for (const char* s : {"queued", "sending", "sent", "accepted", "scheduled", "canceled", "weird", ""}) {
    const CallbackResult r = signed_callback(std::string("MessageSid=SM1&MessageStatus=") + s);
    EXPECT_EQ(r.status, 200u) << s;
    EXPECT_TRUE(r.receipts.empty()) << s;
  }
}

TEST(TwilioCallback, FailureCodes) {
  using F = FailureClass;
  struct Case {
    std::string status;
    std::string code;
    F cls;
    uint16_t reply_code;
    std::string enhanced;
    std::string text;
    bool needs_template = false;
  };
  const std::vector<Case> cases = {
      {"undelivered", "30001", F::kRetry, 451, "4.7.0", "twilio error 30001: Queue overflow"},
      {"failed", "30002", F::kConfig, 451, "4.3.5", "twilio error 30002: Account suspended"},
      {"undelivered", "30003", F::kRetry, 451, "4.3.0", "twilio error 30003: Unreachable destination handset"},
      {"undelivered", "30004", F::kRecipient, 550, "5.7.1", "twilio error 30004: Message blocked"},
      {"undelivered", "30005", F::kRecipient, 550, "5.1.1", "twilio error 30005: Unknown destination handset"},
      {"undelivered", "30006", F::kRecipient, 550, "5.1.1", "twilio error 30006: Landline or unreachable carrier"},
      {"undelivered", "30007", F::kBadRequest, 554, "5.7.1", "twilio error 30007: Message filtered"},
      {"undelivered", "30008", F::kRetry, 451, "4.3.0", "twilio error 30008: Unknown error"},
      {"failed", "63016", F::kBadRequest, 554, "5.7.1", "twilio error 63016: Outside the allowed window", true},
      {"failed", "12345", F::kRetry, 451, "4.3.0", "twilio error 12345 (failed)"},
      {"undelivered", "", F::kRetry, 451, "4.3.0", "twilio status undelivered"},
      {"failed", "3000x", F::kRetry, 451, "4.3.0", "twilio status failed"},
  };
  for (const Case& c : cases) {
    const CallbackResult r = signed_callback("MessageSid=SM2&MessageStatus=" + c.status +
                                             "&ErrorCode=" + c.code + "&To=%2B15551234567");
    ASSERT_EQ(r.receipts.size(), 1u) << c.code;
    const Receipt& f = r.receipts[0];
    EXPECT_EQ(f.kind, ReceiptKind::kFailed) << c.code;
    EXPECT_EQ(f.failure, c.cls) << c.code;
    EXPECT_EQ(f.reply.code, c.reply_code) << c.code;
    EXPECT_EQ(f.reply.enhanced, c.enhanced) << c.code;
    EXPECT_EQ(f.reply.text, c.text) << c.code;
    EXPECT_EQ(f.needs_template, c.needs_template) << c.code;
    EXPECT_EQ(f.recipient, "+15551234567") << c.code;
    EXPECT_EQ(f.event_id, "twilio:SM2:" + c.status) << c.code;
  }
}

TEST(TwilioCallback, DuplicatesCollapse) {
  // A retried callback (same idempotency token) and the same status told
  // twice (another token) are one fact.
  const std::string body = "MessageSid=SM3&MessageStatus=delivered&To=%2B1";
  CallbackRequest a = callback(body, twilio_signature(kToken, kUrl, decode_form(body)));
  a.headers.emplace_back("i-twilio-idempotency-token", "tok-1");
  CallbackRequest b = a;
  b.headers.back().second = "tok-2";
  const CallbackResult ra = twilio_callback(a, kToken);
  const CallbackResult rb = twilio_callback(b, kToken);
  ASSERT_EQ(ra.receipts.size(), 1u);
  ASSERT_EQ(rb.receipts.size(), 1u);
  EXPECT_EQ(ra.receipts[0].event_id, rb.receipts[0].event_id);
}

TEST(TwilioCallback, MalformedInput) {
  // Decoding: '+' is a space, a bad escape stays literal, empty pairs skip.
  CallbackResult r = signed_callback("&&MessageSid=SM4&MessageStatus=delivered&To=+1555%zz&=&x");
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].recipient, "");  // " 1555%zz" is no E.164 number
  r = signed_callback("MessageSid=SM4&MessageStatus=delivered&To=whatsapp%3A%2B1555");
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(r.receipts[0].recipient, "");
  // No sid: nothing to match.
  EXPECT_TRUE(signed_callback("MessageStatus=delivered&To=%2B1").receipts.empty());
  EXPECT_TRUE(signed_callback("").receipts.empty());
  // Dates that are not YYMMDDhhmm give the epoch.
  for (const char* date : {"2407261260", "2413011200", "2402301200", "240726125", "24072612500", "24O7261250"}) {
    r = signed_callback(std::string("MessageSid=SM5&MessageStatus=delivered&RawDlrDoneDate=") + date);
    ASSERT_EQ(r.receipts.size(), 1u) << date;
    EXPECT_EQ(r.receipts[0].at, core::TimePoint{}) << date;
  }
  r = signed_callback("MessageSid=SM5&MessageStatus=delivered&RawDlrDoneDate=2402291200");
  ASSERT_EQ(r.receipts.size(), 1u);
  EXPECT_EQ(core::to_unix_ms(r.receipts[0].at), 1709208000000);  // 2024-02-29T12:00:00Z
}

}  // namespace
}  // namespace transports::providers
