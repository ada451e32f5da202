// tests/templating/template_test.cpp: golden tests of the template language
// (templating/template.h). Each table row is a source, its variables (one
// shared fixture unless stated) and the exact output; compile errors are
// pinned by their exact "line L, column C: reason" text.
#include "templating/template.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using templating::CompileOptions;
using templating::Escape;
using templating::RenderOptions;
using templating::RenderReport;
using templating::Template;
namespace json = boost::json;

const json::value& fixture() {
  static const json::value v = json::parse(R"({
    "name": "Іван", "lower_name": "іван", "empty": "", "nothing": null, "zero": 0,
    "yes": true, "no": false,
    "html": "<b>Tom & \"Jerry\"</b> 'x'",
    "order": {"id": 1842, "total": 1234.5, "currency": "грн", "status": "paid"},
    "big": 9223372036854775807, "ubig": 18446744073709551615, "neg": -42,
    "pi": 3.14159, "tenth": 0.1,
    "lessons": [{"title": "Вступ", "minutes": 45}, {"title": "Граматика", "minutes": 60},
                {"title": "Практика", "minutes": 90, "name": "Петро"}],
    "empty_list": [], "empty_obj": {}, "tags": {"a": 1, "b": 2}, "matrix": [[1, 2], [3, 4]],
    "teacher": {"name": "Олена",
                "courses": [{"title": "A", "students": [{"name": "X"}, {"name": "Y"}]}]},
    "when": "2026-11-23T10:00:00Z", "unix": 1795428000,
    "url": "https://ex.com/a b?c=д&d", "padded": "  привіт \n"
  })");
  return v;
}

std::string render(std::string_view source, const json::value& vars = fixture(),
                   const RenderOptions& options = {}, RenderReport* report = nullptr,
                   Escape escape = Escape::kNone) {
  auto t = Template::compile(source, CompileOptions{escape});
  EXPECT_TRUE(t.has_value()) << source << ": " << (t ? "" : t.error().message);
  if (!t) return "<compile error>";
  std::string out;
  t->render(vars, options, out, report);
  return out;
}

std::string compile_error(std::string_view source) {
  auto t = Template::compile(source);
  if (t) return "<compiled>";
  EXPECT_EQ(t.error().code, core::Errc::kInvalidArgument);
  EXPECT_TRUE(t.error().field.empty());
  return t.error().message;
}

struct Golden {
  const char* source;
  const char* expected;
};

void run_table(const std::vector<Golden>& rows, const RenderOptions& options = {},
               Escape escape = Escape::kNone) {
  for (const auto& r : rows) {
    EXPECT_EQ(render(r.source, fixture(), options, nullptr, escape), r.expected) << "source: " << r.source;
  }
}

TEST(Template, EmptyAndLiteral) {
  Template empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(empty.uses_variables());
  EXPECT_EQ(empty.size_hint(), 0u);
  std::string out = "keep";
  empty.render(fixture(), {}, out, nullptr);
  EXPECT_EQ(out, "keep");

  auto t = Template::compile("Привіт, світе!");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->empty());
  EXPECT_FALSE(t->uses_variables());
  EXPECT_GE(t->size_hint(), std::string("Привіт, світе!").size());
  out = ">";
  t->render(fixture(), {}, out, nullptr);
  EXPECT_EQ(out, ">Привіт, світе!");  // appends

  auto e = Template::compile("");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->empty());
  auto v = Template::compile("{{name}}");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->uses_variables());
  Template copy = *v;  // shares the program
  EXPECT_EQ(render("{{name}}"), "Іван");
}

TEST(Template, Values) {
  run_table({
      {"{{name}}", "Іван"},
      {"{{ name }}", "Іван"},
      {"{{order.id}}", "1842"},
      {"{{order.total}}", "1234.5"},
      {"{{big}}", "9223372036854775807"},
      {"{{ubig}}", "18446744073709551615"},
      {"{{neg}}", "-42"},
      {"{{tenth}}", "0.1"},
      {"{{pi}}", "3.14159"},
      {"{{yes}}/{{no}}", "true/false"},
      {"[{{nothing}}]", "[]"},
      {"[{{zero}}]", "[0]"},
      {"{{lessons.1.title}}", "Граматика"},
      {"{{lessons.9.title}}", ""},
      {"{{matrix.1.0}}", "3"},
      {"{{@root.name}}", "Іван"},
      {"{{\"літерал\"}}", "літерал"},
      {"{{ 'single \\' quoted' }}", "single ' quoted"},
      {"{{ 42 }}|{{ -1.5 }}|{{ true }}|{{ null }}", "42|-1.5|true|"},
      {"{{order.id.x}}", ""},
  });
}

