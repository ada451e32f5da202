// transports/providers/twilio.cpp: the Twilio SMS codec (twilio.h; wire
// truth in channels.md §5b).
#include "transports/providers/twilio.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "transports/providers/codec_internal.h"

namespace transports::providers {
namespace {

namespace json = boost::json;
using detail::append_form_field;
using detail::append_percent_encoded;
using detail::form_decode;
using detail::hex_value;
using detail::kBadRequest;
using detail::kConfig;
using detail::kProviderError;
using detail::kRateLimited;
using detail::make_failure;
using Class = detail::ErrorClass;

constexpr std::string_view kName = "twilio";
constexpr uint32_t kMaxValidityPeriod = 36000;

// ---- form encoding ---------------------------------------------------------

std::vector<Header> parse_form(std::string_view body) {
  std::vector<Header> fields;
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    fields.emplace_back(form_decode(pair.substr(0, eq)),
                        eq == std::string_view::npos ? std::string() : form_decode(pair.substr(eq + 1)));
  }
  return fields;
}

std::string_view field(const std::vector<Header>& fields, std::string_view name) {
  for (const Header& f : fields) {
    if (f.first == name) return f.second;
  }
  return {};
}

std::string base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                                  static_cast<int>(n));
  out.resize(len < 0 ? 0 : static_cast<size_t>(len));
  return out;
}

// "MG" + 32 hex digits. An alphanumeric sender ID may start with "MG" too
// ("MGM"), so the whole shape is checked.
bool is_messaging_service_sid(std::string_view s) {
  if (s.size() != 34 || !s.starts_with("MG")) return false;
  return std::all_of(s.begin() + 2, s.end(), [](char c) { return hex_value(c) >= 0; });
}

// "+" and 1-15 digits: the only form of `To` that names an SMS recipient
// as API.md spells it (not "whatsapp:+1...", not a short code).
bool is_e164(std::string_view s) {
  if (s.size() < 2 || s.size() > 16 || s[0] != '+') return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ---- classification ----------------------------------------------------------

constexpr Class kNoSuchNumber{FailureClass::kRecipient, false, true, "5.1.1", false, false};

// Synchronous error codes (the REST answer's "code").
std::optional<Class> classify_send_code(int64_t code) {
  switch (code) {
    case 20429: return kRateLimited;
    case 21610: return Class{FailureClass::kRecipient, false, true, "5.7.1", true, false};
    case 21211:
    case 21614: return kNoSuchNumber;
    case 21602:
    case 21617: return kBadRequest;
    case 21408:
    case 21606:
    case 20003: return kConfig;
    default: return std::nullopt;
  }
}

Class classify_status(unsigned status, bool is_json) {
  if (status == 429) return kRateLimited;
  if (status == 401 || status == 403 || status == 404) return kConfig;
  if (status >= 500 || status < 400) return kProviderError;
  // Another 4xx: Twilio's JSON says our request was wrong; a bare one comes
  // from something in between and says nothing about the message.
  return is_json ? kBadRequest : kProviderError;
}

// Asynchronous codes (a status callback's ErrorCode), with Twilio's names
// for them: the callback carries the number only.
struct AsyncCode {
  int64_t code;
  std::string_view words;
  Class cls;
};
constexpr AsyncCode kAsyncCodes[] = {
    {30001, "Queue overflow", kRateLimited},
    {30002, "Account suspended", kConfig},
    {30003, "Unreachable destination handset", Class{FailureClass::kRetry, false, true, {}, false, false}},
    {30004, "Message blocked", Class{FailureClass::kRecipient, false, true, "5.7.1", false, false}},
    {30005, "Unknown destination handset", kNoSuchNumber},
    {30006, "Landline or unreachable carrier", kNoSuchNumber},
    {30007, "Message filtered", Class{FailureClass::kBadRequest, false, true, "5.7.1", false, false}},
    {30008, "Unknown error", Class{FailureClass::kRetry, false, true, {}, false, false}},
    {63016, "Outside the allowed window", Class{FailureClass::kBadRequest, false, true, "5.7.1", false, true}},
};

std::optional<int64_t> parse_code(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

SendResult classify_async(std::string_view error_code, std::string_view status) {
  const std::optional<int64_t> code = parse_code(error_code);
  if (!code) {
    return make_failure(Class{FailureClass::kRetry, false, true, {}, false, false},
                        std::string(kName) + " status " + clean_text(status, 32));
  }
  std::string text = std::string(kName) + " error " + std::to_string(*code);
  for (const AsyncCode& a : kAsyncCodes) {
    if (a.code == *code) return make_failure(a.cls, text + ": " + std::string(a.words));
  }
  return make_failure(Class{FailureClass::kRetry, false, true, {}, false, false},
                      text + " (" + clean_text(status, 32) + ")");
}

// RawDlrDoneDate "YYMMDDhhmm" in UTC -> a time; epoch when malformed.
core::TimePoint dlr_done_date(std::string_view s) {
  if (s.size() != 10) return {};
  int v[5];
  for (int i = 0; i < 5; ++i) {
    const int hi = s[2 * i] - '0';
    const int lo = s[2 * i + 1] - '0';
    if (hi < 0 || hi > 9 || lo < 0 || lo > 9) return {};
    v[i] = hi * 10 + lo;
  }
  const int year = 2000 + v[0];
  const unsigned month = static_cast<unsigned>(v[1]);
  const unsigned day = static_cast<unsigned>(v[2]);
  if (v[3] > 23 || v[4] > 59) return {};
  const std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{month},
                                        std::chrono::day{day}};
  if (!ymd.ok()) return {};
  return std::chrono::sys_days{ymd} + std::chrono::hours{v[3]} + std::chrono::minutes{v[4]};
}

}  // namespace

