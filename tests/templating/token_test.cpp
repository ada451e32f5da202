// tests/templating/token_test.cpp: templating/token.h — round trips, the
// frozen layout, and rejection of every kind of tampering.
#include "templating/token.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

namespace templating {
namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef-test-key";

std::vector<std::string> open_ok(std::string_view key, std::string_view token) {
  auto r = open_token(key, token);
  EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
  return r ? *r : std::vector<std::string>{};
}

void expect_rejected(std::string_view key, std::string_view token, std::string_view why) {
  auto r = open_token(key, token);
  ASSERT_FALSE(r) << why;
  EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument) << why;
  EXPECT_EQ(r.error().field, "token") << why;
}

// base64url without padding, written independently of token.cpp.
std::string b64url(const std::string& raw) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(a[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(a[(acc << (6 - bits)) & 63]);
  return out;
}

// A token built by hand from the documented layout.
std::string handmade(std::string_view key, unsigned char version, const std::string& payload) {
  std::string signed_part(1, static_cast<char>(version));
  signed_part += payload;
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &len);
  return b64url(signed_part + std::string(reinterpret_cast<char*>(mac), 16));
}

TEST(Token, RoundTrip) {
  std::vector<std::vector<std::string>> cases = {
      {"market", "ivan@example.org", "promo"},
      {"tenant", "", "category", ""},
      {""},
      {"Іван Петренко", "😀", "x"},
      {std::string(400, 'a'), std::string(300, 'b')},
  };
  for (const auto& fields : cases) {
    std::vector<std::string_view> views(fields.begin(), fields.end());
    std::string token = seal_token(kKey, views);
    EXPECT_EQ(open_ok(kKey, token), fields);
    for (char c : token) {
      EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << token;
    }
  }
  EXPECT_EQ(open_ok(kKey, seal_token(kKey, std::span<const std::string_view>{})), std::vector<std::string>{""});
}

TEST(Token, LayoutIsFrozen) {
  // version | fields joined by NUL | first 16 bytes of HMAC-SHA256.
  EXPECT_EQ(seal_token(kKey, {"market", "ivan@example.org", "promo"}),
            handmade(kKey, 1, std::string("market\0ivan@example.org\0promo", 29)));
  EXPECT_EQ(open_ok(kKey, handmade(kKey, 1, std::string("a\0b", 3))), (std::vector<std::string>{"a", "b"}));
}

TEST(Token, DeterministicAndFieldBoundariesMatter) {
  EXPECT_EQ(seal_token(kKey, {"a", "b"}), seal_token(kKey, {"a", "b"}));
  EXPECT_NE(seal_token(kKey, {"ab", "c"}), seal_token(kKey, {"a", "bc"}));
  EXPECT_NE(seal_token(kKey, {"a", "b"}), seal_token("another key", {"a", "b"}));
  // Alternating keys exercise the per-thread MAC cache.
  for (int i = 0; i < 10; ++i) {
    std::string key = i % 2 ? kKey : "k2";
    std::string t = seal_token(key, {"x", std::to_string(i)});
    EXPECT_EQ(open_ok(key, t), (std::vector<std::string>{"x", std::to_string(i)}));
    expect_rejected(i % 2 ? "k2" : kKey, t, "other key");
  }
}

TEST(Token, TamperedTokensAreRejected) {
  std::string token = seal_token(kKey, {"market", "ivan@example.org", "promo"});
  // Every single-character change anywhere.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < token.size(); ++i) {
    std::string t = token;
    t[i] = alphabet[(alphabet.find(t[i]) + 1 + i) % 64];
    expect_rejected(kKey, t, "changed char " + std::to_string(i));
  }
  // Truncation at every length, and extension.
  for (size_t n = 0; n < token.size(); ++n) expect_rejected(kKey, token.substr(0, n), "truncated");
  expect_rejected(kKey, token + "A", "extended");
  expect_rejected(kKey, token + "AA", "extended");
  expect_rejected("wrong key", token, "wrong key");
  expect_rejected(kKey, "", "empty");
}

TEST(Token, MalformedAndForeignInputIsRejected) {
  std::string token = seal_token(kKey, {"a", "b"});
  expect_rejected(kKey, token + "=", "padding");
  expect_rejected(kKey, token.substr(0, 10) + "+" + token.substr(11), "standard alphabet");
  expect_rejected(kKey, token.substr(0, 10) + "." + token.substr(11), "bad char");
  expect_rejected(kKey, token.substr(0, 10) + " " + token.substr(11), "space");
  expect_rejected(kKey, std::string(3000, 'A'), "too long");
  expect_rejected(kKey, handmade(kKey, 2, "a"), "unknown version with a valid MAC");
  expect_rejected(kKey, handmade(kKey, 0, "a"), "version 0");
  // Non-canonical base64: the unused low bits of the last character set.
  std::string t = handmade(kKey, 1, "ab");  // 19 bytes -> 26 chars, 2 spare bits
  ASSERT_EQ(t.size() % 4, 2u);
  EXPECT_TRUE(open_token(kKey, t));
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string odd = t;
  odd.back() = alphabet[alphabet.find(odd.back()) | 1];
  if (odd != t) expect_rejected(kKey, odd, "non-canonical tail");
  // Longest accepted length.
  std::string big = seal_token(kKey, {std::string(1500, 'x')});
  EXPECT_LE(big.size(), kMaxTokenLength);
  EXPECT_EQ(open_ok(kKey, big).at(0).size(), 1500u);
}

TEST(Token, EmptyKeyIsAnErrorNotACrash) {
  auto r = open_token("", seal_token(kKey, {"a"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::kInternal);
}

}  // namespace
}  // namespace templating
