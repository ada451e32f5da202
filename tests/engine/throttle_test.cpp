// tests/engine/throttle_test.cpp: engine::Throttles as data and arithmetic,
// with a manual clock: which group a destination lands in, the message
// rate's token bucket, connection limits and rate, backoff rules (threshold,
// window, suspend, lowered rate and its gradual recovery), pauses, and
// replacing the rules live.
#include "engine/throttle.h"

#include <gtest/gtest.h>

namespace engine {
namespace {

using core::Duration;
using core::Rate;
using namespace std::chrono_literals;

core::SmtpConfig smtp() {
  core::SmtpConfig s;
  s.max_connections = 10;
  s.max_messages_per_connection = 100;
  return s;
}

core::ThrottleRule rule(std::string name, std::vector<std::string> domains,
                        std::vector<std::string> mx, core::ThrottleLimits limits) {
  core::ThrottleRule r;
  r.name = std::move(name);
  r.domains = std::move(domains);
  r.mx_suffixes = std::move(mx);
  r.limits = limits;
  return r;
}

core::BackoffRule backoff(std::string name, std::string match, core::BackoffAction action,
                          Duration duration, uint32_t threshold = 1) {
  core::BackoffRule b;
  b.name = std::move(name);
  b.match = std::move(match);
  b.action = action;
  b.duration = duration;
  b.threshold = threshold;
  return b;
}

class ThrottleTest : public ::testing::Test {
 protected:
  void make(const core::ThrottleConfig& c) {
    auto t = Throttles::create(c, smtp(), clock_);
    ASSERT_TRUE(t.has_value()) << t.error().to_string();
    throttles_ = std::move(*t);
  }
  size_t admit(ThrottleGroup& g, std::string_view dest, size_t want,
               std::optional<core::TimePoint>* next = nullptr) {
    std::optional<core::TimePoint> n;
    size_t got = throttles_->admit(g, dest, want, clock_.now(), &n);
    if (next) *next = n;
    return got;
  }
  GroupSnapshot snapshot(const std::string& key) {
    for (auto& g : throttles_->groups(clock_.now()))
      if (g.key == key) return g;
    ADD_FAILURE() << "no group " << key;
    return {};
  }

