// tests/integration/smtp_dkim_test.cpp: the whole daemon signing email with
// DKIM ([dkim], dual Ed25519 + RSA-2048) and delivering it over SMTP to a
// scripted aiosmtpd server on loopback, which records what arrived. The
// recorded messages — after a real SMTP hop, dot-stuffing and all — are
// verified by our verifier and by dkimpy. Also: mail injected through the
// listener is signed as is; a domain whose key does not load holds its mail
// back (never sends it unsigned); a domain without keys goes unsigned.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "../mta/peers.h"
#include "dkim/dkim.h"
#include "server_process.h"

namespace {

using testing_support::Peer;
using testing_support::ServerProcess;
using testing_support::TempDir;
using testing_support::run_bounded;
using testing_support::wait_until;
namespace json = boost::json;

// The recorder writes the data as latin-1 text; JSON gives it back as
// UTF-8. Code points 0..255 are the original bytes.
std::string latin1_bytes(std::string_view utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (i + 1 < utf8.size()) {
      out.push_back(static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3F)));
      ++i;
    }
  }
  return out;
}

class SmtpDkimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ed_ = dkim::PrivateKey::generate(dkim::Algorithm::kEd25519Sha256).value();
    rsa_ = dkim::PrivateKey::generate(dkim::Algorithm::kRsaSha256).value();
    std::ofstream(dir_.path() + "/ed.pem") << ed_->pem();
    std::ofstream(dir_.path() + "/rsa.pem") << rsa_->pem();
    json::object script{{"record", dir_.path() + "/record.jsonl"}};
    const std::string script_path = dir_.path() + "/script.json";
    std::ofstream(script_path) << json::serialize(script);
    std::string port, err;
    ASSERT_TRUE(testing_support::start_script_server(mx_, script_path, &port, &err))
        << err;
    listener_port_ = testing_support::pick_port();
    std::string toml = testing_support::test_tenants_toml() + R"(
[engine]
poll_interval = "50ms"

[dns]
servers = ["127.0.0.1:9"]

[smtp]
ehlo_name = "vestnik.test"
idle_timeout = "1s"

[[smtp.routes]]
domain = "*"
host = "127.0.0.1"
port = )" + port + R"(

[listener]
enabled = true
listen = "127.0.0.1:)" + std::to_string(listener_port_) + R"("
hostname = "relay.vestnik.test"
networks = ["127.0.0.1/32"]
network_tenant = "market"

[dkim]
expire = "30d"

# mail.example.com and its subdomains, signed as example.com (aligned).
[[dkim.domains]]
domain = "mail.example.com"
signing_domain = "example.com"
keys = [{ selector = "ed2026", key_file = ")" + dir_.path() + R"(/ed.pem" },
        { selector = "rsa2026", key_file = ")" + dir_.path() + R"(/rsa.pem", algorithm = "rsa" }]

[[dkim.domains]]
domain = "broken.example"
keys = [{ selector = "s1", key_file = ")" + dir_.path() + R"(/missing.pem" }]
)";
    server_ = std::make_unique<ServerProcess>(dir_.path(), toml);
    ASSERT_TRUE(server_->start(&err)) << err;
    ASSERT_TRUE(testing_support::wait_for_port(listener_port_, std::chrono::seconds(10))) << server_->log_text();
  }

  std::string post(const std::string& from, const std::string& to) {
    auto r = server_->request("POST", "/v1/messages",
                              R"({"channels":["email"],"to":{"email":")" + to + R"(","name":"Іван Петренко"},)"
                              R"("from":{"email":")" + from + R"(","name":"Школа"},)"
                              R"("subject":"Ваше замовлення №1842 оплачено — дякуємо за покупку курсу",)"
                              R"("text":"Дякуємо!\n.\nРядок з крапкою  \t і пробілами\n\n\n",)"
                              R"("html":"<p>Дякуємо!</p><p>Курс <b>C++20</b> доступний.</p>"})");
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->status, 202u) << r->body;
    return std::string(json::parse(r->body).at("id").as_string());
  }

  // swaks from shop@mail.example.com into the listener; its transcript.
  std::string swaks(const std::string& to, const std::vector<std::string>& headers, const std::string& body,
                    int* status) {
    std::vector<std::string> argv = {"swaks", "--server", "127.0.0.1:" + std::to_string(listener_port_), "--helo",
                                     "app1.market.test", "--from", "shop@mail.example.com", "--to", to, "--body", body};
    for (const auto& h : headers) {
      argv.push_back("--header");
      argv.push_back(h);
    }
    return run_bounded(argv, status);
  }

  // The recorded message for `rcpt` (latin-1 bytes), or "".
  std::string recorded_for(const std::string& rcpt) {
    std::ifstream in(dir_.path() + "/record.jsonl");
    for (std::string line; std::getline(in, line);) {
      json::object o = json::parse(line).as_object();
      for (const auto& r : o.at("rcpt_tos").as_array())
        if (r.as_string() == rcpt) return latin1_bytes(o.at("data").as_string());
    }
    return {};
  }

  std::vector<dkim::PublicKeyRecord> public_keys() const {
    return {dkim::parse_key_record(ed_->dns_record()).value(), dkim::parse_key_record(rsa_->dns_record()).value()};
  }

  // dkimpy's verdict on each signature of `msg` ("True True").
  std::string dkimpy(const std::string& msg) {
    const std::string path = dir_.path() + "/check.eml";
    std::ofstream(path, std::ios::binary) << msg;
    const std::string py =
        "import dkim,sys\n"
        "keys={b'ed2026._domainkey.example.com.':b'" + ed_->dns_record() + "',"
        "b'rsa2026._domainkey.example.com.':b'" + rsa_->dns_record() + "'}\n"
        "m=open(sys.argv[1],'rb').read()\n"
        "d=dkim.DKIM(m)\n"
        "n=len([l for l in m.split(b'\\r\\n\\r\\n')[0].split(b'\\r\\n') if l.lower().startswith(b'dkim-signature:')])\n"
        "def one(i):\n"
        "  try: return d.verify(idx=i,dnsfunc=lambda n,timeout=5:keys.get(n))\n"
        "  except dkim.ValidationError: return False\n"  // a body hash mismatch raises
        "print(' '.join(str(one(i)) for i in range(n)))\n";
    std::ofstream(dir_.path() + "/check.py") << py;
    int status = 0;
    std::string out = run_bounded({"/usr/bin/python3", dir_.path() + "/check.py", path}, &status);
    EXPECT_EQ(status, 0) << out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  TempDir dir_;
  Peer mx_;
  uint16_t listener_port_ = 0;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<const dkim::PrivateKey> ed_, rsa_;
};