TEST(Template, ObjectsAndListsPrintEmptyWithAWarning) {
  RenderReport rep;
  EXPECT_EQ(render("a{{order}}b{{lessons}}c", fixture(), {}, &rep), "abc");
  EXPECT_TRUE(rep.missing.empty());
  ASSERT_EQ(rep.warnings.size(), 2u);
  EXPECT_EQ(rep.warnings[0], "line 1, column 2: 'order' is an object, not text");
  EXPECT_EQ(rep.warnings[1], "line 1, column 12: 'lessons' is a list, not text");
}

TEST(Template, HtmlEscaping) {
  run_table(
      {
          {"{{html}}", "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; &#39;x&#39;"},
          {"{{{html}}}", "<b>Tom & \"Jerry\"</b> 'x'"},
          {"{{{ html ~}}} x", "<b>Tom & \"Jerry\"</b> 'x'x"},
          {"{{~{html}~}} x", "<b>Tom & \"Jerry\"</b> 'x'x"},
          {"{{html | raw}}", "<b>Tom & \"Jerry\"</b> 'x'"},
          {"{{html | escape}}", "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; &#39;x&#39;"},
          {"{{html | raw | upper}}", "<B>TOM & \"JERRY\"</B> 'X'"},
          {"<p class=\"x\">{{name}} & co</p>", "<p class=\"x\">Іван & co</p>"},
          {"{{missing | default: \"<i>\"}}", "&lt;i&gt;"},
          {"{{order.id}}", "1842"},
      },
      {}, Escape::kHtml);
  run_table({
      {"{{html}}", "<b>Tom & \"Jerry\"</b> 'x'"},
      {"{{html | escape}}", "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; &#39;x&#39;"},
  });
}

TEST(Template, Defaults) {
  run_table({
      {"{{missing | default: \"друже\"}}", "друже"},
      {"{{nothing | default: \"друже\"}}", "друже"},
      {"{{empty | default: \"друже\"}}", "друже"},
      {"{{zero | default: 7}}", "0"},
      {"{{no | default: 7}}", "false"},
      {"{{name | default: \"друже\"}}", "Іван"},
      {"{{missing | default: name}}", "Іван"},
      {"{{missing | default: 5}}", "5"},
      {"{{missing | upper | default: \"x\"}}", "x"},
      {"{{missing | default: \"a\" | upper}}", "A"},
      {"[{{missing | default: other_missing}}]", "[]"},
  });
}

TEST(Template, MissingReport) {
  RenderReport rep;
  std::string out = render(
      "{{a}} {{b.c}} {{a}} {{x | default: \"1\"}} {{#if cond}}{{/if}}{{#each list}}{{/each}}"
      "{{nothing}} {{name}}{{#each lessons}}{{t}}{{../z}}{{/each}}{{@root.r}}",
      fixture(), {}, &rep);
  EXPECT_EQ(out, "   1  Іван");
  EXPECT_EQ(rep.missing, (std::vector<std::string>{"a", "b.c", "nothing", "t", "../z", "@root.r"}));
  EXPECT_TRUE(rep.warnings.empty());

  // A report collects across renders until cleared; a null report is fine.
  render("{{q}}", fixture(), {}, &rep);
  EXPECT_EQ(rep.missing.back(), "q");
  rep.clear();
  EXPECT_TRUE(rep.missing.empty() && rep.warnings.empty());
  EXPECT_EQ(render("{{q}}x", fixture(), {}, nullptr), "x");
}

TEST(Template, Each) {
  run_table({
      {"{{#each lessons}}{{@index}}:{{title}}{{#unless @last}}, {{/unless}}{{/each}}",
       "0:Вступ, 1:Граматика, 2:Практика"},
      {"{{#each lessons}}{{#if @first}}[{{/if}}{{@number}}{{#if @last}}]{{/if}}{{/each}}", "[123]"},
      // A name not on the item is looked up outwards, up to the root.
      {"{{#each lessons}}{{name}} {{/each}}", "Іван Іван Петро "},
      {"{{#each lessons}}{{../name}}/{{this.title}};{{/each}}",
       "Іван/Вступ;Іван/Граматика;Іван/Практика;"},
      {"{{#each teacher.courses}}{{title}}:{{#each students}}{{name}}@{{../title}}#{{@index}}/"
       "{{../@index}} {{/each}}{{/each}}",
       "A:X@A#0/0 Y@A#1/0 "},
      {"{{#each teacher.courses}}{{#each students}}{{order.id}}-{{@root.order.id}} {{/each}}{{/each}}",
       "1842-1842 1842-1842 "},
      {"{{#each matrix}}{{#each this}}{{this}}{{/each}};{{/each}}", "12;34;"},
      {"{{#each matrix}}{{#each .}}{{.}}{{/each}};{{/each}}", "12;34;"},
      {"{{#each empty_list}}x{{else}}порожньо{{/each}}", "порожньо"},
      {"{{#each nope}}x{{else}}none{{/each}}", "none"},
      {"{{#each tags}}{{@key}}={{this}}{{#unless @last}};{{/unless}}{{/each}}", "a=1;b=2"},
      {"{{#each empty_obj}}x{{/each}}.", "."},
      {"{{#each lessons}}{{minutes}}{{else}}E{{/each}}", "456090"},
      {"{{#each lessons}}{{#each ../tags}}{{@key}}{{../@index}}{{/each}}{{/each}}", "a0b0a1b1a2b2"},
  });
  RenderReport rep;
  EXPECT_EQ(render("{{#each name}}x{{else}}e{{/each}}", fixture(), {}, &rep), "e");
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_EQ(rep.warnings[0], "line 1, column 1: each: 'name' is not a list");
}

