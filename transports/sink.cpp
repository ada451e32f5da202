// transports/sink.cpp: the sink transport, which talks to nobody.
//
// It answers every message by rule (core::SinkConfig) so the whole delivery
// path (leases, ready queues, retries, bounces) can be exercised and load
// tested without a real provider. Rules are compiled once here, at
// configuration time, which is the only place a bad pattern may be reported;
// send() then only searches precompiled regexes and copies precomputed
// outcomes. The object is immutable after construction, so concurrent send()
// calls need no lock (const std::regex is safe to search from many threads).
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "transports/transport.h"

namespace transports {
namespace {

struct CompiledRule {
  std::regex match;
  uint32_t first_attempts = 0;  // 0: every attempt
  Outcome outcome;
};

class SinkTransport final : public Transport {
 public:
  SinkTransport(std::vector<core::Channel> channels, std::vector<CompiledRule> rules,
                Outcome default_outcome, core::Duration latency, Scheduler schedule)
      : channels_(std::move(channels)),
        rules_(std::move(rules)),
        default_outcome_(std::move(default_outcome)),
        latency_(latency),
        schedule_(std::move(schedule)) {}

  std::string_view name() const noexcept override { return "sink"; }
  // A stand-in for providers in tests and load runs: nobody to protect.
  bool shaped() const noexcept override { return false; }

  bool serves(core::Channel channel) const noexcept override {
    for (core::Channel c : channels_) {
      if (c == channel) return true;
    }
    return false;
  }

  std::string destination(const core::MessageRecord& record, core::Channel channel) const override {
    return default_destination(channel, record.request.to.address_for(channel));
  }

  void send(std::vector<Delivery> batch, SendDone done) override {
    std::vector<Outcome> outcomes;
    outcomes.reserve(batch.size());
    for (const Delivery& d : batch) outcomes.push_back(answer(d));
    if (latency_.count() > 0) {
      schedule_(latency_, [done = std::move(done), outcomes = std::move(outcomes)]() mutable {
        done(std::move(outcomes));
      });
      return;
    }
    done(std::move(outcomes));
  }

 private:
  // First rule whose pattern is found in the recipient's address on the
  // message's current channel wins; a rule limited to the first N attempts
  // lets later attempts fall through to the next rule.
  const Outcome& answer(const Delivery& d) const {
    const core::MessageRecord& record = *d.record;
    const std::string_view address = record.request.to.address_for(record.channel());
    for (const CompiledRule& rule : rules_) {
      if (rule.first_attempts != 0 && d.attempt > rule.first_attempts) continue;
      if (std::regex_search(address.begin(), address.end(), rule.match)) return rule.outcome;
    }
    return default_outcome_;
  }

  const std::vector<core::Channel> channels_;
  const std::vector<CompiledRule> rules_;
  const Outcome default_outcome_;
  const core::Duration latency_;
  const Scheduler schedule_;
};

// A sink reply must carry a real code: a typo in the config would otherwise
// turn into "transient, code 0" for every message and look like an outage.
core::Result<Outcome> parse_reply(const std::string& reply, const std::string& key) {
  Outcome o = outcome_from_reply(reply);
  if (o.reply.code == 0 || o.reply.code / 100 == 3) {
    return core::invalid_argument(key,
                                  "must start with a 2xx, 4xx or 5xx reply code, e.g. \"250 ok\"");
  }
  return o;
}

}  // namespace

core::Result<std::shared_ptr<Transport>> make_sink_transport(const core::SinkConfig& config,
                                                             Scheduler schedule) {
  std::vector<CompiledRule> rules;
  rules.reserve(config.rules.size());
  for (size_t i = 0; i < config.rules.size(); ++i) {
    const core::SinkRule& r = config.rules[i];
    const std::string key = "transports.sink.rules[" + std::to_string(i) + "]";
    CompiledRule rule;
    // std::regex reports a bad pattern only by throwing; this runs while the
    // configuration is loaded, where exceptions are allowed (STYLE.md R3),
    // and the error leaves here as a value naming the key.
    try {
      rule.match = std::regex(r.match, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return core::invalid_argument(key + ".match",
                                    std::string("invalid regular expression: ") + e.what());
    }
    auto outcome = parse_reply(r.reply, key + ".reply");
    if (!outcome) return outcome.error();
    rule.outcome = std::move(*outcome);
    rule.first_attempts = r.first_attempts;
    rules.push_back(std::move(rule));
  }
  auto default_outcome = parse_reply(config.default_reply, "transports.sink.default_reply");
  if (!default_outcome) return default_outcome.error();
  if (config.latency.count() < 0) {
    return core::invalid_argument("transports.sink.latency", "must not be negative");
  }
  if (config.latency.count() > 0 && !schedule) {
    return core::invalid_argument("transports.sink.latency", "latency > 0 needs a scheduler");
  }
  return std::shared_ptr<Transport>(std::make_shared<SinkTransport>(
      config.channels, std::move(rules), std::move(*default_outcome), config.latency,
      std::move(schedule)));
}

}  // namespace transports
