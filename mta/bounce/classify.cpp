// mta/bounce/classify.cpp: the rule engine: reading a rule file into rules,
// and running a reply line through them. The rules themselves are data
// (default_rules.toml, compiled in by CMake as a string).
#include "mta/bounce/classify.h"

#include <fmt/format.h>

#include <array>
#include <boost/regex.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>
#include <utility>

namespace mta::bounce {

namespace detail {
// default_rules.cpp, generated from default_rules.toml at configure time.
extern const char kDefaultRulesToml[];
extern const size_t kDefaultRulesTomlSize;
}  // namespace detail

namespace {

// An enhanced status code, or a pattern for one: -1 in a part is 'x'.
struct Enhanced {
  int16_t cls = -1;
  int16_t subject = -1;
  int16_t detail = -1;
};

// Reads 1..max_digits digits as a number; -1 if `s` is anything else.
int16_t read_number(std::string_view s, size_t max_digits) noexcept {
  if (s.empty() || s.size() > max_digits) return -1;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return static_cast<int16_t>(v);
}

// RFC 3463 class.subject.detail: one digit, then 1-3 digits twice.
std::optional<Enhanced> parse_enhanced(std::string_view s) noexcept {
  const size_t d1 = s.find('.');
  if (d1 == std::string_view::npos) return std::nullopt;
  const size_t d2 = s.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return std::nullopt;
  Enhanced e;
  e.cls = read_number(s.substr(0, d1), 1);
  e.subject = read_number(s.substr(d1 + 1, d2 - d1 - 1), 3);
  e.detail = read_number(s.substr(d2 + 1), 3);
  if (e.cls < 0 || e.subject < 0 || e.detail < 0) return std::nullopt;
  return e;
}

// A pattern part: "x" (any) -> -1, else 1..max_digits digits; -2 if invalid.
int16_t read_pattern_part(std::string_view s, size_t max_digits) noexcept {
  if (s == "x" || s == "X") return -1;
  const int16_t v = read_number(s, max_digits);
  return v < 0 ? -2 : v;
}

std::optional<Enhanced> parse_enhanced_pattern(std::string_view s) noexcept {
  const size_t d1 = s.find('.');
  if (d1 == std::string_view::npos) return std::nullopt;
  const size_t d2 = s.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return std::nullopt;
  Enhanced e;
  e.cls = read_pattern_part(s.substr(0, d1), 1);
  e.subject = read_pattern_part(s.substr(d1 + 1, d2 - d1 - 1), 3);
  e.detail = read_pattern_part(s.substr(d2 + 1), 3);
  if (e.cls < -1 || e.subject < -1 || e.detail < -1) return std::nullopt;
  return e;
}

bool part_matches(int16_t pattern, int16_t value) noexcept { return pattern < 0 || pattern == value; }

char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// The literal text a regex stands for when it has no regex syntax at all
// ("(?i)user unknown", "\\[TS01\\]"), so that it can run as a substring
// search (case-sensitive) or in the one Aho-Corasick pass (with "(?i)"),
// both several times cheaper than Boost.Regex's search for the short lines
// we see. A backslash before punctuation is that punctuation; before a
// letter or digit (\d, \b) it is syntax.
std::optional<std::string> as_literal(std::string_view re, bool* icase) {
  *icase = false;
  if (re.starts_with("(?i)")) {
    *icase = true;
    re.remove_prefix(4);
  }
  std::string out;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\') {
      if (i + 1 == re.size()) return std::nullopt;
      const auto n = static_cast<unsigned char>(re[++i]);
      if (std::isalnum(n) || n >= 0x80) return std::nullopt;
      out.push_back(static_cast<char>(n));
    } else if (std::strchr("^$.|?*+()[]{}", c) != nullptr) {
      return std::nullopt;
    } else {
      out.push_back(c);
    }
  }
  if (out.empty()) return std::nullopt;
  if (*icase) {
    for (char& ch : out) ch = ascii_lower(ch);
  }
  return out;
}

}  // namespace

// Every "(?i)literal" of every rule, searched in ONE pass over the line
// (Aho-Corasick), instead of one substring search per literal: the default
// rules have ~200 of them, and a reply that reaches the late rules would
// otherwise be scanned ~100 times. The automaton is a full DFA over byte
// classes (each distinct letter of the literals, with its upper case, is one
// class; every other byte is class 0), so a step is one table load. For
// the default rules: ~3,400 states x ~32 classes x 4 bytes, ~430 KB,
// of which a scan mostly touches the states near the root.
class Classifier::Literals {
 public:
  // Adds a literal (already lower case); returns its id.
  uint32_t add(std::string lit) {
    lits_.push_back(std::move(lit));
    return static_cast<uint32_t>(lits_.size() - 1);
  }
  size_t size() const noexcept { return lits_.size(); }

