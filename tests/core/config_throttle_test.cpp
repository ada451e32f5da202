// tests/core/config_throttle_test.cpp: core/config_throttle.cpp —
// [throttle], [throttle.default], [[throttle.rules]], [[throttle.backoff]]:
// defaults, a full section, rates, the built-in provider rules and their
// override by name, parse_throttle_toml(), and every validation rule naming
// its key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "core/config.h"

namespace core {
namespace {

using namespace std::chrono_literals;

std::string source_dir() {
  if (const char* env = std::getenv("VESTNIK_SOURCE_DIR"); env && *env) return env;
  return VESTNIK_SOURCE_DIR;
}

// The message of the ConfigError that loading `toml` throws, or "" if none.
std::string load_error(const std::string& toml) {
  try {
    load_config_string(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> rule_names(const ThrottleConfig& c) {
  std::vector<std::string> out;
  for (const auto& r : c.rules) out.push_back(r.name);
  return out;
}

std::vector<std::string> backoff_names(const ThrottleConfig& c) {
  std::vector<std::string> out;
  for (const auto& b : c.backoff) out.push_back(b.name);
  return out;
}

const ThrottleRule* find_rule(const ThrottleConfig& c, std::string_view name) {
  for (const auto& r : c.rules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const BackoffRule* find_backoff(const ThrottleConfig& c, std::string_view name) {
  for (const auto& b : c.backoff) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

const std::vector<std::string> kBuiltinRules = {"google",       "yahoo",        "microsoft",
                                                "apple",        "yahoo-co-jp",  "telegram-bot",
                                                "vk-community", "whatsapp-number"};
const std::vector<std::string> kBuiltinBackoff = {"gmail-unusual-rate",
                                                  "gmail-detected-message",
                                                  "yahoo-ts02",
                                                  "yahoo-ts03",
                                                  "yahoo-tss04",
                                                  "yahoo-tss05",
                                                  "yahoo-blocklist",
                                                  "yahoo-max-messages",
                                                  "outlook-connections",
                                                  "outlook-server-busy",
                                                  "deferred"};

TEST(ConfigThrottleTest, AbsentSectionGivesTheDefaults) {
  for (const auto& c :
       {load_config_string(""), load_config_string("[throttle]\n"), default_config()}) {
    const auto& t = c->throttle;
    EXPECT_EQ(t.recovery_step, Duration(5min));
    EXPECT_TRUE(t.builtin_rules);
    // §6 "default": connections and messages per connection come from
    // [smtp]; the rates are set here.
    EXPECT_FALSE(t.defaults.connections);
    EXPECT_FALSE(t.defaults.messages_per_connection);
    EXPECT_EQ(t.defaults.rate, (Rate{100, 1s}));
    EXPECT_FALSE(t.defaults.burst);
    EXPECT_EQ(t.defaults.connection_rate, (Rate{100, 1min}));
    EXPECT_EQ(rule_names(t), kBuiltinRules);
    EXPECT_EQ(backoff_names(t), kBuiltinBackoff);
  }
}

TEST(ConfigThrottleTest, RulesMayBeLimitedToChannels) {
  const auto c = load_config_string(R"(
[[throttle.rules]]
name = "school-bot"
channels = ["telegram"]
domains = ["school"]
rate = "5/s"

[[throttle.rules]]
name = "all-viber"
channels = ["viber"]
rate = "10/s"
)");
  ASSERT_GE(c->throttle.rules.size(), 2u);
  EXPECT_EQ(c->throttle.rules[0].channels, std::vector<Channel>{Channel::kTelegram});
  EXPECT_EQ(c->throttle.rules[1].channels, std::vector<Channel>{Channel::kViber});
  EXPECT_TRUE(c->throttle.rules[1].domains.empty());
  EXPECT_NE(load_error("[[throttle.rules]]\nname = \"x\"\nchannels = [\"fax\"]\n")
                .find("throttle.rules[0].channels[0]: unknown channel"),
            std::string::npos);
  EXPECT_NE(load_error("[[throttle.rules]]\nname = \"x\"\nchannels = [\"vk\", \"vk\"]\n")
                .find("throttle.rules[0].channels[1]: duplicate channel"),
            std::string::npos);
  EXPECT_NE(load_error("[[throttle.rules]]\nname = \"x\"\nrate = \"1/s\"\n")
                .find("throttle.rules[0].domains: a rule needs domains, mx_suffixes or channels"),
            std::string::npos);
}

TEST(ConfigThrottleTest, ReadsAFullSection) {
  const auto c = load_config_string(R"(
[throttle]
recovery_step = "10m"
builtin_rules = false

[throttle.default]
connections = 8
messages_per_connection = 200
rate = "50/s"
burst = 70
connection_rate = "20/min"

[[throttle.rules]]
name = "google"
mx_suffixes = [".google.com", ".GoogleMail.com"]
domains = ["gmail.com", ".Example.org"]
shared = true
connections = 5
messages_per_connection = 50

[[throttle.rules]]
name = "tiny_isp.1"
domains = ["isp.example"]
shared = false
rate = 3
burst = 1
connection_rate = "unlimited"

[[throttle.backoff]]
name = "yahoo-tss04"
match = '421 4\.7\.0 \[TSS04\]'
action = "suspend"
duration = "2h"
threshold = 1
window = "1h"

[[throttle.backoff]]
name = "slow"
match = "try later"
action = "rate"
rate = "1/min"
duration = "30m"
threshold = 3
window = "10m"

[[throttle.backoff]]
name = "conns"
match = "too many connections"
action = "connections"
connections = 2
)");
  const auto& t = c->throttle;
  EXPECT_EQ(t.recovery_step, Duration(10min));
  EXPECT_FALSE(t.builtin_rules);
  EXPECT_EQ(t.defaults.connections, 8u);
  EXPECT_EQ(t.defaults.messages_per_connection, 200u);
  EXPECT_EQ(t.defaults.rate, (Rate{50, 1s}));
  EXPECT_EQ(t.defaults.burst, 70u);
  EXPECT_EQ(t.defaults.connection_rate, (Rate{20, 1min}));

  ASSERT_EQ(t.rules.size(), 2u);  // no built-ins
  const auto& g = t.rules[0];
  EXPECT_EQ(g.name, "google");
  // Lower-cased.
  EXPECT_EQ(g.mx_suffixes, (std::vector<std::string>{".google.com", ".googlemail.com"}));
  EXPECT_EQ(g.domains, (std::vector<std::string>{"gmail.com", ".example.org"}));
  EXPECT_EQ(g.shared, true);
  EXPECT_EQ(g.limits.connections, 5u);
  EXPECT_EQ(g.limits.messages_per_connection, 50u);
  EXPECT_FALSE(g.limits.rate);
  EXPECT_FALSE(g.limits.burst);
  EXPECT_FALSE(g.limits.connection_rate);
  const auto& i = t.rules[1];
  EXPECT_EQ(i.name, "tiny_isp.1");
  EXPECT_EQ(i.domains, (std::vector<std::string>{"isp.example"}));
  EXPECT_TRUE(i.mx_suffixes.empty());
  EXPECT_EQ(i.shared, false);
  EXPECT_FALSE(i.limits.connections);
  EXPECT_EQ(i.limits.rate, (Rate{3, 1s}));  // a bare integer is per second
  EXPECT_EQ(i.limits.burst, 1u);
  ASSERT_TRUE(i.limits.connection_rate);
  EXPECT_TRUE(i.limits.connection_rate->unlimited());

  ASSERT_EQ(t.backoff.size(), 3u);
  const auto& b0 = t.backoff[0];
  EXPECT_EQ(b0.name, "yahoo-tss04");
  EXPECT_EQ(b0.match, R"(421 4\.7\.0 \[TSS04\])");
  EXPECT_EQ(b0.action, BackoffAction::kSuspend);
  EXPECT_EQ(b0.duration, Duration(2h));
  EXPECT_EQ(b0.threshold, 1u);
  EXPECT_EQ(b0.window, Duration(1h));
  const auto& b1 = t.backoff[1];
  EXPECT_EQ(b1.action, BackoffAction::kRate);
  EXPECT_EQ(b1.rate, (Rate{1, 1min}));
  EXPECT_EQ(b1.duration, Duration(30min));
  EXPECT_EQ(b1.threshold, 3u);
  EXPECT_EQ(b1.window, Duration(10min));
  const auto& b2 = t.backoff[2];
  EXPECT_EQ(b2.action, BackoffAction::kConnections);
  EXPECT_EQ(b2.connections, 2u);
  EXPECT_EQ(b2.duration, Duration(1h));  // defaults
  EXPECT_EQ(b2.threshold, 1u);
  EXPECT_EQ(b2.window, Duration(1h));
}

TEST(ConfigThrottleTest, ConfiguredDefaultKeysWin) {
  // An absent key gets §6's value, a configured one (unlimited too) stays.
  auto c = load_config_string("[throttle.default]\nrate = \"unlimited\"\n");
  EXPECT_EQ(c->throttle.defaults.rate, Rate{});
  EXPECT_EQ(c->throttle.defaults.connection_rate, (Rate{100, 1min}));
  c = load_config_string("[throttle.default]\nconnection_rate = \"5/h\"\n");
  EXPECT_EQ(c->throttle.defaults.rate, (Rate{100, 1s}));
  EXPECT_EQ(c->throttle.defaults.connection_rate, (Rate{5, 1h}));
  // Not tied to the built-in rules.
  c = load_config_string("[throttle]\nbuiltin_rules = false\n");
  EXPECT_EQ(c->throttle.defaults.rate, (Rate{100, 1s}));
  EXPECT_TRUE(c->throttle.rules.empty());
  EXPECT_TRUE(c->throttle.backoff.empty());
}

TEST(ConfigThrottleTest, ParsesRates) {
  const struct {
    std::string text;
    Rate rate;
  } good[] = {
      {"100/s", {100, 1s}},   {"100/sec", {100, 1s}},
      {"10/m", {10, 1min}},   {"10/min", {10, 1min}},
      {"2000/h", {2000, 1h}}, {"2000/hour", {2000, 1h}},
      {"1/s", {1, 1s}},       {"1000000000/s", {1'000'000'000, 1s}},
      {"007/min", {7, 1min}}, {"0000000000001/h", {1, 1h}},
      {"unlimited", {0, 1s}},
  };
  for (const auto& g : good) {
    const auto r = parse_rate(g.text);
    ASSERT_TRUE(r) << g.text;
    EXPECT_EQ(*r, g.rate) << g.text;
    // And through the config reader.
    const auto c = load_config_string("throttle.default.rate = \"" + g.text + "\"");
    EXPECT_EQ(c->throttle.defaults.rate, g.rate) << g.text;
  }
  for (std::string bad :
       {"",        "0/s",       "1000000001/s", "99999999999/s", "100",   "100/",   "/s",
        "x/s",     "-1/s",      "+1/s",         "1.5/s",         "1e3/s", "100/S",  "100/Min",
        "100/ s",  " 100/s",    "100/s ",       "100 /s",        "100/d", "100/ms", "100/minute",
        "100/s/s", "Unlimited", "infinite",     "100/1s"}) {
    EXPECT_FALSE(parse_rate(bad)) << bad;
  }
  EXPECT_EQ(format_rate(Rate{}), "unlimited");
  EXPECT_EQ(format_rate(Rate{100, 1s}), "100/s");
  EXPECT_EQ(format_rate(Rate{10, 1min}), "10/min");
  EXPECT_EQ(format_rate(Rate{2000, 1h}), "2000/h");
  EXPECT_EQ(format_rate(Rate{5, 90s}), "5/1m30s");
  for (std::string s : {"unlimited", "1/s", "10/min", "2000/h"}) {
    EXPECT_EQ(format_rate(*parse_rate(s)), s);
  }
}

struct BadCase {
  std::string toml;
  std::string key;   // the message must start with "<key>: "
  std::string what;  // and contain this
};

void expect_bad(const std::vector<BadCase>& cases) {
  for (const auto& c : cases) {
    const std::string err = load_error(c.toml);
    EXPECT_TRUE(err.starts_with(c.key + ": ")) << c.toml << "\n  => " << err;
    EXPECT_NE(err.find(c.what), std::string::npos) << c.toml << "\n  => " << err;
  }
}

TEST(ConfigThrottleTest, RejectsBadRates) {
  std::vector<BadCase> cases;
  for (std::string k : {"rate", "connection_rate"}) {
    const std::string key = "throttle.default." + k;
    const std::string set = "throttle.default." + k + " = ";
    cases.push_back({set + "\"100\"", key, "\"100\" is not a rate (N/s, N/min or N/h"});
    cases.push_back({set + "\"100/d\"", key, "is not a rate"});
    cases.push_back({set + "\"ten/s\"", key, "is not a rate"});
    cases.push_back({set + "\"0/s\"", key, "\"0/s\": the count must be between 1 and 1000000000"});
    cases.push_back({set + "\"1000000001/min\"", key, "the count must be between 1 and"});
    cases.push_back({set + "0", key, "must be between 1 and 1000000000"});
    cases.push_back({set + "-5", key, "must be between 1 and 1000000000"});
    cases.push_back({set + "1000000001", key, "must be between 1 and 1000000000"});
    cases.push_back({set + "1.5", key, "expected a rate"});
    cases.push_back({set + "true", key, "expected a rate"});
    cases.push_back({set + "[\"1/s\"]", key, "expected a rate"});
  }
  expect_bad(cases);
}

TEST(ConfigThrottleTest, RejectsBadSection) {
  expect_bad({
      {"throttle = 1", "throttle", "expected a table"},
      {"[throttle]\nrecovery = \"5m\"", "throttle.recovery", "unknown key"},
      {"throttle.recovery_step = \"0s\"", "throttle.recovery_step", "must be between 1s and 1d"},
      {"throttle.recovery_step = \"2d\"", "throttle.recovery_step", "must be between 1s and 1d"},
      {"throttle.recovery_step = 300", "throttle.recovery_step", "expected a duration"},
      {"throttle.recovery_step = \"5\"", "throttle.recovery_step", "is not a duration"},
      {"throttle.builtin_rules = \"yes\"", "throttle.builtin_rules", "expected a boolean"},
      {"throttle.default = 5", "throttle.default", "expected a table"},
      {"[throttle.default]\nconnection = 5", "throttle.default.connection", "unknown key"},
      {"[throttle.default]\nshared = true", "throttle.default.shared", "unknown key"},
      {"[throttle.default]\nname = \"x\"", "throttle.default.name", "unknown key"},
      {"throttle.default.connections = 0", "throttle.default.connections",
       "must be between 1 and 10000"},
      {"throttle.default.connections = 10001", "throttle.default.connections",
       "must be between 1 and 10000"},
      {"throttle.default.connections = \"5\"", "throttle.default.connections",
       "expected an integer"},
      {"throttle.default.messages_per_connection = 0", "throttle.default.messages_per_connection",
       "must be between 1 and 100000"},
      {"throttle.default.messages_per_connection = 100001",
       "throttle.default.messages_per_connection", "must be between 1 and 100000"},
      {"throttle.default.burst = 0", "throttle.default.burst", "must be between 1 and 1000000000"},
      {"throttle.default.burst = 1.0", "throttle.default.burst", "expected an integer"},
      {"[throttle.rules]\nname = \"x\"", "throttle.rules", "expected an array of tables"},
      {"throttle.rules = [1]", "throttle.rules", "expected an array of tables"},
      {"[throttle.backoff]\nname = \"x\"", "throttle.backoff", "expected an array of tables"},
  });
}

TEST(ConfigThrottleTest, RejectsBadRules) {
  const std::string r = "[[throttle.rules]]\n";
  const std::string ok = r + "name = \"a\"\ndomains = [\"a.example\"]\n";
  expect_bad({
      {r + "domains = [\"a.example\"]", "throttle.rules[0].name", "is required"},
      {r + "name = 5\ndomains = [\"a.example\"]", "throttle.rules[0].name", "expected a string"},
      {r + "name = \"\"\ndomains = [\"a.example\"]", "throttle.rules[0].name",
       "must be 1 to 64 characters of a-z, 0-9, '_', '.' and '-'"},
      {r + "name = \"Google\"\ndomains = [\"a.example\"]", "throttle.rules[0].name",
       "must be 1 to 64 characters"},
      {r + "name = \"a b\"\ndomains = [\"a.example\"]", "throttle.rules[0].name",
       "must be 1 to 64 characters"},
      {r + "name = \"" + std::string(65, 'a') + "\"\ndomains = [\"a.example\"]",
       "throttle.rules[0].name", "must be 1 to 64 characters"},
      {ok + r + "name = \"a\"\ndomains = [\"b.example\"]", "throttle.rules[1].name",
       "duplicate rule name \"a\""},
      {r + "name = \"a\"", "throttle.rules[0].domains", "a rule needs domains, mx_suffixes or channels"},
      {r + "name = \"a\"\ndomains = []\nmx_suffixes = []", "throttle.rules[0].domains",
       "a rule needs domains, mx_suffixes or channels"},
      {ok + "nmae = \"x\"", "throttle.rules[0].nmae", "unknown key"},
      {ok + "match = \"x\"", "throttle.rules[0].match", "unknown key"},
      {ok + "shared = \"yes\"", "throttle.rules[0].shared", "expected a boolean"},
      {ok + "connections = 0", "throttle.rules[0].connections", "must be between 1 and 10000"},
      {ok + "messages_per_connection = -1", "throttle.rules[0].messages_per_connection",
       "must be between 1 and 100000"},
      {ok + "burst = 0", "throttle.rules[0].burst", "must be between 1 and"},
      {ok + "rate = \"fast\"", "throttle.rules[0].rate", "\"fast\" is not a rate"},
      {ok + "connection_rate = \"0/min\"", "throttle.rules[0].connection_rate",
       "the count must be between 1 and"},
      // domains
      {r + "name = \"a\"\ndomains = \"a.example\"", "throttle.rules[0].domains",
       "expected an array"},
      {r + "name = \"a\"\ndomains = [1]", "throttle.rules[0].domains[0]", "expected a string"},
      {r + "name = \"a\"\ndomains = [\"a.example\", \"*\"]", "throttle.rules[0].domains[1]",
       "\"*\" is not allowed: the limits of every domain no rule matches are [throttle.default]"},
      {r + "name = \"a\"\ndomains = [\"пример.рф\"]", "throttle.rules[0].domains[0]",
       "\"пример.рф\" is not ASCII: write an internationalised domain in A-labels"},
      {r + "name = \"a\"\ndomains = [\"\"]", "throttle.rules[0].domains[0]", "is not a domain"},
      {r + "name = \"a\"\ndomains = [\".\"]", "throttle.rules[0].domains[0]", "is not a domain"},
      {r + "name = \"a\"\ndomains = [\"a..example\"]", "throttle.rules[0].domains[0]",
       "is not a domain"},
      {r + "name = \"a\"\ndomains = [\"a.example.\"]", "throttle.rules[0].domains[0]",
       "is not a domain"},
      {r + "name = \"a\"\ndomains = [\"*.example.com\"]", "throttle.rules[0].domains[0]",
       "is not a domain"},
      {r + "name = \"a\"\ndomains = [\"a_b.example\"]", "throttle.rules[0].domains[0]",
       "is not a domain"},
      {r + "name = \"a\"\ndomains = [\"a.example\", \"A.Example\"]", "throttle.rules[0].domains[1]",
       "duplicate domain \"a.example\""},
      {ok + r + "name = \"b\"\ndomains = [\"b.example\", \"A.EXAMPLE\"]",
       "throttle.rules[1].domains[1]",
       "duplicate domain \"a.example\" (already in rule \"a\", which is tried first)"},
      // mx_suffixes
      {r + "name = \"a\"\nmx_suffixes = \".google.com\"", "throttle.rules[0].mx_suffixes",
       "expected an array"},
      {r + "name = \"a\"\nmx_suffixes = [true]", "throttle.rules[0].mx_suffixes[0]",
       "expected a string"},
      {r + "name = \"a\"\nmx_suffixes = [\"google.com\"]", "throttle.rules[0].mx_suffixes[0]",
       "\"google.com\" must start with '.'"},
      {r + "name = \"a\"\nmx_suffixes = [\"\"]", "throttle.rules[0].mx_suffixes[0]",
       "must start with '.'"},
      {r + "name = \"a\"\nmx_suffixes = [\".\"]", "throttle.rules[0].mx_suffixes[0]",
       "is not a host name suffix"},
      {r + "name = \"a\"\nmx_suffixes = [\"..google.com\"]", "throttle.rules[0].mx_suffixes[0]",
       "is not a host name suffix"},
      {r + "name = \"a\"\nmx_suffixes = [\".mx_1.example\"]", "throttle.rules[0].mx_suffixes[0]",
       "is not a host name suffix"},
      {r + "name = \"a\"\nmx_suffixes = [\".почта.рф\"]", "throttle.rules[0].mx_suffixes[0]",
       "is not ASCII"},
      {r + "name = \"a\"\nmx_suffixes = [\".google.com\", \".Google.COM\"]",
       "throttle.rules[0].mx_suffixes[1]", "duplicate MX suffix \".google.com\""},
      {r + "name = \"a\"\nmx_suffixes = [\".google.com\"]\n" + r +
           "name = \"b\"\nmx_suffixes = [\".google.com\"]",
       "throttle.rules[1].mx_suffixes[0]",
       "duplicate MX suffix \".google.com\" (already in rule \"a\""},
  });
}

TEST(ConfigThrottleTest, RejectsBadBackoff) {
  const std::string b = "[[throttle.backoff]]\n";
  const std::string ok = b + "name = \"a\"\nmatch = \"x\"\naction = \"suspend\"\n";
  expect_bad({
      {b + "match = \"x\"\naction = \"suspend\"", "throttle.backoff[0].name", "is required"},
      {b + "name = \"A\"\nmatch = \"x\"\naction = \"suspend\"", "throttle.backoff[0].name",
       "must be 1 to 64 characters"},
      {ok + b + "name = \"a\"\nmatch = \"y\"\naction = \"suspend\"", "throttle.backoff[1].name",
       "duplicate backoff name \"a\""},
      {b + "name = \"a\"\naction = \"suspend\"", "throttle.backoff[0].match", "is required"},
      {b + "name = \"a\"\nmatch = 4\naction = \"suspend\"", "throttle.backoff[0].match",
       "expected a string"},
      {b + "name = \"a\"\nmatch = \"\"\naction = \"suspend\"", "throttle.backoff[0].match",
       "must not be empty"},
      {b + "name = \"a\"\nmatch = \"" + std::string(1001, 'x') + "\"\naction = \"suspend\"",
       "throttle.backoff[0].match", "at most 1000 characters"},
      {b + "name = \"a\"\nmatch = \"x\"", "throttle.backoff[0].action", "is required"},
      {b + "name = \"a\"\nmatch = \"x\"\naction = \"slow\"", "throttle.backoff[0].action",
       "unknown action \"slow\" (expected suspend, rate or connections)"},
      {b + "name = \"a\"\nmatch = \"x\"\naction = 1", "throttle.backoff[0].action",
       "expected a string"},
      // rate: with action = "rate" only, and then required and limited.
      {b + "name = \"a\"\nmatch = \"x\"\naction = \"rate\"", "throttle.backoff[0].rate",
       "is required with action = \"rate\""},
      {b + "name = \"a\"\nmatch = \"x\"\naction = \"rate\"\nrate = \"unlimited\"",
       "throttle.backoff[0].rate", "must not be \"unlimited\""},
      {b + "name = \"a\"\nmatch = \"x\"\naction = \"rate\"\nrate = \"1/day\"",
       "throttle.backoff[0].rate", "is not a rate"},
      {ok + "rate = \"1/min\"", "throttle.backoff[0].rate",
       "is only for action = \"rate\" (this rule's action is \"suspend\")"},
      {b + "name = \"a\"\nmatch = \"x\"\naction = \"connections\"\nconnections = 1\nrate = 5",
       "throttle.backoff[0].rate", "is only for action = \"rate\""},
      // connections likewise.
      {b + "name = \"a\"\nmatch = \"x\"\naction = \"connections\"",
       "throttle.backoff[0].connections", "is required with action = \"connections\""},
      {b + "name = \"a\"\nmatch = \"x\"\naction = \"connections\"\nconnections = 0",
       "throttle.backoff[0].connections", "must be between 1 and 10000"},
      {ok + "connections = 1", "throttle.backoff[0].connections",
       "is only for action = \"connections\" (this rule's action is \"suspend\")"},
      {b + "name = \"a\"\nmatch = \"x\"\naction = \"rate\"\nrate = \"1/s\"\nconnections = 1",
       "throttle.backoff[0].connections", "is only for action = \"connections\""},
      {ok + "duration = \"0s\"", "throttle.backoff[0].duration", "must be between 1s and 7d"},
      {ok + "duration = \"8d\"", "throttle.backoff[0].duration", "must be between 1s and 7d"},
      {ok + "duration = 60", "throttle.backoff[0].duration", "expected a duration"},
      {ok + "threshold = 0", "throttle.backoff[0].threshold", "must be between 1 and 100000"},
      {ok + "threshold = \"2/h\"", "throttle.backoff[0].threshold", "expected an integer"},
      {ok + "window = \"0s\"", "throttle.backoff[0].window", "must be between 1s and 7d"},
      {ok + "regex = \"x\"", "throttle.backoff[0].regex", "unknown key"},
      {ok + "domains = [\"a.example\"]", "throttle.backoff[0].domains", "unknown key"},
  });
}

TEST(ConfigThrottleTest, CompilesBackoffPatterns) {
  const std::string b = "[[throttle.backoff]]\nname = \"a\"\naction = \"suspend\"\nmatch = ";
  expect_bad({
      {b + "'(unclosed'", "throttle.backoff[0].match",
       "invalid regular expression \"(unclosed\": "},
      {b + "'[TS02]]['", "throttle.backoff[0].match", "invalid regular expression"},
      {b + "'x{2,1}'", "throttle.backoff[0].match", "invalid regular expression"},
      {b + "'*x'", "throttle.backoff[0].match", "invalid regular expression"},
  });
  EXPECT_EQ(load_error(b + R"('421 4\.7\.0 \[TSS04\]|(?:deferred)')"), "");
}

TEST(ConfigThrottleTest, ErrorsCarryKeyAndLine) {
  try {
    load_config_string(R"([throttle]
[[throttle.rules]]
name = "a"
domains = ["a.example"]
[[throttle.rules]]
name = "b"
domains = ["b.example"]
[[throttle.rules]]
name = "c"
domains = ["c.example"]
rate = "10/fortnight"
)");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "throttle.rules[2].rate");
    EXPECT_STREQ(e.what(),
                 "throttle.rules[2].rate: \"10/fortnight\" is not a rate (N/s, N/min or N/h with "
                 "N from 1 to 1000000000, e.g. \"100/s\", \"10/min\", \"2000/h\"; or "
                 "\"unlimited\") (line 11)");
  }
  // A required key that is absent: the line of its table.
  const std::string err =
      load_error("[throttle]\n\n[[throttle.backoff]]\nname = \"a\"\nmatch = \"x\"\n");
  EXPECT_EQ(err, "throttle.backoff[0].action: is required (line 3)");
}

TEST(ConfigThrottleTest, BuiltinRulesParse) {
  const ThrottleConfig& b = builtin_throttle_rules();
  EXPECT_EQ(&b, &builtin_throttle_rules());  // parsed once
  EXPECT_EQ(rule_names(b), kBuiltinRules);
  EXPECT_EQ(backoff_names(b), kBuiltinBackoff);
  EXPECT_EQ(b.defaults, ThrottleLimits{});
  EXPECT_FALSE(b.builtin_rules);

  const auto* google = find_rule(b, "google");
  ASSERT_TRUE(google);
  EXPECT_EQ(google->mx_suffixes, (std::vector<std::string>{".google.com", ".googlemail.com"}));
  EXPECT_TRUE(google->domains.empty());
  EXPECT_EQ(google->limits.connections, 5u);
  EXPECT_EQ(google->limits.messages_per_connection, 50u);
  EXPECT_FALSE(google->limits.rate);
  const auto* yahoo = find_rule(b, "yahoo");
  ASSERT_TRUE(yahoo);
  EXPECT_EQ(yahoo->mx_suffixes, (std::vector<std::string>{".yahoodns.net"}));
  EXPECT_FALSE(yahoo->limits.connections);
  EXPECT_EQ(yahoo->limits.messages_per_connection, 20u);
  const auto* microsoft = find_rule(b, "microsoft");
  ASSERT_TRUE(microsoft);
  EXPECT_EQ(microsoft->mx_suffixes,
            (std::vector<std::string>{".outlook.com", ".mx.microsoft", ".protection.outlook.com"}));
  EXPECT_EQ(microsoft->limits.connections, 5u);
  EXPECT_EQ(microsoft->limits.messages_per_connection, 50u);
  const auto* apple = find_rule(b, "apple");
  ASSERT_TRUE(apple);
  EXPECT_EQ(apple->mx_suffixes, (std::vector<std::string>{".icloud.com", ".me.com"}));
  EXPECT_EQ(apple->limits.connections, 10u);
  EXPECT_EQ(apple->limits.messages_per_connection, 5u);
  const auto* jp = find_rule(b, "yahoo-co-jp");
  ASSERT_TRUE(jp);
  EXPECT_EQ(jp->domains, (std::vector<std::string>{"yahoo.co.jp"}));
  EXPECT_TRUE(jp->mx_suffixes.empty());
  EXPECT_EQ(jp->limits.connections, 2u);
  EXPECT_EQ(jp->limits.rate, (Rate{10, 1s}));
  EXPECT_EQ(jp->limits.messages_per_connection, 20u);
  for (const auto& r : b.rules) EXPECT_FALSE(r.shared) << r.name;  // the rule's default

  const struct {
    std::string name;
    BackoffAction action;
    Rate rate;
    uint32_t connections;
    Duration duration;
    uint32_t threshold;
    std::string reply;  // a reply it must match
  } expected[] = {
      {"gmail-unusual-rate",
       BackoffAction::kRate,
       {10, 1min},
       1,
       30min,
       2,
       "421 4.7.28 Our system has detected an unusual rate of unsolicited mail"},
      {"gmail-detected-message",
       BackoffAction::kSuspend,
       {},
       1,
       1h,
       5,
       "550 5.7.1 Our system has detected that this message is likely unsolicited mail"},
      {"yahoo-ts02",
       BackoffAction::kRate,
       {1, 1min},
       1,
       1h,
       1,
       "421 4.7.0 [TS02] Messages from 192.0.2.1 temporarily deferred"},
      {"yahoo-ts03",
       BackoffAction::kRate,
       {10, 1min},
       1,
       1h,
       3,
       "421 4.7.0 [TS03] All messages from 192.0.2.1 will be permanently deferred"},
      {"yahoo-tss04",
       BackoffAction::kSuspend,
       {},
       1,
       2h,
       1,
       "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints"},
      {"yahoo-tss05",
       BackoffAction::kSuspend,
       {},
       1,
       4h,
       2,
       "421 4.7.0 [TSS05] Messages from 192.0.2.1 temporarily deferred"},
      {"yahoo-blocklist",
       BackoffAction::kSuspend,
       {},
       1,
       1h,
       1,
       "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1"},
      {"yahoo-max-messages",
       BackoffAction::kRate,
       {10, 1min},
       1,
       1h,
       1,
       "421 Max message per connection reached, closing transmission channel"},
      {"outlook-connections",
       BackoffAction::kConnections,
       {},
       1,
       1h,
       1,
       "421 4.3.2 The maximum number of concurrent connections has exceeded the maximum number "
       "of connections"},
      {"outlook-server-busy",
       BackoffAction::kRate,
       {1, 1min},
       1,
       1h,
       1,
       "451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77714)"},
      {"deferred",
       BackoffAction::kRate,
       {1, 1min},
       1,
       90min,
       1,
       "421 4.7.0 [TSS04] Messages from 2001:db8::25 temporarily deferred"},
  };
  ASSERT_EQ(b.backoff.size(), std::size(expected));
  for (const auto& e : expected) {
    const auto* r = find_backoff(b, e.name);
    ASSERT_TRUE(r) << e.name;
    EXPECT_EQ(r->action, e.action) << e.name;
    if (e.action == BackoffAction::kRate) {
      EXPECT_EQ(r->rate, e.rate) << e.name;
    }
    EXPECT_EQ(r->connections, e.connections) << e.name;
    EXPECT_EQ(r->duration, e.duration) << e.name;
    EXPECT_EQ(r->threshold, e.threshold) << e.name;
    EXPECT_EQ(r->window, Duration(1h)) << e.name;
    const std::regex re(r->match, std::regex::ECMAScript | std::regex::icase);
    EXPECT_TRUE(std::regex_search(e.reply, re)) << e.name << ": " << e.reply;
    EXPECT_FALSE(std::regex_search("250 2.0.0 OK queued as 12345", re)) << e.name;
  }
  // The default patterns, all five (and case does not matter).
  const auto* d = find_backoff(b, "deferred");
  const std::regex re(d->match, std::regex::ECMAScript | std::regex::icase);
  for (std::string reply :
       {"421 Messages from 192.0.2.1 temporarily deferred",
        "554 All messages from 192.0.2.1 will be permanently deferred",
        "421 4.7.0 192.0.2.1 has been temporarily rate limited due to IP reputation",
        "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent.",
        "550 5.7.1 Unfortunately, messages from 2001:DB8::1 weren't sent.",
        "451 4.7.500 SERVER BUSY. PLEASE TRY AGAIN LATER FROM [192.0.2.1]"}) {
    EXPECT_TRUE(std::regex_search(reply, re)) << reply;
  }
}

TEST(ConfigThrottleTest, ConfiguredRulesComeFirstAndOverrideBuiltinsByName) {
  const auto c = load_config_string(R"(
[[throttle.rules]]
name = "school"
domains = ["school.example"]
connections = 1

[[throttle.rules]]
name = "google"
mx_suffixes = [".google.com"]
connections = 2

[[throttle.backoff]]
name = "yahoo-tss04"
match = 'TSS04'
action = "rate"
rate = "1/h"
)");
  const auto& t = c->throttle;
  EXPECT_EQ(rule_names(t), (std::vector<std::string>{"school", "google", "yahoo", "microsoft",
                                                     "apple", "yahoo-co-jp", "telegram-bot",
                                                     "vk-community", "whatsapp-number"}));
  const auto* google = find_rule(t, "google");
  EXPECT_EQ(google->limits.connections, 2u);
  EXPECT_EQ(google->mx_suffixes, (std::vector<std::string>{".google.com"}));
  ASSERT_EQ(t.backoff.size(), kBuiltinBackoff.size());
  EXPECT_EQ(t.backoff[0].name, "yahoo-tss04");
  EXPECT_EQ(t.backoff[0].action, BackoffAction::kRate);
  EXPECT_EQ(t.backoff[0].rate, (Rate{1, 1h}));
  const auto names = backoff_names(t);
  EXPECT_EQ(std::count(names.begin(), names.end(), "yahoo-tss04"), 1);
  EXPECT_EQ(t.backoff[1].name, "gmail-unusual-rate");
  // A configured entry that a built-in rule also has is no conflict: the
  // configured rule is tried first.
  EXPECT_EQ(load_error("[[throttle.rules]]\nname = \"g\"\nmx_suffixes = [\".google.com\"]\n"), "");
  // Rules and backoff patterns are separate name spaces.
  EXPECT_EQ(load_error("[[throttle.rules]]\nname = \"x\"\ndomains = [\"x.example\"]\n"
                       "[[throttle.backoff]]\nname = \"x\"\nmatch = \"x\"\naction = \"suspend\"\n"),
            "");
}

TEST(ConfigThrottleTest, ParseThrottleToml) {
  const ThrottleConfig t = parse_throttle_toml(R"(
recovery_step = "1m"

[default]
connections = 3

[[rules]]
name = "google"
mx_suffixes = [".google.com"]
messages_per_connection = 10

[[backoff]]
name = "x"
match = "x"
action = "suspend"
)",
                                               "<api>");
  EXPECT_EQ(t.recovery_step, Duration(1min));
  EXPECT_EQ(t.defaults.connections, 3u);
  EXPECT_EQ(t.defaults.rate, (Rate{100, 1s}));  // completed like a file
  EXPECT_EQ(t.rules.front().limits.messages_per_connection, 10u);
  EXPECT_EQ(t.rules.size(), kBuiltinRules.size());  // google overridden
  EXPECT_EQ(t.backoff.size(), kBuiltinBackoff.size() + 1);

  // The same as [throttle] in a whole file.
  const auto c = load_config_string(
      "[throttle]\nbuiltin_rules = false\n[throttle.default]\n"
      "rate = \"7/min\"\n");
  const ThrottleConfig p =
      parse_throttle_toml("builtin_rules = false\n[default]\nrate = \"7/min\"\n", "<api>");
  EXPECT_EQ(p.defaults, c->throttle.defaults);
  EXPECT_TRUE(p.rules.empty());
  // A fragment copied from the file, [throttle...] headers and all.
  const ThrottleConfig copied = parse_throttle_toml(
      "[throttle]\nbuiltin_rules = false\n[throttle.default]\nrate = \"7/min\"\n", "<api>");
  EXPECT_EQ(copied.defaults, c->throttle.defaults);
  EXPECT_TRUE(copied.rules.empty());

  const auto error = [](const std::string& text) -> std::string {
    try {
      parse_throttle_toml(text, "<api>");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error(""), "");
  EXPECT_EQ(error("recovery = \"5m\""), "throttle.recovery: unknown key (line 1)");
  EXPECT_EQ(error("[[rules]]\nname = \"a\"\ndomains = [\"a.example\"]\nrate = \"0/s\"\n"),
            "throttle.rules[0].rate: \"0/s\": the count must be between 1 and 1000000000 (line 4)");
  EXPECT_EQ(error("[[backoff]]\nname = \"a\"\naction = \"suspend\"\nmatch = \"(\"\n")
                .rfind("throttle.backoff[0].match: invalid regular expression \"(\": ", 0),
            0u);
  // Other sections of the whole file are unknown here.
  EXPECT_EQ(error("[throttle]\nrecovery_step = \"5m\"\n[smtp]\nport = 25\n"),
            "throttle.smtp: unknown key (line 3)");
  // TOML syntax errors have no key.
  const std::string syntax = error("rules = [");
  EXPECT_TRUE(syntax.starts_with("<api>:1:")) << syntax;
}

// examples/vestnik.toml shows [throttle] at its defaults.
TEST(ConfigThrottleTest, ExampleFileHasTheThrottleSection) {
  const auto c = load_config_file(source_dir() + "/examples/vestnik.toml");
  const auto d = default_config();
  EXPECT_EQ(c->throttle.recovery_step, d->throttle.recovery_step);
  EXPECT_EQ(c->throttle.builtin_rules, d->throttle.builtin_rules);
  EXPECT_EQ(c->throttle.defaults, d->throttle.defaults);
  EXPECT_EQ(rule_names(c->throttle), rule_names(d->throttle));
  EXPECT_EQ(backoff_names(c->throttle), backoff_names(d->throttle));

  // Its commented-out [[throttle.rules]] and [[throttle.backoff]] load when
  // uncommented.
  std::ifstream in(source_dir() + "/examples/vestnik.toml");
  ASSERT_TRUE(in);
  std::string uncommented, line;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (line == "# [[throttle.rules]]" || line == "# [[throttle.backoff]]") in_block = true;
    if (in_block && !line.starts_with("# ")) in_block = false;
    if (in_block) uncommented += line.substr(2) + "\n";
  }
  const auto e = load_config_string(uncommented, "uncommented example");
  const auto* google = find_rule(e->throttle, "google");
  ASSERT_TRUE(google) << uncommented;
  EXPECT_EQ(google->domains, (std::vector<std::string>{"gmail.com"}));
  EXPECT_EQ(google->limits.connections, 5u);
  const auto* tss04 = find_backoff(e->throttle, "yahoo-tss04");
  ASSERT_TRUE(tss04) << uncommented;
  EXPECT_EQ(tss04->match, builtin_throttle_rules().backoff.at(4).match);
  EXPECT_EQ(tss04->duration, Duration(2h));
}

}  // namespace
}  // namespace core
