// dkim/key.cpp: private keys (PEM, generation, public halves) and base64.
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dkim/dkim.h"
#include "dkim/internal.h"

namespace dkim {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

std::string_view algorithm_name(Algorithm a) noexcept {
  return a == Algorithm::kRsaSha256 ? "rsa-sha256" : "ed25519-sha256";
}
std::string_view key_type_name(Algorithm a) noexcept {
  return a == Algorithm::kRsaSha256 ? "rsa" : "ed25519";
}

core::Result<Algorithm> parse_algorithm(std::string_view s, std::string_view field) {
  if (s == "rsa" || s == "rsa-sha256") return Algorithm::kRsaSha256;
  if (s == "ed25519" || s == "ed25519-sha256") return Algorithm::kEd25519Sha256;
  return core::invalid_argument(std::string(field),
                                "must be rsa or ed25519 (rsa-sha256, ed25519-sha256), not '" +
                                    std::string(s) + "'");
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '/' || c == '=';
    if (!ok) return std::nullopt;
    clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < clean.size() && clean[clean.size() - 1 - pad] == '=') ++pad;
  if (clean.find('=') < clean.size() - pad) return std::nullopt;  // '=' only at the end
  std::string out(clean.size() / 4 * 3, '\0');
  if (clean.empty()) return out;
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

PrivateKey::PrivateKey(Algorithm a, unsigned bits, void* pkey) : algorithm_(a), bits_(bits), pkey_(pkey) {}
PrivateKey::~PrivateKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

namespace {

core::Result<std::shared_ptr<const PrivateKey>> adopt(EVP_PKEY* pkey, std::string_view field,
                                                      std::shared_ptr<const PrivateKey> (*make)(Algorithm, unsigned,
                                                                                                EVP_PKEY*)) {
  const int id = EVP_PKEY_get_base_id(pkey);
  if (id == EVP_PKEY_RSA) {
    const int bits = EVP_PKEY_get_bits(pkey);
    if (bits < static_cast<int>(kMinRsaBits) || bits > 16384) {
      EVP_PKEY_free(pkey);
      return core::invalid_argument(std::string(field), "an RSA key of " + std::to_string(bits) +
                                                            " bits; DKIM needs at least 1024 (RFC 8301), "
                                                            "2048 recommended");
    }
    return make(Algorithm::kRsaSha256, static_cast<unsigned>(bits), pkey);
  }
  if (id == EVP_PKEY_ED25519) return make(Algorithm::kEd25519Sha256, 256, pkey);
  EVP_PKEY_free(pkey);
  return core::invalid_argument(std::string(field), "not an RSA or Ed25519 private key");
}

}  // namespace

core::Result<std::shared_ptr<const PrivateKey>> PrivateKey::from_pem(std::string_view pem, std::string_view field) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return core::make_error(core::Errc::kInternal, "BIO_new_mem_buf failed", std::string(field));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!pkey) {
    return core::invalid_argument(std::string(field),
                                  "not a PEM private key (unencrypted PKCS#8 or RSA): " + openssl_error());
  }
  return adopt(pkey, field, [](Algorithm a, unsigned bits, EVP_PKEY* k) {
    return std::shared_ptr<const PrivateKey>(new PrivateKey(a, bits, k));
  });
}

core::Result<std::shared_ptr<const PrivateKey>> PrivateKey::load_file(const std::string& path, std::string_view field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::make_error(core::Errc::kNotFound, "cannot read " + path + ": " + std::strerror(errno),
                            std::string(field));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  auto key = from_pem(ss.str(), field);
  if (!key) {
    core::Error e = key.error();
    e.message = path + ": " + e.message;
    return e;
  }
  return key;
}

core::Result<std::shared_ptr<const PrivateKey>> PrivateKey::from_ed25519_seed(std::string_view seed) {
  if (seed.size() != 32) return core::invalid_argument("seed", "an Ed25519 seed is 32 bytes");
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                                reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  if (!pkey) return core::make_error(core::Errc::kInternal, "Ed25519 key from seed failed: " + openssl_error());
  return std::shared_ptr<const PrivateKey>(new PrivateKey(Algorithm::kEd25519Sha256, 256, pkey));
}

core::Result<std::shared_ptr<const PrivateKey>> PrivateKey::generate(Algorithm a, unsigned rsa_bits) {
  EVP_PKEY* pkey = nullptr;
  if (a == Algorithm::kRsaSha256) {
    if (rsa_bits < kMinRsaBits || rsa_bits > kMaxRsaBits) {
      return core::invalid_argument("bits", "RSA keys for DKIM are 1024 to 4096 bits (2048 recommended)");
    }
    pkey = EVP_RSA_gen(rsa_bits);
  } else {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (!pkey) return core::make_error(core::Errc::kInternal, "key generation failed: " + openssl_error());
  return adopt(pkey, "algorithm", [](Algorithm alg, unsigned bits, EVP_PKEY* k) {
    return std::shared_ptr<const PrivateKey>(new PrivateKey(alg, bits, k));
  });
}

std::string PrivateKey::pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  std::string out;
  if (bio && PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(pkey_), nullptr, nullptr, 0, nullptr, nullptr)) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return out;
}