  void build() {
    cls_.fill(0);
    classes_ = 1;
    for (const std::string& l : lits_) {
      for (char ch : l) {
        const auto c = static_cast<unsigned char>(ch);
        if (cls_[c] != 0) continue;
        cls_[c] = static_cast<uint8_t>(classes_);
        if (c >= 'a' && c <= 'z') cls_[c - 32] = static_cast<uint8_t>(classes_);
        ++classes_;
      }
    }
    // The trie, with -1 for "no edge".
    std::vector<int32_t> go(classes_, -1);
    std::vector<std::vector<uint32_t>> out(1);
    for (uint32_t id = 0; id < lits_.size(); ++id) {
      size_t s = 0;
      for (char ch : lits_[id]) {
        const size_t c = cls_[static_cast<unsigned char>(ch)];
        if (go[s * classes_ + c] < 0) {
          go[s * classes_ + c] = static_cast<int32_t>(out.size());
          out.emplace_back();
          go.resize(out.size() * classes_, -1);
        }
        s = static_cast<size_t>(go[s * classes_ + c]);
      }
      out[s].push_back(id);
    }
    // Failure links in breadth-first order turn the trie into a DFA: a
    // missing edge goes where the longest proper suffix would go, and a
    // state reports the literals of its suffix states too.
    const size_t states = out.size();
    std::vector<uint32_t> fail(states, 0);
    std::vector<uint32_t> queue;
    queue.reserve(states);
    for (size_t c = 0; c < classes_; ++c) {
      if (go[c] < 0) {
        go[c] = 0;
      } else {
        queue.push_back(static_cast<uint32_t>(go[c]));
      }
    }
    for (size_t qi = 0; qi < queue.size(); ++qi) {
      const uint32_t s = queue[qi];
      const auto& inherited = out[fail[s]];
      out[s].insert(out[s].end(), inherited.begin(), inherited.end());
      for (size_t c = 0; c < classes_; ++c) {
        const int32_t t = go[s * classes_ + c];
        const int32_t via_fail = go[fail[s] * classes_ + c];
        if (t < 0) {
          go[s * classes_ + c] = via_fail;
        } else {
          fail[static_cast<size_t>(t)] = static_cast<uint32_t>(via_fail);
          queue.push_back(static_cast<uint32_t>(t));
        }
      }
    }
    delta_.assign(go.begin(), go.end());
    out_begin_.assign(states + 1, 0);
    out_ids_.clear();
    for (size_t s = 0; s < states; ++s) {
      out_begin_[s] = static_cast<uint32_t>(out_ids_.size());
      out_ids_.insert(out_ids_.end(), out[s].begin(), out[s].end());
    }
    out_begin_[states] = static_cast<uint32_t>(out_ids_.size());
  }

  // Sets bit `id` in `found` for each literal that occurs in `text`, ASCII
  // case-insensitively. REQUIRES: build() ran; `found` has size()/64+1
  // words, zeroed.
  void scan(std::string_view text, uint64_t* found) const noexcept {
    uint32_t s = 0;
    for (char ch : text) {
      s = delta_[s * classes_ + cls_[static_cast<unsigned char>(ch)]];
      for (uint32_t i = out_begin_[s]; i < out_begin_[s + 1]; ++i) {
        found[out_ids_[i] / 64] |= uint64_t{1} << (out_ids_[i] % 64);
      }
    }
  }

 private:
  std::vector<std::string> lits_;
  std::array<uint8_t, 256> cls_{};
  size_t classes_ = 1;
  std::vector<uint32_t> delta_;      // [state * classes_ + class] -> state
  std::vector<uint32_t> out_begin_;  // per state, into out_ids_; states + 1 entries
  std::vector<uint32_t> out_ids_;
};

struct Classifier::Rule {
  struct Matcher {
    enum class Kind : uint8_t { kLiteral, kLiteralIcase, kRegex };
    Kind kind = Kind::kRegex;
    std::string literal;  // kLiteral
    uint32_t literal_id = 0;  // kLiteralIcase: its id in Classifier::Literals
    boost::regex regex;   // kRegex
  };

  Category category = Category::kOther;
  std::string name;
  uint32_t line = 0;
  std::vector<std::array<char, 3>> codes;  // each char a digit or 'x'
  std::vector<Enhanced> enhanced;
  bool enhanced_none = false;   // "none": lines without an enhanced code pass
  bool enhanced_filter = false;  // the rule has an `enhanced` condition
  std::vector<Matcher> matchers;
};

