// tests/integration/dkim_verifiers_itest.cpp: what vestnik signs, checked by
// two independent verifiers, dkimpy (python3-dkim) and OpenDKIM (opendkim -t).
//
// A corpus of messages (templating::compose() output with Cyrillic
// encoded-words, long folded headers and multipart bodies, plus hand-written
// edge cases: empty body, no body separator, trailing blank lines,
// whitespace runs, dot lines, 8-bit UTF-8, very long lines, duplicate
// headers, obsolete "Name :" syntax) is signed with dkim::Signer using
// RSA-2048 and Ed25519 keys made once per run, under all four
// canonicalization pairs, with the default header lists, and dual-signed
// (Ed25519 field above the RSA field). Tampered copies (a body byte, the
// Subject) must fail in both verifiers; a copy with an added unsigned header
// must still pass.
//
// dkimpy runs ONCE over the whole corpus (tests/integration/dkim_check.py
// reads a JSON manifest and serves the test keys through dnsfunc). OpenDKIM
// runs once per file (about 12 ms each) as `opendkim -vv -x CONF -t FILE`,
// CONF naming a TestPublicKeys file. Its exit status is 0 whether a
// signature passes or fails, so the test reads its output (found by
// experiment with OpenDKIM 2.11.0~beta2, Debian 12):
//   pass:  "opendkim: F: verification (s=SEL, d=DOM, 2048-bit key) succeeded"
//   fail:  "opendkim: F: verification (s=SEL d=DOM, 2048-bit key, unknown) failed: signature verification failed"
//   none:  "opendkim: F: message not signed"
// That summary line names one signature only; with -vv OpenDKIM also prints
// the Authentication-Results field it would add, one "dkim=pass|fail ...
// header.a=ALG header.s=SEL" entry per signature:
//   ### INSHEADER: idx=0 hname='Authentication-Results' hvalue='DEBUG-j;
//     dkim=pass header.d=... header.a=ed25519-sha256 header.s=ed1 header.b=CDJHC+kE;
//     dkim=pass (2048-bit key) header.d=... header.a=rsa-sha256 header.s=rsa1 header.b=dxUNznVs;
// and the test checks every entry. OpenDKIM 2.11 verifies ed25519-sha256
// (`opendkim -V` lists it; "0-bit key" in its log is how it sizes Ed25519
// keys), so both algorithms are asserted in both verifiers.
//
// Where a verifier cannot read a message (found by experiment, see
// Signed::dkimpy_parses and Signed::opendkim_checks), the other one still
// checks it: dkimpy refuses obsolete "To : x" fields, and `opendkim -t`
// rebuilds each field as "Name: value" before simple header
// canonicalization, so it cannot check fields like "To:x" under c=simple/*.
//
// The CLI test runs the real binary: `vestnik dkim keygen` (rsa, ed25519),
// `dkim sign` of a file with LF line ends, `dkim verify --txt` (and dkimpy,
// OpenDKIM) of its output, and `dkim verify` of a tampered copy (exit 1).
//
// Every subprocess runs under `timeout 30`; temporary directories are
// removed at the end; nothing touches the network.
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "dkim/dkim.h"
#include "templating/mime.h"

