// api/draft.h: the decoded-but-unchecked form of one message request
// (private to api/).
//
// The JSON and Protobuf decoders only map wire fields onto a Draft and
// report shape errors (unknown field, wrong type). Every value rule lives in
// finish_draft(), so both encodings obey exactly the same validation.
// String views point into the decoder's document (a Boost.JSON arena or a
// protobuf message) and must not outlive it; finish_draft() copies what it
// keeps. An empty view means "not given" (proto3: the default is absence).
#pragma once

#include <boost/container/small_vector.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "api/request.h"

namespace api::detail {

struct DraftRecipient {
  std::string_view email;
  std::string_view name;
  std::string_view telegram_chat_id;
  std::string_view phone;
  std::string_view vk_peer_id;
  std::string_view viber_id;
  std::string_view whatsapp;
};

struct DraftSender {
  std::string_view email;
  std::string_view name;
};

struct Draft {
  std::string_view idempotency_key;
  std::string_view channel;
  boost::container::small_vector<std::string_view, Limits::kChannels> channels;
  bool has_to = false;
  DraftRecipient to;
  DraftSender from;
  std::string_view category;
  std::string_view template_id;
  std::string_view subject;
  std::string_view html;
  std::string_view text;
  std::string_view preheader;
  std::string buttons_json;    // compact JSON array; empty = not given
  std::string variables_json;  // compact JSON object; empty = not given
  std::string_view send_at;
  std::string_view expires_at;
  std::string_view priority;
  core::Tracking track_clicks = core::Tracking::kDefault;
  core::Tracking track_opens = core::Tracking::kDefault;
  boost::container::small_vector<std::pair<std::string_view, std::string_view>, 8> tags;
  // The decoder already guaranteed every string is valid UTF-8 (Boost.JSON
  // does); otherwise finish_draft() checks each one.
  bool utf8_checked = false;
};

// Common checks of a free-text field (also used for template bodies).
enum class TextKind : uint8_t {
  kHeader,  // single line: no control characters except TAB
  kBody,    // any text but NUL
};
// "field: longer than N bytes" / "not valid UTF-8" (unless utf8_checked) /
// control characters (kHeader) or NUL (kBody).
core::Status check_text(std::string_view field, std::string_view v, size_t max, TextKind kind,
                        bool utf8_checked);

// Validates every field and cross-field rule of `draft` and builds the
// request. Errors name the field by its path within the message.
core::Result<core::MessageRequest> finish_draft(Draft& draft, const ParseOptions& options);

// "'value'" for error messages: at most 64 bytes (cut on a UTF-8 boundary,
// "..." appended); control characters are not echoed (the text is replaced
// by a neutral word) so an error can never inject into a log line.
std::string quote_value(std::string_view v);

// "path: message" with field = path; the shape every validation error has.
core::Error field_error(std::string field, std::string_view message);

}  // namespace api::detail
