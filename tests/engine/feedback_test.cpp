// tests/engine/feedback_test.cpp: outcome -> status change, and bounce
// categories (engine/feedback.cpp).
#include "engine/feedback.h"

#include <gtest/gtest.h>

namespace engine {
namespace {

using core::Duration;
using core::MessageStatus;
using std::chrono::minutes;

const core::TimePoint kNow = core::from_unix_ms(1'790'000'000'000);

core::MessageRecord leased_record(uint32_t attempts = 0) {
  core::MessageRecord r;
  r.id = core::Id::parse("01J00000000000000000000000").value();
  r.lease_gen = 7;
  r.attempts = attempts;
  r.request.channels = {core::Channel::kEmail};
  r.request.to.email = "a@example.com";
  r.destination = "email:example.com";
  return r;
}

RetryPolicy unjittered() {
  core::RetryConfig c;
  c.jitter = 0;
  return RetryPolicy(c);
}

// The stored category is the classifier's (mta/bounce, tested there in
// depth); the engine adds only that a failure on a 4xx code is "other".
TEST(BounceCategory, FromTheClassifier) {
  struct Case {
    uint16_t code;
    const char* enhanced;
    const char* text;
    std::string_view category;
  };
  const Case cases[] = {
      {550, "5.1.1", "x", "bad-mailbox"},
      {550, "5.1.10", "x", "bad-domain"},
      {550, "5.1.7", "x", "invalid-sender"},
      {552, "5.2.2", "mailbox full", "quota-issues"},
      {550, "5.2.1", "The email account that you tried to reach is disabled", "inactive-mailbox"},
      {554, "5.7.1", "rejected as spam", "spam-related"},
      {550, "5.7.26", "unauthenticated email from example.com is not accepted", "auth-failed"},
      {550, "5.0.0", "x", kBounceOther},
      {550, "", "x", kBounceOther},
      {451, "4.7.1", "x", kBounceOther},  // failed on a transient-looking code: not "transient"
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.enhanced) + " " + c.text);
    EXPECT_EQ(bounce_category(core::Reply{c.code, c.enhanced, c.text}), c.category);
  }
}

TEST(Decide, DeliveredIsFinal) {
  const auto r = leased_record();
  const Decision d =
      decide(r, transports::outcome_from_reply("250 2.0.0 ok"), unjittered(), kNow, 0.5);
  EXPECT_EQ(d.verdict, Verdict::kDelivered);
  EXPECT_EQ(d.transition.id, r.id);
  EXPECT_EQ(d.transition.lease_gen, 7u);
  EXPECT_EQ(d.transition.status, MessageStatus::kDelivered);
  EXPECT_EQ(d.transition.detail, "250 2.0.0 ok");
  EXPECT_TRUE(d.transition.counts_attempt);
  ASSERT_TRUE(d.transition.reply.has_value());
  EXPECT_EQ(d.transition.reply->code, 250);
  EXPECT_FALSE(d.transition.bounce.has_value());
}

TEST(Decide, PermanentFailsAtOnceWithACategory) {
  const Decision d =
      decide(leased_record(), transports::outcome_from_reply("550 5.1.1 user unknown"),
             unjittered(), kNow, 0.5);
  EXPECT_EQ(d.verdict, Verdict::kFailed);
  EXPECT_EQ(d.transition.status, MessageStatus::kFailed);
  EXPECT_EQ(d.transition.detail, "550 5.1.1 user unknown");
  ASSERT_TRUE(d.transition.bounce.has_value());
  EXPECT_EQ(d.transition.bounce->category, "bad-mailbox");
  EXPECT_EQ(d.transition.bounce->reply.code, 550);
}

TEST(Decide, TransientRetriesOnTheSchedule) {
  const auto policy = unjittered();
  const auto outcome = transports::outcome_from_reply("451 4.7.1 try later");
  const Duration expected[] = {minutes(5), minutes(15), minutes(60), minutes(240)};
  for (uint32_t attempts = 0; attempts < 4; ++attempts) {
    const Decision d = decide(leased_record(attempts), outcome, policy, kNow, 0.5);
    EXPECT_EQ(d.verdict, Verdict::kRetry);
    EXPECT_EQ(d.transition.status, MessageStatus::kSending);
    ASSERT_TRUE(d.transition.due_at.has_value());
    EXPECT_EQ(*d.transition.due_at, kNow + expected[attempts]);
    EXPECT_EQ(d.transition.detail, "451 4.7.1 try later");
    EXPECT_TRUE(d.transition.counts_attempt);
  }
  // The fifth attempt (four made before it) has no retry left.
  const Decision last = decide(leased_record(4), outcome, policy, kNow, 0.5);
  EXPECT_EQ(last.verdict, Verdict::kFailed);
  EXPECT_EQ(last.transition.status, MessageStatus::kFailed);
  EXPECT_EQ(last.transition.detail, "retries exhausted: 451 4.7.1 try later");
  ASSERT_TRUE(last.transition.bounce.has_value());
  EXPECT_EQ(last.transition.bounce->category, "retries-exhausted");
  EXPECT_EQ(last.transition.bounce->reply.code, 451);
}

TEST(Decide, RetryAfterFromThePeerWins) {
  auto outcome = transports::outcome_from_reply("421 4.7.0 slow down");
  outcome.retry_after = Duration(30'000);
  const Decision d = decide(leased_record(1), outcome, unjittered(), kNow, 0.5);
  EXPECT_EQ(d.verdict, Verdict::kRetry);
  EXPECT_EQ(*d.transition.due_at, kNow + Duration(30'000));
  // ... but buys no retry beyond the schedule.
  const Decision last = decide(leased_record(4), outcome, unjittered(), kNow, 0.5);
  EXPECT_EQ(last.verdict, Verdict::kFailed);
}

TEST(Decide, NoRetryPastExpiry) {
  auto r = leased_record(0);
  r.request.expires_at = kNow + minutes(5);
  const auto outcome = transports::outcome_from_reply("451 4.7.1 try later");
  // Due exactly at expiry: still retried.
  Decision d = decide(r, outcome, unjittered(), kNow, 0.5);
  EXPECT_EQ(d.verdict, Verdict::kRetry);
  // One millisecond later: expired.
  r.request.expires_at = kNow + minutes(5) - Duration(1);
  d = decide(r, outcome, unjittered(), kNow, 0.5);
  EXPECT_EQ(d.verdict, Verdict::kFailed);
  EXPECT_EQ(d.transition.detail, "expired: 451 4.7.1 try later");
  EXPECT_EQ(d.transition.bounce->category, "expired");
}

TEST(Decide, AnEmptyReplyStillExplainsItself) {
  transports::Outcome o;
  o.kind = transports::OutcomeKind::kTransient;
  const Decision d = decide(leased_record(4), o, unjittered(), kNow, 0.5);
  EXPECT_EQ(d.transition.detail, "retries exhausted: no reply");
}

TEST(Release, GoesBackToQueuedWithoutAnAttempt) {
  const auto r = leased_record(2);
  const queue::Transition t = release(r, kNow + minutes(1), "released: engine stopping");
  EXPECT_EQ(t.id, r.id);
  EXPECT_EQ(t.lease_gen, 7u);
  EXPECT_EQ(t.status, MessageStatus::kQueued);
  EXPECT_FALSE(t.counts_attempt);
  EXPECT_EQ(*t.due_at, kNow + minutes(1));
  EXPECT_EQ(t.detail, "released: engine stopping");
}

}  // namespace
}  // namespace engine
