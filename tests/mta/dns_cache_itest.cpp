// tests/mta/dns_cache_itest.cpp: the Resolver's cache (TTL, negative and
// temporary-failure lifetimes on the injected clock), coalescing of
// concurrent lookups, the guard deadline, shutdown with lookups in flight,
// and calls from many threads — against the local DNS server
// (dns_support.h). Query counts come from the server's own log.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <mutex>
#include <thread>

#include "dns_support.h"

namespace testing_support {
namespace {

using mta::MxKind;
using std::chrono::seconds;

class DnsCacheIT : public DnsFixture {};

TEST_F(DnsCacheIT, PositiveAnswersLiveTheirTtl) {
  auto r = make(config());
  ASSERT_TRUE(r);
  auto first = mx(*r, "ttl.test");
  ASSERT_EQ(first.kind, MxKind::kOk) << first.error;
  EXPECT_EQ(first.expires, clock_.now() + seconds(60));  // the MX's TTL, below its host's
  EXPECT_EQ(server_.count("ttl.test", "MX"), 1);
  EXPECT_EQ(server_.count("h.ttl.test", "A"), 1);

  clock_.advance(seconds(59));
  auto cached = mx(*r, "ttl.test");
  ASSERT_EQ(cached.kind, MxKind::kOk);
  EXPECT_EQ(cached.expires, first.expires);
  EXPECT_EQ(server_.count("ttl.test", "MX"), 1) << "served from the cache";
  EXPECT_GE(r->stats().cache_hits, 1u);

  clock_.advance(seconds(1));  // the MX expired, its host (600 s) did not
  auto again = mx(*r, "ttl.test");
  ASSERT_EQ(again.kind, MxKind::kOk);
  EXPECT_EQ(server_.count("ttl.test", "MX"), 2);
  EXPECT_EQ(server_.count("h.ttl.test", "A"), 1);
}

TEST_F(DnsCacheIT, TtlsAreClampedToTheConfig) {
  auto c = config();
  c.min_ttl = seconds(120);
  c.max_ttl = seconds(240);
  auto r = make(c);
  ASSERT_TRUE(r);
  auto low = mx(*r, "ttl.test");  // MX TTL 60 -> 120
  ASSERT_EQ(low.kind, MxKind::kOk);
  EXPECT_EQ(low.expires, clock_.now() + seconds(120));
  auto high = mx(*r, "mx.test");  // TTL 300 everywhere -> 240
  ASSERT_EQ(high.kind, MxKind::kOk);
  EXPECT_EQ(high.expires, clock_.now() + seconds(240));
}

TEST_F(DnsCacheIT, NegativeAnswersLiveNegativeTtl) {
  auto r = make(config());  // negative_ttl 300 s
  ASSERT_TRUE(r);
  for (const char* d : {"nx.test", "nullmx.test"}) {
    auto a = mx(*r, d);
    EXPECT_TRUE(a.permanent()) << d;
    EXPECT_EQ(a.expires, clock_.now() + seconds(300));
  }
  clock_.advance(seconds(299));
  EXPECT_EQ(mx(*r, "nx.test").kind, MxKind::kNxDomain);
  EXPECT_EQ(mx(*r, "nullmx.test").kind, MxKind::kNullMx);
  EXPECT_EQ(server_.count("nx.test", "MX"), 1);
  EXPECT_EQ(server_.count("nullmx.test", "MX"), 1);
  clock_.advance(seconds(1));
  EXPECT_EQ(mx(*r, "nx.test").kind, MxKind::kNxDomain);
  EXPECT_EQ(server_.count("nx.test", "MX"), 2);
}

TEST_F(DnsCacheIT, TemporaryFailuresAreNotRepeatedSooner) {
  auto r = make(config());  // tempfail_ttl 30 s
  ASSERT_TRUE(r);
  auto a = mx(*r, "servfail.test");
  ASSERT_EQ(a.kind, MxKind::kTempFail);
  EXPECT_EQ(a.expires, clock_.now() + seconds(30));
  const int queries = server_.count("servfail.test", "MX");
  ASSERT_GE(queries, 1);
  EXPECT_EQ(mx(*r, "servfail.test").kind, MxKind::kTempFail);
  EXPECT_EQ(server_.count("servfail.test", "MX"), queries);
  clock_.advance(seconds(30));
  EXPECT_EQ(mx(*r, "servfail.test").kind, MxKind::kTempFail);
  EXPECT_GT(server_.count("servfail.test", "MX"), queries);
}

TEST_F(DnsCacheIT, HostAnswersAreSharedBetweenDomains) {
  auto r = make(config());
  ASSERT_TRUE(r);
  ASSERT_EQ(mx(*r, "mx.test").kind, MxKind::kOk);
  // coalesce.test's only MX host is a.mx.test, already cached.
  auto a = mx(*r, "coalesce.test");
  ASSERT_EQ(a.kind, MxKind::kOk) << a.error;
  EXPECT_EQ(describe(a.hosts.at(0)), "a.mx.test 127.0.0.2 ::1");
  EXPECT_EQ(server_.count("a.mx.test", "A"), 1);
  EXPECT_EQ(server_.count("a.mx.test", "AAAA"), 1);
}

TEST_F(DnsCacheIT, ConcurrentLookupsShareOneQuery) {
  auto c = config();
  c.cache_entries = 0;  // no cache: only coalescing can save queries
  auto r = make(c);
  ASSERT_TRUE(r);
  // coalesce.test is answered after 500 ms, so the five lookups overlap.
  auto answers = std::make_shared<std::vector<mta::MxAnswer>>();
  for (int i = 0; i < 5; ++i)
    r->resolve_mx("coalesce.test", [answers](mta::MxAnswer a) { answers->push_back(a); });
  io_.restart();
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (answers->size() < 5 && std::chrono::steady_clock::now() < deadline)
    io_.run_one_for(std::chrono::milliseconds(100));
  ASSERT_EQ(answers->size(), 5u);
  for (const auto& a : *answers) EXPECT_EQ(a.kind, MxKind::kOk) << a.error;
  EXPECT_EQ(server_.count("coalesce.test", "MX"), 1) << server_.log();
  EXPECT_EQ(r->stats().coalesced, 4u);
}

TEST_F(DnsCacheIT, GuardDeadlineAnswersWhenDnsDoesNot) {
  auto c = config();
  c.timeout = core::Duration(5000);  // c-ares alone would wait 5 s x (2^2 - 1)
  auto o = default_options();
  o.lookup_deadline = core::Duration(300);
  auto r = make(c, {}, o);
  ASSERT_TRUE(r);
  auto a = mx(*r, "slow.test");
  EXPECT_EQ(a.kind, MxKind::kTempFail);
  EXPECT_NE(a.error.find("timed out"), std::string::npos) << a.error;
}

TEST_F(DnsCacheIT, ShutdownCompletesLookupsInFlight) {
  auto c = config();
  c.timeout = core::Duration(5000);
  c.tries = 3;
  auto r = make(c);
  ASSERT_TRUE(r);
  auto got = std::make_shared<std::vector<mta::MxAnswer>>();
  // Two stuck at the MX stage (one query), one at its host's address stage.
  r->resolve_mx("slow.test", [got](mta::MxAnswer a) { got->push_back(a); });
  r->resolve_mx("slow.test", [got](mta::MxAnswer a) { got->push_back(a); });
  r->resolve_mx("mxslow.test", [got](mta::MxAnswer a) { got->push_back(a); });
  ASSERT_TRUE(server_.wait_for_count("slow.test", "MX", 1, seconds(10))) << server_.log();
  ASSERT_TRUE(server_.wait_for_count("host.mxslow.test", "A", 1, seconds(10))) << server_.log();
  r->shutdown();
  // shutdown() has joined the resolver thread: every answer is posted.
  io_.restart();
  io_.run_for(seconds(10));
  ASSERT_EQ(got->size(), 3u);
  for (const auto& a : *got) {
    EXPECT_EQ(a.kind, MxKind::kTempFail);
    EXPECT_EQ(a.error, "resolver shut down");
  }
  // And nothing made up by the shutdown was cached or is pending.
  auto after = mx(*r, "mx.test");
  EXPECT_EQ(after.kind, MxKind::kTempFail);
  EXPECT_EQ(after.error, "resolver shut down");
}

TEST_F(DnsCacheIT, DestroyingTheResolverCompletesLookups) {
  auto c = config();
  c.timeout = core::Duration(5000);
  auto got = std::make_shared<std::vector<mta::MxAnswer>>();
  {
    auto r = mta::Resolver::create(c, {}, io_.get_executor(), clock_);
    ASSERT_TRUE(r.has_value());
    (*r)->resolve_mx("slow.test", [got](mta::MxAnswer a) { got->push_back(a); });
    ASSERT_TRUE(server_.wait_for_count("slow.test", "MX", 1, seconds(10)));
  }  // the last reference goes: ~Resolver shuts down
  io_.restart();
  io_.run_for(seconds(10));
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->at(0).error, "resolver shut down");
}

TEST_F(DnsCacheIT, CallsFromManyThreads) {
  auto r = make(config());
  ASSERT_TRUE(r);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  const char* domains[] = {"mx.test", "implicit.test", "nx.test", "glue.test", "пример.укр"};
  std::atomic<int> done{0};
  std::atomic<int> wrong{0};
  // Two threads run the executor while four others call in.
  auto guard = boost::asio::make_work_guard(io_);
  io_.restart();
  std::vector<std::thread> runners;
  for (int i = 0; i < 2; ++i) runners.emplace_back([this] { io_.run_for(seconds(60)); });
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const char* d = domains[(t + i) % 5];
        const MxKind want = std::string_view(d) == "nx.test" ? MxKind::kNxDomain : MxKind::kOk;
        r->resolve_mx(d, [&, want](mta::MxAnswer a) {
          if (a.kind != want) ++wrong;
          ++done;
        });
      }
    });
  }
  for (auto& c : callers) c.join();
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (done.load() < kThreads * kPerThread && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  guard.reset();
  io_.stop();
  for (auto& t : runners) t.join();
  EXPECT_EQ(done.load(), kThreads * kPerThread);
  EXPECT_EQ(wrong.load(), 0);
  // Five domains, each queried once for MX whatever the interleaving.
  EXPECT_EQ(server_.count("mx.test", "MX"), 1);
  EXPECT_EQ(server_.count("xn--e1afmkfd.xn--j1amh", "MX"), 1);
}

}  // namespace
}  // namespace testing_support
