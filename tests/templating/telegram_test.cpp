// tests/templating/telegram_test.cpp: telegram_html(), telegram_escape(),
// telegram_length() (templating/channels.h). Every output is also checked
// by the independent Bot API checker of telegram_check.h.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "templating/channels.h"
#include "tests/templating/telegram_check.h"

namespace templating {
namespace {

struct Case {
  const char* name;
  std::string_view html;
  std::string_view tg;
};

const Case kCases[] = {
    {"empty", "", ""},
    {"plain_text_escaped", "a < b & c > d", "a &lt; b &amp; c &gt; d"},
    {"supported_tags_canonical",
     "<b>1</b><strong>2</strong><i>3</i><em>4</em><u>5</u><ins>6</ins><s>7</s><strike>8</strike>"
     "<del>9</del>",
     "<b>1</b><b>2</b><i>3</i><i>4</i><u>5</u><u>6</u><s>7</s><s>8</s><s>9</s>"},
    {"attributes_stripped", "<b class=\"x\" style=\"color:red\">t</b><I ID=y>u</I>",
     "<b>t</b><i>u</i>"},
    {"link_only_href_kept", "<a href=\"https://x.ua\" target=\"_blank\" onclick=\"x()\">t</a>",
     "<a href=\"https://x.ua\">t</a>"},
    {"link_schemes_kept",
     "<a href=\"http://x.ua\">1</a><a href=\"tg://user?id=42\">2</a><a href=\"mailto:a@x.ua\">3</a>",
     "<a href=\"http://x.ua\">1</a><a href=\"tg://user?id=42\">2</a><a href=\"mailto:a@x.ua\">3</a>"},
    {"javascript_href_dropped", "<a href=\"javascript:alert(1)\">click</a>", "click"},
    {"obfuscated_javascript_dropped", "<a href=\"java&#10;script:alert(1)\">click</a>", "click"},
    {"other_schemes_dropped",
     "<a href=\"ftp://x.ua\">1</a><a href=\"/rel\">2</a><a href=\"#top\">3</a><a>4</a>"
     "<a href=\"https://\">5</a>",
     "12345"},
    {"href_escaped", "<a href='https://x.ua/?q=\"a\"&amp;b=&lt;'>t</a>",
     "<a href=\"https://x.ua/?q=&quot;a&quot;&amp;b=&lt;\">t</a>"},
    {"href_space_encoded", "<a href=\" https://x.ua/a b \">t</a>", "<a href=\"https://x.ua/a%20b\">t</a>"},
    {"script_style_dropped", "<script>alert(\"<b>x</b>\")</script><style>b{}</style>ok", "ok"},
    {"comment_dropped", "a<!-- <b>x</b> -->b", "ab"},
    {"unknown_tags_keep_text", "<span>a</span><font color=red>b</font><custom-tag>c</custom-tag>",
     "abc"},
    {"nested", "<b>a<i>b<u>c<s>d</s></u></i></b>", "<b>a<i>b<u>c<s>d</s></u></i></b>"},
    {"unclosed_closed_at_end", "<b>a<i>b", "<b>a<i>b</i></b>"},
    {"stray_end_tags_dropped", "a</b>b</i></a></pre>c", "abc"},
    {"misnested_repaired", "<b>a<i>b</b>c</i>", "<b>a<i>b</i></b>c"},
    {"same_tag_nested_once", "<b>a<b>b</b>c</b>", "<b>abc</b>"},
    {"strong_in_b", "<b>a<strong>b</strong></b>", "<b>ab</b>"},
    {"code", "<code>x &lt; y</code>", "<code>x &lt; y</code>"},
    {"code_inside_bold_dropped", "<b>x <code>y</code></b>", "<b>x y</b>"},
    {"tags_inside_code_dropped", "<code><b>x</b><a href=\"https://x.ua\">y</a></code>",
     "<code>xy</code>"},
    {"pre_language", "<pre><code class=\"language-python\">x = 1</code></pre>",
     "<pre><code class=\"language-python\">x = 1</code></pre>"},
    {"pre_language_sanitized", "<pre><code class=\"hl language-c++&quot;x foo\">x</code></pre>",
     "<pre><code class=\"language-c++x\">x</code></pre>"},
    {"pre_plain_code", "<pre><code>x</code></pre>", "<pre><code>x</code></pre>"},
    {"pre_code_not_first_dropped", "<pre>a<code>b</code></pre>", "<pre>ab</pre>"},
    {"document_pre_code_after_break", "<p>x</p><pre><tr><code>y</code></pre>",
     "x\n\n<pre>\ny</pre>"},  // fuzz: the break made code no longer pre's first child
    {"dropped_pre_is_plain_text", "<b>x</b><a href=\"https://x.ua\"><pre>\n  y</pre></a>",
     "<b>x</b><a href=\"https://x.ua\">\n  y</a>"},  // fuzz: idempotence
    {"code_class_outside_pre", "<code class=\"language-x\">y</code>", "<code>y</code>"},
    {"pre_tags_inside_dropped", "<pre><b>x</b>\n  y</pre>", "<pre>x\n  y</pre>"},
    {"pre_inside_link_dropped", "<a href=\"https://x.ua\"><pre>p</pre></a>",
     "<a href=\"https://x.ua\">p</a>"},
    {"blockquote", "<blockquote>q</blockquote>", "<blockquote>q</blockquote>"},
    {"blockquote_expandable", "<blockquote expandable class=x>q</blockquote>",
     "<blockquote expandable>q</blockquote>"},
    {"blockquote_not_nested", "<blockquote>a<blockquote>b</blockquote>c</blockquote>",
     "<blockquote>abc</blockquote>"},
    {"blockquote_holds_styles_and_links",
     "<blockquote><b>a</b> <a href=\"https://x.ua\">l</a> <code>c</code></blockquote>",
     "<blockquote><b>a</b> <a href=\"https://x.ua\">l</a> <code>c</code></blockquote>"},
    {"spoilers", "<tg-spoiler>s</tg-spoiler> <span class=\"x tg-spoiler\">t</span>",
     "<tg-spoiler>s</tg-spoiler> <tg-spoiler>t</tg-spoiler>"},
    {"plain_span_does_not_close_spoiler",
     "<span class=\"tg-spoiler\">a<span>b</span>c</span>d", "<tg-spoiler>abc</tg-spoiler>d"},
    {"link_in_link_dropped",
     "<a href=\"https://a.ua\">A<a href=\"https://b.ua\">B</a>C</a>",
     "<a href=\"https://a.ua\">ABC</a>"},
    {"styles_in_link", "<a href=\"https://x.ua\"><b>bold</b> link</a>",
     "<a href=\"https://x.ua\"><b>bold</b> link</a>"},
    {"empty_elements_left_out", "<b></b>x<i><u></u></i><a href=\"https://x.ua\"></a>", "x"},
    {"entity_round_trip", "&lt;b&gt; &amp;amp; &quot;q&quot; &#39; &laquo;&nbsp;&raquo; &#128512;",
     "&lt;b&gt; &amp;amp; \"q\" ' «\xC2\xA0» 😀"},  // NBSP kept as written
    {"unknown_entity_escaped", "&bogus; AT&T", "&amp;bogus; AT&amp;T"},
    {"telegram_style_keeps_whitespace", "  Рядок 1\nРядок 2\n\n  <b>Жирний</b>  \n",
     "Рядок 1\nРядок 2\n\n  <b>Жирний</b>"},
    {"document_style_collapses", "<p>Привіт,\n   <b>Іване</b>!</p>\n<p>Дякуємо</p>",
     "Привіт, <b>Іване</b>!\n\nДякуємо"},
    {"document_line_breaks",
     "<div>a</div><div>b<br>c</div><ul><li>d</li><li><i>e</i></li></ul><h2>T</h2>f",
     "a\nb\nc\n\n- d\n- <i>e</i>\n\nT\n\nf"},
    {"document_space_outside_tags", "<p>x <b> y </b> z</p>", "x <b>y</b> z"},
    {"document_break_outside_tags", "<p><b>a<br></b>b</p>", "<b>a</b>\nb"},
    {"document_pre_keeps_whitespace", "<p>x</p><pre>\n  a\n  b</pre><p>y</p>",
     "x\n\n<pre>  a\n  b</pre>\n\ny"},
    {"document_blockquote_on_own_line", "<div>a<blockquote>q</blockquote>b</div>",
     "a\n<blockquote>q</blockquote>\nb"},
    {"hidden_dropped", "<p>a</p><div style=\"display:none\">pre<b>x</b></div><p>b</p>", "a\n\nb"},
    {"head_dropped", "<html><head><title>T</title></head><body><p>x</p></body></html>", "x"},
    {"img_alt", "<p><img alt=\"&lt;Logo&gt;\"> shop</p>", "&lt;Logo&gt; shop"},
    {"invalid_utf8_replaced", "a\xFF" "b", "a\xEF\xBF\xBD" "b"},
    {"nul_dropped", std::string_view("a\0b", 3), "ab"},
    {"unclosed_tag_at_end", "<b>x</b><i", "<b>x</b>"},
};

class TelegramHtml : public ::testing::TestWithParam<Case> {};

TEST_P(TelegramHtml, Golden) {
  const std::string got = telegram_html(GetParam().html);
  EXPECT_EQ(got, GetParam().tg) << "input: " << GetParam().html;
  EXPECT_EQ(testing::telegram_check(got), "") << got;
}

INSTANTIATE_TEST_SUITE_P(TelegramCases, TelegramHtml, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string testdata(const std::string& name) {
  return std::string(VESTNIK_SOURCE_DIR) + "/tests/templating/testdata/channels/" + name;
}

// The marketplace emails of html_text_test.cpp, sent to Telegram.
class TelegramFile : public ::testing::TestWithParam<const char*> {};

TEST_P(TelegramFile, MatchesGolden) {
  const std::string html = read_file(testdata(std::string(GetParam()) + ".html"));
  std::string want = read_file(testdata(std::string(GetParam()) + ".tg"));
  ASSERT_FALSE(want.empty());
  want.pop_back();
  const std::string got = telegram_html(html);
  EXPECT_EQ(got, want);
  EXPECT_EQ(testing::telegram_check(got), "");
  EXPECT_LE(telegram_length(got), kTelegramMaxLength);
}

INSTANTIATE_TEST_SUITE_P(TelegramMarketplace, TelegramFile,
                         ::testing::Values("order_paid", "teacher_answer", "broken"));

TEST(TelegramHtmlDepth, DeepNestingIsBoundedAndBalanced) {
  std::string html;
  for (int i = 0; i < 5000; ++i) html += "<b><i><span>x";
  for (int i = 0; i < 5000; ++i) html += "</i></b>";
  const std::string got = telegram_html(html);
  EXPECT_EQ(testing::telegram_check(got), "");
  EXPECT_EQ(telegram_length(got), 5000u);
}

TEST(TelegramEscape, EscapesOnlyWhatHtmlModeNeeds) {
  EXPECT_EQ(telegram_escape("a<b>&c \"q\" 'x'"), "a&lt;b&gt;&amp;c \"q\" 'x'");
  EXPECT_EQ(telegram_escape("&amp;"), "&amp;amp;");
  EXPECT_EQ(telegram_escape("Привіт 😀\n"), "Привіт 😀\n");
  EXPECT_EQ(telegram_escape(std::string_view("a\0b\xC3", 4)), "ab\xEF\xBF\xBD");
  EXPECT_EQ(testing::telegram_check(telegram_escape("x < y && z > w")), "");
}

TEST(TelegramLength, CountsUtf16UnitsAfterEntityParsing) {
  EXPECT_EQ(telegram_length(""), 0u);
  EXPECT_EQ(telegram_length("abc"), 3u);
  EXPECT_EQ(telegram_length("Привіт"), 6u);
  EXPECT_EQ(telegram_length("😀"), 2u);                          // a surrogate pair
  EXPECT_EQ(telegram_length("👨\u200D👩"), 5u);                  // 2 + ZWJ + 2
  EXPECT_EQ(telegram_length("<b>a</b>&lt;&gt;&amp;&quot;"), 5u);  // tags are not text
  EXPECT_EQ(telegram_length("<a href=\"https://x.ua/long\">x</a>"), 1u);
  EXPECT_EQ(telegram_length("&#128512;&#x41;"), 3u);
}

TEST(TelegramLength, TheLimitIsInUtf16Units) {
  const std::string ascii(kTelegramMaxLength, 'a');
  EXPECT_EQ(telegram_length(telegram_html(ascii)), kTelegramMaxLength);
  std::string emoji;
  for (size_t i = 0; i < kTelegramMaxLength / 2; ++i) emoji += "😀";
  EXPECT_EQ(telegram_length(telegram_html(emoji)), kTelegramMaxLength);  // 2048 emoji fit
  emoji += "😀";
  EXPECT_GT(telegram_length(telegram_html(emoji)), kTelegramMaxLength);  // 2049 do not
  std::string cyr;
  for (size_t i = 0; i < kTelegramMaxLength; ++i) cyr += "ї";
  EXPECT_EQ(telegram_length("<b>" + cyr + "</b>"), kTelegramMaxLength);  // 8192 bytes, 4096 chars
  EXPECT_EQ(telegram_length(telegram_html(std::string(kTelegramMaxLength, '&'))),
            kTelegramMaxLength);  // 5 bytes each once escaped, one character each
}

}  // namespace
}  // namespace templating
