// tests/core/id_test.cpp: core/id.cpp — text form, ordering, monotonicity.
#include "core/id.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>
#include <unordered_set>
#include <vector>

namespace core {
namespace {

TEST(IdTest, KnownUlidRoundTrips) {
  // The example of the ULID specification.
  const auto id = Id::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->to_string(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
  EXPECT_EQ(id->unix_ms(), 1469922850259);  // 10 base32 digits of time
  EXPECT_FALSE(id->is_nil());
}

TEST(IdTest, ParseIsCaseInsensitiveAndReadsLookalikes) {
  EXPECT_EQ(Id::parse("01arz3ndektsv4rrffq69g5fav"), Id::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
  EXPECT_EQ(Id::parse("0ILil0000000000000000000Oo"), Id::parse("01111000000000000000000000"));
}

TEST(IdTest, Extremes) {
  const auto nil = Id::parse("00000000000000000000000000");
  ASSERT_TRUE(nil);
  EXPECT_TRUE(nil->is_nil());
  EXPECT_EQ(*nil, Id());
  const auto max = Id::parse("7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
  ASSERT_TRUE(max);
  EXPECT_EQ(max->bytes(), std::string(16, '\xff'));
  EXPECT_EQ(max->to_string(), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
}

TEST(IdTest, ParseRejects) {
  for (std::string_view bad : {
           "",
           "01ARZ3NDEKTSV4RRFFQ69G5FA",    // 25
           "01ARZ3NDEKTSV4RRFFQ69G5FAVX",  // 27
           "01ARZ3NDEKTSV4RRFFQ69G5FAU",   // U is not in the alphabet
           "01ARZ3NDEK-SV4RRFFQ69G5FAV",
           "01ARZ3NDEK SV4RRFFQ69G5FAV",
           "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",  // overflows 128 bits
           "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
           "01ARZ3NDEKTSV4RRFFQ69G5FA\xc3",
       }) {
    EXPECT_FALSE(Id::parse(bad).has_value()) << bad;
  }
}

TEST(IdTest, BytesRoundTrip) {
  ManualClock clock;
  IdGenerator gen(clock);
  const Id id = gen.next();
  EXPECT_EQ(Id::from_bytes(id.bytes()), id);
  EXPECT_EQ(Id::parse(id.to_string()), id);
  EXPECT_EQ(id.unix_ms(), to_unix_ms(clock.now()));
}

TEST(IdTest, ManyIdsInOneMillisecondAreStrictlyIncreasing) {
  ManualClock clock;
  IdGenerator gen(clock);
  Id prev = gen.next();
  std::string prev_text = prev.to_string();
  for (int i = 0; i < 100'000; ++i) {
    const Id id = gen.next();
    ASSERT_LT(prev, id);
    const std::string text = id.to_string();
    ASSERT_LT(prev_text, text);  // the text form sorts the same way
    ASSERT_EQ(id.unix_ms(), to_unix_ms(clock.now()));
    prev = id;
    prev_text = text;
  }
}

TEST(IdTest, ClockSteppingBackKeepsOrder) {
  ManualClock clock;
  IdGenerator gen(clock);
  const Id a = gen.next();
  clock.advance(Duration(-5000));
  const Id b = gen.next();
  EXPECT_LT(a, b);
  EXPECT_EQ(b.unix_ms(), a.unix_ms());  // stays on the last millisecond
  clock.advance(Duration(5001));
  const Id c = gen.next();
  EXPECT_LT(b, c);
  EXPECT_EQ(c.unix_ms(), a.unix_ms() + 1);
}

TEST(IdTest, NewMillisecondStartsFromFreshRandomness) {
  ManualClock clock;
  IdGenerator gen(clock);
  std::set<std::string> tails;
  for (int i = 0; i < 100; ++i) {
    clock.advance(Duration(1));
    const Id id = gen.next();
    EXPECT_EQ(id.unix_ms(), to_unix_ms(clock.now()));
    tails.insert(std::string(id.bytes().substr(6)));
  }
  EXPECT_EQ(tails.size(), 100u);
}

TEST(IdTest, TwoGeneratorsDoNotCollide) {
  ManualClock clock;
  IdGenerator a(clock), b(clock);
  EXPECT_NE(a.next(), b.next());
}

TEST(IdTest, ConcurrentCallersGetUniqueIds) {
  ManualClock clock;
  IdGenerator gen(clock);
  constexpr int kThreads = 4, kEach = 20'000;
  std::vector<std::vector<Id>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) got[t].push_back(gen.next());
    });
  }
  for (auto& t : threads) t.join();
  std::unordered_set<Id, IdHash> all;
  for (const auto& v : got) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));  // each caller sees increasing ids
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), size_t{kThreads} * kEach);
}

TEST(IdTest, SystemClockIdsCarryTheTime) {
  // The id's embedded time lies between two readings of the clock taken
  // around it: an ordering check on timestamps, not a timing measurement.
  IdGenerator gen(SystemClock::instance());
  const int64_t lower = to_unix_ms(SystemClock::instance().now());
  const Id id = gen.next();
  const int64_t upper = to_unix_ms(SystemClock::instance().now());
  const int64_t stamp = id.unix_ms();
  EXPECT_TRUE(lower <= stamp && stamp <= upper) << lower << " " << stamp << " " << upper;
}

}  // namespace
}  // namespace core
