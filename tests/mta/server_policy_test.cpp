// tests/mta/server_policy_test.cpp: the listener's policy (networks, AUTH
// users, the MAIL FROM decision, the inbound role and relay denial at
// RCPT), CIDR matching, and the Received header.
#include <gtest/gtest.h>

#include "mta/smtp_server.h"
#include "mta/smtp_server_session.h"

namespace mta {
namespace {

namespace ip = boost::asio::ip;

ip::address addr(const char* s) { return ip::make_address(s); }

TEST(ParseNetwork, Forms) {
  auto n = parse_network("127.0.0.0/8");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->prefix, 8u);
  EXPECT_TRUE(n->address.is_v4());
  auto bare = parse_network("192.0.2.7");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->prefix, 32u);
  auto v6 = parse_network("::1/128");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->address.is_v6());
  auto bracketed = parse_network("[2001:db8::]/32");
  ASSERT_TRUE(bracketed.has_value());
  EXPECT_EQ(bracketed->prefix, 32u);
  EXPECT_EQ(parse_network("2001:db8::1")->prefix, 128u);
  EXPECT_EQ(parse_network("0.0.0.0/0")->prefix, 0u);
}

TEST(ParseNetwork, RefusesMalformed) {
  for (const char* bad : {"", "foo", "127.0.0.0/33", "::/129", "127.0.0.1/", "127.0.0.1/x",
                          "/8", "1.2.3.4/8x", "1.2.3/24", "127.0.0.1/-1", "fe80::1%lo/64"}) {
    EXPECT_FALSE(parse_network(bad).has_value()) << bad;
  }
}

