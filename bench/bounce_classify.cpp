// bench/bounce_classify.cpp: classifications per second of the compiled-in
// bounce rules (mta/bounce, issue #7), single thread, over 40 realistic
// replies: provider rejections that stop at early rules (throttling,
// address codes), late rules (spam wording, the generic x.7.x rule) and no
// rule at all, and our own local replies.
//
//   ./build-bench/bench/bench_bounce --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true
//
// BM_Classify          the engine: classify(code, enhanced, text) per reply
// BM_ClassifyLine      the same from one line ("550 5.1.1 ..."), re-read first
// BM_ClassifyNoMatch   only replies that no rule explains: the worst case,
//                      every 4xx/5xx wording rule is tried
// BM_AllRegex          the same rules with the literal fast path defeated
//                      (every '(?i)text' wrapped as '(?i)(?:text)'), to show
//                      what running every pattern through Boost.Regex costs
// BM_OneRegexBaseline  ONE boost::regex_search of one case-insensitive
//                      pattern over the same lines: the ratio
//                      BM_Classify / BM_OneRegexBaseline is "how many single
//                      regex searches one classification costs"
// All report items_per_second (= classifications/s).
#include <benchmark/benchmark.h>

#include <boost/regex.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "mta/bounce/classify.h"

namespace {

struct Reply {
  uint16_t code;
  std::string enhanced;
  std::string text;
};

const std::vector<Reply>& replies() {
  static const std::vector<Reply> r = {
      // stop early: not a failure, too many recipients, throttling, auth codes
      {250, "2.0.0", "OK: queued as 4Xk3v2Ty1Rz"},
      {452, "4.5.3", "Your message has too many recipients."},
      {421, "4.7.28", "[203.0.113.7] Our system has detected an unusual rate of mail originating "
                      "from your IP address. To protect our users from spam, mail sent from your IP "
                      "address has been temporarily rate limited."},
      {421, "4.7.0", "[TSS04] Messages from 203.0.113.7 temporarily deferred due to unexpected "
                     "volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"},
      {451, "4.7.650", "The mail server [203.0.113.7] has been temporarily rate limited due to IP "
                       "reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775)"},
      {421, "", "Max message per connection reached, closing transmission channel"},
      {451, "4.7.1", "Sorry, the service is currently unavailable. Please come back later."},
      {550, "5.7.26", "This mail has been blocked because the sender is unauthenticated. Gmail "
                      "requires all senders to authenticate with either SPF or DKIM."},
      {550, "5.7.515", "Access denied, sending domain example.com doesn't meet the required "
                       "authentication level."},
      {451, "4.7.0", "telegram 429: Too Many Requests: retry after 7"},
      // address codes
      {550, "5.1.1", "The email account that you tried to reach does not exist. Please try "
                     "double-checking the recipient's email address for typos or unnecessary "
                     "spaces. https://support.google.com/mail/?p=NoSuchUser a1-20020a05"},
      {554, "5.1.1", "Unknown user"},
      {550, "5.1.1", "<kim@example.org>: Recipient address rejected: User unknown in virtual "
                     "mailbox table"},
      {550, "5.2.1", "The email account that you tried to reach is disabled."},
      {556, "5.1.10", "example.net accepts no mail (null MX)"},
      {0, "4.4.1", "connect to mx.example.com[198.51.100.4]:25 failed: Connection refused"},
      // provider wording
      {554, "", "delivery error: dd This user doesn't have a yahoo.com account "
                "(kim@yahoo.com) [0] - mta4012.mail.bf1.yahoo.com"},
      {550, "", "Message was not accepted -- invalid mailbox.  Local mailbox kim@mail.ru is "
                "unavailable: account is disabled"},
      {550, "", "Message was not accepted -- invalid mailbox.  Local mailbox kim@mail.ru is "
                "unavailable: user not found"},
      {550, "5.7.1", "No such user!"},
      {550, "5.5.0", "Requested action not taken: mailbox unavailable (S2017062302) "
                     "[AM7EUR03FT012.eop-EUR03.prod.protection.outlook.com]"},
      {552, "5.2.2", "The recipient's inbox is out of storage space and inactive. Please direct "
                     "the recipient to https://support.google.com/mail/?p=OverQuotaPerm"},
      {452, "4.2.2", "The recipient's inbox is out of storage space. Please direct the recipient "
                     "to https://support.google.com/mail/?p=OverQuotaTemp"},
      {552, "5.2.2", "Mailbox size limit exceeded"},
      // late: spam, policy, the generic x.7.x rule, network codes
      {550, "5.7.1", "[203.0.113.7] Our system has detected that this message is likely "
                     "unsolicited mail. To reduce the amount of spam sent to Gmail, this message "
                     "has been blocked. https://support.google.com/mail/?p=UnsolicitedMessageError"},
      {553, "5.7.1", "[BL21] Connections will not be accepted from 203.0.113.7, because the ip is "
                     "in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes"},
      {550, "5.7.1", "Unfortunately, messages from [203.0.113.7] weren't sent. Please contact your "
                     "Internet service provider since part of their network is on our block list "
                     "(S3150). You can also refer your provider to "
                     "http://mail.live.com/mail/troubleshooting.aspx#errors."},
      {550, "", "spam message rejected. Please visit http://help.mail.ru/notspam-support/id?c="
                "abcdef or  report details to abuse@corp.mail.ru. Error code: 1A2B. ID: 3C4D."},
      {554, "5.7.1", "Message rejected under suspicion of SPAM; https://ya.cc/1IrBc 1678901234-AbCdEf"},
      {554, "5.7.9", "Message not accepted for policy reasons. See "
                     "https://help.yahoo.com/kb/postmaster/SLN7206.html"},
      {550, "5.7.1", "telegram 403: Forbidden: bot was blocked by the user"},
      {554, "5.7.1", "<kim@example.org>: Relay access denied"},
      {0, "4.4.2", "connection with mx.example.com[198.51.100.4] lost reading reply: End of file"},
      {0, "4.7.5", "TLS handshake with mx.example.com[198.51.100.4] failed: certificate verify failed"},
      {554, "5.6.0", "whatsapp error 131009: Parameter value is not valid"},
      // no rule at all
      {550, "5.0.0", "Message could not be delivered for an unexplained reason (R42)"},
      {451, "4.3.0", "telegram HTTP 502: <html><head><title>502 Bad Gateway</title></head>"},
      {554, "", "Transaction failed, blame it on the weather: E2"},
      {451, "", "Local error in processing"},
      {550, "5.0.0", "Recipient rejected: contact the postmaster of this domain"},
  };
  return r;
}

std::vector<std::string> lines() {
  std::vector<std::string> out;
  for (const Reply& r : replies()) {
    out.push_back(mta::bounce::Classifier::canonical_line(r.code, r.enhanced, r.text));
  }
  return out;
}

void BM_Classify(benchmark::State& state) {
  const auto c = mta::bounce::Classifier::defaults();
  const auto& rs = replies();
  for (auto _ : state) {
    for (const Reply& r : rs) benchmark::DoNotOptimize(c->classify(r.code, r.enhanced, r.text));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rs.size()));
}
BENCHMARK(BM_Classify);

