// engine/throttle.cpp: see throttle.h.
#include "engine/throttle.h"

#include <algorithm>
#include <cmath>
#include <regex>

#include "core/log.h"
#include "transports/transport.h"

namespace engine {
namespace {

using core::log::Field;

constexpr size_t kRecentDestinations = 20;
constexpr core::Duration kIdleGroupLife{3'600'000};
// Doublings after which a backoff of an unlimited limit is over.
constexpr int kMaxRecoverySteps = 10;

double seconds(core::Duration d) { return double(d.count()) / 1000.0; }

uint32_t derived_burst(const core::Rate& rate) {
  if (rate.unlimited()) return 1;
  return std::max<uint32_t>(1, static_cast<uint32_t>(std::ceil(rate.per_second())));
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string_view domain_of(std::string_view destination) {
  const size_t colon = destination.find(':');
  return colon == std::string_view::npos ? destination : destination.substr(colon + 1);
}

std::string_view action_name(core::BackoffAction a) {
  switch (a) {
    case core::BackoffAction::kSuspend: return "suspend";
    case core::BackoffAction::kRate: return "rate";
    case core::BackoffAction::kConnections: return "connections";
  }
  return "?";
}

}  // namespace

// The rules compiled once per config: limits resolved, regexes built.
struct Throttles::Compiled {
  struct Rule {
    std::string name;
    std::vector<std::string> domains;
    std::vector<std::string> mx_suffixes;
    std::vector<std::string> channels;  // channel names; empty: all
    bool shared = false;
    ResolvedLimits limits;
  };
  struct Backoff {
    core::BackoffRule rule;
    std::regex re;
  };
  core::ThrottleConfig config;
  ResolvedLimits defaults;
  std::vector<Rule> domain_rules;  // rules with domains, file order
  std::vector<Rule> mx_rules;      // rules with mx_suffixes, file order
  std::vector<Rule> channel_rules; // rules with channels only, file order
  std::vector<Backoff> backoff;

