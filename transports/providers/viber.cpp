// transports/providers/viber.cpp: the Viber REST Bot API codec (viber.h;
// channels.md §2).
#include "transports/providers/viber.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
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
using detail::member;
using detail::parse_json;
using detail::recipient_failure;

constexpr core::Channel kChannel = core::Channel::kViber;
constexpr int kGridColumns = 6;

// The message token's exact digits. Boost.JSON keeps integers that fit 64
// bits as int64/uint64 (never a double), so to_string gives back what
// Viber sent; a token that is a string (some proxies quote big numbers) is
// kept if it is all digits. A double (a fraction, an exponent, beyond 64
// bits) is no token we could match: empty.
std::string token_text(const json::value* v) {
  if (v == nullptr) return {};
  if (const int64_t* i = v->if_int64()) return std::to_string(*i);
  if (const uint64_t* u = v->if_uint64()) return std::to_string(*u);
  const std::string_view s = as_string(v);
  if (!s.empty() && s.size() <= 20 && std::all_of(s.begin(), s.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return std::string(s);
  }
  return {};
}

json::object keyboard(const templating::ButtonRows& rows) {
  json::array buttons;
  for (const auto& row : rows) {
    if (row.empty()) continue;
    // The grid is 6 columns wide: a row of n buttons shares it evenly. A
    // row of more than 6 (rows are checked per channel before sending)
    // would wrap; 1 column each is the least wrong.
    const int columns = std::clamp(kGridColumns / static_cast<int>(std::min<size_t>(row.size(), kGridColumns)), 1,
                                   kGridColumns);
    for (const auto& b : row) {
      json::object button;
      if (!b.url.empty()) {
        button["ActionType"] = "open-url";
        button["ActionBody"] = b.url;
      } else {
        button["ActionType"] = "reply";
        button["ActionBody"] = b.payload;
      }
      button["Text"] = b.text;
      button["Columns"] = columns;
      button["Rows"] = 1;
      buttons.emplace_back(std::move(button));
    }
  }
  return json::object{{"Type", "keyboard"}, {"DefaultHeight", false}, {"Buttons", std::move(buttons)}};
}

SendResult classify_status(int64_t status, std::string text) {
  switch (status) {
    case 5:   // receiverNotRegistered
    case 11:  // receiverNoSuitableDevice
    case 21:  // unsupportedCountry
      return recipient_failure("5.1.1", std::move(text));
    case 6: {  // receiverNotSubscribed: they unsubscribed (or never subscribed)
      SendResult r = recipient_failure("5.7.1", std::move(text));
      r.recipient_blocked = true;
      return r;
    }
    case 12:  // tooManyRequests: 100 a user an hour without a reply
      return failure(FailureClass::kRetry, true, true, std::move(text));
    case 2:   // invalidAuthToken
    case 7:   // publicAccountBlocked
    case 8:   // publicAccountNotFound
    case 9:   // publicAccountSuspended
    case 10:  // webhookNotSet
    case 15:  // publicAccountNotAuthorized
    case 19:  // cannotSendBroadcast
    case 20:  // broadcastNotAllowed
    case 23:  // freeMessagesExceeded
    case 24:  // noBalance
      return failure(FailureClass::kConfig, false, false, std::move(text));
    case 1:   // invalidUrl
    case 3:   // badData
    case 4:   // missingData
    case 13:  // apiVersionNotSupported
    case 14:  // incompatibleWithVersion
    case 16:  // inchatReplyMessageNotAllowed
    case 17:  // publicAccountIsNotInline
    case 18:  // noPublicChat
    case 22:  // paymentUnsupported
      return failure(FailureClass::kBadRequest, false, true, std::move(text));
    default:  // General error and codes Viber may add: the engine's retry cap bounds it
      return failure(FailureClass::kRetry, false, false, std::move(text));
  }
}

}  // namespace

HttpRequest viber_send_request(std::string_view token, std::string_view receiver,
                               const templating::Rendered& r, const ViberOptions& opts) {
  json::object body;
  body["receiver"] = receiver;
  body["min_api_version"] = opts.min_api_version;
  json::object sender{{"name", opts.sender_name}};
  if (!opts.sender_avatar.empty()) sender["avatar"] = opts.sender_avatar;
  body["sender"] = std::move(sender);
  body["type"] = "text";
  body["text"] = r.text;
  bool any_button = false;
  for (const auto& row : r.buttons) any_button = any_button || !row.empty();
  if (any_button) body["keyboard"] = keyboard(r.buttons);

  HttpRequest req;
  req.method = "POST";
  req.target = "/pa/send_message";
  req.headers.emplace_back("X-Viber-Auth-Token", std::string(token));
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = json::serialize(body);
  return req;
}

