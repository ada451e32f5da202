// api/request_json.cpp: JSON bodies (proto3 JSON mapping) onto Drafts.
//
// Cost rule (the batch API must take 100,000 messages/s on two cores along
// with the spool): one Boost.JSON parse into a per-thread monotonic arena,
// one pass over each object's members with a table lookup per key, and no
// copy of any string until finish_draft() has accepted the message. The
// arena makes the DOM's many small allocations a pointer bump; the parser
// itself is per-thread and reused, keeping its stack between requests.
//
// Boost.JSON rejects invalid UTF-8 (and lone surrogate escapes) while
// parsing, so Drafts from here are marked utf8_checked.
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <memory>

#include "api/draft.h"

namespace api {

namespace {

namespace json = boost::json;
using detail::Draft;
using detail::field_error;

enum class Field : uint8_t {
  kIdempotencyKey,
  kChannels,
  kChannel,
  kTo,
  kFrom,
  kCategory,
  kTemplateId,
  kSubject,
  kHtml,
  kText,
  kVariables,
  kPreheader,
  kButtons,
  kTracking,
  kSendAt,
  kExpiresAt,
  kPriority,
  kTags,
  kUnknown,
};

struct FieldName {
  std::string_view snake;
  std::string_view camel;  // lowerCamelCase form of the proto3 JSON mapping
  Field field;
};

constexpr FieldName kMessageFields[] = {
    {"idempotency_key", "idempotencyKey", Field::kIdempotencyKey},
    {"channels", "channels", Field::kChannels},
    {"channel", "channel", Field::kChannel},
    {"to", "to", Field::kTo},
    {"from", "from", Field::kFrom},
    {"category", "category", Field::kCategory},
    {"template_id", "templateId", Field::kTemplateId},
    {"subject", "subject", Field::kSubject},
    {"html", "html", Field::kHtml},
    {"text", "text", Field::kText},
    {"variables", "variables", Field::kVariables},
    {"preheader", "preheader", Field::kPreheader},
    {"buttons", "buttons", Field::kButtons},
    {"tracking", "tracking", Field::kTracking},
    {"send_at", "sendAt", Field::kSendAt},
    {"expires_at", "expiresAt", Field::kExpiresAt},
    {"priority", "priority", Field::kPriority},
    {"tags", "tags", Field::kTags},
};

Field lookup(std::string_view key) noexcept {
  for (const FieldName& f : kMessageFields) {
    if (key == f.snake || key == f.camel) return f.field;
  }
  return Field::kUnknown;
}

// A client-supplied key, safe to echo in an error (bounded, no controls).
std::string echo_key(std::string_view key) {
  if (key.size() <= 64 && is_header_safe(key)) return std::string(key);
  return detail::quote_value(key);
}

core::Error unknown_field(std::string_view prefix, std::string_view key) {
  std::string path(prefix);
  path.append(echo_key(key));
  return field_error(std::move(path), "unknown field");
}

core::Error expected(std::string path, std::string_view what) {
  return field_error(std::move(path), "expected " + std::string(what));
}

// A string field: null is absent (proto3 JSON mapping), anything else but
// a string is refused.
core::Status get_string(const json::value& v, std::string_view path, std::string_view* out) {
  if (v.is_string()) {
    const json::string& s = v.get_string();
    *out = std::string_view(s.data(), s.size());
    return {};
  }
  if (v.is_null()) return {};
  return expected(std::string(path), "a string");
}

#define API_TRY(expr)                                                   \
  do {                                                                  \
    if (auto _s = (expr); _s.has_error()) return std::move(_s).error(); \
  } while (0)

core::Status decode_recipient(const json::value& v, detail::DraftRecipient* to) {
  if (!v.is_object()) return expected("to", "an object");
  for (const json::key_value_pair& kv : v.get_object()) {
    const std::string_view k = kv.key();
    const json::value& x = kv.value();
    if (k == "email") {
      API_TRY(get_string(x, "to.email", &to->email));
    } else if (k == "name") {
      API_TRY(get_string(x, "to.name", &to->name));
    } else if (k == "telegram_chat_id" || k == "telegramChatId") {
      API_TRY(get_string(x, "to.telegram_chat_id", &to->telegram_chat_id));
    } else if (k == "phone") {
      API_TRY(get_string(x, "to.phone", &to->phone));
    } else if (k == "vk_peer_id" || k == "vkPeerId") {
      API_TRY(get_string(x, "to.vk_peer_id", &to->vk_peer_id));
    } else if (k == "viber_id" || k == "viberId") {
      API_TRY(get_string(x, "to.viber_id", &to->viber_id));
    } else if (k == "whatsapp") {
      API_TRY(get_string(x, "to.whatsapp", &to->whatsapp));
    } else {
      return unknown_field("to.", k);
    }
  }
  return {};
}

core::Status decode_sender(const json::value& v, detail::DraftSender* from) {
  if (!v.is_object()) return expected("from", "an object");
  for (const json::key_value_pair& kv : v.get_object()) {
    const std::string_view k = kv.key();
    if (k == "email") {
      API_TRY(get_string(kv.value(), "from.email", &from->email));
    } else if (k == "name") {
      API_TRY(get_string(kv.value(), "from.name", &from->name));
    } else {
      return unknown_field("from.", k);
    }
  }
  return {};
}

// Walks `variables`: returns the depth of nested containers (0 for a
// scalar), stopping early once `limit` is exceeded, and clears `*finite`
// on a number out of double range (1e400 parses as infinity, which has no
// JSON form to store). Recursion is bounded by the parser's max_depth.
size_t walk_variables(const json::value& v, size_t limit, bool* finite) noexcept {
  size_t deepest = 0;
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      deepest = std::max(deepest, walk_variables(kv.value(), limit, finite));
      if (deepest > limit || !*finite) break;
    }
    return deepest + 1;
  }
  if (v.is_array()) {
    for (const auto& x : v.get_array()) {
      deepest = std::max(deepest, walk_variables(x, limit, finite));
      if (deepest > limit || !*finite) break;
    }
    return deepest + 1;
  }
  if (v.is_double() && !std::isfinite(v.get_double())) *finite = false;
  return 0;
}

