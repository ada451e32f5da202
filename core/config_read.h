// core/config_read.h: the TOML reading kit of the config loader. PRIVATE to
// core/: only config.cpp, config_mta.cpp and config_throttle.cpp include it,
// because it pulls in toml++, which only vestnik_core links.
//
// Every reader throws ConfigError naming the dotted key and, where the
// value has one, its line ("smtp.port: must be between 1 and 65535 (line
// 7)"). Readers check type, then format, then range, in that order, so the
// first message is about the most basic problem.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/config.h"

namespace core::config_detail {

// "smtp" + "port" -> "smtp.port"; "" + "api" -> "api".
std::string join(std::string_view prefix, std::string_view key);
// "smtp.routes" + 2 -> "smtp.routes[2]".
std::string indexed(std::string_view path, size_t i);
// " (line 3)" when the node has a position, else "".
std::string where(const toml::node& n);
[[noreturn]] void fail(const std::string& key, const toml::node& n, std::string_view what);

// The TOML document `text`; a syntax error is a ConfigError without a key,
// "<source>:<line>:<column>: <description>".
toml::table parse_document(std::string_view text, const std::string& source);

std::string read_string(const std::string& key, const toml::node& n);
bool read_bool(const std::string& key, const toml::node& n);
int64_t read_integer(const std::string& key, const toml::node& n, int64_t min, int64_t max);
double read_number(const std::string& key, const toml::node& n, double min, double max);
// A string in parse_duration()'s syntax ("90s", "1h30m"), min..max inclusive.
Duration read_duration(const std::string& key, const toml::node& n, Duration min, Duration max);
// A number of bytes or a string in parse_size()'s syntax ("256MiB").
uint64_t read_size(const std::string& key, const toml::node& n, uint64_t min, uint64_t max);
// An array of at most max_size elements (of any type: callers check them).
const toml::array& read_array(const std::string& key, const toml::node& n, size_t max_size);

// A table being read. It remembers which keys were asked for; finish()
// refuses whatever is left, so a misspelt key ("max_actve") fails loudly
// instead of silently keeping its default. Absent keys leave *out as is
// (the default).
class Section {
 public:
  Section(const toml::table& t, std::string prefix) : t_(t), prefix_(std::move(prefix)) {}

  std::string key(std::string_view k) const { return join(prefix_, k); }
  // The table itself, for errors about a key that is absent.
  const toml::table& node() const { return t_; }

  // The node for `k`, or nullptr if absent; marks `k` as known either way.
  const toml::node* get(std::string_view k) {
    seen_.emplace(k);
    return t_.get(k);
  }

  void str(std::string_view k, std::string* out) {
    if (const auto* n = get(k)) *out = read_string(key(k), *n);
  }
  void boolean(std::string_view k, bool* out) {
    if (const auto* n = get(k)) *out = read_bool(key(k), *n);
  }
  template <class T>
  void integer(std::string_view k, T* out, int64_t min, int64_t max) {
    if (const auto* n = get(k)) *out = static_cast<T>(read_integer(key(k), *n, min, max));
  }
  void number(std::string_view k, double* out, double min, double max) {
    if (const auto* n = get(k)) *out = read_number(key(k), *n, min, max);
  }
  void duration(std::string_view k, Duration* out, Duration min, Duration max) {
    if (const auto* n = get(k)) *out = read_duration(key(k), *n, min, max);
  }
  void size(std::string_view k, uint64_t* out, uint64_t min, uint64_t max) {
    if (const auto* n = get(k)) *out = read_size(key(k), *n, min, max);
  }
  // A nested table, or nullptr if absent.
  const toml::table* table(std::string_view k) {
    const auto* n = get(k);
    if (!n) return nullptr;
    if (!n->is_table()) fail(key(k), *n, "expected a table");
    return n->as_table();
  }
  // A required string: absent is an error too.
  std::string required_str(std::string_view k) {
    const auto* n = get(k);
    if (!n) throw ConfigError(key(k), "is required" + where(t_));
    return read_string(key(k), *n);
  }

