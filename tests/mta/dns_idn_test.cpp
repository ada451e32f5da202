// tests/mta/dns_idn_test.cpp: to_ascii_domain (mta/dns.h, mta/dns_idn.cpp).
#include <gtest/gtest.h>

#include <string>

#include "mta/dns.h"

namespace mta {
namespace {

struct Case {
  const char* input;
  const char* ascii;  // nullptr: invalid
};

class ToAsciiDomain : public ::testing::TestWithParam<Case> {};

TEST_P(ToAsciiDomain, Converts) {
  const Case& c = GetParam();
  auto got = to_ascii_domain(c.input);
  if (c.ascii == nullptr) {
    EXPECT_FALSE(got.has_value()) << c.input << " -> " << got.value_or("");
  } else {
    ASSERT_TRUE(got.has_value()) << c.input;
    EXPECT_EQ(*got, c.ascii);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ToAsciiDomain,
    ::testing::Values(
        // Cyrillic domains and their punycode.
        Case{"пример.укр", "xn--e1afmkfd.xn--j1amh"}, Case{"почта.рф", "xn--80a1acny.xn--p1ai"},
        Case{"ПОЧТА.РФ", "xn--80a1acny.xn--p1ai"},  // UTS #46 maps to lowercase
        Case{"mail.пример.укр.", "mail.xn--e1afmkfd.xn--j1amh"},
        Case{"Straße.de", "xn--strae-oqa.de"},  // non-transitional: ß stays ß
        // ASCII: lowercased, one trailing dot dropped, punycode checked.
        Case{"Example.COM", "example.com"}, Case{"example.com.", "example.com"},
        Case{"XN--E1AFMKFD.xn--J1AMH", "xn--e1afmkfd.xn--j1amh"},
        Case{"ab--cd.example", "ab--cd.example"}, Case{"a-b.c0.example", "a-b.c0.example"},
        Case{"localhost", "localhost"},
        // Invalid.
        Case{"", nullptr}, Case{".", nullptr}, Case{"example.com..", nullptr},
        Case{"a..b", nullptr}, Case{".example.com", nullptr}, Case{"-a.example", nullptr},
        Case{"a-.example", nullptr}, Case{"a_b.example", nullptr}, Case{"exa mple.com", nullptr},
        Case{"[192.0.2.1]", nullptr}, Case{"user@example.com", nullptr},
        Case{"xn--zz.test", nullptr},                    // not punycode
        Case{"xn--Mnchen-3ya.de", "xn--mnchen-3ya.de"},  // München, lowercased
        Case{"😀.com", nullptr}, Case{"пример_.укр", nullptr}));

TEST(ToAsciiDomainLimits, LabelAndNameLength) {
  const std::string label63(63, 'a');
  EXPECT_TRUE(to_ascii_domain(label63 + ".example").has_value());
  EXPECT_FALSE(to_ascii_domain(label63 + "a.example").has_value());
  // 4 x 63 + 3 dots = 255 octets: over the 253 a name may have.
  const std::string long_name = label63 + "." + label63 + "." + label63 + "." + label63;
  EXPECT_FALSE(to_ascii_domain(long_name).has_value());
  EXPECT_TRUE(to_ascii_domain(long_name.substr(0, 253)).has_value());
}

TEST(ToAsciiDomainLimits, EmbeddedNulIsRefused) {
  EXPECT_FALSE(to_ascii_domain(std::string_view("exa\0mple.com", 12)).has_value());
}

}  // namespace
}  // namespace mta
