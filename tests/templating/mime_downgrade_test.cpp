// tests/templating/mime_downgrade_test.cpp: templating::downgrade_8bit_body,
// the 8-bit -> quoted-printable conversion done before DKIM signing.
#include <gtest/gtest.h>

#include "templating/mime.h"

namespace {

// RFC 2045 §6.7 decoding, enough to check the round trip.
std::string qp_decode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out.push_back(in[i]);
      continue;
    }
    if (in.substr(i + 1, 2) == "\r\n") {
      i += 2;
      continue;
    }
    out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

std::string body_of(const std::string& m) { return m.substr(m.find("\r\n\r\n") + 4); }

TEST(MimeDowngrade, SinglePartTextBecomesQuotedPrintable) {
  const std::string text = "Привет, мир!\r\n.точка в начале\r\nlong " + std::string(100, 'x') + " ok\r\n";
  const std::string msg =
      "From: a@school.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text;
  std::string out;
  ASSERT_TRUE(templating::downgrade_8bit_body(msg, out));
  EXPECT_EQ(out.find("8bit"), std::string::npos);
  EXPECT_NE(out.find("Content-Transfer-Encoding: quoted-printable\r\n\r\n"), std::string::npos);
  EXPECT_TRUE(out.starts_with("From: a@school.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"));
  for (unsigned char c : out) EXPECT_LT(c, 0x80);
  EXPECT_EQ(qp_decode(body_of(out)), text);
  for (size_t pos = 0, eol; (eol = out.find("\r\n", pos)) != std::string::npos; pos = eol + 2)
    EXPECT_LE(eol - pos, 76u);
}

TEST(MimeDowngrade, NothingToDoLeavesOutUntouched) {
  std::string out = "unchanged";
  EXPECT_FALSE(templating::downgrade_8bit_body("From: a@b.example\r\n\r\nplain ascii\r\n", out));
  EXPECT_EQ(out, "unchanged");
  // 8-bit only in a header: not ours (SMTPUTF8).
  EXPECT_FALSE(templating::downgrade_8bit_body("Subject: Привет\r\n\r\nascii\r\n", out));
  // Already encoded bodies are left alone even if malformed.
  EXPECT_FALSE(templating::downgrade_8bit_body(
      "Content-Transfer-Encoding: base64\r\n\r\n\xd0\x9f\r\n", out));
}

TEST(MimeDowngrade, AddsMimeVersionAtTheTopWhenMissing) {
  std::string out;
  ASSERT_TRUE(templating::downgrade_8bit_body("From: a@b.example\r\n\r\n\xc3\xa9t\xc3\xa9\r\n", out));
  EXPECT_EQ(out, "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                 "=C3=A9t=C3=A9\r\n");
}

TEST(MimeDowngrade, MultipartPartsConvertedDelimitersKept) {
  const std::string msg =
      "From: a@b.example\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed;\r\n boundary=\"=_b1\"\r\n\r\n"
      "preamble \xc3\xa9\r\n"
      "--=_b1\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\n"
      "\xd0\x94\xd0\xb0\r\n"
      "--=_b1\r\n"
      "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "PGI+PC9iPg==\r\n"
      "--=_b1\r\n"
      "Content-Type: message/rfc822\r\n\r\n"
      "Subject: inner\r\n\r\n\xc3\xa9\r\n"
      "--=_b1--\r\n"
      "epilogue\r\n";
  std::string out;
  ASSERT_TRUE(templating::downgrade_8bit_body(msg, out));
  const std::string want =
      "From: a@b.example\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed;\r\n boundary=\"=_b1\"\r\n\r\n"
      "preamble \xc3\xa9\r\n"
      "--=_b1\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
      "=D0=94=D0=B0\r\n"
      "--=_b1\r\n"
      "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "PGI+PC9iPg==\r\n"
      "--=_b1\r\n"
      "Content-Type: message/rfc822\r\n\r\n"
      "Subject: inner\r\n\r\n\xc3\xa9\r\n"
      "--=_b1--\r\n"
      "epilogue\r\n";
  EXPECT_EQ(out, want);
}

TEST(MimeDowngrade, NestedAndDegenerateMultiparts) {
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
      "--outer\r\n"
      "Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
      "--inner\r\n\r\n\xc3\xa9\r\n--inner--\r\n"
      "--outer\r\n"
      "--outer--";
  std::string out;
  ASSERT_TRUE(templating::downgrade_8bit_body(msg, out));
  EXPECT_NE(out.find("--inner\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n--inner--"),
            std::string::npos)
      << out;
  EXPECT_TRUE(out.ends_with("--outer\r\n--outer--")) << out;
  // An unterminated last part goes as it is (not ours to repair).
  const std::string cut = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xc3\xa9 and no end";
  out.clear();
  EXPECT_FALSE(templating::downgrade_8bit_body(cut, out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
