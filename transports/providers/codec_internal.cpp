// transports/providers/codec_internal.cpp: helpers the provider codecs
// share (codec_internal.h).
#include "transports/providers/codec_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <cassert>
#include <cstring>
#include <utility>

namespace transports::providers::detail {
namespace {

namespace json = boost::json;

// 2200-01-01T00:00:00Z: later (or negative) times are not times, and the
// nanosecond system_clock ends in 2262.
constexpr int64_t kMaxUnixSeconds = 7'258'118'400;
constexpr int64_t kMaxUnixMs = kMaxUnixSeconds * 1000;

}  // namespace

const json::value* member(const json::value* v, std::string_view key) noexcept {
  if (v == nullptr) return nullptr;
  const json::object* o = v->if_object();
  return o ? o->if_contains(key) : nullptr;
}

std::string_view as_string(const json::value* v) noexcept {
  if (v == nullptr) return {};
  const json::string* s = v->if_string();
  return s ? std::string_view(*s) : std::string_view();
}

std::optional<int64_t> as_int64(const json::value* v) noexcept {
  if (v == nullptr) return std::nullopt;
  if (const int64_t* i = v->if_int64()) return *i;
  if (const uint64_t* u = v->if_uint64(); u && *u <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(*u);
  }
  return std::nullopt;
}

std::optional<json::value> parse_json(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return std::nullopt;
  return v;
}

core::TimePoint from_unix_seconds(std::optional<int64_t> s) noexcept {
  if (!s || *s < 0 || *s > kMaxUnixSeconds) return core::TimePoint{};
  return core::from_unix_ms(*s * 1000);
}

core::TimePoint from_unix_millis(std::optional<int64_t> ms) noexcept {
  if (!ms || *ms < 0 || *ms > kMaxUnixMs) return core::TimePoint{};
  return core::from_unix_ms(*ms);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Only the length can leak, and the secret's length is no secret.
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool hmac(Digest digest, std::string_view key, std::string_view data, std::span<unsigned char> out) {
  assert(out.size() <= EVP_MAX_MD_SIZE);
  // An empty string_view may hold a null pointer; OpenSSL is handed a real
  // (empty) buffer instead, whatever the caller's view holds.
  static const unsigned char kEmpty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  const auto* d = reinterpret_cast<const unsigned char*>(data.empty() ? "" : data.data());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  const EVP_MD* md = digest == Digest::kSha1 ? EVP_sha1() : EVP_sha256();
  if (HMAC(md, k, static_cast<int>(key.size()), d, data.size(), mac, &len) == nullptr ||
      len != out.size()) {
    return false;
  }
  std::memcpy(out.data(), mac, out.size());
  return true;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string hex_lower(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    hex.push_back(kHex[data[i] >> 4]);
    hex.push_back(kHex[data[i] & 0xF]);
  }
  return hex;
}

void append_percent_encoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
}

void append_form_field(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out.push_back('&');
  append_percent_encoded(out, name);
  out.push_back('=');
  append_percent_encoded(out, value);
}

std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

SendResult recipient_failure(std::string_view enhanced, std::string text) {
  SendResult r = failure(FailureClass::kRecipient, false, true, std::move(text));
  r.outcome.reply.enhanced = enhanced;
  return r;
}

SendResult make_failure(const ErrorClass& c, std::string text) {
  SendResult r = failure(c.cls, c.rate_limited, c.blames_message, std::move(text));
  if (!c.enhanced.empty()) r.outcome.reply.enhanced = std::string(c.enhanced);
  r.recipient_blocked = c.recipient_blocked;
  r.needs_template = c.needs_template;
  return r;
}

}  // namespace transports::providers::detail