TEST_F(SmtpDkimTest, ComposedMailIsDualSignedAndVerifiesAfterTheHop) {
  const std::string id = post("school@news.mail.example.com", "ivan@example.net");
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "delivered"; }))
      << json::serialize(full) << server_->log_text();
  const std::string msg = recorded_for("ivan@example.net");
  ASSERT_FALSE(msg.empty());
  ASSERT_TRUE(msg.starts_with("DKIM-Signature: v=1; a=ed25519-sha256;")) << msg.substr(0, 300);
  EXPECT_NE(msg.find("\r\nDKIM-Signature: v=1; a=rsa-sha256;"), std::string::npos);
  EXPECT_NE(msg.find("d=example.com;"), std::string::npos);
  auto v = dkim::verify(msg, public_keys(), std::time(nullptr));
  ASSERT_EQ(v.size(), 2u);
  for (const auto& r : v) EXPECT_TRUE(r.pass) << r.algorithm << ": " << r.reason;
  EXPECT_EQ(dkimpy(msg), "True True");
  auto metrics = server_->request("GET", "/metrics", "");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_NE(metrics->body.find("vestnik_dkim_signed_total 1\n"), std::string::npos) << metrics->body;
  // A changed body byte fails both, in both verifiers.
  std::string tampered = msg;
  tampered[tampered.size() - 5] ^= 1;
  EXPECT_EQ(dkimpy(tampered), "False False");
}

TEST_F(SmtpDkimTest, InjectedMailIsSignedAsIs) {
  int status = 0;
  const std::string out =
      swaks("anna@example.org", {"Subject: Order 1842 paid"}, "Thank you!\n.\nA line with a dot.", &status);
  ASSERT_EQ(status, 0) << out;
  std::string msg;
  ASSERT_TRUE(wait_until([&] { return !(msg = recorded_for("anna@example.org")).empty(); })) << server_->log_text();
  ASSERT_TRUE(msg.starts_with("DKIM-Signature: ")) << msg.substr(0, 300);
  EXPECT_NE(msg.find("Received: from app1.market.test"), std::string::npos);
  auto v = dkim::verify(msg, public_keys(), std::time(nullptr));
  ASSERT_EQ(v.size(), 2u);
  for (const auto& r : v) EXPECT_TRUE(r.pass) << r.algorithm << ": " << r.reason;
  EXPECT_EQ(dkimpy(msg), "True True");
}

TEST_F(SmtpDkimTest, InjectedEightBitMailIsMadeSevenBitBeforeSigning) {
  int status = 0;
  const std::string out = swaks("boris@example.org",
                                 {"Subject: =?UTF-8?B?0JfQsNC60LDQtw==?=", "Content-Type: text/plain; charset=utf-8",
                                  "Content-Transfer-Encoding: 8bit"},
                                 "Заказ 1842 оплачен.\n.Строка с точкой.", &status);
  ASSERT_EQ(status, 0) << out;
  std::string msg;
  ASSERT_TRUE(wait_until([&] { return !(msg = recorded_for("boris@example.org")).empty(); })) << server_->log_text();
  EXPECT_NE(msg.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("Content-Transfer-Encoding: 8bit"), std::string::npos);
  EXPECT_NE(msg.find("=D0=97=D0=B0=D0=BA=D0=B0=D0=B7 1842"), std::string::npos) << msg;
  for (unsigned char c : msg) ASSERT_LT(c, 0x80) << "an 8-bit byte went out";
  auto v = dkim::verify(msg, public_keys(), std::time(nullptr));
  ASSERT_EQ(v.size(), 2u);
  for (const auto& r : v) EXPECT_TRUE(r.pass) << r.algorithm << ": " << r.reason;
  EXPECT_EQ(dkimpy(msg), "True True");
}

