// tests/dkim/vectors_test.cpp: the published DKIM vectors, byte for byte
// (../shared/reference/deliverability.md §1.6): RFC 6376 §3.4.5
// canonicalization, RFC 8463 Appendix A (relaxed/relaxed, Ed25519 and RSA),
// go-msgauth's deterministic simple/simple signatures, and dkimpy's
// rfc6376.signed.msg (simple header canonicalization with trailing spaces).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "dkim/dkim.h"
#include "dkim/internal.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string testdata(const std::string& name) {
  return read_file(std::string(VESTNIK_SOURCE_DIR) + "/tests/dkim/testdata/" + name);
}

std::string sha256_b64(std::string_view s) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  return dkim::base64_encode(std::string_view(reinterpret_cast<char*>(md), n));
}

std::string strip_fws(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out.push_back(c);
  return out;
}

// The b= value of a DKIM-Signature field, without FWS.
std::string b_value(std::string_view field) {
  auto tags = dkim::detail::parse_tags(field.substr(field.find(':') + 1));
  EXPECT_TRUE(tags.has_value());
  return tags ? strip_fws((*tags)["b"]) : std::string();
}

// The field with b= emptied and no CRLF: the input of dkim::sign_field.
std::string template_of(std::string_view field) {
  std::string t = dkim::detail::strip_b_value(field);
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

constexpr char kEd25519Seed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
constexpr char kEd25519Txt[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr char kRfc8463RsaTxt[] =
    "v=DKIM1; k=rsa; "
    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/"
    "byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/"
    "K4w3QIDAQAB";
constexpr char kGoMsgauthRsaTxt[] =
    "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/"
    "RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";

std::shared_ptr<const dkim::PrivateKey> ed25519_key() {
  auto seed = dkim::base64_decode(kEd25519Seed);
  EXPECT_TRUE(seed.has_value());
  return dkim::PrivateKey::from_ed25519_seed(*seed).value();
}

std::vector<dkim::PublicKeyRecord> keys(std::initializer_list<const char*> txts) {
  std::vector<dkim::PublicKeyRecord> out;
  for (const char* t : txts) out.push_back(dkim::parse_key_record(t).value());
  return out;
}

constexpr int64_t kNow = 1700000000;

// --- V4: RFC 6376 §3.4.5 ----------------------------------------------------

TEST(DkimCanon, Rfc6376Example) {
  const std::string msg = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  dkim::SplitMessage m = dkim::split_message(msg);
  ASSERT_EQ(m.fields.size(), 2u);
  EXPECT_EQ(m.fields[0].name, "A");
  EXPECT_EQ(m.fields[1].name, "B");
  std::string relaxed, simple;
  for (auto& f : m.fields) {
    dkim::canonicalize_header(dkim::Canon::kRelaxed, f.raw, relaxed);
    dkim::canonicalize_header(dkim::Canon::kSimple, f.raw, simple);
  }
  EXPECT_EQ(relaxed, "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(simple, "A: X\r\nB : Y\t\r\n\tZ  \r\n");

  std::string rb, sb;
  dkim::canonicalize_body(dkim::Canon::kRelaxed, m.body, rb);
  dkim::canonicalize_body(dkim::Canon::kSimple, m.body, sb);
  EXPECT_EQ(rb, " C\r\nD E\r\n");
  EXPECT_EQ(sb, " C \r\nD \t E\r\n");
  EXPECT_EQ(sha256_b64(rb), "unak6JHq0wL+Q1HP7dW1tjBx9FLA6DffoZ0qrLwbbpo=");
  EXPECT_EQ(sha256_b64(sb), "NOeivbQlDH9TmNKJUw7D53wZfsk8YMZ/hTuVVwTgi8s=");
}

TEST(DkimCanon, EmptyBody) {
  std::string rb, sb;
  dkim::canonicalize_body(dkim::Canon::kRelaxed, "", rb);
  dkim::canonicalize_body(dkim::Canon::kSimple, "", sb);
  EXPECT_EQ(rb, "");
  EXPECT_EQ(sb, "\r\n");
  EXPECT_EQ(sha256_b64(sb), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  EXPECT_EQ(sha256_b64(rb), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  // Only empty (or, relaxed, blank) lines: the same as no body.
  rb.clear();
  sb.clear();
  dkim::canonicalize_body(dkim::Canon::kRelaxed, "\r\n \t\r\n\r\n", rb);
  dkim::canonicalize_body(dkim::Canon::kSimple, "\r\n\r\n", sb);
  EXPECT_EQ(rb, "");
  EXPECT_EQ(sb, "\r\n");
}

TEST(DkimCanon, LongRelaxedLinesAndMissingFinalCrlf) {
  std::string line(5000, 'x');
  line[100] = ' ';
  line[101] = '\t';
  std::string out;
  dkim::canonicalize_body(dkim::Canon::kRelaxed, line + "  ", out);
  std::string want = line.substr(0, 100) + " " + line.substr(102) + "\r\n";
  EXPECT_EQ(out, want);
  out.clear();
  dkim::canonicalize_body(dkim::Canon::kSimple, "Joe.", out);
  EXPECT_EQ(out, "Joe.\r\n");
}

TEST(DkimCanon, NormalizeLineEndsLikeTheWire) {
  EXPECT_FALSE(dkim::needs_normalization("a\r\nb\r\n"));
  EXPECT_FALSE(dkim::needs_normalization(""));
  EXPECT_TRUE(dkim::needs_normalization("a\nb\r\n"));
  EXPECT_TRUE(dkim::needs_normalization("a\rb\r\n"));
  EXPECT_TRUE(dkim::needs_normalization("a\r\nb"));
  std::string out;
  dkim::normalize_line_ends("a\nb\rc\r\n\r\nd", out);
  EXPECT_EQ(out, "a\r\nb\r\nc\r\n\r\nd\r\n");
}

TEST(DkimCanon, StripBValue) {
  // deliverability.md §1.2 regression: b= not last, folded value.
  EXPECT_EQ(dkim::detail::strip_b_value("DKIM-Signature: h=From; b = abc\r\ndef\r\n; v=1"),
            "DKIM-Signature: h=From; b =; v=1");
  // b= last: the field's CRLF stays.
  EXPECT_EQ(dkim::detail::strip_b_value("DKIM-Signature: v=1; b=abc\r\n def\r\n"), "DKIM-Signature: v=1; b=\r\n");
  // bh= is not b=.
  EXPECT_EQ(dkim::detail::strip_b_value("DKIM-Signature: bh=xyz; b=abc"), "DKIM-Signature: bh=xyz; b=");
}

// --- V1: RFC 8463 Appendix A ------------------------------------------------

TEST(DkimVectors, Rfc8463BodyHashAndSignedData) {
  const std::string msg = testdata("rfc8463_a3.eml");
  ASSERT_EQ(msg.size(), 1090u);
  dkim::SplitMessage m = dkim::split_message(msg);
  std::string rb;
  dkim::canonicalize_body(dkim::Canon::kRelaxed, m.body, rb);
  EXPECT_EQ(rb, "Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n");
  EXPECT_EQ(sha256_b64(rb), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");

  // The Ed25519 signed data, as the appendix lists it.
  std::string input;
  for (const char* name : {"from", "to", "subject", "date", "message-id"})
    for (auto& f : m.fields)
      if (dkim::detail::iequals(f.name, name)) dkim::canonicalize_header(dkim::Canon::kRelaxed, f.raw, input);
  dkim::canonicalize_header(dkim::Canon::kRelaxed, template_of(m.fields[0].raw), input, false);
  EXPECT_EQ(input,
            "from:Joe SixPack <joe@football.example.com>\r\n"
            "to:Suzie Q <suzie@shopping.example.net>\r\n"
            "subject:Is dinner ready?\r\n"
            "date:Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
            "message-id:<20030712040037.46341.5F8J@football.example.com>\r\n"
            "dkim-signature:v=1; a=ed25519-sha256; c=relaxed/relaxed; d=football.example.com; "
            "i=@football.example.com; q=dns/txt; s=brisbane; t=1528637909; h=from : to : subject : date : "
            "message-id : from : subject : date; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=");
}

TEST(DkimVectors, Rfc8463SignaturesReproduced) {
  const std::string msg = testdata("rfc8463_a3.eml");
  dkim::SplitMessage m = dkim::split_message(msg);
  ASSERT_GE(m.fields.size(), 2u);
  // The message as it stood before signing: without the two signatures.
  const std::string unsigned_msg(msg.substr(m.fields[0].raw.size() + m.fields[1].raw.size()));
  auto ed = ed25519_key();
  auto rsa = dkim::PrivateKey::from_pem(testdata("rfc8463_rsa.pem")).value();
  EXPECT_EQ(rsa->algorithm(), dkim::Algorithm::kRsaSha256);
  EXPECT_EQ(rsa->bits(), 1024u);
  EXPECT_EQ(ed->dns_record(), kEd25519Txt);
  EXPECT_EQ(rsa->dns_record(), kRfc8463RsaTxt);

  auto b_ed = dkim::sign_field(*ed, unsigned_msg, template_of(m.fields[0].raw));
  ASSERT_TRUE(b_ed) << b_ed.error().to_string();
  EXPECT_EQ(*b_ed, b_value(m.fields[0].raw));
  auto b_rsa = dkim::sign_field(*rsa, unsigned_msg, template_of(m.fields[1].raw));
  ASSERT_TRUE(b_rsa) << b_rsa.error().to_string();
  EXPECT_EQ(*b_rsa, b_value(m.fields[1].raw));
}

TEST(DkimVectors, Rfc8463VerifiesAndNegativeCases) {
  const std::string msg = testdata("rfc8463_a3.eml");
  auto k = keys({kEd25519Txt, kRfc8463RsaTxt});
  auto v = dkim::verify(msg, k, kNow);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].pass) << v[0].reason;
  EXPECT_TRUE(v[1].pass) << v[1].reason;
  EXPECT_EQ(v[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(v[1].selector, "test");

  auto replaced = [&](std::string_view from, std::string_view to) {
    std::string m = msg;
    size_t at = m.find(from);
    EXPECT_NE(at, std::string::npos);
    m.replace(at, from.size(), to);
    return m;
  };
  for (const auto& r : dkim::verify(replaced("hungry", "angry"), k, kNow)) {
    EXPECT_FALSE(r.pass);
    EXPECT_EQ(r.reason, "body hash mismatch");
  }
  for (const auto& r : dkim::verify(replaced("dinner", "lunch"), k, kNow)) {
    EXPECT_FALSE(r.pass);
    EXPECT_EQ(r.reason, "signature mismatch");
  }
  // A second From above the signed one: oversigning catches it.
  for (const auto& r : dkim::verify(replaced("From: Joe", "From: Mallory <m@evil.example>\r\nFrom: Joe"), k, kNow))
    EXPECT_FALSE(r.pass);
  // An unsigned field added: still valid.
  for (const auto& r : dkim::verify(replaced("From: Joe", "X-Mailer: whatever\r\nFrom: Joe"), k, kNow))
    EXPECT_TRUE(r.pass) << r.reason;
}

// --- V2: go-msgauth simple/simple -------------------------------------------

TEST(DkimVectors, GoMsgauthSimpleSimpleReproduced) {
  const std::string raw = testdata("gomsgauth_input.eml");
  std::string msg;
  dkim::normalize_line_ends(raw, msg);  // "...Joe." gains its CRLF, as on the wire
  for (auto [sig_file, key] :
       {std::pair<const char*, std::shared_ptr<const dkim::PrivateKey>>{"gomsgauth_ed25519.sig", ed25519_key()},
        {"gomsgauth_rsa.sig", dkim::PrivateKey::from_pem(testdata("gomsgauth_rsa.pem")).value()}}) {
    SCOPED_TRACE(sig_file);
    const std::string field = testdata(sig_file);
    auto b = dkim::sign_field(*key, msg, template_of(field));
    ASSERT_TRUE(b) << b.error().to_string();
    EXPECT_EQ(*b, b_value(field));
    auto v = dkim::verify(field + msg, keys({kEd25519Txt, kGoMsgauthRsaTxt}), kNow);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_TRUE(v[0].pass) << v[0].reason;
    // The body hash our signer computes is the vector's.
    dkim::SignerOptions o;
    o.domain = "football.example.com";
    o.selector = "brisbane";
    o.header_canon = o.body_canon = dkim::Canon::kSimple;
    o.headers = {"From", "To", "Subject", "Date", "Message-ID"};
    auto signer = dkim::Signer::create(o, key).value();
    EXPECT_EQ(signer.body_hash(dkim::split_message(msg).body), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  }
}

// --- V3: dkimpy's rfc6376.signed.msg ------------------------------------------

TEST(DkimVectors, DkimpySimpleHeaderWithTrailingSpaces) {
  // Shipped by python3-dkim (a test dependency, scripts/install-deps.sh).
  const std::string path = "/usr/lib/python3/dist-packages/dkim/tests/data/rfc6376.signed.msg";
  std::ifstream probe(path);
  ASSERT_TRUE(probe) << path << " is missing: install python3-dkim (scripts/install-deps.sh)";
  std::string msg;
  dkim::normalize_line_ends(read_file(path), msg);
  EXPECT_EQ(sha256_b64(msg), dkim::base64_encode(*dkim::base64_decode(
                                 // 938f38b1... (deliverability.md §1.6 V3) in base64
                                 "k484sW/tmzmXzr0fbs9EACnsorDA36GgqiDXSS+R7eU=")));
  auto v = dkim::verify(msg, keys({kEd25519Txt, kRfc8463RsaTxt}), kNow);
  ASSERT_EQ(v.size(), 2u);
  for (const auto& r : v) EXPECT_TRUE(r.pass) << r.algorithm << ": " << r.reason;
  // The trailing spaces matter: without them, simple canonicalization fails.
  std::string trimmed = msg;
  for (size_t at; (at = trimmed.find(" \r\n")) != std::string::npos;) trimmed.erase(at, 1);
  for (const auto& r : dkim::verify(trimmed, keys({kEd25519Txt, kRfc8463RsaTxt}), kNow)) EXPECT_FALSE(r.pass);
}

}  // namespace
