// tests/smpp/segments_test.cpp: transports/smpp/segments.h — channels.md's
// segment counts, the UDH, data_coding, and no split escape or surrogate
// pair.
#include "transports/smpp/segments.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace transports::smpp {
namespace {

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

size_t count(const std::string& text) {
  auto p = sms_payloads(text, 7);
  EXPECT_TRUE(p);
  return p ? p->parts.size() : 0;
}

TEST(SmppSegments, ChannelsMdCounts) {
  EXPECT_EQ(count(repeat("a", 160)), 1u);
  EXPECT_EQ(count(repeat("a", 161)), 2u);
  EXPECT_EQ(count(repeat("a", 306)), 2u);
  EXPECT_EQ(count(repeat("a", 307)), 3u);
  EXPECT_EQ(count(repeat("ж", 70)), 1u);
  EXPECT_EQ(count(repeat("ж", 71)), 2u);
  EXPECT_EQ(count(repeat("ж", 134)), 2u);
  EXPECT_EQ(count(repeat("ж", 135)), 3u);
}

TEST(SmppSegments, SingleGsmHasNoUdh) {
  auto p = sms_payloads("Hello @ world", 1);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->data_coding, kDataCodingDefault);
  EXPECT_EQ(p->esm_class, 0);
  ASSERT_EQ(p->parts.size(), 1u);
  // Unpacked septets: '@' is 0x00 in GSM 03.38.
  EXPECT_EQ(p->parts[0], std::string("Hello \0 world", 13));
}

TEST(SmppSegments, ConcatenatedUdh) {
  auto p = sms_payloads(repeat("a", 161), 0xAB);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->esm_class, kEsmClassUdhi);
  ASSERT_EQ(p->parts.size(), 2u);
  EXPECT_EQ(p->parts[0].substr(0, 6), std::string("\x05\x00\x03\xAB\x02\x01", 6));
  EXPECT_EQ(p->parts[1].substr(0, 6), std::string("\x05\x00\x03\xAB\x02\x02", 6));
  EXPECT_EQ(p->parts[0].size(), 6u + 153);
  EXPECT_EQ(p->parts[1].size(), 6u + 8);
  for (const auto& part : p->parts) EXPECT_LE(part.size(), 6u + 153);
}

TEST(SmppSegments, Ucs2) {
  auto p = sms_payloads(repeat("ж", 71), 1);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->data_coding, kDataCodingUcs2);
  ASSERT_EQ(p->parts.size(), 2u);
  EXPECT_EQ(p->parts[0].size(), 6u + 67 * 2);
  EXPECT_EQ(p->parts[0].substr(6, 2), std::string("\x04\x36", 2));  // U+0436 big-endian
  for (const auto& part : p->parts) EXPECT_LE(part.size(), 140u);
}

TEST(SmppSegments, NeverSplitsEscapePair) {
  // 152 plain + '€' (ESC 0x65): the pair does not fit in part one's last
  // septet, so it moves whole to part two.
  auto p = sms_payloads(repeat("a", 152) + "€" + repeat("b", 10), 1);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->parts.size(), 2u);
  EXPECT_EQ(p->parts[0].size(), 6u + 152);
  EXPECT_NE(p->parts[0].back(), '\x1b');
  EXPECT_EQ(p->parts[1].substr(6, 2), std::string("\x1b\x65", 2));
}

TEST(SmppSegments, NeverSplitsSurrogatePair) {
  // 66 BMP chars + an emoji (2 units): unit 67 and 68 would straddle parts.
  auto p = sms_payloads(repeat("ж", 66) + "😀" + repeat("ж", 10), 1);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->parts.size(), 2u);
  EXPECT_EQ(p->parts[0].size(), 6u + 66 * 2);
  const auto hi = static_cast<unsigned char>(p->parts[1][6]);
  EXPECT_EQ(hi & 0xFC, 0xD8);  // part two starts with the high surrogate
}

TEST(SmppSegments, EmptyIsRefused) {
  auto p = sms_payloads("", 1);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().field, "text");
}

TEST(SmppSegments, RefIsStablePerMessage) {
  EXPECT_EQ(concat_ref("01J0000000000000000000000A"), concat_ref("01J0000000000000000000000A"));
  // Spread: 256 distinct ids give many distinct refs.
  std::set<uint8_t> refs;
  for (int i = 0; i < 256; ++i) refs.insert(concat_ref("id-" + std::to_string(i)));
  EXPECT_GT(refs.size(), 100u);
}

}  // namespace
}  // namespace transports::smpp