// ---------------------------------------------------------------------------
// Reading a rule file.
//
// Every problem is reported against the key it is about, with the line of
// the value, so an operator editing a long rule file lands on the spot:
// field "rule[3].match[1]", message "bounces.toml:27: invalid regex: ...".

namespace {

using Rule = Classifier::Rule;

class RuleReader {
 public:
  RuleReader(std::string_view source, Classifier::Literals* literals)
      : source_(source), literals_(literals) {}

  core::Error error(std::string field, const toml::node& at, std::string_view what) const {
    const auto line = at.source().begin.line;
    return core::invalid_argument(std::move(field), line ? fmt::format("{}:{}: {}", source_, line, what)
                                                          : fmt::format("{}: {}", source_, what));
  }

  // A string or an array of strings; each element with its field name.
  struct Item {
    std::string value;
    std::string field;
    const toml::node* node;
  };
  std::optional<core::Error> strings(const std::string& field, const toml::node& n,
                                     std::vector<Item>* out) const {
    if (const auto* s = n.as_string()) {
      out->push_back({s->get(), field, &n});
      return std::nullopt;
    }
    const auto* a = n.as_array();
    if (a == nullptr) return error(field, n, "expected a string or an array of strings");
    if (a->empty()) return error(field, n, "empty array (leave the key out instead)");
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      std::string f = fmt::format("{}[{}]", field, i);
      const auto* s = e.as_string();
      if (s == nullptr) return error(f, e, "expected a string");
      out->push_back({s->get(), std::move(f), &e});
    }
    return std::nullopt;
  }

  std::optional<core::Error> read_rule(const toml::table& t, const std::string& prefix, Rule* r) const {
    r->line = t.source().begin.line;
    bool has_category = false;
    for (const auto& [key, node] : t) {
      const std::string field = fmt::format("{}.{}", prefix, key.str());
      std::optional<core::Error> err;
      if (key == "category") {
        err = read_category(field, node, r);
        has_category = true;
      } else if (key == "name") {
        const auto* s = node.as_string();
        if (s == nullptr) return error(field, node, "expected a string");
        r->name = s->get();
      } else if (key == "code") {
        err = read_codes(field, node, r);
      } else if (key == "enhanced") {
        err = read_enhanced(field, node, r);
      } else if (key == "match") {
        err = read_matches(field, node, r);
      } else {
        return error(field, node, "unknown key (expected category, name, code, enhanced, match)");
      }
      if (err) return err;
    }
    if (!has_category) return error(prefix + ".category", t, "is required");
    if (r->codes.empty() && !r->enhanced_filter && r->matchers.empty()) {
      return error(prefix, t, "needs at least one of code, enhanced, match");
    }
    return std::nullopt;
  }

 private:
  std::optional<core::Error> read_category(const std::string& field, const toml::node& n, Rule* r) const {
    const auto* s = n.as_string();
    if (s == nullptr) return error(field, n, "expected a string");
    const auto c = parse_category(s->get());
    if (!c) {
      std::string names;
      for (size_t i = 0; i < kCategoryCount; ++i) {
        if (i) names += ", ";
        names += category_name(static_cast<Category>(i));
      }
      return error(field, n, fmt::format("unknown category \"{}\" (one of: {})", s->get(), names));
    }
    r->category = *c;
    return std::nullopt;
  }

  std::optional<core::Error> read_codes(const std::string& field, const toml::node& n, Rule* r) const {
    std::vector<Item> items;
    if (auto err = strings(field, n, &items)) return err;
    for (const Item& it : items) {
      std::array<char, 3> p{};
      bool ok = it.value.size() == 3;
      for (size_t i = 0; ok && i < 3; ++i) {
        const char c = ascii_lower(it.value[i]);
        ok = (c >= '0' && c <= '9') || c == 'x';
        p[i] = c;
      }
      if (!ok) {
        return error(it.field, *it.node,
                     fmt::format("\"{}\" is not a reply code pattern (three characters, each a "
                                 "digit or x: \"5xx\", \"55x\", \"550\")",
                                 it.value));
      }
      r->codes.push_back(p);
    }
    return std::nullopt;
  }

