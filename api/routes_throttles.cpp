// api/routes_throttles.cpp: live delivery shaping (v1, admin keys only).
//
//   GET  /v1/throttles                     the rules in force, every group's
//                                          live state, the pauses
//   PUT  /v1/throttles                     new rules: the content of a
//                                          [throttle] table, as TOML
//   POST /v1/destinations/{key}:pause      pause a destination or a group
//   POST /v1/destinations/{key}:resume     lift that pause (404: none)
//
// All four call engine::Throttles directly: its methods are thread-safe,
// short and do no I/O, so they run inline on the connection's strand.
// Nothing here is durable: rules set by PUT last until the next restart or
// SIGHUP (which re-reads the config file); pauses until resumed, expired or
// the next restart. engine::Throttles logs every change; the API adds one
// audit line per change naming the admin key's tenant.
//
// JSON only, like the template endpoints: the rules are TOML text going in,
// and no vestnik.v1 message describes them yet. A Protobuf body gets 415;
// answers are JSON whatever Accept says.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "api/draft.h"
#include "api/json_writer.h"
#include "api/response.h"
#include "api/routes.h"
#include "api/utf8.h"
#include "core/log.h"
#include "core/time_format.h"
#include "engine/throttle.h"

namespace api {

namespace {

namespace json = boost::json;

constexpr size_t kMaxKeyBytes = 255;
constexpr size_t kMaxReasonBytes = 256;
constexpr core::Duration kMaxPause{366LL * 24 * 3600 * 1000};
// Where TOML syntax errors say they are: "body:3:7: ...".
const std::string kTomlSource = "body";

Response bad(std::string field, std::string message) {
  return error_response(core::invalid_argument(std::move(field), std::move(message)),
                        Format::kJson);
}

Response json_only() {
  return http_error(415, "unsupported_media_type",
                    "this endpoint takes and gives JSON (application/json)", Format::kJson);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool blank(std::string_view s) noexcept {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// application/toml, or text/plain (what `curl --data-binary @file -H
// 'Content-Type: text/plain'` and most tools send for a text file); no
// Content-Type at all is read as TOML too. Parameters (charset) are ignored:
// TOML is UTF-8 by definition.
bool toml_media_type(std::string_view content_type) noexcept {
  const std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  return type.empty() || iequals(type, "application/toml") || iequals(type, "text/plain");
}

// A pause key: a destination ("email:gmail.com") or a group key ("google",
// "default:email:example.com"). 1-255 bytes of UTF-8 (IDN domains stay in
// UTF-8 in destination keys), no control characters, spaces or '/'. ASCII
// letters are folded to lower case, as destinations and rule names are.
core::Result<std::string> check_key(std::string_view key) {
  if (key.empty()) return core::invalid_argument("key", "key: required (a destination or a group)");
  if (key.size() > kMaxKeyBytes) {
    return core::invalid_argument("key",
                                  "key: longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  }
  if (!utf8::valid(key.data(), key.size())) {
    return core::invalid_argument("key", "key: not valid UTF-8");
  }
  std::string out;
  out.reserve(key.size());
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F) {
      return core::invalid_argument("key", "key: control characters and spaces are not allowed");
    }
    if (c == '/') {
      return core::invalid_argument("key",
                                    "key: " + detail::quote_value(key) + " may not contain '/'");
    }
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : ch);
  }
  return out;
}

std::string_view action_name(core::BackoffAction a) noexcept {
  switch (a) {
    case core::BackoffAction::kSuspend:
      return "suspend";
    case core::BackoffAction::kRate:
      return "rate";
    case core::BackoffAction::kConnections:
      return "connections";
  }
  return "unknown";
}

// A rule's configured limits: only the fields it sets (an absent field is
// inherited, as in the config file).
void write_config_limits(JsonWriter& w, const core::ThrottleLimits& l) {
  if (l.connections) w.member("connections", *l.connections);
  if (l.messages_per_connection) w.member("messages_per_connection", *l.messages_per_connection);
  if (l.rate) w.member("rate", engine::format_rate(*l.rate));
  if (l.burst) w.member("burst", *l.burst);
  if (l.connection_rate) w.member("connection_rate", engine::format_rate(*l.connection_rate));
}

void write_resolved(JsonWriter& w, const engine::ResolvedLimits& l) {
  w.begin_object();
  w.member("connections", l.connections);
  w.member("messages_per_connection", l.messages_per_connection);
  w.member("rate", engine::format_rate(l.rate));
  w.member("burst", l.burst);
  w.member("connection_rate", engine::format_rate(l.connection_rate));
  w.end_object();
}

void write_strings(JsonWriter& w, std::string_view k, const std::vector<std::string>& v) {
  w.key(k);
  w.begin_array();
  for (const std::string& s : v) w.string(s);
  w.end_array();
}

// "rules": the ThrottleConfig in force, in the config file's vocabulary:
// rates and durations as strings, limits inline in each rule.
void write_rules(JsonWriter& w, const core::ThrottleConfig& c) {
  w.begin_object();
  w.member("recovery_step", core::format_duration(c.recovery_step));
  w.key("builtin_rules");
  w.boolean(c.builtin_rules);
  w.key("default");
  w.begin_object();
  write_config_limits(w, c.defaults);
  w.end_object();
  w.key("rules");
  w.begin_array();
  for (const core::ThrottleRule& r : c.rules) {
    w.begin_object();
    w.member("name", r.name);
    write_strings(w, "domains", r.domains);
    write_strings(w, "mx_suffixes", r.mx_suffixes);
    {
      std::vector<std::string> channels;
      for (core::Channel ch : r.channels) channels.emplace_back(core::channel_name(ch));
      write_strings(w, "channels", channels);
    }
    // Unset means "shared when matched by MX": show what applies.
    w.key("shared");
    w.boolean(r.shared.value_or(!r.mx_suffixes.empty()));
    write_config_limits(w, r.limits);
    w.end_object();
  }
  w.end_array();
  w.key("backoff");
  w.begin_array();
  for (const core::BackoffRule& b : c.backoff) {
    w.begin_object();
    w.member("name", b.name);
    w.member("match", b.match);
    w.member("action", action_name(b.action));
    if (b.action == core::BackoffAction::kRate) w.member("rate", engine::format_rate(b.rate));
    if (b.action == core::BackoffAction::kConnections) w.member("connections", b.connections);
    w.member("duration", core::format_duration(b.duration));
    w.member("threshold", b.threshold);
    w.member("window", core::format_duration(b.window));
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_group(JsonWriter& w, const engine::GroupSnapshot& g) {
  w.begin_object();
  w.member("key", g.key);
  w.member("rule", g.rule);
  w.key("shared");
  w.boolean(g.shared);
  write_strings(w, "destinations", g.destinations);
  w.member("destination_count", uint64_t{g.destination_count});
  w.key("limits");
  write_resolved(w, g.limits);
  w.key("effective");
  write_resolved(w, g.effective);
  w.member("connections_open", g.connections_open);
  w.key("suspended");
  w.boolean(g.suspended);
  w.key("backoff");
  if (g.backoff) {
    const engine::BackoffState& b = *g.backoff;
    w.begin_object();
    w.member("rule", b.rule);
    w.member("reply", b.reply);
    w.member("action", action_name(b.action));
    w.member("since", core::format_rfc3339(b.since));
    w.member("until", core::format_rfc3339(b.until));
    w.key("recovering");
    w.boolean(b.recovering);
    w.end_object();
  } else {
    w.null();
  }
  w.end_object();
}

void write_pause(JsonWriter& w, const engine::PauseSnapshot& p) {
  w.begin_object();
  w.member("key", p.key);
  w.key("until");
  if (p.until) {
    w.string(core::format_rfc3339(*p.until));
  } else {
    w.null();
  }
  w.member("reason", p.reason);
  w.member("since", core::format_rfc3339(p.since));
  w.end_object();
}

// The answer of GET (and of a successful PUT). The three reads are not one
// snapshot: a change racing with them may show in one part and not yet in
// another; `generation` is read first, so it is never newer than `rules`.
Response throttles_response(Services& s) {
  engine::Throttles& t = s.engine.throttles();
  const core::TimePoint now = s.clock.now();
  const uint64_t generation = t.generation();
  const core::ThrottleConfig rules = t.config();
  std::vector<engine::GroupSnapshot> groups = t.groups(now);
  std::vector<engine::PauseSnapshot> pauses = t.pauses(now);
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });
  std::sort(pauses.begin(), pauses.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });

  Response r;
  r.body.reserve(1024 + groups.size() * 512 + pauses.size() * 160);
  JsonWriter w(r.body);
  w.begin_object();
  w.key("rules");
  write_rules(w, rules);
  w.key("groups");
  w.begin_array();
  for (const auto& g : groups) write_group(w, g);
  w.end_array();
  w.key("pauses");
  w.begin_array();
  for (const auto& p : pauses) write_pause(w, p);
  w.end_array();
  w.member("generation", generation);
  w.end_object();
  return r;
}

struct PauseOptions {
  std::optional<core::Duration> duration;  // nullopt: until resumed
  std::string reason;                      // empty: the default
};

// {"duration": "1h", "reason": "..."}, both optional; an empty body is {}.
// Unknown fields are refused, as everywhere in the API; null is "not given".
core::Result<PauseOptions> parse_pause(std::string_view body) {
  PauseOptions o;
  if (blank(body)) return o;
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return detail::field_error("", "invalid JSON: " + ec.message());
  if (!doc.is_object()) return detail::field_error("", "expected a JSON object");
  for (const auto& [k, v] : doc.as_object()) {
    const std::string_view key(k.data(), k.size());
    if (v.is_null()) continue;
    if (key == "duration") {
      if (!v.is_string()) return detail::field_error("duration", "expected a string like \"1h\"");
      const std::string_view text(v.as_string());
      const auto d = core::parse_duration(text);
      if (!d) {
        return detail::field_error("duration",
                                   detail::quote_value(text) + " is not a duration like \"90m\"");
      }
      if (d->count() <= 0) return detail::field_error("duration", "must be positive");
      if (*d > kMaxPause) {
        return detail::field_error("duration", "at most 366d (omit it to pause until resumed)");
      }
      o.duration = *d;
    } else if (key == "reason") {
      if (!v.is_string()) return detail::field_error("reason", "expected a string");
      const std::string_view text(v.as_string());
      if (auto st = detail::check_text("reason", text, kMaxReasonBytes, detail::TextKind::kHeader,
                                       /*utf8_checked=*/true);
          !st) {
        return std::move(st).error();
      }
      o.reason.assign(text);
    } else {
      return detail::field_error(std::string(key), "unknown field");
    }
  }
  return o;
}

}  // namespace

Response get_throttles(Services& s, const Request&) { return throttles_response(s); }

Response put_throttles(Services& s, const Request& req) {
  if (!toml_media_type(req.content_type)) {
    return http_error(415, "unsupported_media_type",
                      "PUT /v1/throttles takes the content of a [throttle] table as TOML "
                      "(Content-Type: application/toml or text/plain)",
                      Format::kJson);
  }
  // An empty document would be valid TOML meaning "all defaults": refuse it
  // rather than wipe the configured rules by accident.
  if (blank(req.body)) {
    return bad("",
               "empty body: send the content of a [throttle] table "
               "(\"builtin_rules = true\" alone restores the defaults)");
  }
  core::ThrottleConfig config;
  try {
    config = core::parse_throttle_toml(req.body, kTomlSource);
  } catch (const core::ConfigError& e) {
    // The message already starts with the key ("throttle.rules[0].rate:
    // ...") or, for a syntax error, with "body:<line>:<column>:".
    return bad(e.key(), e.what());
  }
  engine::Throttles& t = s.engine.throttles();
  if (auto st = t.replace(config, s.config->smtp); !st) {
    return error_response(st.error(), Format::kJson);
  }
  core::log::info("api: throttle change", {{"action", "put"},
                                           {"tenant", std::string_view(req.principal->tenant)},
                                           {"generation", t.generation()}});
  return throttles_response(s);
}

Response pause_destination(Services& s, const Request& req) {
  if (req.body_format == Format::kProtobuf) return json_only();
  auto key = check_key(req.param);
  if (!key) return error_response(key.error(), Format::kJson);
  auto options = parse_pause(req.body);
  if (!options) return error_response(options.error(), Format::kJson);

  engine::Throttles& t = s.engine.throttles();
  const core::TimePoint now = s.clock.now();
  std::optional<core::TimePoint> until;
  if (options->duration) until = now + *options->duration;
  std::string reason =
      options->reason.empty() ? "paused by " + req.principal->tenant : std::move(options->reason);
  t.pause(*key, until, reason);
  core::log::info("api: throttle change", {{"action", "pause"},
                                           {"tenant", std::string_view(req.principal->tenant)},
                                           {"key", std::string_view(*key)}});

  // Answer what the engine holds; fall back to what was asked should the
  // pause already be gone (a concurrent resume).
  engine::PauseSnapshot shown{*key, until, reason, now};
  for (engine::PauseSnapshot& p : t.pauses(now)) {
    if (p.key == *key) {
      shown = std::move(p);
      break;
    }
  }
  Response r;
  JsonWriter w(r.body);
  write_pause(w, shown);
  return r;
}

Response resume_destination(Services& s, const Request& req) {
  if (req.body_format == Format::kProtobuf) return json_only();
  auto key = check_key(req.param);
  if (!key) return error_response(key.error(), Format::kJson);
  if (auto st = s.engine.throttles().resume(*key); !st) {
    if (st.error().code == core::Errc::kNotFound) {
      return error_response(
          core::Error{core::Errc::kNotFound, "key: " + detail::quote_value(*key) + " is not paused",
                      "key"},
          Format::kJson);
    }
    return error_response(st.error(), Format::kJson);
  }
  core::log::info("api: throttle change", {{"action", "resume"},
                                           {"tenant", std::string_view(req.principal->tenant)},
                                           {"key", std::string_view(*key)}});
  Response r;
  JsonWriter w(r.body);
  w.begin_object();
  w.member("key", *key);
  w.member("status", "resumed");
  w.end_object();
  return r;
}

}  // namespace api
