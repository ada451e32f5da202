// mta/bounce/classify.h: the bounce classifier (issue #7); the only public
// header of `vestnik_mta_bounce`.
//
// A Classifier turns one SMTP reply into a Category such as "bad-mailbox" or
// "throttled" (PowerMTA's vocabulary, as KumoMTA reuses it; see
// docs: deliverability.md §2.3). It reads synchronous replies (what the peer
// said during delivery), asynchronous ones (a DSN's Status + Diagnostic-Code)
// and the local replies our transports make up (code 0, "4.4.1 connect to ...
// failed"). The rules are data: a TOML file of regexes, tried in file order;
// the first rule that matches decides. A default rule set is compiled in.
//
// The category says WHY, never WHETHER: permanent versus transient is the
// reply code's business (5xx versus 4xx; RFC 5321), and callers decide it
// from the code. A 450 4.1.1 is "bad-mailbox" and still transient; severity()
// only applies once the code has made the failure permanent.
//
// ---- The line the rules see ------------------------------------------------
//
//   "<ccc> <c.s.d> <text>"     e.g. "550 5.1.1 The email account ... does not exist"
//   "<ccc> <text>"             when there is no (well-formed) enhanced code
//
// - <ccc> is the reply code as three digits. When the code is 0 (no SMTP
//   reply: a DSN with only Status:, or a local failure such as a refused
//   connection) or not in 100..999, it is derived from the enhanced code's
//   class: "4.4.1" -> "400", "5.1.1" -> "500"; with neither, "000". So a rule
//   written for "5xx" also fires for a DSN with Status 5.x.x and no
//   Diagnostic-Code, while a rule for "550" does not (we do not know it was
//   550).
// - <c.s.d> is RFC 3463's class.subject.detail: a digit, 1-3 digits, 1-3
//   digits. Anything else given as `enhanced` is left out of the line.
// - The separating spaces are always there, even when the text is empty
//   ("550 5.1.1 "), so a rule may anchor on "^550 5\.1\.1 ".
// - Multi-line replies are joined by the caller with single spaces (only the
//   first line's code and enhanced code kept); the text is used verbatim.
//
// classify_line() takes such a line as a peer wrote it and re-reads it into
// (code, enhanced, text) first, so "550-5.1.1 text", "5.1.1 text" (no code)
// and "550 5.1.1 text" all end up as the canonical line above.
//
// ---- Rule file format ------------------------------------------------------
//
//   [[rule]]                          # one table per rule, tried in file order
//   name = "gmail-no-such-user"       # optional; shown by rule_name() in logs
//   category = "bad-mailbox"          # required; a category_name() below
//   code = ["4xx", "5xx"]             # optional; reply code patterns: three
//                                     #   characters, each a digit or 'x'
//   enhanced = ["x.1.1", "none"]      # optional; enhanced code patterns: each
//                                     #   part a number or 'x'; "none" matches a
//                                     #   line without an enhanced code
//   match = ["^5\\d\\d 5\\.1\\.1 ", "(?i)user unknown"]
//                                     # optional; regexes (Perl syntax, as in
//                                     #   Boost.Regex; "(?i)" for ignore-case)
//                                     #   searched anywhere in the line
//
// Each of code, enhanced and match is a string or an array of strings. A
// rule matches when every condition it has holds; within one condition, any
// one element is enough. A rule needs at least one condition. The code and
// enhanced patterns are a cheap prefilter (integer compares, no regex). A
// regex that is a plain literal (no regex syntax; '\.' and '\[' are
// literal) runs as a substring search, and all "(?i)" literals of all rules
// are found in one pass over the line, so prefer several literals to one
// alternation. "(?i)" folds ASCII letters only (in regexes too: bytes, not
// Unicode). Unknown keys, unknown categories, bad patterns and bad regexes
// are refused.
//
// No rule matches: Category::kOther, whatever the code (a 4xx reply with no
// rule is "other" too; the code still says it is transient).
//
// ---- Ownership, threads, failures -----------------------------------------
//
// A Classifier is immutable once built and safe to use from any number of
// threads at once (Boost.Regex objects are safe for concurrent const use).
// parse() and load_file() hand out shared_ptr<const Classifier> so a reload
// can swap one snapshot for another (STYLE R13) while in-flight callers keep
// the old one. Nothing here throws: rule errors come back as
// core::Errc::kInvalidArgument with `field` naming the place ("rule[3].match[1]",
// "rule[2].category", "rule[0].colour") and a message starting with
// "<source>:<line>: "; a TOML syntax error has an empty field and a message
// "<source>:<line>:<column>: <description>". A regex that exceeds
// Boost.Regex's complexity limit while matching counts as "no match".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mta::bounce {

