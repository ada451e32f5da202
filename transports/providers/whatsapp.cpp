// transports/providers/whatsapp.cpp: the WhatsApp Cloud API codec
// (whatsapp.h; wire truth in channels.md §4).
#include "transports/providers/whatsapp.h"

#include <openssl/crypto.h>

#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "transports/providers/codec_internal.h"

namespace transports::providers {
namespace {

namespace json = boost::json;
using detail::constant_time_equal;
using detail::form_decode;
using detail::hex_value;
using detail::kBadRequest;
using detail::kConfig;
using detail::kProviderError;
using detail::kRateLimited;
using detail::make_failure;
using detail::member;
using Class = detail::ErrorClass;

constexpr std::string_view kName = "whatsapp";

// ---- classification -------------------------------------------------------

constexpr Class kRateLimitedForRecipient{FailureClass::kRetry, true, true, {}, false, false};

// channels.md §4's table, row by row. The reasons for the rows that are a
// choice are in whatsapp.h.
std::optional<Class> classify_code(int64_t code) {
  switch (code) {
    case 130429:  // throughput of the number
    case 80007:   // WABA call rate
    case 4:       // app call rate
      return kRateLimited;
    case 131048:  // spam rate limit: the number's quality, not one recipient
      return kRateLimited;
    case 131056:  // (business, consumer) pair limit
    case 131049:  // per-user marketing cap ("healthy ecosystem engagement")
      return kRateLimitedForRecipient;
    case 131057:  // maintenance
    case 1:       // unknown
    case 2:       // service unavailable
    case 131000:  // something went wrong
      return kProviderError;
    case 131053:  // media upload error
    case 131052:  // media download error
      // About this message's media, not the number: retry it alone.
      return Class{FailureClass::kRetry, false, true, {}, false, false};
    case 131047:  // re-engagement: outside the 24 h window
      return Class{FailureClass::kBadRequest, false, true, "5.7.1", false, true};
    case 131026:  // undeliverable: not a WhatsApp user, old app, ...
      return Class{FailureClass::kRecipient, false, true, "5.1.1", false, false};
    case 131050:  // the user stopped marketing messages
      return Class{FailureClass::kRecipient, false, true, "5.7.1", true, false};
    case 130472:  // the user's number is part of an experiment
      return Class{FailureClass::kRecipient, false, true, "5.7.1", false, false};
    case 100:     // invalid parameter
    case 131008:  // required parameter missing
    case 131009:  // parameter value invalid
    case 131021:  // recipient is the sender
    case 131051:  // unsupported message type
    case 132000:  // template parameter count mismatch
    case 132012:  // template parameter format mismatch
      return kBadRequest;
    case 132001:  // template does not exist
    case 132015:  // template paused
    case 190:     // token expired or invalid
    case 0:       // authentication exception
    case 10:      // permission denied
    case 368:     // temporarily blocked for policy violations
    case 131031:  // account locked
    case 130497:  // business account restricted from messaging this country
    case 131042:  // payment issue
      return kConfig;
    default:
      break;
  }
  if (code >= 200 && code <= 299) return kConfig;  // API permission errors
  return std::nullopt;
}

// An answer without a known code. With an (unknown) code Meta described a
// problem, so a plain 4xx is our request; without one the body came from
// something in between, and only 401/429 say anything for sure.
Class classify_status(unsigned status, bool has_code) {
  if (status == 429) return kRateLimited;
  if (status == 401) return kConfig;
  if (has_code && status == 403) return kConfig;
  if (has_code && status >= 400 && status < 500) return kBadRequest;
  return kProviderError;
}

// ---- JSON helpers (any document shape; nothing throws) ---------------------

std::string_view string_member(const json::value* v, std::string_view key) {
  return detail::as_string(member(v, key));
}

const json::array* array_member(const json::value* v, std::string_view key) {
  const json::value* m = member(v, key);
  return m == nullptr ? nullptr : m->if_array();
}

// An integer given as a JSON integer or as decimal digits in a string.
std::optional<int64_t> integer(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (const int64_t* i = v->if_int64()) return *i;
  if (const uint64_t* u = v->if_uint64()) {
    if (*u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(*u);
    return std::nullopt;
  }
  if (const json::string* s = v->if_string()) {
    if (s->empty() || s->size() > 18) return std::nullopt;
    int64_t n = 0;
    for (const char c : *s) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  }
  return std::nullopt;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "(#131047) Re-engagement message" -> "Re-engagement message".
std::string_view strip_code_prefix(std::string_view message) {
  if (message.starts_with("(#")) {
    const size_t close = message.find(") ");
    if (close != std::string_view::npos) message.remove_prefix(close + 2);
  }
  return message;
}

// The failure an error object ({"code":..,"message":..,"title":..}) stands
// for; `status` is the HTTP status (0 for a webhook's errors[]).
SendResult classify_error(const json::value* error, unsigned status) {
  const std::optional<int64_t> code = integer(member(error, "code"));
  std::string_view words = strip_code_prefix(string_member(error, "message"));
  if (words.empty()) words = string_member(error, "title");
  if (!code) {
    std::string text(kName);
    if (status != 0) {
      text += " HTTP " + std::to_string(status);
    } else {
      text += " status failed";
    }
    if (!words.empty()) text += ": " + clean_text(words, 200);
    return make_failure(classify_status(status, false), std::move(text));
  }
  std::string text = std::string(kName) + " error " + std::to_string(*code);
  if (!words.empty()) text += ": " + clean_text(words, 400);
  if (const std::optional<Class> c = classify_code(*code)) return make_failure(*c, std::move(text));
  return make_failure(classify_status(status, true), std::move(text));
}

// ---- crypto -----------------------------------------------------------------

using Sha256 = std::array<unsigned char, 32>;

Sha256 hmac_sha256(std::string_view key, std::string_view data) {
  Sha256 out{};
  if (!detail::hmac(detail::Digest::kSha256, key, data, out)) {
    out.fill(0);  // cannot match a real signature's 32 random-looking bytes
  }
  return out;
}

// "sha256=<64 hex>" against HMAC-SHA256(secret, body). The hex is decoded
// (either case) and the bytes compared in constant time, so the time taken
// says nothing about how much of a forged signature was right.
bool signature_ok(std::string_view header, std::string_view secret, std::string_view body) {
  if (secret.empty()) return false;
  constexpr std::string_view kPrefix = "sha256=";
  if (!header.starts_with(kPrefix)) return false;
  header.remove_prefix(kPrefix.size());
  Sha256 given{};
  if (header.size() != given.size() * 2) return false;
  for (size_t i = 0; i < given.size(); ++i) {
    const int hi = hex_value(header[2 * i]);
    const int lo = hex_value(header[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    given[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  const Sha256 expected = hmac_sha256(secret, body);
  return CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

// ---- the GET subscription check -----------------------------------------------

// The first value of `name` in the target's query, decoded; none when the
// name is absent.
std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  if (const size_t hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (form_decode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : form_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

CallbackResult verify_subscription(std::string_view target, std::string_view verify_token) {
  CallbackResult out;
  const std::optional<std::string> mode = query_param(target, "hub.mode");
  const std::optional<std::string> token = query_param(target, "hub.verify_token");
  const std::optional<std::string> challenge = query_param(target, "hub.challenge");
  if (verify_token.empty() || mode != "subscribe" || !token || !challenge ||
      !constant_time_equal(*token, verify_token)) {
    out.status = 403;
    out.error = "whatsapp: subscription check with a wrong verify token or mode";
    return out;
  }
  out.body = *challenge;
  return out;
}

// ---- the POST webhook -------------------------------------------------------------

core::TimePoint epoch_seconds(const json::value* v) {
  const std::optional<int64_t> s = integer(v);
  // Seconds up to the year 10^5 fit in milliseconds without overflow.
  if (!s || *s < 0 || *s > 3'000'000'000'000) return {};
  return core::from_unix_ms(*s * 1000);
}

void read_status(const json::value& s, std::vector<Receipt>& out) {
  const std::string_view id = string_member(&s, "id");
  const std::string_view status = string_member(&s, "status");
  if (id.empty()) return;
  Receipt rc;
  rc.channel = core::Channel::kWhatsapp;
  if (status == "delivered") {
    rc.kind = ReceiptKind::kDelivered;
  } else if (status == "read") {
    rc.kind = ReceiptKind::kRead;
  } else if (status == "failed") {
    rc.kind = ReceiptKind::kFailed;
    const json::array* errors = array_member(&s, "errors");
    const json::value* first = errors != nullptr && !errors->empty() ? &errors->front() : nullptr;
    const SendResult r = classify_error(first, 0);
    rc.reply = r.outcome.reply;
    rc.failure = r.failure;
    rc.needs_template = r.needs_template;
  } else {
    // sent: WhatsApp's servers took it, which we counted when the send was
    // accepted; deleted and anything newer say nothing we keep.
    return;
  }
  rc.provider_ref = std::string(id);
  if (const std::string_view to = string_member(&s, "recipient_id"); all_digits(to)) {
    rc.recipient = "+" + std::string(to);
  }
  rc.at = epoch_seconds(member(&s, "timestamp"));
  rc.event_id = "whatsapp:" + std::string(id) + ":" + std::string(status);
  out.push_back(std::move(rc));
}

void read_inbound(const json::value& m, std::vector<Receipt>& out) {
  const std::string_view id = string_member(&m, "id");
  const std::string_view from = string_member(&m, "from");
  if (id.empty() || !all_digits(from)) return;
  Receipt rc;
  rc.channel = core::Channel::kWhatsapp;
  rc.kind = ReceiptKind::kInbound;
  rc.recipient = "+" + std::string(from);
  rc.at = epoch_seconds(member(&m, "timestamp"));
  rc.event_id = "whatsapp:" + std::string(id) + ":inbound";
  out.push_back(std::move(rc));
}

}  // namespace

HttpRequest whatsapp_send_request(std::string_view token, std::string_view phone_number_id,
                                  std::string_view to_e164, const templating::Rendered& r,
                                  const WhatsappTemplate* tmpl, std::string_view callback_data,
                                  const WhatsappOptions& o) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/" + o.api_version + "/" + std::string(phone_number_id) + "/messages";
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("Authorization", "Bearer " + std::string(token));

  std::string to;
  for (const char c : to_e164) {
    if (c >= '0' && c <= '9') to.push_back(c);
  }

  json::object body;
  body["messaging_product"] = "whatsapp";
  body["recipient_type"] = "individual";
  body["to"] = to;

  // One list of buttons: WhatsApp has no rows.
  std::vector<const templating::Button*> replies;
  const templating::Button* url_button = nullptr;
  for (const auto& row : r.buttons) {
    for (const auto& b : row) {
      if (!b.payload.empty()) {
        replies.push_back(&b);
      } else if (!b.url.empty() && url_button == nullptr) {
        url_button = &b;
      }
    }
  }

  if (tmpl != nullptr) {
    body["type"] = "template";
    json::object t;
    t["name"] = tmpl->name;
    t["language"] = json::object{{"code", tmpl->language}};
    if (!tmpl->body_params.empty()) {
      json::array params;
      for (const std::string& p : tmpl->body_params) {
        params.push_back(json::object{{"type", "text"}, {"text", p}});
      }
      json::object component;
      component["type"] = "body";
      component["parameters"] = std::move(params);
      t["components"] = json::array{std::move(component)};
    }
    body["template"] = std::move(t);
  } else if (!replies.empty()) {
    body["type"] = "interactive";
    json::array buttons;
    for (const templating::Button* b : replies) {
      buttons.push_back(json::object{
          {"type", "reply"}, {"reply", json::object{{"id", b->payload}, {"title", b->text}}}});
    }
    json::object interactive;
    interactive["type"] = "button";
    interactive["body"] = json::object{{"text", r.text}};
    interactive["action"] = json::object{{"buttons", std::move(buttons)}};
    body["interactive"] = std::move(interactive);
  } else if (url_button != nullptr) {
    body["type"] = "interactive";
    json::object interactive;
    interactive["type"] = "cta_url";
    interactive["body"] = json::object{{"text", r.text}};
    json::object action;
    action["name"] = "cta_url";
    action["parameters"] =
        json::object{{"display_text", url_button->text}, {"url", url_button->url}};
    interactive["action"] = std::move(action);
    body["interactive"] = std::move(interactive);
  } else {
    body["type"] = "text";
    body["text"] = json::object{{"preview_url", false}, {"body", r.text}};
  }
  if (!callback_data.empty()) body["biz_opaque_callback_data"] = callback_data;
  req.body = json::serialize(body);
  return req;
}

SendResult whatsapp_parse_send(const HttpResponse& response) {
  boost::system::error_code ec;
  const json::value doc = json::parse(response.body, ec);
  const bool is_json = !ec;

  if (is_json && response.status >= 200 && response.status < 300) {
    const json::array* messages = array_member(&doc, "messages");
    if (messages != nullptr && !messages->empty()) {
      const std::string_view id = string_member(&messages->front(), "id");
      if (!id.empty()) return accepted(core::Channel::kWhatsapp, std::string(id));
    }
  }
  if (is_json) {
    if (const json::value* error = member(&doc, "error"); error != nullptr && error->is_object()) {
      return classify_error(error, response.status);
    }
  }
  // No error object to go by: a proxy's page, a cut-off body, or a 2xx
  // without a message id (which we cannot match to callbacks, and which
  // may not have been sent; retrying risks a duplicate, not a loss).
  std::string text = std::string(kName) + " HTTP " + std::to_string(response.status);
  if (!response.body.empty()) text += ": " + clean_text(response.body, 200);
  return make_failure(classify_status(response.status, false), std::move(text));
}

CallbackResult whatsapp_callback(const CallbackRequest& req, std::string_view app_secret,
                                 std::string_view verify_token) {
  if (req.method == "GET") return verify_subscription(req.target, verify_token);
  CallbackResult out;
  if (req.method != "POST") {
    out.status = 405;
    out.error = "whatsapp: webhook method is not GET or POST";
    return out;
  }
  if (!signature_ok(req.header("x-hub-signature-256"), app_secret, req.body)) {
    out.status = 401;
    out.error = "whatsapp: missing or wrong x-hub-signature-256";
    return out;
  }
  boost::system::error_code ec;
  const json::value doc = json::parse(req.body, ec);
  if (ec || !doc.is_object()) {
    out.status = 400;
    out.error = "whatsapp: webhook body is not a JSON object";
    return out;
  }
  const json::array* entries = array_member(&doc, "entry");
  if (entries == nullptr) return out;
  for (const json::value& entry : *entries) {
    const json::array* changes = array_member(&entry, "changes");
    if (changes == nullptr) continue;
    for (const json::value& change : *changes) {
      // Other webhook fields (template status, message echoes, ...) have
      // their own shapes; only "messages" carries statuses and inbound.
      const json::value* field = member(&change, "field");
      if (field != nullptr && string_member(&change, "field") != "messages") continue;
      const json::value* value = member(&change, "value");
      if (const json::array* statuses = array_member(value, "statuses")) {
        for (const json::value& s : *statuses) read_status(s, out.receipts);
      }
      if (const json::array* messages = array_member(value, "messages")) {
        for (const json::value& m : *messages) read_inbound(m, out.receipts);
      }
    }
  }
  return out;
}

}  // namespace transports::providers
