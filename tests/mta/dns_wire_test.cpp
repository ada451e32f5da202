// tests/mta/dns_wire_test.cpp: the DNS response parser (mta/dns_wire.h).
#include "mta/dns_wire.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mta::dns_wire {
namespace {

// Builds messages in wire form, without compression unless asked.
class Builder {
 public:
  Builder(uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
    u16(0x1234);
    u16(flags);
    u16(qd);
    u16(an);
    u16(ns);
    u16(ar);
  }
  Builder& name(const std::string& n) {
    size_t start = 0;
    while (start < n.size()) {
      size_t dot = n.find('.', start);
      if (dot == std::string::npos) dot = n.size();
      bytes.push_back(static_cast<uint8_t>(dot - start));
      for (size_t i = start; i < dot; ++i) bytes.push_back(static_cast<uint8_t>(n[i]));
      start = dot + 1;
    }
    bytes.push_back(0);
    return *this;
  }
  Builder& pointer(uint16_t offset) {
    u16(static_cast<uint16_t>(0xC000 | offset));
    return *this;
  }
  Builder& u16(uint16_t v) {
    bytes.push_back(static_cast<uint8_t>(v >> 8));
    bytes.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  Builder& u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
    return *this;
  }
  Builder& raw(std::initializer_list<uint8_t> b) {
    bytes.insert(bytes.end(), b);
    return *this;
  }
  Builder& question(const std::string& n, uint16_t type) { return name(n).u16(type).u16(kClassIn); }
  Builder& rr_header(const std::string& owner, uint16_t type, uint32_t ttl, uint16_t rdlength) {
    return name(owner).u16(type).u16(kClassIn).u32(ttl).u16(rdlength);
  }
  Builder& mx(const std::string& owner, uint32_t ttl, uint16_t pref, const std::string& target) {
    const uint16_t len = static_cast<uint16_t>(2 + (target.empty() ? 1 : target.size() + 2));
    rr_header(owner, kTypeMx, ttl, len).u16(pref);
    return name(target);
  }
  Builder& a(const std::string& owner, uint32_t ttl, std::initializer_list<uint8_t> ip) {
    return rr_header(owner, kTypeA, ttl, 4).raw(ip);
  }
  std::vector<uint8_t> bytes;
};

TEST(DnsWire, MxAnswerWithGlue) {
  Builder b(0x8180, 1, 2, 0, 1);
  b.question("mx.test", kTypeMx);
  b.mx("mx.test", 300, 10, "a.mx.test").mx("MX.test", 200, 20, "B.MX.TEST");
  b.a("a.mx.test", 60, {127, 0, 0, 2});
  auto m = parse_message(b.bytes);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->id, 0x1234);
  EXPECT_TRUE(m->response);
  EXPECT_FALSE(m->truncated);
  EXPECT_EQ(m->rcode, kRcodeNoError);
  ASSERT_EQ(m->records.size(), 3u);
  EXPECT_EQ(m->records[0].section, Section::kAnswer);
  EXPECT_EQ(m->records[0].type, kTypeMx);
  EXPECT_EQ(m->records[0].ttl, 300u);
  EXPECT_EQ(m->records[0].preference, 10);
  EXPECT_EQ(m->records[0].target, "a.mx.test");
  EXPECT_EQ(m->records[1].owner, "mx.test");  // lowercased
  EXPECT_EQ(m->records[1].target, "b.mx.test");
  EXPECT_EQ(m->records[2].section, Section::kAdditional);
  EXPECT_EQ(m->records[2].address.to_string(), "127.0.0.2");
}

TEST(DnsWire, NullMxTargetIsTheRoot) {
  Builder b(0x8180, 0, 1, 0, 0);
  b.mx("nullmx.test", 300, 0, "");
  auto m = parse_message(b.bytes);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  ASSERT_EQ(m->records.size(), 1u);
  EXPECT_EQ(m->records[0].target, "");
}

TEST(DnsWire, CompressionPointersBackwards) {
  Builder b(0x8180, 1, 1, 0, 0);
  b.question("mx.test", kTypeMx);  // name at offset 12
  // Owner: pointer to the question name; target "a" + pointer to it.
  b.pointer(12).u16(kTypeMx).u16(kClassIn).u32(5).u16(2 + 2 + 2).u16(10).raw({1, 'a'}).pointer(12);
  auto m = parse_message(b.bytes);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  ASSERT_EQ(m->records.size(), 1u);
  EXPECT_EQ(m->records[0].owner, "mx.test");
  EXPECT_EQ(m->records[0].target, "a.mx.test");
}