TEST(IpNetwork, Contains) {
  const auto loop = *parse_network("127.0.0.0/8");
  EXPECT_TRUE(loop.contains(addr("127.0.0.1")));
  EXPECT_TRUE(loop.contains(addr("127.255.255.255")));
  EXPECT_FALSE(loop.contains(addr("128.0.0.1")));
  EXPECT_FALSE(loop.contains(addr("::1")));  // families never mix

  const auto odd = *parse_network("10.0.0.0/9");
  EXPECT_TRUE(odd.contains(addr("10.127.255.255")));
  EXPECT_FALSE(odd.contains(addr("10.128.0.0")));

  const auto host_bits = *parse_network("192.0.2.77/24");  // host bits ignored
  EXPECT_TRUE(host_bits.contains(addr("192.0.2.1")));

  const auto v6 = *parse_network("2001:db8::/32");
  EXPECT_TRUE(v6.contains(addr("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.contains(addr("2001:db9::")));
  EXPECT_FALSE(v6.contains(addr("10.0.0.1")));

  const auto all = *parse_network("0.0.0.0/0");
  EXPECT_TRUE(all.contains(addr("203.0.113.9")));
  EXPECT_TRUE(parse_network("::1/128")->contains(addr("::1")));
  EXPECT_FALSE(parse_network("::1/128")->contains(addr("::2")));
}

core::ListenerConfig config() {
  core::ListenerConfig c;
  c.networks = {"127.0.0.0/8", "::1/128", "10.1.0.0/16"};
  c.network_tenant = "acme";
  c.users = {{"alice", "s3cret", "globex"}, {"bob", "s3cret", "initech"}, {"carol", "pw", ""}};
  return c;
}

TEST(InjectionPolicy, RefusesABadNetworkByName) {
  auto c = config();
  c.networks = {"127.0.0.0/8", "10.0.0.0/40"};
  auto p = InjectionPolicy::create(c);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(p.error().field, "listener.networks[1]");
}

TEST(InjectionPolicy, RefusesAnEmptyUser) {
  auto c = config();
  c.users.push_back({"", "x", "t"});
  auto p = InjectionPolicy::create(c);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().field, "listener.users[3]");
}

TEST(InjectionPolicy, Authenticate) {
  auto p = InjectionPolicy::create(config()).value();
  EXPECT_TRUE(p->offers_auth());
  EXPECT_EQ(p->authenticate("alice", "s3cret"), std::optional<std::string>("globex"));
  EXPECT_EQ(p->authenticate("bob", "s3cret"), std::optional<std::string>("initech"));
  EXPECT_EQ(p->authenticate("carol", "pw"), std::optional<std::string>("default"));
  EXPECT_FALSE(p->authenticate("alice", "wrong").has_value());
  EXPECT_FALSE(p->authenticate("alice", "pw").has_value());  // carol's password
  EXPECT_FALSE(p->authenticate("mallory", "s3cret").has_value());
  EXPECT_FALSE(p->authenticate("", "").has_value());
  EXPECT_FALSE(p->authenticate("Alice", "s3cret").has_value());

  auto none = config();
  none.users.clear();
  EXPECT_FALSE(InjectionPolicy::create(none).value()->offers_auth());
}

TEST(InjectionPolicy, MailDecision) {
  auto p = InjectionPolicy::create(config()).value();
  ClientInfo local;
  local.address = addr("127.0.0.1");
  auto v = p->mail(local, "a@b.example");
  EXPECT_TRUE(v.accepted());
  EXPECT_EQ(v.tenant, "acme");

  ClientInfo v6;
  v6.address = addr("::1");
  EXPECT_TRUE(p->mail(v6, "").accepted());

  ClientInfo stranger;
  stranger.address = addr("203.0.113.5");
  auto refused = p->mail(stranger, "a@b.example");
  EXPECT_FALSE(refused.accepted());
  EXPECT_EQ(refused.code, 530);
  EXPECT_EQ(refused.enhanced, "5.7.0");
  EXPECT_EQ(refused.text, "Authentication required");

  // Authenticated: the user's tenant, wherever the client is.
  ClientInfo authed = stranger;
  authed.auth_user = "alice";
  authed.auth_tenant = "globex";
  auto a = p->mail(authed, "a@b.example");
  EXPECT_TRUE(a.accepted());
  EXPECT_EQ(a.tenant, "globex");
  // ... and inside a trusted network too: AUTH wins.
  authed.address = addr("10.1.2.3");
  EXPECT_EQ(p->mail(authed, "").tenant, "globex");

  EXPECT_TRUE(p->rcpt(local, "acme", "c@d.example").accepted());
}

TEST(InjectionPolicy, EmptyNetworkTenantIsDefault) {
  auto c = config();
  c.network_tenant.clear();
  auto p = InjectionPolicy::create(c).value();
  ClientInfo local;
  local.address = addr("127.0.0.1");
  EXPECT_EQ(p->mail(local, "").tenant, "default");
}

core::InboundConfig inbound() {
  core::InboundConfig in;
  in.domains = {"bounces.example.com", "fbl.example.org"};
  in.addresses = {"unsubscribe@example.com", "abuse-reports@mail.example.net"};
  return in;
}

ClientInfo client_at(const char* address) {
  ClientInfo c;
  c.address = addr(address);
  return c;
}

TEST(InboundPolicy, UntrustedClientMayStartATransactionOnlyWhenSomethingIsReceived) {
  const ClientInfo stranger = client_at("203.0.113.5");
  auto receiving = InjectionPolicy::create(config(), inbound()).value();
  EXPECT_TRUE(receiving->receives());
  for (const char* from : {"", "mailer-daemon@mx.gmail.com"}) {
    auto v = receiving->mail(stranger, from);
    EXPECT_TRUE(v.accepted()) << from;
    EXPECT_EQ(v.tenant, "") << from;  // may not relay: no tenant
  }
  // Trusted and authenticated clients keep their tenants.
  EXPECT_EQ(receiving->mail(client_at("127.0.0.1"), "").tenant, "acme");
  ClientInfo authed = stranger;
  authed.auth_user = "alice";
  authed.auth_tenant = "globex";
  EXPECT_EQ(receiving->mail(authed, "").tenant, "globex");

  // Nothing configured to receive: refused at MAIL as before.
  auto relay_only = InjectionPolicy::create(config()).value();
  EXPECT_FALSE(relay_only->receives());
  auto refused = relay_only->mail(stranger, "");
  EXPECT_EQ(refused.code, 530);
  EXPECT_EQ(refused.enhanced, "5.7.0");
  // An address alone is enough to receive.
  core::InboundConfig one;
  one.addresses = {"fbl@example.com"};
  EXPECT_TRUE(InjectionPolicy::create(config(), one).value()->mail(stranger, "").accepted());
}

TEST(InboundPolicy, InboundRecipientsTable) {
  auto p = InjectionPolicy::create(config(), inbound()).value();
  struct Case {
    const char* rcpt;
    bool inbound;
  };
  const Case cases[] = {
      {"bounce-xyz@bounces.example.com", true},
      {"anything@bounces.example.com", true},
      {"Bounce-XYZ@Bounces.Example.COM", true},  // ASCII case-insensitive
      {"x@bounces.example.com.", true},          // trailing dot stripped
      {"\"quoted@local\"@bounces.example.com", true},
      {"x@fbl.example.org", true},
      {"x@sub.bounces.example.com", false},  // subdomains are not
      {"x@example.com", false},              // nor the parent
      {"x@evilbounces.example.com", false},
      {"x@bounces.example.com.evil", false},
      {"x@bounces.example.com..", false},
      {"\"x@bounces.example.com\"@gmail.com", false},  // the domain follows the last @
      {"unsubscribe@example.com", true},
      {"UNSUBSCRIBE@EXAMPLE.COM", true},
      {"unsubscribe@example.com.", true},
      {"unsubscribe2@example.com", false},
      {"unsubscrib@example.com", false},
      {"unsubscribe@sub.example.com", false},
      {"abuse-reports@mail.example.net", true},
      {"abuse-reports@example.net", false},
      {"someone@gmail.com", false},
      {"bounces.example.com", false},  // no @
      {"@bounces.example.com", false},
      {"x@", false},
      {"", false},
      {"postmaster", false},
  };
  for (const auto& c : cases) EXPECT_EQ(p->inbound_recipient(c.rcpt), c.inbound) << c.rcpt;
}

TEST(InboundPolicy, RcptDecision) {
  auto p = InjectionPolicy::create(config(), inbound()).value();
  const ClientInfo stranger = client_at("203.0.113.5");
  const ClientInfo local = client_at("127.0.0.1");
  ClientInfo authed_client = stranger;
  authed_client.auth_user = "alice";
  authed_client.auth_tenant = "globex";
  const ClientInfo& authed = authed_client;

  // Inbound recipients: accepted for ANY client, with the inbound role.
  for (const ClientInfo* c : {&stranger, &local, &authed}) {
    auto v = p->rcpt(*c, "", "bounce-xyz@bounces.example.com");
    EXPECT_TRUE(v.accepted());
    EXPECT_TRUE(v.inbound);
    EXPECT_TRUE(p->rcpt(*c, "acme", "unsubscribe@example.com").inbound);
  }
  // Everything else: relayed for those who may relay...
  for (const ClientInfo* c : {&local, &authed}) {
    auto v = p->rcpt(*c, "acme", "someone@gmail.com");
    EXPECT_TRUE(v.accepted());
    EXPECT_FALSE(v.inbound);
  }
  // ...and refused for everyone else: never an open relay.
  for (const char* rcpt : {"someone@gmail.com", "x@sub.bounces.example.com", "x@example.com"}) {
    auto v = p->rcpt(stranger, "", rcpt);
    EXPECT_FALSE(v.accepted()) << rcpt;
    EXPECT_FALSE(v.inbound) << rcpt;
    EXPECT_EQ(v.code, 550) << rcpt;
    EXPECT_EQ(v.enhanced, "5.7.1") << rcpt;
    EXPECT_EQ(v.text, "Relaying denied") << rcpt;
  }
  // Whether the client may relay comes from the client, not from the
  // tenant handed back: a stranger passing a tenant gains nothing.
  EXPECT_EQ(p->rcpt(stranger, "acme", "someone@gmail.com").code, 550);

  // Without inbound configuration nothing is inbound; trusted clients
  // relay as before.
  auto relay_only = InjectionPolicy::create(config()).value();
  auto v = relay_only->rcpt(local, "acme", "bounce-xyz@bounces.example.com");
  EXPECT_TRUE(v.accepted());
  EXPECT_FALSE(v.inbound);
  EXPECT_EQ(relay_only->rcpt(stranger, "", "bounce-xyz@bounces.example.com").code, 550);
}

TEST(InboundPolicy, ConfiguredEntriesAreNormalized) {
  core::InboundConfig in;
  in.domains = {"Bounces.Example.COM."};
  in.addresses = {"FBL@Reports.Example.NET."};
  auto p = InjectionPolicy::create(config(), in).value();
  EXPECT_TRUE(p->inbound_recipient("x@bounces.example.com"));
  EXPECT_TRUE(p->inbound_recipient("fbl@reports.example.net"));
  EXPECT_FALSE(p->inbound_recipient("fbl2@reports.example.net"));
}

TEST(InboundPolicy, RefusesMalformedEntriesByName) {
  struct Case {
    std::vector<std::string> domains;
    std::vector<std::string> addresses;
    const char* field;
  };
  const Case cases[] = {
      {{"ok.example", ""}, {}, "inbound.domains[1]"},
      {{"."}, {}, "inbound.domains[0]"},
      {{"a@b.example"}, {}, "inbound.domains[0]"},
      {{}, {"nodomain"}, "inbound.addresses[0]"},
      {{}, {"ok@example.com", "@example.com"}, "inbound.addresses[1]"},
      {{}, {"local@"}, "inbound.addresses[0]"},
      {{}, {"local@."}, "inbound.addresses[0]"},
  };
  for (const auto& c : cases) {
    core::InboundConfig in;
    in.domains = c.domains;
    in.addresses = c.addresses;
    auto p = InjectionPolicy::create(config(), in);
    ASSERT_FALSE(p.has_value()) << c.field;
    EXPECT_EQ(p.error().code, core::Errc::kInvalidArgument);
    EXPECT_EQ(p.error().field, c.field);
  }
}

TEST(Normalize, V4MappedBecomesV4) {
  EXPECT_EQ(server::normalize(addr("::ffff:127.0.0.1")), addr("127.0.0.1"));
  EXPECT_EQ(server::normalize(addr("::1")), addr("::1"));
  EXPECT_EQ(server::normalize(addr("192.0.2.1")), addr("192.0.2.1"));
}

TEST(Received, Rfc5322Date) {
  // 2026-11-24T09:05:03Z was a Tuesday.
  EXPECT_EQ(server::rfc5322_date(core::from_unix_ms(1795511103000)), "Tue, 24 Nov 2026 09:05:03 +0000");
  EXPECT_EQ(server::rfc5322_date(core::from_unix_ms(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST(Received, Header) {
  server::ReceivedFacts f;
  f.helo = "client.example";
  f.address = addr("192.0.2.1");
  f.hostname = "mx.test";
  f.esmtp = true;
  f.when = core::from_unix_ms(1795511103000);
  EXPECT_EQ(server::received_header(f),
            "Received: from client.example ([192.0.2.1])\r\n"
            "\tby mx.test (vestnik) with ESMTP;\r\n"
            "\tTue, 24 Nov 2026 09:05:03 +0000\r\n");
  f.tls = true;
  EXPECT_NE(server::received_header(f).find("with ESMTPS;"), std::string::npos);
  f.auth = true;
  EXPECT_NE(server::received_header(f).find("with ESMTPSA;"), std::string::npos);
  f.tls = false;
  EXPECT_NE(server::received_header(f).find("with ESMTPA;"), std::string::npos);
  f.esmtp = false;
  EXPECT_NE(server::received_header(f).find("with SMTP;"), std::string::npos);
  f.esmtp = true;
  f.smtputf8 = true;
  EXPECT_NE(server::received_header(f).find("with UTF8SMTPA;"), std::string::npos);
  f.esmtp = false;
  f.smtputf8 = false;
  f.address = addr("2001:db8::1");
  EXPECT_NE(server::received_header(f).find("([IPv6:2001:db8::1])"), std::string::npos);
  f.helo = "evil)(x;\xd0\xb8";
  EXPECT_EQ(server::received_header(f).rfind("Received: from evil??x??? (", 0), 0u);
}

}  // namespace
}  // namespace mta