std::string PrivateKey::public_key_base64() const {
  auto* pkey = static_cast<EVP_PKEY*>(pkey_);
  if (algorithm_ == Algorithm::kEd25519Sha256) {
    unsigned char raw[32];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1) return {};
    return base64_encode(std::string_view(reinterpret_cast<char*>(raw), len));
  }
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(pkey, &der);
  if (n <= 0) return {};
  std::string out = base64_encode(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(n)));
  OPENSSL_free(der);
  return out;
}

std::string PrivateKey::dns_record() const {
  return "v=DKIM1; k=" + std::string(key_type_name(algorithm_)) + "; p=" + public_key_base64();
}

std::string quote_txt(std::string_view record) {
  std::string out;
  for (size_t pos = 0; pos < record.size() || pos == 0; pos += 255) {
    if (!out.empty()) out.push_back(' ');
    out.push_back('"');
    out.append(record.substr(pos, 255));
    out.push_back('"');
    if (record.empty()) break;
  }
  return out;
}

namespace {

// Signing contexts, initialised once per key and thread. In OpenSSL 3
// setting one up (algorithm fetches, the key's provider lookup, parameter
// parsing) costs 5-10 µs, a sixth of an Ed25519 signature, where copying
// an initialised one costs well under a microsecond; a thread's few most
// recent keys keep theirs. Each entry holds a reference
// to its EVP_PKEY, so the address that identifies it cannot be reused by
// another key while the entry lives (and a key dropped by its PrivateKey
// stays in memory until its entry is evicted or the thread ends).
struct SignContexts {
  EVP_PKEY* key = nullptr;         // referenced
  EVP_PKEY_CTX* rsa = nullptr;     // EVP_PKEY_sign_init + PKCS#1 v1.5 + SHA-256; reusable
  EVP_MD_CTX* ed_init = nullptr;   // EVP_DigestSignInit done; copied per signature
  EVP_MD_CTX* ed_work = nullptr;   // the copy a signature finalises
  void reset() {
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(rsa);
    EVP_MD_CTX_free(ed_init);
    EVP_MD_CTX_free(ed_work);
    *this = SignContexts{};
  }
};

class SignContextCache {
 public:
  ~SignContextCache() {
    for (auto& e : entries_) e.reset();
  }
  // The contexts for `pkey`, set up on first use; nullptr if OpenSSL failed
  // (its error queue says why).
  SignContexts* get(EVP_PKEY* pkey, Algorithm a) {
    for (auto& e : entries_)
      if (e.key == pkey) return &e;
    SignContexts& e = entries_[next_];
    next_ = (next_ + 1) % kEntries;
    e.reset();
    bool ok = false;
    if (a == Algorithm::kRsaSha256) {
      e.rsa = EVP_PKEY_CTX_new(pkey, nullptr);
      ok = e.rsa && EVP_PKEY_sign_init(e.rsa) == 1 && EVP_PKEY_CTX_set_rsa_padding(e.rsa, RSA_PKCS1_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(e.rsa, detail::sha256_md()) == 1;
    } else {
      e.ed_init = EVP_MD_CTX_new();
      e.ed_work = EVP_MD_CTX_new();
      ok = e.ed_init && e.ed_work && EVP_DigestSignInit(e.ed_init, nullptr, nullptr, nullptr, pkey) == 1;
    }
    if (!ok || EVP_PKEY_up_ref(pkey) != 1) {
      e.reset();
      return nullptr;
    }
    e.key = pkey;
    return &e;
  }

 private:
  static constexpr size_t kEntries = 8;
  SignContexts entries_[kEntries];
  size_t next_ = 0;
};

thread_local SignContextCache t_sign_contexts;

}  // namespace

core::Result<std::string> PrivateKey::sign_digest(const unsigned char (&digest)[32]) const {
  auto* pkey = static_cast<EVP_PKEY*>(pkey_);
  const bool rsa = algorithm_ == Algorithm::kRsaSha256;
  SignContexts* c = t_sign_contexts.get(pkey, algorithm_);
  if (!c) {
    return core::make_error(core::Errc::kInternal,
                            std::string(rsa ? "RSA" : "Ed25519") + " signing set-up failed: " + openssl_error());
  }
  std::string sig;
  if (rsa) {
    size_t len = static_cast<size_t>(EVP_PKEY_get_size(pkey));
    sig.resize(len);
    if (EVP_PKEY_sign(c->rsa, reinterpret_cast<unsigned char*>(sig.data()), &len, digest, sizeof digest) != 1) {
      c->reset();
      return core::make_error(core::Errc::kInternal, "RSA signing failed: " + openssl_error());
    }
    sig.resize(len);
    return sig;
  }
  // EVP_DigestSign finalises its context: sign with a copy of the
  // initialised one.
  size_t len = 64;
  sig.resize(len);
  if (EVP_MD_CTX_copy_ex(c->ed_work, c->ed_init) != 1 ||
      EVP_DigestSign(c->ed_work, reinterpret_cast<unsigned char*>(sig.data()), &len, digest, sizeof digest) != 1) {
    c->reset();
    return core::make_error(core::Errc::kInternal, "Ed25519 signing failed: " + openssl_error());
  }
  sig.resize(len);
  return sig;
}

}  // namespace dkim
