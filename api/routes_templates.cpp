// api/routes_templates.cpp: /v1/templates endpoints and previews (v1).
//
//   PUT    /v1/templates/{id}   store a new version -> 200 (201 for version 1)
//   GET    /v1/templates/{id}   the current version (?version=N: that one)
//   DELETE /v1/templates/{id}   tombstone; queued messages keep their version
//   GET    /v1/templates        every live template of the tenant (no bodies)
//   POST   /v1/messages:preview a message request rendered as it would be
//                               sent, stored nowhere
//
// Templates belong to the key's tenant. JSON only: the bodies are template
// source text, which Protobuf would carry no better.
#include <boost/json/parse.hpp>
#include <charconv>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "api/bridge.h"
#include "api/draft.h"
#include "api/json_writer.h"
#include "api/request.h"
#include "api/response.h"
#include "api/routes.h"
#include "core/time_format.h"
#include "templating/template.h"

namespace api {

namespace {

namespace json = boost::json;

constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxSubjectBytes = 4096;
constexpr size_t kMaxPartBytes = 1 << 20;  // the template language's own limit

Response bad(std::string message, std::string field, Format f) {
  return error_response(core::invalid_argument(std::move(field), std::move(message)), f);
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (unsigned char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// An IANA zone name: letters, digits, '_', '-', '+', '/' in parts; no
// "..", no leading '/'; and present in the zone database, so a typo is
// refused now instead of rendering every date in UTC later.
bool valid_zone(std::string_view z) {
  if (z.empty() || z.size() > 64 || z.front() == '/' || z.find("..") != std::string_view::npos)
    return false;
  return templating::is_known_time_zone(z);
}

// A string member (null: absent), checked by the API's one text rule:
// header-bound parts are single lines, bodies have no NUL. Boost.JSON has
// already checked the UTF-8.
core::Status read_text(const json::object& o, std::string_view key, size_t max, bool header,
                       std::string* out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string()) {
    return core::invalid_argument(std::string(key), std::string(key) + ": expected a string");
  }
  const std::string_view s(v->as_string());
  if (auto st = detail::check_text(key, s, max,
                                   header ? detail::TextKind::kHeader : detail::TextKind::kBody,
                                   /*utf8_checked=*/true);
      !st) {
    return st;
  }
  out->assign(s);
  return {};
}

core::Result<core::TemplateSource> parse_template(std::string_view body) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return core::invalid_argument("body", "body: not valid JSON (" + ec.message() + ")");
  if (!doc.is_object()) return core::invalid_argument("body", "body: expected a JSON object");
  const json::object& o = doc.as_object();
  static constexpr std::string_view kKnown[] = {"channel", "subject", "html",   "text",
                                                "preheader", "buttons", "strict", "locale",
                                                "time_zone", "timeZone"};
  for (const auto& kv : o) {
    if (std::find(std::begin(kKnown), std::end(kKnown), kv.key()) == std::end(kKnown)) {
      return core::invalid_argument(std::string(kv.key()), std::string(kv.key()) + ": unknown field");
    }
  }
  core::TemplateSource t;
  std::string channel;
  if (auto st = read_text(o, "channel", 32, true, &channel); !st) return st.error();
  if (!channel.empty()) {
    t.channel = core::parse_channel(channel);
    if (!t.channel) {
      return core::invalid_argument("channel", "channel: unknown channel '" + channel + "' (email, telegram, viber, vk, whatsapp, sms)");
    }
  }
  if (auto st = read_text(o, "subject", kMaxSubjectBytes, true, &t.subject); !st) return st.error();
  if (auto st = read_text(o, "html", kMaxPartBytes, false, &t.html); !st) return st.error();
  if (auto st = read_text(o, "text", kMaxPartBytes, false, &t.text); !st) return st.error();
  if (auto st = read_text(o, "preheader", kMaxSubjectBytes, true, &t.preheader); !st)
    return st.error();
  if (const json::value* b = o.if_contains("buttons"); b != nullptr && !b->is_null()) {
    if (!b->is_array()) return core::invalid_argument("buttons", "buttons: expected an array");
    if (!b->as_array().empty()) t.buttons_json = json::serialize(*b);
  }
  if (const json::value* s = o.if_contains("strict"); s != nullptr && !s->is_null()) {
    if (!s->is_bool()) return core::invalid_argument("strict", "strict: expected true or false");
    t.strict = s->as_bool();
  }
  if (auto st = read_text(o, "locale", 8, true, &t.locale); !st) return st.error();
  if (!t.locale.empty() && t.locale != "uk" && t.locale != "ru" && t.locale != "en") {
    return core::invalid_argument("locale", "locale: expected uk, ru or en");
  }
  const std::string_view zone_key = o.contains("time_zone") ? "time_zone" : "timeZone";
  if (auto st = read_text(o, zone_key, 64, true, &t.time_zone); !st) return st.error();
  if (!t.time_zone.empty() && !valid_zone(t.time_zone)) {
    return core::invalid_argument("time_zone", "time_zone: '" + t.time_zone + "' is not a known IANA time zone");
  }
  if (t.subject.empty() && t.html.empty() && t.text.empty()) {
    return core::invalid_argument("text", "body: give at least one of subject, html and text");
  }
  return t;
}

void write_template(JsonWriter& w, const queue::StoredTemplate& t, bool with_bodies) {
  w.begin_object();
  w.member("id", t.id);
  w.member("version", t.version);
  w.member("created_at", core::format_rfc3339(t.created_at));
  if (t.deleted) {
    w.key("deleted");
    w.boolean(true);
    w.end_object();
    return;
  }
  if (t.source.channel) w.member("channel", core::channel_name(*t.source.channel));
  w.key("strict");
  w.boolean(t.source.strict);
  if (!t.source.locale.empty()) w.member("locale", t.source.locale);
  if (!t.source.time_zone.empty()) w.member("time_zone", t.source.time_zone);
  if (with_bodies) {
    w.member("subject", t.source.subject);
    w.member("html", t.source.html);
    w.member("text", t.source.text);
    if (!t.source.preheader.empty()) w.member("preheader", t.source.preheader);
    if (!t.source.buttons_json.empty()) {
      w.key("buttons");
      w.raw(t.source.buttons_json);
    }
  }
  w.end_object();
}

Response template_response(unsigned status, const queue::StoredTemplate& t) {
  Response r;
  r.status = status;
  JsonWriter w(r.body);
  write_template(w, t, true);
  return r;
}

Response json_only() {
  return http_error(415, "unsupported_media_type",
                    "template endpoints take and give JSON (application/json)", Format::kJson);
}

// The awaitables are built in plain functions, not inside the coroutines:
// GCC 12 destroys the init-captures of a lambda written inside a co_await
// expression twice (the same reason routes_messages.cpp has submit()).
using TemplateResult = core::Result<queue::StoredTemplate>;
boost::asio::awaitable<std::optional<TemplateResult>> store_template(Services& s, std::string tenant,
                                                                     std::string id,
                                                                     core::TemplateSource source) {
  return await_callback<TemplateResult>(
      [&s, tenant = std::move(tenant), id = std::move(id),
       source = std::move(source)](std::function<void(TemplateResult)> done) mutable {
        s.engine.put_template(std::move(tenant), std::move(id), std::move(source), std::move(done));
      },
      spool_deadline(s));
}
boost::asio::awaitable<std::optional<TemplateResult>> remove_template(Services& s,
                                                                      std::string tenant,
                                                                      std::string id) {
  return await_callback<TemplateResult>(
      [&s, tenant = std::move(tenant),
       id = std::move(id)](std::function<void(TemplateResult)> done) mutable {
        s.engine.delete_template(std::move(tenant), std::move(id), std::move(done));
      },
      spool_deadline(s));
}

}  // namespace

boost::asio::awaitable<Response> put_template(Services& s, const Request& req) {
  if (req.body_format == Format::kProtobuf) co_return json_only();
  const std::string id(req.param);
  if (!valid_id(id)) co_return bad("id: must match [A-Za-z0-9_.-]{1,128}", "id", Format::kJson);
  auto parsed = parse_template(req.body);
  if (!parsed) co_return error_response(parsed.error(), Format::kJson);
  auto answer = co_await store_template(s, req.principal->tenant, id, std::move(*parsed));
  if (!answer) {
    co_return error_response(
        core::make_error(core::Errc::kUnavailable,
                         "timed out waiting for the spool; the outcome is unknown: GET the "
                         "template to see its version"),
        Format::kJson);
  }
  if (!*answer) co_return error_response(answer->error(), Format::kJson);
  co_return template_response((*answer)->version == 1 ? 201 : 200, **answer);
}

Response get_template(Services& s, const Request& req) {
  if (!valid_id(req.param)) return error_response(core::Errc::kNotFound, "no such template", Format::kJson);
  uint32_t version = 0;
  if (!req.query.empty()) {
    constexpr std::string_view kVersion = "version=";
    if (!req.query.starts_with(kVersion)) {
      return bad("query: only version=N is understood", "version", Format::kJson);
    }
    const std::string_view v = req.query.substr(kVersion.size());
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
    if (ec != std::errc() || p != v.data() + v.size() || version == 0) {
      return bad("version: expected a positive integer", "version", Format::kJson);
    }
  }
  auto t = s.spool.get_template(req.principal->tenant, req.param, version);
  if (!t) return error_response(t.error(), Format::kJson);
  // A tombstone is shown only when asked for by version: the template is gone.
  if (!*t || ((*t)->deleted && version == 0)) {
    return error_response(core::Errc::kNotFound, "no such template", Format::kJson);
  }
  return template_response(200, **t);
}

boost::asio::awaitable<Response> delete_template(Services& s, const Request& req) {
  if (!valid_id(req.param)) co_return error_response(core::Errc::kNotFound, "no such template", Format::kJson);
  auto answer = co_await remove_template(s, req.principal->tenant, std::string(req.param));
  if (!answer) {
    co_return error_response(
        core::make_error(core::Errc::kUnavailable, "timed out waiting for the spool"), Format::kJson);
  }
  if (!*answer) {
    if (answer->error().code == core::Errc::kNotFound)
      co_return error_response(core::Errc::kNotFound, "no such template", Format::kJson);
    co_return error_response(answer->error(), Format::kJson);
  }
  co_return template_response(200, **answer);
}

Response list_templates(Services& s, const Request& req) {
  auto all = s.spool.list_templates(req.principal->tenant);
  if (!all) return error_response(all.error(), Format::kJson);
  Response r;
  JsonWriter w(r.body);
  w.begin_object();
  w.key("templates");
  w.begin_array();
  for (const auto& t : *all) write_template(w, t, false);
  w.end_array();
  w.end_object();
  return r;
}

Response preview_message(Services& s, const Request& req) {
  auto parsed = req.body_format == Format::kProtobuf ? parse_message_proto(req.body, parse_options(s))
                                                     : parse_message_json(req.body, parse_options(s));
  if (!parsed) return error_response(parsed.error(), req.reply_format);
  const core::MessageRequest& m = *parsed;
  // The channel delivery would use first: the first one with an address.
  core::Channel channel = m.channels.front();
  for (core::Channel c : m.channels) {
    if (!m.to.address_for(c).empty()) {
      channel = c;
      break;
    }
  }
  auto rendered = s.engine.render(req.principal->tenant, m, channel);
  if (!rendered) {
    core::Error e = rendered.error();
    if (e.code == core::Errc::kNotFound) e.code = core::Errc::kInvalidArgument;
    return error_response(e, Format::kJson);
  }
  const templating::Rendered& r = *rendered;
  Response out;
  JsonWriter w(out.body);
  w.begin_object();
  w.member("channel", core::channel_name(channel));
  if (channel == core::Channel::kEmail) {
    w.member("subject", r.subject);
    w.member("html", r.html);
    w.member("text", r.text);
    if (!r.preheader.empty()) w.member("preheader", r.preheader);
    // The whole RFC 5322 message as the email transport would hand it to
    // DKIM and SMTP (Message-ID and Date vary per message).
    core::MessageRecord record;
    record.tenant = req.principal->tenant;
    record.request = m;
    record.created_at = s.clock.now();
    std::string mime;
    if (auto st = templating::compose_email(r, record, s.config->email,
                                            s.config->email.token_secret, mime);
        !st) {
      return error_response(st.error(), Format::kJson);
    }
    w.member("mime", mime);
  } else if (channel == core::Channel::kTelegram) {
    w.member("text", r.html);
    w.member("parse_mode", "HTML");
  } else {
    w.member("text", r.text);
  }
  if (channel == core::Channel::kSms) {
    w.key("sms");
    w.begin_object();
    w.member("encoding", r.sms.encoding == templating::SmsEncoding::kGsm7 ? "gsm7" : "ucs2");
    w.member("units", r.sms.units);
    w.member("segments", r.sms.segments);
    w.end_object();
  }
  if (!r.buttons.empty()) {
    w.key("buttons");
    w.begin_array();
    for (const auto& row : r.buttons) {
      w.begin_array();
      for (const auto& b : row) {
        w.begin_object();
        w.member("text", b.text);
        if (!b.url.empty()) w.member("url", b.url);
        if (!b.payload.empty()) w.member("payload", b.payload);
        w.end_object();
      }
      w.end_array();
    }
    w.end_array();
  }
  w.key("missing");
  w.begin_array();
  for (const auto& v : r.missing) w.string(v);
  w.end_array();
  w.key("warnings");
  w.begin_array();
  for (const auto& v : r.warnings) w.string(v);
  w.end_array();
  w.end_object();
  return out;
}

}  // namespace api