namespace {

constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kOpendkim = "/usr/sbin/opendkim";
constexpr const char* kTimeout = "/usr/bin/timeout";
constexpr const char* kDomain = "mail.vchysia.example";
constexpr const char* kRsaSelector = "rsa2048";
constexpr const char* kEdSelector = "ed25519";

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
    std::string tmpl = (std::filesystem::temp_directory_path() / "vestnik-dkim-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

struct RunResult {
  int status = -1;  // waitpid status
  std::string out;  // stdout (and stderr when merged)
  bool exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// Runs `timeout 30 argv...`, capturing stdout (and stderr with
// `merge_stderr`; otherwise stderr passes through to the test log).
RunResult run(std::vector<std::string> argv, bool merge_stderr = false) {
  argv.insert(argv.begin(), {kTimeout, "30"});
  RunResult r;
  int fds[2];
  if (pipe(fds) != 0) return r;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    if (merge_stderr) dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[65536];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      r.out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  if (pid > 0) {
    while (waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
    }
  }
  return r;
}

void write_file(const std::string& path, std::string_view data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// "a\nb\n" -> "a\r\nb\r\n" (readable literals for hand-written messages).
std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

// Joins a zone-file TXT value ("\"a\" \"b\"") into one string ("ab").
std::string unquote_txt(std::string_view txt) {
  std::string out;
  bool in = false;
  for (char c : txt) {
    if (c == '"') {
      in = !in;
    } else if (in) {
      out.push_back(c);
    }
  }
  return out;
}

int64_t now_unix() { return static_cast<int64_t>(std::time(nullptr)); }

// ---------------------------------------------------------------------------
// The two verifiers.

// One signature as a verifier reported it.
struct SigResult {
  std::string selector;
  std::string algorithm;
  bool pass = false;
  std::string detail;
};

// dkim_check.py over `files` (in `dir`), keys as "sel._domainkey.dom" -> record.
// Returns file -> per-signature results (top first); `count` gets the number
// of DKIM-Signature fields dkimpy saw.
std::map<std::string, std::pair<size_t, std::vector<SigResult>>> run_dkimpy(
    const std::string& dir, const std::map<std::string, std::string>& keys, const std::vector<std::string>& files) {
  std::map<std::string, std::pair<size_t, std::vector<SigResult>>> out;
  boost::json::object manifest;
  manifest["dir"] = dir;
  boost::json::object k;
  for (const auto& [name, value] : keys) k[name] = value;
  manifest["keys"] = std::move(k);
  boost::json::array f;
  for (const auto& file : files) f.emplace_back(file);
  manifest["files"] = std::move(f);
  const std::string manifest_path = dir + "/manifest.json";
  write_file(manifest_path, boost::json::serialize(manifest));

  RunResult r = run({kPython, source_dir() + "/tests/integration/dkim_check.py", manifest_path});
  EXPECT_TRUE(r.exited_ok()) << "dkim_check.py failed, status " << r.status << "\n" << r.out;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "dkim_check.py printed: " << line;
      continue;
    }
    const auto& o = v.as_object();
    auto& entry = out[std::string(o.at("file").as_string())];
    entry.first = static_cast<size_t>(o.at("count").as_int64());
    if (o.contains("error")) ADD_FAILURE() << o.at("file").as_string() << ": " << o.at("error").as_string();
    for (const auto& rv : o.at("results").as_array()) {
      const auto& ro = rv.as_object();
      entry.second.push_back({std::string(ro.at("s").as_string()), std::string(ro.at("a").as_string()),
                              ro.at("pass").as_bool(), std::string(ro.at("error").as_string())});
    }
  }
  return out;
}

struct OpendkimReport {
  RunResult run;
  std::vector<SigResult> sigs;  // from the Authentication-Results field, in its order
  bool summary_succeeded = false;
  bool summary_failed = false;
  bool not_signed = false;
  std::string brief;  // the output without the milter callback trace, for failure messages
};

// `opendkim -vv -x conf -t file`, parsed (see the comment at the top).
OpendkimReport run_opendkim(const std::string& conf, const std::string& file) {
  OpendkimReport rep;
  rep.run = run({kOpendkim, "-vv", "-x", conf, "-t", file}, /*merge_stderr=*/true);
  const std::string& out = rep.run.out;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(" returned SMFIS_") == std::string::npos) rep.brief += line + "\n";
    if (line.find(": verification (") != std::string::npos) {
      if (line.find(") succeeded") != std::string::npos) rep.summary_succeeded = true;
      if (line.find(") failed") != std::string::npos) rep.summary_failed = true;
    }
    if (line.find(": message not signed") != std::string::npos) rep.not_signed = true;
  }
  const size_t ar = out.find("hname='Authentication-Results' hvalue='");
  if (ar == std::string::npos) return rep;
  const size_t end = out.find('\'', ar + 40);
  const std::string value = out.substr(ar + 40, end == std::string::npos ? std::string::npos : end - ar - 40);
  // Entries are separated by ';'; a dkim= entry starts (after FWS) with "dkim=".
  auto tag = [](std::string_view entry, std::string_view name) {
    size_t p = entry.find(name);
    if (p == std::string_view::npos) return std::string();
    p += name.size();
    size_t e = entry.find_first_of(" \t\r\n;", p);
    return std::string(entry.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p));
  };
  size_t pos = 0;
  while (pos < value.size()) {
    size_t semi = value.find(';', pos);
    std::string_view entry = std::string_view(value).substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
    pos = semi == std::string::npos ? value.size() : semi + 1;
    size_t s = entry.find_first_not_of(" \t\r\n");
    if (s == std::string_view::npos) continue;
    entry.remove_prefix(s);
    if (!entry.starts_with("dkim=")) continue;
    SigResult r;
    r.pass = tag(entry, "dkim=") == "pass";
    r.algorithm = tag(entry, "header.a=");
    r.selector = tag(entry, "header.s=");
    r.detail = std::string(entry);
    rep.sigs.push_back(std::move(r));
  }
  return rep;
}

// ---------------------------------------------------------------------------
// The corpus.

struct Message {
  std::string name;
  std::string text;  // CRLF, unsigned
};

templating::ComposeOptions compose_options(int i) {
  templating::ComposeOptions o;
  o.from = {"Вчися.UA", "noreply@mail.vchysia.example"};
  o.to = {"Іван Петренко", "ivan.petrenko@example.org"};
  o.message_id = templating::make_message_id("01JD3M6X5N8Q2ZK4Y7W9B0C" + std::to_string(100 + i), kDomain);
  o.date = core::from_unix_ms(1'790'000'000'000 + i * 1000LL);
  o.trace_value = "01JD3M6X5N8Q2ZK4Y7W9B0C" + std::to_string(100 + i);
  return o;
}