void BM_ClassifyLine(benchmark::State& state) {
  const auto c = mta::bounce::Classifier::defaults();
  const auto ls = lines();
  for (auto _ : state) {
    for (const std::string& l : ls) benchmark::DoNotOptimize(c->classify_line(l));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ls.size()));
}
BENCHMARK(BM_ClassifyLine);

void BM_ClassifyNoMatch(benchmark::State& state) {
  const auto c = mta::bounce::Classifier::defaults();
  std::vector<Reply> rs;
  for (const Reply& r : replies()) {
    if (!c->explain(r.code, r.enhanced, r.text).rule) rs.push_back(r);
  }
  for (auto _ : state) {
    for (const Reply& r : rs) benchmark::DoNotOptimize(c->classify(r.code, r.enhanced, r.text));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rs.size()));
  state.counters["lines"] = static_cast<double>(rs.size());
}
BENCHMARK(BM_ClassifyNoMatch);

// The default rules with every '(?i)literal' turned into '(?i)(?:literal)',
// which the engine cannot run as a substring search.
std::shared_ptr<const mta::bounce::Classifier> all_regex_rules() {
  std::ifstream in(VESTNIK_BOUNCE_RULES);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string wrapped =
      std::regex_replace(ss.str(), std::regex(R"('\(\?i\)([^'\n]*)')"), "'(?i)(?:$1)'");
  auto r = mta::bounce::Classifier::parse(wrapped, "all-regex");
  if (!r) {
    std::fprintf(stderr, "all-regex rules: %s\n", r.error().to_string().c_str());
    std::abort();
  }
  return *r;
}

void BM_AllRegex(benchmark::State& state) {
  const auto c = all_regex_rules();
  const auto& rs = replies();
  // Same answers, or the comparison means nothing.
  const auto d = mta::bounce::Classifier::defaults();
  for (const Reply& r : rs) {
    if (c->classify(r.code, r.enhanced, r.text) != d->classify(r.code, r.enhanced, r.text)) {
      state.SkipWithError("all-regex rules disagree with the defaults");
      return;
    }
  }
  for (auto _ : state) {
    for (const Reply& r : rs) benchmark::DoNotOptimize(c->classify(r.code, r.enhanced, r.text));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rs.size()));
}
BENCHMARK(BM_AllRegex);

void BM_OneRegexBaseline(benchmark::State& state) {
  const boost::regex re("(?i)user unknown", boost::regex::perl);
  const auto ls = lines();
  for (auto _ : state) {
    for (const std::string& l : ls) benchmark::DoNotOptimize(boost::regex_search(l.begin(), l.end(), re));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ls.size()));
}
BENCHMARK(BM_OneRegexBaseline);

}  // namespace
