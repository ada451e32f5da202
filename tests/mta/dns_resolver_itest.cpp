// tests/mta/dns_resolver_itest.cpp: what the Resolver answers, against a
// real DNS server on 127.0.0.1 (tests/mta/data/dns_server.py serving
// kDnsTestZone): MX order and ties, glue, implicit MX, NXDOMAIN, null MX,
// temporary failures without any fallback to A, MX hosts without address,
// IDN, and static routes. Caching, coalescing, deadlines and shutdown:
// dns_cache_itest.cpp.
#include <gtest/gtest.h>

#include <set>

#include "dns_support.h"

namespace testing_support {
namespace {

using mta::MxKind;

class DnsResolverIT : public DnsFixture {};

TEST_F(DnsResolverIT, PreferenceOrderWithBothFamilies) {
  auto r = make(config());
  ASSERT_TRUE(r);
  auto a = mx(*r, "mx.test");
  ASSERT_EQ(a.kind, MxKind::kOk) << a.error;
  EXPECT_EQ(a.domain, "mx.test");
  EXPECT_FALSE(a.implicit);
  EXPECT_FALSE(a.from_route);
  ASSERT_EQ(a.hosts.size(), 3u);
  EXPECT_EQ(a.hosts[0].preference, 10);
  EXPECT_EQ(a.hosts[1].preference, 10);
  EXPECT_EQ(a.hosts[2].preference, 20);
  EXPECT_EQ(describe(a.hosts[2]), "c.mx.test 127.0.0.4");
  std::set<std::string> tie = {describe(a.hosts[0]), describe(a.hosts[1])};
  // Both families are kept, IPv4 first by default.
  EXPECT_EQ(tie, (std::set<std::string>{"a.mx.test 127.0.0.2 ::1", "b.mx.test 127.0.0.3"}));
  for (const auto& h : a.hosts) EXPECT_EQ(h.port, 0);
  EXPECT_GT(a.expires, clock_.now());
}

TEST_F(DnsResolverIT, TiesAreShuffledPerAnswer) {
  auto r = make(config());
  ASSERT_TRUE(r);
  std::set<std::string> first;
  for (int i = 0; i < 32; ++i) {
    auto a = mx(*r, "mx.test");
    ASSERT_EQ(a.kind, MxKind::kOk) << a.error;
    ASSERT_EQ(a.hosts.size(), 3u);
    first.insert(a.hosts[0].name);
    EXPECT_EQ(a.hosts[2].name, "c.mx.test");
  }
  // With the fixed seed, 32 answers (all but the first from the cache) put
  // each of the two equal hosts first at least once.
  EXPECT_EQ(first, (std::set<std::string>{"a.mx.test", "b.mx.test"}));
  EXPECT_EQ(server_.count("mx.test", "MX"), 1);
}

TEST_F(DnsResolverIT, Ipv6FirstWhenAsked) {
  auto o = default_options();
  o.address_order = mta::AddressOrder::kIpv6First;
  auto r = make(config(), {}, o);
  ASSERT_TRUE(r);
  auto h = host(*r, "a.mx.test");
  ASSERT_EQ(h.kind, MxKind::kOk) << h.error;
  ASSERT_EQ(h.addresses.size(), 2u);
  EXPECT_EQ(h.addresses[0].to_string(), "::1");
  EXPECT_EQ(h.addresses[1].to_string(), "127.0.0.2");
}

TEST_F(DnsResolverIT, GlueSavesTheAddressQueries) {
  auto r = make(config());
  ASSERT_TRUE(r);
  auto a = mx(*r, "glue.test");
  ASSERT_EQ(a.kind, MxKind::kOk) << a.error;
  ASSERT_EQ(a.hosts.size(), 1u);
  EXPECT_EQ(describe(a.hosts[0]), "g.glue.test 127.0.0.5 ::1");
  EXPECT_EQ(server_.count("g.glue.test", "A"), 0) << server_.log();
  EXPECT_EQ(server_.count("g.glue.test", "AAAA"), 0) << server_.log();
}

TEST_F(DnsResolverIT, NoDataMeansImplicitMx) {
  auto r = make(config());
  ASSERT_TRUE(r);
  auto a = mx(*r, "implicit.test");
  ASSERT_EQ(a.kind, MxKind::kOk) << a.error;
  EXPECT_TRUE(a.implicit);
  ASSERT_EQ(a.hosts.size(), 1u);
  EXPECT_EQ(a.hosts[0].preference, 0);
  EXPECT_EQ(describe(a.hosts[0]), "implicit.test 127.0.0.6 ::1");

  // Through a CNAME: the MX answer holds only the CNAME, so it is NODATA too.
  auto c = mx(*r, "alias.test");
  ASSERT_EQ(c.kind, MxKind::kOk) << c.error;
  EXPECT_TRUE(c.implicit);
  ASSERT_EQ(c.hosts.size(), 1u);
  EXPECT_EQ(describe(c.hosts[0]), "alias.test 127.0.0.6 ::1");
}

TEST_F(DnsResolverIT, NoMxAndNoAddressIsPermanent) {
  auto r = make(config());
  ASSERT_TRUE(r);
  auto a = mx(*r, "empty.test");
  EXPECT_EQ(a.kind, MxKind::kNxDomain) << a.error;
  EXPECT_TRUE(a.permanent());
  EXPECT_TRUE(a.hosts.empty());
  EXPECT_NE(a.error.find("no MX and no A/AAAA"), std::string::npos) << a.error;
}

TEST_F(DnsResolverIT, NxDomainIsPermanentWithoutFallback) {
  auto r = make(config());
  ASSERT_TRUE(r);
  auto a = mx(*r, "nx.test");
  EXPECT_EQ(a.kind, MxKind::kNxDomain) << a.error;
  EXPECT_TRUE(a.permanent());
  EXPECT_EQ(server_.count("nx.test", "MX"), 1);
  EXPECT_EQ(server_.count("nx.test", "A"), 0);
  EXPECT_EQ(server_.count("nx.test", "AAAA"), 0);
}

TEST_F(DnsResolverIT, NullMxAcceptsNoMail) {
  auto r = make(config());
  ASSERT_TRUE(r);
  auto a = mx(*r, "nullmx.test");
  EXPECT_EQ(a.kind, MxKind::kNullMx) << a.error;
  EXPECT_TRUE(a.permanent());
  EXPECT_TRUE(a.hosts.empty());
  EXPECT_NE(a.error.find("RFC 7505"), std::string::npos) << a.error;
  EXPECT_EQ(server_.count("nullmx.test", "A"), 0);
}

TEST_F(DnsResolverIT, ServFailAndRefusedDeferWithoutFallbackToA) {
  auto r = make(config());
  ASSERT_TRUE(r);
  for (const char* d : {"servfail.test", "refused.test"}) {
    auto a = mx(*r, d);
    EXPECT_EQ(a.kind, MxKind::kTempFail) << d << ": " << a.error;
    EXPECT_FALSE(a.permanent());
    EXPECT_TRUE(a.hosts.empty());
    EXPECT_GE(server_.count(d, "MX"), 1);
    EXPECT_EQ(server_.count(d, "A"), 0) << "fell back to A for " << d;
    EXPECT_EQ(server_.count(d, "AAAA"), 0);
  }
  auto s = mx(*r, "servfail.test");
  EXPECT_NE(s.error.find("SERVFAIL"), std::string::npos) << s.error;
}

TEST_F(DnsResolverIT, NoAnswerTimesOutAsTempFail) {
  auto c = config();
  c.timeout = core::Duration(200);
  c.tries = 1;
  auto r = make(c);
  ASSERT_TRUE(r);
  auto a = mx(*r, "slow.test");
  EXPECT_EQ(a.kind, MxKind::kTempFail) << a.error;
  EXPECT_NE(a.error.find("timed out"), std::string::npos) << a.error;
  EXPECT_EQ(server_.count("slow.test", "A"), 0);
}

TEST_F(DnsResolverIT, MxHostsWithoutAddressAreSkipped) {
  auto r = make(config());
  ASSERT_TRUE(r);
  auto a = mx(*r, "partial.test");
  ASSERT_EQ(a.kind, MxKind::kOk) << a.error;
  EXPECT_EQ(names(a), std::vector<std::string>{"ok.partial.test"});

  // The only MX host has no address: defer, do not bounce.
  auto b = mx(*r, "noaddr.test");
  EXPECT_EQ(b.kind, MxKind::kTempFail) << b.error;
  EXPECT_NE(b.error.find("missing.noaddr.test"), std::string::npos) << b.error;
}

TEST_F(DnsResolverIT, MxHostTimingOutIsTempFail) {
  auto c = config();
  c.timeout = core::Duration(200);
  c.tries = 1;
  auto r = make(c);
  ASSERT_TRUE(r);
  auto a = mx(*r, "mxslow.test");
  EXPECT_EQ(a.kind, MxKind::kTempFail) << a.error;
  EXPECT_NE(a.error.find("host.mxslow.test"), std::string::npos) << a.error;
}

TEST_F(DnsResolverIT, CyrillicDomainsAreQueriedAsPunycode) {
  auto r = make(config());
  ASSERT_TRUE(r);
  auto a = mx(*r, "пример.укр");
  ASSERT_EQ(a.kind, MxKind::kOk) << a.error;
  EXPECT_EQ(a.domain, "xn--e1afmkfd.xn--j1amh");
  ASSERT_EQ(a.hosts.size(), 1u);
  EXPECT_EQ(describe(a.hosts[0]), "mail.xn--e1afmkfd.xn--j1amh 127.0.0.8");

  auto b = mx(*r, "ПОЧТА.РФ.");
  ASSERT_EQ(b.kind, MxKind::kOk) << b.error;
  EXPECT_EQ(b.domain, "xn--80a1acny.xn--p1ai");
  ASSERT_EQ(b.hosts.size(), 1u);
  EXPECT_EQ(describe(b.hosts[0]), "mx.xn--80a1acny.xn--p1ai ::1");
  EXPECT_EQ(b.hosts[0].preference, 5);
  EXPECT_EQ(server_.count("xn--80a1acny.xn--p1ai", "MX"), 1);
}

TEST_F(DnsResolverIT, InvalidIdnaIsPermanentAndNeverQueried) {
  auto r = make(config());
  ASSERT_TRUE(r);
  for (const char* d : {"xn--zz.test", "пример_.укр", "exa mple.test"}) {
    auto a = mx(*r, d);
    EXPECT_EQ(a.kind, MxKind::kNxDomain) << d;
    EXPECT_TRUE(a.permanent());
  }
  EXPECT_EQ((*r).stats().queries, 0u);
  EXPECT_EQ(server_.log(), "");
}

TEST_F(DnsResolverIT, StaticRoutesComeBeforeDns) {
  auto r = make(config(), {{"routed.test", "relay.test", 2526},
                           {".mx.test", "127.0.0.11", 2527},
                           {"unresolvable.test", "missing.relay.test", 25}});
  ASSERT_TRUE(r);
  auto a = mx(*r, "routed.test");
  ASSERT_EQ(a.kind, MxKind::kOk) << a.error;
  EXPECT_TRUE(a.from_route);
  ASSERT_EQ(a.hosts.size(), 1u);
  EXPECT_EQ(describe(a.hosts[0]), "relay.test 127.0.0.10 ::1");
  EXPECT_EQ(a.hosts[0].port, 2526);
  EXPECT_EQ(server_.count("routed.test", "MX"), 0);

  // ".mx.test" is for subdomains only: mx.test itself still uses its MX.
  auto sub = mx(*r, "sub.mx.test");
  ASSERT_EQ(sub.kind, MxKind::kOk);
  EXPECT_EQ(describe(sub.hosts.at(0)), "127.0.0.11 127.0.0.11");
  EXPECT_EQ(sub.hosts[0].port, 2527);
  auto own = mx(*r, "mx.test");
  ASSERT_EQ(own.kind, MxKind::kOk);
  EXPECT_FALSE(own.from_route);
  EXPECT_EQ(own.hosts.size(), 3u);

  // A smarthost that does not resolve defers the mail; it never bounces it.
  auto bad = mx(*r, "unresolvable.test");
  EXPECT_EQ(bad.kind, MxKind::kTempFail) << bad.error;
  EXPECT_TRUE(bad.from_route);
  EXPECT_NE(bad.error.find("missing.relay.test"), std::string::npos) << bad.error;
}

}  // namespace
}  // namespace testing_support
