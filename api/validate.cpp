// api/validate.cpp: the value rules of a message request (docs/api.md,
// "Validation"), shared by the JSON and Protobuf decoders.
//
// Order matters only for which error a client sees first: fields are checked
// in declaration order of SendMessageRequest, then the cross-field rules
// (content, recipient address for a requested channel, times). The first
// violation is returned; nothing is partially accepted.
//
// Header-bound fields (names, subject, idempotency key, category, tags) can
// never carry CR, LF or NUL: that is what makes header injection impossible
// further down, where MIME composition trusts them.
#include <charconv>
#include <cstring>

#include "api/draft.h"
#include "api/utf8.h"
#include "core/address.h"
#include "core/time_format.h"

namespace api {

using detail::check_text;
using detail::TextKind;

namespace {

using core::Error;
using core::Status;

#define API_RETURN_IF_ERROR(expr)                                       \
  do {                                                                  \
    if (auto _s = (expr); _s.has_error()) return std::move(_s).error(); \
  } while (0)

bool is_alpha(unsigned char c) noexcept { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alnum(unsigned char c) noexcept { return is_alpha(c) || is_digit(c); }

bool all_of(std::string_view s, bool (*pred)(unsigned char) noexcept) noexcept {
  for (unsigned char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool is_category_char(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.' || c == '-';
}
bool is_template_char(unsigned char c) noexcept {
  return is_alnum(c) || c == '_' || c == '.' || c == '-';
}
bool is_tag_key_char(unsigned char c) noexcept {
  return is_alnum(c) || c == '_' || c == '.' || c == '-' || c == ':';
}
bool is_printable_ascii(unsigned char c) noexcept { return c >= 0x20 && c <= 0x7E; }

bool is_int64(std::string_view s, bool allow_negative) noexcept {
  if (s.empty()) return false;
  if (s.front() == '-' && !allow_negative) return false;
  if (s.front() == '+') return false;
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// An address-like field: UTF-8 and no control characters first (so the
// value can be quoted back safely), then its own syntax.
Status check_address(std::string_view field, std::string_view v, bool utf8_checked,
                     bool (*syntax)(std::string_view) noexcept, std::string_view what) {
  API_RETURN_IF_ERROR(check_text(field, v, 256, TextKind::kHeader, utf8_checked));
  if (!syntax(v)) {
    return detail::field_error(std::string(field),
                               detail::quote_value(v) + " is not " + std::string(what));
  }
  return {};
}

bool is_vk_peer_id(std::string_view s) noexcept { return is_int64(s, true) && s != "0"; }

Status check_recipient(const detail::DraftRecipient& d, bool u8, core::Recipient* out) {
  if (!d.email.empty()) {
    API_RETURN_IF_ERROR(check_address("to.email", d.email, u8, is_valid_email, "a valid address"));
    out->email = d.email;
  }
  if (!d.name.empty()) {
    API_RETURN_IF_ERROR(check_text("to.name", d.name, Limits::kName, TextKind::kHeader, u8));
    out->name = d.name;
  }
  if (!d.telegram_chat_id.empty()) {
    API_RETURN_IF_ERROR(check_address("to.telegram_chat_id", d.telegram_chat_id, u8,
                                      is_telegram_chat_id,
                                      "a Telegram chat id (an integer or @channelname)"));
    out->telegram_chat_id = d.telegram_chat_id;
  }
  if (!d.phone.empty()) {
    API_RETURN_IF_ERROR(
        check_address("to.phone", d.phone, u8, is_e164, "an E.164 number (+ and 7 to 15 digits)"));
    out->phone = d.phone;
  }
  if (!d.vk_peer_id.empty()) {
    API_RETURN_IF_ERROR(check_address("to.vk_peer_id", d.vk_peer_id, u8, is_vk_peer_id,
                                      "a VK peer id (an integer)"));
    out->vk_peer_id = d.vk_peer_id;
  }
  if (!d.viber_id.empty()) {
    API_RETURN_IF_ERROR(
        check_text("to.viber_id", d.viber_id, Limits::kViberId, TextKind::kHeader, u8));
    if (d.viber_id.find_first_of(" \t") != std::string_view::npos) {
      return detail::field_error("to.viber_id", "must not contain spaces");
    }
    out->viber_id = d.viber_id;
  }
  if (!d.whatsapp.empty()) {
    API_RETURN_IF_ERROR(check_address("to.whatsapp", d.whatsapp, u8, is_e164,
                                      "an E.164 number (+ and 7 to 15 digits)"));
    out->whatsapp = d.whatsapp;
  }
  return {};
}

constexpr std::string_view kChannelList = "email, telegram, viber, vk, whatsapp, sms";

Status check_channels(const detail::Draft& d, std::vector<core::Channel>* out) {
  if (!d.channel.empty() && !d.channels.empty()) {
    return detail::field_error("channel", "give either channel or channels, not both");
  }
  if (d.channel.empty() && d.channels.empty()) {
    return detail::field_error("channels", "required (or the channel shorthand)");
  }
  if (d.channels.size() > Limits::kChannels) {
    return detail::field_error("channels",
                               "at most " + std::to_string(Limits::kChannels) + " channels");
  }
  auto add = [&](std::string field, std::string_view name) -> Status {
    auto c = core::parse_channel(name);
    if (!c) {
      if (!d.utf8_checked && !utf8::valid(name.data(), name.size())) {
        return detail::field_error(std::move(field), "not valid UTF-8");
      }
      return detail::field_error(
          std::move(field),
          detail::quote_value(name) + " is not a channel (" + std::string(kChannelList) + ")");
    }
    for (core::Channel seen : *out) {
      if (seen == *c) {
        return detail::field_error(std::move(field),
                                   "duplicate channel " + detail::quote_value(name));
      }
    }
    out->push_back(*c);
    return {};
  };
  if (!d.channel.empty()) return add("channel", d.channel);
  out->reserve(d.channels.size());
  for (size_t i = 0; i < d.channels.size(); ++i) {
    API_RETURN_IF_ERROR(add("channels[" + std::to_string(i) + "]", d.channels[i]));
  }
  return {};
}

Status check_time(std::string_view field, std::string_view v, bool u8,
                  std::optional<core::TimePoint>* out) {
  API_RETURN_IF_ERROR(check_text(field, v, 64, TextKind::kHeader, u8));
  auto t = core::parse_rfc3339(v);
  if (!t) {
    return detail::field_error(std::string(field), detail::quote_value(v) +
                                                       " is not an RFC 3339 time "
                                                       "(2026-11-24T09:00:00Z)");
  }
  *out = *t;
  return {};
}

Status check_tags(const detail::Draft& d, std::vector<core::Tag>* out) {
  if (d.tags.size() > Limits::kTags) {
    return detail::field_error("tags", "at most " + std::to_string(Limits::kTags) + " tags");
  }
  out->reserve(d.tags.size());
  for (const auto& [k, v] : d.tags) {
    if (!d.utf8_checked && !utf8::valid(k.data(), k.size())) {
      return detail::field_error("tags", "a key is not valid UTF-8");
    }
    if (k.empty() || k.size() > Limits::kTagKey || !all_of(k, is_tag_key_char)) {
      return detail::field_error("tags", "key " + detail::quote_value(k) +
                                             " must match [A-Za-z0-9_.:-]{1," +
                                             std::to_string(Limits::kTagKey) + "}");
    }
    const std::string path = "tags." + std::string(k);
    API_RETURN_IF_ERROR(check_text(path, v, Limits::kTagValue, TextKind::kHeader, d.utf8_checked));
    out->push_back(core::Tag{std::string(k), std::string(v)});
  }
  return {};
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept { return utf8::valid(s.data(), s.size()); }

bool is_header_safe(std::string_view s) noexcept {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
  }
  return true;
}

bool is_valid_email(std::string_view s) noexcept { return core::is_valid_mailbox(s, true); }

bool is_e164(std::string_view s) noexcept {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+') return false;
  if (s[1] < '1' || s[1] > '9') return false;
  return all_of(s.substr(2), is_digit);
}

bool is_telegram_chat_id(std::string_view s) noexcept {
  if (s.empty()) return false;
  if (s[0] == '@') {
    const std::string_view name = s.substr(1);
    return name.size() >= 5 && name.size() <= 32 && is_alpha(name[0]) &&
           all_of(name, [](unsigned char c) noexcept { return is_alnum(c) || c == '_'; });
  }
  return s.size() <= 21 && is_int64(s, true);
}

namespace detail {

core::Status check_text(std::string_view field, std::string_view v, size_t max, TextKind kind,
                  bool utf8_checked) {
  if (v.size() > max) {
    return field_error(std::string(field), "longer than " + std::to_string(max) + " bytes");
  }
  if (!utf8_checked && !utf8::valid(v.data(), v.size())) {
    return field_error(std::string(field), "not valid UTF-8");
  }
  if (kind == TextKind::kHeader) {
    if (!is_header_safe(v)) {
      return field_error(std::string(field),
                                 "must not contain control characters (CR, LF, NUL, ...)");
    }
  } else if (std::memchr(v.data(), '\0', v.size()) != nullptr) {
    return field_error(std::string(field), "must not contain NUL characters");
  }
  return {};
}


std::string quote_value(std::string_view v) {
  constexpr size_t kMax = 64;
  std::string out;
  out.reserve(std::min(v.size(), kMax) + 5);
  out.push_back('\'');
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  size_t i = 0;
  while (i < v.size() && i < kMax) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      out.push_back((c < 0x20 || c == 0x7F) ? '?' : char(c));
      ++i;
      continue;
    }
    const size_t len = utf8::sequence_length(p + i, v.size() - i);
    if (len == 0) {
      out.push_back('?');
      ++i;
    } else {
      if (i + len > kMax) break;
      out.append(v.data() + i, len);
      i += len;
    }
  }
  if (i < v.size()) out.append("...");
  out.push_back('\'');
  return out;
}

core::Error field_error(std::string field, std::string_view message) {
  std::string text;
  text.reserve(field.size() + 2 + message.size());
  if (!field.empty()) {
    text.append(field).append(": ");
  }
  text.append(message);
  return core::Error{core::Errc::kInvalidArgument, std::move(text), std::move(field)};
}

core::Result<core::MessageRequest> finish_draft(Draft& d, const ParseOptions& options) {
  const bool u8 = d.utf8_checked;
  core::MessageRequest r;

  if (!d.idempotency_key.empty()) {
    if (d.idempotency_key.size() > Limits::kIdempotencyKey ||
        !all_of(d.idempotency_key, is_printable_ascii)) {
      return field_error("idempotency_key", "must be 1 to 255 printable ASCII characters");
    }
    r.idempotency_key = d.idempotency_key;
  }

  API_RETURN_IF_ERROR(check_channels(d, &r.channels));

  if (!d.has_to) return field_error("to", "required");
  API_RETURN_IF_ERROR(check_recipient(d.to, u8, &r.to));

  if (!d.from.email.empty()) {
    API_RETURN_IF_ERROR(
        check_address("from.email", d.from.email, u8, is_valid_email, "a valid address"));
    r.from.email = d.from.email;
  }
  if (!d.from.name.empty()) {
    API_RETURN_IF_ERROR(check_text("from.name", d.from.name, Limits::kName, TextKind::kHeader, u8));
    r.from.name = d.from.name;
  }

  if (d.category.empty()) {
    r.category = kDefaultCategory;
  } else {
    if (d.category.size() > Limits::kCategory || !all_of(d.category, is_category_char)) {
      return field_error("category", "must match [a-z0-9_.-]{1,64}");
    }
    r.category = d.category;
  }

  if (!d.template_id.empty()) {
    if (d.template_id.size() > Limits::kTemplateId || !all_of(d.template_id, is_template_char)) {
      return field_error("template_id", "must match [A-Za-z0-9_.-]{1,128}");
    }
    r.content.template_id = d.template_id;
  }
  if (!d.subject.empty()) {
    API_RETURN_IF_ERROR(check_text("subject", d.subject, Limits::kSubject, TextKind::kHeader, u8));
  }
  if (!d.html.empty()) {
    API_RETURN_IF_ERROR(check_text("html", d.html, Limits::kBodyPart, TextKind::kBody, u8));
  }
  if (!d.text.empty()) {
    API_RETURN_IF_ERROR(check_text("text", d.text, Limits::kBodyPart, TextKind::kBody, u8));
  }

  if (!d.preheader.empty()) {
    API_RETURN_IF_ERROR(
        check_text("preheader", d.preheader, Limits::kSubject, TextKind::kHeader, u8));
  }
  if (d.buttons_json.size() > Limits::kButtonsBytes) {
    return field_error("buttons", "larger than " + std::to_string(Limits::kButtonsBytes) + " bytes");
  }

  if (d.variables_json.size() > Limits::kVariablesBytes) {
    return field_error("variables",
                       "larger than " + std::to_string(Limits::kVariablesBytes) + " bytes");
  }

  if (!d.send_at.empty()) API_RETURN_IF_ERROR(check_time("send_at", d.send_at, u8, &r.send_at));
  if (!d.expires_at.empty()) {
    API_RETURN_IF_ERROR(check_time("expires_at", d.expires_at, u8, &r.expires_at));
  }

  if (!d.priority.empty()) {
    auto p = core::parse_priority(d.priority);
    if (!p) {
      return field_error("priority",
                         (is_header_safe(d.priority) && (u8 || is_valid_utf8(d.priority))
                              ? quote_value(d.priority)
                              : std::string("the value")) +
                             " is not one of transactional, normal, bulk");
    }
    r.priority = *p;
  }

  API_RETURN_IF_ERROR(check_tags(d, &r.tags));

  // Cross-field rules.
  const bool has_inline = !d.subject.empty() || !d.html.empty() || !d.text.empty();
  if (!d.template_id.empty() && (has_inline || !d.preheader.empty() || !d.buttons_json.empty())) {
    return field_error("template_id",
                       "give either template_id or inline content (subject, html, text, "
                       "preheader, buttons), not both");
  }
  if (d.template_id.empty() && !has_inline) {
    return field_error("template_id",
                       "required: a template_id or inline content (subject, html, text)");
  }
  if (has_inline) {
    if (d.html.empty() && d.text.empty()) {
      return field_error("text", "inline content needs html or text");
    }
    for (core::Channel c : r.channels) {
      if (c == core::Channel::kEmail && d.subject.empty()) {
        return field_error("subject", "required for the email channel");
      }
    }
  }

  bool reachable = false;
  for (core::Channel c : r.channels) {
    if (!r.to.address_for(c).empty()) {
      reachable = true;
      break;
    }
  }
  if (!reachable) {
    std::string names;
    for (core::Channel c : r.channels) {
      if (!names.empty()) names.append(", ");
      names.append(core::channel_name(c));
    }
    return field_error("to", "no address for any requested channel (" + names + ")");
  }

  if (r.send_at && *r.send_at > options.now + kMaxScheduleAhead) {
    return field_error("send_at", "more than 366 days ahead");
  }
  if (r.expires_at) {
    if (*r.expires_at <= options.now) return field_error("expires_at", "is in the past");
    if (r.send_at && *r.expires_at <= *r.send_at) {
      return field_error("expires_at", "must be after send_at");
    }
  }

  // Only now, with every rule passed, copy the large parts.
  r.content.subject = d.subject;
  r.content.html = d.html;
  r.content.text = d.text;
  r.content.preheader = d.preheader;
  r.track_clicks = d.track_clicks;
  r.track_opens = d.track_opens;
  r.content.buttons_json = std::move(d.buttons_json);
  r.variables_json = d.variables_json.empty() ? std::string("{}") : std::move(d.variables_json);
  return r;
}

}  // namespace detail
}  // namespace api
