// core/config.cpp: TOML → core::Config, validated once (STYLE.md R13).
//
// With config_mta.cpp (the sections of issue #4) and config_throttle.cpp
// ([throttle]), the only code that includes toml++ (through the private
// config_read.h), and the only code in the project that throws: a bad
// configuration is found at startup (or on reload, where the caller keeps
// the old snapshot), never later. Every error names the dotted key it is
// about, because the operator has to find it in the file; values of
// secrets (API keys, listener passwords) are never repeated in messages.
//
// Each [section] is read through a Section (config_read.h), which remembers
// which keys it consumed; finish() then refuses whatever is left, so a
// misspelt key ("max_actve") fails loudly instead of silently keeping its
// default.
#include "core/config.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/config_read.h"
#include "core/log.h"
#include "core/time_format.h"

namespace core {

// The reading kit of config_read.h, shared with config_mta.cpp.
namespace config_detail {

std::string join(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
}

std::string indexed(std::string_view path, size_t i) { return fmt::format("{}[{}]", path, i); }

std::string where(const toml::node& n) {
  const auto& b = n.source().begin;
  return b.line ? fmt::format(" (line {})", b.line) : std::string();
}

[[noreturn]] void fail(const std::string& key, const toml::node& n, std::string_view what) {
  throw ConfigError(key, std::string(what) + where(n));
}

toml::table parse_document(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw ConfigError("", fmt::format("{}:{}:{}: {}", source, b.line, b.column, e.description()));
  }
}

// ---- scalar readers: each one checks type, then format, then range ----

std::string read_string(const std::string& key, const toml::node& n) {
  const auto* v = n.as_string();
  if (!v) fail(key, n, "expected a string");
  return v->get();
}

bool read_bool(const std::string& key, const toml::node& n) {
  const auto* v = n.as_boolean();
  if (!v) fail(key, n, "expected a boolean (true or false)");
  return v->get();
}

int64_t read_integer(const std::string& key, const toml::node& n, int64_t min, int64_t max) {
  const auto* v = n.as_integer();
  if (!v) fail(key, n, "expected an integer");
  const int64_t x = v->get();
  if (x < min || x > max) fail(key, n, fmt::format("must be between {} and {}", min, max));
  return x;
}

double read_number(const std::string& key, const toml::node& n, double min, double max) {
  double x;
  if (const auto* f = n.as_floating_point()) {
    x = f->get();
  } else if (const auto* i = n.as_integer()) {
    x = static_cast<double>(i->get());
  } else {
    fail(key, n, "expected a number");
  }
  if (!(x >= min && x <= max)) fail(key, n, fmt::format("must be between {} and {}", min, max));
  return x;
}

Duration read_duration(const std::string& key, const toml::node& n, Duration min, Duration max) {
  const auto* v = n.as_string();
  if (!v) fail(key, n, "expected a duration string such as \"90s\"");
  const auto d = parse_duration(v->get());
  if (!d) {
    fail(key, n,
         fmt::format("\"{}\" is not a duration (a number and a unit: ms, s, m, h, d, e.g. \"90s\", "
                     "\"1h30m\")",
                     v->get()));
  }
  if (*d < min || *d > max) {
    fail(key, n,
         fmt::format("must be between {} and {}", format_duration(min), format_duration(max)));
  }
  return *d;
}

uint64_t read_size(const std::string& key, const toml::node& n, uint64_t min, uint64_t max) {
  uint64_t x;
  if (const auto* i = n.as_integer()) {
    if (i->get() < 0) fail(key, n, "must not be negative");
    x = static_cast<uint64_t>(i->get());
  } else if (const auto* s = n.as_string()) {
    const auto parsed = parse_size(s->get());
    if (!parsed) {
      fail(key, n,
           fmt::format("\"{}\" is not a size (bytes, or a number and a unit: KiB, MiB, GiB, TiB, "
                       "kB, MB, GB, TB)",
                       s->get()));
    }
    x = *parsed;
  } else {
    fail(key, n, "expected a size such as \"256MiB\" or a number of bytes");
  }
  if (x < min || x > max) {
    fail(key, n, fmt::format("must be between {} and {}", format_size(min), format_size(max)));
  }
  return x;
}

const toml::array& read_array(const std::string& key, const toml::node& n, size_t max_size) {
  const auto* a = n.as_array();
  if (!a) fail(key, n, "expected an array");
  if (a->size() > max_size) fail(key, n, fmt::format("at most {} entries", max_size));
  return *a;
}

// ---- validators of string values ----

void check_listen(const std::string& key, const toml::node& n, const std::string& v) {
  if (!parse_host_port(v)) {
    fail(key, n,
         fmt::format("\"{}\" is not host:port (e.g. \"127.0.0.1:8025\", \"[::1]:8025\", "
                     "\"localhost:8025\")",
                     v));
  }
}

bool valid_header_name(std::string_view v) noexcept {
  return !v.empty() && v.size() <= 76 && std::all_of(v.begin(), v.end(), [](char c) {
    return c > 32 && c < 127 && c != ':';
  });
}

bool valid_host_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-')) {
        return false;
      }
    }
    start = dot + 1;
  }
  return true;
}

