// transports/providers/vk.h: the VK API codec (messages.send with a
// community token, and the Callback API), exactly as
// ../shared/reference/channels.md §3 says.
//
// Pure functions (codec.h): no I/O, no clock, no shared state; safe from any
// thread; they never throw and accept any bytes as provider input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/id.h"
#include "templating/render.h"
#include "transports/providers/codec.h"

namespace transports::providers {

struct VkOptions {
  std::string api_version = "5.199";  // `v`, required on every call
};

// messages.send's random_id for the delivery `id`: VK de-duplicates on it
// over the whole message history, so a retry of one delivery can never send
// twice. The first 31 bits of SHA-256(id's 16 bytes): stable across
// processes and versions (do not change it: ids in flight rely on it),
// positive, never 0 (0 would mean "no de-duplication").
int32_t vk_random_id(const core::Id& id);

// POST /method/messages.send, form-urlencoded: peer_id, random_id, message =
// r.text, keyboard (a JSON string: {"inline":true,"buttons":[...]}; url
// buttons open_link, payload buttons text with payload {"payload":"<p>"},
// since VK wants JSON there), v. The token goes in "Authorization: Bearer"
// (a secret: never log the request's headers), never in the body, so the
// body can be logged.
HttpRequest vk_send_request(std::string_view token, std::string_view peer_id,
                            const templating::Rendered& r, int32_t random_id,
                            const VkOptions& opts);

// Classifies a messages.send answer (codec.h's reply convention). VK
// answers HTTP 200; {"response":N} is accepted with provider_ref N, and
// {"error":{"error_code":C,"error_msg":..}} is classified by C:
//   1, 10                        retry (provider error)
//   6, 9, 14, 29, 944            retry, rate limited (6: per second; 9: flood
//                                control; 14: captcha; 29: method quota;
//                                944: intent limit)
//   5, 7, 985                    config
//   900, 901, 902, 917           recipient, 5.7.1, recipient_blocked
//                                (blacklist, no permission, privacy, no
//                                access to the chat)
//   18, 936, 945, 946            recipient, 5.1.1 (deleted or banned, not
//                                found, chat disabled or not supported)
//   950                          recipient, 5.7.1 (the reply window closed;
//                                not a block)
//   100, 113, 911, 913, 914, 943 bad request
//   anything else                retry (provider error)
// Any other HTTP status, a non-JSON body or neither member: retry.
SendResult vk_parse_send(const HttpResponse& resp);

// A Callback API request. A body that is not a JSON object -> 400. The
// body's "secret" must equal `secret` (constant time); missing, wrong, or an
// empty `secret` (fail closed) -> 403. Then 200 with body:
//   type confirmation  -> `confirmation` (VK's check of the server)
//   anything else      -> "ok", and a receipt for
//     message_allow  kUnblocked, recipient = object.user_id
//     message_deny   kBlocked,   recipient = object.user_id
//     message_new    kInbound,   recipient = object.message.peer_id
//                    (from_id when absent), at = its date
// event_id "vk:<event_id>" (VK's own de-duplication key; before API 5.103
// there was none: "vk:body:<128 bits of SHA-256 of the body, hex>").
CallbackResult vk_callback(const CallbackRequest& req, std::string_view secret,
                           std::string_view confirmation);

}  // namespace transports::providers
