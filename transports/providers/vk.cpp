// transports/providers/vk.cpp: the VK API codec (vk.h; channels.md §3).
#include "transports/providers/vk.h"

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "transports/providers/codec_internal.h"

namespace transports::providers {
namespace {

namespace json = boost::json;
using detail::as_int64;
using detail::as_string;
using detail::constant_time_equal;
using detail::from_unix_seconds;
using detail::member;
using detail::parse_json;

constexpr core::Channel kChannel = core::Channel::kVk;

// application/x-www-form-urlencoded: everything but the unreserved set is
// %XX (a space too: "%20" decodes the same as "+" and cannot be misread).
// The names are our own literals and go out as they are.
void append_form(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out.push_back('&');
  out.append(name);
  out.push_back('=');
  detail::append_percent_encoded(out, value);
}

std::string keyboard(const templating::ButtonRows& rows) {
  json::array buttons;
  for (const auto& row : rows) {
    if (row.empty()) continue;
    json::array out_row;
    for (const auto& b : row) {
      json::object action;
      if (!b.url.empty()) {
        action["type"] = "open_link";
        action["link"] = b.url;
        action["label"] = b.text;
      } else {
        // VK's payload must itself be JSON (at most 255 bytes; ours are at
        // most 64 before escaping).
        action["type"] = "text";
        action["label"] = b.text;
        action["payload"] = json::serialize(json::object{{"payload", b.payload}});
      }
      out_row.emplace_back(json::object{{"action", std::move(action)}});
    }
    buttons.emplace_back(std::move(out_row));
  }
  if (buttons.empty()) return {};
  return json::serialize(json::object{{"inline", true}, {"buttons", std::move(buttons)}});
}

SendResult recipient_failure(std::string_view enhanced, bool blocked, std::string text) {
  SendResult r = detail::recipient_failure(enhanced, std::move(text));
  r.recipient_blocked = blocked;
  return r;
}

SendResult classify_error(int64_t code, std::string text) {
  switch (code) {
    case 1:   // Unknown error occurred
    case 10:  // Internal server error
      return failure(FailureClass::kRetry, false, false, std::move(text));
    case 6:    // Too many requests per second
    case 9:    // Flood control
    case 14:   // Captcha needed: VK's throttle on a busy token
    case 29:   // Rate limit reached (method quota)
    case 944:  // intent limit overflow
      return failure(FailureClass::kRetry, true, false, std::move(text));
    case 5:    // User authorization failed
    case 7:    // Permission denied (scope, or community messages off)
    case 985:  // notifications-only group
      return failure(FailureClass::kConfig, false, false, std::move(text));
    case 900:  // blacklist
    case 901:  // no permission (never wrote, or denied messages)
    case 902:  // privacy settings
    case 917:  // no access to the chat
      return recipient_failure("5.7.1", true, std::move(text));
    case 18:   // deleted or banned
    case 936:  // contact not found
    case 945:  // chat disabled
    case 946:  // chat not supported
      return recipient_failure("5.1.1", false, std::move(text));
    case 950:  // the reply window closed: not allowed now, but not a block
      return recipient_failure("5.7.1", false, std::move(text));
    case 100:  // invalid parameter
    case 113:  // invalid user id
    case 911:  // keyboard invalid
    case 913:  // too many forwards
    case 914:  // message too long
    case 943:  // cannot use this intent
      return failure(FailureClass::kBadRequest, false, true, std::move(text));
    default:
      return failure(FailureClass::kRetry, false, false, std::move(text));
  }
}

SendResult from_error(const json::value* error, std::string_view code_key, std::string_view msg_key) {
  const auto code = as_int64(member(error, code_key));
  if (!code) return failure(FailureClass::kRetry, false, false, "vk error without a code");
  return classify_error(*code, "vk error " + std::to_string(*code) + ": " +
                                   std::string(as_string(member(error, msg_key))));
}

// 128 bits of SHA-256 as hex: a de-duplication key, not a signature.
std::string body_digest(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &len, EVP_sha256(), nullptr) != 1 || len < 16) {
    return std::to_string(body.size());
  }
  return detail::hex_lower(digest, 16);
}

}  // namespace

