// tests/mta/dns_policy_test.cpp: the pure rules of MX resolution
// (mta/dns_policy.h): server lists, routes, MX sets, host answers, TTLs,
// address order and tie shuffling.
#include "mta/dns_policy.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace mta::dns_policy {
namespace {

namespace ip = boost::asio::ip;
using dns_wire::Record;
using dns_wire::Section;

const core::TimePoint kNow = core::from_unix_ms(1'790'000'000'000);

core::DnsConfig config() {
  core::DnsConfig c;
  c.min_ttl = core::Duration(30'000);
  c.max_ttl = core::Duration(3'600'000);
  c.negative_ttl = core::Duration(300'000);
  c.tempfail_ttl = core::Duration(20'000);
  return c;
}

Record mx(std::string target, uint16_t pref, uint32_t ttl = 300) {
  Record r;
  r.section = Section::kAnswer;
  r.owner = "d.test";
  r.type = dns_wire::kTypeMx;
  r.rclass = dns_wire::kClassIn;
  r.ttl = ttl;
  r.preference = pref;
  r.target = std::move(target);
  return r;
}

Record addr(Section s, std::string owner, const char* ip, uint32_t ttl = 300) {
  Record r;
  r.section = s;
  r.owner = std::move(owner);
  r.address = ip::make_address(ip);
  r.type = r.address.is_v4() ? dns_wire::kTypeA : dns_wire::kTypeAaaa;
  r.rclass = dns_wire::kClassIn;
  r.ttl = ttl;
  return r;
}

std::vector<std::string> strings(const std::vector<ip::address>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}

// ---- servers ----

TEST(DnsServers, Forms) {
  auto csv = servers_to_csv({"127.0.0.1:5353", "[::1]:53", "192.0.2.1", "::1", "[2001:db8::1]"});
  ASSERT_TRUE(csv.has_value()) << csv.error().to_string();
  EXPECT_EQ(*csv, "127.0.0.1:5353,[::1]:53,192.0.2.1:53,[::1]:53,[2001:db8::1]:53");
  EXPECT_EQ(*servers_to_csv({}), "");
}

TEST(DnsServers, ErrorsNameTheEntry) {
  for (const char* bad :
       {"", "localhost:53", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", "[::1]53", "[::1",
        "1.2.3:53", "127.0.0.1:53x", "127.0.0.1 :53", "fe80::1%eth0"}) {
    auto csv = servers_to_csv({"127.0.0.1:53", bad});
    ASSERT_FALSE(csv.has_value()) << bad;
    EXPECT_EQ(csv.error().field, "dns.servers[1]") << bad;
    EXPECT_EQ(csv.error().code, core::Errc::kInvalidArgument);
  }
}

// ---- routes ----

std::vector<core::SmtpRoute> routes() {
  return {
      {"example.com", "127.0.0.1", 2525},  {".example.com", "relay.example.net", 25},
      {".deep.example.com", "[::1]", 587}, {"почта.рф", "mx.почта.рф", 26},
      {"*", "smarthost.test", 0},
  };
}

TEST(DnsRoutes, Precedence) {
  auto t = RouteTable::build(routes());
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  const Route* r = t->match("example.com");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->host, "127.0.0.1");
  ASSERT_TRUE(r->literal.has_value());
  EXPECT_EQ(r->port, 2525);

  r = t->match("a.b.example.com");  // the parent entry
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->host, "relay.example.net");
  EXPECT_FALSE(r->literal.has_value());

  r = t->match("x.deep.example.com");  // the closest parent wins
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->host, "::1");
  EXPECT_EQ(r->port, 587);

  r = t->match("deep.example.com");  // ".deep.example.com" is subdomains only
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->host, "relay.example.net");

  r = t->match("xn--80a1acny.xn--p1ai");  // IDN route domains are normalised
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->host, "mx.xn--80a1acny.xn--p1ai");

  r = t->match("other.test");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->domain, "*");
  r = t->match("notexample.com");  // no suffix match without the dot
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->domain, "*");
}

TEST(DnsRoutes, NoWildcardNoMatch) {
  auto t = RouteTable::build({{"Example.COM.", "127.0.0.1", 25}});
  ASSERT_TRUE(t.has_value());
  EXPECT_NE(t->match("example.com"), nullptr);
  EXPECT_EQ(t->match("sub.example.com"), nullptr);
  EXPECT_EQ(t->match("example.org"), nullptr);
  auto empty = RouteTable::build({});
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(empty->match("example.com"), nullptr);
}

