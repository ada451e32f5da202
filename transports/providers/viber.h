// transports/providers/viber.h: the Viber REST Bot API codec (send_message
// and webhook callbacks), exactly as ../shared/reference/channels.md §2 says.
//
// Pure functions (codec.h): no I/O, no clock, no shared state; safe from any
// thread; they never throw and accept any bytes as provider input.
//
// Viber's message_token is a 64-bit integer above 2^53: it is kept as the
// exact decimal text everywhere (provider_ref), never read through a double.
#pragma once

#include <string>
#include <string_view>

#include "templating/render.h"
#include "transports/providers/codec.h"

namespace transports::providers {

struct ViberOptions {
  std::string sender_name;    // sender.name, required by Viber (at most 28 characters)
  std::string sender_avatar;  // sender.avatar URL; left out when empty
  int min_api_version = 1;
};

// POST /pa/send_message, header X-Viber-Auth-Token (a secret: never log
// the request's headers), JSON body: receiver, min_api_version, sender,
// type "text", text = r.text, and r.buttons as a keyboard ("Type":
// "keyboard"; url buttons ActionType open-url, payload buttons reply;
// Columns 6 / buttons in the row, 1..6; Rows 1).
HttpRequest viber_send_request(std::string_view token, std::string_view receiver,
                               const templating::Rendered& r, const ViberOptions& opts);

// Classifies a send_message answer (codec.h's reply convention). Viber
// answers HTTP 200 and puts the outcome in `status`:
//   0                           accepted, provider_ref = message_token's
//                               digits (empty if absent or not an integer:
//                               the message went out all the same)
//   5, 11, 21                   recipient, 5.1.1
//   6                           recipient, 5.7.1, recipient_blocked (unsubscribed)
//   12                          retry, rate limited, blames the message
//                               (Viber's limit is per user)
//   2, 7-10, 15, 19, 20, 23, 24 config
//   1, 3, 4, 13, 14, 16-18, 22  bad request
//   anything else               retry (provider error)
// Any other HTTP status, a non-JSON body or no integer status: retry.
SendResult viber_parse_send(const HttpResponse& resp);

// The X-Viber-Content-Signature of `body`: lowercase hex
// HMAC-SHA256(token, body). For callbacks and for fakes that sign them.
std::string viber_signature(std::string_view token, std::string_view body);

// A webhook callback. Authenticated by X-Viber-Content-Signature (compared
// in constant time; any case of hex); missing or wrong, or an empty
// `token` (fail closed) -> 401. A body that is not a JSON object with an
// "event" string -> 400. Otherwise 200, with:
//   delivered / seen / failed   kDelivered / kRead / kFailed, provider_ref =
//                               message_token's exact digits, recipient =
//                               user_id; failed carries a recipient-class
//                               reply with the event's desc
//   subscribed                  kUnblocked, recipient = user.id
//   unsubscribed                kBlocked, recipient = user_id
//   conversation_started        kInbound (the user opened the chat), plus
//                               kUnblocked when it says "subscribed":true
//   message                     kInbound and kUnblocked, recipient =
//                               sender.id (a message subscribes its sender)
//   webhook, anything else      no receipt
// at = timestamp (epoch ms); event_id "viber:<event>:<message_token>:
// <timestamp>:<user>" (":<kind>" added when one event gives two receipts).
CallbackResult viber_callback(const CallbackRequest& req, std::string_view token);

}  // namespace transports::providers