SendResult viber_parse_send(const HttpResponse& resp) {
  const std::optional<json::value> doc = resp.status == 200 ? parse_json(resp.body) : std::nullopt;
  const auto status = doc ? as_int64(member(&*doc, "status")) : std::nullopt;
  if (!status) {
    // Viber always answers 200 with a status; anything else came from
    // something in between, or a failing Viber.
    return failure(FailureClass::kRetry, false, false,
                   "viber HTTP " + std::to_string(resp.status) + ": " + clean_text(resp.body, 200));
  }
  if (*status == 0) return accepted(kChannel, token_text(member(&*doc, "message_token")));
  return classify_status(*status, "viber status " + std::to_string(*status) + ": " +
                                      std::string(as_string(member(&*doc, "status_message"))));
}

std::string viber_signature(std::string_view token, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // HMAC() with a key and a message of any length (including empty) fails
  // only for a broken installation; an empty signature then matches nothing.
  if (HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len) == nullptr) {
    return {};
  }
  return detail::hex_lower(mac, len);
}

CallbackResult viber_callback(const CallbackRequest& req, std::string_view token) {
  CallbackResult out;
  std::string given(req.header("x-viber-content-signature"));
  for (char& c : given) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  const std::string expected = token.empty() ? std::string() : viber_signature(token, req.body);
  if (expected.empty() || !constant_time_equal(given, expected)) {
    out.status = 401;
    out.error = "viber callback: missing or wrong signature";
    return out;
  }
  const std::optional<json::value> doc = parse_json(req.body);
  const std::string_view event = doc ? as_string(member(&*doc, "event")) : std::string_view();
  if (event.empty()) {
    out.status = 400;
    out.error = doc ? "viber callback: no event" : "viber callback: malformed JSON";
    return out;
  }
  const json::value* root = &*doc;
  const std::string token_digits = token_text(member(root, "message_token"));
  const auto timestamp = as_int64(member(root, "timestamp"));

  // The user the event is about: user_id, user.id (subscribed,
  // conversation_started) or sender.id (message).
  std::string_view user = as_string(member(root, "user_id"));
  if (user.empty()) user = as_string(member(member(root, "user"), "id"));
  if (user.empty()) user = as_string(member(member(root, "sender"), "id"));

  const std::string base_id = "viber:" + std::string(event) + ":" + token_digits + ":" +
                              (timestamp ? std::to_string(*timestamp) : std::string()) + ":" +
                              std::string(user);
  auto add = [&](ReceiptKind kind, bool suffix) -> Receipt& {
    Receipt& r = out.receipts.emplace_back();
    r.channel = kChannel;
    r.kind = kind;
    r.recipient = std::string(user);
    r.at = detail::from_unix_millis(timestamp);
    r.event_id = suffix ? base_id + ":" + std::string(receipt_kind_name(kind)) : base_id;
    return r;
  };

  if (event == "delivered" || event == "seen" || event == "failed") {
    // Without a token there is nothing to match the fact to.
    if (token_digits.empty()) return out;
    const ReceiptKind kind = event == "delivered" ? ReceiptKind::kDelivered
                             : event == "seen"    ? ReceiptKind::kRead
                                                  : ReceiptKind::kFailed;
    Receipt& r = add(kind, false);
    r.provider_ref = token_digits;
    if (kind == ReceiptKind::kFailed) {
      // Viber gave up delivering to this user's devices after accepting;
      // its desc is free text, so the class is the recipient's (5.1.1).
      const SendResult f = recipient_failure(
          "5.1.1", "viber failed: " + std::string(as_string(member(root, "desc"))));
      r.reply = f.outcome.reply;
      r.failure = f.failure;
    }
    return out;
  }
  if (user.empty()) return out;
  if (event == "subscribed") {
    add(ReceiptKind::kUnblocked, false);
  } else if (event == "unsubscribed") {
    add(ReceiptKind::kBlocked, false);
  } else if (event == "conversation_started") {
    const json::value* subscribed = member(root, "subscribed");
    const bool also = subscribed != nullptr && subscribed->is_bool() && subscribed->get_bool();
    add(ReceiptKind::kInbound, also);
    if (also) add(ReceiptKind::kUnblocked, true);
  } else if (event == "message") {
    // "When a user sends its first message to a bot the user will be
    // automatically subscribed", with no subscribed callback.
    add(ReceiptKind::kInbound, true);
    add(ReceiptKind::kUnblocked, true);
  }
  return out;
}

}  // namespace transports::providers
