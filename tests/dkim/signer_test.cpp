// tests/dkim/signer_test.cpp: dkim::Signer and keys. What it emits (tags,
// h= with oversigning, folding), that our verifier accepts it, and every
// refusal of bad options or keys naming its field. The independent
// verifiers (dkimpy, OpenDKIM) check the same output in
// tests/integration/dkim_verifiers_itest.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "dkim/dkim.h"
#include "dkim/internal.h"

namespace {

using ::testing::HasSubstr;

constexpr int64_t kT = 1765000000;

const std::string kMessage =
    "From: =?UTF-8?B?0KjQutC+0LvQsA==?= <school@school.example>\r\n"
    "To: student@example.net\r\n"
    "Subject: =?UTF-8?B?0JLQsNGIINC30LDQutCw0Lcg0L7Qv9C70LDRh9C10L0=?=\r\n"
    "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <1@school.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "X-Vestnik-Id: 01JABCDEF\r\n"
    "\r\n"
    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82  \t there\r\n"
    ".leading dot\r\n"
    "\r\n\r\n";

struct Keys {
  std::shared_ptr<const dkim::PrivateKey> rsa = dkim::PrivateKey::generate(dkim::Algorithm::kRsaSha256).value();
  std::shared_ptr<const dkim::PrivateKey> ed = dkim::PrivateKey::generate(dkim::Algorithm::kEd25519Sha256).value();
  std::vector<dkim::PublicKeyRecord> records() const {
    return {dkim::parse_key_record(rsa->dns_record()).value(), dkim::parse_key_record(ed->dns_record()).value()};
  }
};
const Keys& keys() {
  static const Keys k;
  return k;
}

dkim::SignerOptions options() {
  dkim::SignerOptions o;
  o.domain = "school.example";
  o.selector = "s2026";
  o.headers = dkim::default_signed_headers("X-Vestnik-Id");
  o.oversign = dkim::default_oversigned_headers();
  return o;
}

std::map<std::string, std::string> tags_of(const std::string& field) {
  return dkim::detail::parse_tags(field.substr(field.find(':') + 1)).value();
}

TEST(DkimSigner, SignsAndVerifiesBothAlgorithmsAllCanonicalizations) {
  for (auto key : {keys().rsa, keys().ed}) {
    for (auto hc : {dkim::Canon::kSimple, dkim::Canon::kRelaxed}) {
      for (auto bc : {dkim::Canon::kSimple, dkim::Canon::kRelaxed}) {
        auto o = options();
        o.header_canon = hc;
        o.body_canon = bc;
        auto signer = dkim::Signer::create(o, key).value();
        auto field = signer.sign(kMessage, kT);
        ASSERT_TRUE(field) << field.error().to_string();
        auto v = dkim::verify(*field + kMessage, keys().records(), kT);
        ASSERT_EQ(v.size(), 1u);
        EXPECT_TRUE(v[0].pass) << dkim::algorithm_name(key->algorithm()) << " " << dkim::canon_name(hc) << "/"
                               << dkim::canon_name(bc) << ": " << v[0].reason;
      }
    }
  }
}

TEST(DkimSigner, TagsAndOversigning) {
  auto signer = dkim::Signer::create(options(), keys().ed).value();
  std::string field = signer.sign(kMessage, kT).value();
  auto tags = tags_of(field);
  EXPECT_EQ(tags["v"], "1");
  EXPECT_EQ(tags["a"], "ed25519-sha256");
  EXPECT_EQ(tags["c"], "relaxed/relaxed");
  EXPECT_EQ(tags["d"], "school.example");
  EXPECT_EQ(tags["s"], "s2026");
  EXPECT_EQ(tags["t"], std::to_string(kT));
  EXPECT_EQ(tags.count("x"), 0u);
  EXPECT_EQ(tags.count("l"), 0u) << "never l= (RFC 6376 §8.2)";
  EXPECT_EQ(tags.count("i"), 0u);
  std::string h;
  for (char c : tags["h"])
    if (c != ' ' && c != '\r' && c != '\n') h.push_back(c);
  // Present once: listed once, oversigned ones twice; absent oversigned
  // ones (List-Unsubscribe*) once; absent others (Cc, Reply-To) not at all.
  EXPECT_EQ(h,
            "From:From:To:To:Subject:Subject:Date:Date:Message-ID:MIME-Version:Content-Type:"
            "Content-Transfer-Encoding:List-Unsubscribe:List-Unsubscribe-Post:X-Vestnik-Id");
  // Added copies of oversigned fields break it; other added fields do not.
  auto records = keys().records();
  EXPECT_FALSE(dkim::verify(field + "Subject: free money\r\n" + kMessage, records, kT)[0].pass);
  EXPECT_FALSE(dkim::verify(field + "List-Unsubscribe: <https://evil.example/>\r\n" + kMessage, records, kT)[0].pass);
  EXPECT_TRUE(dkim::verify(field + "Received: from x by y\r\n" + kMessage, records, kT)[0].pass);
}

TEST(DkimSigner, FoldsAt78ColumnsWithCrlf) {
  auto o = options();
  o.identity = "@school.example";
  o.expire_seconds = 14 * 86400;
  for (auto key : {keys().rsa, keys().ed}) {
    auto signer = dkim::Signer::create(o, key).value();
    std::string field = signer.sign(kMessage, kT).value();
    ASSERT_TRUE(field.starts_with("DKIM-Signature: v=1; a="));
    ASSERT_TRUE(field.ends_with("\r\n"));
    size_t start = 0;
    int lines = 0;
    while (start < field.size()) {
      size_t eol = field.find("\r\n", start);
      ASSERT_NE(eol, std::string::npos);
      EXPECT_LE(eol - start, 78u) << field.substr(start, eol - start);
      if (start > 0) {
        EXPECT_EQ(field[start], ' ') << "continuation lines start with WSP";
      }
      EXPECT_EQ(field.find('\n', start), eol + 1) << "no bare LF";
      start = eol + 2;
      ++lines;
    }
    EXPECT_GT(lines, 3);
    auto tags = tags_of(field);
    EXPECT_EQ(tags["x"], std::to_string(kT + 14 * 86400));
    EXPECT_EQ(tags["i"], "@school.example");
    EXPECT_TRUE(dkim::verify(field + kMessage, keys().records(), kT)[0].pass);
    auto expired = dkim::verify(field + kMessage, keys().records(), kT + 15 * 86400);
    EXPECT_FALSE(expired[0].pass);
    EXPECT_THAT(expired[0].reason, HasSubstr("expired"));
  }
}

TEST(DkimSigner, DualSignatureAndPrecomputedBodyHash) {
  auto ed = dkim::Signer::create(options(), keys().ed).value();
  auto o = options();
  o.selector = "r2026";
  auto rsa = dkim::Signer::create(o, keys().rsa).value();
  const std::string bh = rsa.body_hash(dkim::split_message(kMessage).body);
  std::string signed_msg = rsa.sign(kMessage, kT, bh).value();
  signed_msg = ed.sign(kMessage, kT, bh).value() + signed_msg + kMessage;
  auto v = dkim::verify(signed_msg, keys().records(), kT);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].pass && v[1].pass) << v[0].reason << " / " << v[1].reason;
  EXPECT_EQ(v[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(v[1].selector, "r2026");
}

TEST(DkimSigner, EdgeMessages) {
  auto signer = dkim::Signer::create(options(), keys().rsa).value();
  const std::string long_subject = "Subject: " + std::string(300, 'a') + "\r\n " + std::string(300, 'b') + "\r\n";
  for (std::string msg : {std::string("From: a@school.example\r\n\r\n"),                  // empty body
                          std::string("From: a@school.example\r\n"),                      // no body at all
                          "From: a@school.example\r\n" + long_subject + "\r\nbody\r\n",   // long folded
                          std::string("From: a@school.example\r\n\r\n..\r\n.\r\n \r\n"),  // dots, blank
                          std::string("FROM:a@school.example\r\nfrom : b@school.example\r\n\r\nx\r\n")}) {
    auto field = signer.sign(msg, kT);
    ASSERT_TRUE(field) << field.error().to_string();
    auto v = dkim::verify(*field + msg, keys().records(), kT);
    EXPECT_TRUE(v[0].pass) << v[0].reason << "\n" << msg;
  }
  auto none = signer.sign("To: x@y.example\r\n\r\nhi\r\n", kT);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().field, "From");
}