TEST(Template, Conditions) {
  run_table({
      {"{{#if yes}}Y{{else}}N{{/if}}", "Y"},
      {"{{#if no}}Y{{else}}N{{/if}}", "N"},
      {"{{#if no}}a{{else if zero}}b{{else if name}}c{{else}}d{{/if}}", "c"},
      {"{{#if no}}a{{else if zero}}b{{/if}}.", "."},
      {"{{#if no}}a{{else if zero}}b{{else}}d{{/if}}", "d"},
      {"{{#unless no}}U{{else}}X{{/unless}}", "U"},
      {"{{#unless yes}}U{{else if name}}N{{/unless}}", "N"},
      {"{{#if yes}}{{#if no}}a{{else}}b{{/if}}{{else}}c{{/if}}", "b"},
  });
  // Truthiness.
  for (const char* f : {"nothing", "missing", "no", "empty", "zero", "empty_list", "empty_obj"}) {
    EXPECT_EQ(render(std::string("{{#if ") + f + "}}T{{else}}F{{/if}}"), "F") << f;
  }
  for (const char* t : {"yes", "name", "order", "lessons", "neg", "tenth", "tags"}) {
    EXPECT_EQ(render(std::string("{{#if ") + t + "}}T{{else}}F{{/if}}"), "T") << t;
  }
  // Comparisons.
  struct Cmp {
    const char* cond;
    bool result;
  };
  for (const Cmp& c : std::vector<Cmp>{
           {"order.total > 1000", true},      {"order.total >= 1234.5", true},
           {"order.total < 1234.5", false},   {"order.total <= 1234.5", true},
           {"order.id == 1842", true},        {"order.id != 1842", false},
           {"order.id == 1842.0", true},      {"order.id < 1842.5", true},
           {"order.status == \"paid\"", true}, {"order.status == 'new'", false},
           {"order.status != 'new'", true},   {"neg < 0", true},
           {"neg < -42.5", false},            {"neg > -42.5", true},
           {"ubig > big", true},              {"big == 9223372036854775807", true},
           {"big < 9223372036854775807.0", true},  // the double is 2^63: exact, no rounding
           {"ubig < 18446744073709551615.0", true},
           {"order.id == \"1842\"", false},   {"order.id != \"1842\"", true},
           {"order.id > \"1\"", false},       {"nothing == null", true},
           {"missing == null", true},         {"yes == true", true},
           {"name != 5", true},               {"\"b\" > \"a\"", true},
           {"0 == zero", true},               {"tenth > 0", true},
       }) {
    EXPECT_EQ(render(std::string("{{#if ") + c.cond + "}}T{{else}}F{{/if}}"), c.result ? "T" : "F")
        << c.cond;
  }
}

TEST(Template, CommentsWhitespaceAndEscapedBraces) {
  run_table({
      {"a{{! comment }}b", "ab"},
      {"a{{!-- has }} inside --}}b", "ab"},
      {"a{{!----}}b", "ab"},
      {"a  {{~ name ~}}  b", "aІванb"},
      {"a \n {{~! c ~}} \n b", "ab"},
      {"<ul>\n  {{~#each lessons~}}\n  <li>{{title}}</li>\n  {{~/each~}}\n</ul>",
       "<ul><li>Вступ</li><li>Граматика</li><li>Практика</li></ul>"},
      {"{{#if yes~}}   \n  x  {{~/if}}!", "x!"},
      {"\\{{name}}", "{{name}}"},
      {"a \\{{ b }} c {{name}}", "a {{ b }} c Іван"},
      {"{ } }} {{name}}}", "{ } }} Іван}"},
      {"back\\slash", "back\\slash"},
  });
}

