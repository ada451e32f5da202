// tests/core/config_mta_test.cpp: core/config_mta.cpp — [dns], [smtp],
// [listener] and [accounting]: defaults, a full file, normalised spellings,
// and every validation rule naming its key.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/config.h"

namespace core {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string source_dir() {
  if (const char* env = std::getenv("VESTNIK_SOURCE_DIR"); env && *env) return env;
  return VESTNIK_SOURCE_DIR;
}

// The message of the ConfigError that loading `toml` throws, or "" if none.
std::string load_error(const std::string& toml) {
  try {
    load_config_string(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// A TOML string literal of `s` (paths in the temporary directory).
std::string toml_str(const std::string& s) { return "\"" + s + "\""; }

// A directory with a certificate, a key and a CA bundle in it. Their
// content does not matter to the loader, which checks only that they can
// be read; the TLS code parses them.
class ConfigMtaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vestnik_config_mta_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    cert_ = (dir_ / "cert.pem").string();
    key_ = (dir_ / "key.pem").string();
    ca_ = (dir_ / "ca.pem").string();
    for (const auto& p : {cert_, key_, ca_}) std::ofstream(p) << "-----BEGIN X-----\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A [listener] with a certificate, so that users may be configured.
  std::string tls_listener() const {
    return "[listener]\ntls_cert = " + toml_str(cert_) + "\ntls_key = " + toml_str(key_) + "\n";
  }

  fs::path dir_;
  std::string cert_, key_, ca_;
};

TEST_F(ConfigMtaTest, AbsentSectionsGiveTheDefaults) {
  const auto c = load_config_string("");
  EXPECT_TRUE(c->dns.servers.empty());
  EXPECT_EQ(c->dns.timeout, Duration(5s));
  EXPECT_EQ(c->dns.tries, 3u);
  EXPECT_EQ(c->dns.min_ttl, Duration(30s));
  EXPECT_EQ(c->dns.max_ttl, Duration(1h));
  EXPECT_EQ(c->dns.negative_ttl, Duration(5min));
  EXPECT_EQ(c->dns.tempfail_ttl, Duration(30s));
  EXPECT_EQ(c->dns.cache_entries, 100'000u);

  const auto& s = c->smtp;
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.ehlo_name, "");
  EXPECT_EQ(s.port, 25);
  EXPECT_EQ(s.return_path, "");
  EXPECT_EQ(s.tls, TlsMode::kOpportunistic);
  EXPECT_TRUE(s.tls_policies.empty());
  EXPECT_EQ(s.ca_file, "");
  EXPECT_TRUE(s.routes.empty());
  EXPECT_EQ(s.max_connections, 10u);
  EXPECT_EQ(s.max_messages_per_connection, 100u);
  EXPECT_EQ(s.max_recipients_per_transaction, 50u);
  EXPECT_TRUE(s.pipeline_messages);
  EXPECT_EQ(s.idle_timeout, Duration(5s));
  EXPECT_EQ(s.connect_timeout, Duration(30s));
  EXPECT_EQ(s.greeting_timeout, Duration(5min));
  EXPECT_EQ(s.ehlo_timeout, Duration(5min));
  EXPECT_EQ(s.tls_timeout, Duration(1min));
  EXPECT_EQ(s.mail_timeout, Duration(5min));
  EXPECT_EQ(s.rcpt_timeout, Duration(5min));
  EXPECT_EQ(s.data_timeout, Duration(2min));
  EXPECT_EQ(s.data_block_timeout, Duration(3min));
  EXPECT_EQ(s.data_done_timeout, Duration(10min));
  EXPECT_EQ(s.rset_timeout, Duration(30s));
  EXPECT_EQ(s.quit_timeout, Duration(10s));

  const auto& l = c->listener;
  EXPECT_FALSE(l.enabled);
  EXPECT_EQ(l.listen, "127.0.0.1:2525");
  EXPECT_EQ(l.hostname, "");
  EXPECT_EQ(l.networks, (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
  EXPECT_EQ(l.network_tenant, "");
  EXPECT_TRUE(l.users.empty());
  EXPECT_EQ(l.tls_cert, "");
  EXPECT_EQ(l.tls_key, "");
  EXPECT_EQ(l.max_message_bytes, 50ull << 20);
  EXPECT_EQ(l.max_recipients, 1000u);
  EXPECT_TRUE(l.pipelining);
  EXPECT_TRUE(l.chunking);
  EXPECT_EQ(l.max_connections, 1000u);
  EXPECT_EQ(l.max_connections_per_ip, 100u);
  EXPECT_EQ(l.command_timeout, Duration(5min));
  EXPECT_EQ(l.data_timeout, Duration(10min));

  EXPECT_TRUE(c->accounting.enabled);
  EXPECT_EQ(c->accounting.file, "");
  EXPECT_EQ(c->accounting.max_bytes, 256ull << 20);
  EXPECT_EQ(c->accounting.max_age, Duration(24h));
  EXPECT_EQ(c->accounting.keep, 10u);

  // The built-in snapshot agrees with an empty file.
  const auto d = default_config();
  EXPECT_EQ(d->listener.networks, l.networks);
  EXPECT_EQ(d->smtp.data_done_timeout, s.data_done_timeout);
  // Empty sections are fine too.
  EXPECT_EQ(load_error("[dns]\n[smtp]\n[listener]\n[accounting]\n"), "");
}

TEST_F(ConfigMtaTest, ReadsAFullFile) {
  const auto c = load_config_string(std::string(R"(
[[tenants]]
id = "school"
[[tenants]]
id = "shop"

[dns]
servers = ["127.0.0.1:5353", "[::1]:53"]
timeout = "2s"
tries = 2
min_ttl = "1s"
max_ttl = "10m"
negative_ttl = "1m"
tempfail_ttl = "5s"
cache_entries = 1000

[smtp]
enabled = false
ehlo_name = "mail.example.com"
port = 2525
return_path = "bounce-{token}@bounces.example.com"
tls = "require"
ca_file = )") + toml_str(ca_) + R"(
max_connections = 20
max_messages_per_connection = 500
max_recipients_per_transaction = 1
pipeline_messages = false
idle_timeout = "10s"
connect_timeout = "11s"
greeting_timeout = "12s"
ehlo_timeout = "13s"
tls_timeout = "14s"
mail_timeout = "15s"
rcpt_timeout = "16s"
data_timeout = "17s"
data_block_timeout = "18s"
data_done_timeout = "19s"
rset_timeout = "20s"
quit_timeout = "21s"

[[smtp.routes]]
domain = "example.org"
host = "127.0.0.1"
port = 2526

[[smtp.routes]]
domain = "*"
host = "smarthost.example.net"

[[smtp.tls_policies]]
domain = "mail.ru"
mode = "disabled"

[[smtp.tls_policies]]
domain = ".gov.example"
mode = "opportunistic"

[listener]
enabled = true
listen = "0.0.0.0:587"
hostname = "inject.example.com"
networks = ["10.0.0.0/8", "2001:db8::/32"]
network_tenant = "shop"
tls_cert = )" + toml_str(cert_) + R"(
tls_key = )" + toml_str(key_) + R"(
max_message_bytes = "10MiB"
max_recipients = 50
pipelining = false
chunking = false
max_connections = 200
max_connections_per_ip = 20
command_timeout = "1m"
data_timeout = "2m"

[[listener.users]]
name = "crm"
password = "correct horse battery"
tenant = "school"

[accounting]
enabled = false
file = "/var/log/vestnik/accounting.jsonl"
max_bytes = "1GiB"
max_age = "1h"
keep = 0
)");
  EXPECT_EQ(c->dns.servers, (std::vector<std::string>{"127.0.0.1:5353", "[::1]:53"}));
  EXPECT_EQ(c->dns.timeout, Duration(2s));
  EXPECT_EQ(c->dns.tries, 2u);
  EXPECT_EQ(c->dns.min_ttl, Duration(1s));
  EXPECT_EQ(c->dns.max_ttl, Duration(10min));
  EXPECT_EQ(c->dns.negative_ttl, Duration(1min));
  EXPECT_EQ(c->dns.tempfail_ttl, Duration(5s));
  EXPECT_EQ(c->dns.cache_entries, 1000u);

  const auto& s = c->smtp;
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.ehlo_name, "mail.example.com");
  EXPECT_EQ(s.port, 2525);
  EXPECT_EQ(s.return_path, "bounce-{token}@bounces.example.com");
  EXPECT_EQ(s.tls, TlsMode::kRequire);
  EXPECT_EQ(s.ca_file, ca_);
  EXPECT_EQ(s.max_connections, 20u);
  EXPECT_EQ(s.max_messages_per_connection, 500u);
  EXPECT_EQ(s.max_recipients_per_transaction, 1u);
  EXPECT_FALSE(s.pipeline_messages);
  EXPECT_EQ(s.idle_timeout, Duration(10s));
  EXPECT_EQ(s.connect_timeout, Duration(11s));
  EXPECT_EQ(s.greeting_timeout, Duration(12s));
  EXPECT_EQ(s.ehlo_timeout, Duration(13s));
  EXPECT_EQ(s.tls_timeout, Duration(14s));
  EXPECT_EQ(s.mail_timeout, Duration(15s));
  EXPECT_EQ(s.rcpt_timeout, Duration(16s));
  EXPECT_EQ(s.data_timeout, Duration(17s));
  EXPECT_EQ(s.data_block_timeout, Duration(18s));
  EXPECT_EQ(s.data_done_timeout, Duration(19s));
  EXPECT_EQ(s.rset_timeout, Duration(20s));
  EXPECT_EQ(s.quit_timeout, Duration(21s));
  ASSERT_EQ(s.routes.size(), 2u);
  EXPECT_EQ(s.routes[0].domain, "example.org");
  EXPECT_EQ(s.routes[0].host, "127.0.0.1");
  EXPECT_EQ(s.routes[0].port, 2526);
  EXPECT_EQ(s.routes[1].domain, "*");
  EXPECT_EQ(s.routes[1].host, "smarthost.example.net");
  EXPECT_EQ(s.routes[1].port, 25);
  ASSERT_EQ(s.tls_policies.size(), 2u);
  EXPECT_EQ(s.tls_policies[0].domain, "mail.ru");
  EXPECT_EQ(s.tls_policies[0].mode, TlsMode::kDisabled);
  EXPECT_EQ(s.tls_policies[1].domain, ".gov.example");
  EXPECT_EQ(s.tls_policies[1].mode, TlsMode::kOpportunistic);

  const auto& l = c->listener;
  EXPECT_TRUE(l.enabled);
  EXPECT_EQ(l.listen, "0.0.0.0:587");
  EXPECT_EQ(l.hostname, "inject.example.com");
  EXPECT_EQ(l.networks, (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32"}));
  EXPECT_EQ(l.network_tenant, "shop");
  EXPECT_EQ(l.tls_cert, cert_);
  EXPECT_EQ(l.tls_key, key_);
  EXPECT_EQ(l.max_message_bytes, 10u << 20);
  EXPECT_EQ(l.max_recipients, 50u);
  EXPECT_FALSE(l.pipelining);
  EXPECT_FALSE(l.chunking);
  EXPECT_EQ(l.max_connections, 200u);
  EXPECT_EQ(l.max_connections_per_ip, 20u);
  EXPECT_EQ(l.command_timeout, Duration(1min));
  EXPECT_EQ(l.data_timeout, Duration(2min));
  ASSERT_EQ(l.users.size(), 1u);
  EXPECT_EQ(l.users[0].name, "crm");
  EXPECT_EQ(l.users[0].password, "correct horse battery");
  EXPECT_EQ(l.users[0].tenant, "school");

  EXPECT_FALSE(c->accounting.enabled);
  EXPECT_EQ(c->accounting.file, "/var/log/vestnik/accounting.jsonl");
  EXPECT_EQ(c->accounting.max_bytes, 1u << 30);
  EXPECT_EQ(c->accounting.max_age, Duration(1h));
  EXPECT_EQ(c->accounting.keep, 0u);
}

TEST_F(ConfigMtaTest, NormalisesSpellings) {
  const auto c = load_config_string(R"(
[dns]
servers = ["192.0.2.53", "[0:0::1]", "[2001:DB8::53]:5353"]

[[smtp.routes]]
domain = "ПРИМЕР.РФ"
host = "[2001:db8::25]"

[[smtp.routes]]
domain = ".Example.COM"
host = "MX.Example.com"

[[smtp.tls_policies]]
domain = "Mail.RU"
mode = "require"

[listener]
networks = ["192.0.2.7", "2001:DB8::/32", "0.0.0.0/0", "::/0", "fe80::1"]
)");
  // Every server carries its port, addresses in inet_ntop's spelling.
  EXPECT_EQ(c->dns.servers,
            (std::vector<std::string>{"192.0.2.53:53", "[::1]:53", "[2001:db8::53]:5353"}));
  ASSERT_EQ(c->smtp.routes.size(), 2u);
  // Domains lower case, Cyrillic too; IPv6 hosts without brackets; host
  // names as written (DNS does not care).
  EXPECT_EQ(c->smtp.routes[0].domain, "пример.рф");
  EXPECT_EQ(c->smtp.routes[0].host, "2001:db8::25");
  EXPECT_EQ(c->smtp.routes[1].domain, ".example.com");
  EXPECT_EQ(c->smtp.routes[1].host, "MX.Example.com");
  EXPECT_EQ(c->smtp.tls_policies[0].domain, "mail.ru");
  // A bare address is one host; networks are canonical.
  EXPECT_EQ(c->listener.networks, (std::vector<std::string>{"192.0.2.7/32", "2001:db8::/32",
                                                            "0.0.0.0/0", "::/0", "fe80::1/128"}));
}

TEST_F(ConfigMtaTest, AcceptsBoundaryValues) {
  const std::vector<std::string> good = {
      "dns.servers = []",
      "dns.servers = [\"127.0.0.1:1\", \"127.0.0.1:65535\"]",
      "dns.tries = 1",
      "dns.tries = 10",
      "dns.timeout = \"100ms\"",
      "dns.timeout = \"60s\"",
      "[dns]\nmin_ttl = \"0s\"\nmax_ttl = \"1s\"",
      "[dns]\nmin_ttl = \"1h\"\nmax_ttl = \"1h\"",
      "dns.max_ttl = \"7d\"",
      "dns.cache_entries = 10000000",
      "smtp.ehlo_name = \"\"",
      "smtp.ehlo_name = \"localhost\"",
      "smtp.ehlo_name = \"mx-1.Example.com\"",
      "smtp.port = 1",
      "smtp.port = 65535",
      "smtp.return_path = \"\"",
      "smtp.return_path = \"{token}@{domain}\"",
      "smtp.return_path = \"bounce+{tenant}-{token}@bounces.example.com\"",
      "smtp.return_path = \"postmaster@example.com\"",
      "smtp.ca_file = \"\"",
      "smtp.tls = \"disabled\"",
      "smtp.routes = []",
      "smtp.tls_policies = []",
      "[[smtp.routes]]\ndomain = \"a.example\"\nhost = \"192.0.2.1\"\nport = 65535",
      "[[smtp.routes]]\ndomain = \"a.example\"\nhost = \"2001:db8::1\"\nport = 1",
      // The same domain in routes and in TLS policies is no conflict.
      "[[smtp.routes]]\ndomain = \"*\"\nhost = \"relay\"\n"
      "[[smtp.tls_policies]]\ndomain = \"*\"\nmode = \"require\"",
      // ".x" and "x" are different patterns.
      "[[smtp.routes]]\ndomain = \"x.example\"\nhost = \"relay\"\n"
      "[[smtp.routes]]\ndomain = \".x.example\"\nhost = \"relay\"",
      "smtp.max_connections = 10000",
      "smtp.max_messages_per_connection = 100000",
      "smtp.max_recipients_per_transaction = 1000",
      "smtp.data_done_timeout = \"1h\"",
      "smtp.connect_timeout = \"1s\"",
      "listener.listen = \"[::1]:0\"",
      "listener.networks = []",
      "listener.users = []",
      "listener.network_tenant = \"\"",
      "listener.network_tenant = \"default\"",
      "listener.max_message_bytes = \"1KiB\"",
      "listener.max_message_bytes = \"1GiB\"",
      "listener.max_recipients = 100000",
      "[listener]\nmax_connections = 1\nmax_connections_per_ip = 1",
      "[listener]\nmax_connections = 5\nmax_connections_per_ip = 5",
      "[listener]\nenabled = true\nnetworks = [\"0.0.0.0/0\"]",
      "accounting.max_bytes = \"1MiB\"",
      "accounting.max_age = \"1m\"",
      "accounting.keep = 1000",
      "accounting.file = \"\"",
  };
  for (const auto& g : good) EXPECT_EQ(load_error(g), "") << g;
}

struct BadCase {
  std::string toml;
  std::string key;   // the message must start with "<key>: "
  std::string what;  // and contain this
};

void expect_bad(const std::vector<BadCase>& cases) {
  for (const auto& c : cases) {
    const std::string err = load_error(c.toml);
    EXPECT_TRUE(err.starts_with(c.key + ": ")) << c.toml << "\n  => " << err;
    EXPECT_NE(err.find(c.what), std::string::npos) << c.toml << "\n  => " << err;
  }
}

TEST_F(ConfigMtaTest, RejectsBadDns) {
  expect_bad({
      {"[dns]\nserver = [\"1.1.1.1\"]", "dns.server", "unknown key"},
      {"dns = 1", "dns", "expected a table"},
      {"dns.servers = \"1.1.1.1\"", "dns.servers", "expected an array"},
      {"dns.servers = [53]", "dns.servers[0]", "expected a string"},
      {"dns.servers = [\"dns.google\"]", "dns.servers[0]", "must be an IP address"},
      {"dns.servers = [\"dns.google:53\"]", "dns.servers[0]", "must be an IP address"},
      {"dns.servers = [\"300.1.1.1\"]", "dns.servers[0]", "not an IP address"},
      {"dns.servers = [\"\"]", "dns.servers[0]", "not an IP address"},
      {"dns.servers = [\"1.1.1.1:0\"]", "dns.servers[0]", "port must be between 1 and 65535"},
      {"dns.servers = [\"1.1.1.1:65536\"]", "dns.servers[0]", "port must be between 1 and 65535"},
      {"dns.servers = [\"1.1.1.1:\"]", "dns.servers[0]", "port must be between 1 and 65535"},
      {"dns.servers = [\"1.1.1.1:5x\"]", "dns.servers[0]", "port must be between 1 and 65535"},
      {"dns.servers = [\"::1\"]", "dns.servers[0]", "in brackets"},
      {"dns.servers = [\"::1:53\"]", "dns.servers[0]", "in brackets"},
      {"dns.servers = [\"[::1\"]", "dns.servers[0]", "not an IP address"},
      {"dns.servers = [\"[::1]53\"]", "dns.servers[0]", "not an IP address"},
      {"dns.servers = [\"[1.1.1.1]:53\"]", "dns.servers[0]", "not an IP address"},
      {"dns.servers = [\"1.1.1.1\", \"8.8.8.8\", \"1.1.1.1:53\"]", "dns.servers[2]",
       "duplicate server \"1.1.1.1:53\""},
      {"dns.tries = 0", "dns.tries", "must be between 1 and 10"},
      {"dns.tries = 11", "dns.tries", "must be between 1 and 10"},
      {"dns.timeout = \"50ms\"", "dns.timeout", "must be between 100ms and 1m"},
      {"dns.timeout = \"61s\"", "dns.timeout", "must be between 100ms and 1m"},
      {"dns.timeout = 5", "dns.timeout", "expected a duration"},
      {"dns.min_ttl = \"2d\"", "dns.min_ttl", "must be between 0s and 1d"},
      {"dns.max_ttl = \"0s\"", "dns.max_ttl", "must be between 1s and 7d"},
      {"dns.negative_ttl = \"2d\"", "dns.negative_ttl", "must be between 0s and 1d"},
      {"dns.tempfail_ttl = \"2h\"", "dns.tempfail_ttl", "must be between 0s and 1h"},
      {"dns.cache_entries = 0", "dns.cache_entries", "must be between 1 and 10000000"},
      {"[dns]\nmin_ttl = \"2m\"\nmax_ttl = \"1m\"", "dns.min_ttl",
       "must not exceed dns.max_ttl (1m)"},
      // Only max_ttl set, below the default min_ttl: max_ttl is named.
      {"dns.max_ttl = \"10s\"", "dns.max_ttl", "must not be below dns.min_ttl (30s)"},
  });
}

TEST_F(ConfigMtaTest, RejectsBadSmtp) {
  expect_bad({
      {"[smtp]\nehlo = \"x\"", "smtp.ehlo", "unknown key"},
      {"smtp.enabled = 1", "smtp.enabled", "expected a boolean"},
      {"smtp.ehlo_name = \"bad_name\"", "smtp.ehlo_name", "not a host name"},
      {"smtp.ehlo_name = \"-a.example\"", "smtp.ehlo_name", "not a host name"},
      {"smtp.ehlo_name = \"a..example\"", "smtp.ehlo_name", "not a host name"},
      {"smtp.ehlo_name = \"a.example.\"", "smtp.ehlo_name", "not a host name"},
      {"smtp.ehlo_name = \"192.0.2.1\"", "smtp.ehlo_name", "not a host name"},
      {"smtp.ehlo_name = \"[192.0.2.1]\"", "smtp.ehlo_name", "not a host name"},
      {"smtp.ehlo_name = \"почта.рф\"", "smtp.ehlo_name", "not a host name"},
      {"smtp.port = 0", "smtp.port", "must be between 1 and 65535"},
      {"smtp.port = 65536", "smtp.port", "must be between 1 and 65535"},
      {"smtp.tls = \"required\"", "smtp.tls", "unknown TLS mode \"required\""},
      {"smtp.tls = true", "smtp.tls", "expected a string"},
      {"smtp.max_connections = 0", "smtp.max_connections", "must be between 1 and 10000"},
      {"smtp.max_connections = 10001", "smtp.max_connections", "must be between 1 and 10000"},
      {"smtp.max_messages_per_connection = 0", "smtp.max_messages_per_connection",
       "must be between 1 and 100000"},
      {"smtp.max_messages_per_connection = 100001", "smtp.max_messages_per_connection",
       "must be between 1 and 100000"},
      {"smtp.max_recipients_per_transaction = 0", "smtp.max_recipients_per_transaction",
       "must be between 1 and 1000"},
      {"smtp.max_recipients_per_transaction = 1001", "smtp.max_recipients_per_transaction",
       "must be between 1 and 1000"},
  });
}

TEST_F(ConfigMtaTest, EgressSources) {
  auto c = load_config_string("[[smtp.sources]]\naddress = \"192.0.2.10\"\nehlo_name = \"out1.example.com\"\n"
                "max_connections = 20\n[[smtp.sources]]\naddress = \"[2001:DB8::0:10]\"\n");
  ASSERT_EQ(c->smtp.sources.size(), 2u);
  EXPECT_EQ(c->smtp.sources[0].address, "192.0.2.10");
  EXPECT_EQ(c->smtp.sources[0].ehlo_name, "out1.example.com");
  EXPECT_EQ(c->smtp.sources[0].max_connections, 20u);
  EXPECT_EQ(c->smtp.sources[1].address, "2001:db8::10") << "canonical form";
  EXPECT_EQ(c->smtp.sources[1].max_connections, 0u);
  expect_bad({
      {"[[smtp.sources]]\nehlo_name = \"a.example\"", "smtp.sources[0].address", "required"},
      {"[[smtp.sources]]\naddress = \"out.example.com\"", "smtp.sources[0].address",
       "not an IP address"},
      {"[[smtp.sources]]\naddress = \"192.0.2.1\"\n[[smtp.sources]]\naddress = \"192.0.2.1\"",
       "smtp.sources[1].address", "duplicate source address"},
      {"[[smtp.sources]]\naddress = \"192.0.2.1\"\nehlo_name = \"bad_name\"",
       "smtp.sources[0].ehlo_name", "not a host name"},
      {"[[smtp.sources]]\naddress = \"192.0.2.1\"\nport = 25", "smtp.sources[0].port",
       "unknown key"},
  });
}

TEST_F(ConfigMtaTest, RejectsBadSmtpTimeouts) {
  std::vector<BadCase> cases;
  for (std::string k :
       {"idle_timeout", "connect_timeout", "greeting_timeout", "ehlo_timeout", "tls_timeout",
        "mail_timeout", "rcpt_timeout", "data_timeout", "data_block_timeout", "data_done_timeout",
        "rset_timeout", "quit_timeout"}) {
    cases.push_back({"smtp." + k + " = \"999ms\"", "smtp." + k, "must be between 1s and 1h"});
    cases.push_back({"smtp." + k + " = \"1h1s\"", "smtp." + k, "must be between 1s and 1h"});
    cases.push_back({"smtp." + k + " = \"soon\"", "smtp." + k, "not a duration"});
  }
  expect_bad(cases);
}

TEST_F(ConfigMtaTest, RejectsBadReturnPath) {
  const std::string key = "smtp.return_path";
  expect_bad({
      {"smtp.return_path = \"bounce\"", key, "exactly one '@'"},
      {"smtp.return_path = \"a@b@example.com\"", key, "exactly one '@'"},
      {"smtp.return_path = \"@example.com\"", key, "nothing before the '@'"},
      {"smtp.return_path = \"bounce@\"", key, "a domain after the '@'"},
      {"smtp.return_path = \"bounce@bad_domain\"", key, "a domain after the '@'"},
      {"smtp.return_path = \"bounce-{id}@example.com\"", key,
       "unknown placeholder {id} (expected {token}, {domain} or {tenant})"},
      {"smtp.return_path = \"bounce-{Token}@example.com\"", key, "unknown placeholder {Token}"},
      {"smtp.return_path = \"bounce-{}@example.com\"", key, "unknown placeholder {}"},
      {"smtp.return_path = \"bounce-{token@example.com\"", key, "'{' without its '}'"},
      {"smtp.return_path = \"bounce-token}@example.com\"", key, "'}' without its '{'"},
      {"smtp.return_path = \"bounce {token}@example.com\"", key, "without spaces"},
      {"smtp.return_path = \"bounce-{token}@example.com \"", key, "without spaces"},
      {"smtp.return_path = \"bounce\\t@example.com\"", key, "without spaces"},
      {"smtp.return_path = \"<bounce@example.com>\"", key, "without angle brackets"},
      {"smtp.return_path = \"почта@example.com\"", key, "printable ASCII"},
      {"smtp.return_path = \"" + std::string(250, 'a') + "@example.com\"", key,
       "at most 256 characters"},
  });
}

TEST_F(ConfigMtaTest, RejectsBadRoutesAndPolicies) {
  const std::string route = "[[smtp.routes]]\n";
  const std::string policy = "[[smtp.tls_policies]]\n";
  expect_bad({
      {"[smtp.routes]\ndomain = \"x\"", "smtp.routes", "expected an array of tables"},
      {"smtp.routes = [1]", "smtp.routes", "expected an array of tables"},
      {route + "host = \"relay\"", "smtp.routes[0].domain", "is required"},
      {route + "domain = \"x.example\"", "smtp.routes[0].host", "is required"},
      {route + "domain = \"x.example\"\nhost = \"relay\"\nhots = \"y\"", "smtp.routes[0].hots",
       "unknown key"},
      {route + "domain = \"\"\nhost = \"relay\"", "smtp.routes[0].domain", "is not a domain"},
      {route + "domain = \"*.example.com\"\nhost = \"relay\"", "smtp.routes[0].domain",
       "is not a domain"},
      {route + "domain = \".\"\nhost = \"relay\"", "smtp.routes[0].domain", "is not a domain"},
      {route + "domain = \"..example.com\"\nhost = \"relay\"", "smtp.routes[0].domain",
       "is not a domain"},
      {route + "domain = \"exa mple.com\"\nhost = \"relay\"", "smtp.routes[0].domain",
       "is not a domain"},
      {route + "domain = \"example.com.\"\nhost = \"relay\"", "smtp.routes[0].domain",
       "is not a domain"},
      {route + "domain = \"-x.example\"\nhost = \"relay\"", "smtp.routes[0].domain",
       "is not a domain"},
      {route + "domain = \"x.example\"\nhost = \"\"", "smtp.routes[0].host",
       "not an IP address or host name"},
      {route + "domain = \"x.example\"\nhost = \"bad_host\"", "smtp.routes[0].host",
       "not an IP address or host name"},
      {route + "domain = \"x.example\"\nhost = \"300.1.1.1\"", "smtp.routes[0].host",
       "not an IP address or host name"},
      {route + "domain = \"x.example\"\nhost = \"[nope]\"", "smtp.routes[0].host",
       "not an IP address or host name"},
      {route + "domain = \"x.example\"\nhost = \"relay:25\"", "smtp.routes[0].host",
       "not an IP address or host name"},
      {route + "domain = \"x.example\"\nhost = \"relay\"\nport = 0", "smtp.routes[0].port",
       "must be between 1 and 65535"},
      {route + "domain = \"a.example\"\nhost = \"relay\"\n" + route +
           "domain = \"b.example\"\nhost = \"relay\"\n" + route +
           "domain = \"x.example\"\nhost = \"relay\"\nport = 65536",
       "smtp.routes[2].port", "must be between 1 and 65535"},
      // Duplicates are found after lower-casing.
      {route + "domain = \"x.example\"\nhost = \"relay\"\n" + route +
           "domain = \"X.Example\"\nhost = \"other\"",
       "smtp.routes[1].domain", "duplicate domain \"x.example\""},
      {route + "domain = \"*\"\nhost = \"relay\"\n" + route + "domain = \"*\"\nhost = \"other\"",
       "smtp.routes[1].domain", "duplicate domain \"*\""},
      {policy + "mode = \"require\"", "smtp.tls_policies[0].domain", "is required"},
      {policy + "domain = \"x.example\"", "smtp.tls_policies[0].mode", "is required"},
      {policy + "domain = \"x.example\"\nmode = \"strict\"", "smtp.tls_policies[0].mode",
       "unknown TLS mode \"strict\" (expected disabled, opportunistic or require)"},
      {policy + "domain = \"x_y.example\"\nmode = \"require\"", "smtp.tls_policies[0].domain",
       "is not a domain"},
      {policy + "domain = \"x.example\"\nmode = \"require\"\nverify = true",
       "smtp.tls_policies[0].verify", "unknown key"},
      {policy + "domain = \"Mail.ru\"\nmode = \"require\"\n" + policy +
           "domain = \"mail.RU\"\nmode = \"disabled\"",
       "smtp.tls_policies[1].domain", "duplicate domain \"mail.ru\""},
  });
}

TEST_F(ConfigMtaTest, RejectsBadListener) {
  expect_bad({
      {"[listener]\nport = 25", "listener.port", "unknown key"},
      {"listener.listen = \"2525\"", "listener.listen", "not host:port"},
      {"listener.listen = \"[::1]\"", "listener.listen", "not host:port"},
      {"listener.hostname = \"a_b.example\"", "listener.hostname", "not a host name"},
      {"listener.networks = \"10.0.0.0/8\"", "listener.networks", "expected an array"},
      {"listener.networks = [\"10.0.0.1/8\"]", "listener.networks[0]",
       "host bits set (did you mean \"10.0.0.0/8\"?)"},
      {"listener.networks = [\"192.168.1.130/25\"]", "listener.networks[0]",
       "did you mean \"192.168.1.128/25\"?"},
      {"listener.networks = [\"127.0.0.0/8\", \"2001:db8::1/32\"]", "listener.networks[1]",
       "did you mean \"2001:db8::/32\"?"},
      {"listener.networks = [\"10.0.0.0/33\"]", "listener.networks[0]",
       "prefix must be between 0 and 32"},
      {"listener.networks = [\"::/129\"]", "listener.networks[0]",
       "prefix must be between 0 and 128"},
      {"listener.networks = [\"10.0.0.0/\"]", "listener.networks[0]", "prefix must be"},
      {"listener.networks = [\"10.0.0.0/-8\"]", "listener.networks[0]", "prefix must be"},
      {"listener.networks = [\"10.0.0/8\"]", "listener.networks[0]", "is not a network"},
      {"listener.networks = [\"localhost/8\"]", "listener.networks[0]", "is not a network"},
      {"listener.networks = [\"[::1]/128\"]", "listener.networks[0]", "is not a network"},
      {"listener.networks = [\"\"]", "listener.networks[0]", "is not a network"},
      {"listener.networks = [\"10.0.0.0/8\", \"10.0.0.0/8\"]", "listener.networks[1]",
       "duplicate network \"10.0.0.0/8\""},
      {"listener.max_message_bytes = 1023", "listener.max_message_bytes",
       "must be between 1KiB and 1GiB"},
      {"listener.max_message_bytes = \"2GiB\"", "listener.max_message_bytes",
       "must be between 1KiB and 1GiB"},
      {"listener.max_recipients = 0", "listener.max_recipients", "must be between 1 and 100000"},
      {"listener.max_recipients = 100001", "listener.max_recipients",
       "must be between 1 and 100000"},
      {"listener.pipelining = \"no\"", "listener.pipelining", "expected a boolean"},
      {"listener.max_connections = 0", "listener.max_connections", "must be between 1 and"},
      {"listener.max_connections_per_ip = 0", "listener.max_connections_per_ip",
       "must be between 1 and"},
      {"[listener]\nmax_connections = 10\nmax_connections_per_ip = 11",
       "listener.max_connections_per_ip", "must not exceed listener.max_connections (10)"},
      // Only max_connections set, below the default per-IP limit.
      {"listener.max_connections = 50", "listener.max_connections",
       "must not be below listener.max_connections_per_ip (100)"},
      {"listener.command_timeout = \"500ms\"", "listener.command_timeout",
       "must be between 1s and 1h"},
      {"listener.data_timeout = \"2h\"", "listener.data_timeout", "must be between 1s and 1h"},
      {"[listener]\nenabled = true\nnetworks = []", "listener.enabled", "accepts mail from nobody"},
  });
}

TEST_F(ConfigMtaTest, ChecksListenerTenants) {
  const std::string tenants = "[[tenants]]\nid = \"school\"\n[[tenants]]\nid = \"shop\"\n";
  const std::string user = "[[listener.users]]\nname = \"crm\"\npassword = \"12345678\"\n";
  // Tenants configured: network_tenant and every user name one of them.
  expect_bad({
      {tenants + "[listener]\nnetwork_tenant = \"default\"", "listener.network_tenant",
       "unknown tenant \"default\" (not in [[tenants]])"},
      {tenants + tls_listener() + user, "listener.users[0].tenant",
       "is required when [[tenants]] are configured"},
      {tenants + tls_listener() + user + "tenant = \"nobody\"", "listener.users[0].tenant",
       "unknown tenant \"nobody\""},
      // [[tenants]] after [listener] in the file are still known.
      {tls_listener() + "network_tenant = \"shop\"\n" + user + "tenant = \"nobody\"\n" + tenants,
       "listener.users[0].tenant", "unknown tenant \"nobody\""},
  });
  const auto c = load_config_string(tls_listener() + "network_tenant = \"shop\"\n" + user +
                                    "tenant = \"school\"\n" + tenants);
  EXPECT_EQ(c->listener.network_tenant, "shop");
  EXPECT_EQ(c->listener.users.at(0).tenant, "school");

  // No tenants: the daemon's one tenant is "default".
  expect_bad({
      {"listener.network_tenant = \"shop\"", "listener.network_tenant",
       "no [[tenants]] are configured; the only tenant is \"default\""},
      {tls_listener() + user + "tenant = \"shop\"", "listener.users[0].tenant",
       "the only tenant is \"default\""},
  });
  const auto d = load_config_string(tls_listener() + user + "[[listener.users]]\nname = \"b\"\n" +
                                    "password = \"abcdefgh\"\ntenant = \"default\"\n");
  ASSERT_EQ(d->listener.users.size(), 2u);
  EXPECT_EQ(d->listener.users[0].tenant, "default");  // filled in
  EXPECT_EQ(d->listener.users[1].tenant, "default");
}

TEST_F(ConfigMtaTest, RejectsBadUsers) {
  const std::string u = "[[listener.users]]\n";
  const std::string l = tls_listener();
  expect_bad({
      {l + u + "password = \"12345678\"", "listener.users[0].name", "is required"},
      {l + u + "name = \"\"\npassword = \"12345678\"", "listener.users[0].name",
       "1 to 256 characters"},
      {l + u + "name = \"a\\nb\"\npassword = \"12345678\"", "listener.users[0].name",
       "no control characters"},
      {l + u + "name = \"a\"\npassword = \"12345678\"\n" + u +
           "name = \"a\"\npassword = \"abcdefgh\"",
       "listener.users[1].name", "duplicate user \"a\""},
      {l + u + "name = \"a\"", "listener.users[0].password", "is required"},
      {l + u + "name = \"a\"\npassword = \"1234567\"", "listener.users[0].password",
       "8 to 256 characters"},
      {l + u + "name = \"a\"\npassword = \"" + std::string(257, 'x') + "\"",
       "listener.users[0].password", "8 to 256 characters"},
      {l + u + "name = \"a\"\npassword = \"1234\\u000056789\"", "listener.users[0].password",
       "without control characters"},
      {l + u + "name = \"a\"\npassword = \"12345678\"\nrole = \"admin\"", "listener.users[0].role",
       "unknown key"},
      {l + "users = [1]", "listener.users", "expected an array of tables"},
  });
}

TEST_F(ConfigMtaTest, ChecksTlsFiles) {
  const std::string user = "[[listener.users]]\nname = \"crm\"\npassword = \"12345678\"\n";
  const std::string missing = (dir_ / "missing.pem").string();
  expect_bad({
      // AUTH only over TLS.
      {user, "listener.tls_cert", "must be set when [[listener.users]] are configured"},
      {"[listener]\ntls_cert = " + toml_str(cert_), "listener.tls_key",
       "must be set together with listener.tls_cert"},
      {"[listener]\ntls_key = " + toml_str(key_), "listener.tls_cert",
       "must be set together with listener.tls_key"},
      {"[listener]\ntls_cert = " + toml_str(missing) + "\ntls_key = " + toml_str(key_),
       "listener.tls_cert", "cannot read \"" + missing + "\": No such file or directory"},
      {"[listener]\ntls_cert = " + toml_str(cert_) + "\ntls_key = " + toml_str(dir_.string()),
       "listener.tls_key", "is not a regular file"},
      {"smtp.ca_file = " + toml_str(missing), "smtp.ca_file", "cannot read"},
      {"smtp.ca_file = " + toml_str(dir_.string()), "smtp.ca_file", "is not a regular file"},
  });
  EXPECT_EQ(load_error("[smtp]\nca_file = " + toml_str(ca_)), "");
  EXPECT_EQ(load_error(tls_listener() + user), "");
}

TEST_F(ConfigMtaTest, RefusesUnreadableFiles) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  ASSERT_EQ(::chmod(ca_.c_str(), 0), 0);
  const std::string err = load_error("smtp.ca_file = " + toml_str(ca_));
  EXPECT_TRUE(err.starts_with("smtp.ca_file: cannot read")) << err;
  EXPECT_NE(err.find("Permission denied"), std::string::npos) << err;
}

TEST_F(ConfigMtaTest, RejectsBadAccounting) {
  expect_bad({
      {"[accounting]\npath = \"x\"", "accounting.path", "unknown key"},
      {"accounting.enabled = \"yes\"", "accounting.enabled", "expected a boolean"},
      {"accounting.file = 5", "accounting.file", "expected a string"},
      {"accounting.file = \"a\\u0000b\"", "accounting.file", "must not contain NUL"},
      {"accounting.max_bytes = \"512KiB\"", "accounting.max_bytes",
       "must be between 1MiB and 1TiB"},
      {"accounting.max_bytes = -1", "accounting.max_bytes", "must not be negative"},
      {"accounting.max_age = \"59s\"", "accounting.max_age", "must be between 1m and 365d"},
      {"accounting.keep = -1", "accounting.keep", "must be between 0 and 1000"},
      {"accounting.keep = 1001", "accounting.keep", "must be between 0 and 1000"},
  });
}

TEST_F(ConfigMtaTest, ErrorsCarryKeyAndLine) {
  try {
    load_config_string(
        "[[smtp.routes]]\ndomain = \"a.example\"\nhost = \"relay\"\n"
        "[[smtp.routes]]\ndomain = \"b.example\"\nhost = \"relay\"\n"
        "[[smtp.routes]]\nport = 70000\ndomain = \"c.example\"\nhost = \"relay\"\n");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "smtp.routes[2].port");
    EXPECT_STREQ(e.what(), "smtp.routes[2].port: must be between 1 and 65535 (line 8)");
  }
}

TEST_F(ConfigMtaTest, PasswordsAreNotEchoed) {
  for (std::string password : {"hunter2", "hunter2\\u0001hunter2"}) {
    const std::string err = load_error(
        tls_listener() + "[[listener.users]]\nname = \"crm\"\npassword = \"" + password + "\"\n");
    EXPECT_TRUE(err.starts_with("listener.users[0].password: ")) << err;
    EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
  }
}

// examples/vestnik.toml shows the new sections at their defaults.
TEST_F(ConfigMtaTest, ExampleFileHasTheMtaSections) {
  const auto c = load_config_file(source_dir() + "/examples/vestnik.toml");
  const auto d = default_config();
  EXPECT_EQ(c->dns.servers, d->dns.servers);
  EXPECT_EQ(c->dns.max_ttl, d->dns.max_ttl);
  EXPECT_EQ(c->smtp.tls, TlsMode::kOpportunistic);
  EXPECT_EQ(c->smtp.data_done_timeout, d->smtp.data_done_timeout);
  EXPECT_EQ(c->listener.listen, d->listener.listen);
  EXPECT_EQ(c->listener.networks, d->listener.networks);
  EXPECT_EQ(c->accounting.keep, d->accounting.keep);
}

}  // namespace
}  // namespace core