  static core::Result<std::shared_ptr<const Compiled>> build(const core::ThrottleConfig& config,
                                                             const core::SmtpConfig& smtp);
  // Rule (or null for the default) of a destination domain / first hop.
  // The first rule for `destination` ("email:gmail.com", "telegram:school").
  const Rule* match(std::string_view destination, std::string_view mx_host) const;
};

namespace {

ResolvedLimits resolve(const core::ThrottleLimits& l, const ResolvedLimits& base) {
  ResolvedLimits r = base;
  if (l.connections) r.connections = *l.connections;
  if (l.messages_per_connection) r.messages_per_connection = *l.messages_per_connection;
  if (l.rate) {
    r.rate = *l.rate;
    r.burst = derived_burst(r.rate);  // a rate of its own gets a burst of its own
  }
  if (l.burst) r.burst = *l.burst;
  if (l.connection_rate) r.connection_rate = *l.connection_rate;
  r.connections = std::max<uint32_t>(r.connections, 1);
  r.messages_per_connection = std::max<uint32_t>(r.messages_per_connection, 1);
  r.burst = std::max<uint32_t>(r.burst, 1);
  return r;
}

bool domain_matches(std::string_view domain, const std::string& pattern) {
  if (!pattern.empty() && pattern.front() == '.') return ends_with(domain, pattern);
  return domain == pattern;
}

bool mx_matches(std::string_view host, const std::string& suffix) {
  if (host.empty()) return false;
  if (ends_with(host, suffix)) return true;
  // ".google.com" also names the host "google.com" itself.
  return suffix.size() > 1 && host == std::string_view(suffix).substr(1);
}

}  // namespace

core::Result<std::shared_ptr<const Throttles::Compiled>> Throttles::Compiled::build(
    const core::ThrottleConfig& config, const core::SmtpConfig& smtp) {
  auto c = std::make_shared<Compiled>();
  c->config = config;
  ResolvedLimits base;
  base.connections = smtp.max_connections;
  base.messages_per_connection = smtp.max_messages_per_connection;
  c->defaults = resolve(config.defaults, base);
  for (const core::ThrottleRule& r : config.rules) {
    Rule rule;
    rule.name = r.name;
    rule.domains = r.domains;
    rule.mx_suffixes = r.mx_suffixes;
    for (core::Channel ch : r.channels) rule.channels.emplace_back(core::channel_name(ch));
    rule.shared = r.shared.value_or(!r.mx_suffixes.empty());
    rule.limits = resolve(r.limits, c->defaults);
    if (rule.domains.empty() && rule.mx_suffixes.empty()) {
      c->channel_rules.push_back(std::move(rule));
      continue;
    }
    if (!rule.domains.empty()) c->domain_rules.push_back(rule);
    if (!rule.mx_suffixes.empty()) c->mx_rules.push_back(std::move(rule));
  }
  for (size_t i = 0; i < config.backoff.size(); ++i) {
    const core::BackoffRule& b = config.backoff[i];
    try {
      c->backoff.push_back(
          {b, std::regex(b.match, std::regex::ECMAScript | std::regex::icase | std::regex::optimize)});
    } catch (const std::regex_error& e) {
      return core::invalid_argument("throttle.backoff[" + std::to_string(i) + "].match",
                                    std::string("not a valid regular expression: ") + e.what());
    }
  }
  return std::shared_ptr<const Compiled>(std::move(c));
}

const Throttles::Compiled::Rule* Throttles::Compiled::match(std::string_view destination,
                                                            std::string_view mx_host) const {
  const size_t colon = destination.find(':');
  const std::string_view channel =
      colon == std::string_view::npos ? std::string_view() : destination.substr(0, colon);
  const std::string_view domain = domain_of(destination);
  auto on_channel = [channel](const Rule& r) {
    return r.channels.empty() ||
           std::find(r.channels.begin(), r.channels.end(), channel) != r.channels.end();
  };
  for (const Rule& r : domain_rules)
    if (on_channel(r))
      for (const std::string& p : r.domains)
        if (domain_matches(domain, p)) return &r;
  for (const Rule& r : mx_rules)
    if (on_channel(r))
      for (const std::string& s : r.mx_suffixes)
        if (mx_matches(mx_host, s)) return &r;
  for (const Rule& r : channel_rules)
    if (on_channel(r)) return &r;
  return nullptr;
}

// ---- ThrottleGroup ----------------------------------------------------------

ThrottleGroup::ThrottleGroup(Throttles& owner, std::string key, std::string rule, bool shared,
                             ResolvedLimits limits, core::TimePoint now)
    : owner_(owner),
      key_(std::move(key)),
      rule_(std::move(rule)),
      shared_(shared),
      limits_(limits),
      tokens_(limits.burst),
      refilled_(now),
      conn_tokens_(derived_burst(limits.connection_rate)),
      conn_refilled_(now),
      last_used_(now) {}

// The limits in force now. Moves a backoff from "in force" to "recovering"
// to over as time passes (and logs each end), hence not const.
ResolvedLimits ThrottleGroup::effective_locked(core::TimePoint now) {
  ResolvedLimits e = limits_;
  if (!backoff_) return e;
  BackoffState& b = *backoff_;
  if (now < b.until) {
    if (b.action == core::BackoffAction::kRate) {
      if (e.rate.unlimited() || backoff_rate_.per_second() < e.rate.per_second()) e.rate = backoff_rate_;
      e.burst = 1;
    } else if (b.action == core::BackoffAction::kConnections) {
      e.connections = std::min(e.connections, backoff_conns_);
    }
    return e;
  }
  // Past the action's end: suspensions simply end; lowered limits double
  // every recovery step until they reach the rule's.
  const core::Duration step = std::max(owner_.rules_->config.recovery_step, core::Duration(1));
  const int64_t k = 1 + (now - b.until) / step;
  bool over = b.action == core::BackoffAction::kSuspend;
  if (b.action == core::BackoffAction::kRate) {
    const double factor = std::ldexp(1.0, static_cast<int>(std::min<int64_t>(k, 30)));
    const double count = double(backoff_rate_.count) * factor;
    core::Rate r{static_cast<uint32_t>(std::min(count, 1e9)), backoff_rate_.per};
    if ((!limits_.rate.unlimited() && r.per_second() >= limits_.rate.per_second()) ||
        (limits_.rate.unlimited() && k >= kMaxRecoverySteps)) {
      over = true;
    } else {
      e.rate = r;
      e.burst = derived_burst(r);
    }
  } else if (b.action == core::BackoffAction::kConnections) {
    const uint64_t c = uint64_t(backoff_conns_) << std::min<int64_t>(k, 30);
    if (c >= limits_.connections) {
      over = true;
    } else {
      e.connections = static_cast<uint32_t>(c);
    }
  }
  if (over) {
    core::log::info("throttle backoff over", {Field("group", key_), Field("rule", b.rule)});
    backoff_.reset();
    return limits_;
  }
  if (!b.recovering) {
    b.recovering = true;
    core::log::info("throttle backoff recovering", {Field("group", key_), Field("rule", b.rule)});
  }
  return e;
}

void ThrottleGroup::refill_locked(core::TimePoint now) {
  const ResolvedLimits e = effective_locked(now);
  if (now > refilled_) {
    if (!e.rate.unlimited()) {
      tokens_ = std::min<double>(e.burst, tokens_ + seconds(std::chrono::duration_cast<core::Duration>(now - refilled_)) * e.rate.per_second());
    }
    refilled_ = now;
  }
  if (now > conn_refilled_) {
    if (!e.connection_rate.unlimited()) {
      conn_tokens_ = std::min<double>(derived_burst(e.connection_rate),
                                      conn_tokens_ + seconds(std::chrono::duration_cast<core::Duration>(now - conn_refilled_)) *
                                                         e.connection_rate.per_second());
    }
    conn_refilled_ = now;
  }
}

bool ThrottleGroup::try_open(core::TimePoint now, core::Duration* retry_in) {
  std::lock_guard lock(owner_.mu_);
  last_used_ = now;
  refill_locked(now);
  const ResolvedLimits e = effective_locked(now);
  *retry_in = core::Duration(0);
  if (backoff_ && backoff_->action == core::BackoffAction::kSuspend && now < backoff_->until) {
    *retry_in = std::chrono::duration_cast<core::Duration>(backoff_->until - now);
    return false;
  }
  if (open_ >= e.connections) return false;
  if (!e.connection_rate.unlimited()) {
    if (conn_tokens_ < 1.0) {
      const double wait = (1.0 - conn_tokens_) / e.connection_rate.per_second();
      *retry_in = core::Duration(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait * 1000))));
      return false;
    }
    conn_tokens_ -= 1.0;
  }
  ++open_;
  return true;
}