  void finish() const {
    for (const auto& [k, v] : t_) {
      if (!seen_.contains(k.str())) fail(key(k.str()), v, "unknown key");
    }
  }

 private:
  const toml::table& t_;
  std::string prefix_;
  std::set<std::string, std::less<>> seen_;
};

// Calls fn(section, index) for each element of an array of tables
// ([[tenants]], [[smtp.routes]]), then refuses the element's unread keys.
template <class Fn>
void for_each_table(const std::string& key, const toml::node& n, size_t max_size, Fn&& fn) {
  const auto* a = n.as_array();
  if (!a || !a->is_array_of_tables()) {
    // An empty array is an array of nothing, which is fine.
    if (!(a && a->empty())) fail(key, n, "expected an array of tables ([[" + key + "]])");
  }
  if (a->size() > max_size) fail(key, n, "at most " + std::to_string(max_size) + " entries");
  for (size_t i = 0; i < a->size(); ++i) {
    Section s(*a->get(i)->as_table(), indexed(key, i));
    fn(s, i);
    s.finish();
  }
}

// An array of non-empty strings, at most max_size of them; replaces *out.
void read_strings(Section& s, std::string_view k, std::vector<std::string>* out, size_t max_size);

// Refuses `v` unless parse_host_port() accepts it.
void check_listen(const std::string& key, const toml::node& n, const std::string& v);

// A DNS host name: dot-separated labels of 1..63 ASCII letters, digits and
// '-', not starting or ending with '-'; at most 253 characters. No trailing
// dot. Says nothing about whether the name is all digits (an IPv4 look-alike).
bool valid_host_name(std::string_view name) noexcept;

// A header field name as RFC 5322 ftext allows it (printable ASCII except
// ':'), at most 76 characters so the field fits a line.
bool valid_header_name(std::string_view name) noexcept;

// [a-z0-9_-]{1,64}
bool valid_tenant_id(std::string_view id) noexcept;

// ---- the sections of issue #4, in config_mta.cpp ----

void read_dns(Section& s, DnsConfig& c);
void read_smtp(Section& s, SmtpConfig& c);
// REQUIRES: `tenants` is the complete, validated [[tenants]] list:
// network_tenant and users[].tenant are checked against it.
void read_listener(Section& s, ListenerConfig& c, const std::vector<TenantConfig>& tenants);
void read_accounting(Section& s, AccountingConfig& c);

// ---- [dkim], in config_dkim.cpp ----

// REQUIRES: `retry` is the complete [retry] (dkim.expire must outlast it).
void read_dkim(Section& s, DkimConfig& c, const RetryConfig& retry);

// ---- [http] and the providers, in config_channels.cpp ----

void read_http(Section& s, HttpConfig& c);
// [telegram], [viber], [vk], [whatsapp], [sms] of `top` (the root).
// REQUIRES: config.tenants is complete (accounts name tenants).
void read_channels(const toml::table& root, Section& top, Config& config);

// ---- [inbound] and [bounces], in config_feedback.cpp ----

void read_inbound(Section& s, InboundConfig& c);
void read_bounces(Section& s, BouncesConfig& c);
// Adds the return path's fixed domain and the mailto unsubscribe address
// to [inbound] (after every section is read).
void complete_inbound(Config& config);

// ---- [throttle], in config_throttle.cpp ----

// Reads [throttle] as written: absent keys keep what *c holds, nothing
// built in is added.
void read_throttle(Section& s, ThrottleConfig& c);
// Then fills in what the file left out: [throttle.default]'s rate and
// connection_rate (deliverability.md §6: 100/s, 100/min) when unset, and,
// with builtin_rules, appends builtin_throttle_rules() whose names the
// configured rules and backoff patterns do not already use.
void complete_throttle(ThrottleConfig& c);

}  // namespace core::config_detail