bool valid_tenant_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

void read_strings(Section& s, std::string_view k, std::vector<std::string>* out, size_t max_size) {
  const auto* n = s.get(k);
  if (!n) return;
  const std::string key = s.key(k);
  const auto* a = n->as_array();
  if (!a) fail(key, *n, "expected an array of strings");
  if (a->size() > max_size) fail(key, *n, fmt::format("at most {} entries", max_size));
  out->clear();
  for (size_t i = 0; i < a->size(); ++i) {
    std::string v = read_string(indexed(key, i), *a->get(i));
    if (v.empty()) fail(indexed(key, i), *a->get(i), "must not be empty");
    out->push_back(std::move(v));
  }
}

}  // namespace config_detail

namespace {

using namespace config_detail;

using namespace std::chrono_literals;

constexpr uint64_t kKiB = uint64_t{1} << 10;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kTiB = uint64_t{1} << 40;

// An SMTP-style reply: a code 200..599, then nothing or a space and text.
// The code decides delivered (2xx), transient (4xx) or permanent (5xx).
void check_reply(const std::string& key, const toml::node& n, const std::string& v) {
  const bool digits = v.size() >= 3 && std::all_of(v.begin(), v.begin() + 3,
                                                   [](char c) { return c >= '0' && c <= '9'; });
  const int code = digits ? std::stoi(v.substr(0, 3)) : 0;
  if (!digits || code < 200 || code > 599 || (v.size() > 3 && v[3] != ' ')) {
    fail(key, n, "must start with a reply code 200..599, e.g. \"451 4.7.1 try again later\"");
  }
  if (v.find_first_of("\r\n") != std::string::npos) fail(key, n, "must be one line");
  if (v.size() > 512) fail(key, n, "at most 512 characters");
}

Channel read_channel(const std::string& key, const toml::node& n) {
  const std::string name = read_string(key, n);
  const auto c = parse_channel(name);
  if (!c) {
    fail(
        key, n,
        fmt::format("unknown channel \"{}\" (expected email, telegram, viber, vk, whatsapp or sms)",
                    name));
  }
  return *c;
}

// ---- sections ----

void read_api(Section& s, ApiConfig& c) {
  if (const auto* n = s.get("listen")) {
    c.listen = read_string(s.key("listen"), *n);
    check_listen(s.key("listen"), *n, c.listen);
  }
  s.size("max_body_bytes", &c.max_body_bytes, kKiB, kGiB);
  s.integer("max_batch", &c.max_batch, 1, 10'000);
  s.boolean("metrics_require_auth", &c.metrics_require_auth);
  s.integer("threads", &c.threads, 0, 256);
  s.duration("read_timeout", &c.read_timeout, 100ms, 1h);
  s.duration("idle_timeout", &c.idle_timeout, 100ms, 24h);
  s.integer("max_connections", &c.max_connections, 1, 1'000'000);
}

void read_spool(Section& s, SpoolConfig& c) {
  if (const auto* n = s.get("path")) {
    c.path = read_string(s.key("path"), *n);
    if (c.path.empty()) fail(s.key("path"), *n, "must not be empty");
    if (c.path.find('\0') != std::string::npos) fail(s.key("path"), *n, "must not contain NUL");
  }
  s.duration("retention", &c.retention, 0s, 3650 * 24h);
  s.duration("lease_timeout", &c.lease_timeout, 1s, 7 * 24h);
  s.size("min_free_bytes", &c.min_free_bytes, 0, kTiB);
  s.size("map_size_max", &c.map_size_max, kMiB, 64 * kTiB);
  // Bounded above by map_size_max, which is read first for that reason.
  s.size("map_size_initial", &c.map_size_initial, kMiB, c.map_size_max);
  s.integer("group_commit_max_ops", &c.group_commit_max_ops, 1, 1'000'000);
  s.duration("purge_interval", &c.purge_interval, 100ms, 24h);
}

void read_retry(Section& s, RetryConfig& c) {
  if (const auto* n = s.get("schedule")) {
    const std::string key = s.key("schedule");
    const auto& a = read_array(key, *n, 16);
    c.schedule.clear();
    for (size_t i = 0; i < a.size(); ++i) {
      c.schedule.push_back(read_duration(indexed(key, i), *a.get(i), 100ms, 30 * 24h));
    }
  }
  s.number("jitter", &c.jitter, 0.0, 0.9);
}

void read_engine(Section& s, EngineConfig& c) {
  s.integer("max_active", &c.max_active, 1, 10'000'000);
  s.integer("max_ready_per_destination", &c.max_ready_per_destination, 1, 10'000'000);
  s.duration("ready_full_delay", &c.ready_full_delay, 10ms, 1h);
  s.integer("default_concurrency", &c.default_concurrency, 1, 10'000);
  s.integer("batch_size", &c.batch_size, 1, 10'000);
  s.duration("poll_interval", &c.poll_interval, 1ms, 1min);
  s.integer("lease_batch", &c.lease_batch, 1, 1'000'000);
  s.boolean("direct_lease", &c.direct_lease);
  s.duration("apply_linger", &c.apply_linger, 0ms, 1s);
  s.duration("shutdown_grace", &c.shutdown_grace, 0s, 1h);
}

void read_log(Section& s, LogConfig& c) {
  if (const auto* n = s.get("level")) {
    c.level = read_string(s.key("level"), *n);
    log::Level l;
    if (!log::parse_level(c.level, &l) || l == log::Level::kFatal) {
      fail(s.key("level"), *n,
           fmt::format("unknown level \"{}\" (expected debug, info, warn or error)", c.level));
    }
  }
  s.str("file", &c.file);
}

void check_url_base(Section& s, std::string_view k, const std::string& v) {
  if (v.empty()) return;
  if (v.rfind("https://", 0) != 0 && v.rfind("http://", 0) != 0) {
    fail(s.key(k), *s.get(k), fmt::format("\"{}\" must start with https:// (or http://)", v));
  }
}

void check_header_name(Section& s, std::string_view k, const std::string& v) {
  if (!valid_header_name(v)) fail(s.key(k), *s.get(k), "must be a header name (printable ASCII, no ':' or spaces)");
}

void read_email(Section& s, EmailConfig& c) {
  s.str("message_id_domain", &c.message_id_domain);
  if (s.get("trace_header")) {
    s.str("trace_header", &c.trace_header);
    check_header_name(s, "trace_header", c.trace_header);
  }
  s.str("feedback_id_sender", &c.feedback_id_sender);
  if (c.feedback_id_sender.find(':') != std::string::npos) {
    fail(s.key("feedback_id_sender"), *s.get("feedback_id_sender"), "must not contain ':'");
  }
  read_strings(s, "bulk_categories", &c.bulk_categories, 1000);
  s.str("unsubscribe_url", &c.unsubscribe_url);
  // RFC 8058: the one-click URI is HTTPS; mailbox providers ignore others.
  if (!c.unsubscribe_url.empty() && c.unsubscribe_url.rfind("https://", 0) != 0) {
    fail(s.key("unsubscribe_url"), *s.get("unsubscribe_url"),
         fmt::format("\"{}\" must start with https:// (RFC 8058 one-click needs HTTPS)",
                     c.unsubscribe_url));
  }
  s.str("unsubscribe_mailto", &c.unsubscribe_mailto);
  if (!c.unsubscribe_mailto.empty() && c.unsubscribe_mailto.find('@') == std::string::npos) {
    fail(s.key("unsubscribe_mailto"), *s.get("unsubscribe_mailto"), "must be an email address");
  }
  s.str("token_secret", &c.token_secret);
  if (!c.token_secret.empty() && c.token_secret.size() < 32) {
    fail(s.key("token_secret"), *s.get("token_secret"), "must be at least 32 characters");
  }
  s.str("click_url", &c.click_url);
  check_url_base(s, "click_url", c.click_url);
  s.str("open_url", &c.open_url);
  check_url_base(s, "open_url", c.open_url);
  read_strings(s, "track_click_categories", &c.track_click_categories, 1000);
  read_strings(s, "track_open_categories", &c.track_open_categories, 1000);
  s.integer("max_sms_segments", &c.max_sms_segments, 1, 255);
}

void read_tenants(const std::string& key, const toml::node& n, std::vector<TenantConfig>& out) {
  std::set<std::string, std::less<>> ids;
  std::map<std::string, std::string, std::less<>> key_owner;  // API key -> tenant id
  for_each_table(key, n, 10'000, [&](Section& t, size_t) {
    TenantConfig tenant;
    tenant.id = t.required_str("id");
    const auto* id_node = t.get("id");
    if (!valid_tenant_id(tenant.id)) {
      fail(t.key("id"), *id_node, "must be 1 to 64 characters of a-z, 0-9, '_' and '-'");
    }
    if (!ids.insert(tenant.id).second) {
      fail(t.key("id"), *id_node, fmt::format("duplicate tenant id \"{}\"", tenant.id));
    }
    if (const auto* keys = t.get("keys")) {
      for_each_table(t.key("keys"), *keys, 1000, [&](Section& k, size_t) {
        ApiKey api_key;
        api_key.key = k.required_str("key");
        const auto* key_node = k.get("key");
        if (api_key.key.size() < 16 || api_key.key.size() > 256) {
          fail(k.key("key"), *key_node, "must be 16 to 256 characters");
        }
        if (!std::all_of(api_key.key.begin(), api_key.key.end(),
                         [](char c) { return c > 0x20 && c < 0x7f; })) {
          fail(k.key("key"), *key_node, "must be printable ASCII without spaces");
        }
        // Two tenants sharing a key would make the key's tenant ambiguous.
        if (auto [it, inserted] = key_owner.emplace(api_key.key, tenant.id); !inserted) {
          fail(k.key("key"), *key_node,
               fmt::format("duplicate key (already used by tenant \"{}\")", it->second));
        }
        if (const auto* role = k.get("role")) {
          const std::string name = read_string(k.key("role"), *role);
          if (name == "sender") {
            api_key.role = Role::kSender;
          } else if (name == "admin") {
            api_key.role = Role::kAdmin;
          } else {
            fail(k.key("role"), *role,
                 fmt::format("unknown role \"{}\" (expected sender or admin)", name));
          }
        }
        tenant.keys.push_back(std::move(api_key));
      });
    }
    out.push_back(std::move(tenant));
  });
}

void read_sink(Section& s, SinkConfig& c) {
  s.boolean("enabled", &c.enabled);
  if (const auto* n = s.get("channels")) {
    const std::string key = s.key("channels");
    const auto& a = read_array(key, *n, std::size(kAllChannels));
    if (a.empty()) fail(key, *n, "must name at least one channel");
    c.channels.clear();
    for (size_t i = 0; i < a.size(); ++i) {
      const Channel ch = read_channel(indexed(key, i), *a.get(i));
      if (std::find(c.channels.begin(), c.channels.end(), ch) != c.channels.end()) {
        fail(indexed(key, i), *a.get(i), fmt::format("duplicate channel \"{}\"", channel_name(ch)));
      }
      c.channels.push_back(ch);
    }
  }
  if (const auto* n = s.get("default_reply")) {
    c.default_reply = read_string(s.key("default_reply"), *n);
    check_reply(s.key("default_reply"), *n, c.default_reply);
  }
  s.duration("latency", &c.latency, 0s, 1min);
  if (const auto* n = s.get("rules")) {
    c.rules.clear();
    for_each_table(s.key("rules"), *n, 1000, [&](Section& r, size_t) {
      SinkRule rule;
      rule.match = r.required_str("match");
      try {
        // Compiled here only to refuse a bad pattern at load; the transport
        // compiles its own copy.
        std::regex re(rule.match, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        fail(r.key("match"), *r.get("match"),
             fmt::format("invalid regular expression \"{}\": {}", rule.match, e.what()));
      }
      rule.reply = r.required_str("reply");
      check_reply(r.key("reply"), *r.get("reply"), rule.reply);
      r.integer("first_attempts", &rule.first_attempts, 0, 1000);
      c.rules.push_back(std::move(rule));
    });
  }
}

void read_transports(Section& s, TransportsConfig& c) {
  if (const auto* t = s.table("sink")) {
    Section sink(*t, s.key("sink"));
    read_sink(sink, c.sink);
    sink.finish();
  }
}

// Reads one top-level [section] with `fn` if present.
template <class Fn>
void section(Section& root, std::string_view name, Fn&& fn) {
  if (const auto* t = root.table(name)) {
    Section s(*t, std::string(name));
    fn(s);
    s.finish();
  }
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = s.substr(0, colon);
  const std::string_view port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int port_number = std::stoi(std::string(port));
  if (port_number > 65535) return std::nullopt;

  HostPort out;
  out.port = static_cast<uint16_t>(port_number);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    out.host = std::string(host.substr(1, host.size() - 2));
    in6_addr a6;
    if (inet_pton(AF_INET6, out.host.c_str(), &a6) != 1) return std::nullopt;
    out.is_ipv6 = true;
    return out;
  }
  if (host.empty() || host.size() > 253) return std::nullopt;
  out.host = std::string(host);
  // All digits and dots: it must be a real IPv4 address, not "300.1.1.1".
  if (std::all_of(host.begin(), host.end(),
                  [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    in_addr a4;
    return inet_pton(AF_INET, out.host.c_str(), &a4) == 1 ? std::optional(out) : std::nullopt;
  }
  // Otherwise a DNS name: labels of letters, digits and '-', not at the ends.
  if (!config_detail::valid_host_name(host)) return std::nullopt;
  return out;
}

std::shared_ptr<const Config> load_config_string(std::string_view text, const std::string& source) {
  const toml::table root_table = parse_document(text, source);

  auto config = std::make_shared<Config>();
  config->source = source;
  Section root(root_table, "");
  section(root, "api", [&](Section& s) { read_api(s, config->api); });
  section(root, "spool", [&](Section& s) { read_spool(s, config->spool); });
  section(root, "retry", [&](Section& s) { read_retry(s, config->retry); });
  section(root, "engine", [&](Section& s) { read_engine(s, config->engine); });
  section(root, "log", [&](Section& s) { read_log(s, config->log); });
  section(root, "transports", [&](Section& s) { read_transports(s, config->transports); });
  section(root, "email", [&](Section& s) { read_email(s, config->email); });
  if (const auto* n = root.get("tenants")) read_tenants("tenants", *n, config->tenants);
  // The MTA sections come after [[tenants]] (wherever those stand in the
  // file) because the listener's tenants are checked against them.
  section(root, "dns", [&](Section& s) { read_dns(s, config->dns); });
  section(root, "smtp", [&](Section& s) { read_smtp(s, config->smtp); });
  section(root, "listener",
          [&](Section& s) { read_listener(s, config->listener, config->tenants); });
  section(root, "accounting", [&](Section& s) { read_accounting(s, config->accounting); });
  section(root, "inbound", [&](Section& s) { read_inbound(s, config->inbound); });
  section(root, "bounces", [&](Section& s) { read_bounces(s, config->bounces); });
  section(root, "throttle", [&](Section& s) { read_throttle(s, config->throttle); });
  section(root, "dkim", [&](Section& s) { read_dkim(s, config->dkim, config->retry); });
  section(root, "http", [&](Section& s) { read_http(s, config->http); });
  read_channels(root_table, root, *config);
  root.finish();
  // [throttle.default]'s unset rates get their defaults, and the built-in
  // provider rules go after the configured ones (config_throttle.cpp).
  complete_throttle(config->throttle);
  complete_inbound(*config);
  // An enabled listener that nobody may use is a mistake, not a policy.
  const ListenerConfig& l = config->listener;
  if (l.enabled && l.networks.empty() && l.users.empty() && config->inbound.domains.empty() &&
      config->inbound.addresses.empty()) {
    throw ConfigError("listener.enabled",
                      "the listener accepts mail from nobody: set listener.networks, "
                      "[[listener.users]] or [inbound]");
  }
  // Clients of listener.networks relay as the first configured tenant when
  // the file names none (a config-less start has only "default").
  if (config->listener.network_tenant.empty() && !config->tenants.empty())
    config->listener.network_tenant = config->tenants.front().id;
  return config;
}

std::shared_ptr<const Config> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("", fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    throw ConfigError("", fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  return load_config_string(text.str(), path);
}

std::shared_ptr<const Config> default_config() {
  static const std::shared_ptr<const Config> config = [] {
    auto c = std::make_shared<Config>();
    complete_throttle(c->throttle);  // as for an empty file
    return c;
  }();
  return config;
}

std::string_view role_name(Role r) noexcept {
  switch (r) {
    case Role::kSender:
      return "sender";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

}  // namespace core
