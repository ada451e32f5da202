// templating/render.cpp: content compiled per part, rendered per channel,
// and composed into an email.
#include "templating/render.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/time_format.h"
#include "templating/mime.h"
#include "templating/template.h"
#include "templating/token.h"

namespace templating {

// One button with its parts compiled; empty templates where absent.
struct CompiledButton {
  Template text, url, payload;
  bool has_url = false, has_payload = false;
};

struct CompiledContent::Parts {
  Template subject, html, text, preheader;
  std::vector<std::vector<CompiledButton>> buttons;
};

CompiledContent::CompiledContent() : parts_(std::make_unique<Parts>()) {}
CompiledContent::~CompiledContent() = default;

namespace {

// "html: line 3, column 7: ..." with field "html", the shape of every API
// validation error.
core::Error part_error(const core::Error& e, std::string field) {
  std::string message = field + ": " + e.message;
  return core::make_error(e.code, std::move(message), std::move(field));
}

core::Status compile_part(std::string_view source, Escape escape, std::string_view field,
                          Template* out) {
  if (source.empty()) return {};
  auto t = Template::compile(source, CompileOptions{escape});
  if (!t) return part_error(t.error(), std::string(field));
  *out = std::move(*t);
  return {};
}

// The buttons of a template: [[{"text","url"|"payload"}, ...], ...] or a
// flat list (one button per row). Texts and urls are templates, so they are
// checked again after rendering (parse_buttons, check_buttons).
core::Status compile_buttons(std::string_view json, std::vector<std::vector<CompiledButton>>* out) {
  if (json.empty()) return {};
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec) return core::invalid_argument("buttons", "buttons: not valid JSON");
  if (!v.is_array()) return core::invalid_argument("buttons", "buttons: expected an array");
  const auto& rows = v.as_array();
  const bool flat = std::none_of(rows.begin(), rows.end(),
                                 [](const boost::json::value& r) { return r.is_array(); });
  auto one = [&](const boost::json::value& b, const std::string& field,
                 std::vector<CompiledButton>* row) -> core::Status {
    if (!b.is_object()) return core::invalid_argument(field, field + ": expected an object");
    CompiledButton cb;
    for (const auto& [k, val] : b.as_object()) {
      const std::string f = field + "." + std::string(k);
      if (!val.is_string()) return core::invalid_argument(f, f + ": expected a string");
      const std::string_view src(val.as_string());
      Template* dst = nullptr;
      if (k == "text") {
        dst = &cb.text;
      } else if (k == "url") {
        dst = &cb.url;
        cb.has_url = true;
      } else if (k == "payload") {
        dst = &cb.payload;
        cb.has_payload = true;
      } else {
        return core::invalid_argument(f, f + ": unknown field (expected text, url or payload)");
      }
      if (auto st = compile_part(src, Escape::kNone, f, dst); !st) return st;
    }
    if (cb.text.empty()) {
      return core::invalid_argument(field + ".text", field + ".text: required");
    }
    if (cb.has_url == cb.has_payload) {
      return core::invalid_argument(field, field + ": needs exactly one of url and payload");
    }
    row->push_back(std::move(cb));
    return {};
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<CompiledButton> row;
    if (flat) {
      if (auto st = one(rows[i], fmt::format("buttons[{}]", i), &row); !st) return st;
    } else {
      if (!rows[i].is_array()) {
        const std::string f = fmt::format("buttons[{}]", i);
        return core::invalid_argument(f, f + ": expected an array of buttons");
      }
      const auto& r = rows[i].as_array();
      for (size_t j = 0; j < r.size(); ++j) {
        if (auto st = one(r[j], fmt::format("buttons[{}][{}]", i, j), &row); !st) return st;
      }
    }
    out->push_back(std::move(row));
  }
  return {};
}

std::string_view locale_of(const core::TemplateSource& s) {
  return s.locale.empty() ? std::string_view("uk") : std::string_view(s.locale);
}
std::string_view zone_of(const core::TemplateSource& s) {
  return s.time_zone.empty() ? std::string_view("UTC") : std::string_view(s.time_zone);
}

void merge_report(RenderReport& r, Rendered& out) {
  for (auto& m : r.missing) {
    if (std::find(out.missing.begin(), out.missing.end(), m) == out.missing.end())
      out.missing.push_back(std::move(m));
  }
  for (auto& w : r.warnings) out.warnings.push_back(std::move(w));
  r.clear();
}

bool all_space(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  });
}

}  // namespace

core::Result<std::shared_ptr<const CompiledContent>> CompiledContent::compile(
    core::TemplateSource source) {
  if (source.subject.empty() && source.html.empty() && source.text.empty()) {
    return core::invalid_argument("content", "content: give at least one of subject, html and text");
  }
  std::shared_ptr<CompiledContent> c(new CompiledContent());
  c->source_ = std::move(source);
  const core::TemplateSource& src = c->source_;
  Parts& p = *c->parts_;
  if (auto st = compile_part(src.subject, Escape::kNone, "subject", &p.subject); !st)
    return st.error();
  if (auto st = compile_part(src.html, Escape::kHtml, "html", &p.html); !st) return st.error();
  if (auto st = compile_part(src.text, Escape::kNone, "text", &p.text); !st) return st.error();
  if (auto st = compile_part(src.preheader, Escape::kNone, "preheader", &p.preheader); !st)
    return st.error();
  if (auto st = compile_buttons(src.buttons_json, &p.buttons); !st) return st.error();
  return std::shared_ptr<const CompiledContent>(std::move(c));
}