TEST(DnsWire, ForwardOrSelfPointerIsRefused) {
  Builder b(0x8180, 1, 0, 0, 0);
  b.pointer(12).u16(kTypeMx).u16(kClassIn);  // points at itself
  EXPECT_FALSE(parse_message(b.bytes).has_value());
  Builder f(0x8180, 1, 0, 0, 0);
  f.pointer(16).u16(kTypeMx).u16(kClassIn).name("x");  // points forwards
  EXPECT_FALSE(parse_message(f.bytes).has_value());
}

TEST(DnsWire, AaaaAndUnknownTypes) {
  Builder b(0x8180, 0, 2, 0, 0);
  b.rr_header("h.test", kTypeAaaa, 10, 16).raw({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  b.rr_header("h.test", 16 /* TXT */, 10, 3).raw({2, 'h', 'i'});
  auto m = parse_message(b.bytes);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  ASSERT_EQ(m->records.size(), 2u);
  EXPECT_EQ(m->records[0].address.to_string(), "::1");
  EXPECT_EQ(m->records[1].type, 16);
}

TEST(DnsWire, TtlWithTopBitIsZero) {
  Builder b(0x8180, 0, 1, 0, 0);
  b.a("h.test", 0x80000001u, {1, 2, 3, 4});
  auto m = parse_message(b.bytes);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->records[0].ttl, 0u);
}

TEST(DnsWire, OddLabelOctetsAreEscaped) {
  Builder b(0x8180, 0, 1, 0, 0);
  b.raw({3, 'a', '.', 0x01, 4, 't', 'e', 's', 't', 0})
      .u16(kTypeA)
      .u16(kClassIn)
      .u32(1)
      .u16(4)
      .raw({1, 2, 3, 4});
  auto m = parse_message(b.bytes);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->records[0].owner, "a\\046\\001.test");
}

TEST(DnsWire, SoaMinimum) {
  Builder b(0x8183, 0, 0, 1, 0);
  const uint16_t rdlength = static_cast<uint16_t>(9 + 8 + 20);  // "ns.test" + "h.test" + 5 x u32
  b.rr_header("test", kTypeSoa, 60, rdlength).name("ns.test").name("h.test");
  b.u32(1).u32(2).u32(3).u32(4).u32(77);
  auto m = parse_message(b.bytes);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->rcode, kRcodeNxDomain);
  ASSERT_EQ(m->records.size(), 1u);
  EXPECT_EQ(m->records[0].section, Section::kAuthority);
  EXPECT_EQ(m->records[0].soa_minimum, 77u);
}

TEST(DnsWire, MalformedInputs) {
  // Shorter than a header.
  EXPECT_FALSE(parse_message(std::vector<uint8_t>(11, 0)).has_value());
  // Counts promise more than there is.
  Builder more(0x8180, 0, 1, 0, 0);
  EXPECT_FALSE(parse_message(more.bytes).has_value());
  // A with 3 octets of RDATA.
  Builder a3(0x8180, 0, 1, 0, 0);
  a3.rr_header("h.test", kTypeA, 1, 3).raw({1, 2, 3});
  EXPECT_FALSE(parse_message(a3.bytes).has_value());
  // RDATA length past the end.
  Builder past(0x8180, 0, 1, 0, 0);
  past.rr_header("h.test", kTypeA, 1, 4).raw({1, 2});
  EXPECT_FALSE(parse_message(past.bytes).has_value());
  // MX whose name runs beyond its RDATA.
  Builder mx(0x8180, 0, 1, 0, 0);
  mx.rr_header("h.test", kTypeMx, 1, 4).u16(10).name("long.name.test");
  EXPECT_FALSE(parse_message(mx.bytes).has_value());
  // A name over 255 octets (five 63-octet labels).
  Builder big(0x8180, 1, 0, 0, 0);
  std::string n;
  for (int i = 0; i < 5; ++i) n += std::string(63, 'a') + (i < 4 ? "." : "");
  big.question(n, kTypeA);
  EXPECT_FALSE(parse_message(big.bytes).has_value());
  // Label type 01 (extended labels) is not supported.
  Builder ext(0x8180, 1, 0, 0, 0);
  ext.raw({0x41, 0}).u16(1).u16(1);
  EXPECT_FALSE(parse_message(ext.bytes).has_value());
}

TEST(DnsWire, EveryPrefixOfAValidMessageIsHandled) {
  Builder b(0x8180, 1, 2, 0, 1);
  b.question("mx.test", kTypeMx);
  b.mx("mx.test", 300, 10, "a.mx.test").mx("mx.test", 200, 20, "b.mx.test");
  b.a("a.mx.test", 60, {127, 0, 0, 2});
  for (size_t n = 0; n < b.bytes.size(); ++n) {
    auto m = parse_message(std::span<const uint8_t>(b.bytes.data(), n));
    EXPECT_FALSE(m.has_value()) << "prefix of " << n << " octets parsed";
  }
  EXPECT_TRUE(parse_message(b.bytes).has_value());
}

}  // namespace
}  // namespace mta::dns_wire