// Messages as vestnik composes them (the shapes of mime_python_test.cpp).
std::vector<Message> composed_messages() {
  std::vector<Message> out;
  auto add = [&](std::string name, const templating::EmailParts& p,
                 std::function<void(templating::ComposeOptions&)> tweak = {}) {
    templating::ComposeOptions o = compose_options(static_cast<int>(out.size()));
    if (tweak) tweak(o);
    std::string msg;
    auto st = templating::compose(p, o, msg);
    EXPECT_TRUE(st) << name << ": " << st.error().to_string();
    out.push_back({"composed_" + name, std::move(msg)});
  };
  const std::string uk_text =
      "Іване, вітаємо!\n\nВаше замовлення №1842 оплачено. Курс «Англійська для початківців» — 5 уроків.\n"
      "Перший урок: 24 листопада о 09:00 (Київ).\n\nЗ повагою,\nкоманда Вчися.UA 🎓\n";
  const std::string uk_html =
      "<!doctype html>\n<html><body style=\"margin:0\">\n<h1>Іване, вітаємо!</h1>\n"
      "<p>Ваше замовлення <b>№1842</b> оплачено.</p>\n<p><a href=\"https://vchysia.example/orders/1842?utm=a&amp;b=c\">"
      "Переглянути замовлення</a></p>\n</body></html>\n";
  {
    templating::EmailParts p;
    p.subject = "Іване, ваше замовлення №1842 оплачено 🎉";
    p.text = uk_text;
    p.html = uk_html;
    p.preheader = "Перший урок уже 24 листопада";
    add("cyrillic_multipart_bulk", p, [](templating::ComposeOptions& o) {
      o.list_unsubscribe = templating::ListUnsubscribe{"https://vchysia.example/u/AbCdEf0123456789",
                                                      "mailto:unsubscribe@vchysia.example?subject=AbCdEf0123456789"};
      o.feedback_id = "autumn24:promo:market:vchysia01";
      o.reply_to = templating::Mailbox{"Служба підтримки", "support@vchysia.example"};
    });
  }
  {
    templating::EmailParts p;
    std::string s = "Розпродаж курсів: ";
    while (s.size() < 300) s += "англійська, німецька, польська 🇺🇦 та інші мови зі знижкою 50% ";
    p.subject = s;
    p.text = "Короткий текст.\n";
    add("long_cyrillic_subject", p, [](templating::ComposeOptions& o) {
      o.from = {"Олена Петренко — викладачка англійської мови, авторка курсу «Англійська для початківців»",
                "olena@vchysia.example"};
    });
  }
  {
    templating::EmailParts p;
    p.subject = "Ваш розклад " + repeat("урок", 80);
    p.text = std::string(2000, 'x') + "\n" + repeat("щ", 1000) + "\nend\n";
    p.html = "<p>" + std::string(2000, 'y') + "</p><p>" + repeat("ї", 1500) + "</p>";
    add("long_lines_without_spaces", p);
  }
  {
    templating::EmailParts p;
    p.subject = "Dot lines";
    p.text = ".\n..\n.leading dot\nFrom the team\n. \nmiddle . dot\n.";
    p.html = ".<p>dot first</p>\n.\n";
    add("dot_lines", p);
  }
  {
    templating::EmailParts p;
    p.subject = "Empty";
    add("empty_bodies", p);
  }
  {
    templating::EmailParts p;
    p.subject = "Spaces  are   kept  in    a long subject that goes on and on and must be folded somewhere sensible";
    p.text = "Sehr geehrte Frau Müller,\n\nIhre Anmeldung ist bestätigt.\ttab\t\nnext line ends with =\n";
    add("ascii_subject_spaces_qp_body", p, [](templating::ComposeOptions& o) {
      o.to = {"Schöneberg Sprachschule GmbH", "info@example.de"};
    });
  }
  {
    templating::EmailParts p;
    p.subject = "😀🎉👩‍🏫🇺🇦 " + repeat("😀", 30) + " кінець";
    p.text = repeat("😀", 200) + "\n";
    p.html = "<p>" + repeat("😀", 100) + "</p>";
    add("emoji_everywhere", p, [](templating::ComposeOptions& o) {
      o.from = {"🎓 " + repeat("😀", 25), "emoji@vchysia.example"};
      o.to = {"Олена 👩‍🏫 Коваленко", "olena@example.org"};
    });
  }
  return out;
}

