// templating/buttons.cpp: the channel-neutral buttons model (channels.h).
//
// Two checks, two moments. parse_buttons() runs when content is accepted
// (API, template PUT): the shape and the neutral limits, with the JSON path
// of the first problem. check_buttons() runs after rendering, on the final
// texts and URLs, against what the chosen channel can show; the engine then
// fails the message on that channel (and may fall back) instead of letting
// the provider refuse it.
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "templating/channels.h"
#include "templating/channels_internal.h"

namespace templating {
namespace {

core::Error field_error(std::string field, std::string_view message) {
  std::string text;
  text.reserve(field.size() + 2 + message.size());
  text.append(field).append(": ").append(message);
  return core::Error{core::Errc::kInvalidArgument, std::move(text), std::move(field)};
}

std::string index_path(std::string_view base, size_t i) {
  std::string p(base);
  p.push_back('[');
  p.append(std::to_string(i));
  p.push_back(']');
  return p;
}

// Code points of well-formed UTF-8, or npos.
size_t count_chars(std::string_view s) {
  if (!chan::is_valid_utf8(s)) return std::string_view::npos;
  size_t n = 0;
  for (const char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool has_control(std::string_view s) {
  bool found = false;
  chan::for_each_code_point(s, [&](char32_t cp) {
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0x2028 || cp == 0x2029) found = true;
  });
  return found;
}

bool all_space(std::string_view s) {
  for (const char c : s) {
    if (c != ' ' && c != '\t') return false;
  }
  return true;
}

enum class Stage { kParse, kFinal };

// The checks every button passes, at parse time and again after rendering.
core::Status check_one(const Button& b, const std::string& path, size_t max_text, Stage stage) {
  const size_t chars = count_chars(b.text);
  if (chars == std::string_view::npos) return field_error(path + ".text", "not valid UTF-8");
  if (b.text.empty() || all_space(b.text)) return field_error(path + ".text", "must not be empty");
  if (has_control(b.text)) {
    return field_error(path + ".text", "must not contain control characters (CR, LF, tab, ...)");
  }
  if (chars > max_text) {
    return field_error(path + ".text", "at most " + std::to_string(max_text) + " characters");
  }
  if (!b.url.empty() && !b.payload.empty()) {
    return field_error(path, "give either url or payload, not both");
  }
  if (b.url.empty() && b.payload.empty()) return field_error(path, "needs a url or a payload");
  if (!b.url.empty()) {
    if (b.url.size() > kMaxButtonUrl) {
      return field_error(path + ".url", "at most " + std::to_string(kMaxButtonUrl) + " bytes");
    }
    bool bad = !chan::is_http_url(b.url) || !chan::is_valid_utf8(b.url) || has_control(b.url);
    if (stage == Stage::kFinal && b.url.find(' ') != std::string::npos) bad = true;
    if (bad) return field_error(path + ".url", "must be an http or https URL");
  } else {
    if (!chan::is_valid_utf8(b.payload)) return field_error(path + ".payload", "not valid UTF-8");
    if (b.payload.size() > kMaxButtonPayload) {
      return field_error(path + ".payload",
                         "at most " + std::to_string(kMaxButtonPayload) + " bytes");
    }
  }
  return {};
}

// A string member: null is absent.
core::Status get_string(const boost::json::value& v, const std::string& path, std::string* out) {
  if (v.is_null()) return {};
  if (!v.is_string()) return field_error(path, "must be a string");
  const boost::json::string& s = v.get_string();
  out->assign(s.data(), s.size());
  return {};
}

core::Result<Button> parse_button(const boost::json::value& v, const std::string& path) {
  if (!v.is_object()) return field_error(path, "must be a button object");
  Button b;
  bool has_text = false;
  for (const auto& kv : v.get_object()) {
    const std::string_view key(kv.key().data(), kv.key().size());
    std::string* dst;
    if (key == "text") {
      dst = &b.text;
      has_text = !kv.value().is_null();
    } else if (key == "url") {
      dst = &b.url;
    } else if (key == "payload") {
      dst = &b.payload;
    } else {
      // Echo the key only when it is short and printable.
      const bool echo = key.size() <= 32 && !has_control(key) && chan::is_valid_utf8(key);
      return field_error(echo ? path + "." + std::string(key) : path,
                         echo ? "unknown field" : "has an unknown field");
    }
    const std::string member = path + "." + std::string(key);
    if (auto st = get_string(kv.value(), member, dst); !st) return st.error();
    if (dst == &b.payload && !kv.value().is_null() && b.payload.empty()) {
      return field_error(member, "must not be empty");
    }
    if (dst == &b.url && !kv.value().is_null() && b.url.empty()) {
      return field_error(member, "must be an http or https URL");
    }
  }
  if (!has_text) return field_error(path + ".text", "is required");
  if (auto st = check_one(b, path, kMaxButtonText, Stage::kParse); !st) return st.error();
  return b;
}

}  // namespace

core::Result<ButtonRows> parse_buttons(const boost::json::value& json, std::string_view field) {
  const std::string base(field);
  if (!json.is_array()) return field_error(base, "must be an array of button rows");
  const boost::json::array& rows = json.get_array();
  if (rows.size() > kMaxButtonRows) {
    return field_error(base, "at most " + std::to_string(kMaxButtonRows) + " rows");
  }
  ButtonRows out;
  out.reserve(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    const std::string row_path = index_path(base, r);
    const boost::json::value& row = rows[r];
    if (row.is_object()) {  // the flat form: one button per row
      auto b = parse_button(row, row_path);
      if (!b) return b.error();
      out.emplace_back().push_back(std::move(*b));
      continue;
    }
    if (!row.is_array()) {
      return field_error(row_path, "must be a button object or an array of buttons");
    }
    const boost::json::array& buttons = row.get_array();
    if (buttons.empty()) return field_error(row_path, "a row needs at least one button");
    if (buttons.size() > kMaxButtonsPerRow) {
      return field_error(row_path,
                         "at most " + std::to_string(kMaxButtonsPerRow) + " buttons per row");
    }
    std::vector<Button>& dst = out.emplace_back();
    dst.reserve(buttons.size());
    for (size_t c = 0; c < buttons.size(); ++c) {
      auto b = parse_button(buttons[c], index_path(row_path, c));
      if (!b) return b.error();
      dst.push_back(std::move(*b));
    }
  }
  return out;
}

ButtonLimits button_limits(core::Channel channel) {
  switch (channel) {
    case core::Channel::kTelegram:
      // inline_keyboard: channels.md gives no count limits; clients show at
      // most 8 buttons in a row, and the neutral limits stay within it.
      return {kMaxButtonRows, kMaxButtonsPerRow, kMaxButtonRows * kMaxButtonsPerRow,
              kMaxButtonText, SIZE_MAX, true};
    case core::Channel::kViber:
      // The keyboard grid is 6 columns wide (Columns 1-6): at most 6 a row.
      return {kMaxButtonRows, 6, kMaxButtonRows * 6, kMaxButtonText, SIZE_MAX, true};
    case core::Channel::kVk:
      // An inline keyboard (buttons under the message, "inline":true): 6 rows,
      // 5 a row, 10 in all, labels up to 40 (channels.md, marked [?]). The
      // transport must send inline keyboards; a regular one would replace
      // the user's keyboard for a notification.
      return {6, 5, 10, 40, SIZE_MAX, true};
    case core::Channel::kWhatsapp:
      // Interactive "button": at most 3 reply buttons, titles up to 20.
      // URL buttons are a different interactive message ("cta_url", one
      // URL button, not in channels.md): at most one, never mixed with
      // reply buttons. The transport lays rows out as one list.
      return {3, 3, 3, 20, 1, false};
    case core::Channel::kEmail:
    case core::Channel::kSms:
      break;
  }
  return {};
}

core::Status check_buttons(const ButtonRows& rows, core::Channel channel, std::string_view field) {
  if (rows.empty()) return {};
  const std::string base(field);
  const ButtonLimits lim = button_limits(channel);
  const std::string name(core::channel_name(channel));
  if (lim.max_total == 0) return field_error(base, name + " messages cannot have buttons");
  if (rows.size() > lim.max_rows) {
    return field_error(base, "at most " + std::to_string(lim.max_rows) + " rows on " + name);
  }
  size_t total = 0;
  size_t urls = 0;
  size_t payloads = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const std::string row_path = index_path(base, r);
    if (rows[r].empty()) return field_error(row_path, "a row needs at least one button");
    if (rows[r].size() > lim.max_per_row) {
      return field_error(row_path, "at most " + std::to_string(lim.max_per_row) +
                                       " buttons per row on " + name);
    }
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const Button& b = rows[r][c];
      const std::string path = index_path(row_path, c);
      if (auto st = check_one(b, path, kMaxButtonText, Stage::kFinal); !st) return st;
      if (count_chars(b.text) > lim.max_text) {
        return field_error(path + ".text", "at most " + std::to_string(lim.max_text) +
                                               " characters on " + name);
      }
      if (!b.url.empty()) {
        ++urls;
        if (urls > lim.max_url) {
          return field_error(path + ".url", "at most " + std::to_string(lim.max_url) +
                                                " url button on " + name);
        }
      } else {
        ++payloads;
      }
      if (!lim.mix_url_and_payload && urls > 0 && payloads > 0) {
        return field_error(path, name + " cannot mix url and payload buttons");
      }
      ++total;
    }
  }
  if (total > lim.max_total) {
    return field_error(base, "at most " + std::to_string(lim.max_total) + " buttons on " + name);
  }
  return {};
}

}  // namespace templating
