// dkim/dkim.h: DKIM signing (RFC 6376) with rsa-sha256 (RFC 8301) and
// ed25519-sha256 (RFC 8463), key handling, and an offline verifier.
//
//   auto key = dkim::PrivateKey::load_file("/etc/vestnik/dkim/s1.pem");
//   auto signer = dkim::Signer::create(options, *key);
//   auto field = signer->sign(message, now);  // "DKIM-Signature: ...\r\n"
//   wire = *field + message;
//
// A Signer is immutable once created and may sign on any number of threads
// at once. Signing is CPU work (an RSA-2048 signature is about a
// millisecond): run it off the I/O threads.
//
// Messages given to sign() and verify() must have CRLF line ends only
// (dkim::needs_normalization / normalize_line_ends in canon.h): the
// signature covers the bytes as they go on the wire.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "dkim/canon.h"

namespace dkim {

enum class Algorithm : uint8_t { kRsaSha256 = 0, kEd25519Sha256 = 1 };

// "rsa-sha256" / "ed25519-sha256" (the a= tag), "rsa" / "ed25519" (k=).
std::string_view algorithm_name(Algorithm a) noexcept;
std::string_view key_type_name(Algorithm a) noexcept;
// Accepts "rsa", "rsa-sha256", "ed25519", "ed25519-sha256".
core::Result<Algorithm> parse_algorithm(std::string_view s, std::string_view field);

inline constexpr unsigned kMinRsaBits = 1024;      // RFC 8301 §3.2: refuse smaller
inline constexpr unsigned kDefaultRsaBits = 2048;  // what keygen makes
inline constexpr unsigned kMaxRsaBits = 4096;      // what verifiers must accept

// A private key, RSA (>= 1024 bits) or Ed25519. Immutable; share it.
class PrivateKey {
 public:
  ~PrivateKey();
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;

  // PEM: PKCS#8 ("PRIVATE KEY") or traditional RSA ("RSA PRIVATE KEY").
  // Errors name `field` (the config key or option that named the file).
  static core::Result<std::shared_ptr<const PrivateKey>> from_pem(std::string_view pem,
                                                                  std::string_view field = "key");
  static core::Result<std::shared_ptr<const PrivateKey>> load_file(const std::string& path,
                                                                   std::string_view field = "key");
  // Ed25519 from its 32-byte seed (RFC 8032's private key; test vectors).
  static core::Result<std::shared_ptr<const PrivateKey>> from_ed25519_seed(std::string_view seed);
  // A new random key; `rsa_bits` only for RSA (1024..4096).
  static core::Result<std::shared_ptr<const PrivateKey>> generate(Algorithm a,
                                                                  unsigned rsa_bits = kDefaultRsaBits);

  Algorithm algorithm() const noexcept { return algorithm_; }
  unsigned bits() const noexcept { return bits_; }
  // PKCS#8 PEM of the private key.
  std::string pem() const;
  // The public key as DKIM wants it in p=: base64 of the DER
  // SubjectPublicKeyInfo for RSA, of the raw 32-byte key for Ed25519.
  std::string public_key_base64() const;
  // "v=DKIM1; k=rsa; p=..." (the TXT record's value, one string).
  std::string dns_record() const;

  // Signs the 32-byte SHA-256 digest of the header hash input: RSASSA-PKCS1-v1_5
  // with SHA-256 for RSA, Ed25519 over the digest itself for Ed25519
  // (RFC 8463 §3). Thread-safe.
  core::Result<std::string> sign_digest(const unsigned char (&digest)[32]) const;

