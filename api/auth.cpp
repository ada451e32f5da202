// api/auth.cpp: the bearer-key ring.
//
// Only SHA-256 digests of the keys are kept, so a heap dump or a core file
// does not hand out working keys. A presented key is hashed and compared
// with every stored digest by CRYPTO_memcmp, without stopping at the first
// match: the time taken says nothing about how much of a key was right, nor
// which entry matched. The ring is small (keys per tenant), so a linear
// pass costs less than the hash itself.
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>

#include "api/api.h"

namespace api {

struct KeyRing::Entry {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  Principal principal;
};

namespace {

std::array<unsigned char, SHA256_DIGEST_LENGTH> digest_of(std::string_view key) noexcept {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d;
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), d.data());
  return d;
}

// Longer bearer values are refused before hashing: no configured key is
// this long, and hashing attacker-sized input buys nothing.
constexpr size_t kMaxKeyBytes = 1024;

}  // namespace

KeyRing::KeyRing(const std::vector<core::TenantConfig>& tenants) {
  for (const core::TenantConfig& t : tenants) {
    for (const core::ApiKey& k : t.keys) add(k.key, Principal{t.id, k.role});
  }
}

KeyRing::KeyRing() = default;
KeyRing::KeyRing(KeyRing&&) noexcept = default;
KeyRing& KeyRing::operator=(KeyRing&&) noexcept = default;
KeyRing::~KeyRing() = default;

void KeyRing::add(const std::string& key, Principal p) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    throw core::ConfigError("tenants." + p.tenant + ".keys", "an API key must be 1 to 1024 bytes");
  }
  auto e = std::make_unique<Entry>();
  e->digest = digest_of(key);
  for (const auto& existing : entries_) {
    if (CRYPTO_memcmp(existing->digest.data(), e->digest.data(), e->digest.size()) == 0) {
      throw core::ConfigError(
          "tenants." + p.tenant + ".keys",
          "duplicate API key (also used by tenant '" + existing->principal.tenant + "')");
    }
  }
  e->principal = std::move(p);
  entries_.push_back(std::move(e));
}

const Principal* KeyRing::find(std::string_view bearer_key) const noexcept {
  if (bearer_key.empty() || bearer_key.size() > kMaxKeyBytes) return nullptr;
  const auto d = digest_of(bearer_key);
  const Principal* found = nullptr;
  for (const auto& e : entries_) {
    const bool match = CRYPTO_memcmp(e->digest.data(), d.data(), d.size()) == 0;
    // Keys are unique (add() refuses duplicates), so at most one matches.
    if (match) found = &e->principal;
  }
  return found;
}

size_t KeyRing::size() const noexcept { return entries_.size(); }

}  // namespace api