  std::optional<core::Error> read_enhanced(const std::string& field, const toml::node& n, Rule* r) const {
    std::vector<Item> items;
    if (auto err = strings(field, n, &items)) return err;
    r->enhanced_filter = true;
    for (const Item& it : items) {
      if (it.value == "none") {
        r->enhanced_none = true;
        continue;
      }
      const auto e = parse_enhanced_pattern(it.value);
      if (!e) {
        return error(it.field, *it.node,
                     fmt::format("\"{}\" is not an enhanced code pattern (class.subject.detail, "
                                 "each a number or x: \"5.1.1\", \"x.7.x\"; or \"none\")",
                                 it.value));
      }
      r->enhanced.push_back(*e);
    }
    return std::nullopt;
  }

  std::optional<core::Error> read_matches(const std::string& field, const toml::node& n, Rule* r) const {
    std::vector<Item> items;
    if (auto err = strings(field, n, &items)) return err;
    for (const Item& it : items) {
      Rule::Matcher m;
      bool icase = false;
      if (auto lit = as_literal(it.value, &icase)) {
        if (icase) {
          m.kind = Rule::Matcher::Kind::kLiteralIcase;
          m.literal_id = literals_->add(std::move(*lit));
        } else {
          m.kind = Rule::Matcher::Kind::kLiteral;
          m.literal = std::move(*lit);
        }
      } else {
        // Boost.Regex reports syntax errors by throwing; this is the one
        // place it may, and the error becomes a value naming the regex.
        try {
          m.regex.assign(it.value, boost::regex::perl);
        } catch (const std::exception& e) {
          return error(it.field, *it.node, fmt::format("invalid regex: {}", e.what()));
        }
      }
      r->matchers.push_back(std::move(m));
    }
    return std::nullopt;
  }

  std::string_view source_;
  Classifier::Literals* literals_;
};

}  // namespace

Classifier::Classifier() : literals_(std::make_unique<Literals>()) {}
Classifier::~Classifier() = default;

core::Result<std::shared_ptr<const Classifier>> Classifier::parse(std::string_view text,
                                                                  std::string_view source) {
  toml::table root;
  // toml++ reports syntax errors by throwing parse_error; caught here.
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return core::invalid_argument("", fmt::format("{}:{}:{}: {}", source, b.line, b.column, e.description()));
  }
  std::shared_ptr<Classifier> c(new Classifier());
  const RuleReader reader(source, c->literals_.get());
  for (const auto& [key, node] : root) {
    if (key != "rule") {
      return reader.error(std::string(key.str()), node, "unknown key (a rule file holds [[rule]] tables)");
    }
    const auto* a = node.as_array();
    if (a == nullptr || (!a->empty() && !a->is_array_of_tables())) {
      return reader.error("rule", node, "expected an array of tables ([[rule]])");
    }
    c->rules_.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) {
      if (auto err = reader.read_rule(*a->get(i)->as_table(), fmt::format("rule[{}]", i), &c->rules_[i])) {
        return std::move(*err);
      }
    }
  }
  c->literals_->build();
  return std::shared_ptr<const Classifier>(std::move(c));
}

core::Result<std::shared_ptr<const Classifier>> Classifier::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    return core::make_error(e == ENOENT ? core::Errc::kNotFound : core::Errc::kIoError,
                            fmt::format("cannot open {}: {}", path, std::strerror(e)));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return core::make_error(core::Errc::kIoError, fmt::format("cannot read {}", path));
  return parse(buf.str(), path);
}

std::shared_ptr<const Classifier> Classifier::defaults() {
  static const std::shared_ptr<const Classifier> kDefaults = [] {
    auto r = parse(std::string_view(detail::kDefaultRulesToml, detail::kDefaultRulesTomlSize),
                   "default_rules.toml");
    if (!r) {
      // The file is compiled in and parsed by the unit tests: a failure
      // here is a build defect, not an input error.
      std::fprintf(stderr, "mta::bounce: compiled-in rules do not parse: %s\n",
                   r.error().to_string().c_str());
      std::abort();
    }
    return std::move(*r);
  }();
  return kDefaults;
}

size_t Classifier::rule_count() const noexcept { return rules_.size(); }
std::string_view Classifier::rule_name(size_t i) const noexcept { return rules_[i].name; }
uint32_t Classifier::rule_line(size_t i) const noexcept { return rules_[i].line; }

// ---------------------------------------------------------------------------
// Classifying.

