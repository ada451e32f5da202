// transports/providers/whatsapp.h: the WhatsApp Business Cloud API codec
// (channels.md §4): a rendered message -> POST /<version>/<phone id>/messages,
// the answer -> SendResult, a webhook -> receipts.
//
// Pure like every codec (codec.h): no I/O, no clock, no shared state, safe
// from any thread, never throws, and the parsers accept any bytes.
//
// Classification branches on the answer's error.code, never the HTTP status
// alone (Meta answers most errors with 400). Every code of channels.md's
// table has a row in whatsapp.cpp; the choices that are ours:
//   131047 (outside the 24 h window) -> 554 5.7.1 permanent, FailureClass
//          kBadRequest, needs_template = true, recipient_blocked = false.
//          The recipient exists and has not blocked us, so it is not
//          PERM_RCPT (which feeds recipient suppression); what was wrong is
//          the kind of message we sent at this moment. 5.7.1 rather than
//          BAD_REQ's usual 5.6.0 because it is a policy refusal, not a
//          malformed payload, and the accounting log classes 5.7.x as
//          policy.
//   131056 (pair rate limit) -> 451 4.7.0 blaming the message: only this
//          recipient is limited, the number must not back off for it.
//   131049 (per-user marketing cap) -> the same, for the same reason.
//   131048 (spam rate limit) -> 451 4.7.0 not blaming the message: it is
//          the number's quality, so the whole destination backs off.
//   131052/131053 (media) -> 451 4.3.0 blaming the message: one message's
//          media, not the number.
//   130472 (number in a Meta experiment) -> 550 5.7.1 kRecipient without
//          recipient_blocked: permanent for this message to this person,
//          who did not block us (the next channel may reach them).
//   An unknown code: by HTTP status (429 rate limited, 401/403 CONFIG,
//   5xx RETRY, another 4xx BAD_REQ). No error code at all (a proxy page,
//   non-JSON): RETRY, but 401 CONFIG and 429 rate limited.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "templating/render.h"
#include "transports/providers/codec.h"

namespace transports::providers {

struct WhatsappOptions {
  std::string api_version = "v21.0";  // path segment, "v21.0"
};

// An approved message template: the only kind of message WhatsApp delivers
// outside the 24 h customer-service window.
struct WhatsappTemplate {
  std::string name;      // "order_update"
  std::string language;  // "en_US"
  std::vector<std::string> body_params;  // {{1}}, {{2}}, ... of the body, in order
};

// The send request for one message to `to_e164` ("+15551234567"; the body
// carries the digits only).
//
// tmpl == nullptr, free-form (window only):
//   no buttons                     type "text", preview_url false
//   payload buttons                type "interactive" "button": the rows laid
//                                  out as one list of reply buttons, id =
//                                  payload, title = text
//   one URL button, no payload     type "interactive" "cta_url":
//                                  display_text = text, url = url
// tmpl != nullptr: type "template", language.code, and one "body" component
// with a text parameter per body_params entry (no components when there are
// none); r.text and r.buttons are not sent: the approved template carries
// its own text and buttons.
// `callback_data` (our delivery id) goes into biz_opaque_callback_data when
// not empty; WhatsApp echoes it in status webhooks.
//
// Nothing is cut or dropped to fit: text over 4096 characters (1024 with
// buttons), more than 3 reply buttons or a title over 20 are sent as they
// are and WhatsApp refuses them (BAD_REQ), which is the honest outcome.
// REQUIRES (render() and check_buttons() guarantee it): r's buttons fit
// button_limits(kWhatsapp); if they mix URL and payload buttons anyway, the
// reply buttons are sent and the URL buttons left out.
HttpRequest whatsapp_send_request(std::string_view token, std::string_view phone_number_id,
                                  std::string_view to_e164, const templating::Rendered& r,
                                  const WhatsappTemplate* tmpl, std::string_view callback_data,
                                  const WhatsappOptions& o = {});

// The answer to whatsapp_send_request(): HTTP 200 with messages[0].id ->
// accepted, provider_ref = the wamid ("held_for_quality_assessment" is
// accepted too: acceptance is not delivery). Anything else -> a failure as
// classified above, text "whatsapp error <code>: <error.message>" (Meta's
// "(#<code>) " prefix removed) or "whatsapp HTTP <status>: <body>".
SendResult whatsapp_parse_send(const HttpResponse& response);

// The webhook endpoint, both methods.
// GET (subscription check): query hub.mode=subscribe and hub.verify_token
// equal to `verify_token` (URL-decoded, compared in constant time) -> 200
// with body = hub.challenge; anything else 403. An empty `verify_token`
// never matches.
// POST: x-hub-signature-256 must be "sha256=" + hex HMAC-SHA256(app_secret,
// raw body) (constant time; an empty `app_secret` never matches) -> else
// 401 and nothing is read. Then every entry[].changes[].value:
//   statuses[]  delivered -> kDelivered, read -> kRead, failed -> kFailed
//               with reply/failure/needs_template from errors[0].code as a
//               send answer would be classified; sent and deleted give no
//               receipt (acceptance was counted when we sent).
//               provider_ref = id (the wamid), recipient = "+" recipient_id.
//   messages[]  -> kInbound (opens the 24 h window), recipient = "+" from.
// at = timestamp (epoch seconds; epoch when absent or not a number).
// event_id = "whatsapp:<wamid>:<status>" (inbound: "whatsapp:<wamid>:inbound"):
// Meta repeats webhooks and statuses can repeat, and a repeat is the same
// fact. Items that are not what the docs describe are skipped; a body that
// is not a JSON object -> 400. Any other method -> 405.
CallbackResult whatsapp_callback(const CallbackRequest& req, std::string_view app_secret,
                                 std::string_view verify_token);

}  // namespace transports::providers