TEST(Template, TextFilters) {
  run_table({
      {"{{ \"привіт, їжак ґанок є\" | upper }}", "ПРИВІТ, ЇЖАК ҐАНОК Є"},
      {"{{ \"ІВАН ЇЖАК ҐАНОК ЄВА Ўладзімір\" | lower }}", "іван їжак ґанок єва ўладзімір"},
      {"{{ \"Съешь ещё ЭТИХ ёлок\" | upper }}", "СЪЕШЬ ЕЩЁ ЭТИХ ЁЛОК"},
      {"{{ \"straße ÆØÅ ÿ łódź ωμέγα ς\" | upper }}", "STRAßE ÆØÅ Ÿ ŁÓDŹ ΩΜΈΓΑ Σ"},
      {"{{ \"ÀÉÎÕÜ ŁÓDŹ ΑΒΓ ΆΈ Ÿ İ\" | lower }}", "àéîõü łódź αβγ άέ ÿ i"},
      {"{{ \"中文 🙂\" | upper }}", "中文 🙂"},
      {"{{lower_name | capitalize}}", "Іван"},
      {"{{ \"їжак їжачок\" | capitalize }}", "Їжак їжачок"},
      {"{{ \"élan ВИТАЛ\" | capitalize }}", "Élan ВИТАЛ"},
      {"[{{padded | trim}}]", "[привіт]"},
      {"[{{ \"\u00a0 x \u3000\" | trim}}]", "[x]"},
      {"{{ \"Привіт, світе\" | truncate: 7 }}", "Привіт…"},
      {"{{ \"Привіт, світе\" | truncate: 9 }}", "Привіт,…"},
      {"{{ \"Привіт, світе\" | truncate: 13 }}", "Привіт, світе"},
      {"[{{ \"abc\" | truncate: 0 }}]", "[]"},
      {"{{ \"abc\" | truncate: 1 }}", "…"},
      {"{{url | url_encode}}", "https%3A%2F%2Fex.com%2Fa%20b%3Fc%3D%D0%B4%26d"},
      {"{{lessons | size}} {{name | size}} {{tags | size}} {{order.id | size}}", "3 4 2 4"},
      {"{{ padded | trim | upper | truncate: 4 }}", "ПРИ…"},
      {"{{ order.id | upper }}", "1842"},
  });
}

TEST(Template, Numbers) {
  RenderOptions uk, ru, en;
  ru.locale = "ru";
  en.locale = "en-GB";
  run_table(
      {
          {"{{ order.id | number }}", "1\u00a0842"},
          {"{{ order.total | number: 2 }}", "1\u00a0234,50"},
          {"{{ big | number }}", "9\u00a0223\u00a0372\u00a0036\u00a0854\u00a0775\u00a0807"},
          {"{{ neg | number: 1 }}", "-42,0"},
          {"{{ 999 | number }}|{{ 1000 | number }}", "999|1\u00a0000"},
          {"{{ \"1234.5\" | number: 1 }}", "1\u00a0234,5"},
          {"{{ 0.005 | number: 2 }}", "0,01"},
          {"{{ -0.001 | number: 2 }}", "0,00"},
          {"{{ tenth | number }}", "0,1"},
          {"{{ 1234567.891 | number: 0 }}", "1\u00a0234\u00a0568"},
      },
      uk);
  run_table({{"{{ order.total | number: 2 }}", "1\u00a0234,50"}}, ru);
  run_table(
      {
          {"{{ order.total | number: 2 }}", "1,234.50"},
          {"{{ ubig | number }}", "18,446,744,073,709,551,615"},
          {"{{ -1234567 | number }}", "-1,234,567"},
          {"{{ pi | number: 3 }}", "3.142"},
      },
      en);
  RenderReport rep;
  EXPECT_EQ(render("{{ \"abc\" | number }}", fixture(), {}, &rep), "abc");
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_EQ(rep.warnings[0], "line 1, column 12: number: 'abc' is not a number");
}

