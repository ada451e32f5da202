// tests/mta/dns_cache_test.cpp: the bounded TTL cache (mta/dns_cache.h),
// driven by core::ManualClock.
#include "mta/dns_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace mta {
namespace {

using std::chrono::seconds;

TEST(DnsCache, ExpiresByTheClock) {
  core::ManualClock clock;
  DnsCache<int> cache(10);
  cache.put("a", 1, clock.now() + seconds(60), clock.now());
  EXPECT_EQ(cache.get("a", clock.now()), 1);
  clock.advance(seconds(59));
  EXPECT_EQ(cache.get("a", clock.now()), 1);
  clock.advance(seconds(1));  // at the expiry instant it is gone
  EXPECT_EQ(cache.get("a", clock.now()), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DnsCache, LeastRecentlyUsedIsEvicted) {
  core::ManualClock clock;
  DnsCache<int> cache(2);
  const auto later = clock.now() + seconds(60);
  cache.put("a", 1, later, clock.now());
  cache.put("b", 2, later, clock.now());
  EXPECT_EQ(cache.get("a", clock.now()), 1);  // "b" is now the least recently used
  cache.put("c", 3, later, clock.now());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.get("b", clock.now()), std::nullopt);
  EXPECT_EQ(cache.get("a", clock.now()), 1);
  EXPECT_EQ(cache.get("c", clock.now()), 3);
}

TEST(DnsCache, ReplaceAndAlreadyExpired) {
  core::ManualClock clock;
  DnsCache<std::string> cache(4);
  cache.put("k", "old", clock.now() + seconds(10), clock.now());
  cache.put("k", "new", clock.now() + seconds(10), clock.now());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.get("k", clock.now()), "new");
  // A value born expired is not kept, and it drops the older one.
  cache.put("k", "dead", clock.now(), clock.now());
  EXPECT_EQ(cache.get("k", clock.now()), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DnsCache, CapacityZeroKeepsNothing) {
  core::ManualClock clock;
  DnsCache<int> cache(0);
  cache.put("a", 1, clock.now() + seconds(60), clock.now());
  EXPECT_EQ(cache.get("a", clock.now()), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace mta