// Persisted and logged by NAME (category_name()), never by number; the
// numbers may change, the names may not.
enum class Category : uint8_t {
  kOther = 0,           // "other": no rule matched, or nothing more precise is known
  kBadMailbox,          // "bad-mailbox": the mailbox does not exist (x.1.1)
  kInactiveMailbox,     // "inactive-mailbox": exists but disabled/closed (x.2.1, x.1.6)
  kBadDomain,           // "bad-domain": no such domain, null MX (x.1.2, x.1.10)
  kInvalidSender,       // "invalid-sender": our reverse-path is refused (x.1.7, x.1.8, x.7.27)
  kQuotaIssues,         // "quota-issues": mailbox full (x.2.2), too big (x.3.4, as KumoMTA)
  kSpamRelated,         // "spam-related": blocklisted IP, spam verdict
  kPolicyRelated,       // "policy-related": refused by local policy (generic x.7.x)
  kContentRelated,      // "content-related": the content (not spamminess) is refused
  kVirusRelated,        // "virus-related"
  kAuthFailed,          // "auth-failed": SPF/DKIM/DMARC/PTR (x.7.20-26, Gmail 5.7.26-32, MS 5.7.515)
  kRoutingErrors,       // "routing-errors": unable to route, loops (x.4.4, x.4.6)
  kBadConnection,       // "bad-connection": connection dropped or timed out (x.4.2)
  kNoAnswerFromHost,    // "no-answer-from-host": could not connect (x.4.1)
  kDnsFailure,          // "dns-failure": lookup failed (x.4.3)
  kRelayingIssues,      // "relaying-issues": "relay access denied"
  kBadConfiguration,    // "bad-configuration": ours: TLS required/failed, credentials (x.3.5, x.7.10)
  kMessageExpired,      // "message-expired": delivery time expired (x.4.7)
  kProtocolErrors,      // "protocol-errors": x.5.x, x.6.x
  kTooManyRecipients,   // "too-many-recipients": x.5.3; retry the rest later, not a bounce
  kThrottled,           // "throttled": rate/connection limits; defer and slow down, not a bounce
};
inline constexpr size_t kCategoryCount = static_cast<size_t>(Category::kThrottled) + 1;

// "bad-mailbox", ...; "other" for a value outside the enum.
std::string_view category_name(Category c) noexcept;
// The inverse of category_name(); nullopt for an unknown name (exact, lower case).
std::optional<Category> parse_category(std::string_view name) noexcept;

// What a PERMANENT failure of this category means for the recipient address.
//   kHard: bad-mailbox, bad-domain, inactive-mailbox: suppress at once.
//   kSoft: quota-issues: suppress after N within a window (the caller counts).
//          Note: as in KumoMTA, "message too big" (x.3.4, x.2.3) is
//          quota-issues too, so it counts towards that N.
//   kNone: everything else, including throttled and too-many-recipients.
enum class Severity : uint8_t { kNone, kSoft, kHard };
Severity severity(Category c) noexcept;

// False for kThrottled and kTooManyRecipients: those replies are about our
// sending pattern (rate, connections, recipients per transaction), not about
// the recipient, so they are never counted or reported as bounces, even with
// a 5xx code: the caller defers and slows down instead. True otherwise
// (kOther included: an unexplained 5xx is still a bounce).
bool is_bounce(Category c) noexcept;

class Classifier {
 public:
  struct Rule;      // one parsed [[rule]]; opaque, defined in classify.cpp
  class Literals;   // all "(?i)" literals, matched in one pass; classify.cpp

  // A classification with the rule that decided it, for logs and debugging.
  struct Verdict {
    Category category = Category::kOther;
    std::optional<size_t> rule;  // index in file order; nullopt: no rule matched
  };

  // Parses a rule file (format above). `source` names it in error messages.
  static core::Result<std::shared_ptr<const Classifier>> parse(std::string_view toml,
                                                               std::string_view source);
  // Reads `path` and parse()s it; a read failure is kNotFound / kIoError.
  static core::Result<std::shared_ptr<const Classifier>> load_file(const std::string& path);
  // The compiled-in rule set (mta/bounce/default_rules.toml), parsed on first
  // use (thread-safe); never null. A default file that does not parse is a
  // build defect: it aborts (the unit tests parse it).
  static std::shared_ptr<const Classifier> defaults();

  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;
  ~Classifier();

  // Hot path: no I/O, no locks; allocation only when a line is longer than
  // any line this thread classified before (per-thread scratch buffers).
  // Cost: one integer prefilter per rule; at most one pass over the line
  // for all "(?i)" literals; then, for each rule whose prefilter passes, a
  // bit test per "(?i)" literal, a substring search per other literal and a
  // Boost.Regex search per regex, until one rule matches. About 1 us per
  // reply with the default rules (bench/bounce_classify.cpp).
  Category classify(uint16_t code, std::string_view enhanced, std::string_view text) const {
    return explain(code, enhanced, text).category;
  }
  Category classify_line(std::string_view line) const { return explain_line(line).category; }
  Verdict explain(uint16_t code, std::string_view enhanced, std::string_view text) const;
  Verdict explain_line(std::string_view line) const;

  size_t rule_count() const noexcept;
  // The `name` of rule `i`, or "" if it has none. REQUIRES: i < rule_count().
  std::string_view rule_name(size_t i) const noexcept;
  // The line of rule `i`'s [[rule]] header in its file (1-based; 0 unknown).
  // REQUIRES: i < rule_count().
  uint32_t rule_line(size_t i) const noexcept;

  // The canonical line (format above) for a reply; what the rules see.
  static std::string canonical_line(uint16_t code, std::string_view enhanced, std::string_view text);

 private:
  Classifier();

  std::vector<Rule> rules_;
  std::unique_ptr<Literals> literals_;
};

}  // namespace mta::bounce
