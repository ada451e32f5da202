// engine/throttle.h: per-destination shaping — rules, rates, connection
// limits, automatic backoff, pauses (issue #4; config: core::ThrottleConfig,
// facts: deliverability.md §6).
//
// A destination ("email:gmail.com") belongs to one throttle *group*: the
// first rule that matches it (by domain, then by the host name of its
// first MX), or the default. A rule with shared limits is one group for
// every destination it matches ("google": 5 connections in all, whichever
// Google-hosted domain); otherwise each destination is its own group
// ("default:email:example.com"). A group holds:
//   - a token bucket for the message rate (burst tokens, refilled at the
//     rate): the dispatcher asks admit() before each send;
//   - the connection count and a connection-rate bucket: the transport
//     asks try_open() (transports::ConnectionShaper) before connecting;
//   - a backoff: replies matching a [[throttle.backoff]] rule (threshold
//     times within its window) suspend the group, lower its rate or its
//     connections for the rule's duration; afterwards the lowered limit
//     doubles every recovery_step until it is back to the rule's, and a
//     new match during recovery starts the backoff again. Each start is
//     logged (warn) with the rule and the reply, and shown by snapshot().
// Pauses (POST /v1/destinations/{key}:pause) are kept by key: a
// destination key pauses that destination, a group key the whole group.
//
// Thread-safety: every method is thread-safe (one mutex; the dispatcher
// calls admit() once per batch, transports call try_open() once per
// connection, observe() runs the regexes only for 4xx/5xx replies).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/message.h"
#include "core/result.h"
#include "transports/shaping.h"

namespace engine {

// A rule's limits with everything inherited filled in.
struct ResolvedLimits {
  uint32_t connections = 10;
  uint32_t messages_per_connection = 100;
  core::Rate rate;  // unlimited when count is 0
  uint32_t burst = 1;
  core::Rate connection_rate;
  friend bool operator==(const ResolvedLimits&, const ResolvedLimits&) = default;
};

// "100/s", "10/min", "unlimited" (core/config.h).
using core::format_rate;

// A backoff in force (or recovering), for display.
struct BackoffState {
  std::string rule;   // the [[throttle.backoff]] name
  std::string reply;  // the reply line that triggered it
  core::BackoffAction action = core::BackoffAction::kSuspend;
  core::TimePoint since;
  core::TimePoint until;   // the action's full strength ends
  bool recovering = false;  // past `until`, limits coming back
};

// One group, for GET /v1/throttles and `vestnik throttle`.
struct GroupSnapshot {
  std::string key;   // "google", "default:email:example.com"
  std::string rule;  // rule name, or "default"
  bool shared = false;
  std::vector<std::string> destinations;  // seen recently, sorted, at most 20
  size_t destination_count = 0;
  ResolvedLimits limits;     // the rule's
  ResolvedLimits effective;  // now, with backoff
  uint32_t connections_open = 0;
  bool suspended = false;  // by a backoff or a pause of the group key
  std::optional<BackoffState> backoff;
};

struct PauseSnapshot {
  std::string key;  // destination or group key
  std::optional<core::TimePoint> until;  // nullopt: until resumed
  std::string reason;
  core::TimePoint since;
};

class Throttles;

// One group's live state. Created and owned by Throttles; the dispatcher
// and transports hold shared_ptrs.
class ThrottleGroup final : public transports::ConnectionShaper {
 public:
  const std::string& name() const noexcept override { return key_; }
  std::string rule() const override;
  bool shared() const override;
  uint32_t max_connections() const override;
  bool try_open(core::TimePoint now, core::Duration* retry_in) override;
  void closed() override;
  uint32_t messages_per_connection() const override;

 private:
  friend class Throttles;
  ThrottleGroup(Throttles& owner, std::string key, std::string rule, bool shared,
                ResolvedLimits limits, core::TimePoint now);

  // All under owner_.mu_.
  ResolvedLimits effective_locked(core::TimePoint now);
  void refill_locked(core::TimePoint now);