// Regression (found by tests/fuzz/dkim_canon_fuzz.cpp): t=, x= and l= that
// are not digits made the verifier throw std::invalid_argument/out_of_range
// out of dkim::verify; they are failures with a reason. And a signature
// field written "DKIM-Signature :" (obsolete, legal) had its tags read from
// the wrong offset.
TEST(DkimVerify, JunkNumbersFailWithoutThrowingAndObsoleteColon) {
  auto signer = dkim::Signer::create(options(), keys().ed).value();
  const std::string field = signer.sign(kMessage, kT).value();
  const std::string t = "t=" + std::to_string(kT) + ";";
  ASSERT_NE(field.find(t), std::string::npos);
  // {tag added after v=1, what the t= tag becomes}
  const std::pair<std::string, std::string> junk[] = {
      {"x=abc; ", t},      {"x=99999999999; ", "t=abc;"},       {"x=99999999999; ", "t=-5;"},
      {"l=zz; ", t},       {"l=-1; ", t},                       {"l=99999999999999999999999999; ", t},
      {"x=999999999999999999999999; ", t}};
  for (const auto& [tag, new_t] : junk) {
    std::string f = field;
    f.replace(f.find(t), t.size(), new_t);
    f.insert(f.find("v=1; ") + 5, tag);
    std::vector<dkim::Verification> v;
    EXPECT_NO_THROW(v = dkim::verify(f + kMessage, keys().records(), kT)) << tag << new_t;
    ASSERT_EQ(v.size(), 1u) << tag << new_t;
    EXPECT_FALSE(v[0].pass) << tag << new_t;
    EXPECT_THAT(v[0].reason, ::testing::AnyOf(HasSubstr("bad "), HasSubstr("l= is longer"))) << tag << new_t;
  }
  // Relaxed header canonicalization drops the WSP before the colon, so the
  // signature still holds.
  std::string obsolete = field;
  obsolete.replace(0, 15, "DKIM-Signature :");
  auto v = dkim::verify(obsolete + kMessage, keys().records(), kT);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].pass) << v[0].reason;
}