namespace {

// The reply as the rules see it (classify.h, "The line the rules see").
struct Line {
  std::array<char, 3> code{};
  std::optional<Enhanced> enhanced;
};

void build_line(uint16_t code, std::string_view enhanced, std::string_view text, std::string* out,
                Line* line) {
  line->enhanced = parse_enhanced(enhanced);
  unsigned c = code;
  if (c < 100 || c > 999) c = line->enhanced ? static_cast<unsigned>(line->enhanced->cls) * 100 : 0;
  line->code = {static_cast<char>('0' + c / 100), static_cast<char>('0' + c / 10 % 10),
                static_cast<char>('0' + c % 10)};
  out->clear();
  out->append(line->code.data(), 3);
  out->push_back(' ');
  if (line->enhanced) {
    out->append(enhanced);
    out->push_back(' ');
  }
  out->append(text);
}

bool code_matches(const Rule& r, const Line& l) noexcept {
  if (r.codes.empty()) return true;
  for (const auto& p : r.codes) {
    if ((p[0] == 'x' || p[0] == l.code[0]) && (p[1] == 'x' || p[1] == l.code[1]) &&
        (p[2] == 'x' || p[2] == l.code[2])) {
      return true;
    }
  }
  return false;
}

bool enhanced_matches(const Rule& r, const Line& l) noexcept {
  if (!r.enhanced_filter) return true;
  if (!l.enhanced) return r.enhanced_none;
  for (const Enhanced& p : r.enhanced) {
    if (part_matches(p.cls, l.enhanced->cls) && part_matches(p.subject, l.enhanced->subject) &&
        part_matches(p.detail, l.enhanced->detail)) {
      return true;
    }
  }
  return false;
}

// Which "(?i)" literals occur in the line: one Aho-Corasick scan, made on
// first need (many replies stop at a code-only rule before any literal).
class LiteralHits {
 public:
  LiteralHits(const Classifier::Literals& set, std::string_view line, std::vector<uint64_t>* bits)
      : set_(set), line_(line), bits_(bits) {}
  bool has(uint32_t id) {
    if (!done_) {
      bits_->assign(set_.size() / 64 + 1, 0);
      set_.scan(line_, bits_->data());
      done_ = true;
    }
    return ((*bits_)[id / 64] >> (id % 64)) & 1;
  }

 private:
  const Classifier::Literals& set_;
  std::string_view line_;
  std::vector<uint64_t>* bits_;
  bool done_ = false;
};

bool matcher_matches(const Rule::Matcher& m, std::string_view line, LiteralHits& hits) noexcept {
  switch (m.kind) {
    case Rule::Matcher::Kind::kLiteral:
      return line.find(m.literal) != std::string_view::npos;
    case Rule::Matcher::Kind::kLiteralIcase:
      return hits.has(m.literal_id);
    case Rule::Matcher::Kind::kRegex:
      break;
  }
  // Boost.Regex throws when a match exceeds its complexity bound (a
  // pathological pattern from a rule file); such a rule simply does not
  // match, and the next one gets its turn.
  try {
    return boost::regex_search(line.begin(), line.end(), m.regex);
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

Classifier::Verdict Classifier::explain(uint16_t code, std::string_view enhanced,
                                        std::string_view text) const {
  // Per-thread scratch: the line and its lower-case copy are rebuilt for
  // every reply, and reusing their capacity keeps the hot path free of
  // allocation once the thread has seen its longest line.
  thread_local std::string line_buf;
  thread_local std::vector<uint64_t> hit_bits;
  Line l;
  build_line(code, enhanced, text, &line_buf, &l);
  const std::string_view line = line_buf;
  LiteralHits hits(*literals_, line, &hit_bits);
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& r = rules_[i];
    if (!code_matches(r, l) || !enhanced_matches(r, l)) continue;
    if (r.matchers.empty()) return {r.category, i};
    for (const auto& m : r.matchers) {
      if (matcher_matches(m, line, hits)) return {r.category, i};
    }
  }
  return {Category::kOther, std::nullopt};
}

Classifier::Verdict Classifier::explain_line(std::string_view s) const {
  // Re-read a line as a peer wrote it: "550-5.1.1 text", "550 text",
  // "5.1.1 text" (a DSN's Status with its words).
  uint16_t code = 0;
  if (s.size() >= 3 && read_number(s.substr(0, 3), 3) >= 0 &&
      (s.size() == 3 || s[3] == ' ' || s[3] == '-')) {
    code = static_cast<uint16_t>(read_number(s.substr(0, 3), 3));
    s.remove_prefix(std::min<size_t>(s.size(), 4));
  }
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  std::string_view enhanced;
  const size_t sp = s.find(' ');
  const std::string_view first = s.substr(0, sp);
  if (parse_enhanced(first)) {
    enhanced = first;
    s.remove_prefix(first.size());
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  }
  return explain(code, enhanced, s);
}

std::string Classifier::canonical_line(uint16_t code, std::string_view enhanced, std::string_view text) {
  std::string out;
  Line l;
  build_line(code, enhanced, text, &out, &l);
  return out;
}

}  // namespace mta::bounce