 private:
  PrivateKey(Algorithm a, unsigned bits, void* pkey);
  Algorithm algorithm_;
  unsigned bits_;
  void* pkey_;  // EVP_PKEY*
};

// The TXT record value split into quoted strings of at most 255 octets,
// joined by spaces, as a zone file wants it ("\"v=DKIM1; ...\" \"...\"").
std::string quote_txt(std::string_view record);

struct SignerOptions {
  std::string domain;    // d=, an A-label domain
  std::string selector;  // s=
  std::string identity;  // i= (empty: omitted; else "@domain" or "user@sub.domain")
  Canon header_canon = Canon::kRelaxed;
  Canon body_canon = Canon::kRelaxed;
  // Header names signed when present, in this order in h= (one entry per
  // instance in the message). Matched case-insensitively.
  std::vector<std::string> headers;
  // Names listed in h= once more than they occur, so that a copy added on
  // the way breaks the signature (RFC 6376 §5.4.2). Each must also be in
  // `headers`. A name absent from the message is still listed once.
  std::vector<std::string> oversign;
  // x= = t= + this many seconds; 0: no x=. Must exceed the queue lifetime.
  int64_t expire_seconds = 0;
};

// The default header lists (issue #5): From, To, Cc, Subject, Date,
// Message-ID, Reply-To, MIME-Version, Content-Type,
// Content-Transfer-Encoding, List-Unsubscribe, List-Unsubscribe-Post,
// Feedback-ID, and the trace header; From, Subject, Date, To,
// List-Unsubscribe and List-Unsubscribe-Post oversigned.
std::vector<std::string> default_signed_headers(std::string_view trace_header);
std::vector<std::string> default_oversigned_headers();

// Names a signer must never sign (RFC 6376 §5.4 and dkimpy's SHOULD_NOT):
// fields added or changed in transit.
bool is_unsignable_header(std::string_view name) noexcept;

class Signer {
 public:
  // Checks the options: domain and selector syntax, identity within the
  // domain, header names (From required, none unsignable), oversign ⊆
  // headers. Errors name the option ("domain", "headers[2]", ...).
  static core::Result<Signer> create(SignerOptions options, std::shared_ptr<const PrivateKey> key);

  // The base64 SHA-256 of the canonical body (bh=). Messages with the same
  // body (an announcement) may compute it once and pass it to sign().
  std::string body_hash(std::string_view body) const;

  // Returns the DKIM-Signature field, folded at 78 columns, with its CRLF,
  // to be put above `message`'s header. `now` is the t= value (Unix
  // seconds). `body_hash` (optional) must be body_hash() of this message's
  // body under this signer's body canonicalization.
  // REQUIRES: `message` has CRLF line ends only.
  // Errors: no From field (kInvalidArgument "From"), the key failed.
  core::Result<std::string> sign(std::string_view message, int64_t now,
                                 std::string_view body_hash = {}) const;

  const SignerOptions& options() const noexcept { return options_; }
  const PrivateKey& key() const noexcept { return *key_; }

 private:
  Signer(SignerOptions o, std::shared_ptr<const PrivateKey> k);
  SignerOptions options_;
  std::shared_ptr<const PrivateKey> key_;
  std::vector<std::string> lower_headers_;  // lowercase `headers`
  std::vector<bool> oversigned_;            // per `headers` entry
};

// Low level: the b= value (base64) for `field`, a DKIM-Signature field
// ("DKIM-Signature: ...", no CRLF) whose tags are all final and whose b= is
// present, empty and last, for `message` (CRLF line ends; any signature
// fields in it are hashed only if h= names them). Reproduces third-party
// vectors whose tag layout differs from Signer's.
core::Result<std::string> sign_field(const PrivateKey& key, std::string_view message, std::string_view field);

// ---------------------------------------------------------------------------
// Offline verification (the `vestnik dkim verify` command and the tests).

// A public key from a DNS TXT record value ("v=DKIM1; k=rsa; p=...").
struct PublicKeyRecord {
  Algorithm algorithm = Algorithm::kRsaSha256;
  std::string key;  // decoded p=: DER SPKI (RSA) or 32 raw bytes (Ed25519)
};
// Tolerates quoted strings (`"v=DKIM1; " "p=..."`), as copied from a zone
// file. Errors name the tag ("p", "k", "v").
core::Result<PublicKeyRecord> parse_key_record(std::string_view txt);

struct Verification {
  std::string domain;    // d=
  std::string selector;  // s=
  std::string algorithm; // a= as written
  bool pass = false;
  std::string reason;    // why it failed, or "" when it passed
};

// Verifies every DKIM-Signature field of `message` (top first) against the
// first of `keys` whose algorithm matches the signature's (a signature with
// no matching key fails with "no key"). `now` (Unix seconds) is checked
// against x=. REQUIRES: CRLF line ends.
std::vector<Verification> verify(std::string_view message, const std::vector<PublicKeyRecord>& keys,
                                 int64_t now);

// RFC 4648 base64 with padding.
std::string base64_encode(std::string_view bytes);
// Ignores whitespace (FWS may fold b=, bh= and p=); fails on other junk.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace dkim
