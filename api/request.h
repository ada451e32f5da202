// api/request.h: message requests from the wire to core::MessageRequest.
//
// The second public header of `api` (the first is api.h). It turns the body
// of POST /v1/messages and POST /v1/messages:batch — JSON in the proto3 JSON
// mapping of vestnik.v1.SendMessageRequest / BatchRequest, or the same
// messages as binary Protobuf — into validated core::MessageRequest values.
// JSON and Protobuf meet on one validator, so both obey the same rules.
//
// Every rule is listed in docs/api.md ("Validation"). An error is a
// core::Error with code kInvalidArgument (or kTooLarge for an oversized
// batch), `field` naming the offending field by its path inside one message
// ("to.email", "channels[1]", "tags.campaign"), and a message that repeats
// the path: "to.email: 'ivan@' is not a valid address". Errors about the
// batch envelope name "messages".
//
// Pure functions: no I/O, no clock reads (the caller passes `now`), no
// exceptions, no global state except a per-thread scratch buffer for the
// JSON document (each call is self-contained). Thread-safe.
//
// Cost: the JSON path parses with Boost.JSON into a monotonic arena and
// copies each string once into the result; about 2 µs per 1 KB message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/message.h"
#include "core/result.h"

namespace api {

// Field limits. Lengths are in bytes (UTF-8 octets). Documented in docs/api.md.
struct Limits {
  static constexpr size_t kEmail = 254;          // RFC 5321 path limit minus <>
  static constexpr size_t kEmailLocalPart = 64;  // RFC 5321 4.5.3.1.1
  static constexpr size_t kEmailDomain = 255;    // RFC 5321 4.5.3.1.2
  static constexpr size_t kDomainLabel = 63;
  static constexpr size_t kName = 256;           // display names
  static constexpr size_t kSubject = 998;        // RFC 5322 line length
  // html, text: 1 MiB each, the template language's own limit (inline parts
  // are templates). Gmail clips HTML beyond 102 KB; nothing real comes close.
  static constexpr size_t kBodyPart = 1u << 20;
  static constexpr size_t kButtonsBytes = 16 * 1024;
  static constexpr size_t kTemplateId = 128;
  static constexpr size_t kIdempotencyKey = 255;
  static constexpr size_t kCategory = 64;
  static constexpr size_t kTags = 32;  // tags per message
  static constexpr size_t kTagKey = 64;
  static constexpr size_t kTagValue = 256;
  static constexpr size_t kViberId = 64;
  static constexpr size_t kTelegramChatId = 64;
  static constexpr size_t kVkPeerId = 20;
  static constexpr size_t kVariablesBytes = 256u << 10;  // compact JSON text
  static constexpr size_t kVariablesDepth = 16;          // nesting inside `variables`
  static constexpr size_t kChannels = 6;                 // every channel once at most
  static constexpr size_t kJsonDepth = 24;               // whole document
};

inline constexpr std::string_view kDefaultCategory = "notifications";
// send_at may be at most this far ahead of `now`.
inline constexpr core::Duration kMaxScheduleAhead{366LL * 24 * 3600 * 1000};

struct ParseOptions {
  core::TimePoint now;  // "in the future" is judged against this
  uint32_t max_batch = 10000;
};

// One message. REQUIRES: nothing (any bytes).
core::Result<core::MessageRequest> parse_message_json(std::string_view body,
                                                      const ParseOptions& options);
core::Result<core::MessageRequest> parse_message_proto(std::string_view body,
                                                       const ParseOptions& options);

// A batch: the outer Result fails when the envelope is bad (not JSON, not an
// object, `messages` missing or not an array, empty, more than max_batch
// (kTooLarge), an unknown top-level field); otherwise one Result per item, in
// order, with item-relative field paths.
using BatchItems = std::vector<core::Result<core::MessageRequest>>;
core::Result<BatchItems> parse_batch_json(std::string_view body, const ParseOptions& options);
core::Result<BatchItems> parse_batch_proto(std::string_view body, const ParseOptions& options);

// The syntax checks behind validation, exposed for tests and for other
// front ends (CLI). Pure; no allocation.
bool is_valid_utf8(std::string_view s) noexcept;
// RFC 5321 Mailbox: dot-string or quoted-string local part (UTF-8 allowed per
// RFC 6531), a dotted domain of LDH or UTF-8 (IDN) labels; length limits.
// Address literals ([192.0.2.1]) are refused.
bool is_valid_email(std::string_view s) noexcept;
// E.164: ^\+[1-9][0-9]{6,14}$
bool is_e164(std::string_view s) noexcept;
// A Telegram chat id: a signed 64-bit integer, or @channelname (5-32 of
// [A-Za-z0-9_], starting with a letter).
bool is_telegram_chat_id(std::string_view s) noexcept;
// True when `s` contains no C0 control character (except TAB), no DEL, and is
// therefore safe in a header (no CR/LF injection) or a log line.
bool is_header_safe(std::string_view s) noexcept;

}  // namespace api