TEST(Template, Plurals) {
  struct Row {
    const char* n;
    const char* uk;
    const char* ru;
    const char* en;
  };
  const std::vector<Row> rows = {
      {"0", "0 уроків", "0 уроков", "0 lessons"},     {"1", "1 урок", "1 урок", "1 lesson"},
      {"2", "2 уроки", "2 урока", "2 lessons"},       {"4", "4 уроки", "4 урока", "4 lessons"},
      {"5", "5 уроків", "5 уроков", "5 lessons"},     {"11", "11 уроків", "11 уроков", "11 lessons"},
      {"12", "12 уроків", "12 уроков", "12 lessons"}, {"14", "14 уроків", "14 уроков", "14 lessons"},
      {"21", "21 урок", "21 урок", "21 lessons"},     {"22", "22 уроки", "22 урока", "22 lessons"},
      {"25", "25 уроків", "25 уроков", "25 lessons"}, {"101", "101 урок", "101 урок", "101 lessons"},
      {"111", "111 уроків", "111 уроков", "111 lessons"},
      {"1.5", "1,5 уроки", "1,5 урока", "1.5 lessons"},
      {"-1", "-1 урок", "-1 урок", "-1 lesson"},
  };
  RenderOptions uk, ru, en;
  ru.locale = "ru";
  en.locale = "en";
  for (const auto& r : rows) {
    std::string n = r.n;
    EXPECT_EQ(render("{{" + n + " | plural: \"# урок\", \"# уроки\", \"# уроків\"}}", fixture(), uk), r.uk) << n;
    EXPECT_EQ(render("{{" + n + " | plural: \"# урок\", \"# урока\", \"# уроков\"}}", fixture(), ru), r.ru) << n;
    EXPECT_EQ(render("{{" + n + " | plural: \"# lesson\", \"# lessons\"}}", fixture(), en), r.en) << n;
    // The same from a JSON variable and from a numeric string.
    json::value v = json::parse("{\"n\": " + n + ", \"s\": \"" + n + "\"}");
    EXPECT_EQ(render("{{n | plural: \"# урок\", \"# уроки\", \"# уроків\"}}", v, uk), r.uk) << n;
    EXPECT_EQ(render("{{s | plural: \"# урок\", \"# уроки\", \"# уроків\"}}", v, uk), r.uk) << n;
  }
  EXPECT_EQ(render("{{lessons | size}} {{lessons | size | plural: \"урок\", \"уроки\", \"уроків\"}}"),
            "3 уроки");
  EXPECT_EQ(render("{{1000 | plural: \"# урок\", \"# уроки\", \"# уроків\"}}"), "1\u00a0000 уроків");
  // Two forms in uk: one / everything else.
  EXPECT_EQ(render("{{5 | plural: \"бал\", \"бали\"}}"), "бали");
  RenderReport rep;
  EXPECT_EQ(render("[{{name | plural: \"a\", \"b\"}}]", fixture(), {}, &rep), "[]");
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_EQ(rep.warnings[0], "line 1, column 11: plural: 'Іван' is not a number");
}

TEST(Template, UnknownLocaleWarnsOnceAndUsesEnglish) {
  RenderOptions o;
  o.locale = "de";
  RenderReport rep;
  EXPECT_EQ(render("{{1234 | number}} {{2 | plural: \"a\", \"b\"}} {{name}}", fixture(), o, &rep),
            "1,234 b Іван");
  EXPECT_EQ(rep.warnings, (std::vector<std::string>{"locale 'de' is not supported; using en"}));
}

TEST(Template, Dates) {
  RenderOptions kyiv;
  kyiv.time_zone = "Europe/Kyiv";
  kyiv.now = core::from_unix_ms(1795428000000);  // 2026-11-23T10:00:00Z
  RenderOptions ru = kyiv, en = kyiv;
  ru.locale = "ru";
  en.locale = "en";
  run_table(
      {
          {"{{ when | date: \"%d %B %Y, %H:%M\" }}", "23 листопада 2026, 12:00"},
          {"{{ when | date: \"%-d %B\" }}", "23 листопада"},
          {"{{ when | date: \"%B %Y\" }}", "листопад 2026"},
          {"{{ when | date: \"%A, %a, %b %d\" }}", "понеділок, пн, лист. 23"},
          {"{{ when | date: \"%e|%-d|%j|%y|%-m|%m|%Z|%z|%%|%S\" }}", "23|23|327|26|11|11|EET|+0200|%|00"},
          {"{{ when | date: \"%H:%M %Z\", \"UTC\" }}", "10:00 UTC"},
          {"{{ unix | date: \"%Y-%m-%d %H:%M:%S %Z\", \"America/New_York\" }}", "2026-11-23 05:00:00 EST"},
          {"{{ \"now\" | date: \"%H:%M\" }}", "12:00"},
          {"{{ \"2026-11-23T12:00:00+02:00\" | date: \"%H:%M\", \"UTC\" }}", "10:00"},
          {"{{ \"2026-03-06T10:00:00Z\" | date: \"%e %B\" }}", " 6 березня"},
          {"{{ \"2026-05-01T10:00:00Z\" | date: \"%A\" }}", "пʼятниця"},
          {"{{ 0 | date: \"%Y-%m-%d %H:%M\", \"UTC\" }}", "1970-01-01 00:00"},
          {"{{ -86400 | date: \"%Y-%m-%d %A\", \"UTC\" }}", "1969-12-31 середа"},
          {"{{ missing | date: \"%Y\" | default: \"—\" }}", "—"},
      },
      kyiv);
  run_table(
      {
          {"{{ when | date: \"%d %B %Y\" }}", "23 ноября 2026"},
          {"{{ when | date: \"%B %Y, %A\" }}", "ноябрь 2026, понедельник"},
          {"{{ \"2026-05-09T10:00:00Z\" | date: \"%d %b|%b\" }}", "09 мая|мая"},
          {"{{ \"2026-05-09T10:00:00Z\" | date: \"%b %Y\" }}", "май 2026"},
      },
      ru);
  run_table(
      {
          {"{{ when | date: \"%A, %B %-d, %Y\" }}", "Monday, November 23, 2026"},
          {"{{ when | date: \"%a %b\" }}", "Mon Nov"},
      },
      en);
}