// Hand-written edge cases (CRLF line ends; each ends with CRLF).
std::vector<Message> handwritten_messages() {
  const std::string head =
      "From: Sender <sender@mail.vchysia.example>\n"
      "To: rcpt@example.org\n"
      "Subject: edge case\n"
      "Date: Thu, 01 Oct 2026 10:00:00 +0000\n"
      "Message-ID: <edge@mail.vchysia.example>\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=us-ascii\n";
  std::vector<Message> out;
  auto add = [&](std::string name, std::string text) { out.push_back({"hand_" + std::move(name), crlf(text)}); };
  add("empty_body", head + "\n");
  add("no_body_separator", head);
  add("only_empty_lines", head + "\n\n\n\n");
  add("trailing_blank_lines", head + "\ntext\n\n\n\n");
  add("whitespace_only_body", head + "\n   \n\t\n \t \n");
  add("whitespace_runs",
      "From: Sender  <sender@mail.vchysia.example>   \n"
      "To: rcpt@example.org \t\n"
      "Subject: lots   of\t\twhite   space \t \n"
      "\t  continued  \t\n"
      "Date: Thu, 01 Oct 2026 10:00:00 +0000\n"
      "\n"
      "a  b\t\tc   \n \t \n\tindented\ntrailing tab\t\n  \nend  \t\n \n\t\n");
  // Anything but one SP after the colon: see Signed::opendkim_checks.
  add("odd_space_after_colon",
      "From:\tSender <sender@mail.vchysia.example>\n"
      "To:rcpt@example.org\n"
      "Subject:   three spaces\n"
      "\n"
      "body\n");
  add("dot_lines", head + "\n.\n..\n.leading dot\n. \n...\nend\n.\n");
  add("utf8_8bit_body",
      "From: Sender <sender@mail.vchysia.example>\n"
      "To: rcpt@example.org\n"
      "Subject: 8bit\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: 8bit\n"
      "\n"
      "Іване, вітаємо! Ваше замовлення №1842 оплачено.  Курс «Англійська» — 5 уроків 🎓\n"
      "Ü ö ä ß — „Anführungszeichen“\u00a0nbsp\n"
      "\xd0\x86\xd0\xb2\xd0\xb0\xd0\xbd \t\n");
  add("utf8_raw_headers",
      "From: Вчися.UA <noreply@mail.vchysia.example>\n"
      "To: Іван Петренко <ivan@example.org>\n"
      "Subject: Привіт,   світе 🎉\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: 8bit\n"
      "\n"
      "Текст.\n");
  add("very_long_lines", head + "\n" + std::string(5000, 'x') + "\n" + repeat("word ", 1000) + "\n" +
                             repeat("\t ", 300) + "after whitespace\nshort\n");
  add("long_folded_headers",
      "From: Sender <sender@mail.vchysia.example>\n"
      "To: a@example.org, b@example.org, c@example.org, d@example.org, e@example.org,\n"
      "\tf@example.org, g@example.org,\n"
      "    h@example.org\n"
      "Subject: a subject folded\n"
      " over\n"
      "\tthree lines   with\t runs \n"
      "Cc: " + repeat("someone@example.net, ", 30) + "last@example.net\n"
      "List-Unsubscribe: <https://vchysia.example/u/" + std::string(300, 'T') + ">\n"
      "\n"
      "body\n");
  add("duplicate_to",
      "From: Sender <sender@mail.vchysia.example>\n"
      "To: first@example.org\n"
      "Subject: two To fields\n"
      "To: second@example.org\n"
      "Cc: one@example.net\n"
      "Cc: two@example.net\n"
      "\n"
      "body\n");
  add("mixed_case_names",
      "fRoM: Sender <sender@mail.vchysia.example>\n"
      "TO: rcpt@example.org\n"
      "SUBJECT: Mixed Case Names\n"
      "message-id: <mixed@mail.vchysia.example>\n"
      "\n"
      "Body With Case\n");
  add("space_before_colon",
      "From: Sender <sender@mail.vchysia.example>\n"
      "To : rcpt@example.org\n"
      "Subject : obsolete syntax\n"
      "\n"
      "body\n");
  return out;
}

// ---------------------------------------------------------------------------

class DkimVerifiers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto rsa = dkim::PrivateKey::generate(dkim::Algorithm::kRsaSha256, 2048);
    auto ed = dkim::PrivateKey::generate(dkim::Algorithm::kEd25519Sha256);
    ASSERT_TRUE(rsa && ed);
    rsa_ = new std::shared_ptr<const dkim::PrivateKey>(*rsa);
    ed_ = new std::shared_ptr<const dkim::PrivateKey>(*ed);
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ed_;
    rsa_ = ed_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(access(kPython, X_OK), 0) << kPython << " is required (Debian python3 + python3-dkim)";
    ASSERT_EQ(access(kOpendkim, X_OK), 0) << kOpendkim << " is required (Debian opendkim)";
    ASSERT_EQ(access(kTimeout, X_OK), 0);
    ASSERT_TRUE(std::filesystem::exists(source_dir() + "/tests/integration/dkim_check.py"));
    ASSERT_FALSE(dir_.path().empty());
  }

  static dkim::Signer signer(const std::shared_ptr<const dkim::PrivateKey>& key, dkim::Canon hc, dkim::Canon bc) {
    dkim::SignerOptions o;
    o.domain = kDomain;
    o.selector = key->algorithm() == dkim::Algorithm::kRsaSha256 ? kRsaSelector : kEdSelector;
    o.header_canon = hc;
    o.body_canon = bc;
    o.headers = dkim::default_signed_headers("X-Vestnik-Id");
    o.oversign = dkim::default_oversigned_headers();
    o.expire_seconds = 7 * 86400;
    auto s = dkim::Signer::create(o, key);
    if (!s) {
      ADD_FAILURE() << s.error().to_string();
      std::abort();
    }
    return std::move(*s);
  }

  // The key records, as TXT values and as an OpenDKIM TestPublicKeys file.
  std::map<std::string, std::string> key_records() const {
    return {{std::string(kRsaSelector) + "._domainkey." + kDomain, (*rsa_)->dns_record()},
            {std::string(kEdSelector) + "._domainkey." + kDomain, (*ed_)->dns_record()}};
  }
  std::string write_opendkim_conf(const std::map<std::string, std::string>& records) const {
    std::string keys;
    for (const auto& [name, value] : records) keys += name + " " + value + "\n";
    write_file(dir_ / "opendkim-keys.txt", keys);
    write_file(dir_ / "opendkim.conf", "TestPublicKeys " + (dir_ / "opendkim-keys.txt") + "\n");
    return dir_ / "opendkim.conf";
  }

  static std::shared_ptr<const dkim::PrivateKey>* rsa_;
  static std::shared_ptr<const dkim::PrivateKey>* ed_;
  ScratchDir dir_;
};