TEST_F(SmtpDkimTest, RequiredDomainWithAnUnusableKeyIsHeldBackNotSentUnsigned) {
  const std::string id = post("billing@broken.example", "petr@example.net");
  json::object full;
  ASSERT_TRUE(wait_until([&] {
    server_->status_of(id, &full);
    return json::serialize(full).find("DKIM signing required for broken.example") != std::string::npos;
  })) << json::serialize(full) << server_->log_text();
  EXPECT_EQ(full.at("status").as_string(), "sending") << "waiting for a retry, not failed and not delivered";
  EXPECT_NE(json::serialize(full).find("4.3.5"), std::string::npos);
  EXPECT_TRUE(recorded_for("petr@example.net").empty());
  auto metrics = server_->request("GET", "/metrics", "");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_NE(metrics->body.find("vestnik_dkim_held_total 1\n"), std::string::npos) << metrics->body;
  // Said at start, with the config key of the bad file.
  EXPECT_NE(server_->log_text().find("dkim.domains[1].keys[0].key_file"), std::string::npos) << server_->log_text();
}

TEST_F(SmtpDkimTest, SighupReloadsKeysAndDomains) {
  // A rotated Ed25519 key under a new selector, and the missing key of
  // broken.example supplied: both take effect on SIGHUP, without a restart.
  auto ed2 = dkim::PrivateKey::generate(dkim::Algorithm::kEd25519Sha256).value();
  auto fixed = dkim::PrivateKey::generate(dkim::Algorithm::kRsaSha256).value();
  std::ofstream(dir_.path() + "/ed2.pem") << ed2->pem();
  std::ofstream(dir_.path() + "/missing.pem") << fixed->pem();
  std::string cfg;
  {
    std::ifstream in(server_->config_path());
    std::ostringstream ss;
    ss << in.rdbuf();
    cfg = ss.str();
  }
  const std::string before = R"(selector = "ed2026", key_file = ")" + dir_.path() + "/ed.pem";
  const size_t at = cfg.find(before);
  ASSERT_NE(at, std::string::npos) << cfg;
  cfg.replace(at, before.size(), R"(selector = "ed2027", key_file = ")" + dir_.path() + "/ed2.pem");
  std::ofstream(server_->config_path(), std::ios::trunc) << cfg;
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] {
    const std::string log = server_->log_text();
    return log.find("\"reload\"") != std::string::npos && log.find("broken.example\",\"d\"") != std::string::npos;
  })) << server_->log_text();

  const std::string id = post("school@mail.example.com", "rotated@example.net");
  const std::string id2 = post("billing@broken.example", "fixed@example.net");
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "delivered"; })) << json::serialize(full);
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id2, &full) == "delivered"; })) << json::serialize(full);

  const std::string msg = recorded_for("rotated@example.net");
  EXPECT_NE(msg.find("s=ed2027;"), std::string::npos) << msg.substr(0, 400);
  EXPECT_EQ(msg.find("s=ed2026;"), std::string::npos);
  auto v = dkim::verify(msg,
                        {dkim::parse_key_record(ed2->dns_record()).value(),
                         dkim::parse_key_record(rsa_->dns_record()).value()},
                        std::time(nullptr));
  ASSERT_EQ(v.size(), 2u);
  for (const auto& r : v) EXPECT_TRUE(r.pass) << r.algorithm << ": " << r.reason;
  const std::string msg2 = recorded_for("fixed@example.net");
  auto v2 = dkim::verify(msg2, {dkim::parse_key_record(fixed->dns_record()).value()}, std::time(nullptr));
  ASSERT_EQ(v2.size(), 1u);
  EXPECT_TRUE(v2[0].pass) << v2[0].reason;
  EXPECT_EQ(v2[0].domain, "broken.example");
}

TEST_F(SmtpDkimTest, DomainWithoutKeysGoesUnsigned) {
  const std::string id = post("school@other.example", "olga@example.net");
  json::object full;
  ASSERT_TRUE(wait_until([&] { return server_->status_of(id, &full) == "delivered"; })) << json::serialize(full);
  const std::string msg = recorded_for("olga@example.net");
  ASSERT_FALSE(msg.empty());
  EXPECT_EQ(msg.find("DKIM-Signature:"), std::string::npos);
}

}  // namespace
