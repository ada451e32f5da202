// templating/token.cpp: seal_token / open_token (see token.h for the layout).
#include "templating/token.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace templating {
namespace {

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0..63 for an alphabet character, 0xFF for anything else.
constexpr std::array<uint8_t, 256> make_b64url_decode() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xFF;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64Url[i])] = static_cast<uint8_t>(i);
  return t;
}
constexpr auto kB64UrlDecode = make_b64url_decode();

void b64url_encode(const unsigned char* in, size_t n, std::string& out) {
  size_t pos = out.size();
  out.resize(pos + (n * 4 + 2) / 3);
  char* o = out.data() + pos;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    *o++ = kB64Url[v >> 18];
    *o++ = kB64Url[(v >> 12) & 63];
    *o++ = kB64Url[(v >> 6) & 63];
    *o++ = kB64Url[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{in[i]} << 16;
    *o++ = kB64Url[v >> 18];
    *o++ = kB64Url[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    *o++ = kB64Url[v >> 18];
    *o++ = kB64Url[(v >> 12) & 63];
    *o++ = kB64Url[(v >> 6) & 63];
  }
}

// Strict: no padding, no whitespace, and the unused low bits of the last
// character must be zero, so every byte string has exactly one token text
// (a token is also a lookup key in logs; two spellings of one token would
// be a needless surprise).
bool b64url_decode(std::string_view in, std::string& out) {
  if (in.size() % 4 == 1) return false;
  out.resize(in.size() / 4 * 3 + (in.size() % 4 == 0 ? 0 : in.size() % 4 - 1));
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  size_t i = 0;
  for (; i + 4 <= in.size(); i += 4) {
    uint32_t a = kB64UrlDecode[static_cast<unsigned char>(in[i])];
    uint32_t b = kB64UrlDecode[static_cast<unsigned char>(in[i + 1])];
    uint32_t c = kB64UrlDecode[static_cast<unsigned char>(in[i + 2])];
    uint32_t d = kB64UrlDecode[static_cast<unsigned char>(in[i + 3])];
    if ((a | b | c | d) & 0x80) return false;
    uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    *o++ = static_cast<unsigned char>(v >> 16);
    *o++ = static_cast<unsigned char>(v >> 8);
    *o++ = static_cast<unsigned char>(v);
  }
  size_t rest = in.size() - i;
  if (rest == 0) return true;
  uint32_t a = kB64UrlDecode[static_cast<unsigned char>(in[i])];
  uint32_t b = kB64UrlDecode[static_cast<unsigned char>(in[i + 1])];
  uint32_t c = rest == 3 ? kB64UrlDecode[static_cast<unsigned char>(in[i + 2])] : 0;
  if ((a | b | c) & 0x80) return false;
  uint32_t v = (a << 18) | (b << 12) | (c << 6);
  *o++ = static_cast<unsigned char>(v >> 16);
  if (rest == 3) {
    *o++ = static_cast<unsigned char>(v >> 8);
    if (v & 0xFF) return false;
  } else if (v & 0xFFFF) {
    return false;
  }
  return true;
}

// One HMAC-SHA256 context per thread, initialised with the last key used.
// EVP_MAC_init with a NULL key restarts the MAC under the key it already
// holds (documented for OpenSSL 3.0), which skips the provider fetch, the
// allocation and the key schedule that HMAC() repeats on every call.
class MacCache {
 public:
  MacCache() = default;
  MacCache(const MacCache&) = delete;
  MacCache& operator=(const MacCache&) = delete;
  ~MacCache() {
    if (ctx_ != nullptr) EVP_MAC_CTX_free(ctx_);
    if (!key_.empty()) OPENSSL_cleanse(key_.data(), key_.size());
  }

  // Writes the full 32-byte MAC of `data` into `tag`. Aborts if OpenSSL
  // cannot compute an HMAC at all (a broken installation, not an input error).
  void mac(std::string_view key, std::string_view data, unsigned char (&tag)[32]) {
    if (ctx_ == nullptr) {
      static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
      if (kHmac == nullptr) std::abort();
      ctx_ = EVP_MAC_CTX_new(kHmac);
      if (ctx_ == nullptr) std::abort();
    }
    bool ok;
    if (key_ == key && keyed_) {
      ok = EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1;
    } else {
      char digest[] = "SHA256";
      OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                             OSSL_PARAM_construct_end()};
      if (!key_.empty()) OPENSSL_cleanse(key_.data(), key_.size());
      key_.assign(key);
      ok = EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                        params) == 1;
      keyed_ = ok;
    }
    size_t len = 0;
    ok = ok && EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
         EVP_MAC_final(ctx_, tag, &len, sizeof tag) == 1 && len == sizeof tag;
    if (!ok) std::abort();
  }

 private:
  EVP_MAC_CTX* ctx_ = nullptr;
  std::string key_;
  bool keyed_ = false;
};

