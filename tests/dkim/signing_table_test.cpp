// tests/dkim/signing_table_test.cpp: [dkim] as read from TOML (every
// refusal names its key) and the SigningTable built from it: the most
// specific domain wins, d= follows the configured parent, a key that does
// not load is kept as the domain's error, dual signing, From domain parsing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/config.h"
#include "dkim/signing_table.h"

namespace {

using ::testing::HasSubstr;

struct TempKeys {
  std::string dir;
  TempKeys() {
    char tmpl[] = "/tmp/vestnik-dkim-table-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::ofstream(dir + "/ed.pem") << dkim::PrivateKey::generate(dkim::Algorithm::kEd25519Sha256).value()->pem();
    std::ofstream(dir + "/rsa.pem") << dkim::PrivateKey::generate(dkim::Algorithm::kRsaSha256).value()->pem();
  }
  ~TempKeys() { std::filesystem::remove_all(dir); }
};

std::string config_error(const std::string& toml) {
  try {
    core::load_config_string(toml);
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DkimConfig, RefusalsNameTheKey) {
  EXPECT_THAT(config_error("[dkim]\nheader_canonicalization = \"loose\"\n"),
              HasSubstr("dkim.header_canonicalization"));
  EXPECT_THAT(config_error("[dkim]\nexpire = \"1h\"\n"), HasSubstr("dkim.expire: must exceed the retry schedule"));
  EXPECT_EQ(config_error("[dkim]\nexpire = \"30d\"\n"), "");
  EXPECT_THAT(config_error("[dkim]\nheaders = [\"From\", \"Bad Name\"]\n"), HasSubstr("dkim.headers[1]"));
  EXPECT_THAT(config_error("[[dkim.domains]]\ndomain = \"a.example\"\n"), HasSubstr("dkim.domains[0].keys"));
  EXPECT_THAT(config_error("[[dkim.domains]]\ndomain = \"a.example\"\nkeys = [{selector = \"s\"}]\n"),
              HasSubstr("dkim.domains[0].keys[0].key_file"));
  EXPECT_THAT(config_error("[[dkim.domains]]\ndomain = \"a.example\"\nsigning_domain = \"b.example\"\n"
                           "keys = [{selector = \"s\", key_file = \"/k\"}]\n"),
              HasSubstr("dkim.domains[0].signing_domain"));
  EXPECT_THAT(config_error("[[dkim.domains]]\ndomain = \"a.example\"\n"
                           "keys = [{selector = \"s\", key_file = \"/k\", algorithm = \"dsa\"}]\n"),
              HasSubstr("dkim.domains[0].keys[0].algorithm"));
  EXPECT_THAT(config_error("[[dkim.domains]]\ndomain = \"a.example\"\nkeys = [{selector = \"s\", key_file = \"/k\"}]\n"
                           "[[dkim.domains]]\ndomain = \"a.example\"\nkeys = [{selector = \"s\", key_file = \"/k\"}]\n"),
              HasSubstr("dkim.domains[1].domain: listed twice"));
  EXPECT_THAT(config_error("[dkim]\nthreads = 1000\n"), HasSubstr("dkim.threads"));
  // Domains compare without case.
  EXPECT_EQ(config_error("[[dkim.domains]]\ndomain = \"News.School.Example\"\nsigning_domain = \"school.EXAMPLE\"\n"
                         "keys = [{selector = \"s\", key_file = \"/k\"}]\n"),
            "");
  EXPECT_THAT(config_error("[[dkim.domains]]\ndomain = \"a.example\"\nkeys = [{selector = \"s\", key_file = \"/k\"}]\n"
                           "[[dkim.domains]]\ndomain = \"A.Example\"\nkeys = [{selector = \"s\", key_file = \"/k\"}]\n"),
              HasSubstr("dkim.domains[1].domain: listed twice"));
  EXPECT_THAT(config_error("[dkim]\nsign_everything = true\n"), HasSubstr("dkim.sign_everything: unknown key"));
}

TEST(DkimSigningTable, MatchesDomainsAndKeepsKeyErrors) {
  TempKeys keys;
  auto config = core::load_config_string(
      "[[dkim.domains]]\ndomain = \"school.example\"\n"
      "keys = [{selector = \"ed\", key_file = \"" + keys.dir + "/ed.pem\"},"
      " {selector = \"rsa\", key_file = \"" + keys.dir + "/rsa.pem\", algorithm = \"rsa\"}]\n"
      "[[dkim.domains]]\ndomain = \"news.school.example\"\nsigning_domain = \"school.example\"\nrequired = false\n"
      "keys = [{selector = \"n\", key_file = \"" + keys.dir + "/ed.pem\"}]\n"
      "[[dkim.domains]]\ndomain = \"broken.example\"\nkeys = [{selector = \"s\", key_file = \"" + keys.dir +
      "/missing.pem\"}]\n"
      "[[dkim.domains]]\ndomain = \"mismatch.example\"\nkeys = [{selector = \"s\", key_file = \"" + keys.dir +
      "/ed.pem\", algorithm = \"rsa\"}]\n");
  auto table = dkim::SigningTable::build(config->dkim, config->email.trace_header).value();
  ASSERT_EQ(table->domains().size(), 4u);

  const auto* d = table->find("School.Example");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->domain, "school.example");
  EXPECT_TRUE(d->usable());
  EXPECT_EQ(d->signers.size(), 2u);
  EXPECT_EQ(table->find("shop.school.example"), d) << "a subdomain takes its parent's entry";
  const auto* news = table->find("a.news.school.example");
  ASSERT_NE(news, nullptr);
  EXPECT_EQ(news->domain, "news.school.example") << "the most specific entry wins";
  EXPECT_EQ(news->d, "school.example");
  EXPECT_FALSE(news->required);
  EXPECT_EQ(table->find("otherschool.example"), nullptr) << "a suffix that is not a parent does not match";
  EXPECT_EQ(table->find("example"), nullptr);

  const auto* broken = table->find("broken.example");
  ASSERT_NE(broken, nullptr);
  EXPECT_FALSE(broken->usable());
  EXPECT_EQ(broken->error.field, "dkim.domains[2].keys[0].key_file");
  const auto* mismatch = table->find("mismatch.example");
  ASSERT_NE(mismatch, nullptr);
  EXPECT_FALSE(mismatch->usable());
  EXPECT_EQ(mismatch->error.field, "dkim.domains[3].keys[0].algorithm");
  EXPECT_EQ(table->problems().size(), 2u);

  const std::string msg = "From: Shop <orders@shop.school.example>\r\nTo: a@b.example\r\nSubject: x\r\n\r\nhi\r\n";
  auto fields = table->sign(*d, msg, 1765000000);
  ASSERT_TRUE(fields) << fields.error().to_string();
  auto v = dkim::verify(*fields + msg,
                        {dkim::parse_key_record(d->signers[0].key().dns_record()).value(),
                         dkim::parse_key_record(d->signers[1].key().dns_record()).value()},
                        1765000000);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].pass && v[1].pass) << v[0].reason << " / " << v[1].reason;
  EXPECT_EQ(v[0].selector, "ed");
  EXPECT_EQ(v[1].algorithm, "rsa-sha256");
}

