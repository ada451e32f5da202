// transports/providers/codec.h: the vocabulary shared by the messenger and
// SMS provider codecs (Telegram, Viber, VK, WhatsApp, Twilio) and the SMPP
// client: what a send request looks like on the wire, what a provider's
// answer means, and what a provider's callback says about a message.
//
// Codecs are pure: they turn a rendered message into an HttpRequest and an
// HttpResponse into a SendResult, and a callback request into receipts. No
// I/O, no clock, no shared state; safe from any thread; they never throw and
// accept any bytes (provider answers and callbacks are outside input, and
// each parser has a fuzz target). The HTTP client (transports/http_client.h)
// moves the bytes; transports/provider_transport.h puts the two together.
//
// One reply convention for every provider, so that the engine, the
// accounting log and the bounce classifier read provider outcomes the way
// they read SMTP replies (core::Reply is "code enhanced text"):
//
//   outcome                          code  enhanced  kind       blames_message
//   accepted by the provider         250   2.0.0     delivered
//   rate limited (bot, token, app)   451   4.7.0     transient  false
//   rate limited for one recipient   451   4.7.0     transient  true
//   provider error, 5xx, bad JSON    451   4.3.0     transient  false
//   our token/account (CONFIG)       451   4.3.5     transient  false
//   recipient does not exist         550   5.1.1     permanent  true
//   recipient blocked/unsubscribed   550   5.7.1     permanent  true  (recipient_blocked)
//   our payload refused (BAD_REQ)    554   5.6.0     permanent  true
//
// CONFIG problems (a revoked token) are transient on purpose: every message
// of the channel would fail for a reason that is ours, not the recipient's,
// so the destination backs off and the operator is alerted (logged at
// error level by the transport), and fixing the token saves the mail.
//
// Reply text: "<channel> <what the provider said>", e.g.
//   "telegram 403: Forbidden: bot was blocked by the user"
//   "viber status 6: receiverNotSubscribed"
//   "vk error 901: Can't send messages for users without permission"
//   "whatsapp error 131047: Re-engagement message"
//   "twilio error 21610: Attempt to send to unsubscribed recipient"
//   "telegram HTTP 502: <at most 200 bytes of the body, controls removed>"
// Text never contains CR or LF and is at most 512 bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/message.h"
#include "transports/transport.h"

namespace transports::providers {

using Header = std::pair<std::string, std::string>;

// A request to a provider, relative to its configured base URL.
struct HttpRequest {
  std::string method = "POST";
  // Path and query, starting with '/'; appended to the base URL's own path
  // ("https://api.telegram.org" + "/bot<TOKEN>/sendMessage").
  std::string target;
  // Besides Host, Content-Length, Connection and User-Agent (the client's):
  // Content-Type, Authorization, X-Viber-Auth-Token, ...
  std::vector<Header> headers;
  std::string body;
};

// A provider's answer as the HTTP client read it.
struct HttpResponse {
  unsigned status = 0;          // HTTP status
  std::vector<Header> headers;  // names in lower case
  std::string body;
  // The first header named `lower_name`, or empty.
  std::string_view header(std::string_view lower_name) const noexcept;
};

// channels.md's outcome classes.
enum class FailureClass : uint8_t {
  kNone = 0,        // accepted
  kRetry = 1,       // temporary
  kRecipient = 2,   // PERM_RCPT: blocked, unsubscribed, nonexistent
  kBadRequest = 3,  // BAD_REQ: our payload is wrong
  kConfig = 4,      // CONFIG: token or account problem
};
std::string_view failure_class_name(FailureClass c) noexcept;  // "none", "retry", ...

// What one send call's answer means.
struct SendResult {
  Outcome outcome;  // see the table above; outcome.peer is left null
  FailureClass failure = FailureClass::kNone;
  // On success, the provider's id of the message as text, for matching
  // callbacks: Telegram "<chat_id>:<message_id>", Viber message_token (int64
  // digits exactly as sent, never through a double), VK message id,
  // WhatsApp "wamid....", Twilio "SM...", SMPP message_id.
  std::string provider_ref;
  // The recipient blocked us or unsubscribed on this channel: the channel
  // is forbidden for them until they re-subscribe.
  bool recipient_blocked = false;
  // Telegram: the group became a supergroup; send once more to this chat id.
  std::string migrate_to_chat_id;
  // WhatsApp 131047: outside the 24 h window; send a template instead (or
  // fall back to the next channel).
  bool needs_template = false;
};

// Builders of the SendResult shapes in the table above, for codecs.
SendResult accepted(core::Channel channel, std::string provider_ref);
SendResult failure(FailureClass cls, bool rate_limited, bool blames_message, std::string text);

// Text for a Reply: CR, LF and other controls become spaces, cut to `max`
// bytes on a UTF-8 boundary.
std::string clean_text(std::string_view text, size_t max = 512);

// ---- callbacks ------------------------------------------------------------

enum class ReceiptKind : uint8_t {
  kDelivered = 1,  // reached the device (Viber delivered, WhatsApp delivered, DLR DELIVRD)
  kRead = 2,       // seen / read
  kFailed = 3,     // the provider gave up after accepting (DLR UNDELIV, WhatsApp failed)
  kBlocked = 4,    // the user blocked the bot / unsubscribed on the channel
  kUnblocked = 5,  // the user (re)subscribed or unblocked
  kInbound = 6,    // the user wrote to us (opens WhatsApp's 24 h window)
};
std::string_view receipt_kind_name(ReceiptKind k) noexcept;  // "delivered", ...

// One fact a provider told us in a callback.
struct Receipt {
  core::Channel channel = core::Channel::kEmail;
  ReceiptKind kind = ReceiptKind::kDelivered;
  // kDelivered/kRead/kFailed: the provider_ref of SendResult it is about.
  std::string provider_ref;
  // kBlocked/kUnblocked/kInbound (and kFailed when known): the recipient's
  // address on the channel as API.md's `to` spells it (telegram_chat_id,
  // viber_id, vk_peer_id, whatsapp/phone in E.164 with '+').
  std::string recipient;
  core::TimePoint at{};  // the provider's time of the event; epoch when it gave none
  // kFailed: why, in the reply convention above.
  core::Reply reply;
  FailureClass failure = FailureClass::kNone;
  bool needs_template = false;  // WhatsApp 131047 arriving as a failed status
  // De-duplication key, unique per fact: the provider's event id where it
  // has one, else the fields that make the fact (kind, ref, time).
  std::string event_id;
};

// A callback request as the API server received it.
struct CallbackRequest {
  std::string_view method;  // "POST", "GET"
  std::string_view target;  // path and query as received
  std::vector<Header> headers;  // names in lower case
  std::string_view body;
  // Twilio signs the full URL it called: the externally visible URL of this
  // endpoint (configured), including the query.
  std::string url;
  std::string_view header(std::string_view lower_name) const noexcept;
};

// What to answer and what was learnt. An unauthenticated or malformed
// callback gets status 401/403/400 and no receipts, with `error` saying why
// (for the log; never echoed with secrets).
struct CallbackResult {
  unsigned status = 200;
  std::string content_type = "text/plain";
  std::string body;  // VK "ok" or its confirmation string; WhatsApp's hub.challenge
  std::vector<Receipt> receipts;
  std::string error;
};

}  // namespace transports::providers