std::shared_ptr<const dkim::PrivateKey>* DkimVerifiers::rsa_ = nullptr;
std::shared_ptr<const dkim::PrivateKey>* DkimVerifiers::ed_ = nullptr;

// One file of the corpus and what both verifiers must say about it.
struct Signed {
  std::string file;
  std::vector<std::string> selectors;  // signatures, top first
  bool expect_pass = true;
  // dkimpy 1.1.4 refuses a field name followed by WSP before the colon
  // (RFC 5322 §4.5 obs-optional, "To : x") with a whole-message
  // MessageFormatError before it looks at any signature. OpenDKIM verifies
  // "To : x" (and refuses "To\t: x" outright, exit 70, so the corpus has no
  // such field). vestnik signs such fields as RFC 6376 §3.4.2 says.
  bool dkimpy_parses = true;
  // `opendkim -t` hands each header to its milter code without the WSP after
  // the colon and puts "Name: value" back together (as with an MTA that
  // does not offer SMFIP_HDR_LEADSPC), so under simple header
  // canonicalization it fails any signed field whose colon is not followed
  // by exactly one SP ("From:\tx", "To:x", "Subject:   x"), found by
  // experiment. dkimpy checks those; OpenDKIM is skipped for them.
  bool opendkim_checks = true;
};

// The body starts after the first empty line; npos when there is none.
size_t body_start(std::string_view m) {
  if (m.starts_with("\r\n")) return 2;
  size_t p = m.find("\r\n\r\n");
  return p == std::string_view::npos ? p : p + 4;
}

// A copy with one body byte changed (the first letter or digit of the body).
std::optional<std::string> tamper_body(std::string m) {
  size_t b = body_start(m);
  if (b == std::string::npos) return std::nullopt;
  for (size_t i = b; i < m.size(); ++i) {
    if (std::isalnum(static_cast<unsigned char>(m[i]))) {
      m[i] = m[i] == 'x' ? 'y' : 'x';
      return m;
    }
  }
  return std::nullopt;
}

// A copy with the first visible character of the Subject value changed.
std::optional<std::string> tamper_subject(std::string m) {
  size_t p = m.find("\r\nSubject:");
  if (p == std::string::npos) return std::nullopt;
  for (size_t i = p + 10; i < m.size(); ++i) {
    if (m[i] != ' ' && m[i] != '\t' && m[i] != '\r' && m[i] != '\n') {
      m[i] = m[i] == 'Q' ? 'R' : 'Q';
      return m;
    }
  }
  return std::nullopt;
}

// A copy with an unsigned field added at the end of the header.
std::string add_unsigned_header(std::string m) {
  size_t b = body_start(m);
  const std::string field = "X-Mailer: some relay 1.0\r\n";
  if (b == std::string::npos) return m + field;
  m.insert(b - 2, field);
  return m;
}

