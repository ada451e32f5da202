// tests/templating/mime_test.cpp: templating/mime.h — golden outputs for the
// header and body encoders, and property tests that decode what was encoded
// (with small decoders written here, independent of the encoder) and check
// the RFC 5322 line rules on every output.
#include "templating/mime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "templating/token.h"

namespace templating {
namespace {

// ---------------------------------------------------------------------------
// Independent decoders

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string decode_base64(std::string_view in) {
  static const std::string kAlpha =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\r' || c == '\n') continue;
    size_t v = kAlpha.find(c);
    if (v == std::string::npos) {
      ADD_FAILURE() << "bad base64 char " << int(c);
      return out;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

// RFC 2045 §6.7 decoding; fails the test on malformed input.
std::string decode_qp(std::string_view in) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (c == '=') {
      if (in.substr(i, 3) == "=\r\n") {
        i += 3;
        continue;
      }
      int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (in[i + 1] >= 'a') || (in[i + 2] >= 'a')) {
        ADD_FAILURE() << "bad QP escape at " << i;
        return out;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 3;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::string crlf_to_lf(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out.push_back(s[i]);
  }
  return out;
}

// Any of CRLF, CR, LF -> LF (what a decoded body should equal).
std::string normalise_breaks(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

struct EncodedWordInfo {
  std::string text;
  bool ok = false;
};

// "=?UTF-8?B?...?=" or "?Q?" -> bytes.
EncodedWordInfo decode_encoded_word(std::string_view w) {
  EncodedWordInfo r;
  if (w.size() < 12 || w.substr(0, 8) != "=?UTF-8?" || w.substr(w.size() - 2) != "?=" || w[9] != '?') {
    return r;
  }
  std::string_view payload = w.substr(10, w.size() - 12);
  if (w[8] == 'B') {
    r.text = decode_base64(payload);
  } else if (w[8] == 'Q') {
    for (size_t i = 0; i < payload.size(); ++i) {
      if (payload[i] == '_') {
        r.text.push_back(' ');
      } else if (payload[i] == '=') {
        if (i + 2 >= payload.size()) return r;
        r.text.push_back(static_cast<char>(hex_value(payload[i + 1]) * 16 + hex_value(payload[i + 2])));
        i += 2;
      } else {
        r.text.push_back(payload[i]);
      }
    }
  } else {
    return r;
  }
  r.ok = true;
  return r;
}

// Unfolds and decodes an unstructured value: whitespace between two
// adjacent encoded-words is dropped, all other whitespace kept.
std::string decode_unstructured(std::string_view folded, std::vector<std::string>* words = nullptr) {
  std::string unfolded;
  for (size_t i = 0; i < folded.size(); ++i) {
    if (folded.substr(i, 2) == "\r\n") {
      ++i;
      continue;
    }
    unfolded.push_back(folded[i]);
  }
  std::string out;
  std::string pending_ws;
  bool last_was_ew = false;
  size_t i = 0;
  while (i < unfolded.size()) {
    size_t j = i;
    while (j < unfolded.size() && (unfolded[j] == ' ' || unfolded[j] == '\t')) ++j;
    pending_ws = unfolded.substr(i, j - i);
    if (j == unfolded.size()) {
      out += pending_ws;
      break;
    }
    size_t k = j;
    while (k < unfolded.size() && unfolded[k] != ' ' && unfolded[k] != '\t') ++k;
    std::string_view word = std::string_view(unfolded).substr(j, k - j);
    auto ew = decode_encoded_word(word);
    if (ew.ok) {
      if (words) words->emplace_back(word);
      if (!last_was_ew) out += pending_ws;
      out += ew.text;
    } else {
      out += pending_ws;
      out += word;
    }
    last_was_ew = ew.ok;
    i = k;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Message structure helpers

struct Header {
  std::string name;
  std::string value;  // raw, folded (CRLF + WSP kept), without the final CRLF
};

struct Parsed {
  std::vector<Header> headers;
  std::string body;
};

Parsed split_message(std::string_view msg) {
  Parsed p;
  size_t end = msg.find("\r\n\r\n");
  EXPECT_NE(end, std::string_view::npos);
  std::string_view head = msg.substr(0, end + 2);
  p.body = std::string(msg.substr(end + 4));
  size_t i = 0;
  while (i < head.size()) {
    size_t eol = head.find("\r\n", i);
    std::string_view line = head.substr(i, eol - i);
    if (line[0] == ' ' || line[0] == '\t') {
      EXPECT_FALSE(p.headers.empty());
      p.headers.back().value += "\r\n";
      p.headers.back().value += line;
    } else {
      size_t colon = line.find(':');
      EXPECT_NE(colon, std::string_view::npos) << line;
      Header h;
      h.name = std::string(line.substr(0, colon));
      std::string_view v = line.substr(colon + 1);
      if (!v.empty() && v[0] == ' ') v.remove_prefix(1);
      h.value = std::string(v);
      p.headers.push_back(std::move(h));
    }
    i = eol + 2;
  }
  return p;
}

const Header* find_header(const Parsed& p, std::string_view name) {
  for (const auto& h : p.headers) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

// RFC 5322 line rules over a whole message: CRLF only, every line at most
// 998 octets, header lines at most `header_limit`, 7-bit clean.
void expect_wellformed(std::string_view msg, size_t header_limit = 78) {
  ASSERT_GE(msg.size(), 2u);
  EXPECT_EQ(msg.substr(msg.size() - 2), "\r\n");
  bool in_headers = true;
  size_t start = 0;
  while (start < msg.size()) {
    size_t eol = msg.find("\r\n", start);
    ASSERT_NE(eol, std::string_view::npos) << "unterminated last line";
    std::string_view line = msg.substr(start, eol - start);
    EXPECT_EQ(line.find('\r'), std::string_view::npos) << "bare CR in: " << line;
    EXPECT_EQ(line.find('\n'), std::string_view::npos) << "bare LF in: " << line;
    EXPECT_LE(line.size(), 998u);
    if (in_headers) {
      if (line.empty()) {
        in_headers = false;
      } else {
        EXPECT_LE(line.size(), header_limit) << line;
        EXPECT_NE(line.find_first_not_of(" \t"), std::string_view::npos) << "whitespace-only header line";
      }
    }
    for (char c : line) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "8-bit octet in output";
    start = eol + 2;
  }
}

void expect_header_lines_within(std::string_view value, size_t first_offset, size_t limit) {
  size_t start = 0, offset = first_offset;
  for (;;) {
    size_t eol = value.find("\r\n", start);
    std::string_view line = value.substr(start, eol == std::string_view::npos ? eol : eol - start);
    EXPECT_LE(offset + line.size(), limit) << "line: " << line;
    EXPECT_EQ(line.find_first_of("\r\n"), std::string_view::npos);
    if (eol == std::string_view::npos) break;
    EXPECT_TRUE(value.size() > eol + 2 && (value[eol + 2] == ' ' || value[eol + 2] == '\t'))
        << "fold not followed by WSP";
    start = eol + 2;
    offset = 0;
  }
}

ComposeOptions basic_options() {
  ComposeOptions o;
  o.from = {"Vestnik", "noreply@mail.example.com"};
  o.to = {"", "student@example.org"};
  o.message_id = make_message_id("01JD3M6X5N8Q2ZK4Y7W9B0C1DE", "mail.example.com");
  o.date = core::from_unix_ms(1'790'000'000'000);
  return o;
}

// Body of a part (or the single body) decoded per its transfer encoding.
std::string decode_body(std::string_view cte, std::string_view body) {
  if (cte == "base64") return decode_base64(body);
  if (cte == "quoted-printable") return decode_qp(body);
  return std::string(body);
}

struct Part {
  std::string content_type;
  std::string cte;
  std::string decoded;  // CRLF kept
};

// Splits a composed message into its parts (one for single-part messages).
std::vector<Part> parts_of(std::string_view msg) {
  Parsed p = split_message(msg);
  std::vector<Part> parts;
  const Header* ct = find_header(p, "Content-Type");
  if (ct == nullptr) {
    ADD_FAILURE() << "no Content-Type";
    return parts;
  }
  if (ct->value.rfind("multipart/alternative", 0) != 0) {
    const Header* cte = find_header(p, "Content-Transfer-Encoding");
    std::string body = p.body;
    // compose() picks 7bit for a single part only when the text ends with a
    // line break, so the body's final CRLF is text (QP ends with "=" CRLF).
    parts.push_back({ct->value, cte ? cte->value : "", decode_body(cte ? cte->value : "", body)});
    return parts;
  }
  size_t q = ct->value.find("boundary=\"");
  std::string boundary = ct->value.substr(q + 10, ct->value.find('"', q + 10) - q - 10);
  std::string delim = "--" + boundary;
  EXPECT_EQ(p.body.rfind(delim + "\r\n", 0), 0u) << "body must start with the first delimiter";
  size_t pos = delim.size() + 2;
  for (;;) {
    size_t next = p.body.find("\r\n" + delim, pos);
    if (next == std::string::npos) {
      ADD_FAILURE() << "unterminated multipart";
      break;
    }
    std::string part_text = p.body.substr(pos, next - pos);
    Parsed pp = split_message(part_text);
    const Header* pct = find_header(pp, "Content-Type");
    const Header* pcte = find_header(pp, "Content-Transfer-Encoding");
    parts.push_back({pct ? pct->value : "", pcte ? pcte->value : "",
                     decode_body(pcte ? pcte->value : "", pp.body)});
    size_t after = next + 2 + delim.size();
    if (p.body.substr(after, 4) == "--\r\n") {
      EXPECT_EQ(after + 4, p.body.size()) << "text after the close delimiter";
      break;
    }
    EXPECT_EQ(p.body.substr(after, 2), "\r\n");
    pos = after + 2;
  }
  return parts;
}

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

// ---------------------------------------------------------------------------
// Bodies

std::string qp(std::string_view in) {
  std::string out;
  quoted_printable(in, out);
  return out;
}

TEST(EncodeQuotedPrintable, Golden) {
  EXPECT_EQ(qp(""), "");
  EXPECT_EQ(qp("a=b"), "a=3Db");
  EXPECT_EQ(qp("line \nnext\t\n"), "line=20\r\nnext=09\r\n");
  EXPECT_EQ(qp(".starts\n.also\r\nmid.dle"), "=2Estarts\r\n=2Ealso\r\nmid.dle");
  EXPECT_EQ(qp("From me\nFrom"), "=46rom me\r\nFrom");
  EXPECT_EQ(qp("Привіт"), "=D0=9F=D1=80=D0=B8=D0=B2=D1=96=D1=82");
  EXPECT_EQ(qp("cr\rlf\ncrlf\r\n"), "cr\r\nlf\r\ncrlf\r\n");
  EXPECT_EQ(qp(std::string(76, 'a')), std::string(76, 'a'));  // fits exactly: no soft break
  EXPECT_EQ(qp(std::string(77, 'a')), std::string(75, 'a') + "=\r\naa");
  EXPECT_EQ(qp(std::string(75, 'a') + "."), std::string(75, 'a') + ".");  // last: 76 allowed
  EXPECT_EQ(qp(std::string(75, 'a') + ".b"), std::string(75, 'a') + "=\r\n=2Eb");
  EXPECT_EQ(qp(std::string("nul\0", 4)), "nul=00");
}

// Every encoded line obeys rule 5, escapes are whole, no trailing
// whitespace, no line starts with '.', and the text decodes back exactly.
void check_qp(std::string_view input) {
  std::string enc = qp(input);
  size_t start = 0;
  while (start <= enc.size()) {
    size_t eol = enc.find("\r\n", start);
    std::string_view line = std::string_view(enc).substr(start, eol == std::string::npos ? eol : eol - start);
    ASSERT_LE(line.size(), 76u) << line;
    if (!line.empty()) {
      ASSERT_NE(line.front(), '.') << line;
      ASSERT_NE(line.back(), ' ');
      ASSERT_NE(line.back(), '\t');
      ASSERT_FALSE(line.substr(0, 5) == "From ");
    }
    for (size_t i = 0; i < line.size(); ++i) {
      auto c = static_cast<unsigned char>(line[i]);
      ASSERT_TRUE((c >= 33 && c <= 126) || c == ' ' || c == '\t') << int(c);
      if (c == '=' && i + 1 < line.size()) {
        ASSERT_LE(i + 3, line.size()) << "escape split across lines: " << line;
        ASSERT_GE(hex_value(line[i + 1]), 0);
        ASSERT_GE(hex_value(line[i + 2]), 0);
      }
    }
    if (eol == std::string::npos) break;
    start = eol + 2;
  }
  ASSERT_EQ(normalise_breaks(decode_qp(enc)), normalise_breaks(input));
}

TEST(EncodeQuotedPrintable, RandomInputsRoundTrip) {
  std::mt19937 rng(42);
  const std::vector<std::string> pieces = {"a", "b", " ", "\t", ".", "=", "From ", "\n", "\r\n", "\r",
                                           "Привіт", "😀", "é", std::string("\0", 1), "\xff", "==", "=_"};
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s;
    int n = static_cast<int>(rng() % 200);
    for (int i = 0; i < n; ++i) s += pieces[rng() % pieces.size()];
    check_qp(s);
    if (HasFatalFailure()) {
      ADD_FAILURE() << "input #" << iter;
      return;
    }
  }
  check_qp(std::string(2000, 'x'));
  check_qp(std::string(2000, '='));
  check_qp(std::string(500, ' ') + "\n");
}

TEST(EncodeBase64, Lines) {
  std::string out;
  base64_lines("", out);
  EXPECT_EQ(out, "");
  base64_lines("Man", out);
  EXPECT_EQ(out, "TWFu\r\n");
  out.clear();
  base64_lines("Ma", out);
  EXPECT_EQ(out, "TWE=\r\n");
  out.clear();
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  base64_lines(data, out);
  size_t start = 0;
  int lines = 0;
  while (start < out.size()) {
    size_t eol = out.find("\r\n", start);
    ASSERT_NE(eol, std::string::npos);
    EXPECT_LE(eol - start, 76u);
    if (eol + 2 < out.size()) {
      EXPECT_EQ(eol - start, 76u);
    }
    start = eol + 2;
    ++lines;
  }
  EXPECT_EQ(lines, (1000 + 56) / 57);
  EXPECT_EQ(decode_base64(out), data);
  // Every length around the 57-byte line and 12-byte SIMD step boundaries,
  // read from the very end of an allocation (so over-reads would show under
  // a sanitizer).
  for (size_t n = 0; n < 400; ++n) {
    std::unique_ptr<char[]> buf(new char[n + 1]);
    for (size_t i = 0; i < n; ++i) buf[i] = static_cast<char>(i * 131 + n);
    std::string enc;
    base64_lines(std::string_view(buf.get(), n), enc);
    ASSERT_EQ(decode_base64(enc), std::string(buf.get(), n)) << n;
    ASSERT_EQ(enc.size(), (n + 2) / 3 * 4 + (n + 56) / 57 * 2) << n;
  }
}

// ---------------------------------------------------------------------------
// compose()

TEST(MimeCompose, GoldenTextOnly) {
  ComposeOptions o = basic_options();
  EmailParts p;
  p.subject = "Your order 1842 is paid";
  p.text = "Hello,\nthank you.\n";
  std::string msg;
  ASSERT_TRUE(compose(p, o, msg));
  EXPECT_EQ(msg,
            "Date: Mon, 21 Sep 2026 14:13:20 +0000\r\n"
            "From: Vestnik <noreply@mail.example.com>\r\n"
            "To: student@example.org\r\n"
            "Subject: Your order 1842 is paid\r\n"
            "Message-ID: <01JD3M6X5N8Q2ZK4Y7W9B0C1DE@mail.example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "\r\n"
            "Hello,\r\nthank you.\r\n");
}

TEST(MimeCompose, GoldenMultipartWithBulkHeaders) {
  ComposeOptions o = basic_options();
  o.to = {"Іван Петренко", "ivan@example.org"};
  o.reply_to = Mailbox{"Support", "help@example.com"};
  o.trace_value = "01JD3M6X5N8Q2ZK4Y7W9B0C1DE";
  o.feedback_id = "spring24:promo:market:vestnik01";
  o.list_unsubscribe = ListUnsubscribe{"https://u.example.com/u/TOKEN", "mailto:unsub@example.com?subject=TOKEN"};
  o.extra_headers = {{"X-Mailru-Msgtype", "promo"}};
  o.boundary_seed = "seed";
  EmailParts p;
  p.subject = "Знижка 20%";
  p.text = "Знижка!\n";
  p.html = "<p>Sale</p>";
  std::string msg = "prefix:";
  ASSERT_TRUE(compose(p, o, msg));
  EXPECT_EQ(msg,
            "prefix:"
            "Date: Mon, 21 Sep 2026 14:13:20 +0000\r\n"
            "From: Vestnik <noreply@mail.example.com>\r\n"
            "To: =?UTF-8?B?0IbQstCw0L0g0J/QtdGC0YDQtdC90LrQvg==?= <ivan@example.org>\r\n"
            "Reply-To: Support <help@example.com>\r\n"
            "Subject: =?UTF-8?B?0JfQvdC40LbQutCw?= 20%\r\n"
            "Message-ID: <01JD3M6X5N8Q2ZK4Y7W9B0C1DE@mail.example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/alternative;\r\n"
            " boundary=\"=_vestnik_66652b2cb812face\"\r\n"
            "X-Vestnik-Id: 01JD3M6X5N8Q2ZK4Y7W9B0C1DE\r\n"
            "Feedback-ID: spring24:promo:market:vestnik01\r\n"
            "List-Unsubscribe: <https://u.example.com/u/TOKEN>,\r\n"
            " <mailto:unsub@example.com?subject=TOKEN>\r\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
            "X-Mailru-Msgtype: promo\r\n"
            "\r\n"
            "--=_vestnik_66652b2cb812face\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "\r\n"
            "0JfQvdC40LbQutCwIQ0K\r\n"
            "--=_vestnik_66652b2cb812face\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "\r\n"
            "<p>Sale</p>\r\n"
            "--=_vestnik_66652b2cb812face--\r\n");
}

TEST(MimeCompose, StructurePerBodyCombination) {
  struct Case {
    std::string text, html, type;
    size_t parts;
  };
  for (const Case& c : std::vector<Case>{{"t\n", "", "text/plain", 1},
                                         {"", "<b>h</b>", "text/html", 1},
                                         {"t", "<b>h</b>", "multipart/alternative", 2},
                                         {"", "", "text/plain", 1}}) {
    ComposeOptions o = basic_options();
    EmailParts p;
    p.text = c.text;
    p.html = c.html;
    std::string msg;
    ASSERT_TRUE(compose(p, o, msg));
    expect_wellformed(msg);
    Parsed parsed = split_message(msg);
    ASSERT_NE(find_header(parsed, "Content-Type"), nullptr);
    EXPECT_EQ(find_header(parsed, "Content-Type")->value.substr(0, c.type.size()), c.type);
    auto parts = parts_of(msg);
    ASSERT_EQ(parts.size(), c.parts);
    if (c.parts == 2) {
      EXPECT_EQ(parts[0].content_type, "text/plain; charset=utf-8");
      EXPECT_EQ(parts[0].decoded, c.text);
      EXPECT_EQ(parts[1].content_type, "text/html; charset=utf-8");
      EXPECT_EQ(parts[1].decoded, c.html);
    } else {
      EXPECT_EQ(crlf_to_lf(parts[0].decoded), c.text.empty() ? c.html : c.text);
    }
  }
}

TEST(MimeCompose, ChoosesEncodingByContent) {
  struct Case {
    std::string text;
    std::string cte;
  };
  std::string cyrillic;
  for (int i = 0; i < 40; ++i) cyrillic += "Дякуємо за покупку курсу. ";
  std::string long_ascii(300, 'a');
  std::vector<Case> cases = {
      {"short ascii\nlines\n", "7bit"},
      {cyrillic + "\n", "base64"},
      {"Mostly English text with one word: café.\n", "quoted-printable"},
      {long_ascii + "\n", "quoted-printable"},          // a line over 78
      {"trailing space \n", "quoted-printable"},        // 7bit would keep it
      {"From the team\n", "quoted-printable"},          // mbox munging would break DKIM
      {"boundary lookalike --=_vestnik_0\n", "quoted-printable"},
      {"no final newline", "quoted-printable"},         // single part must end with CRLF
      {std::string("nul\0", 4) + "\n", "quoted-printable"},
  };
  for (const auto& c : cases) {
    ComposeOptions o = basic_options();
    EmailParts p;
    p.text = c.text;
    std::string msg;
    ASSERT_TRUE(compose(p, o, msg));
    expect_wellformed(msg);
    auto parts = parts_of(msg);
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].cte, c.cte) << c.text.substr(0, 40);
    EXPECT_EQ(normalise_breaks(parts[0].decoded), normalise_breaks(c.text));
  }
}

TEST(MimeCompose, BodiesRoundTripAndBoundaryNeverInAPart) {
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"word ", "слово ", "😀", "\n", "\r\n", ".", "=", "=_vestnik_",
                                           "--", "From ", " ", "\t", std::string(90, 'x'), "<a href=\"x\">"};
  for (int iter = 0; iter < 500; ++iter) {
    EmailParts p;
    for (std::string* s : {&p.text, &p.html}) {
      int n = static_cast<int>(rng() % 120);
      for (int i = 0; i < n; ++i) *s += pieces[rng() % pieces.size()];
    }
    ComposeOptions o = basic_options();
    o.boundary_seed = std::to_string(iter);
    std::string msg;
    ASSERT_TRUE(compose(p, o, msg));
    expect_wellformed(msg);
    auto parts = parts_of(msg);
    if (!p.text.empty() && !p.html.empty()) {
      ASSERT_EQ(parts.size(), 2u);
      EXPECT_EQ(normalise_breaks(parts[0].decoded), normalise_breaks(p.text)) << iter;
      EXPECT_EQ(normalise_breaks(parts[1].decoded), normalise_breaks(p.html)) << iter;
      // The boundary occurs exactly at the three delimiters.
      size_t q = msg.find("boundary=\"") + 10;
      std::string b = msg.substr(q, msg.find('"', q) - q);
      size_t count = 0;
      for (size_t at = msg.find(b); at != std::string::npos; at = msg.find(b, at + 1)) ++count;
      EXPECT_EQ(count, 4u) << "header + 3 delimiters";
    } else {
      ASSERT_EQ(parts.size(), 1u);
      std::string expected = normalise_breaks(p.text.empty() ? p.html : p.text);
      std::string got = normalise_breaks(parts[0].decoded);
      EXPECT_EQ(got, expected) << iter << " cte " << parts[0].cte;
    }
    if (HasFailure()) return;
  }
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(MimeCompose, VeryLongLinesAndDotLines) {
  EmailParts p;
  p.text = std::string(2000, 'z') + "\n.\n..leading dots\n" + repeat("Ж", 1500);
  p.html = "<p>" + std::string(5000, 'q') + "</p>";
  ComposeOptions o = basic_options();
  std::string msg;
  ASSERT_TRUE(compose(p, o, msg));
  expect_wellformed(msg);
  for (size_t at = msg.find("\r\n."); at != std::string::npos; at = msg.find("\r\n.", at + 1)) {
    ADD_FAILURE() << "a line starting with '.' at " << at;
  }
  auto parts = parts_of(msg);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(crlf_to_lf(parts[0].decoded), p.text);
  EXPECT_EQ(parts[1].decoded, p.html);
}

TEST(MimeCompose, ListUnsubscribeAndFeedbackHeaders) {
  ComposeOptions o = basic_options();
  EmailParts p;
  p.text = "x\n";
  std::string msg;
  ASSERT_TRUE(compose(p, o, msg));
  Parsed parsed = split_message(msg);
  EXPECT_EQ(find_header(parsed, "List-Unsubscribe"), nullptr);
  EXPECT_EQ(find_header(parsed, "Feedback-ID"), nullptr);
  EXPECT_EQ(find_header(parsed, "X-Vestnik-Id"), nullptr);

  o.list_unsubscribe = ListUnsubscribe{"", "mailto:u@example.com"};
  msg.clear();
  ASSERT_TRUE(compose(p, o, msg));
  parsed = split_message(msg);
  ASSERT_NE(find_header(parsed, "List-Unsubscribe"), nullptr);
  EXPECT_EQ(find_header(parsed, "List-Unsubscribe")->value, "<mailto:u@example.com>");
  EXPECT_EQ(find_header(parsed, "List-Unsubscribe-Post"), nullptr) << "one-click needs an https URI";

  std::string token = seal_token("k", {"market", "student@example.org", "promo"});
  o.list_unsubscribe = ListUnsubscribe{"https://example.com/u/" + token, ""};
  o.trace_header = "X-Ref";
  o.trace_value = "01JD3M6X5N8Q2ZK4Y7W9B0C1DE";
  o.feedback_id = "c1:promo:market:vestnik01";
  msg.clear();
  ASSERT_TRUE(compose(p, o, msg));
  parsed = split_message(msg);
  EXPECT_EQ(find_header(parsed, "List-Unsubscribe")->value, "<https://example.com/u/" + token + ">");
  EXPECT_EQ(find_header(parsed, "List-Unsubscribe-Post")->value, "List-Unsubscribe=One-Click");
  EXPECT_EQ(find_header(parsed, "X-Ref")->value, "01JD3M6X5N8Q2ZK4Y7W9B0C1DE");
  EXPECT_EQ(find_header(parsed, "Feedback-ID")->value, "c1:promo:market:vestnik01");

  // A URL too long for one line still never folds inside the <...>.
  o.list_unsubscribe = ListUnsubscribe{"https://example.com/u/" + std::string(300, 'A'), "mailto:u@example.com"};
  msg.clear();
  ASSERT_TRUE(compose(p, o, msg));
  expect_wellformed(msg, 998);
  parsed = split_message(msg);
  EXPECT_EQ(find_header(parsed, "List-Unsubscribe")->value,
            "<https://example.com/u/" + std::string(300, 'A') + ">,\r\n <mailto:u@example.com>");
}

TEST(MimeCompose, RejectsUnusableInputNamingTheField) {
  struct Case {
    std::function<void(ComposeOptions&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](ComposeOptions& o) { o.from.address = ""; }, "from.address"},
      {[](ComposeOptions& o) { o.from.address = "x@y\r\nBcc: z@w"; }, "from.address"},
      {[](ComposeOptions& o) { o.to.address = "no-at-sign"; }, "to.address"},
      {[](ComposeOptions& o) { o.reply_to = Mailbox{"x", "bad address"}; }, "reply_to.address"},
      {[](ComposeOptions& o) { o.message_id = ""; }, "message_id"},
      {[](ComposeOptions& o) { o.message_id = "<a b@c>"; }, "message_id"},
      {[](ComposeOptions& o) { o.message_id = "no-brackets@x"; }, "message_id"},
      {[](ComposeOptions& o) { o.trace_value = "x"; o.trace_header = "Bad Name"; }, "trace_header"},
      {[](ComposeOptions& o) { o.trace_value = "x"; o.trace_header = "From"; }, "trace_header"},
      {[](ComposeOptions& o) { o.extra_headers = {{"X-Ok", "v"}, {"Bcc", "v"}}; }, "extra_headers[1].name"},
      {[](ComposeOptions& o) { o.extra_headers = {{"X-A:b", "v"}}; }, "extra_headers[0].name"},
      {[](ComposeOptions& o) { o.extra_headers = {{"content-type", "v"}}; }, "extra_headers[0].name"},
      {[](ComposeOptions& o) { o.extra_headers = {{"", "v"}}; }, "extra_headers[0].name"},
      {[](ComposeOptions& o) { o.trace_value = "1"; o.extra_headers = {{"x-vestnik-id", "v"}}; }, "extra_headers[0].name"},
      {[](ComposeOptions& o) { o.list_unsubscribe = ListUnsubscribe{}; }, "list_unsubscribe"},
      {[](ComposeOptions& o) { o.list_unsubscribe = ListUnsubscribe{"http://x.example/u", ""}; }, "list_unsubscribe.https_url"},
      {[](ComposeOptions& o) { o.list_unsubscribe = ListUnsubscribe{"https://x/u>, <https://evil", ""}; }, "list_unsubscribe.https_url"},
      {[](ComposeOptions& o) { o.list_unsubscribe = ListUnsubscribe{"https://x/u\r\nBcc: y", ""}; }, "list_unsubscribe.https_url"},
      {[](ComposeOptions& o) { o.list_unsubscribe = ListUnsubscribe{"", "https://x"}; }, "list_unsubscribe.mailto"},
  };
  for (const auto& c : cases) {
    ComposeOptions o = basic_options();
    c.mutate(o);
    std::string out = "untouched";
    EmailParts p;
    p.text = "x";
    auto st = compose(p, o, out);
    ASSERT_FALSE(st) << c.field;
    EXPECT_EQ(st.error().code, core::Errc::kInvalidArgument);
    EXPECT_EQ(st.error().field, c.field);
    EXPECT_EQ(out, "untouched");
  }
}

TEST(MimeCompose, BoundaryIsDeterministic) {
  EmailParts p;
  p.text = "t";
  p.html = "h";
  ComposeOptions o = basic_options();
  std::string a, b;
  ASSERT_TRUE(compose(p, o, a));
  ASSERT_TRUE(compose(p, o, b));
  EXPECT_EQ(a, b);
  o.message_id = make_message_id("other", "mail.example.com");
  std::string c;
  ASSERT_TRUE(compose(p, o, c));
  EXPECT_NE(a.substr(a.find("=_vestnik_"), 26), c.substr(c.find("=_vestnik_"), 26));
}

TEST(MimeCompose, PreheaderGoesIntoHtmlOnly) {
  EmailParts p;
  p.text = "text\n";
  p.html = "<html><body style=\"margin:0\"><p>Hi</p></body></html>";
  p.preheader = "Ваше замовлення <готове>";
  ComposeOptions o = basic_options();
  std::string msg;
  ASSERT_TRUE(compose(p, o, msg));
  auto parts = parts_of(msg);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].decoded, "text\r\n");
  EXPECT_EQ(parts[1].decoded, insert_preheader(p.html, p.preheader));
  EXPECT_NE(parts[1].decoded.find("<body style=\"margin:0\"><span style=\"display:none"), std::string::npos);
  EXPECT_NE(parts[1].decoded.find("Ваше замовлення &lt;готове&gt;</span><p>Hi"), std::string::npos);
}

// ---------------------------------------------------------------------------
// HTML helpers

std::string track(std::string_view url) { return "https://t.example/c?u=" + std::string(url); }

TEST(MimeHtml, RewritesOnlyHttpLinks) {
  const std::string html =
      "<p><a href=\"https://a.example/x?y=1&amp;z=2\">a</a> "
      "<A HREF='http://b.example/'>b</A> "
      "<a class=\"btn\" href=mailto:x@y.example>m</a> "
      "<a href=\"tel:+380441234567\">t</a> "
      "<a href=\"#top\">top</a> "
      "<a href=\"/relative\">r</a> "
      "<a href=\"https://c.example/\" data-vestnik-notrack>c</a> "
      "<a data-vestnik-notrack=\"\" href=\"https://d.example/\">d</a> "
      "<a href=https://e.example/?q=1>e</a> "
      "<abbr title=\"https://not.a.link\">x</abbr> "
      "<a title=\"a > b\" href=\" https://f.example/ \">f</a></p>";
  std::vector<std::string> seen;
  std::string out = rewrite_links(html, [&](std::string_view url) {
    seen.emplace_back(url);
    return url == "https://e.example/?q=1" ? std::string() : track(url);
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"https://a.example/x?y=1&z=2", "http://b.example/",
                                             "https://e.example/?q=1", "https://f.example/"}));
  EXPECT_EQ(out,
            "<p><a href=\"https://t.example/c?u=https://a.example/x?y=1&amp;z=2\">a</a> "
            "<A HREF='https://t.example/c?u=http://b.example/'>b</A> "
            "<a class=\"btn\" href=mailto:x@y.example>m</a> "
            "<a href=\"tel:+380441234567\">t</a> "
            "<a href=\"#top\">top</a> "
            "<a href=\"/relative\">r</a> "
            "<a href=\"https://c.example/\" data-vestnik-notrack>c</a> "
            "<a data-vestnik-notrack=\"\" href=\"https://d.example/\">d</a> "
            "<a href=https://e.example/?q=1>e</a> "
            "<abbr title=\"https://not.a.link\">x</abbr> "
            "<a title=\"a > b\" href=\"https://t.example/c?u=https://f.example/\">f</a></p>");
  // Unquoted values get quoted when rewritten; tracking URLs are escaped.
  EXPECT_EQ(rewrite_links("<a href=https://x.example/>x</a>",
                          [](std::string_view) { return std::string("https://t/?a=1&b=\"2\""); }),
            "<a href=\"https://t/?a=1&amp;b=&quot;2&quot;\">x</a>");
  // Malformed markup stops rewriting but loses nothing.
  EXPECT_EQ(rewrite_links("<a href=\"https://x.example/>x", track), "<a href=\"https://x.example/>x");
  EXPECT_EQ(rewrite_links("", track), "");
}

TEST(MimeHtml, OpenPixelBeforeClosingBody) {
  EXPECT_EQ(add_open_pixel("<html><body><p>x</p></BODY></html>", "https://t.example/o?a=1&b=2"),
            "<html><body><p>x</p><img src=\"https://t.example/o?a=1&amp;b=2\" width=\"1\" height=\"1\" "
            "alt=\"\" style=\"display:block;width:1px;height:1px;border:0\" /></BODY></html>");
  std::string no_body = add_open_pixel("<p>x</p>", "https://t/o");
  EXPECT_EQ(no_body.substr(0, 8), "<p>x</p>");
  EXPECT_EQ(no_body.substr(8, 10), "<img src=\"");
  // The last </body> wins (a quoted "</body>" in a comment earlier is ignored).
  std::string two = add_open_pixel("<!-- </body> --><body></body>", "u");
  EXPECT_EQ(two.find("<img"), std::string("<!-- </body> --><body>").size());
}

TEST(MimeHtml, PreheaderPlacement) {
  std::string with_body = insert_preheader("<html><BODY class=\"a>b\">x</BODY></html>", "Hi & bye");
  EXPECT_EQ(with_body.find("<span"), std::string("<html><BODY class=\"a>b\">").size());
  EXPECT_NE(with_body.find(">Hi &amp; bye</span>x</BODY>"), std::string::npos);
  std::string no_body = insert_preheader("<p>x</p>", "P");
  EXPECT_EQ(no_body.find("<span"), 0u);
  EXPECT_EQ(insert_preheader("<bodyx><body>", "P").find("<span"), std::string("<bodyx><body>").size());
}

}  // namespace
}  // namespace templating
