// tests/integration/mime_python_test.cpp: templating::compose() checked by an
// independent parser. A table of messages (Cyrillic and emoji in names and
// subjects, 300-character subjects, 2,000-octet lines without spaces, lines
// starting with ".", empty bodies, every body combination, bulk headers) is
// composed, written to a temporary directory and read back by ONE
// /usr/bin/python3 process running tests/integration/mime_check.py, which
// uses email.message_from_bytes(policy=email.policy.default). We assert that
// headers decode to the original Unicode, bodies decode to the original text
// (line ends normalised to LF), the parts are as expected and Python reports
// no defect at all.
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "templating/mime.h"
#include "templating/token.h"

namespace {

using templating::ComposeOptions;
using templating::EmailParts;
using templating::Mailbox;

constexpr const char* kPython = "/usr/bin/python3";

std::string source_dir() {
  if (const char* env = std::getenv("VESTNIK_SOURCE_DIR"); env && *env) return env;
#ifdef VESTNIK_SOURCE_DIR
  return VESTNIK_SOURCE_DIR;
#else
  return ".";
#endif
}

// A fresh directory under $TMPDIR, removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vestnik-mime-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs argv, returns its stdout (stderr passes through to the test log),
// waits for it, and stores the exit status.
std::string run_capture(const std::vector<std::string>& argv, int* status) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int st = -1;
  if (pid > 0) {
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  *status = st;
  return out;
}

std::string lf(std::string_view s) {
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

// What a header value should decode to: controls become spaces, the ends
// are trimmed (compose's documented sanitising).
std::string sanitised(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7F ? ' ' : c);
  }
  size_t b = out.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  return out.substr(b, out.find_last_not_of(' ') - b + 1);
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

struct Case {
  std::string name;
  EmailParts parts;
  ComposeOptions options;
};

ComposeOptions base_options(int i) {
  ComposeOptions o;
  o.from = {"Вчися.UA", "noreply@mail.vchysia.example"};
  o.to = {"Іван Петренко", "ivan.petrenko@example.org"};
  o.message_id = templating::make_message_id("01JD3M6X5N8Q2ZK4Y7W9B0C" + std::to_string(100 + i), "mail.vchysia.example");
  o.date = core::from_unix_ms(1'790'000'000'000 + i * 1000LL);
  o.trace_value = "01JD3M6X5N8Q2ZK4Y7W9B0C" + std::to_string(100 + i);
  return o;
}

std::vector<Case> make_cases() {
  std::vector<Case> cases;
  auto add = [&](std::string name, EmailParts p, std::function<void(ComposeOptions&)> tweak = {}) {
    ComposeOptions o = base_options(static_cast<int>(cases.size()));
    if (tweak) tweak(o);
    cases.push_back({std::move(name), std::move(p), std::move(o)});
  };
  const std::string uk_text =
      "Іване, вітаємо!\n\nВаше замовлення №1842 оплачено. Курс «Англійська для початківців» — 5 уроків.\n"
      "Перший урок: 24 листопада о 09:00 (Київ).\n\nЗ повагою,\nкоманда Вчися.UA 🎓\n";
  const std::string uk_html =
      "<!doctype html>\n<html><body style=\"margin:0\">\n<h1>Іване, вітаємо!</h1>\n"
      "<p>Ваше замовлення <b>№1842</b> оплачено.</p>\n<p><a href=\"https://vchysia.example/orders/1842?utm=a&amp;b=c\">"
      "Переглянути замовлення</a></p>\n</body></html>\n";

  {
    EmailParts p;
    p.subject = "Іване, ваше замовлення №1842 оплачено 🎉";
    p.text = uk_text;
    p.html = uk_html;
    p.preheader = "Перший урок уже 24 листопада";
    add("cyrillic_both_bulk", p, [](ComposeOptions& o) {
      std::string token = templating::seal_token("key", {"market", o.to.address, "promo"});
      o.list_unsubscribe = templating::ListUnsubscribe{"https://vchysia.example/u/" + token,
                                                      "mailto:unsubscribe@vchysia.example?subject=" + token};
      o.feedback_id = "autumn24:promo:market:vchysia01";
      o.reply_to = Mailbox{"Служба підтримки", "support@vchysia.example"};
    });
  }
  {
    EmailParts p;
    std::string s = "Розпродаж курсів: ";
    while (s.size() < 300) s += "англійська, німецька, польська 🇺🇦 та інші мови зі знижкою 50% ";
    p.subject = s;
    p.text = "Короткий текст.\n";
    add("subject_300_bytes_plus", p);
  }
  {
    EmailParts p;
    p.subject = "Ваш розклад";
    p.subject += " " + repeat("урок", 80);  // one 640-byte word
    p.text = std::string(2000, 'x') + "\n" + repeat("щ", 1000) + "\nend\n";
    p.html = "<p>" + std::string(2000, 'y') + "</p><p>" + repeat("ї", 1500) + "</p>";
    add("long_lines_without_spaces", p);
  }
  {
    EmailParts p;
    p.subject = "Long ASCII lines";
    p.text = "short\n" + std::string(2000, 'a') + "\nend\n";
    p.html = "<p>" + std::string(5000, 'q') + "</p>";
    add("long_ascii_lines_without_spaces", p);
  }
  {
    EmailParts p;
    p.subject = "Dot lines";
    p.text = ".\n..\n.leading dot\nFrom the team\n. \nmiddle . dot\n.";
    p.html = ".<p>dot first</p>\n.\n";
    add("lines_starting_with_dot", p);
  }
  {
    EmailParts p;
    p.subject = "Empty";
    add("empty_bodies", p);
  }
  {
    EmailParts p;
    p.subject = "Лише HTML";
    p.html = uk_html;
    add("html_only", p);
  }
  {
    EmailParts p;
    p.subject = "Plain ASCII text only";
    p.text = "Hello,\n\nyour lesson starts at 09:00.\n";
    add("text_only_ascii", p, [](ComposeOptions& o) { o.to = {"", "student@example.org"}; });
  }
  {
    EmailParts p;
    p.subject = "😀🎉👩‍🏫🇺🇦 " + repeat("😀", 30) + " кінець";
    p.text = repeat("😀", 200) + "\n";
    add("emoji_everywhere", p, [](ComposeOptions& o) {
      o.from = {"🎓 " + repeat("😀", 25), "emoji@vchysia.example"};
      o.to = {"Олена 👩‍🏫 Коваленко", "olena@example.org"};
    });
  }
  {
    EmailParts p;
    p.subject = "Quoted names";
    p.text = "x\n";
    add("ascii_specials_in_names", p, [](ComposeOptions& o) {
      o.from = {"Smith, John \"JJ\" (teacher) \\o/", "john.smith@example.com"};
      o.to = {"J. R. R. Tolkien", "tolkien@example.com"};
      o.reply_to = Mailbox{"Support Team", "help@example.com"};
    });
  }
  {
    EmailParts p;
    p.subject = "Spaces  are   kept  in    a long subject that goes on and on and must be folded somewhere sensible";
    p.text = "x\n";
    add("ascii_long_subject_spaces", p);
  }
  {
    EmailParts p;
    p.subject = "Injected\r\nBcc: victim@example.com\r\nX-Evil: 1";
    p.text = "body\n";
    add("injection_in_subject_and_headers", p, [](ComposeOptions& o) {
      o.to.name = "Name\r\nCc: victim@example.com";
      o.extra_headers = {{"X-Campaign", "spring\nBcc: x@example.com"}};
    });
  }
  {
    EmailParts p;
    p.subject = "No final newline";
    p.text = "no newline at the end";
    add("text_only_without_final_newline", p);
  }
  {
    EmailParts p;
    p.subject = "No final newline, multipart";
    p.text = "Текст без переносу в кінці";
    p.html = "<p>no newline</p>";
    add("multipart_without_final_newline", p);
  }
  {
    EmailParts p;
    p.subject = "Anmeldebestätigung für Ihren Kurs";
    p.text = "Sehr geehrte Frau Müller,\n\nIhre Anmeldung für den Kurs ist bestätigt. Wir freuen uns auf Sie.\n"
             "Die erste Stunde beginnt am 24. November um 9 Uhr; bitte bringen Sie Ihr Lehrbuch mit.\n";
    add("mostly_ascii_quoted_printable", p, [](ComposeOptions& o) {
      o.to = {"Schöneberg Sprachschule GmbH", "info@example.de"};
    });
  }
  {
    EmailParts p;
    p.subject = "QP lookalikes";
    // Mostly ASCII with one accent: quoted-printable. Every '=' here would
    // decode to something else if it were not escaped (a lenient decoder
    // keeps "=\"" as it is, so those prove nothing).
    p.text = "Café: a=41, b=3D, c=20, soft=\nnext line ends with =\n=0D=0A\ttab at end\t\n";
    p.html = "<p style=\"x\">=C3=A9 é</p>=";
    add("quoted_printable_lookalikes", p);
  }
  {
    EmailParts p;
    p.subject = "=?UTF-8?B?0J/RgNC40LLRltGC?= is not decoded";
    p.text = "x\n";
    add("encoded_word_lookalikes", p, [](ComposeOptions& o) { o.from.name = "=?UTF-8?Q?fake?="; });
  }
  {
    EmailParts p;
    p.subject = "CR only";
    p.text = "line one\rline two\rline three\r";
    p.html = "<p>a</p>\r<p>b</p>\r\n<p>c</p>\n";
    add("mixed_line_endings", p);
  }
  {
    EmailParts p;
    p.subject = "Довге ім'я";
    p.text = "x\n";
    add("long_cyrillic_display_name", p, [](ComposeOptions& o) {
      o.from = {"Олена Петренко — викладачка англійської мови, авторка курсу «Англійська для початківців»",
                "olena@vchysia.example"};
    });
  }
  return cases;
}

TEST(MimePython, IndependentParserAgrees) {
  ASSERT_EQ(access(kPython, X_OK), 0) << kPython << " is required (Debian python3)";
  std::string script = source_dir() + "/tests/integration/mime_check.py";
  ASSERT_TRUE(std::filesystem::exists(script)) << script;

  std::vector<Case> cases = make_cases();
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::map<std::string, const Case*> by_file;
  std::map<std::string, std::string> raw_by_file;
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string msg;
    auto st = templating::compose(cases[i].parts, cases[i].options, msg);
    ASSERT_TRUE(st) << cases[i].name << ": " << st.error().to_string();
    char file[64];
    std::snprintf(file, sizeof file, "%03zu_%s.eml", i, cases[i].name.c_str());
    std::ofstream(dir.path() + "/" + file, std::ios::binary) << msg;
    by_file[file] = &cases[i];
    raw_by_file[file] = msg;
  }

