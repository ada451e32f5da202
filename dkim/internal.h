// dkim/internal.h: pieces shared by the signer and the verifier.
#pragma once

#include <openssl/evp.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/canon.h"

namespace dkim::detail {

// tag-list (RFC 6376 §3.2): "t=v; t=v", values trimmed of FWS. nullopt on
// a spec without '=' or a duplicate tag.
std::optional<std::map<std::string, std::string>> parse_tags(std::string_view list);

// The names of an h= value, lowercased and trimmed.
std::vector<std::string> parse_h(std::string_view h);

// The field with the value of its b= tag removed (§3.7), wherever b= stands.
std::string strip_b_value(std::string_view raw);

// SHA-256 of the header hash input (§3.7): for each of `names` (lowercase)
// the canonical last not-yet-used field of that name, then `sig_field`
// (b= value already empty) canonicalized without its CRLF.
void header_digest(const SplitMessage& m, const std::vector<std::string>& names, Canon c,
                   std::string_view sig_field, unsigned char (&out)[32]);

// SHA-256, fetched once per process: in OpenSSL 3, EVP_sha256() makes
// every EVP_DigestInit_ex look the implementation up again, which costs
// about as much as hashing a kilobyte.
const EVP_MD* sha256_md();

// SHA-256 through EVP with sha256_md().
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* p, size_t n);
  void final(unsigned char (&out)[32]);

 private:
  EVP_MD_CTX* ctx_;
};

bool iequals(std::string_view a, std::string_view b) noexcept;
std::string lower(std::string_view s);

}  // namespace dkim::detail