std::string ThrottleGroup::rule() const {
  std::lock_guard lock(owner_.mu_);
  return rule_;
}

bool ThrottleGroup::shared() const {
  std::lock_guard lock(owner_.mu_);
  return shared_;
}

uint32_t ThrottleGroup::max_connections() const {
  std::lock_guard lock(owner_.mu_);
  return const_cast<ThrottleGroup*>(this)->effective_locked(owner_.clock_.now()).connections;
}

void ThrottleGroup::closed() {
  std::lock_guard lock(owner_.mu_);
  if (open_ > 0) --open_;
}

uint32_t ThrottleGroup::messages_per_connection() const {
  std::lock_guard lock(owner_.mu_);
  // effective_locked() may end a backoff whose time is up: logically const.
  return const_cast<ThrottleGroup*>(this)->effective_locked(owner_.clock_.now()).messages_per_connection;
}

// ---- Throttles --------------------------------------------------------------

Throttles::Throttles(const core::Clock& clock, std::shared_ptr<const Compiled> rules)
    : clock_(clock), rules_(std::move(rules)), last_sweep_(clock.now()) {}

Throttles::~Throttles() = default;

core::Result<std::unique_ptr<Throttles>> Throttles::create(const core::ThrottleConfig& config,
                                                           const core::SmtpConfig& smtp,
                                                           const core::Clock& clock) {
  auto rules = Compiled::build(config, smtp);
  if (!rules) return rules.error();
  return std::unique_ptr<Throttles>(new Throttles(clock, std::move(*rules)));
}

bool Throttles::needs_first_hop() const {
  std::lock_guard lock(mu_);
  return !rules_->mx_rules.empty();
}