TEST(DnsRoutes, ErrorsNameTheEntry) {
  struct Bad {
    core::SmtpRoute route;
    const char* field;
  };
  for (const Bad& b : std::vector<Bad>{
           {{"example.com", "bad host", 25}, "smtp.routes[1].host"},
           {{"exa mple.com", "127.0.0.1", 25}, "smtp.routes[1].domain"},
           {{"", "127.0.0.1", 25}, "smtp.routes[1].domain"},
           {{"..example.com", "127.0.0.1", 25}, "smtp.routes[1].domain"},
           {{"ok.test", "127.0.0.1", 25}, "smtp.routes[1].domain"},  // listed twice
       }) {
    auto t = RouteTable::build({{"ok.test", "127.0.0.2", 25}, b.route});
    ASSERT_FALSE(t.has_value()) << b.route.domain << " " << b.route.host;
    EXPECT_EQ(t.error().field, b.field);
  }
}

// ---- TTLs ----

TEST(DnsTtl, ClampedToConfig) {
  const auto c = config();
  EXPECT_EQ(clamp_ttl(0, c), core::Duration(30'000));
  EXPECT_EQ(clamp_ttl(60, c), core::Duration(60'000));
  EXPECT_EQ(clamp_ttl(86'400, c), core::Duration(3'600'000));
  EXPECT_EQ(clamp_ttl(UINT32_MAX, c), core::Duration(3'600'000));
}

// ---- MX sets ----

TEST(DnsMxPlan, SortedUniqueValid) {
  auto plan = plan_mx({mx("c.test", 20), mx("b.test", 10), mx("a.test", 10), mx("b.test", 5),
                       mx("bad_host.test", 1), addr(Section::kAdditional, "a.test", "127.0.0.1")});
  EXPECT_FALSE(plan.null_mx);
  ASSERT_EQ(plan.hosts.size(), 3u);
  EXPECT_EQ(plan.hosts[0].name, "b.test");  // its lowest preference (5) is kept
  EXPECT_EQ(plan.hosts[0].preference, 5);
  EXPECT_EQ(plan.hosts[1].name, "a.test");
  EXPECT_EQ(plan.hosts[2].name, "c.test");
  EXPECT_EQ(plan.invalid, std::vector<std::string>{"bad_host.test"});
}

TEST(DnsMxPlan, NullMx) {
  EXPECT_TRUE(plan_mx({mx("", 0)}).null_mx);
  // A null MX among real ones is ignored (RFC 7505 §3 forbids publishing it).
  auto mixed = plan_mx({mx("", 0), mx("a.test", 10)});
  EXPECT_FALSE(mixed.null_mx);
  ASSERT_EQ(mixed.hosts.size(), 1u);
  // No MX at all is not a null MX (that is NODATA: implicit MX).
  EXPECT_FALSE(plan_mx({addr(Section::kAnswer, "d.test", "127.0.0.1")}).null_mx);
}

TEST(DnsMxPlan, CappedAtMaxHosts) {
  std::vector<Record> many;
  for (int i = 0; i < 30; ++i)
    many.push_back(mx("h" + std::to_string(100 + i) + ".test", static_cast<uint16_t>(30 - i)));
  auto plan = plan_mx(many);
  ASSERT_EQ(plan.hosts.size(), kMaxMxHosts);
  EXPECT_EQ(plan.hosts.front().preference, 1);
}

// ---- addresses ----

TEST(DnsAddresses, Order) {
  std::vector<ip::address> v4 = {ip::make_address("127.0.0.1"), ip::make_address("127.0.0.2")};
  std::vector<ip::address> v6 = {ip::make_address("::1"), ip::make_address("::2"),
                                 ip::make_address("::3")};
  EXPECT_EQ(strings(order_addresses(v4, v6, AddressOrder::kIpv4First)),
            (std::vector<std::string>{"127.0.0.1", "127.0.0.2", "::1", "::2", "::3"}));
  EXPECT_EQ(strings(order_addresses(v4, v6, AddressOrder::kIpv6First)),
            (std::vector<std::string>{"::1", "::2", "::3", "127.0.0.1", "127.0.0.2"}));
  EXPECT_EQ(strings(order_addresses(v4, v6, AddressOrder::kInterleave)),
            (std::vector<std::string>{"::1", "127.0.0.1", "::2", "127.0.0.2", "::3"}));
  EXPECT_EQ(strings(order_addresses({v4[0], v4[0]}, {}, AddressOrder::kIpv4First)),
            (std::vector<std::string>{"127.0.0.1"}));
}

Outcome records(std::vector<Record> rs, uint32_t ttl) {
  Outcome o;
  o.kind = Outcome::Kind::kRecords;
  o.records = std::move(rs);
  o.ttl = ttl;
  return o;
}
Outcome kind(Outcome::Kind k, std::string error = {}) {
  Outcome o;
  o.kind = k;
  o.error = std::move(error);
  return o;
}

TEST(DnsHost, BothFamiliesKept) {
  const auto c = config();
  auto h =
      assemble_host("h.test", records({addr(Section::kAnswer, "h.test", "127.0.0.3", 100)}, 100),
                    records({addr(Section::kAnswer, "h.test", "::1", 50)}, 50),
                    AddressOrder::kIpv4First, kNow, c);
  EXPECT_EQ(h.kind, MxKind::kOk);
  EXPECT_EQ(strings(h.addresses), (std::vector<std::string>{"127.0.0.3", "::1"}));
  EXPECT_EQ(h.expires, kNow + core::Duration(50'000));  // the smaller TTL
}

TEST(DnsHost, OneFamilyFailingShortensTheLife) {
  const auto c = config();
  auto h =
      assemble_host("h.test", records({addr(Section::kAnswer, "h.test", "127.0.0.3", 600)}, 600),
                    kind(Outcome::Kind::kTempFail, "timed out"), AddressOrder::kIpv4First, kNow, c);
  EXPECT_EQ(h.kind, MxKind::kOk);
  EXPECT_EQ(h.expires, kNow + c.tempfail_ttl);
}

TEST(DnsHost, NegativeAndTemporary) {
  const auto c = config();
  auto nx = assemble_host("h.test", kind(Outcome::Kind::kNxDomain), kind(Outcome::Kind::kNxDomain),
                          AddressOrder::kIpv4First, kNow, c);
  EXPECT_EQ(nx.kind, MxKind::kNxDomain);
  EXPECT_EQ(nx.expires, kNow + c.negative_ttl);
  EXPECT_NE(nx.error.find("no such domain"), std::string::npos);

  auto nodata = assemble_host("h.test", kind(Outcome::Kind::kNoData), kind(Outcome::Kind::kNoData),
                              AddressOrder::kIpv4First, kNow, c);
  EXPECT_EQ(nodata.kind, MxKind::kNxDomain);
  EXPECT_TRUE(nodata.addresses.empty());

  auto temp =
      assemble_host("h.test", kind(Outcome::Kind::kNoData),
                    kind(Outcome::Kind::kTempFail, "SERVFAIL"), AddressOrder::kIpv4First, kNow, c);
  EXPECT_EQ(temp.kind, MxKind::kTempFail);
  EXPECT_EQ(temp.expires, kNow + c.tempfail_ttl);
  EXPECT_NE(temp.error.find("SERVFAIL"), std::string::npos);
}

TEST(DnsHost, GlueFromTheAdditionalSectionOnly) {
  const auto c = config();
  std::vector<Record> rs = {mx("a.test", 10), addr(Section::kAdditional, "a.test", "127.0.0.2", 40),
                            addr(Section::kAdditional, "a.test", "::1", 90),
                            addr(Section::kAdditional, "b.test", "127.0.0.9"),
                            addr(Section::kAnswer, "c.test", "127.0.0.7")};
  auto g = glue_for("a.test", rs, AddressOrder::kIpv6First, kNow, c);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(strings(g->addresses), (std::vector<std::string>{"::1", "127.0.0.2"}));
  EXPECT_EQ(g->expires, kNow + core::Duration(40'000));
  EXPECT_FALSE(glue_for("c.test", rs, AddressOrder::kIpv4First, kNow, c).has_value());
  EXPECT_FALSE(glue_for("x.test", rs, AddressOrder::kIpv4First, kNow, c).has_value());
}

TEST(DnsOutcome, RecordsOfTheTypeOrNoData) {
  dns_wire::Message m;
  Record cname;
  cname.section = Section::kAnswer;
  cname.type = dns_wire::kTypeCname;
  cname.rclass = dns_wire::kClassIn;
  cname.ttl = 70;
  cname.owner = "alias.test";
  cname.target = "h.test";
  m.records = {cname, addr(Section::kAnswer, "h.test", "127.0.0.1", 300)};
  auto o = outcome_from_message(m, dns_wire::kTypeA);
  EXPECT_EQ(o.kind, Outcome::Kind::kRecords);
  EXPECT_EQ(o.ttl, 70u);  // the chain lives as long as its shortest link
  EXPECT_EQ(outcome_from_message(m, dns_wire::kTypeMx).kind, Outcome::Kind::kNoData);
}

// ---- MX answers ----

HostAnswer ok(std::vector<const char*> ips, core::TimePoint expires) {
  HostAnswer h;
  h.kind = MxKind::kOk;
  for (auto* ip : ips) h.addresses.push_back(ip::make_address(ip));
  h.expires = expires;
  return h;
}
HostAnswer failed(MxKind k, std::string error, core::TimePoint expires) {
  HostAnswer h;
  h.kind = k;
  h.error = std::move(error);
  h.expires = expires;
  return h;
}

TEST(DnsMxAnswer, HostsWithoutAddressesAreSkipped) {
  std::vector<ResolvedMx> r = {
      {{"a.test", 10},
       failed(MxKind::kNxDomain, "a.test: no such domain", kNow + core::Duration(300'000))},
      {{"b.test", 20}, ok({"127.0.0.2", "::1"}, kNow + core::Duration(100'000))},
      {{"c.test", 30},
       failed(MxKind::kTempFail, "c.test: timed out", kNow + core::Duration(20'000))},
  };
  auto a = assemble_mx("d.test", r, kNow + core::Duration(600'000));
  EXPECT_EQ(a.kind, MxKind::kOk);
  EXPECT_EQ(a.domain, "d.test");
  ASSERT_EQ(a.hosts.size(), 1u);
  EXPECT_EQ(a.hosts[0].name, "b.test");
  EXPECT_EQ(a.hosts[0].preference, 20);
  EXPECT_EQ(a.hosts[0].port, 0);
  EXPECT_EQ(a.hosts[0].addresses.size(), 2u);
  // The failed host is retried soon: the answer lives only as long as its failure.
  EXPECT_EQ(a.expires, kNow + core::Duration(20'000));
}

TEST(DnsMxAnswer, NoHostWithAnAddressIsTemporary) {
  std::vector<ResolvedMx> r = {
      {{"a.test", 10},
       failed(MxKind::kNxDomain, "a.test: no such domain", kNow + core::Duration(300'000))},
      {{"b.test", 20},
       failed(MxKind::kTempFail, "b.test: SERVFAIL", kNow + core::Duration(20'000))},
  };
  auto a = assemble_mx("d.test", r, kNow + core::Duration(600'000));
  EXPECT_EQ(a.kind, MxKind::kTempFail);
  EXPECT_FALSE(a.permanent());
  EXPECT_TRUE(a.hosts.empty());
  EXPECT_NE(a.error.find("a.test: no such domain"), std::string::npos);
  EXPECT_NE(a.error.find("b.test: SERVFAIL"), std::string::npos);
}

// ---- tie shuffling ----

std::vector<MxHost> hosts(std::vector<std::pair<const char*, uint16_t>> v) {
  std::vector<MxHost> out;
  for (auto& [n, p] : v) out.push_back(MxHost{n, p, 0, {}});
  return out;
}
std::string names(const std::vector<MxHost>& h) {
  std::string s;
  for (auto& x : h) s += x.name + " ";
  return s;
}

TEST(DnsShuffle, PreferenceOrderKeptTiesShuffled) {
  const auto base = hosts({{"a", 10}, {"b", 10}, {"c", 10}, {"d", 20}, {"e", 30}, {"f", 30}});
  std::set<std::string> seen_first_tie;
  std::set<std::string> seen_last_tie;
  for (uint64_t seed = 1; seed <= 64; ++seed) {
    std::mt19937_64 rng(seed);
    auto h = base;
    shuffle_ties(h, rng);
    ASSERT_EQ(h.size(), base.size());
    for (size_t i = 1; i < h.size(); ++i)
      ASSERT_LE(h[i - 1].preference, h[i].preference) << names(h);
    EXPECT_EQ(h[3].name, "d");
    std::multiset<std::string> tie = {h[0].name, h[1].name, h[2].name};
    EXPECT_EQ(tie, (std::multiset<std::string>{"a", "b", "c"}));
    seen_first_tie.insert(h[0].name);
    seen_last_tie.insert(h[4].name);
  }
  // Over 64 seeds every member of a tie comes first at least once.
  EXPECT_EQ(seen_first_tie, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(seen_last_tie, (std::set<std::string>{"e", "f"}));
}

TEST(DnsShuffle, FixedSeedIsReproducible) {
  const auto base = hosts({{"a", 10}, {"b", 10}, {"c", 10}, {"d", 10}});
  std::mt19937_64 r1(42), r2(42);
  auto h1 = base, h2 = base;
  shuffle_ties(h1, r1);
  shuffle_ties(h2, r2);
  EXPECT_EQ(names(h1), names(h2));
}

}  // namespace
}  // namespace mta::dns_policy