TEST(Template, DatesAcrossDaylightSavingTransitions) {
  struct Row {
    const char* zone;
    const char* utc;
    const char* local;
  };
  for (const Row& r : std::vector<Row>{
           {"Europe/Kyiv", "2026-03-29T00:59:59Z", "2026-03-29 02:59:59 EET +0200"},
           {"Europe/Kyiv", "2026-03-29T01:00:00Z", "2026-03-29 04:00:00 EEST +0300"},
           {"Europe/Kyiv", "2026-10-25T00:59:59Z", "2026-10-25 03:59:59 EEST +0300"},
           {"Europe/Kyiv", "2026-10-25T01:00:00Z", "2026-10-25 03:00:00 EET +0200"},
           {"Europe/Kyiv", "1990-07-01T12:00:00Z", "1990-07-01 15:00:00 EEST +0300"},
           {"Europe/Kyiv", "2100-07-01T12:00:00Z", "2100-07-01 15:00:00 EEST +0300"},
           {"Europe/Kiev", "2026-07-01T12:00:00Z", "2026-07-01 15:00:00 EEST +0300"},
           {"America/New_York", "2026-03-08T06:59:59Z", "2026-03-08 01:59:59 EST -0500"},
           {"America/New_York", "2026-03-08T07:00:00Z", "2026-03-08 03:00:00 EDT -0400"},
           {"America/New_York", "2026-11-01T05:59:59Z", "2026-11-01 01:59:59 EDT -0400"},
           {"America/New_York", "2026-11-01T06:00:00Z", "2026-11-01 01:00:00 EST -0500"},
           {"America/New_York", "1970-01-01T00:00:00Z", "1969-12-31 19:00:00 EST -0500"},
           {"Australia/Sydney", "2026-04-04T15:59:59Z", "2026-04-05 02:59:59 AEDT +1100"},
           {"Australia/Sydney", "2026-04-04T16:00:00Z", "2026-04-05 02:00:00 AEST +1000"},
           {"Australia/Sydney", "2026-10-03T16:00:00Z", "2026-10-04 03:00:00 AEDT +1100"},
       }) {
    RenderOptions o;
    o.time_zone = r.zone;
    json::value v = {{"t", r.utc}};
    RenderReport rep;
    EXPECT_EQ(render("{{t | date: \"%Y-%m-%d %H:%M:%S %Z %z\"}}", v, o, &rep), r.local) << r.zone << " " << r.utc;
    EXPECT_TRUE(rep.warnings.empty()) << rep.warnings.front();
  }
}

TEST(Template, KnownTimeZones) {
  EXPECT_TRUE(templating::is_known_time_zone("UTC"));
  EXPECT_TRUE(templating::is_known_time_zone("Europe/Kyiv"));
  EXPECT_TRUE(templating::is_known_time_zone("America/New_York"));
  EXPECT_FALSE(templating::is_known_time_zone("Mars/Olympus"));
  EXPECT_FALSE(templating::is_known_time_zone("../../etc/passwd"));
  EXPECT_FALSE(templating::is_known_time_zone(""));
}

TEST(Template, DateProblemsAreWarnings) {
  RenderReport rep;
  EXPECT_EQ(render("[{{ name | date: \"%Y\" }}]", fixture(), {}, &rep), "[]");
  EXPECT_EQ(render("{{ when | date: \"%H:%M %Z\", \"Mars/Olympus\" }}", fixture(), {}, &rep), "10:00 UTC");
  RenderOptions o;
  o.time_zone = "../../etc/passwd";
  EXPECT_EQ(render("{{ when | date: \"%H:%M\" }}", fixture(), o, &rep), "10:00");
  EXPECT_EQ(render("[{{ 99999999999999 | date: \"%Y\" }}]", fixture(), {}, &rep), "[]");
  EXPECT_EQ(rep.warnings, (std::vector<std::string>{
                              "line 1, column 12: date: 'Іван' is not a time",
                              "line 1, column 11: date: unknown time zone 'Mars/Olympus'; using UTC",
                              "line 1, column 11: date: unknown time zone '../../etc/passwd'; using UTC",
                              "line 1, column 22: date: '99999999999999' is not a time",
                          }));
}

