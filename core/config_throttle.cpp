// core/config_throttle.cpp: the [throttle] section of the configuration —
// [throttle.default], [[throttle.rules]] and [[throttle.backoff]] — and the
// built-in provider rules, which are TOML text read by the same code.
//
// Same rules as config.cpp and config_mta.cpp (whose reading kit,
// config_read.h, this uses): unknown keys refused at every level, every
// error naming the dotted key, ranges inclusive and stated in the message.
// Domains and MX suffixes are lower-cased while they are read, so the
// engine compares one spelling only. Backoff patterns are compiled here, so
// a bad regular expression fails the start or the reload, not the first
// matching reply.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "core/config.h"
#include "core/config_read.h"
#include "core/time_format.h"

namespace core {
namespace config_detail {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMaxRateCount = 1'000'000'000;
constexpr std::string_view kRateSyntax =
    "N/s, N/min or N/h with N from 1 to 1000000000, e.g. \"100/s\", \"10/min\", \"2000/h\"; "
    "or \"unlimited\"";

enum class RateParse : uint8_t { kOk, kSyntax, kRange };

// parse_rate() with the reason of a refusal, for the message.
RateParse parse_rate_detail(std::string_view s, Rate* out) noexcept {
  if (s == "unlimited") {
    *out = Rate{};
    return RateParse::kOk;
  }
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return RateParse::kSyntax;
  const std::string_view digits = s.substr(0, slash);
  const std::string_view unit = s.substr(slash + 1);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return RateParse::kSyntax;
  }
  Duration per;
  if (unit == "s" || unit == "sec") {
    per = 1s;
  } else if (unit == "m" || unit == "min") {
    per = 1min;
  } else if (unit == "h" || unit == "hour") {
    per = 1h;
  } else {
    return RateParse::kSyntax;
  }
  // Leading zeros may make a small number long; only the value counts.
  const size_t first = std::min(digits.find_first_not_of('0'), digits.size());
  if (digits.size() - first > 10) return RateParse::kRange;
  int64_t count = 0;
  for (char c : digits.substr(first)) count = count * 10 + (c - '0');
  if (count < 1 || count > kMaxRateCount) return RateParse::kRange;
  *out = Rate{static_cast<uint32_t>(count), per};
  return RateParse::kOk;
}

// A rate: a string for parse_rate(), or a bare integer, per second.
Rate read_rate(const std::string& key, const toml::node& n) {
  if (const auto* i = n.as_integer()) {
    if (i->get() < 1 || i->get() > kMaxRateCount) {
      fail(key, n,
           fmt::format("must be between 1 and {} (a bare number is per second; or a string: {})",
                       kMaxRateCount, kRateSyntax));
    }
    return Rate{static_cast<uint32_t>(i->get()), 1s};
  }
  const auto* v = n.as_string();
  if (!v) fail(key, n, fmt::format("expected a rate ({})", kRateSyntax));
  Rate r;
  switch (parse_rate_detail(v->get(), &r)) {
    case RateParse::kOk:
      break;
    case RateParse::kSyntax:
      fail(key, n, fmt::format("\"{}\" is not a rate ({})", v->get(), kRateSyntax));
    case RateParse::kRange:
      fail(key, n,
           fmt::format("\"{}\": the count must be between 1 and {}", v->get(), kMaxRateCount));
  }
  return r;
}

// Rule and backoff names: [a-z0-9_.-]{1,64}.
void check_name(const std::string& key, const toml::node& n, const std::string& name) {
  const bool ok =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
      });
  if (!ok) fail(key, n, "must be 1 to 64 characters of a-z, 0-9, '_', '.' and '-'");
}

// ASCII lower case of `s`; nullopt if it has a byte outside ASCII.
std::optional<std::string> ascii_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

// A `domains` entry: "example.com" (that domain) or ".example.com" (its
// subdomains), ASCII (A-labels), lower-cased.
std::string read_rule_domain(const std::string& key, const toml::node& n) {
  const std::string v = read_string(key, n);
  if (v == "*") {
    fail(key, n,
         "\"*\" is not allowed: the limits of every domain no rule matches are "
         "[throttle.default]");
  }
  const auto lower = ascii_lower(v);
  if (!lower) {
    fail(key, n,
         fmt::format("\"{}\" is not ASCII: write an internationalised domain in A-labels "
                     "(\"xn--e1afmkfd.xn--p1ai\", not \"пример.рф\")",
                     v));
  }
  const std::string_view name =
      !lower->empty() && lower->front() == '.' ? std::string_view(*lower).substr(1) : *lower;
  if (!valid_host_name(name)) {
    fail(key, n,
         fmt::format("\"{}\" is not a domain (expected \"example.com\", or \".example.com\" for "
                     "its subdomains)",
                     v));
  }
  return *lower;
}