core::Status decode_variables(const json::value& v, std::string* out) {
  if (v.is_null()) return {};
  if (!v.is_object()) return expected("variables", "an object");
  bool finite = true;
  if (walk_variables(v, Limits::kVariablesDepth, &finite) > Limits::kVariablesDepth) {
    return field_error("variables",
                       "nested deeper than " + std::to_string(Limits::kVariablesDepth) + " levels");
  }
  if (!finite) return field_error("variables", "numbers must be finite");
  *out = json::serialize(v);
  return {};
}

// "tracking": {"clicks": true|false, "opens": true|false}; an absent
// member (or null) leaves the category's configuration in charge.
core::Status decode_tracking(const json::value& v, Draft* d) {
  if (v.is_null()) return {};
  if (!v.is_object()) return expected("tracking", "an object with clicks and opens");
  for (const auto& kv : v.get_object()) {
    core::Tracking* out = nullptr;
    if (kv.key() == "clicks") {
      out = &d->track_clicks;
    } else if (kv.key() == "opens") {
      out = &d->track_opens;
    } else {
      return unknown_field("tracking.", kv.key());
    }
    if (kv.value().is_null()) continue;
    if (!kv.value().is_bool()) return expected("tracking." + std::string(kv.key()), "true or false");
    *out = kv.value().get_bool() ? core::Tracking::kOn : core::Tracking::kOff;
  }
  return {};
}

core::Status decode_channels(const json::value& v, Draft* d) {
  if (v.is_null()) return {};
  if (!v.is_array()) return expected("channels", "an array of strings");
  const json::array& a = v.get_array();
  if (a.size() > Limits::kChannels) {
    return field_error("channels", "at most " + std::to_string(Limits::kChannels) + " channels");
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) return expected("channels[" + std::to_string(i) + "]", "a string");
    const json::string& s = a[i].get_string();
    d->channels.emplace_back(s.data(), s.size());
  }
  return {};
}

core::Status decode_tags(const json::value& v, Draft* d) {
  if (v.is_null()) return {};
  if (!v.is_object()) return expected("tags", "an object of strings");
  const json::object& o = v.get_object();
  if (o.size() > Limits::kTags) {
    return field_error("tags", "at most " + std::to_string(Limits::kTags) + " tags");
  }
  for (const json::key_value_pair& kv : o) {
    if (!kv.value().is_string()) {
      return expected("tags." + echo_key(kv.key()), "a string");
    }
    const json::string& s = kv.value().get_string();
    d->tags.emplace_back(kv.key(), std::string_view(s.data(), s.size()));
  }
  return {};
}