TEST(DkimSigner, RefusesBadOptions) {
  auto bad = [](auto mutate) {
    auto o = options();
    mutate(o);
    auto s = dkim::Signer::create(o, keys().ed);
    EXPECT_FALSE(s);
    return s ? std::string() : s.error().field;
  };
  EXPECT_EQ(bad([](auto& o) { o.domain = "bad domain"; }), "domain");
  EXPECT_EQ(bad([](auto& o) { o.selector = ""; }), "selector");
  EXPECT_EQ(bad([](auto& o) { o.identity = "@other.example"; }), "identity");
  EXPECT_EQ(bad([](auto& o) { o.headers.push_back("Received"); }), "headers[14]");
  EXPECT_EQ(bad([](auto& o) { o.headers.push_back("DKIM-Signature"); }), "headers[14]");
  EXPECT_EQ(bad([](auto& o) { o.headers.push_back("to"); }), "headers[14]");  // twice
  EXPECT_EQ(bad([](auto& o) { o.headers.erase(o.headers.begin()); }), "headers");  // no From
  EXPECT_EQ(bad([](auto& o) { o.oversign.push_back("X-Other"); }), "oversign[6]");
  EXPECT_EQ(bad([](auto& o) { o.expire_seconds = -1; }), "expire");
  auto o = options();
  o.identity = "news@mail.school.example";  // a subdomain is fine
  EXPECT_TRUE(dkim::Signer::create(o, keys().ed));
}

TEST(DkimKeys, PemRoundTripDnsRecordAndQuoting) {
  for (auto key : {keys().rsa, keys().ed}) {
    auto again = dkim::PrivateKey::from_pem(key->pem()).value();
    EXPECT_EQ(again->algorithm(), key->algorithm());
    EXPECT_EQ(again->dns_record(), key->dns_record());
  }
  EXPECT_EQ(keys().rsa->bits(), 2048u);
  const std::string rec = keys().rsa->dns_record();
  EXPECT_TRUE(rec.starts_with("v=DKIM1; k=rsa; p=MIIB"));
  const std::string quoted = dkim::quote_txt(rec);
  // Strings of at most 255 octets, which verifiers join.
  size_t pos = 0, strings = 0;
  while ((pos = quoted.find('"', pos)) != std::string::npos) {
    size_t end = quoted.find('"', pos + 1);
    EXPECT_LE(end - pos - 1, 255u);
    pos = end + 1;
    ++strings;
  }
  EXPECT_EQ(strings, 2u);
  auto parsed = dkim::parse_key_record(quoted).value();
  EXPECT_EQ(parsed.algorithm, dkim::Algorithm::kRsaSha256);
  EXPECT_EQ(dkim::base64_encode(parsed.key), rec.substr(rec.find("p=") + 2));
  const std::string ed = keys().ed->dns_record();
  EXPECT_TRUE(ed.starts_with("v=DKIM1; k=ed25519; p="));
  EXPECT_EQ(dkim::base64_decode(ed.substr(ed.find("p=") + 2))->size(), 32u) << "raw key, not SPKI (RFC 8463)";
}

TEST(DkimKeys, RefusesSmallRsaAndJunk) {
  EVP_PKEY* small = EVP_RSA_gen(768);
  ASSERT_NE(small, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, small, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  auto key = dkim::PrivateKey::from_pem(std::string_view(data, static_cast<size_t>(n)), "dkim.keys[0].key_file");
  BIO_free(bio);
  EVP_PKEY_free(small);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().field, "dkim.keys[0].key_file");
  EXPECT_THAT(key.error().message, HasSubstr("768 bits"));
  EXPECT_FALSE(dkim::PrivateKey::from_pem("junk"));
  EXPECT_FALSE(dkim::PrivateKey::generate(dkim::Algorithm::kRsaSha256, 512));
  auto missing = dkim::PrivateKey::load_file("/nonexistent/key.pem", "k");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::Errc::kNotFound);
  EXPECT_FALSE(dkim::parse_key_record("v=DKIM1; k=rsa; p="));     // revoked
  EXPECT_FALSE(dkim::parse_key_record("v=DKIM1; k=dsa; p=AAAA"));  // unknown type
  EXPECT_FALSE(dkim::parse_key_record("v=DKIM1; k=ed25519; p=AAAA"));  // not 32 bytes
  EXPECT_FALSE(dkim::base64_decode("ab=c"));
  EXPECT_EQ(dkim::base64_decode("YW Jj\r\n ZA==").value(), "abcd");
}

}  // namespace
