// tests/templating/mime_test.cpp: templating/mime.h body side — golden
// outputs for the QP and base64 encoders and for whole messages, and
// property tests that decode what was encoded (with the independent decoders
// of mime_test_util.h) and check the RFC 5322 line rules on every output.
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