std::shared_ptr<ThrottleGroup> Throttles::group_for(std::string_view destination,
                                                    std::string_view mx_host) {
  const core::TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  const Compiled::Rule* rule = rules_->match(destination, mx_host);
  std::string key = rule == nullptr ? "default:" + std::string(destination)
                    : rule->shared  ? rule->name
                                    : rule->name + ":" + std::string(destination);
  const ResolvedLimits& limits = rule == nullptr ? rules_->defaults : rule->limits;
  auto [it, inserted] = groups_.try_emplace(key);
  if (inserted) {
    it->second.reset(new ThrottleGroup(*this, key, rule ? rule->name : "default",
                                       rule ? rule->shared : false, limits, now));
  } else if (it->second->limits_ != limits) {
    it->second->limits_ = limits;  // rules replaced: new limits, same live state
    it->second->rule_ = rule ? rule->name : "default";
    it->second->shared_ = rule ? rule->shared : false;
  }
  ThrottleGroup& g = *it->second;
  g.last_used_ = now;
  if (std::find(g.recent_.begin(), g.recent_.end(), destination) == g.recent_.end()) {
    ++g.destination_count_;
    if (g.recent_.size() < kRecentDestinations) g.recent_.emplace_back(destination);
  }
  std::shared_ptr<ThrottleGroup> out = it->second;
  // Now and then forget groups nobody used for an hour and that hold no
  // state worth keeping (no connection open, no backoff).
  if (now - last_sweep_ > kIdleGroupLife / 4) {
    last_sweep_ = now;
    std::erase_if(groups_, [&](const auto& kv) {
      const ThrottleGroup& x = *kv.second;
      return kv.second.use_count() == 1 && x.open_ == 0 && !x.backoff_ &&
             now - x.last_used_ > kIdleGroupLife;
    });
  }
  return out;
}

size_t Throttles::admit(ThrottleGroup& g, std::string_view destination, size_t wanted,
                        core::TimePoint now, std::optional<core::TimePoint>* next_at) {
  std::lock_guard lock(mu_);
  *next_at = std::nullopt;
  g.last_used_ = now;
  for (const std::string_view key : {destination, std::string_view(g.key_)}) {
    auto p = pauses_.find(std::string(key));
    if (p == pauses_.end()) continue;
    if (p->second.until && *p->second.until <= now) {
      pauses_.erase(p);
      continue;
    }
    *next_at = p->second.until;
    return 0;
  }
  g.refill_locked(now);
  const ResolvedLimits e = g.effective_locked(now);
  if (g.backoff_ && g.backoff_->action == core::BackoffAction::kSuspend && now < g.backoff_->until) {
    *next_at = g.backoff_->until;
    return 0;
  }
  if (e.rate.unlimited()) return wanted;
  const size_t n = std::min<size_t>(wanted, static_cast<size_t>(std::floor(g.tokens_)));
  if (n == 0) {
    const double wait = (1.0 - g.tokens_) / e.rate.per_second();
    *next_at = now + core::Duration(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait * 1000))));
    return 0;
  }
  g.tokens_ -= double(n);
  return n;
}

void Throttles::observe(ThrottleGroup& g, const core::Reply& reply, core::TimePoint now) {
  if (reply.code < 400 && reply.code != 0) return;
  if (reply.code == 0 && reply.text.empty()) return;
  std::shared_ptr<const Compiled> rules;
  {
    std::lock_guard lock(mu_);
    rules = rules_;
  }
  if (rules->backoff.empty()) return;
  const std::string line = transports::reply_line(reply);
  // Regexes outside the lock: they are the expensive part.
  size_t matched = rules->backoff.size();
  for (size_t i = 0; i < rules->backoff.size(); ++i) {
    if (std::regex_search(line, rules->backoff[i].re)) {
      matched = i;
      break;
    }
  }
  if (matched == rules->backoff.size()) return;
  const core::BackoffRule& rule = rules->backoff[matched].rule;
  std::lock_guard lock(mu_);
  if (rules != rules_) return;  // replaced meanwhile; the next reply counts
  auto& hits = g.hits_[matched];
  hits.push_back(now);
  std::erase_if(hits, [&](core::TimePoint t) { return now - t > rule.window; });
  if (hits.size() < std::max<uint32_t>(rule.threshold, 1)) return;
  hits.clear();
  // A suspension in force is not weakened by a milder rule.
  if (g.backoff_ && !g.backoff_->recovering && now < g.backoff_->until &&
      g.backoff_->action == core::BackoffAction::kSuspend && rule.action != core::BackoffAction::kSuspend)
    return;
  BackoffState b;
  b.rule = rule.name;
  b.reply = line;
  b.action = rule.action;
  b.since = now;
  b.until = now + rule.duration;
  g.backoff_ = b;
  g.backoff_rate_ = rule.rate;
  g.backoff_conns_ = std::max<uint32_t>(rule.connections, 1);
  if (rule.action == core::BackoffAction::kRate) g.tokens_ = std::min(g.tokens_, 1.0);
  core::log::warn("throttle backoff", {Field("group", g.key_), Field("rule", rule.name),
                                       Field("action", action_name(rule.action)),
                                       Field("rate", rule.action == core::BackoffAction::kRate ? format_rate(rule.rate) : std::string()),
                                       Field("connections", rule.action == core::BackoffAction::kConnections ? rule.connections : 0u),
                                       Field("for_ms", static_cast<int64_t>(rule.duration.count())),
                                       Field("reply", line)});
}

