// transports/providers/telegram.h: the Telegram Bot API codec (sendMessage
// and webhook Updates), exactly as ../shared/reference/channels.md §1 says.
//
// Pure functions (codec.h): no I/O, no clock, no shared state; safe from any
// thread; they never throw and accept any bytes as provider input.
#pragma once

#include <string_view>

#include "templating/render.h"
#include "transports/providers/codec.h"

namespace transports::providers {

struct TelegramOptions {
  bool disable_link_preview = true;   // link_preview_options {"is_disabled":true}
  bool disable_notification = false;  // deliver silently
};

// POST /bot<token>/sendMessage with a JSON body: chat_id (a JSON number when
// `chat_id` is an int64 in canonical decimal, e.g. -1001234567890; else a
// string such as "@channelusername"), text = r.html (already the Bot API
// HTML subset), parse_mode "HTML", the options, and r.buttons as an
// inline_keyboard (url buttons -> "url", payload buttons -> "callback_data").
// The token is in the path, so the target is a secret: never log it.
HttpRequest telegram_send_request(std::string_view token, std::string_view chat_id,
                                  const templating::Rendered& r, const TelegramOptions& o);

// Classifies a sendMessage answer (codec.h's reply convention). Success:
// provider_ref "<chat id>:<message_id>", the chat id as result.chat.id has it
// (else `chat_id`). Failures, matched on error_code (else the HTTP status)
// plus the description, without case:
//   429                          retry, rate limited, retry_after =
//                                parameters.retry_after s (at most 1 day)
//   5xx, other codes, non-JSON   retry (provider error)
//   403 blocked / can't initiate / kicked / not a member
//                                recipient, 5.7.1, recipient_blocked
//   403 user is deactivated      recipient, 5.1.1
//   403 anything else            recipient, 5.7.1, not marked blocked
//   400 chat/user not found      recipient, 5.1.1
//   400 + migrate_to_chat_id     retry (blames the message) with
//                                migrate_to_chat_id set: send once more there
//   400 anything else            bad request
//   401, 404                     config
SendResult telegram_parse_send(const HttpResponse& resp, std::string_view chat_id);

// A webhook Update. Authenticated by the X-Telegram-Bot-Api-Secret-Token
// header, compared in constant time with `secret_token`; missing or wrong
// (or an empty `secret_token`: fail closed) -> 401. A body that is not a
// JSON object with an integer update_id -> 400. Otherwise 200, with:
//   my_chat_member, new status kicked or left  -> kBlocked
//   my_chat_member, new status member, administrator, creator -> kUnblocked
//   message (not from a bot)                    -> kInbound
// recipient = chat.id (int64 text), at = date, event_id
// "telegram:<update_id>"; any other update gives no receipt.
CallbackResult telegram_callback(const CallbackRequest& req, std::string_view secret_token);

}  // namespace transports::providers
