// tests/mta/dns_resolver_test.cpp: the Resolver's paths that send no DNS
// query — configuration errors, invalid domains, static routes to IP
// literals, shutdown — and its completion contract (always through the
// executor, exactly once). DNS itself: dns_resolver_itest.cpp.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

#include "mta/dns.h"

namespace mta {
namespace {

namespace asio = boost::asio;

core::DnsConfig loopback_config() {
  core::DnsConfig c;
  // Nothing listens there and no test here sends a query; a server is
  // configured anyway so nothing could ever leave the loopback.
  c.servers = {"127.0.0.1:9"};
  c.timeout = core::Duration(200);
  c.tries = 1;
  return c;
}

template <class A>
std::optional<A> run_until_done(asio::io_context& io, std::optional<A>& slot) {
  io.restart();
  io.run_for(std::chrono::seconds(10));
  return slot;
}

TEST(DnsResolverCreate, ConfigErrorsNameTheField) {
  asio::io_context io;
  core::ManualClock clock;
  struct Bad {
    core::DnsConfig config;
    std::vector<core::SmtpRoute> routes;
    const char* field;
  };
  std::vector<Bad> cases;
  {
    auto c = loopback_config();
    c.servers = {"127.0.0.1:53", "dns.example:53"};
    cases.push_back({c, {}, "dns.servers[1]"});
  }
  {
    auto c = loopback_config();
    c.timeout = core::Duration(0);
    cases.push_back({c, {}, "dns.timeout"});
  }
  {
    auto c = loopback_config();
    c.tries = 0;
    cases.push_back({c, {}, "dns.tries"});
  }
  cases.push_back({loopback_config(), {{"example.com", "not a host", 25}}, "smtp.routes[0].host"});
  for (const auto& b : cases) {
    auto r = Resolver::create(b.config, b.routes, io.get_executor(), clock);
    ASSERT_FALSE(r.has_value()) << b.field;
    EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
    EXPECT_EQ(r.error().field, b.field);
  }
}

TEST(DnsResolver, InvalidDomainIsPermanentAndCompletesOnTheExecutor) {
  asio::io_context io;
  core::ManualClock clock;
  auto r = Resolver::create(loopback_config(), {}, io.get_executor(), clock);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  std::optional<MxAnswer> got;
  int calls = 0;
  (*r)->resolve_mx("bad domain\x01.test", [&](MxAnswer a) {
    ++calls;
    got = std::move(a);
  });
  EXPECT_FALSE(got.has_value()) << "done ran inline, not through the executor";
  run_until_done(io, got);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got->kind, MxKind::kNxDomain);
  EXPECT_TRUE(got->permanent());
  EXPECT_NE(got->error.find("not a valid domain name"), std::string::npos);
  EXPECT_EQ(got->error.find('\x01'), std::string::npos) << "control characters reach the DSN text";
  EXPECT_EQ((*r)->stats().queries, 0u);
}

TEST(DnsResolver, StaticRouteToIpLiteralNeedsNoDns) {
  asio::io_context io;
  core::ManualClock clock;
  auto r = Resolver::create(
      loopback_config(),
      {{"routed.test", "127.0.0.9", 2525}, {".v6.test", "[::1]", 0}, {"*", "192.0.2.1", 25}},
      io.get_executor(), clock);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();

  std::optional<MxAnswer> exact, v6, any;
  (*r)->resolve_mx("Routed.Test.", [&](MxAnswer a) { exact = std::move(a); });
  (*r)->resolve_mx("a.v6.test", [&](MxAnswer a) { v6 = std::move(a); });
  (*r)->resolve_mx("почта.рф", [&](MxAnswer a) { any = std::move(a); });
  io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(exact && v6 && any);

  EXPECT_EQ(exact->kind, MxKind::kOk);
  EXPECT_TRUE(exact->from_route);
  EXPECT_FALSE(exact->implicit);
  EXPECT_EQ(exact->domain, "routed.test");
  ASSERT_EQ(exact->hosts.size(), 1u);
  EXPECT_EQ(exact->hosts[0].name, "127.0.0.9");
  EXPECT_EQ(exact->hosts[0].port, 2525);
  ASSERT_EQ(exact->hosts[0].addresses.size(), 1u);
  EXPECT_EQ(exact->hosts[0].addresses[0].to_string(), "127.0.0.9");
  EXPECT_GT(exact->expires, clock.now());

  ASSERT_EQ(v6->hosts.size(), 1u);
  EXPECT_EQ(v6->hosts[0].addresses[0].to_string(), "::1");
  EXPECT_EQ(v6->hosts[0].port, 0);  // the SMTP default

  EXPECT_EQ(any->domain, "xn--80a1acny.xn--p1ai");
  ASSERT_EQ(any->hosts.size(), 1u);
  EXPECT_EQ(any->hosts[0].addresses[0].to_string(), "192.0.2.1");
  EXPECT_EQ((*r)->stats().queries, 0u);
}

TEST(DnsResolver, HostLiteral) {
  asio::io_context io;
  core::ManualClock clock;
  auto r = Resolver::create(loopback_config(), {}, io.get_executor(), clock);
  ASSERT_TRUE(r.has_value());
  std::optional<HostAnswer> v4, v6, bad;
  (*r)->resolve_host("127.0.0.5", [&](HostAnswer a) { v4 = std::move(a); });
  (*r)->resolve_host("[::1]", [&](HostAnswer a) { v6 = std::move(a); });
  (*r)->resolve_host("-bad-.test", [&](HostAnswer a) { bad = std::move(a); });
  io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(v4 && v6 && bad);
  EXPECT_EQ(v4->kind, MxKind::kOk);
  EXPECT_EQ(v4->addresses.at(0).to_string(), "127.0.0.5");
  EXPECT_EQ(v6->addresses.at(0).to_string(), "::1");
  EXPECT_EQ(bad->kind, MxKind::kNxDomain);
  EXPECT_EQ((*r)->stats().queries, 0u);
}

TEST(DnsResolver, AfterShutdownEveryCallIsATempFail) {
  asio::io_context io;
  core::ManualClock clock;
  auto r = Resolver::create(loopback_config(), {}, io.get_executor(), clock);
  ASSERT_TRUE(r.has_value());
  (*r)->shutdown();
  (*r)->shutdown();  // idempotent
  std::optional<MxAnswer> mx;
  std::optional<HostAnswer> host;
  (*r)->resolve_mx("example.test", [&](MxAnswer a) { mx = std::move(a); });
  (*r)->resolve_host("h.example.test", [&](HostAnswer a) { host = std::move(a); });
  io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(mx && host);
  EXPECT_EQ(mx->kind, MxKind::kTempFail);
  EXPECT_EQ(mx->error, "resolver shut down");
  EXPECT_EQ(host->kind, MxKind::kTempFail);
  EXPECT_EQ(host->error, "resolver shut down");
}

TEST(DnsResolver, KindNames) {
  EXPECT_EQ(mx_kind_name(MxKind::kOk), "ok");
  EXPECT_EQ(mx_kind_name(MxKind::kNullMx), "null_mx");
  EXPECT_EQ(mx_kind_name(MxKind::kNxDomain), "nxdomain");
  EXPECT_EQ(mx_kind_name(MxKind::kTempFail), "tempfail");
}

}  // namespace
}  // namespace mta