TEST(Template, CompileErrors) {
  struct Row {
    std::string source;
    std::string message;
  };
  const std::vector<Row> rows = {
      {"{{name", "line 1, column 1: '{{' is not closed"},
      {"ab\ncd {{{name}}", "line 2, column 11: '{{{' must be closed with '}}}'"},
      {"{{#if a}}x", "line 1, column 1: '{{#if}}' opened at line 1, column 1 is not closed"},
      {"<p>{{#if paid}}yes</p>", "line 1, column 4: '{{#if}}' opened at line 1, column 4 is not closed"},
      {"{{#each a}}\n  {{#unless b}}{{/unless}}\n  {{#if c}}\n{{/each}}",
       "line 4, column 1: '{{/each}}' does not close '{{#if}}' opened at line 3, column 3"},
      {"{{#each a}}\n  {{#if c}}{{/if}}\n", "line 1, column 1: '{{#each}}' opened at line 1, column 1 is not closed"},
      {"Привіт\n  {{#each lessons}}{{#if a}}x{{/each}}",
       "line 2, column 30: '{{/each}}' does not close '{{#if}}' opened at line 2, column 20"},
      {"{{/if}}", "line 1, column 1: '{{/if}}' closes no block"},
      {"a{{else}}b", "line 1, column 2: '{{else}}' outside a block"},
      {"{{ name | shout }}", "line 1, column 11: unknown filter 'shout'"},
      {"Шановний {{ імʼя | shout }}", "line 1, column 20: unknown filter 'shout'"},
      {"x\r\n{{ a | nope }}", "line 2, column 8: unknown filter 'nope'"},
      {"{{ name | truncate }}", "line 1, column 11: 'truncate' takes 1 argument, got 0"},
      {"{{ name | upper: 1 }}", "line 1, column 11: 'upper' takes no arguments, got 1"},
      {"{{ n | plural: \"a\" }}", "line 1, column 8: 'plural' takes 2 or 3 arguments, got 1"},
      {"{{ n | date: \"%Y\", \"UTC\", 1 }}", "line 1, column 8: 'date' takes 1 or 2 arguments, got 3"},
      {"{{ name | truncate: \"x\" }}", "line 1, column 21: 'truncate' needs a whole number of characters"},
      {"{{ name | truncate: -1 }}", "line 1, column 21: 'truncate' needs a whole number of characters"},
      {"{{ a | truncate: x }}", "line 1, column 18: 'truncate' takes literal arguments, not a variable"},
      {"{{ a | number: 11 }}", "line 1, column 16: 'number' needs a count of decimals from 0 to 10"},
      {"{{ name | date: \"%Q\" }}", "line 1, column 17: date: unknown directive '%Q'"},
      {"{{ name | date: \"%-B\" }}", "line 1, column 17: date: unknown directive '%-B'"},
      {"{{ name | date: \"%Y %\" }}", "line 1, column 17: date: '%' at the end of the format"},
      {"{{ a | date: \"%Y\", \"../etc/passwd\" }}",
       "line 1, column 20: date: '../etc/passwd' is not a time zone name"},
      {"{{ a | plural: \"a\", 2 }}", "line 1, column 21: 'plural' needs quoted word forms"},
      {"{{}}", "line 1, column 1: empty path"},
      {"{{ }}", "line 1, column 1: empty path"},
      {"{{ | upper }}", "line 1, column 1: empty path"},
      {"{{ a..b }}", "line 1, column 4: empty segment in path 'a..b'"},
      {"{{ a. }}", "line 1, column 4: empty segment in path 'a.'"},
      {"{{ a/b }}", "line 1, column 4: bad path 'a/b'"},
      {"{{@index}}", "line 1, column 3: '@index' outside '{{#each}}'"},
      {"{{ @foo }}", "line 1, column 4: unknown variable '@foo'"},
      {"{{#each xs}}{{@index.x}}{{/each}}", "line 1, column 15: '@index' has no fields"},
      {"{{#each xs}}{{../../a}}{{/each}}", "line 1, column 15: '../../a' goes above the root"},
      {"{{#each xs}}{{else}}{{@index}}{{/each}}", "line 1, column 23: '@index' outside '{{#each}}'"},
      {"{{#foo}}", "line 1, column 4: unknown block '#foo'"},
      {"{{/foo}}", "line 1, column 4: unknown block '/foo'"},
      {"{{#}}", "line 1, column 4: expected a block name after '#'"},
      {"{{/}}", "line 1, column 4: expected a block name after '/'"},
      {"{{#if}}{{/if}}", "line 1, column 6: '{{#if}}' needs a condition"},
      {"{{#if a}}{{else if}}{{/if}}", "line 1, column 19: '{{else if}}' needs a condition"},
      {"{{#each}}{{/each}}", "line 1, column 8: '{{#each}}' needs a list"},
      {"{{#if a > }}{{/if}}", "line 1, column 11: expected a value after '>'"},
      {"{{#if a = 1}}{{/if}}", "line 1, column 9: unexpected '=' (use '==')"},
      {"{{ a b }}", "line 1, column 6: unexpected 'b'"},
      {"{{ a ; }}", "line 1, column 6: unexpected ';'"},
      {"{{ 12abc }}", "line 1, column 4: bad number"},
      {"{{ name | default: \"x }}", "line 1, column 20: unterminated string"},
      {"{{ name | default: \"x\ny\" }}", "line 1, column 20: unterminated string"},
      {"{{#if a}}{{else}}{{else}}{{/if}}", "line 1, column 18: '{{else}}' after '{{else}}' in the same block"},
      {"{{#each xs}}{{else if a}}{{/each}}", "line 1, column 15: '{{else if}}' is not allowed in '{{#each}}'"},
      {"{{#if a}}{{/if x}}", "line 1, column 16: unexpected 'x'"},
      {"{{! never closed", "line 1, column 1: comment '{{!' is not closed"},
      {"{{!-- x }}", "line 1, column 1: comment '{{!--' is not closed"},
      {"{{{#if a}}}", "line 1, column 1: '{{{' can only output a value"},
      {"{{ a | }}", "line 1, column 8: expected a filter name after '|'"},
      {"{{ a | date: }}", "line 1, column 14: expected an argument for 'date'"},
      {"{{ a | 5 }}", "line 1, column 8: unexpected '5'"},
      {"{{ a | default: \"a very long default value that goes on\" \"x\" }}",
       "line 1, column 58: unexpected '\"x\"'"},
      {"{{ a | upper }}{{ b | upper:: }}", "line 1, column 29: unexpected ':'"},
      {"{{ this.a.verylongsegmentnameindeedthatkeepsgoingon. }}",
       "line 1, column 4: empty segment in path 'this.a.verylongsegmentnameindeed…'"},
  };
  for (const auto& r : rows) EXPECT_EQ(compile_error(r.source), r.message) << "source: " << r.source;
}

