// dkim/verify.cpp: an offline verifier (RFC 6376 §6) for `vestnik dkim
// verify` and the tests. It takes the public keys as given (no DNS) and
// checks what a receiver checks: tags, body hash, header hash, signature,
// expiry. Written independently of the signer's folding and tag order: it
// parses whatever a DKIM-Signature field holds.
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>

#include "dkim/dkim.h"
#include "dkim/internal.h"

namespace dkim {
namespace {

using detail::iequals;
using detail::lower;
using detail::parse_tags;

// A tag value of 1 to 18 digits (t=, x=, l=; RFC 6376 §3.5). No exceptions:
// the message comes from outside, and std::stoll would throw on junk.
std::optional<int64_t> parse_digits(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

Verification check(const SplitMessage& m, size_t index, const std::vector<PublicKeyRecord>& keys, int64_t now) {
  Verification v;
  const HeaderField& sigf = m.fields[index];
  // After the colon, not after name.size(): the name has any WSP before the
  // colon trimmed ("DKIM-Signature :", obsolete but legal).
  auto tags_opt = parse_tags(sigf.raw.substr(sigf.raw.find(':') + 1));
  auto fail = [&v](std::string why) {
    v.pass = false;
    v.reason = std::move(why);
    return v;
  };
  if (!tags_opt) return fail("malformed tag list");
  auto& tags = *tags_opt;
  auto tag = [&tags](const char* n) -> std::string* {
    auto it = tags.find(n);
    return it == tags.end() ? nullptr : &it->second;
  };
  if (tag("d")) v.domain = *tag("d");
  if (tag("s")) v.selector = *tag("s");
  if (tag("a")) v.algorithm = *tag("a");
  for (const char* req : {"v", "a", "b", "bh", "d", "h", "s"})
    if (!tag(req)) return fail(std::string("missing tag ") + req);
  if (*tag("v") != "1") return fail("v= is not 1");
  Algorithm alg;
  if (v.algorithm == "rsa-sha256") {
    alg = Algorithm::kRsaSha256;
  } else if (v.algorithm == "ed25519-sha256") {
    alg = Algorithm::kEd25519Sha256;
  } else {
    return fail("unsupported algorithm " + v.algorithm);
  }
  Canon hc = Canon::kSimple, bc = Canon::kSimple;
  if (auto* c = tag("c")) {
    std::string_view cv = *c;
    size_t slash = cv.find('/');
    auto parse = [](std::string_view s, Canon& out) {
      if (s == "simple") out = Canon::kSimple;
      else if (s == "relaxed") out = Canon::kRelaxed;
      else return false;
      return true;
    };
    if (!parse(cv.substr(0, slash), hc) || (slash != std::string_view::npos && !parse(cv.substr(slash + 1), bc)))
      return fail("bad c= " + *c);
  }
  if (auto* x = tag("x")) {
    auto xv = parse_digits(*x);
    if (!xv) return fail("bad x=");
    if (auto* t = tag("t")) {
      auto tv = parse_digits(*t);
      if (!tv) return fail("bad t=");
      if (*tv > *xv) return fail("x= is before t=");
    }
    if (now > *xv) return fail("signature expired (x=" + *x + ")");
  }
  std::vector<std::string> names = detail::parse_h(*tag("h"));
  if (std::find(names.begin(), names.end(), "from") == names.end()) return fail("h= does not include From");
  // Body.
  std::string_view body = m.body;
  std::string canon_body;
  canonicalize_body(bc, body, canon_body);
  if (auto* l = tag("l")) {
    auto lv = parse_digits(*l);
    if (!lv) return fail("bad l=");
    if (static_cast<uint64_t>(*lv) > canon_body.size()) return fail("l= is longer than the body");
    canon_body.resize(static_cast<size_t>(*lv));
  }
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_Digest(canon_body.data(), canon_body.size(), md, &mdlen, EVP_sha256(), nullptr);
  auto bh = base64_decode(*tag("bh"));
  if (!bh || *bh != std::string_view(reinterpret_cast<char*>(md), mdlen)) return fail("body hash mismatch");
  unsigned char hd[32];
  detail::header_digest(m, names, hc, detail::strip_b_value(sigf.raw), hd);
  auto b = base64_decode(*tag("b"));
  if (!b || b->empty()) return fail("b= is not base64");
  const PublicKeyRecord* key = nullptr;
  for (const auto& k : keys)
    if (k.algorithm == alg) {
      key = &k;
      break;
    }
  if (!key) return fail("no " + std::string(key_type_name(alg)) + " key given");
  const auto* kp = reinterpret_cast<const unsigned char*>(key->key.data());
  EVP_PKEY* pkey = alg == Algorithm::kRsaSha256
                       ? d2i_PUBKEY(nullptr, &kp, static_cast<long>(key->key.size()))
                       : EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, kp, key->key.size());
  if (!pkey) return fail("the key does not decode");
  bool ok = false;
  const auto* sp = reinterpret_cast<const unsigned char*>(b->data());
  if (alg == Algorithm::kRsaSha256) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(pkey, nullptr);
    ok = ctx && EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
         EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
         EVP_PKEY_verify(ctx, sp, b->size(), hd, sizeof hd) == 1;
    EVP_PKEY_CTX_free(ctx);
  } else {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
         EVP_DigestVerify(ctx, sp, b->size(), hd, sizeof hd) == 1;
    EVP_MD_CTX_free(ctx);
  }
  EVP_PKEY_free(pkey);
  if (!ok) return fail("signature mismatch");
  v.pass = true;
  return v;
}

}  // namespace

core::Result<PublicKeyRecord> parse_key_record(std::string_view txt) {
  // Join quoted strings: "a" "b" -> ab. Unquoted text is taken as is.
  std::string joined;
  size_t first = txt.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && txt[first] == '"') {
    bool in = false;
    for (char c : txt) {
      if (c == '"') {
        in = !in;
        continue;
      }
      if (in) joined.push_back(c);
    }
  } else {
    joined = std::string(txt);
  }
  auto tags = parse_tags(joined);
  if (!tags) return core::invalid_argument("txt", "not a DKIM key record (tag=value; ...)");
  if (auto it = tags->find("v"); it != tags->end() && it->second != "DKIM1")
    return core::invalid_argument("v", "must be DKIM1");
  PublicKeyRecord r;
  if (auto it = tags->find("k"); it != tags->end()) {
    if (it->second == "rsa") r.algorithm = Algorithm::kRsaSha256;
    else if (it->second == "ed25519") r.algorithm = Algorithm::kEd25519Sha256;
    else return core::invalid_argument("k", "unknown key type " + it->second);
  }
  auto it = tags->find("p");
  if (it == tags->end()) return core::invalid_argument("p", "missing");
  if (it->second.empty()) return core::invalid_argument("p", "empty: the key is revoked");
  auto key = base64_decode(it->second);
  if (!key) return core::invalid_argument("p", "not base64");
  if (r.algorithm == Algorithm::kEd25519Sha256 && key->size() != 32)
    return core::invalid_argument("p", "an Ed25519 key is 32 bytes");
  r.key = std::move(*key);
  return r;
}

std::vector<Verification> verify(std::string_view message, const std::vector<PublicKeyRecord>& keys, int64_t now) {
  SplitMessage m = split_message(message);
  std::vector<Verification> out;
  for (size_t i = 0; i < m.fields.size(); ++i)
    if (iequals(m.fields[i].name, "dkim-signature")) out.push_back(check(m, i, keys, now));
  return out;
}

}  // namespace dkim