TEST_F(DkimVerifiers, DkimpyAndOpendkimVerifyTheCorpus) {
  std::vector<Message> messages = composed_messages();
  for (auto& m : handwritten_messages()) messages.push_back(std::move(m));

  const dkim::Canon kCanons[] = {dkim::Canon::kSimple, dkim::Canon::kRelaxed};
  const std::vector<std::string> kTampered = {"composed_cyrillic_multipart_bulk", "composed_dot_lines",
                                              "hand_utf8_8bit_body", "hand_duplicate_to", "hand_whitespace_runs",
                                              "hand_very_long_lines"};
  const int64_t now = now_unix();
  std::vector<Signed> corpus;
  size_t seq = 0;
  auto add = [&](const std::string& name, const std::string& text, std::vector<std::string> selectors, bool pass) {
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%03zu_", seq++);
    std::string file = prefix + name + ".eml";
    ASSERT_FALSE(dkim::needs_normalization(text)) << file;
    write_file(dir_ / file, text);
    const bool dkimpy_parses = !name.starts_with("hand_space_before_colon.");
    const bool opendkim_checks = !name.starts_with("hand_odd_space_after_colon.simple-");
    corpus.push_back({file, std::move(selectors), pass, dkimpy_parses, opendkim_checks});
  };

  for (const auto& m : messages) {
    ASSERT_FALSE(dkim::needs_normalization(m.text)) << m.name;
    const bool tamper = std::find(kTampered.begin(), kTampered.end(), m.name) != kTampered.end();
    for (dkim::Canon hc : kCanons) {
      for (dkim::Canon bc : kCanons) {
        const std::string canon = std::string(dkim::canon_name(hc)) + "-" + std::string(dkim::canon_name(bc));
        dkim::Signer rsa = signer(*rsa_, hc, bc);
        dkim::Signer ed = signer(*ed_, hc, bc);
        auto rsa_field = rsa.sign(m.text, now);
        auto ed_field = ed.sign(m.text, now);
        ASSERT_TRUE(rsa_field && ed_field) << m.name;
        std::vector<std::pair<std::string, std::pair<std::string, std::vector<std::string>>>> variants = {
            {"rsa", {*rsa_field + m.text, {kRsaSelector}}},
            {"ed25519", {*ed_field + m.text, {kEdSelector}}},
            // Dual-signed: Ed25519 first, as the daemon prepends it last.
            {"dual", {*ed_field + *rsa_field + m.text, {kEdSelector, kRsaSelector}}},
        };
        for (auto& [kind, v] : variants) {
          const std::string base = m.name + "." + canon + "." + kind;
          add(base, v.first, v.second, true);
          if (!tamper || (hc != bc)) continue;  // tamper the simple/simple and relaxed/relaxed copies
          auto body = tamper_body(v.first);
          ASSERT_TRUE(body) << base;
          add(base + ".tampered_body", *body, v.second, false);
          auto subject = tamper_subject(v.first);
          ASSERT_TRUE(subject) << base;
          add(base + ".tampered_subject", *subject, v.second, false);
          add(base + ".added_x_mailer", add_unsigned_header(v.first), v.second, true);
        }
      }
    }
  }

  // dkimpy: one process over everything.
  std::vector<std::string> files;
  for (const auto& s : corpus)
    if (s.dkimpy_parses) files.push_back(s.file);
  auto py = run_dkimpy(dir_.path(), key_records(), files);
  EXPECT_EQ(py.size(), files.size()) << "dkim_check.py reported fewer files than were written";
  size_t py_pass = 0, py_fail = 0;
  for (const auto& s : corpus) {
    if (!s.dkimpy_parses) continue;
    SCOPED_TRACE("dkimpy " + s.file);
    auto it = py.find(s.file);
    if (it == py.end()) {
      ADD_FAILURE() << "no result";
      continue;
    }
    const auto& [count, results] = it->second;
    EXPECT_EQ(count, s.selectors.size());
    if (results.size() != s.selectors.size()) {
      ADD_FAILURE() << results.size() << " results for " << s.selectors.size() << " signatures";
      continue;
    }
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_EQ(results[i].selector, s.selectors[i]);
      EXPECT_EQ(results[i].algorithm, s.selectors[i] == kRsaSelector ? "rsa-sha256" : "ed25519-sha256");
      EXPECT_EQ(results[i].pass, s.expect_pass) << "signature " << i << ": " << results[i].detail;
      (results[i].pass ? py_pass : py_fail)++;
    }
  }

  // OpenDKIM: one run per file.
  const std::string conf = write_opendkim_conf(key_records());
  size_t od_pass = 0, od_fail = 0, od_skipped = 0;
  for (const auto& s : corpus) {
    if (!s.opendkim_checks) {
      ++od_skipped;
      continue;
    }
    SCOPED_TRACE("opendkim " + s.file);
    OpendkimReport rep = run_opendkim(conf, dir_ / s.file);
    EXPECT_TRUE(rep.run.exited_ok()) << "status " << rep.run.status << "\n" << rep.brief;
    EXPECT_FALSE(rep.not_signed) << rep.brief;
    if (rep.sigs.size() != s.selectors.size()) {
      ADD_FAILURE() << rep.sigs.size() << " results for " << s.selectors.size() << " signatures\n" << rep.brief;
      continue;
    }
    for (size_t i = 0; i < rep.sigs.size(); ++i) {
      EXPECT_EQ(rep.sigs[i].selector, s.selectors[i]) << rep.brief;
      EXPECT_EQ(rep.sigs[i].algorithm, s.selectors[i] == kRsaSelector ? "rsa-sha256" : "ed25519-sha256");
      EXPECT_EQ(rep.sigs[i].pass, s.expect_pass) << rep.sigs[i].detail << "\n" << rep.brief;
      (rep.sigs[i].pass ? od_pass : od_fail)++;
    }
    if (s.expect_pass) {
      EXPECT_TRUE(rep.summary_succeeded && !rep.summary_failed) << rep.brief;
    } else {
      EXPECT_TRUE(rep.summary_failed && !rep.summary_succeeded) << rep.brief;
    }
  }
  std::printf("%zu files; dkimpy %zu pass / %zu fail (%zu files skipped), OpenDKIM %zu pass / %zu fail (%zu skipped)\n",
              corpus.size(), py_pass, py_fail, corpus.size() - files.size(), od_pass, od_fail, od_skipped);
}