TEST(DkimSigningTable, PerDomainHeadersAndCanonicalization) {
  TempKeys keys;
  auto config = core::load_config_string(
      "[dkim]\noversign = [\"From\"]\n"  // with the built-in headers
      "[[dkim.domains]]\ndomain = \"a.example\"\nkeys = [{selector = \"s\", key_file = \"" + keys.dir + "/ed.pem\"}]\n"
      "[[dkim.domains]]\ndomain = \"b.example\"\nheaders = [\"From\", \"Subject\"]\noversign = [\"Subject\"]\n"
      "header_canonicalization = \"simple\"\nbody_canonicalization = \"simple\"\n"
      "keys = [{selector = \"s\", key_file = \"" + keys.dir + "/ed.pem\"}]\n");
  auto table = dkim::SigningTable::build(config->dkim, config->email.trace_header).value();
  const std::string msg = "From: x@b.example\r\nTo: y@c.example\r\nSubject: hi\r\n\r\nbody\r\n";
  auto tags = [&](const char* dom) {
    std::string f = table->sign(*table->find(dom), msg, 1765000000).value();
    std::string h = f.substr(f.find("h=") + 2);
    h = h.substr(0, h.find(';'));
    std::string c = f.substr(f.find("c=") + 2);
    c = c.substr(0, c.find(';'));
    std::string out = c + " ";
    for (char ch : h)
      if (ch != ' ' && ch != '\r' && ch != '\n') out.push_back(ch);
    return out;
  };
  EXPECT_EQ(tags("a.example"), "relaxed/relaxed From:From:To:Subject");
  EXPECT_EQ(tags("b.example"), "simple/simple From:Subject:Subject");

  auto bad = core::load_config_string(
      "[[dkim.domains]]\ndomain = \"a.example\"\nheaders = [\"Subject\"]\n"
      "keys = [{selector = \"s\", key_file = \"/nonexistent.pem\"}]\n");
  auto t = dkim::SigningTable::build(bad->dkim, bad->email.trace_header);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().field, "dkim.domains[0].headers");
  bad = core::load_config_string("[dkim]\noversign = [\"X-Other\"]\n");
  t = dkim::SigningTable::build(bad->dkim, bad->email.trace_header);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().field, "dkim.oversign[0]");
}