  core::ManualClock clock_;
  std::unique_ptr<Throttles> throttles_;
};

TEST_F(ThrottleTest, DestinationsLandInTheFirstMatchingRule) {
  core::ThrottleConfig c;
  c.rules.push_back(rule("google", {}, {".google.com"}, {.connections = 5}));
  c.rules.push_back(rule("corp", {"corp.example", ".corp.example"}, {}, {.connections = 2}));
  make(c);
  EXPECT_TRUE(throttles_->needs_first_hop());

  auto a = throttles_->group_for("email:gmail.com", "gmail-smtp-in.l.google.com");
  auto b = throttles_->group_for("email:school.edu", "aspmx.l.google.com");
  EXPECT_EQ(a, b) << "an MX rule is shared by default: one Google for every domain";
  EXPECT_EQ(a->name(), "google");
  EXPECT_TRUE(a->shared());
  EXPECT_EQ(a->max_connections(), 5u);
  EXPECT_EQ(a->messages_per_connection(), 100u) << "inherited from [smtp]";

  // Domain rules win over MX rules, exact or by suffix; not shared.
  auto c1 = throttles_->group_for("email:corp.example", "mx.google.com");
  auto c2 = throttles_->group_for("email:mail.corp.example", "");
  EXPECT_EQ(c1->name(), "corp:email:corp.example");
  EXPECT_EQ(c2->name(), "corp:email:mail.corp.example");
  EXPECT_FALSE(c1->shared());
  EXPECT_EQ(c1->max_connections(), 2u);

  // No match (also an unknown first hop): the default, per destination.
  auto d = throttles_->group_for("email:example.org", "");
  EXPECT_EQ(d->name(), "default:email:example.org");
  EXPECT_EQ(d->rule(), "default");
  EXPECT_EQ(d->max_connections(), 10u);
  EXPECT_EQ(throttles_->group_for("email:notcorp.example", "google.com")->name(), "google")
      << "\".google.com\" names google.com itself too; \"corp.example\" is not a suffix of notcorp";

  const GroupSnapshot g = snapshot("google");
  EXPECT_EQ(g.destination_count, 3u);
  EXPECT_EQ(g.destinations, (std::vector<std::string>{"email:gmail.com", "email:notcorp.example",
                                                      "email:school.edu"}));
}

TEST_F(ThrottleTest, ChannelRulesMatchOnlyTheirChannels) {
  core::ThrottleConfig c;
  core::ThrottleRule bot = rule("school-bot", {"school"}, {}, {.connections = 3});
  bot.channels = {core::Channel::kTelegram};
  c.rules.push_back(bot);
  core::ThrottleRule tg = rule("telegram-bot", {}, {}, {.connections = 7});
  tg.channels = {core::Channel::kTelegram};
  c.rules.push_back(tg);
  make(c);
  // The account rule first, then the channel-wide rule, per destination.
  EXPECT_EQ(throttles_->group_for("telegram:school", "")->name(), "school-bot:telegram:school");
  EXPECT_EQ(throttles_->group_for("telegram:news", "")->name(), "telegram-bot:telegram:news");
  EXPECT_EQ(throttles_->group_for("telegram:news", "")->max_connections(), 7u);
  // Other channels never match them, even with the same "domain".
  EXPECT_EQ(throttles_->group_for("email:school", "")->name(), "default:email:school");
  EXPECT_EQ(throttles_->group_for("viber:news", "")->name(), "default:viber:news");
}

TEST_F(ThrottleTest, MessageRateIsATokenBucketWithBurst) {
  core::ThrottleConfig c;
  c.defaults.rate = Rate{10, Duration(1000)};
  c.defaults.burst = 5;
  make(c);
  auto g = throttles_->group_for("email:example.org", "");
  std::optional<core::TimePoint> next;
  EXPECT_EQ(admit(*g, "email:example.org", 100, &next), 5u) << "the burst at once";
  EXPECT_EQ(admit(*g, "email:example.org", 100, &next), 0u);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next - clock_.now(), Duration(100)) << "one token every 100 ms";
  clock_.advance(Duration(350));
  EXPECT_EQ(admit(*g, "email:example.org", 100), 3u);
  clock_.advance(Duration(60'000));
  EXPECT_EQ(admit(*g, "email:example.org", 100), 5u) << "never more than the burst";
  EXPECT_EQ(admit(*g, "email:example.org", 2), 0u);

  // Unlimited: everything asked for.
  core::ThrottleConfig open;
  make(open);
  auto u = throttles_->group_for("email:example.org", "");
  EXPECT_EQ(admit(*u, "email:example.org", 1000), 1000u);
}

TEST_F(ThrottleTest, RateWithoutBurstGetsOneSecondOfIt) {
  core::ThrottleConfig c;
  c.rules.push_back(rule("jp", {"yahoo.co.jp"}, {}, {.rate = Rate{10, Duration(1000)}}));
  c.defaults.rate = Rate{1, Duration(60'000)};
  make(c);
  auto jp = throttles_->group_for("email:yahoo.co.jp", "");
  EXPECT_EQ(admit(*jp, "email:yahoo.co.jp", 100), 10u);
  auto slow = throttles_->group_for("email:example.org", "");
  EXPECT_EQ(admit(*slow, "email:example.org", 100), 1u) << "1/min: a burst of one";
}

TEST_F(ThrottleTest, SharedGroupsCountConnectionsAndTheirRate) {
  core::ThrottleConfig c;
  c.rules.push_back(rule("google", {}, {".google.com"},
                         {.connections = 2, .connection_rate = Rate{60, Duration(60'000)}}));
  make(c);
  auto g = throttles_->group_for("email:gmail.com", "mx.google.com");
  Duration retry{};
  EXPECT_TRUE(g->try_open(clock_.now(), &retry)) << "a burst of one connection";
  EXPECT_FALSE(g->try_open(clock_.now(), &retry));
  EXPECT_EQ(retry, Duration(1000)) << "the connection rate: one a second";
  clock_.advance(Duration(1000));
  EXPECT_TRUE(g->try_open(clock_.now(), &retry));
  clock_.advance(Duration(5000));
  EXPECT_FALSE(g->try_open(clock_.now(), &retry));
  EXPECT_EQ(retry, Duration(0)) << "at the limit: wait for a close";
  EXPECT_EQ(snapshot("google").connections_open, 2u);
  g->closed();
  EXPECT_TRUE(g->try_open(clock_.now(), &retry));
}

TEST_F(ThrottleTest, SuspendingReplyStopsTheGroupForItsDuration) {
  core::ThrottleConfig c;
  c.rules.push_back(rule("yahoo", {}, {".yahoodns.net"}, {}));
  c.backoff.push_back(backoff("yahoo-tss04", R"(421 4\.7\.0 \[TSS04\])",
                              core::BackoffAction::kSuspend, Duration(2 * 3'600'000)));
  make(c);
  auto g = throttles_->group_for("email:yahoo.com", "mta5.am0.yahoodns.net");
  // Success and unrelated failures change nothing.
  throttles_->observe(*g, {250, "2.0.0", "ok [TSS04]"}, clock_.now());
  throttles_->observe(*g, {550, "5.1.1", "no such user"}, clock_.now());
  EXPECT_EQ(admit(*g, "email:yahoo.com", 10), 10u);

  throttles_->observe(*g, {421, "4.7.0", "[TSS04] Messages from 192.0.2.1 temporarily deferred"},
                      clock_.now());
  std::optional<core::TimePoint> next;
  EXPECT_EQ(admit(*g, "email:yahoo.com", 10, &next), 0u);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next - clock_.now(), Duration(2 * 3'600'000));
  Duration retry{};
  EXPECT_FALSE(g->try_open(clock_.now(), &retry));
  EXPECT_EQ(retry, Duration(2 * 3'600'000));

  GroupSnapshot s = snapshot("yahoo");
  EXPECT_TRUE(s.suspended);
  ASSERT_TRUE(s.backoff.has_value());
  EXPECT_EQ(s.backoff->rule, "yahoo-tss04");
  EXPECT_EQ(s.backoff->reply, "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred");
  EXPECT_FALSE(s.backoff->recovering);

  clock_.advance(Duration(2 * 3'600'000));
  EXPECT_EQ(admit(*g, "email:yahoo.com", 10), 10u);
  EXPECT_FALSE(snapshot("yahoo").backoff.has_value()) << "a suspension simply ends";
}

TEST_F(ThrottleTest, LoweredRateRecoversByDoublingEachStep) {
  core::ThrottleConfig c;
  c.defaults.rate = Rate{100, Duration(1000)};
  c.recovery_step = Duration(300'000);
  auto b = backoff("gmail-rate", "unusual rate", core::BackoffAction::kRate, Duration(1'800'000), 2);
  b.rate = Rate{10, Duration(60'000)};
  b.window = Duration(3'600'000);
  c.backoff.push_back(b);
  make(c);
  auto g = throttles_->group_for("email:gmail.com", "");
  const core::Reply reply{421, "4.7.28", "Our system has detected an unusual rate of mail"};
  throttles_->observe(*g, reply, clock_.now());
  EXPECT_FALSE(snapshot(g->name()).backoff.has_value()) << "threshold 2: one is not enough";
  clock_.advance(Duration(3'700'000));
  throttles_->observe(*g, reply, clock_.now());
  EXPECT_FALSE(snapshot(g->name()).backoff.has_value()) << "the first fell out of the window";
  throttles_->observe(*g, reply, clock_.now());
  GroupSnapshot s = snapshot(g->name());
  ASSERT_TRUE(s.backoff.has_value());
  EXPECT_EQ(s.effective.rate, (Rate{10, Duration(60'000)}));
  EXPECT_EQ(s.limits.rate, (Rate{100, Duration(1000)}));
  EXPECT_EQ(admit(*g, "email:gmail.com", 50), 1u) << "lowered rate, no burst";

  clock_.advance(Duration(1'800'000));  // the action's end: recovery starts
  s = snapshot(g->name());
  ASSERT_TRUE(s.backoff.has_value());
  EXPECT_TRUE(s.backoff->recovering);
  EXPECT_EQ(s.effective.rate, (Rate{20, Duration(60'000)}));
  clock_.advance(Duration(300'000));
  EXPECT_EQ(snapshot(g->name()).effective.rate, (Rate{40, Duration(60'000)}));
  // 10/min doubled until >= 100/s (6000/min): 10 * 2^10 = 10240/min.
  clock_.advance(Duration(8 * 300'000));
  s = snapshot(g->name());
  EXPECT_FALSE(s.backoff.has_value());
  EXPECT_EQ(s.effective, s.limits);
}

TEST_F(ThrottleTest, ConnectionBackoffLowersTheConnectionLimit) {
  core::ThrottleConfig c;
  c.rules.push_back(rule("outlook", {}, {".outlook.com"}, {.connections = 5}));
  auto b = backoff("outlook-conns", "exceeded the maximum number of connections",
                   core::BackoffAction::kConnections, Duration(3'600'000));
  b.connections = 1;
  c.backoff.push_back(b);
  make(c);
  auto g = throttles_->group_for("email:hotmail.com", "mx.outlook.com");
  throttles_->observe(*g, {421, "4.3.2", "The server has exceeded the maximum number of connections"},
                      clock_.now());
  EXPECT_EQ(g->max_connections(), 1u);
  Duration retry{};
  EXPECT_TRUE(g->try_open(clock_.now(), &retry));
  EXPECT_FALSE(g->try_open(clock_.now(), &retry));
  clock_.advance(Duration(3'600'000));
  EXPECT_EQ(g->max_connections(), 2u) << "recovering: doubled";
}

TEST_F(ThrottleTest, PausesHoldADestinationOrAGroupUntilResumedOrTheirEnd) {
  core::ThrottleConfig c;
  c.rules.push_back(rule("google", {}, {".google.com"}, {}));
  make(c);
  int changes = 0;
  throttles_->set_on_change([&] { ++changes; });
  auto g = throttles_->group_for("email:gmail.com", "mx.google.com");
  throttles_->pause("email:gmail.com", std::nullopt, "ops");
  std::optional<core::TimePoint> next;
  EXPECT_EQ(admit(*g, "email:gmail.com", 5, &next), 0u);
  EXPECT_FALSE(next.has_value()) << "until resumed";
  EXPECT_EQ(admit(*g, "email:school.edu", 5), 5u) << "the pause is of one destination";
  EXPECT_TRUE(throttles_->resume("email:gmail.com").has_value());
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(admit(*g, "email:gmail.com", 5), 5u);
  EXPECT_EQ(throttles_->resume("email:gmail.com").error().code, core::Errc::kNotFound);

  // A group key pauses every destination of the group, here for an hour.
  throttles_->pause("google", clock_.now() + Duration(3'600'000), "maintenance");
  EXPECT_EQ(admit(*g, "email:school.edu", 5, &next), 0u);
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(snapshot("google").suspended);
  ASSERT_EQ(throttles_->pauses(clock_.now()).size(), 1u);
  EXPECT_EQ(throttles_->pauses(clock_.now())[0].reason, "maintenance");
  clock_.advance(Duration(3'600'000));
  EXPECT_EQ(admit(*g, "email:school.edu", 5), 5u);
  EXPECT_TRUE(throttles_->pauses(clock_.now()).empty());
}

TEST_F(ThrottleTest, ReplacedRulesApplyToLiveGroupsKeepingTheirState) {
  core::ThrottleConfig c;
  c.rules.push_back(rule("google", {}, {".google.com"}, {.connections = 5}));
  c.backoff.push_back(backoff("busy", "busy", core::BackoffAction::kSuspend, Duration(600'000)));
  make(c);
  auto g = throttles_->group_for("email:gmail.com", "mx.google.com");
  Duration retry{};
  ASSERT_TRUE(g->try_open(clock_.now(), &retry));
  const uint64_t gen = throttles_->generation();

  core::ThrottleConfig bad = c;
  bad.backoff[0].match = "(unclosed";
  EXPECT_FALSE(throttles_->replace(bad, smtp()).has_value());
  EXPECT_EQ(throttles_->generation(), gen) << "refused: nothing changed";

  core::ThrottleConfig next = c;
  next.rules[0].limits.connections = 1;
  ASSERT_TRUE(throttles_->replace(next, smtp()).has_value());
  EXPECT_GT(throttles_->generation(), gen);
  auto again = throttles_->group_for("email:gmail.com", "mx.google.com");
  EXPECT_EQ(again, g) << "same group, same live state";
  EXPECT_EQ(again->max_connections(), 1u);
  EXPECT_FALSE(again->try_open(clock_.now(), &retry)) << "the open connection still counts";
  EXPECT_EQ(throttles_->config().rules[0].limits.connections, 1u);
}

}  // namespace
}  // namespace engine
