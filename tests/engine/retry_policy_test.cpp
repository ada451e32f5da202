// tests/engine/retry_policy_test.cpp: the retry schedule as data
// (engine/retry_policy.cpp, STYLE.md R13).
#include <gtest/gtest.h>

#include <vector>

#include "engine/engine.h"

namespace engine {
namespace {

using core::Duration;
using std::chrono::hours;
using std::chrono::minutes;

TEST(RetryPolicy, DefaultScheduleIsFourRetries) {
  const RetryPolicy p(core::RetryConfig{});
  EXPECT_EQ(p.max_retries(), 4u);
  EXPECT_EQ(p.schedule(), (std::vector<Duration>{minutes(5), minutes(15), hours(1), hours(4)}));
}

TEST(RetryPolicy, UnjitteredDelaysFollowTheSchedule) {
  core::RetryConfig c;
  c.jitter = 0;
  const RetryPolicy p(c);
  std::vector<Duration> got;
  for (uint32_t attempts = 1; attempts <= 6; ++attempts) {
    if (auto d = p.delay_after(attempts, 0.5)) got.push_back(*d);
  }
  // Five attempts at most: after the fifth there is no retry.
  EXPECT_EQ(got, (std::vector<Duration>{minutes(5), minutes(15), hours(1), hours(4)}));
  EXPECT_FALSE(p.delay_after(5, 0.0).has_value());
}

TEST(RetryPolicy, JitterStaysWithinBounds) {
  const RetryPolicy p(core::RetryConfig{});  // jitter 0.2
  const auto base = minutes(5);
  EXPECT_EQ(*p.delay_after(1, 0.0), Duration(240'000));  // 0.8 * 5m
  EXPECT_EQ(*p.delay_after(1, 0.5), Duration(base));     // the middle
  // rng_unit < 1 stays below 1.2; the bound itself is 1.2 * 5m.
  EXPECT_LE(*p.delay_after(1, 0.999999), Duration(360'000));
  EXPECT_GE(*p.delay_after(1, 0.999999), Duration(359'990));
  for (double u = 0; u < 1.0; u += 0.01) {
    for (uint32_t a = 1; a <= 4; ++a) {
      const Duration d = *p.delay_after(a, u);
      const Duration s = p.schedule()[a - 1];
      EXPECT_GE(d.count(), static_cast<int64_t>(s.count() * 0.8) - 1);
      EXPECT_LE(d.count(), static_cast<int64_t>(s.count() * 1.2) + 1);
    }
  }
}

TEST(RetryPolicy, OutOfRangeInputsAreClamped) {
  core::RetryConfig c;
  c.jitter = 5.0;  // clamped to 1: factor in [0, 2]
  const RetryPolicy p(c);
  EXPECT_EQ(*p.delay_after(1, 0.0), Duration(0));
  EXPECT_EQ(*p.delay_after(1, 2.0), Duration(600'000));  // rng_unit clamped to 1
  EXPECT_EQ(*p.delay_after(1, -1.0), Duration(0));
}

TEST(RetryPolicy, ScheduleLengthIsTheRetryCount) {
  core::RetryConfig c;
  c.schedule = {Duration(1000), Duration(2000)};
  c.jitter = 0;
  const RetryPolicy p(c);
  EXPECT_EQ(p.max_retries(), 2u);
  EXPECT_EQ(*p.delay_after(2, 0.3), Duration(2000));
  EXPECT_FALSE(p.delay_after(3, 0.3).has_value());

  c.schedule.clear();
  const RetryPolicy none(c);
  EXPECT_EQ(none.max_retries(), 0u);
  EXPECT_FALSE(none.delay_after(1, 0.3).has_value());
}

}  // namespace
}  // namespace engine