core::Result<std::shared_ptr<const CompiledContent>> CompiledContent::compile(
    const core::Content& content) {
  core::TemplateSource s;
  s.subject = content.subject;
  s.html = content.html;
  s.text = content.text;
  s.preheader = content.preheader;
  s.buttons_json = content.buttons_json;
  return compile(std::move(s));
}

core::Result<Rendered> CompiledContent::render(core::Channel channel,
                                               std::string_view variables_json,
                                               core::TimePoint now,
                                               const RenderLimits& limits) const {
  // Variables live only for this render: a monotonic buffer on the stack
  // serves the parse without touching the heap for typical sizes.
  unsigned char buf[4096];
  boost::json::monotonic_resource mr(buf, sizeof buf);
  boost::system::error_code ec;
  boost::json::value vars =
      boost::json::parse(variables_json.empty() ? std::string_view("{}") : variables_json, ec, &mr);
  if (ec) return core::invalid_argument("variables", "variables: not valid JSON");
  return render(channel, vars, now, limits);
}

core::Result<Rendered> CompiledContent::render(core::Channel channel,
                                               const boost::json::value& vars,
                                               core::TimePoint now,
                                               const RenderLimits& limits) const {
  static const boost::json::value kEmpty = boost::json::object();
  const boost::json::value& v = vars.is_object() ? vars : kEmpty;
  const Parts& p = *parts_;
  RenderOptions opt;
  opt.locale = locale_of(source_);
  opt.time_zone = zone_of(source_);
  opt.now = now;
  RenderReport report;
  Rendered out;
  out.channel = channel;

  // The plain-text body every non-email channel starts from: the text part,
  // or the HTML part turned into text.
  auto plain_text = [&]() -> std::string {
    std::string s;
    if (!p.text.empty()) {
      p.text.render(v, opt, s, &report);
      return s;
    }
    std::string html;
    p.html.render(v, opt, html, &report);
    return html_to_text(html);
  };

  switch (channel) {
    case core::Channel::kEmail: {
      p.subject.render(v, opt, out.subject, &report);
      out.html.reserve(p.html.size_hint());
      p.html.render(v, opt, out.html, &report);
      if (!p.text.empty()) {
        out.text.reserve(p.text.size_hint());
        p.text.render(v, opt, out.text, &report);
      } else if (!out.html.empty()) {
        out.text = html_to_text(out.html);
      }
      p.preheader.render(v, opt, out.preheader, &report);
      break;
    }
    case core::Channel::kTelegram: {
      if (!p.html.empty()) {
        std::string html;
        p.html.render(v, opt, html, &report);
        out.html = telegram_html(html);
      } else {
        std::string text;
        p.text.render(v, opt, text, &report);
        out.html = telegram_escape(text);
      }
      const size_t n = telegram_length(out.html);
      if (n > kTelegramMaxLength) {
        return core::invalid_argument("text", fmt::format("telegram: the message is {} characters, the limit is {}", n,
                        kTelegramMaxLength));
      }
      if (all_space(out.html)) return core::invalid_argument("text", "telegram: the message is empty");
      break;
    }
    case core::Channel::kSms: {
      out.text = plain_text();
      out.sms = sms_info(out.text);
      if (out.sms.segments > limits.max_sms_segments) {
        return core::invalid_argument("text", fmt::format("sms: the message needs {} segments, the limit is {}", out.sms.segments,
                        limits.max_sms_segments));
      }
      if (all_space(out.text)) return core::invalid_argument("text", "sms: the message is empty");
      break;
    }
    case core::Channel::kViber:
    case core::Channel::kVk:
    case core::Channel::kWhatsapp: {
      out.text = plain_text();
      if (all_space(out.text)) {
        return core::invalid_argument("text", fmt::format("{}: the message is empty", core::channel_name(channel)));
      }
      break;
    }
  }

  // Buttons: rendered, then validated as the API would validate literal
  // ones, then checked against the channel's keyboard limits.
  if (channel != core::Channel::kEmail && channel != core::Channel::kSms && !p.buttons.empty()) {
    boost::json::array rows;
    for (const auto& row : p.buttons) {
      boost::json::array r;
      for (const auto& b : row) {
        boost::json::object o;
        std::string s;
        b.text.render(v, opt, s, &report);
        o["text"] = s;
        if (b.has_url) {
          s.clear();
          b.url.render(v, opt, s, &report);
          o["url"] = s;
        } else {
          s.clear();
          b.payload.render(v, opt, s, &report);
          o["payload"] = s;
        }
        r.push_back(std::move(o));
      }
      rows.push_back(std::move(r));
    }
    auto parsed = parse_buttons(rows, "buttons");
    if (!parsed) return parsed.error();
    if (auto st = check_buttons(*parsed, channel, "buttons"); !st) return st.error();
    out.buttons = std::move(*parsed);
  }

  merge_report(report, out);
  if (source_.strict && !out.missing.empty()) {
    std::string names;
    for (const auto& m : out.missing) {
      if (!names.empty()) names += ", ";
      names += m;
    }
    return core::invalid_argument("variables", fmt::format("strict template: variables missing without a default: {}", names));
  }
  return out;
}