core::Status decode_message(const json::value& v, Draft* d) {
  if (!v.is_object()) return field_error("", "expected a JSON object");
  for (const json::key_value_pair& kv : v.get_object()) {
    const json::value& x = kv.value();
    switch (lookup(kv.key())) {
      case Field::kIdempotencyKey:
        API_TRY(get_string(x, "idempotency_key", &d->idempotency_key));
        break;
      case Field::kChannels:
        API_TRY(decode_channels(x, d));
        break;
      case Field::kChannel:
        API_TRY(get_string(x, "channel", &d->channel));
        break;
      case Field::kTo:
        if (!x.is_null()) {
          d->has_to = true;
          API_TRY(decode_recipient(x, &d->to));
        }
        break;
      case Field::kFrom:
        if (!x.is_null()) API_TRY(decode_sender(x, &d->from));
        break;
      case Field::kCategory:
        API_TRY(get_string(x, "category", &d->category));
        break;
      case Field::kTemplateId:
        API_TRY(get_string(x, "template_id", &d->template_id));
        break;
      case Field::kSubject:
        API_TRY(get_string(x, "subject", &d->subject));
        break;
      case Field::kHtml:
        API_TRY(get_string(x, "html", &d->html));
        break;
      case Field::kText:
        API_TRY(get_string(x, "text", &d->text));
        break;
      case Field::kVariables:
        API_TRY(decode_variables(x, &d->variables_json));
        break;
      case Field::kPreheader:
        API_TRY(get_string(x, "preheader", &d->preheader));
        break;
      case Field::kButtons:
        if (!x.is_null()) {
          if (!x.is_array()) return expected("buttons", "an array of button rows");
          if (!x.get_array().empty()) d->buttons_json = json::serialize(x);
        }
        break;
      case Field::kTracking:
        API_TRY(decode_tracking(x, d));
        break;
      case Field::kSendAt:
        API_TRY(get_string(x, "send_at", &d->send_at));
        break;
      case Field::kExpiresAt:
        API_TRY(get_string(x, "expires_at", &d->expires_at));
        break;
      case Field::kPriority:
        API_TRY(get_string(x, "priority", &d->priority));
        break;
      case Field::kTags:
        API_TRY(decode_tags(x, d));
        break;
      case Field::kUnknown:
        return unknown_field("", kv.key());
    }
  }
  return {};
}

core::Result<core::MessageRequest> message_from_value(const json::value& v,
                                                      const ParseOptions& options) {
  Draft d;
  d.utf8_checked = true;
  API_TRY(decode_message(v, &d));
  return detail::finish_draft(d, options);
}

// Per-thread parsing state. The arena's first block lives here, so a
// single message parses without touching malloc; a batch grows the arena
// geometrically from the heap and gives it back when the call ends.
struct Scratch {
  static constexpr size_t kArenaBytes = 64 * 1024;
  std::unique_ptr<unsigned char[]> arena{new unsigned char[kArenaBytes]};
  json::parser parser{json::storage_ptr(), options()};

  static json::parse_options options() {
    json::parse_options o;
    o.max_depth = Limits::kJsonDepth;
    o.allow_comments = false;
    o.allow_trailing_commas = false;
    o.allow_invalid_utf8 = false;
    return o;
  }
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Parses `body` into a DOM allocated from `mr`. Errors name the byte offset.
core::Result<json::value> parse_document(std::string_view body, json::monotonic_resource& mr) {
  json::parser& p = scratch().parser;
  p.reset(json::storage_ptr(&mr));
  boost::system::error_code ec;
  const size_t n = p.write(body.data(), body.size(), ec);
  if (ec) {
    p.reset();
    return field_error("", "invalid JSON at byte " + std::to_string(n) + ": " + ec.message());
  }
  return p.release();
}

}  // namespace

core::Result<core::MessageRequest> parse_message_json(std::string_view body,
                                                      const ParseOptions& options) {
  Scratch& s = scratch();
  json::monotonic_resource mr(s.arena.get(), Scratch::kArenaBytes);
  auto doc = parse_document(body, mr);
  if (!doc) return std::move(doc).error();
  return message_from_value(*doc, options);
}

core::Result<BatchItems> parse_batch_json(std::string_view body, const ParseOptions& options) {
  Scratch& s = scratch();
  json::monotonic_resource mr(s.arena.get(), Scratch::kArenaBytes);
  auto doc = parse_document(body, mr);
  if (!doc) return std::move(doc).error();
  if (!doc->is_object()) return field_error("", "expected a JSON object");

  const json::array* messages = nullptr;
  for (const json::key_value_pair& kv : doc->get_object()) {
    if (kv.key() != "messages") return unknown_field("", kv.key());
    if (!kv.value().is_array()) return expected("messages", "an array of messages");
    messages = &kv.value().get_array();
  }
  if (messages == nullptr || messages->empty()) {
    return field_error("messages", "at least one message is required");
  }
  if (messages->size() > options.max_batch) {
    core::Error e = field_error(
        "messages", "at most " + std::to_string(options.max_batch) + " messages per batch");
    e.code = core::Errc::kTooLarge;
    return e;
  }

  BatchItems items;
  items.reserve(messages->size());
  for (const json::value& m : *messages) {
    items.push_back(message_from_value(m, options));
  }
  return items;
}

}  // namespace api
