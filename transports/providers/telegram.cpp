// transports/providers/telegram.cpp: the Telegram Bot API codec
// (telegram.h; channels.md §1).
#include "transports/providers/telegram.h"

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
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
using detail::recipient_failure;

constexpr core::Channel kChannel = core::Channel::kTelegram;
// retry_after "can be large, e.g. thousands" of seconds; a day bounds a
// broken or hostile answer without second-guessing a real one.
constexpr int64_t kMaxRetryAfterSeconds = 24 * 60 * 60;

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Telegram ids travel as JSON numbers; a chat id is sent as a number only
// when it is one exactly ("-100123"), never "+5" or "007", which Telegram
// would read as a different chat or as a username.
std::optional<int64_t> canonical_int64(std::string_view s) noexcept {
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  if (std::to_string(n) != s) return std::nullopt;
  return n;
}

json::array inline_keyboard(const templating::ButtonRows& rows) {
  json::array keyboard;
  for (const auto& row : rows) {
    if (row.empty()) continue;
    json::array out_row;
    for (const auto& b : row) {
      json::object button;
      button["text"] = b.text;
      if (!b.url.empty()) {
        button["url"] = b.url;
      } else {
        button["callback_data"] = b.payload;
      }
      out_row.emplace_back(std::move(button));
    }
    keyboard.emplace_back(std::move(out_row));
  }
  return keyboard;
}

SendResult forbidden(std::string_view description, std::string text) {
  // Descriptions are "Forbidden: <reason>"; match the reason whatever the
  // prefix's spelling.
  std::string reason = lower_ascii(description);
  if (reason.starts_with("forbidden:")) reason.erase(0, 10);
  while (!reason.empty() && reason.front() == ' ') reason.erase(0, 1);
  if (reason.starts_with("user is deactivated")) return recipient_failure("5.1.1", std::move(text));
  if (reason.starts_with("bot was blocked by the user") ||
      reason.starts_with("bot can't initiate conversation") ||
      reason.starts_with("bot was kicked") || reason.starts_with("bot is not a member")) {
    SendResult r = recipient_failure("5.7.1", std::move(text));
    r.recipient_blocked = true;
    return r;
  }
  // Some other refusal about this chat ("not enough rights", "bots can't
  // send messages to bots"): not allowed to deliver there (5.7.1), but no
  // proof the user blocked us, so the channel is not forbidden for them.
  return recipient_failure("5.7.1", std::move(text));
}

SendResult bad_request(std::string_view description, const json::value* params, std::string text) {
  if (const auto migrate = as_int64(member(params, "migrate_to_chat_id"))) {
    // The group became a supergroup: the message is fine, its address
    // changed. Retrying blames this message only (it is not the bot's
    // fault), and the transport re-addresses once.
    SendResult r = failure(FailureClass::kRetry, false, true, std::move(text));
    r.migrate_to_chat_id = std::to_string(*migrate);
    return r;
  }
  std::string reason = lower_ascii(description);
  if (reason.starts_with("bad request:")) reason.erase(0, 12);
  while (!reason.empty() && reason.front() == ' ') reason.erase(0, 1);
  if (reason.starts_with("chat not found") || reason.starts_with("user not found")) {
    return recipient_failure("5.1.1", std::move(text));
  }
  return failure(FailureClass::kBadRequest, false, true, std::move(text));
}

}  // namespace

HttpRequest telegram_send_request(std::string_view token, std::string_view chat_id,
                                  const templating::Rendered& r, const TelegramOptions& o) {
  json::object body;
  if (const auto id = canonical_int64(chat_id)) {
    body["chat_id"] = *id;
  } else {
    body["chat_id"] = chat_id;
  }
  body["text"] = r.html;
  body["parse_mode"] = "HTML";
  if (o.disable_link_preview) body["link_preview_options"] = json::object{{"is_disabled", true}};
  if (o.disable_notification) body["disable_notification"] = true;
  json::array keyboard = inline_keyboard(r.buttons);
  if (!keyboard.empty()) {
    body["reply_markup"] = json::object{{"inline_keyboard", std::move(keyboard)}};
  }

  HttpRequest req;
  req.method = "POST";
  req.target = "/bot" + std::string(token) + "/sendMessage";
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = json::serialize(body);
  return req;
}