void Throttles::pause(std::string key, std::optional<core::TimePoint> until, std::string reason) {
  {
    std::lock_guard lock(mu_);
    PauseSnapshot p{key, until, std::move(reason), clock_.now()};
    core::log::warn("throttle: destination paused",
                    {Field("key", key), Field("reason", p.reason),
                     Field("for_ms", until ? static_cast<int64_t>(std::chrono::duration_cast<core::Duration>(*until - p.since).count()) : -1)});
    pauses_[std::move(key)] = std::move(p);
  }
}

core::Status Throttles::resume(std::string_view key) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    auto it = pauses_.find(std::string(key));
    if (it == pauses_.end()) return core::make_error(core::Errc::kNotFound, "not paused: " + std::string(key), "key");
    pauses_.erase(it);
    wake = on_change_;
  }
  core::log::info("throttle: destination resumed", {Field("key", std::string(key))});
  if (wake) wake();
  return {};
}

bool Throttles::paused(std::string_view key, core::TimePoint now) const {
  std::lock_guard lock(mu_);
  auto it = pauses_.find(std::string(key));
  return it != pauses_.end() && (!it->second.until || *it->second.until > now);
}

core::Status Throttles::replace(const core::ThrottleConfig& config, const core::SmtpConfig& smtp) {
  auto rules = Compiled::build(config, smtp);
  if (!rules) return rules.error();
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    rules_ = std::move(*rules);
    ++generation_;
    wake = on_change_;
  }
  core::log::info("throttle rules replaced", {Field("rules", config.rules.size()),
                                              Field("backoff_rules", config.backoff.size())});
  if (wake) wake();
  return {};
}

uint64_t Throttles::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

core::ThrottleConfig Throttles::config() const {
  std::lock_guard lock(mu_);
  return rules_->config;
}

std::vector<GroupSnapshot> Throttles::groups(core::TimePoint now) const {
  std::lock_guard lock(mu_);
  std::vector<GroupSnapshot> out;
  out.reserve(groups_.size());
  for (const auto& [key, gp] : groups_) {
    ThrottleGroup& g = *gp;
    GroupSnapshot s;
    s.key = key;
    s.rule = g.rule_;
    s.shared = g.shared_;
    s.destinations = g.recent_;
    std::sort(s.destinations.begin(), s.destinations.end());
    s.destination_count = g.destination_count_;
    s.limits = g.limits_;
    s.effective = g.effective_locked(now);
    s.connections_open = g.open_;
    s.backoff = g.backoff_;
    s.suspended = (g.backoff_ && g.backoff_->action == core::BackoffAction::kSuspend && now < g.backoff_->until);
    auto p = pauses_.find(key);
    if (p != pauses_.end() && (!p->second.until || *p->second.until > now)) s.suspended = true;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

std::vector<PauseSnapshot> Throttles::pauses(core::TimePoint now) const {
  std::lock_guard lock(mu_);
  std::vector<PauseSnapshot> out;
  for (const auto& [key, p] : pauses_)
    if (!p.until || *p.until > now) out.push_back(p);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

void Throttles::set_on_change(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(fn);
}

}  // namespace engine