HttpRequest twilio_send_request(std::string_view account_sid, std::string_view auth_token,
                                std::string_view from, std::string_view to_e164,
                                const templating::Rendered& r,
                                std::string_view status_callback_url, const TwilioOptions& o) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/2010-04-01/Accounts/";
  append_percent_encoded(req.target, account_sid);
  req.target += "/Messages.json";
  const std::string credentials = std::string(account_sid) + ":" + std::string(auth_token);
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.headers.emplace_back(
      "Authorization",
      "Basic " + base64(reinterpret_cast<const unsigned char*>(credentials.data()), credentials.size()));

  append_form_field(req.body, "To", to_e164);
  append_form_field(req.body, is_messaging_service_sid(from) ? "MessagingServiceSid" : "From", from);
  append_form_field(req.body, "Body", r.text);
  if (!status_callback_url.empty()) append_form_field(req.body, "StatusCallback", status_callback_url);
  if (o.validity_period_s > 0) {
    append_form_field(req.body, "ValidityPeriod",
                 std::to_string(std::min(o.validity_period_s, kMaxValidityPeriod)));
  }
  return req;
}

SendResult twilio_parse_send(const HttpResponse& response) {
  boost::system::error_code ec;
  const json::value doc = json::parse(response.body, ec);
  const json::object* obj = ec ? nullptr : doc.if_object();

  if (obj != nullptr && response.status >= 200 && response.status < 300) {
    if (const json::value* sid = obj->if_contains("sid"); sid != nullptr && sid->is_string() &&
                                                          !sid->get_string().empty()) {
      return accepted(core::Channel::kSms, std::string(sid->get_string()));
    }
  }
  std::optional<int64_t> code;
  std::string_view message;
  if (obj != nullptr) {
    if (const json::value* c = obj->if_contains("code")) {
      if (const int64_t* i = c->if_int64()) code = *i;
      if (const uint64_t* u = c->if_uint64(); u != nullptr && *u <= 1'000'000'000) {
        code = static_cast<int64_t>(*u);
      }
      if (const json::string* s = c->if_string()) code = parse_code(*s);
    }
    if (const json::value* m = obj->if_contains("message"); m != nullptr && m->is_string()) {
      message = m->get_string();
    }
  }
  if (code) {
    std::string text = std::string(kName) + " error " + std::to_string(*code);
    if (!message.empty()) text += ": " + clean_text(message, 400);
    if (const std::optional<Class> c = classify_send_code(*code)) return make_failure(*c, std::move(text));
    return make_failure(classify_status(response.status, true), std::move(text));
  }
  std::string text = std::string(kName) + " HTTP " + std::to_string(response.status);
  if (!response.body.empty()) text += ": " + clean_text(response.body, 200);
  return make_failure(classify_status(response.status, obj != nullptr), std::move(text));
}

std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const std::vector<Header>& params) {
  std::vector<const Header*> sorted;
  sorted.reserve(params.size());
  for (const Header& p : params) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), [](const Header* a, const Header* b) { return *a < *b; });
  std::string data(url);
  for (const Header* p : sorted) {
    data += p->first;
    data += p->second;
  }
  std::array<unsigned char, 20> mac{};
  if (!detail::hmac(detail::Digest::kSha1, auth_token, data, mac)) return {};
  return base64(mac.data(), mac.size());
}

CallbackResult twilio_callback(const CallbackRequest& req, std::string_view auth_token) {
  CallbackResult out;
  if (req.method != "POST") {
    out.status = 405;
    out.error = "twilio: status callback method is not POST";
    return out;
  }
  const std::vector<Header> fields = parse_form(req.body);
  const std::string_view given = req.header("x-twilio-signature");
  const std::string expected = auth_token.empty() ? std::string() : twilio_signature(auth_token, req.url, fields);
  // Both are Base64 of 20 bytes, so equal lengths leak nothing; the bytes
  // are compared in constant time.
  if (expected.empty() || !detail::constant_time_equal(given, expected)) {
    out.status = 403;
    out.error = "twilio: missing or wrong x-twilio-signature";
    return out;
  }

  std::string_view status = field(fields, "MessageStatus");
  if (status.empty()) status = field(fields, "SmsStatus");
  std::string_view sid = field(fields, "MessageSid");
  if (sid.empty()) sid = field(fields, "SmsSid");
  if (sid.empty()) return out;

  Receipt rc;
  rc.channel = core::Channel::kSms;
  if (status == "delivered") {
    rc.kind = ReceiptKind::kDelivered;
  } else if (status == "read") {
    rc.kind = ReceiptKind::kRead;
  } else if (status == "undelivered" || status == "failed") {
    rc.kind = ReceiptKind::kFailed;
    const SendResult r = classify_async(field(fields, "ErrorCode"), status);
    rc.reply = r.outcome.reply;
    rc.failure = r.failure;
    rc.needs_template = r.needs_template;
  } else {
    // queued, sending, sent, accepted, scheduled, canceled: on the way (or
    // withdrawn by us), nothing to record.
    return out;
  }
  rc.provider_ref = std::string(sid);
  if (const std::string_view to = field(fields, "To"); is_e164(to)) rc.recipient = std::string(to);
  rc.at = dlr_done_date(field(fields, "RawDlrDoneDate"));
  rc.event_id = "twilio:" + rc.provider_ref + ":" + std::string(status);
  out.receipts.push_back(std::move(rc));
  return out;
}

}  // namespace transports::providers