void hmac_sha256(std::string_view key, std::string_view data, unsigned char (&tag)[32]) {
  thread_local MacCache cache;
  cache.mac(key, data, tag);
}

core::Error bad_token(std::string message) {
  return core::invalid_argument("token", std::move(message));
}

}  // namespace

std::string seal_token(std::string_view key, std::span<const std::string_view> fields) {
  assert(!key.empty());
  size_t payload_size = 1;
  for (std::string_view f : fields) {
    assert(f.find('\0') == std::string_view::npos);
    payload_size += f.size() + 1;
  }
  if (!fields.empty()) --payload_size;  // n fields, n-1 separators

  // Small tokens (every realistic one) are built on the stack.
  char stack_buf[512];
  std::string heap_buf;
  char* raw = stack_buf;
  if (payload_size + kTokenTagBytes > sizeof stack_buf) {
    heap_buf.resize(payload_size + kTokenTagBytes);
    raw = heap_buf.data();
  }
  char* p = raw;
  *p++ = static_cast<char>(kTokenVersion);
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) *p++ = '\0';
    if (!fields[i].empty()) std::memcpy(p, fields[i].data(), fields[i].size());
    p += fields[i].size();
  }
  unsigned char tag[32];
  hmac_sha256(key, std::string_view(raw, payload_size), tag);
  std::memcpy(p, tag, kTokenTagBytes);

  std::string out;
  out.reserve(((payload_size + kTokenTagBytes) * 4 + 2) / 3);
  b64url_encode(reinterpret_cast<const unsigned char*>(raw), payload_size + kTokenTagBytes, out);
  return out;
}

core::Result<std::vector<std::string>> open_token(std::string_view key, std::string_view token) {
  if (key.empty()) return core::make_error(core::Errc::kInternal, "token key is empty");
  if (token.size() > kMaxTokenLength) return bad_token("token too long");
  std::string raw;
  if (!b64url_decode(token, raw)) return bad_token("malformed token");
  if (raw.size() < 1 + kTokenTagBytes) return bad_token("token too short");
  if (static_cast<unsigned char>(raw[0]) != kTokenVersion) return bad_token("unknown token version");
  std::string_view signed_part(raw.data(), raw.size() - kTokenTagBytes);
  unsigned char tag[32];
  hmac_sha256(key, signed_part, tag);
  if (CRYPTO_memcmp(tag, raw.data() + signed_part.size(), kTokenTagBytes) != 0) {
    return bad_token("token signature does not match");
  }
  std::vector<std::string> fields;
  std::string_view rest = signed_part.substr(1);
  for (;;) {
    size_t nul = rest.find('\0');
    fields.emplace_back(rest.substr(0, nul));
    if (nul == std::string_view::npos) break;
    rest.remove_prefix(nul + 1);
  }
  return fields;
}

// ---- id tokens (VERP) --------------------------------------------------------

namespace {

constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";

void base32_encode(const unsigned char* p, size_t n, std::string& out) {
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32[(acc >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32[(acc << (5 - bits)) & 31]);
}

int base32_value(char c) noexcept {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

void id_tag(std::string_view key, std::string_view kind, std::string_view id_bytes,
            unsigned char (&tag)[32]) {
  std::string data;
  data.reserve(kind.size() + 1 + id_bytes.size());
  data.append(kind).push_back('\0');
  data.append(id_bytes);
  hmac_sha256(key, data, tag);
}

}  // namespace

std::string seal_id_token(std::string_view key, std::string_view kind, const core::Id& id) {
  assert(!key.empty());
  unsigned char raw[core::Id::kBytes + kIdTokenTagBytes];
  const std::string_view bytes = id.bytes();
  std::memcpy(raw, bytes.data(), core::Id::kBytes);
  unsigned char tag[32];
  id_tag(key, kind, bytes, tag);
  std::memcpy(raw + core::Id::kBytes, tag, kIdTokenTagBytes);
  std::string out;
  out.reserve(kIdTokenLength);
  base32_encode(raw, sizeof raw, out);
  return out;
}

std::optional<core::Id> open_id_token(std::string_view key, std::string_view kind,
                                      std::string_view token) {
  if (key.empty() || token.size() != kIdTokenLength) return std::nullopt;
  unsigned char raw[core::Id::kBytes + kIdTokenTagBytes + 1];
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : token) {
    const int v = base32_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      if (n >= sizeof raw) return std::nullopt;
      raw[n++] = static_cast<unsigned char>((acc >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  if (n != core::Id::kBytes + kIdTokenTagBytes) return std::nullopt;
  const std::string_view bytes(reinterpret_cast<const char*>(raw), core::Id::kBytes);
  unsigned char tag[32];
  id_tag(key, kind, bytes, tag);
  if (CRYPTO_memcmp(tag, raw + core::Id::kBytes, kIdTokenTagBytes) != 0) return std::nullopt;
  return core::Id::from_bytes(bytes);
}

}  // namespace templating
