// tests/api/validate_test.cpp: api/validate.cpp — the syntax checks behind
// request validation (addresses, numbers, ids, UTF-8, header safety).
#include <gtest/gtest.h>

#include <string>

#include "api/request.h"

namespace api {
namespace {

struct Case {
  std::string input;
  bool valid;
};

TEST(ValidateTest, EmailAddresses) {
  const std::string local64(64, 'a');
  const std::string label63(63, 'b');
  // A 251-octet domain: with "ab@" the address is exactly 254 octets.
  const std::string domain_251 =
      label63 + "." + label63 + "." + label63 + "." + std::string(59, 'c');
  const Case cases[] = {
      {"ivan@example.com", true},
      {"ivan.petrenko@mail.example.com", true},
      {"first.last+tag@example.co.uk", true},
      {"o'brien@example.ie", true},
      {"x@a.io", true},
      {"!#$%&'*+-/=?^_`{|}~@example.com", true},
      {"\"john doe\"@example.com", true},
      {"\"a\\\"b\"@example.com", true},   // quoted-pair
      {"\"\"@example.com", true},         // empty quoted string is RFC 5321 syntax
      {"user@xn--80ak6aa92e.com", true},  // A-label
      {"user@пример.укр", true},          // U-labels (IDN, UTF-8)
      {"іван@приклад.укр", true},         // RFC 6531 UTF-8 local part
      {"user@1example.com", true},        // labels may start with a digit
      {"user@ex-ample.com", true},
      {local64 + "@example.com", true},
      {std::string(65, 'a') + "@example.com", false},  // local part > 64
      {"a@" + label63 + ".com", true},
      {"a@" + label63 + "b.com", false},  // label > 63
      {"ab@" + domain_251, true},         // 254 octets
      {"abc@" + domain_251, false},       // 255 octets
      {"ivan@", false},
      {"@example.com", false},
      {"ivan", false},
      {"ivan@example", false},  // no dot: not a deliverable domain
      {"ivan@@example.com", false},
      {"iv an@example.com", false},
      {".ivan@example.com", false},
      {"ivan.@example.com", false},
      {"iv..an@example.com", false},
      {"ivan@example..com", false},
      {"ivan@.example.com", false},
      {"ivan@example.com.", false},
      {"ivan@-example.com", false},
      {"ivan@example-.com", false},
      {"ivan@exa_mple.com", false},
      {"ivan@[192.0.2.1]", false},  // address literals are refused
      {"ivan@192.0.2.1", false},    // numeric last label
      {"ivan@example.com\r\nBcc: x@y.z", false},
      {"ivan\n@example.com", false},
      {"\"ab\ncd\"@example.com", false},
      {"\"abc@example.com", false},
      {"ivan@exam\xff"
       "ple.com",
       false},  // invalid UTF-8
      {"iv\xc3@example.com", false},
      {"<ivan@example.com>", false},
      {"Ivan <ivan@example.com>", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(is_valid_email(c.input), c.valid) << c.input;
  }
}

TEST(ValidateTest, E164) {
  const Case cases[] = {
      {"+380671234567", true},
      {"+1234567", true},
      {"+123456789012345", true},
      {"+123456", false},
      {"+1234567890123456", false},
      {"380671234567", false},
      {"+0380671234567", false},
      {"+38067 1234567", false},
      {"+38067-123-4567", false},
      {"+", false},
      {"", false},
      {"+38067123456a", false},
      {"++380671234567", false},
  };
  for (const Case& c : cases) EXPECT_EQ(is_e164(c.input), c.valid) << c.input;
}

TEST(ValidateTest, TelegramChatIds) {
  const Case cases[] = {
      {"123456789", true},
      {"-1001234567890", true},
      {"@school_news", true},
      {"@abcde", true},
      {"@abcd", false},  // at least 5 characters
      {"@" + std::string(32, 'a'), true},
      {"@" + std::string(33, 'a'), false},
      {"@1school", false},
      {"@school-news", false},
      {"12a", false},
      {"", false},
      {"+123", false},
      {"9223372036854775807", true},
      {"9223372036854775808", false},  // does not fit int64
      {"-", false},
  };
  for (const Case& c : cases) EXPECT_EQ(is_telegram_chat_id(c.input), c.valid) << c.input;
}

TEST(ValidateTest, Utf8) {
  const Case cases[] = {
      {"", true},
      {"plain ascii", true},
      {"Іван Петренко", true},
      {"990 ₴", true},
      {"emoji 🎓", true},
      {"\xc3", false},              // truncated
      {"\xc0\xaf", false},          // overlong
      {"\xe0\x80\xaf", false},      // overlong
      {"\xed\xa0\x80", false},      // surrogate U+D800
      {"\xf4\x90\x80\x80", false},  // above U+10FFFF
      {"\xff", false},
      {"abcdefgh\x80", false},  // after an ASCII fast-path block
      {std::string("a\0b", 3), true},
  };
  for (const Case& c : cases) EXPECT_EQ(is_valid_utf8(c.input), c.valid) << c.input;
}

TEST(ValidateTest, HeaderSafe) {
  const Case cases[] = {
      {"Order 1842 created", true},
      {"tab\tinside", true},
      {"Іван", true},
      {"a\rb", false},
      {"a\nb", false},
      {std::string("a\0b", 3), false},
      {"a\x7f", false},
      {"\x1b[31m", false},
  };
  for (const Case& c : cases) EXPECT_EQ(is_header_safe(c.input), c.valid) << c.input;
}

}  // namespace
}  // namespace api
