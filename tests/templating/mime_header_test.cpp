// tests/templating/mime_header_test.cpp: templating/mime.h header side —
// encoded-words, folding, injection, mailboxes, Message-ID and Date — checked
// with the independent decoders of mime_test_util.h.
#include "templating/mime.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "mime_test_util.h"
#include "templating/token.h"

namespace templating {
namespace {

using namespace mime_testing;
// ---------------------------------------------------------------------------
// Header values

TEST(MimeHeader, AsciiSubjectIsSentAsIs) {
  EXPECT_EQ(encode_header_value("Subject", "Your order 1842 is paid"), "Your order 1842 is paid");
  EXPECT_EQ(encode_header_value("Subject", "  trimmed  "), "trimmed");
  EXPECT_EQ(encode_header_value("Subject", ""), "");
}

TEST(MimeHeader, AsciiSubjectFoldsAtSpacesBefore78) {
  std::string s;
  for (int i = 0; i < 30; ++i) s += "word" + std::to_string(i) + " ";
  s.pop_back();
  std::string v = encode_header_value("Subject", s);
  EXPECT_NE(v.find("\r\n "), std::string::npos);
  EXPECT_EQ(v.find("=?"), std::string::npos) << "pure ASCII needs no encoded-words";
  expect_header_lines_within(v, 9, 78);
  EXPECT_EQ(decode_unstructured(v), s);
}

TEST(MimeHeader, CyrillicSubjectGolden) {
  // Pinned bytes: DKIM signs exactly these, and receivers have parsed them.
  EXPECT_EQ(encode_header_value("Subject", "Привіт"), "=?UTF-8?B?0J/RgNC40LLRltGC?=");
  // B wins for a short word ("Caf=C3=A9" is 9 characters, "Q2Fmw6k=" 8).
  EXPECT_EQ(encode_header_value("Subject", "Café au lait"), "=?UTF-8?B?Q2Fmw6k=?= au lait");
  // Q wins when non-ASCII is under a sixth of the bytes.
  EXPECT_EQ(encode_header_value("Subject", "Übersetzungsdienstleistungen GmbH"),
            "=?UTF-8?Q?=C3=9Cbersetzungsdienstleistungen?= GmbH");
  // 41 bytes: the first word may hold 39 (a line holding encoded-words
  // stops at 76), the rest goes on the next line.
  EXPECT_EQ(encode_header_value("Subject", "Іване, ваше замовлення"),
            "=?UTF-8?B?0IbQstCw0L3QtSwg0LLQsNGI0LUg0LfQsNC80L7QstC70LXQvdC9?=\r\n =?UTF-8?B?0Y8=?=");
}

TEST(MimeHeader, PicksQForMostlyAsciiAndBForCyrillic) {
  std::vector<std::string> words;
  decode_unstructured(encode_header_value("Subject", "Anmeldebestätigung für Ihren Kurs"), &words);
  ASSERT_FALSE(words.empty());
  EXPECT_EQ(words[0].substr(0, 10), "=?UTF-8?Q?");
  words.clear();
  decode_unstructured(encode_header_value("Subject", "Ваше замовлення оплачено"), &words);
  ASSERT_FALSE(words.empty());
  EXPECT_EQ(words[0].substr(0, 10), "=?UTF-8?B?");
}

TEST(MimeHeader, LongCyrillicSubjectWithEmojiRoundTrips) {
  const std::string subject =
      "Іване, ваше замовлення №1842 оплачено 🎉🎉 — дякуємо! Уроки англійської: 5 уроків, "
      "початок 24 листопада 😀 о 09:00 за київським часом; викладач Олена Петренко 👩‍🏫";
  std::vector<std::string> words;
  std::string v = encode_header_value("Subject", subject);
  EXPECT_EQ(decode_unstructured(v, &words), subject);
  expect_header_lines_within(v, 9, 76);
  ASSERT_GT(words.size(), 3u);
  for (const auto& w : words) {
    EXPECT_LE(w.size(), 75u) << w;
    EXPECT_TRUE(valid_utf8(decode_encoded_word(w).text)) << "split UTF-8 sequence in " << w;
  }
}

TEST(MimeHeader, FourByteEmojiNeverSplitAtAnyOffset) {
  // Every alignment of 4-byte sequences against word and line boundaries.
  for (size_t prefix = 0; prefix < 40; ++prefix) {
    for (const char* name : {"Subject", "X-A", "Comments-And-More"}) {
      std::string s(prefix, 'x');
      if (prefix > 0) s += " ";
      for (int i = 0; i < 40; ++i) s += "😀";
      s += " кінець 🎉";
      std::vector<std::string> words;
      std::string v = encode_header_value(name, s);
      ASSERT_EQ(decode_unstructured(v, &words), s) << prefix;
      expect_header_lines_within(v, std::string_view(name).size() + 2, 78);
      for (const auto& w : words) {
        ASSERT_LE(w.size(), 75u);
        ASSERT_TRUE(valid_utf8(decode_encoded_word(w).text)) << "prefix " << prefix << ": " << w;
      }
    }
  }
}

TEST(MimeHeader, VeryLongWordIsEncodedSoNoLineExceedsTheLimit) {
  std::string word(300, 'a');
  std::string v = encode_header_value("Subject", "Look " + word + " here");
  expect_header_lines_within(v, 9, 78);
  EXPECT_EQ(decode_unstructured(v), "Look " + word + " here");
  std::string url = "https://example.com/" + std::string(2000, 'z');
  v = encode_header_value("X-Long", url);
  expect_header_lines_within(v, 8, 78);
  EXPECT_EQ(decode_unstructured(v), url);
}

TEST(MimeHeader, RunsOfSpacesAndEncodedLookalikesAreKeptExactly) {
  for (std::string s : std::vector<std::string>{"a  b   c", "Ціна:  100  грн", "x =?UTF-8?B?AAAA?= y", "=?literal?=",
                        "tab\there", std::string(30, 'w') + std::string(60, ' ') + "end"}) {
    std::string v = encode_header_value("Subject", s);
    std::string expected = s;
    for (char& c : expected) {
      if (c == '\t') c = ' ';
    }
    EXPECT_EQ(decode_unstructured(v), expected) << v;
    expect_header_lines_within(v, 9, 78);
  }
}

TEST(MimeHeader, InjectionAttemptsYieldOneHeader) {
  for (std::string evil : {std::string("Subject\r\nBcc: victim@example.com"),
                           std::string("Hi\nBcc: x@y"), std::string("Hi\rX: y"),
                           std::string("Hi\r\n\r\nbody"), std::string("nul\0byte", 8),
                           std::string("del\x7f and \x1b esc"), std::string("c1 \xC2\x85 next")}) {
    std::string v = encode_header_value("Subject", evil);
    EXPECT_EQ(v.find('\n') == std::string::npos ? 0u : 1u, v.find("\r\n ") == std::string::npos ? 0u : 1u)
        << "a line break that is not a fold";
    for (size_t i = 0; i < v.size(); ++i) {
      auto c = static_cast<unsigned char>(v[i]);
      if (c == '\r') {
        ASSERT_EQ(v.substr(i, 3), "\r\n ");
        ++i;
        continue;
      }
      if (c == '\n') continue;
      EXPECT_GE(c, 0x20);
      EXPECT_LT(c, 0x7F);
    }
    ComposeOptions o = basic_options();
    EmailParts p;
    p.subject = evil;
    p.text = "x\n";
    o.extra_headers = {{"X-Campaign", evil}};
    o.trace_value = evil;
    std::string msg;
    ASSERT_TRUE(compose(p, o, msg));
    expect_wellformed(msg);
    Parsed parsed = split_message(msg);
    EXPECT_EQ(find_header(parsed, "Bcc"), nullptr);
    EXPECT_EQ(find_header(parsed, "X"), nullptr);
    int subjects = 0;
    for (const auto& h : parsed.headers) subjects += h.name == "Subject";
    EXPECT_EQ(subjects, 1);
  }
  EXPECT_EQ(decode_unstructured(encode_header_value("Subject", "Subject\r\nBcc: x")), "Subject  Bcc: x");
}

TEST(MimeHeader, RandomValuesFoldWithinLimitsAndDecodeExactly) {
  std::mt19937 rng(3);
  const std::vector<std::string> pieces = {"a", "word", " ", "  ", "Ж", "ї", "😀", "🇺🇦", "=?", "?=", "=", "_",
                                           "\r\n", "\t", "\"", "(", ",", std::string(90, 'x'), "é", "№"};
  for (int iter = 0; iter < 3000; ++iter) {
    std::string v;
    int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) v += pieces[rng() % pieces.size()];
    std::string expected = v;
    for (char& c : expected) {
      if (c == '\r' || c == '\n' || c == '\t') c = ' ';
    }
    size_t b = expected.find_first_not_of(' ');
    expected = b == std::string::npos ? "" : expected.substr(b, expected.find_last_not_of(' ') - b + 1);
    std::vector<std::string> words;
    std::string enc = encode_header_value("Subject", v);
    ASSERT_EQ(decode_unstructured(enc, &words), expected) << "iter " << iter << ": " << enc;
    expect_header_lines_within(enc, 9, 78);
    for (const auto& w : words) {
      ASSERT_LE(w.size(), 75u);
      ASSERT_TRUE(valid_utf8(decode_encoded_word(w).text));
    }
    // The same text as a display name.
    std::string mb = encode_mailbox("From", {v, "a@example.com"});
    expect_header_lines_within(mb, 6, 78);
    if (HasFailure()) return;
  }
}

TEST(MimeHeader, InvalidUtf8BecomesReplacementCharacter) {
  std::string v = encode_header_value("Subject", "bad \xff\xfe byte \xD0");
  EXPECT_EQ(decode_unstructured(v), "bad \xEF\xBF\xBD\xEF\xBF\xBD byte \xEF\xBF\xBD");
  // Overlong and surrogate encodings too.
  v = encode_header_value("Subject", "\xC0\xAF \xED\xA0\x80");
  EXPECT_TRUE(valid_utf8(decode_unstructured(v)));
}

// ---------------------------------------------------------------------------
// Mailboxes

TEST(MimeMailbox, Golden) {
  EXPECT_EQ(encode_mailbox("From", {"", "a@example.com"}), "a@example.com");
  EXPECT_EQ(encode_mailbox("From", {"Vestnik Mail", "a@example.com"}), "Vestnik Mail <a@example.com>");
  EXPECT_EQ(encode_mailbox("From", {"Smith, John", "a@example.com"}), "\"Smith, John\" <a@example.com>");
  EXPECT_EQ(encode_mailbox("From", {"Say \"hi\" \\o/", "a@example.com"}),
            "\"Say \\\"hi\\\" \\\\o/\" <a@example.com>");
  EXPECT_EQ(encode_mailbox("From", {"J. R. R. Tolkien", "a@example.com"}), "\"J. R. R. Tolkien\" <a@example.com>");
  EXPECT_EQ(encode_mailbox("From", {"Олена", "olena@example.com"}), "=?UTF-8?B?0J7Qu9C10L3QsA==?= <olena@example.com>");
  EXPECT_EQ(encode_mailbox("To", {"José", "j@example.com"}), "=?UTF-8?B?Sm9zw6k=?= <j@example.com>");
  EXPECT_EQ(encode_mailbox("To", {"Schöneberg Sprachschule", "j@example.com"}),
            "=?UTF-8?Q?Sch=C3=B6neberg_Sprachschule?= <j@example.com>");
}

TEST(MimeMailbox, LongAndTrickyNamesFoldAndDecode) {
  const std::vector<std::string> names = {
      "Олена Петренко — викладачка англійської мови, курс «Англійська для початківців» 👩‍🏫",
      std::string(120, 'A'),
      "A very long ASCII display name, with a comma, that will not fit on a single line of 78",
      "=?UTF-8?B?0J/RgNC40LLRltGC?=", "Ірина (викладач)", "name\r\nBcc: x@y"};
  for (const auto& name : names) {
    std::string v = encode_mailbox("From", {name, "teacher@example.com"});
    expect_header_lines_within(v, 6, 78);
    size_t lt = v.rfind(" <");
    ASSERT_NE(lt, std::string::npos) << v;
    EXPECT_EQ(v.substr(lt + 1), "<teacher@example.com>");
    std::string shown = v.substr(0, lt);
    std::string expected = name;
    for (char& c : expected) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    if (shown.front() == '"') {
      EXPECT_EQ(shown.substr(1, shown.size() - 2), expected);
    } else {
      EXPECT_EQ(decode_unstructured(shown), expected) << shown;
    }
  }
}

TEST(MimeMailbox, AddrSpecValidation) {
  for (const char* good : {"a@b", "first.last@example.com", "x+tag@sub.example.co.uk", "o'brien@example.ie",
                           "u@[192.0.2.1]", "a@xn--80ak6aa92e.com"}) {
    EXPECT_TRUE(is_valid_addr_spec(good)) << good;
  }
  for (const char* bad : {"", "a", "@b", "a@", "a b@c", "a@b c", ".a@b", "a.@b", "a..b@c", "a@-b.com",
                          "a@b-.com", "a@b..com", "a@b.com.", "\"q\"@b", "a@b\r\nBcc: x", "юзер@example.com",
                          "a@приклад.укр", "a<b@c", "a@b@c"}) {
    EXPECT_FALSE(is_valid_addr_spec(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_addr_spec(std::string(65, 'a') + "@b.com"));
  EXPECT_FALSE(is_valid_addr_spec("a@" + std::string(64, 'b') + ".com"));
}

TEST(MimeMessageId, MakesParsableIds) {
  EXPECT_EQ(make_message_id("01JD3M6X5N8Q2ZK4Y7W9B0C1DE", "mail.example.com"),
            "<01JD3M6X5N8Q2ZK4Y7W9B0C1DE@mail.example.com>");
  EXPECT_EQ(make_message_id("a b<c>", ".bad..domain."), "<a_b_c_@_bad._domain_>");
  EXPECT_EQ(make_message_id("", ""), "<_@_>");
}

TEST(MimeDate, Rfc5322Utc) {
  EXPECT_EQ(format_rfc5322_date(core::from_unix_ms(1'790'000'000'000)), "Mon, 21 Sep 2026 14:13:20 +0000");
  EXPECT_EQ(format_rfc5322_date(core::from_unix_ms(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(format_rfc5322_date(core::from_unix_ms((951'782'400 + 86'399) * 1000LL + 999)),
            "Tue, 29 Feb 2000 23:59:59 +0000");
  EXPECT_EQ(format_rfc5322_date(core::from_unix_ms((4'102'444'800 - 1) * 1000LL)), "Thu, 31 Dec 2099 23:59:59 +0000");
}

}  // namespace
}  // namespace templating
