// tests/mta/server_content_test.cpp: the DATA decoder (dot-unstuffing, the
// end of data, SMTP smuggling), the BDAT line-ending check, base64 and
// SASL PLAIN (mta/smtp_command.h).
#include <gtest/gtest.h>

#include <string>

#include "mta/smtp_command.h"

namespace mta {
namespace {

using namespace std::string_literals;

struct Decoded {
  std::string out;
  size_t consumed = 0;
  bool done = false;
  bool bare = false;
  bool too_large = false;
};

Decoded decode(std::string_view in, uint64_t max = 1 << 20) {
  DataDecoder d(max);
  Decoded r;
  r.consumed = d.feed(in, r.out);
  r.done = d.done();
  r.bare = d.bare_line_ending();
  r.too_large = d.too_large();
  return r;
}

// The same input fed in pieces of `step` bytes.
Decoded decode_in_pieces(std::string_view in, size_t step) {
  DataDecoder d(1 << 20);
  Decoded r;
  while (r.consumed < in.size() && !d.done()) {
    const std::string_view piece = in.substr(r.consumed, step);
    r.consumed += d.feed(piece, r.out);
  }
  r.done = d.done();
  r.bare = d.bare_line_ending();
  return r;
}

TEST(DataDecoder, PlainMessage) {
  const std::string in = "Subject: hi\r\n\r\nbody\r\n.\r\n";
  const auto r = decode(in);
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.bare);
  EXPECT_EQ(r.out, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(r.consumed, in.size());
}

TEST(DataDecoder, EmptyMessage) {
  const auto r = decode(".\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.consumed, 3u);
}

TEST(DataDecoder, StopsAtTheEndAndLeavesWhatFollows) {
  const std::string in = "a\r\n.\r\nMAIL FROM:<x@y.example>\r\n";
  const auto r = decode(in);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.out, "a\r\n");
  EXPECT_EQ(in.substr(r.consumed), "MAIL FROM:<x@y.example>\r\n");
}

TEST(DataDecoder, DotUnstuffing) {
  const auto r = decode("..hidden\r\n...\r\n.x\r\n. \r\nmid.dle\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.bare);
  EXPECT_EQ(r.out, ".hidden\r\n..\r\nx\r\n \r\nmid.dle\r\n");
}

TEST(DataDecoder, NotDoneWithoutTheFinalDot) {
  const auto r = decode("a\r\nb\r\n");
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.consumed, 6u);
  EXPECT_EQ(r.out, "a\r\nb\r\n");
}

TEST(DataDecoder, LongLinesAreContent) {
  const std::string line(5000, 'x');
  const auto r = decode(line + "\r\n.\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.out, line + "\r\n");
}

TEST(DataDecoder, EightBitBytesPassThrough) {
  const auto r = decode("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\x00\xff\r\n.\r\n"s);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.out.size(), 16u);
}

// SMTP smuggling (2023): only <CRLF>.<CRLF> ends the data. Every other
// spelling of "a line with a dot" is content, and flags the message.
TEST(DataDecoder, SmugglingAttemptsAreContentAndFlagged) {
  const char* attempts[] = {
      "a\r\n.\nMAIL FROM:<evil@x.example>\r\n",     // CRLF . LF
      "a\n.\r\nMAIL FROM:<evil@x.example>\r\n",     // LF . CRLF
      "a\n.\nMAIL FROM:<evil@x.example>\r\n",       // LF . LF
      "a\r.\r\nMAIL FROM:<evil@x.example>\r\n",     // CR . CRLF
      "a\r\n.\rMAIL FROM:<evil@x.example>\r\n",     // CRLF . CR
      "a\r\n.\r\r\nMAIL FROM:<evil@x.example>\r\n", // CRLF . CR CRLF
  };
  for (const char* attempt : attempts) {
    const std::string in = std::string(attempt) + "DATA\r\nsmuggled\r\n.\r\n";
    const auto r = decode(in);
    EXPECT_TRUE(r.done) << attempt;
    EXPECT_TRUE(r.bare) << attempt;
    // The whole input is one message: nothing is left to be read as commands.
    EXPECT_EQ(r.consumed, in.size()) << attempt;
    EXPECT_NE(r.out.find("smuggled"), std::string::npos) << attempt;
  }
}

TEST(DataDecoder, BareCrAndLfFlagged) {
  EXPECT_TRUE(decode("a\nb\r\n.\r\n").bare);
  EXPECT_TRUE(decode("a\rb\r\n.\r\n").bare);
  EXPECT_TRUE(decode("a\r\r\n.\r\n").bare);
  EXPECT_FALSE(decode("a\r\nb\r\n.\r\n").bare);
  const auto r = decode("a\nb\r\n.\r\n");
  EXPECT_EQ(r.out, "a\nb\r\n");  // kept as is: the message is refused, not repaired
}

TEST(DataDecoder, PiecesGiveTheSameResult) {
  const std::string inputs[] = {
      "Subject: x\r\n\r\n..a\r\n.b\r\nc\r\n.\r\nNEXT\r\n",
      "a\r\n.\nb\r\n.\r\n",
      "\r\n\r\n.\r\n",
      ".\r\n",
      "x\r\r\n..\r\n.\r\n",
  };
  for (const auto& in : inputs) {
    const auto whole = decode(in);
    for (size_t step = 1; step <= 4; ++step) {
      const auto parts = decode_in_pieces(in, step);
      EXPECT_EQ(parts.out, whole.out) << in << " step " << step;
      EXPECT_EQ(parts.consumed, whole.consumed) << in << " step " << step;
      EXPECT_EQ(parts.done, whole.done) << in << " step " << step;
      EXPECT_EQ(parts.bare, whole.bare) << in << " step " << step;
    }
  }
}

TEST(DataDecoder, SizeLimitCountsButDoesNotKeep) {
  const std::string body(100, 'x');
  DataDecoder d(50);
  std::string out;
  const std::string in = body + "\r\n.\r\n";
  EXPECT_EQ(d.feed(in, out), in.size());
  EXPECT_TRUE(d.done());
  EXPECT_TRUE(d.too_large());
  EXPECT_EQ(d.size(), 102u);
  EXPECT_LE(out.size(), 50u);
}

TEST(DataDecoder, ExactlyAtTheLimitIsFine) {
  DataDecoder d(5);
  std::string out;
  d.feed("abc\r\n.\r\n", out);
  EXPECT_TRUE(d.done());
  EXPECT_FALSE(d.too_large());
  EXPECT_EQ(out, "abc\r\n");
}

TEST(LineEndingCheck, AcrossChunks) {
  {
    LineEndingCheck c;
    c.feed("a\r\nb\r\n");
    EXPECT_FALSE(c.bare_line_ending());
  }
  {
    LineEndingCheck c;
    c.feed("a\r");
    c.feed("\nb\r\n");
    EXPECT_FALSE(c.bare_line_ending());
  }
  {
    LineEndingCheck c;
    c.feed("a\r");
    EXPECT_TRUE(c.bare_line_ending());  // the last chunk ended in a lone CR
  }
  {
    LineEndingCheck c;
    c.feed("a\nb");
    EXPECT_TRUE(c.bare_line_ending());
  }
  {
    LineEndingCheck c;
    c.feed("a\r");
    c.feed("b\r\n");
    EXPECT_TRUE(c.bare_line_ending());
  }
  {
    LineEndingCheck c;
    c.feed("\r\n.\r\n..\r\n");  // dots mean nothing in BDAT
    EXPECT_FALSE(c.bare_line_ending());
  }
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},       {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(encode_base64(plain), encoded);
    auto d = decode_base64(encoded);
    ASSERT_TRUE(d.has_value()) << encoded;
    EXPECT_EQ(*d, plain);
  }
  const std::string binary("\x00\xff\x10\x80", 4);
  EXPECT_EQ(decode_base64(encode_base64(binary)), binary);
}

TEST(Base64, RefusesMalformed) {
  for (const char* bad : {"Zg=", "Z===", "Zg==Zg==", "Zm=v", "Zm9v!A==", "=Zm9", "Zm9 v", "Zm9v\r\n"}) {
    EXPECT_FALSE(decode_base64(bad).has_value()) << bad;
  }
}

TEST(SaslPlain, Decodes) {
  auto c = decode_sasl_plain(encode_base64(std::string("\0user\0secret", 12)));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->authzid, "");
  EXPECT_EQ(c->user, "user");
  EXPECT_EQ(c->password, "secret");
  auto z = decode_sasl_plain(encode_base64(std::string("admin\0user\0secret", 17)));
  ASSERT_TRUE(z.has_value());
  EXPECT_EQ(z->authzid, "admin");
}

TEST(SaslPlain, RefusesMalformed) {
  EXPECT_FALSE(decode_sasl_plain("not base64!").has_value());
  EXPECT_FALSE(decode_sasl_plain(encode_base64("user\0secret")).has_value());
  EXPECT_FALSE(decode_sasl_plain(encode_base64(std::string("user\0secret", 11))).has_value());
  EXPECT_FALSE(decode_sasl_plain(encode_base64(std::string("\0\0secret", 8))).has_value());
  EXPECT_FALSE(decode_sasl_plain(encode_base64(std::string("\0user\0", 6))).has_value());
  EXPECT_FALSE(decode_sasl_plain(encode_base64(std::string("\0u\0p\0", 5))).has_value());
}

}  // namespace
}  // namespace mta