  int status = -1;
  std::string out = run_capture({kPython, script, dir.path()}, &status);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "mime_check.py failed, status " << status;

  size_t seen = 0;
  size_t start = 0;
  while (start < out.size()) {
    size_t eol = out.find('\n', start);
    std::string line = out.substr(start, eol - start);
    start = eol == std::string::npos ? out.size() : eol + 1;
    if (line.empty()) continue;
    boost::json::object r = boost::json::parse(line).as_object();
    std::string file(r.at("file").as_string());
    ASSERT_TRUE(by_file.count(file)) << file;
    const Case& c = *by_file[file];
    SCOPED_TRACE(c.name);
    ++seen;
    ASSERT_FALSE(r.contains("error")) << r.at("error").as_string();

    // Zero defects, anywhere.
    EXPECT_TRUE(r.at("defects").as_array().empty()) << boost::json::serialize(r.at("defects"));

    // Line rules, as Python saw the bytes.
    const auto& lines = r.at("lines").as_object();
    EXPECT_LE(lines.at("max_line").as_int64(), 998);
    EXPECT_EQ(lines.at("bare_cr_lf").as_int64(), 0);
    EXPECT_TRUE(lines.at("ends_crlf").as_bool());
    EXPECT_FALSE(lines.at("eight_bit").as_bool());
    // Header lines: 78 at most, except List-Unsubscribe, whose URIs are never
    // folded inside their <...> (one-click clients must see them whole).
    const std::string& raw = raw_by_file[file];
    std::string_view head = std::string_view(raw).substr(0, raw.find("\r\n\r\n"));
    bool in_list_unsubscribe = false;
    for (size_t s = 0; s <= head.size();) {
      size_t e = head.find("\r\n", s);
      std::string_view l = head.substr(s, e == std::string_view::npos ? std::string_view::npos : e - s);
      if (l[0] != ' ') in_list_unsubscribe = l.substr(0, 17) == "List-Unsubscribe:";
      if (!in_list_unsubscribe) {
        EXPECT_LE(l.size(), 78u) << l;
      }
      if (e == std::string_view::npos) break;
      s = e + 2;
    }

    // Headers decode to the original Unicode.
    EXPECT_EQ(std::string(r.at("subject").as_string()), sanitised(c.parts.subject));
    auto check_mailbox = [&](const char* key, const Mailbox& m) {
      const auto& list = r.at(key).as_array();
      ASSERT_EQ(list.size(), 1u) << key;
      std::string name(list[0].at("name").as_string());
      std::string expected = sanitised(m.name);
      EXPECT_EQ(std::string(list[0].at("address").as_string()), m.address) << key;
      std::string folded = templating::encode_mailbox(key, m);
      size_t words = 0;
      for (size_t at = folded.find("=?UTF-8?"); at != std::string::npos; at = folded.find("=?UTF-8?", at + 1)) ++words;
      if (words <= 1) {
        EXPECT_EQ(name, expected) << key;
        return;
      }
      // Several encoded-words: exact under RFC 2047 §6.2 decoding, and
      // policy.default differs at most by a space per word boundary
      // (CPython gh-128110, see mime_check.py).
      EXPECT_EQ(std::string(list[0].at("rfc2047").as_string()), expected + " <" + m.address + ">") << key;
      size_t i = 0, extra = 0;
      for (char ch : name) {
        if (i < expected.size() && expected[i] == ch) {
          ++i;
        } else if (ch == ' ') {
          ++extra;
        } else {
          break;
        }
      }
      EXPECT_EQ(i, expected.size()) << key << ": " << name;
      EXPECT_LE(extra, words - 1) << key << ": " << name;
    };
    check_mailbox("from", c.options.from);
    check_mailbox("to", c.options.to);
    if (c.options.reply_to) {
      check_mailbox("reply_to", *c.options.reply_to);
    } else {
      EXPECT_TRUE(r.at("reply_to").is_null());
    }
    EXPECT_EQ(std::string(r.at("message_id").as_string()), c.options.message_id);

    const auto& headers = r.at("headers").as_object();
    auto header = [&](const char* name) -> std::optional<std::string> {
      if (!headers.contains(name)) return std::nullopt;
      const auto& values = headers.at(name).as_array();
      EXPECT_EQ(values.size(), 1u) << name << " appears more than once";
      return std::string(values[0].as_string());
    };
    EXPECT_FALSE(headers.contains("Bcc"));
    EXPECT_FALSE(headers.contains("Cc"));
    EXPECT_FALSE(headers.contains("X-Evil"));
    EXPECT_EQ(header("MIME-Version"), "1.0");
    EXPECT_EQ(header("X-Vestnik-Id"), c.options.trace_value);
    for (const auto& [name, value] : c.options.extra_headers) EXPECT_EQ(header(name.c_str()), sanitised(value));
    if (c.options.feedback_id.empty()) {
      EXPECT_FALSE(headers.contains("Feedback-ID"));
    } else {
      EXPECT_EQ(header("Feedback-ID"), c.options.feedback_id);
    }
    if (c.options.list_unsubscribe) {
      EXPECT_EQ(header("List-Unsubscribe"), "<" + c.options.list_unsubscribe->https_url + ">, <" +
                                                c.options.list_unsubscribe->mailto + ">");
      EXPECT_EQ(header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    } else {
      EXPECT_FALSE(headers.contains("List-Unsubscribe"));
      EXPECT_FALSE(headers.contains("List-Unsubscribe-Post"));
    }

    // Parts, charsets and decoded bodies.
    std::string html = c.parts.html;
    if (!html.empty() && !c.parts.preheader.empty()) html = templating::insert_preheader(html, c.parts.preheader);
    std::vector<std::pair<std::string, std::string>> expected;  // content type, body
    if (!c.parts.text.empty() || c.parts.html.empty()) expected.emplace_back("text/plain", c.parts.text);
    if (!html.empty()) expected.emplace_back("text/html", html);
    EXPECT_EQ(std::string(r.at("content_type").as_string()),
              expected.size() == 2 ? "multipart/alternative" : expected[0].first);
    const auto& parts = r.at("parts").as_array();
    ASSERT_EQ(parts.size(), expected.size());
    for (size_t i = 0; i < parts.size(); ++i) {
      const auto& part = parts[i].as_object();
      EXPECT_EQ(std::string(part.at("content_type").as_string()), expected[i].first);
      EXPECT_EQ(std::string(part.at("charset").as_string()), "utf-8");
      EXPECT_EQ(lf(part.at("body").as_string()), lf(expected[i].second))
          << "part " << i << " cte " << part.at("cte").as_string();
    }
    if (!c.parts.preheader.empty()) {
      EXPECT_NE(lf(parts.back().at("body").as_string()).find(c.parts.preheader), std::string::npos);
    }
  }
  EXPECT_EQ(seen, cases.size()) << "python reported fewer messages than were written:\n" << out;
}

}  // namespace