// An `mx_suffixes` entry: '.' and a host name (".google.com"), ASCII,
// lower-cased.
std::string read_mx_suffix(const std::string& key, const toml::node& n) {
  const std::string v = read_string(key, n);
  const auto lower = ascii_lower(v);
  if (!lower) {
    fail(key, n,
         fmt::format("\"{}\" is not ASCII: write an internationalised name in A-labels (xn--...)",
                     v));
  }
  if (lower->empty() || lower->front() != '.') {
    fail(key, n,
         fmt::format("\"{}\" must start with '.' (\".google.com\" matches "
                     "\"gmail-smtp-in.l.google.com\")",
                     v));
  }
  if (!valid_host_name(std::string_view(*lower).substr(1))) {
    fail(key, n,
         fmt::format("\"{}\" is not a host name suffix (expected '.' and a host name, e.g. "
                     "\".google.com\")",
                     v));
  }
  return *lower;
}

// The limit keys, shared by [throttle.default] and [[throttle.rules]].
// Absent keys stay unset (inherited).
void read_limits(Section& s, ThrottleLimits& l) {
  // Same ranges as smtp.max_connections and smtp.max_messages_per_connection.
  if (const auto* n = s.get("connections")) {
    l.connections = static_cast<uint32_t>(read_integer(s.key("connections"), *n, 1, 10'000));
  }
  if (const auto* n = s.get("messages_per_connection")) {
    l.messages_per_connection =
        static_cast<uint32_t>(read_integer(s.key("messages_per_connection"), *n, 1, 100'000));
  }
  if (const auto* n = s.get("rate")) l.rate = read_rate(s.key("rate"), *n);
  if (const auto* n = s.get("burst")) {
    l.burst = static_cast<uint32_t>(read_integer(s.key("burst"), *n, 1, kMaxRateCount));
  }
  if (const auto* n = s.get("connection_rate")) {
    l.connection_rate = read_rate(s.key("connection_rate"), *n);
  }
}

// Where each domain and MX suffix of the rules read so far is: a second
// rule with the same entry would never match it (the first match wins).
struct RuleEntries {
  std::map<std::string, std::string, std::less<>> domains;      // entry -> rule name
  std::map<std::string, std::string, std::less<>> mx_suffixes;  // entry -> rule name
};

void read_entries(Section& r, std::string_view k, std::string_view what, const std::string& rule,
                  std::map<std::string, std::string, std::less<>>& seen,
                  std::vector<std::string>* out,
                  std::string (*read_one)(const std::string&, const toml::node&)) {
  const auto* n = r.get(k);
  if (!n) return;
  const std::string key = r.key(k);
  const auto& a = read_array(key, *n, 10'000);
  for (size_t i = 0; i < a.size(); ++i) {
    std::string v = read_one(indexed(key, i), *a.get(i));
    if (auto [it, inserted] = seen.emplace(v, rule); !inserted) {
      if (it->second == rule) {
        fail(indexed(key, i), *a.get(i), fmt::format("duplicate {} \"{}\"", what, v));
      }
      fail(indexed(key, i), *a.get(i),
           fmt::format("duplicate {} \"{}\" (already in rule \"{}\", which is tried first)", what,
                       v, it->second));
    }
    out->push_back(std::move(v));
  }
}

void read_rule(Section& r, ThrottleRule& rule, std::set<std::string, std::less<>>& names,
               RuleEntries& entries) {
  rule.name = r.required_str("name");
  check_name(r.key("name"), *r.get("name"), rule.name);
  if (!names.insert(rule.name).second) {
    fail(r.key("name"), *r.get("name"), fmt::format("duplicate rule name \"{}\"", rule.name));
  }
  read_entries(r, "domains", "domain", rule.name, entries.domains, &rule.domains, read_rule_domain);
  read_entries(r, "mx_suffixes", "MX suffix", rule.name, entries.mx_suffixes, &rule.mx_suffixes,
               read_mx_suffix);
  if (const auto* n = r.get("channels")) {
    const std::string key = r.key("channels");
    const auto& a = read_array(key, *n, 6);
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string v = read_string(indexed(key, i), *a.get(i));
      const auto c = parse_channel(v);
      if (!c) {
        fail(indexed(key, i), *a.get(i),
             fmt::format("unknown channel \"{}\" (email, telegram, viber, vk, whatsapp, sms)", v));
      }
      if (std::find(rule.channels.begin(), rule.channels.end(), *c) != rule.channels.end()) {
        fail(indexed(key, i), *a.get(i), fmt::format("duplicate channel \"{}\"", v));
      }
      rule.channels.push_back(*c);
    }
  }
  if (rule.domains.empty() && rule.mx_suffixes.empty() && rule.channels.empty()) {
    const auto* n = r.get("domains");
    throw ConfigError(r.key("domains"),
                      "a rule needs domains, mx_suffixes or channels: one that matches "
                      "nothing never applies" +
                          where(n ? *n : static_cast<const toml::node&>(r.node())));
  }
  if (const auto* n = r.get("shared")) rule.shared = read_bool(r.key("shared"), *n);
  read_limits(r, rule.limits);
}

BackoffAction read_action(const std::string& key, const toml::node& n) {
  const std::string v = read_string(key, n);
  if (v == "suspend") return BackoffAction::kSuspend;
  if (v == "rate") return BackoffAction::kRate;
  if (v == "connections") return BackoffAction::kConnections;
  fail(key, n, fmt::format("unknown action \"{}\" (expected suspend, rate or connections)", v));
}

std::string_view action_name(BackoffAction a) {
  switch (a) {
    case BackoffAction::kSuspend:
      return "suspend";
    case BackoffAction::kRate:
      return "rate";
    case BackoffAction::kConnections:
      return "connections";
  }
  return "unknown";
}

void read_backoff(Section& b, BackoffRule& rule, std::set<std::string, std::less<>>& names) {
  rule.name = b.required_str("name");
  check_name(b.key("name"), *b.get("name"), rule.name);
  if (!names.insert(rule.name).second) {
    fail(b.key("name"), *b.get("name"), fmt::format("duplicate backoff name \"{}\"", rule.name));
  }

  rule.match = b.required_str("match");
  const auto* match_node = b.get("match");
  if (rule.match.empty()) fail(b.key("match"), *match_node, "must not be empty");
  if (rule.match.size() > 1000) fail(b.key("match"), *match_node, "at most 1000 characters");
  try {
    // Compiled here only to refuse a bad pattern at load; the engine
    // compiles its own copy, with the same flags.
    std::regex re(rule.match, std::regex::ECMAScript | std::regex::icase);
  } catch (const std::regex_error& e) {
    fail(b.key("match"), *match_node,
         fmt::format("invalid regular expression \"{}\": {}", rule.match, e.what()));
  }

  // Required: a pattern that does not say what it does is a mistake.
  b.required_str("action");
  rule.action = read_action(b.key("action"), *b.get("action"));
  const auto only_for = [&](BackoffAction a) {
    return fmt::format("is only for action = \"{}\" (this rule's action is \"{}\")", action_name(a),
                       action_name(rule.action));
  };
  const auto required_with = [&](BackoffAction a) {
    return fmt::format("is required with action = \"{}\"", action_name(a)) + where(b.node());
  };

  if (const auto* n = b.get("rate")) {
    if (rule.action != BackoffAction::kRate)
      fail(b.key("rate"), *n, only_for(BackoffAction::kRate));
    rule.rate = read_rate(b.key("rate"), *n);
    if (rule.rate.unlimited()) {
      fail(b.key("rate"), *n,
           "must not be \"unlimited\" (it is the lowered rate; to stop sending use action = "
           "\"suspend\")");
    }
  } else if (rule.action == BackoffAction::kRate) {
    throw ConfigError(b.key("rate"), required_with(BackoffAction::kRate));
  }

  if (const auto* n = b.get("connections")) {
    if (rule.action != BackoffAction::kConnections) {
      fail(b.key("connections"), *n, only_for(BackoffAction::kConnections));
    }
    rule.connections = static_cast<uint32_t>(read_integer(b.key("connections"), *n, 1, 10'000));
  } else if (rule.action == BackoffAction::kConnections) {
    throw ConfigError(b.key("connections"), required_with(BackoffAction::kConnections));
  }

  b.duration("duration", &rule.duration, 1s, 7 * 24h);
  b.integer("threshold", &rule.threshold, 1, 100'000);
  b.duration("window", &rule.window, 1s, 7 * 24h);
}

// The built-in provider rules (ThrottleConfig::builtin_rules), as data:
// the content of a [throttle] table, read by read_throttle() like a file.
// Source: ../shared/reference/deliverability.md §6 (KumoMTA's
// shaping.toml limits and automation rules). Provider numbers change:
// this is a starting configuration; an operator replaces an entry by
// configuring one with the same name, or drops them all with
// builtin_rules = false.
//
// What §6 has that one entry here cannot say:
// - default automation: KumoMTA sets max_message_rate=1/minute AND
//   connection_limit=1. A backoff rule has one action; at one message a
//   minute a second connection is practically never needed, so only the
//   rate is kept ("deferred").
// - Google "TLS Required": not a throttle setting (smtp.tls_policies).
// - Outlook "exceeded maximum number of messages per connection" -> 2
//   messages per connection: there is no such backoff action.
// - Outlook "Server busy" -> "1/minute or Suspend": the rate.
// - Comcast RL0000 -> max_connection_rate=10000/h: a connection-rate
//   change, which is not a backoff action either; left out.
// Where §6 gives no duration it is 1h; no trigger means the first match
// (threshold 1). The IP address in the default patterns is written so that
// IPv6 and bracketed addresses match too.
constexpr std::string_view kBuiltinThrottle = R"toml(
# Limits (§6 "Limits"). MX suffixes match the host name of the first MX.
[[rules]]
name = "google"
mx_suffixes = [".google.com", ".googlemail.com"]
connections = 5
messages_per_connection = 50

[[rules]]
name = "yahoo"
mx_suffixes = [".yahoodns.net"]
messages_per_connection = 20

[[rules]]
name = "microsoft"
mx_suffixes = [".outlook.com", ".mx.microsoft", ".protection.outlook.com"]
connections = 5
messages_per_connection = 50

[[rules]]
name = "apple"
mx_suffixes = [".icloud.com", ".me.com"]
connections = 10
messages_per_connection = 5

[[rules]]
name = "yahoo-co-jp"
domains = ["yahoo.co.jp"]
connections = 2
rate = "10/s"
messages_per_connection = 20

# Messenger providers (channels.md): a limit per bot, token or number, i.e.
# per destination ("telegram:<bot>"). Configured rules with the account
# names in `domains` come first.
[[rules]]
name = "telegram-bot"
channels = ["telegram"]
rate = "30/s"

[[rules]]
name = "vk-community"
channels = ["vk"]
rate = "20/s"

[[rules]]
name = "whatsapp-number"
channels = ["whatsapp"]
rate = "80/s"

# Backoff (§6 "KumoMTA automation"). Gmail:
[[backoff]]
name = "gmail-unusual-rate"
match = 'Our system has detected an unusual rate'
action = "rate"
rate = "10/min"
duration = "30m"
threshold = 2
window = "1h"

[[backoff]]
name = "gmail-detected-message"
match = 'detected that this message'
action = "suspend"
duration = "1h"
threshold = 5
window = "1h"

# Yahoo:
[[backoff]]
name = "yahoo-ts02"
match = '\[TS02\]'
action = "rate"
rate = "1/min"
duration = "1h"

[[backoff]]
name = "yahoo-ts03"
match = '\[TS03\]'
action = "rate"
rate = "10/min"
duration = "1h"
threshold = 3
window = "1h"

[[backoff]]
name = "yahoo-tss04"
match = '421 4\.7\.0 \[TSS04\]'
action = "suspend"
duration = "2h"

[[backoff]]
name = "yahoo-tss05"
match = '\[TSS05\]'
action = "suspend"
duration = "4h"
threshold = 2
window = "1h"

[[backoff]]
name = "yahoo-blocklist"
match = '553 5\.7\.1 \[BL'
action = "suspend"
duration = "1h"

[[backoff]]
name = "yahoo-max-messages"
match = 'Max message per connection reached'
action = "rate"
rate = "10/min"
duration = "1h"

# Outlook:
[[backoff]]
name = "outlook-connections"
match = 'exceeded the maximum number of connections'
action = "connections"
connections = 1
duration = "1h"

[[backoff]]
name = "outlook-server-busy"
match = 'Server busy'
action = "rate"
rate = "1/min"
duration = "1h"

# Any provider (KumoMTA's "default" automation):
[[backoff]]
name = "deferred"
match = 'Messages from \[?[0-9a-f.:]+\]? temporarily deferred|will be permanently deferred|has been temporarily rate limited due to IP reputation|Unfortunately, messages from \[?[0-9a-f.:]+\]? weren.t sent|Server busy\. Please try again later from'
action = "rate"
rate = "1/min"
duration = "90m"
)toml";

}  // namespace

void read_throttle(Section& s, ThrottleConfig& c) {
  s.duration("recovery_step", &c.recovery_step, 1s, 24h);
  s.boolean("builtin_rules", &c.builtin_rules);
  if (const auto* t = s.table("default")) {
    Section d(*t, s.key("default"));
    read_limits(d, c.defaults);
    d.finish();
  }
  if (const auto* n = s.get("rules")) {
    c.rules.clear();
    std::set<std::string, std::less<>> names;
    RuleEntries entries;
    for_each_table(s.key("rules"), *n, 10'000, [&](Section& r, size_t) {
      ThrottleRule rule;
      read_rule(r, rule, names, entries);
      c.rules.push_back(std::move(rule));
    });
  }
  if (const auto* n = s.get("backoff")) {
    c.backoff.clear();
    std::set<std::string, std::less<>> names;
    for_each_table(s.key("backoff"), *n, 1'000, [&](Section& b, size_t) {
      BackoffRule rule;
      read_backoff(b, rule, names);
      c.backoff.push_back(std::move(rule));
    });
  }
}

void complete_throttle(ThrottleConfig& c) {
  // deliverability.md §6, "default": max_message_rate=100/s,
  // max_connection_rate=100/min. connections and messages_per_connection
  // stay unset: they come from smtp.max_connections and
  // smtp.max_messages_per_connection, whose defaults are §6's 10 and 100.
  if (!c.defaults.rate) c.defaults.rate = Rate{100, 1s};
  if (!c.defaults.connection_rate) c.defaults.connection_rate = Rate{100, 1min};
  if (!c.builtin_rules) return;
  const ThrottleConfig& builtin = builtin_throttle_rules();
  std::set<std::string, std::less<>> rule_names;
  for (const auto& r : c.rules) rule_names.insert(r.name);
  for (const auto& r : builtin.rules) {
    if (!rule_names.contains(r.name)) c.rules.push_back(r);
  }
  std::set<std::string, std::less<>> backoff_names;
  for (const auto& b : c.backoff) backoff_names.insert(b.name);
  for (const auto& b : builtin.backoff) {
    if (!backoff_names.contains(b.name)) c.backoff.push_back(b);
  }
}

}  // namespace config_detail

std::optional<Rate> parse_rate(std::string_view s) noexcept {
  Rate r;
  if (config_detail::parse_rate_detail(s, &r) != config_detail::RateParse::kOk) return std::nullopt;
  return r;
}

std::string format_rate(const Rate& r) {
  using namespace std::chrono_literals;
  if (r.unlimited()) return "unlimited";
  if (r.per == 1s) return fmt::format("{}/s", r.count);
  if (r.per == 1min) return fmt::format("{}/min", r.count);
  if (r.per == 1h) return fmt::format("{}/h", r.count);
  return fmt::format("{}/{}", r.count, format_duration(r.per));
}

const ThrottleConfig& builtin_throttle_rules() {
  static const ThrottleConfig builtin = [] {
    const toml::table t =
        config_detail::parse_document(config_detail::kBuiltinThrottle, "<built-in throttle rules>");
    ThrottleConfig c;
    config_detail::Section s(t, "throttle");
    config_detail::read_throttle(s, c);
    s.finish();
    c.builtin_rules = false;  // nothing further to append
    return c;
  }();
  return builtin;
}

ThrottleConfig parse_throttle_toml(std::string_view toml_text, const std::string& source) {
  const toml::table doc = config_detail::parse_document(toml_text, source);
  // A fragment copied from the config file ([throttle], [throttle.default],
  // [[throttle.rules]] ...) is the same table one level down.
  const toml::table* t = &doc;
  if (doc.size() == 1 && doc.contains("throttle") && doc.get("throttle")->is_table())
    t = doc.get("throttle")->as_table();
  ThrottleConfig c;
  config_detail::Section s(*t, "throttle");
  config_detail::read_throttle(s, c);
  s.finish();
  config_detail::complete_throttle(c);
  return c;
}

}  // namespace core
