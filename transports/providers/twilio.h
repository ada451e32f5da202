// transports/providers/twilio.h: the Twilio Programmable Messaging codec for
// SMS (channels.md §5b): a rendered SMS -> POST .../Messages.json, the answer
// -> SendResult, a status callback -> receipts.
//
// Pure like every codec (codec.h): no I/O, no clock, no shared state, safe
// from any thread, never throws, and the parsers accept any bytes.
//
// Send answers are classified by the JSON `code` first, then by the HTTP
// status (channels.md's table; the rows that are a choice):
//   20429 or HTTP 429      451 4.7.0, not blaming the message (account-wide)
//   5xx                    451 4.3.0
//   21610 (STOP)           550 5.7.1 recipient_blocked
//   21211, 21614           550 5.1.1
//   21602, 21617           554 5.6.0
//   21408, 21606, 20003    CONFIG (451 4.3.5); HTTP 401 and 403 too
//   HTTP 404               CONFIG: the only resource we post to is our own
//                          account's Messages list, so a 404 means the
//                          account SID (or base URL) is wrong, not the message
//   another 4xx            554 5.6.0 (BAD_REQ)
//   no JSON body           the same by HTTP status; a 2xx without a sid 4.3.0
// Reply text "twilio error <code>: <message>" or "twilio HTTP <status>: <body>".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "templating/render.h"
#include "transports/providers/codec.h"

namespace transports::providers {

struct TwilioOptions {
  // Seconds Twilio may queue the message before failing it with 30001;
  // 0 leaves Twilio's default (36000, its maximum; larger values are sent
  // as 36000).
  uint32_t validity_period_s = 0;
};

// The send request: form fields To, From (or MessagingServiceSid when
// `from` is a Messaging Service SID, "MG" + 32 hex), Body = r.text,
// StatusCallback when `status_callback_url` is not empty, ValidityPeriod
// when set; HTTP Basic auth account_sid:auth_token. Values are UTF-8,
// percent-encoded byte by byte (everything but A-Z a-z 0-9 - . _ ~; a space
// is %20). SMS has no buttons: r.buttons is not sent.
HttpRequest twilio_send_request(std::string_view account_sid, std::string_view auth_token,
                                std::string_view from, std::string_view to_e164,
                                const templating::Rendered& r,
                                std::string_view status_callback_url,
                                const TwilioOptions& o = {});

// The answer to twilio_send_request(): 2xx with "sid" -> accepted,
// provider_ref = the sid ("SM..."); else classified as above.
SendResult twilio_parse_send(const HttpResponse& response);

// X-Twilio-Signature for a request to `url` with POST `params` (decoded
// name/value pairs): Base64(HMAC-SHA1(auth_token, url + name1 value1 name2
// value2 ..., sorted by name, then by value for a repeated name; byte order,
// i.e. case-sensitive)).
std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const std::vector<Header>& params);

// The status callback endpoint. The form body is decoded ('+' is a space)
// and x-twilio-signature checked against twilio_signature(auth_token,
// req.url, fields) in constant time -> else 403 and nothing is read (an
// empty auth_token never matches); a method other than POST -> 405.
// MessageStatus (SmsStatus when absent):
//   delivered -> kDelivered; read -> kRead;
//   undelivered, failed -> kFailed, classified by ErrorCode:
//     30001 queue overflow                   RETRY 4.7.0
//     30003 unreachable, 30008 unknown       RETRY 4.3.0
//     30004 blocked                          550 5.7.1
//     30005 unknown number, 30006 landline   550 5.1.1
//     30007 carrier filtering                554 5.7.1 (BAD_REQ; a policy
//                                             refusal of the content, so the
//                                             accounting log says policy/spam)
//     30002 account suspended                CONFIG
//     63016 outside the WhatsApp window      554 5.7.1, needs_template
//     none or another code                   RETRY 4.3.0
//   A kFailed receipt whose failure is kRetry still ends this attempt: the
//   class says whether sending again may help.
//   queued, sending, sent, accepted, scheduled, canceled -> no receipt.
// provider_ref = MessageSid (SmsSid when absent); recipient = To when it is
// E.164 ("+" and digits), else empty;
// at = RawDlrDoneDate (YYMMDDhhmm, UTC) when present and valid, else epoch;
// event_id = "twilio:<sid>:<status>": the fact itself, so a callback Twilio
// repeats (and a repeated status under a new idempotency token) collapses.
CallbackResult twilio_callback(const CallbackRequest& req, std::string_view auth_token);

}  // namespace transports::providers