// ---- email -----------------------------------------------------------------

namespace {

bool listed(const std::vector<std::string>& list, std::string_view category) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& c) { return c == "*" || c == category; });
}

std::string_view domain_of(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

std::string tag_value(const core::MessageRequest& r, std::string_view key) {
  for (const auto& t : r.tags) {
    if (t.key == key) return t.value;
  }
  return {};
}

// Feedback-ID parts may not contain ':' (it separates them); keep them
// short and stable (never per recipient: Gmail aggregates on them).
std::string fbl_part(std::string_view s, std::string_view fallback) {
  std::string out;
  for (char c : s.empty() ? fallback : s) {
    if (c == ':' || static_cast<unsigned char>(c) <= ' ') continue;
    out.push_back(c);
    if (out.size() >= 64) break;
  }
  return out.empty() ? std::string(fallback) : out;
}

}  // namespace

std::string apply_tracking(std::string_view html, const core::MessageRecord& record,
                           const core::EmailConfig& config, std::string_view token_key) {
  const std::string_view category = record.request.category;
  std::string out(html);
  if (out.empty()) return out;
  const std::string id = record.id.to_string();
  // The message's own choice wins over its category's; either way nothing
  // is tracked without a URL base to track through.
  auto wanted = [&](core::Tracking t, const std::vector<std::string>& categories) {
    if (t == core::Tracking::kOn) return true;
    if (t == core::Tracking::kOff) return false;
    return listed(categories, category);
  };
  if (!config.click_url.empty() && wanted(record.request.track_clicks, config.track_click_categories)) {
    out = rewrite_links(out, [&](std::string_view url) -> std::string {
      // Unsubscribe links stay direct (an empty answer keeps the link).
      if (!config.unsubscribe_url.empty() && url.starts_with(config.unsubscribe_url)) return {};
      const std::string_view fields[] = {"c1", record.tenant, id, url};
      return config.click_url + seal_token(token_key, fields);
    });
  }
  if (!config.open_url.empty() && wanted(record.request.track_opens, config.track_open_categories)) {
    const std::string_view fields[] = {"o1", record.tenant, id};
    out = add_open_pixel(out, config.open_url + seal_token(token_key, fields));
  }
  return out;
}

bool is_bulk(const core::MessageRecord& record, const core::EmailConfig& config) {
  return record.request.priority == core::Priority::kBulk ||
         listed(config.bulk_categories, record.request.category);
}

core::Status compose_email(const Rendered& rendered, const core::MessageRecord& record,
                           const core::EmailConfig& config, std::string_view token_key,
                           std::string& out) {
  const core::MessageRequest& req = record.request;
  const std::string id = record.id.to_string();
  ComposeOptions o;
  o.from = Mailbox{req.from.name, req.from.email};
  o.to = Mailbox{req.to.name, req.to.email};
  const std::string_view domain = config.message_id_domain.empty()
                                      ? domain_of(req.from.email)
                                      : std::string_view(config.message_id_domain);
  if (domain.empty()) return core::invalid_argument("from.email", "from.email: has no domain");
  o.message_id = make_message_id(id, domain);
  o.date = record.created_at;
  o.trace_header = config.trace_header;
  o.trace_value = id;
  o.feedback_id = fmt::format("{}:{}:{}:{}", fbl_part(tag_value(req, "campaign"), "none"),
                              fbl_part(req.category, "none"), fbl_part(record.tenant, "none"),
                              fbl_part(config.feedback_id_sender, "vestnik"));
  if (is_bulk(record, config) &&
      (!config.unsubscribe_url.empty() || !config.unsubscribe_mailto.empty())) {
    const std::string_view fields[] = {kUnsubscribeTokenKind, record.tenant, "email",
                                       req.to.email, req.category};
    const std::string token = seal_token(token_key, fields);
    ListUnsubscribe lu;
    if (!config.unsubscribe_url.empty()) lu.https_url = config.unsubscribe_url + token;
    if (!config.unsubscribe_mailto.empty())
      lu.mailto = "mailto:" + config.unsubscribe_mailto + "?subject=unsubscribe%20" + token;
    o.list_unsubscribe = std::move(lu);
  }

  EmailParts parts{rendered.subject, rendered.text,
                   apply_tracking(rendered.html, record, config, token_key), rendered.preheader};
  return compose(parts, o, out);
}

}  // namespace templating