// ---------------------------------------------------------------------------
// The CLI: keygen, sign, verify, against the same verifiers.

TEST_F(DkimVerifiers, CliKeygenSignVerify) {
  const char* bin_env = std::getenv("VESTNIK_BIN");
  ASSERT_TRUE(bin_env && *bin_env) << "VESTNIK_BIN is not set (run the test through ctest)";
  const std::string bin = bin_env;
  const std::string domain = "example.com";

  // keygen: rsa-2048 and ed25519. The key file is 0600; stdout is the TXT
  // value (quoted 255-octet strings when longer than one string).
  RunResult rsa_gen = run({bin, "dkim", "keygen", "--domain", domain, "--selector", "cli-rsa", "--out", dir_ / "rsa.pem"});
  ASSERT_TRUE(rsa_gen.exited_ok()) << rsa_gen.status;
  RunResult ed_gen = run({bin, "dkim", "keygen", "--domain", domain, "--selector", "cli-ed", "--algorithm", "ed25519",
                          "--out", dir_ / "ed.pem"});
  ASSERT_TRUE(ed_gen.exited_ok()) << ed_gen.status;
  for (const char* f : {"rsa.pem", "ed.pem"}) {
    struct stat st {};
    ASSERT_EQ(stat((dir_ / f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 07777, 0600u) << f;
  }
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_.path())) ++entries;
  EXPECT_EQ(entries, 2u) << "keygen left a temporary file behind";

  ASSERT_TRUE(rsa_gen.out.ends_with("\n"));
  const std::string rsa_txt = rsa_gen.out.substr(0, rsa_gen.out.size() - 1);
  ASSERT_TRUE(rsa_txt.starts_with("\"") && rsa_txt.ends_with("\"")) << rsa_txt;
  {
    // "..." "..." : every string at most 255 octets, at least two of them.
    size_t strings = 0;
    for (size_t p = 0; p < rsa_txt.size();) {
      ASSERT_EQ(rsa_txt[p], '"') << rsa_txt;
      size_t q = rsa_txt.find('"', p + 1);
      ASSERT_NE(q, std::string::npos);
      EXPECT_LE(q - p - 1, 255u);
      ++strings;
      p = q + 1;
      if (p < rsa_txt.size()) {
        EXPECT_EQ(rsa_txt[p], ' ');
        ++p;
      }
    }
    EXPECT_GE(strings, 2u);
  }
  const std::string rsa_record = unquote_txt(rsa_txt);
  EXPECT_TRUE(rsa_record.starts_with("v=DKIM1; k=rsa; p=MII")) << rsa_record;
  auto rsa_parsed = dkim::parse_key_record(rsa_txt);
  ASSERT_TRUE(rsa_parsed) << rsa_parsed.error().to_string();
  EXPECT_EQ(rsa_parsed->algorithm, dkim::Algorithm::kRsaSha256);
  ASSERT_TRUE(ed_gen.out.ends_with("\n"));
  const std::string ed_record = ed_gen.out.substr(0, ed_gen.out.size() - 1);
  EXPECT_TRUE(ed_record.starts_with("v=DKIM1; k=ed25519; p=")) << ed_record;
  auto ed_parsed = dkim::parse_key_record(ed_record);
  ASSERT_TRUE(ed_parsed) << ed_parsed.error().to_string();
  EXPECT_EQ(ed_parsed->key.size(), 32u);
  auto rsa_key = dkim::PrivateKey::load_file(dir_ / "rsa.pem");
  ASSERT_TRUE(rsa_key);
  EXPECT_EQ((*rsa_key)->bits(), 2048u);
  EXPECT_EQ((*rsa_key)->dns_record(), rsa_record);

  // An existing key is not replaced without --force.
  const std::string before = read_file(dir_ / "rsa.pem");
  RunResult again = run({bin, "dkim", "keygen", "--domain", domain, "--selector", "cli-rsa", "--out", dir_ / "rsa.pem"});
  EXPECT_NE(again.exit_code(), 0);
  EXPECT_EQ(read_file(dir_ / "rsa.pem"), before);

  // sign: a composed message written with LF line ends.
  templating::EmailParts p;
  p.subject = "Іване, ваше замовлення №1842 оплачено";
  p.text = "Іване, вітаємо!\n\n.dot line\ntrailing space \n";
  p.html = "<p>Іване, вітаємо!</p>\n";
  templating::ComposeOptions o = compose_options(0);
  std::string composed;
  ASSERT_TRUE(templating::compose(p, o, composed));
  std::string lf_message;
  for (char c : composed)
    if (c != '\r') lf_message.push_back(c);
  lf_message += "\n\n";  // trailing blank lines too
  write_file(dir_ / "in.eml", lf_message);
  std::string expected_body;
  dkim::normalize_line_ends(lf_message, expected_body);

  auto sign = [&](const std::string& key, const std::string& selector, const std::string& in,
                  std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {bin, "dkim", "sign", "--key", dir_ / key, "--domain", domain, "--selector", selector};
    for (auto& e : extra) argv.push_back(e);
    argv.push_back(dir_ / in);
    return run(argv);
  };
  RunResult signed_rsa = sign("rsa.pem", "cli-rsa", "in.eml");
  ASSERT_TRUE(signed_rsa.exited_ok());
  RunResult signed_ed = sign("ed.pem", "cli-ed", "in.eml", {"--canonicalization", "simple/simple"});
  ASSERT_TRUE(signed_ed.exited_ok());
  for (const auto* s : {&signed_rsa, &signed_ed}) {
    EXPECT_TRUE(s->out.starts_with("DKIM-Signature: v=1; ")) << s->out.substr(0, 200);
    EXPECT_FALSE(dkim::needs_normalization(s->out));
    EXPECT_TRUE(s->out.ends_with(expected_body));
  }
  EXPECT_NE(signed_ed.out.find("c=simple/simple;"), std::string::npos);
  write_file(dir_ / "signed_rsa.eml", signed_rsa.out);
  write_file(dir_ / "signed_ed.eml", signed_ed.out);
  // Dual: the RSA-signed output signed again with Ed25519.
  RunResult signed_dual = sign("ed.pem", "cli-ed", "signed_rsa.eml");
  ASSERT_TRUE(signed_dual.exited_ok());
  write_file(dir_ / "signed_dual.eml", signed_dual.out);
  auto tampered = tamper_body(signed_dual.out);
  ASSERT_TRUE(tampered);
  write_file(dir_ / "tampered.eml", *tampered);

  // verify: exit 0 and a "pass" line per signature; the tampered copy exits 1.
  auto verify = [&](const std::string& file) {
    return run({bin, "dkim", "verify", "--txt", rsa_txt, "--txt", ed_record, dir_ / file});
  };
  RunResult v_rsa = verify("signed_rsa.eml");
  EXPECT_EQ(v_rsa.exit_code(), 0) << v_rsa.out;
  EXPECT_EQ(v_rsa.out, "pass d=example.com s=cli-rsa a=rsa-sha256\n");
  RunResult v_ed = verify("signed_ed.eml");
  EXPECT_EQ(v_ed.exit_code(), 0) << v_ed.out;
  EXPECT_EQ(v_ed.out, "pass d=example.com s=cli-ed a=ed25519-sha256\n");
  RunResult v_dual = verify("signed_dual.eml");
  EXPECT_EQ(v_dual.exit_code(), 0) << v_dual.out;
  EXPECT_EQ(v_dual.out, "pass d=example.com s=cli-ed a=ed25519-sha256\npass d=example.com s=cli-rsa a=rsa-sha256\n");
  RunResult v_bad = verify("tampered.eml");
  EXPECT_EQ(v_bad.exit_code(), 1) << v_bad.out;
  EXPECT_NE(v_bad.out.find("fail d=example.com s=cli-ed a=ed25519-sha256: body hash mismatch"), std::string::npos)
      << v_bad.out;
  EXPECT_NE(v_bad.out.find("fail d=example.com s=cli-rsa a=rsa-sha256: body hash mismatch"), std::string::npos)
      << v_bad.out;
  RunResult v_none = verify("in.eml");
  EXPECT_EQ(v_none.exit_code(), 1) << v_none.out;

  // The same files through dkimpy (one process) and OpenDKIM, with the TXT
  // values exactly as keygen printed them (joined).
  const std::map<std::string, std::string> records = {{"cli-rsa._domainkey." + domain, rsa_record},
                                                      {"cli-ed._domainkey." + domain, ed_record}};
  const std::vector<Signed> cases = {{"signed_rsa.eml", {"cli-rsa"}, true},
                                     {"signed_ed.eml", {"cli-ed"}, true},
                                     {"signed_dual.eml", {"cli-ed", "cli-rsa"}, true},
                                     {"tampered.eml", {"cli-ed", "cli-rsa"}, false}};
  std::vector<std::string> files;
  for (const auto& c : cases) files.push_back(c.file);
  auto py = run_dkimpy(dir_.path(), records, files);
  const std::string conf = write_opendkim_conf(records);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const auto& [count, results] = py[c.file];
    EXPECT_EQ(count, c.selectors.size());
    ASSERT_EQ(results.size(), c.selectors.size());
    OpendkimReport rep = run_opendkim(conf, dir_ / c.file);
    ASSERT_TRUE(rep.run.exited_ok()) << rep.brief;
    ASSERT_EQ(rep.sigs.size(), c.selectors.size()) << rep.brief;
    for (size_t i = 0; i < c.selectors.size(); ++i) {
      EXPECT_EQ(results[i].selector, c.selectors[i]);
      EXPECT_EQ(results[i].pass, c.expect_pass) << "dkimpy: " << results[i].detail;
      EXPECT_EQ(rep.sigs[i].selector, c.selectors[i]) << rep.brief;
      EXPECT_EQ(rep.sigs[i].pass, c.expect_pass) << "opendkim: " << rep.brief;
    }
  }
}

}  // namespace