SendResult telegram_parse_send(const HttpResponse& resp, std::string_view chat_id) {
  const std::optional<json::value> doc = parse_json(resp.body);
  const json::value* root = doc && doc->is_object() ? &*doc : nullptr;
  if (root == nullptr) {
    // nginx in front of the Bot API answers 502/504 with an HTML page; any
    // answer we cannot read is the provider's problem, not the message's.
    return failure(FailureClass::kRetry, false, false,
                   "telegram HTTP " + std::to_string(resp.status) + ": " + clean_text(resp.body, 200));
  }

  const json::value* ok = member(root, "ok");
  if (resp.status == 200 && ok != nullptr && ok->is_bool() && ok->get_bool()) {
    // Sent. Without a message id the message still went out; retrying would
    // send it twice, so it is accepted with the best reference we have.
    const json::value* result = member(root, "result");
    const auto message_id = as_int64(member(result, "message_id"));
    const auto api_chat = as_int64(member(member(result, "chat"), "id"));
    std::string chat = api_chat ? std::to_string(*api_chat) : std::string(chat_id);
    return accepted(kChannel, message_id ? chat + ":" + std::to_string(*message_id) : std::string());
  }

  // "The HTTP status equals error_code"; the body is the more specific of
  // the two when a proxy rewrote the status.
  const int64_t code = as_int64(member(root, "error_code")).value_or(resp.status);
  const std::string_view description = as_string(member(root, "description"));
  const json::value* params = member(root, "parameters");
  std::string text = "telegram " + std::to_string(code) + ": " + std::string(description);

  switch (code) {
    case 429: {
      SendResult r = failure(FailureClass::kRetry, true, false, std::move(text));
      if (const auto after = as_int64(member(params, "retry_after")); after && *after >= 0) {
        r.outcome.retry_after =
            std::chrono::seconds(std::min(*after, kMaxRetryAfterSeconds));
      }
      return r;
    }
    case 400: return bad_request(description, params, std::move(text));
    case 403: return forbidden(description, std::move(text));
    case 401:
    case 404: return failure(FailureClass::kConfig, false, false, std::move(text));
    default:
      // 5xx, 409 (a webhook conflict), 200 with ok:false, codes Telegram
      // may add: temporary, the provider's side.
      return failure(FailureClass::kRetry, false, false, std::move(text));
  }
}

CallbackResult telegram_callback(const CallbackRequest& req, std::string_view secret_token) {
  CallbackResult out;
  if (secret_token.empty() ||
      !constant_time_equal(req.header("x-telegram-bot-api-secret-token"), secret_token)) {
    out.status = 401;
    out.error = "telegram callback: missing or wrong secret token";
    return out;
  }
  const std::optional<json::value> doc = parse_json(req.body);
  const auto update_id = doc ? as_int64(member(&*doc, "update_id")) : std::nullopt;
  if (!update_id) {
    out.status = 400;
    out.error = doc ? "telegram callback: no update_id" : "telegram callback: malformed JSON";
    return out;
  }
  const json::value* root = &*doc;

  Receipt receipt;
  receipt.channel = kChannel;
  receipt.event_id = "telegram:" + std::to_string(*update_id);

  if (const json::value* change = member(root, "my_chat_member")) {
    const std::string_view status = as_string(member(member(change, "new_chat_member"), "status"));
    const auto chat = as_int64(member(member(change, "chat"), "id"));
    if (!chat) return out;
    // kicked: the user blocked the bot (or banned it from a group); left:
    // it was removed from a group. Either way sends fail until it is back.
    if (status == "kicked" || status == "left") {
      receipt.kind = ReceiptKind::kBlocked;
    } else if (status == "member" || status == "administrator" || status == "creator") {
      receipt.kind = ReceiptKind::kUnblocked;
    } else {
      return out;  // "restricted": neither
    }
    receipt.recipient = std::to_string(*chat);
    receipt.at = from_unix_seconds(as_int64(member(change, "date")));
    out.receipts.push_back(std::move(receipt));
    return out;
  }

  if (const json::value* message = member(root, "message")) {
    const json::value* is_bot = member(member(message, "from"), "is_bot");
    if (is_bot != nullptr && is_bot->is_bool() && is_bot->get_bool()) return out;
    const auto chat = as_int64(member(member(message, "chat"), "id"));
    if (!chat) return out;
    receipt.kind = ReceiptKind::kInbound;
    receipt.recipient = std::to_string(*chat);
    receipt.at = from_unix_seconds(as_int64(member(message, "date")));
    out.receipts.push_back(std::move(receipt));
  }
  return out;
}

}  // namespace transports::providers