  Throttles& owner_;
  const std::string key_;
  std::string rule_;
  bool shared_;
  ResolvedLimits limits_;
  // message bucket
  double tokens_;
  core::TimePoint refilled_;
  // connections
  uint32_t open_ = 0;
  double conn_tokens_;
  core::TimePoint conn_refilled_;
  // backoff
  std::optional<BackoffState> backoff_;
  core::Rate backoff_rate_;      // kRate: the lowered rate
  uint32_t backoff_conns_ = 0;   // kConnections: the lowered count
  // Matches per backoff rule index, times within the window.
  std::unordered_map<size_t, std::vector<core::TimePoint>> hits_;
  std::vector<std::string> recent_;  // destinations, for display (bounded)
  size_t destination_count_ = 0;
  core::TimePoint last_used_;
};

class Throttles {
 public:
  // `config` as loaded (validated; backoff regexes compile). `smtp`
  // supplies the inherited connections and messages per connection.
  // Errors: kInvalidArgument naming the backoff rule whose regex does not
  // compile (cannot happen for a loaded config). `clock` outlives this.
  static core::Result<std::unique_ptr<Throttles>> create(const core::ThrottleConfig& config,
                                                         const core::SmtpConfig& smtp,
                                                         const core::Clock& clock);
  ~Throttles();

  // Whether some rule matches by MX (the dispatcher then asks the
  // transport for a destination's first hop before its first send).
  bool needs_first_hop() const;

  // The group of `destination` ("email:gmail.com"; the domain is what
  // follows the first ':'), whose first hop is `mx_host` (may be empty).
  // Never null. Bumps the group's list of recent destinations.
  std::shared_ptr<ThrottleGroup> group_for(std::string_view destination, std::string_view mx_host);

  // How many of `wanted` messages of `destination` in `group` may start
  // now; takes that many tokens. 0 when paused, suspended or out of
  // tokens; then *next_at says when to ask again (nullopt: not before a
  // resume).
  size_t admit(ThrottleGroup& group, std::string_view destination, size_t wanted,
               core::TimePoint now, std::optional<core::TimePoint>* next_at);

  // Every reply `group` gave (delivery outcomes, sync replies), for the
  // backoff rules. Only 4xx/5xx replies are matched.
  void observe(ThrottleGroup& group, const core::Reply& reply, core::TimePoint now);

  // Live control. `key` is a destination ("email:gmail.com") or a group
  // key ("google"). pause: until `until` (nullopt: until resumed).
  void pause(std::string key, std::optional<core::TimePoint> until, std::string reason);
  // kNotFound when `key` was not paused.
  core::Status resume(std::string_view key);
  bool paused(std::string_view key, core::TimePoint now) const;

  // New rules (PUT /v1/throttles, SIGHUP). Groups keep their live state
  // (open connections, backoff) when their key stays; every holder
  // re-resolves its group once generation() changed. Errors as create();
  // on error nothing changes.
  core::Status replace(const core::ThrottleConfig& config, const core::SmtpConfig& smtp);
  uint64_t generation() const;
  // The rules in force (what GET /v1/throttles shows as "rules").
  core::ThrottleConfig config() const;

  std::vector<GroupSnapshot> groups(core::TimePoint now) const;
  std::vector<PauseSnapshot> pauses(core::TimePoint now) const;

  // Wakes whoever waits for a paused/suspended group to be released
  // (the dispatcher sets it; called outside the lock after resume/replace).
  void set_on_change(std::function<void()> fn);

 private:
  friend class ThrottleGroup;
  struct Compiled;
  Throttles(const core::Clock& clock, std::shared_ptr<const Compiled> rules);

  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::shared_ptr<const Compiled> rules_;
  uint64_t generation_ = 1;
  // Groups stay while used or holding state (connections, backoff); idle
  // ones are dropped by group_for() after an hour.
  std::unordered_map<std::string, std::shared_ptr<ThrottleGroup>> groups_;
  core::TimePoint last_sweep_;
  std::unordered_map<std::string, PauseSnapshot> pauses_;
  std::function<void()> on_change_;
};

}  // namespace engine