TEST(DkimSigningTable, SettingsThatBreakEverySignatureAreErrors) {
  auto config = core::load_config_string("[dkim]\nheaders = [\"To\", \"Subject\"]\n");
  auto table = dkim::SigningTable::build(config->dkim, config->email.trace_header);
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().field, "dkim.headers");
  config = core::load_config_string("[dkim]\nheaders = [\"From\", \"Received\"]\n");
  table = dkim::SigningTable::build(config->dkim, config->email.trace_header);
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().field, "dkim.headers[1]");
}

// examples/vestnik.toml shows [dkim] at its defaults, and loads into a
// table that signs nothing.
TEST(DkimConfig, ExampleFileHasTheDefaults) {
  const auto c = core::load_config_file(std::string(VESTNIK_SOURCE_DIR) + "/examples/vestnik.toml");
  const core::DkimConfig d;
  EXPECT_EQ(c->dkim.header_canonicalization, d.header_canonicalization);
  EXPECT_EQ(c->dkim.body_canonicalization, d.body_canonicalization);
  EXPECT_EQ(c->dkim.expire, d.expire);
  EXPECT_EQ(c->dkim.sign_injected, d.sign_injected);
  EXPECT_EQ(c->dkim.threads, d.threads);
  EXPECT_TRUE(c->dkim.domains.empty());
  auto table = dkim::SigningTable::build(c->dkim, c->email.trace_header);
  ASSERT_TRUE(table) << table.error().to_string();
  EXPECT_EQ((*table)->find("school.example"), nullptr);
}

TEST(DkimSigningTable, FromDomain) {
  EXPECT_EQ(dkim::from_domain("From: Shop <Orders@Shop.Example>\r\n\r\n"), "shop.example");
  EXPECT_EQ(dkim::from_domain("Subject: x\r\nfrom: a@b.example (comment)\r\n\r\n"), "b.example");
  EXPECT_EQ(dkim::from_domain("From: =?UTF-8?B?0KjQutC+0LvQsA==?=\r\n <school@xn--80atdl2c.test>\r\n\r\n"),
            "xn--80atdl2c.test");
  EXPECT_EQ(dkim::from_domain("To: a@b.example\r\n\r\n"), "");
  EXPECT_EQ(dkim::from_domain("From: undisclosed\r\n\r\n"), "");
}

}  // namespace