TEST(Template, InvalidUtf8) {
  EXPECT_EQ(compile_error("abc\n\xD0\x86\xFF" "def"), "line 2, column 2: invalid UTF-8");
  EXPECT_EQ(compile_error("\xC0\xAF"), "line 1, column 1: invalid UTF-8");         // overlong
  EXPECT_EQ(compile_error("ok \xED\xA0\x80"), "line 1, column 4: invalid UTF-8");  // surrogate
  EXPECT_EQ(compile_error("{{ \"\xF4\x90\x80\x80\" }}"), "line 1, column 5: invalid UTF-8");  // > U+10FFFF
  EXPECT_EQ(compile_error("Ї\xD0"), "line 1, column 2: invalid UTF-8");            // truncated
}

TEST(Template, NestingLimit) {
  std::string ok, too_deep;
  for (int i = 0; i < 32; ++i) ok += "{{#if yes}}";
  ok += "x";
  for (int i = 0; i < 32; ++i) ok += "{{/if}}";
  EXPECT_EQ(render(ok), "x");
  for (int i = 0; i < 33; ++i) too_deep += "{{#if a}}";
  EXPECT_EQ(compile_error(too_deep), "line 1, column 289: blocks nested deeper than 32");

  // Loops count too, and 32 nested loops render.
  std::string loops = "{{#each matrix}}";
  for (int i = 1; i < 32; ++i) loops += "{{#each @root.empty_list}}";
  for (int i = 0; i < 32; ++i) loops += "{{/each}}";
  EXPECT_EQ(render(loops), "");
}

TEST(Template, SizeLimit) {
  std::string source(size_t(1) << 20, 'a');
  auto t = Template::compile(source);
  ASSERT_TRUE(t);
  source.push_back('a');
  EXPECT_EQ(compile_error(source), "line 1, column 1: the template is larger than 1 MiB (1048577 bytes)");
}

TEST(Template, RunawayRenderStops) {
  // 3^20 iterations would take hours; the step budget stops it.
  std::string src;
  for (int i = 0; i < 20; ++i) src += "{{#each @root.lessons}}";
  src += "x";
  for (int i = 0; i < 20; ++i) src += "{{/each}}";
  RenderReport rep;
  std::string out = render(src, fixture(), {}, &rep);
  EXPECT_LT(out.size(), size_t(1) << 23);
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_EQ(rep.warnings[0], "rendering stopped: the template is too expensive for these variables");
}

TEST(Template, ConcurrentRenders) {
  auto t = Template::compile(
      "{{#each lessons}}{{@number}}. {{title | upper}} {{minutes | plural: \"# хвилина\", \"# хвилини\", "
      "\"# хвилин\"}}\n{{/each}}{{when | date: \"%d %B\", \"Europe/Kyiv\"}}");
  ASSERT_TRUE(t);
  std::string expected;
  t->render(fixture(), {}, expected, nullptr);
  EXPECT_EQ(expected, "1. ВСТУП 45 хвилин\n2. ГРАМАТИКА 60 хвилин\n3. ПРАКТИКА 90 хвилин\n23 листопада");
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      Template copy = *t;
      for (int i = 0; i < 500; ++i) {
        std::string out;
        copy.render(fixture(), {}, out, nullptr);
        bad[size_t(k)] += out != expected;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, (std::vector<int>{0, 0, 0, 0}));
}

TEST(Template, NonObjectVariables) {
  EXPECT_EQ(render("[{{a}}]{{#each this}}{{this}}{{/each}}", json::parse("[1,2]")), "[]12");
  EXPECT_EQ(render("[{{a}}]", json::value()), "[]");
}

}  // namespace