int32_t vk_random_id(const core::Id& id) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const std::string_view bytes = id.bytes();
  uint32_t v = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) == 1 && len >= 4) {
    v = (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) | (uint32_t{digest[2]} << 8) |
        uint32_t{digest[3]};
  }
  v &= 0x7FFFFFFFu;
  return v == 0 ? 1 : static_cast<int32_t>(v);
}

HttpRequest vk_send_request(std::string_view token, std::string_view peer_id,
                            const templating::Rendered& r, int32_t random_id,
                            const VkOptions& opts) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/method/messages.send";
  req.headers.emplace_back("Authorization", "Bearer " + std::string(token));
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  append_form(req.body, "peer_id", peer_id);
  append_form(req.body, "random_id", std::to_string(random_id));
  append_form(req.body, "message", r.text);
  if (const std::string kb = keyboard(r.buttons); !kb.empty()) append_form(req.body, "keyboard", kb);
  append_form(req.body, "v", opts.api_version);
  return req;
}

SendResult vk_parse_send(const HttpResponse& resp) {
  const std::optional<json::value> doc = resp.status == 200 ? parse_json(resp.body) : std::nullopt;
  const json::value* root = doc && doc->is_object() ? &*doc : nullptr;
  if (const json::value* error = member(root, "error")) return from_error(error, "error_code", "error_msg");
  if (const json::value* response = member(root, "response")) {
    if (const auto id = as_int64(response)) return accepted(kChannel, std::to_string(*id));
    // The peer_ids form: one entry per peer, each a message id or an error.
    if (const json::array* list = response->if_array(); list && !list->empty()) {
      const json::value& first = list->front();
      if (const json::value* error = member(&first, "error")) return from_error(error, "code", "description");
      if (const auto id = as_int64(member(&first, "message_id"))) {
        return accepted(kChannel, std::to_string(*id));
      }
    }
  }
  return failure(FailureClass::kRetry, false, false,
                 "vk HTTP " + std::to_string(resp.status) + ": " + clean_text(resp.body, 200));
}

CallbackResult vk_callback(const CallbackRequest& req, std::string_view secret,
                           std::string_view confirmation) {
  CallbackResult out;
  const std::optional<json::value> doc = parse_json(req.body);
  if (!doc || !doc->is_object()) {
    out.status = 400;
    out.error = "vk callback: malformed JSON";
    return out;
  }
  const json::value* root = &*doc;
  if (secret.empty() || !constant_time_equal(as_string(member(root, "secret")), secret)) {
    out.status = 403;
    out.error = "vk callback: missing or wrong secret";
    return out;
  }
  const std::string_view type = as_string(member(root, "type"));
  if (type == "confirmation") {
    out.body = std::string(confirmation);
    return out;
  }
  out.body = "ok";

  const json::value* object = member(root, "object");
  Receipt receipt;
  receipt.channel = kChannel;
  std::optional<int64_t> who;
  if (type == "message_allow" || type == "message_deny") {
    receipt.kind = type == "message_allow" ? ReceiptKind::kUnblocked : ReceiptKind::kBlocked;
    who = as_int64(member(object, "user_id"));
  } else if (type == "message_new") {
    // API 5.103+: object = {"message":{...},"client_info":{...}}; earlier
    // versions put the message itself in object.
    const json::value* message = member(object, "message");
    if (message == nullptr) message = object;
    receipt.kind = ReceiptKind::kInbound;
    who = as_int64(member(message, "peer_id"));
    if (!who) who = as_int64(member(message, "from_id"));
    receipt.at = from_unix_seconds(as_int64(member(message, "date")));
  } else {
    return out;
  }
  if (!who) return out;
  receipt.recipient = std::to_string(*who);
  const std::string_view event_id = as_string(member(root, "event_id"));
  // Before API 5.103 there was no event_id. VK redelivers a callback with
  // the same body, and two facts never have the same body (message_allow
  // carries a fresh key), so the body's digest is the key then.
  receipt.event_id = event_id.empty() ? "vk:body:" + body_digest(req.body) : "vk:" + std::string(event_id);
  out.receipts.push_back(std::move(receipt));
  return out;
}

}  // namespace transports::providers
