// tests/engine/accounting_test.cpp: engine/accounting.cpp — the JSON line
// of each kind of attempt, escaping of hostile peer text, the bounce class
// table, and the log around a RotatingLog.
#include "engine/accounting.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/time_format.h"
#include "core/utf8.h"

namespace engine {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace std::string_literals;

constexpr std::string_view kId = "01JD8Z5Q3Y4N6M7K8P9R0S1T2V";

core::TimePoint at(std::string_view rfc3339) { return *core::parse_rfc3339(rfc3339); }

core::MessageRecord email_record() {
  core::MessageRecord r;
  r.id = *core::Id::parse(kId);
  r.tenant = "shop";
  r.request.channels = {core::Channel::kEmail};
  r.request.to.email = "Anna.K@Gmail.COM";
  r.request.category = "marketing";
  r.request.tags = {{"lang", "uk"}, {"campaign", "black-friday"}};
  r.created_at = at("2026-11-24T09:00:00.000Z");
  r.destination = "email:gmail.com";
  r.attempts = 0;
  return r;
}

std::shared_ptr<const transports::PeerInfo> gmail_peer() {
  auto p = std::make_shared<transports::PeerInfo>();
  p->host = "gmail-smtp-in.l.google.com";
  p->ip = "142.250.102.27";
  p->source_ip = "192.0.2.10";
  p->tls = "TLSv1.3";
  p->tls_cipher = "TLS_AES_256_GCM_SHA384";
  return p;
}

transports::Outcome outcome(transports::OutcomeKind kind, uint16_t code, std::string enhanced,
                            std::string text,
                            std::shared_ptr<const transports::PeerInfo> peer = nullptr) {
  transports::Outcome o;
  o.kind = kind;
  o.reply = {code, std::move(enhanced), std::move(text)};
  o.peer = std::move(peer);
  return o;
}

std::string line_of(const AccountingEntry& e) {
  std::string out;
  append_accounting_json(out, e);
  return out;
}

json::object parse_object(const std::string& line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);  // also refuses invalid UTF-8
  EXPECT_FALSE(ec) << ec.message() << ": " << line;
  EXPECT_TRUE(v.is_object()) << line;
  return v.is_object() ? v.as_object() : json::object();
}

// The string at `k`, or "<not a string>"; keeps comparisons unambiguous.
std::string str(const json::object& j, std::string_view k) {
  const json::value* v = j.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : "<not a string>";
}
bool is_null(const json::object& j, std::string_view k) {
  const json::value* v = j.if_contains(k);
  return v && v->is_null();
}
int64_t num(const json::object& j, std::string_view k) {
  const json::value* v = j.if_contains(k);
  return v && v->is_int64() ? v->as_int64() : -1;
}

const std::vector<std::string> kKeys = {
    "type",     "time",      "queued",       "attempt",          "id",          "tenant",
    "campaign", "category",  "channel",      "recipient_domain", "destination", "mx",
    "mx_ip",    "source_ip", "tls",          "tls_cipher",       "code",        "enhanced",
    "text",     "result",    "bounce_class", "retry_at"};

// Every key present, exactly once, in the documented order.
void expect_keys(const json::object& o) {
  std::vector<std::string> keys;
  for (const auto& kv : o) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, kKeys);
}

TEST(AccountingJson, DeliveredLineIsExact) {
  const auto record = email_record();
  const auto o = outcome(transports::OutcomeKind::kDelivered, 250, "2.0.0",
                         "OK 1732438801 a1-20020a.1 - gsmtp", gmail_peer());
  AccountingEntry e{&record, &o, AttemptResult::kDelivered, 1, at("2026-11-24T09:00:01.250Z")};
  EXPECT_EQ(line_of(e),
            "{\"type\":\"delivery\",\"time\":\"2026-11-24T09:00:01.250Z\","
            "\"queued\":\"2026-11-24T09:00:00.000Z\",\"attempt\":1,"
            "\"id\":\"01JD8Z5Q3Y4N6M7K8P9R0S1T2V\",\"tenant\":\"shop\","
            "\"campaign\":\"black-friday\",\"category\":\"marketing\",\"channel\":\"email\","
            "\"recipient_domain\":\"gmail.com\",\"destination\":\"email:gmail.com\","
            "\"mx\":\"gmail-smtp-in.l.google.com\",\"mx_ip\":\"142.250.102.27\","
            "\"source_ip\":\"192.0.2.10\",\"tls\":\"TLSv1.3\","
            "\"tls_cipher\":\"TLS_AES_256_GCM_SHA384\",\"code\":250,\"enhanced\":\"2.0.0\","
            "\"text\":\"OK 1732438801 a1-20020a.1 - gsmtp\",\"result\":\"delivered\","
            "\"bounce_class\":null,\"retry_at\":null}");
  expect_keys(parse_object(line_of(e)));
}

TEST(AccountingJson, DeferredWithoutPeer) {
  auto record = email_record();
  record.attempts = 2;
  record.request.tags.clear();
  // The attempt never reached a peer (e.g. DNS failed): no reply code.
  const auto o = outcome(transports::OutcomeKind::kTransient, 0, "", "DNS lookup timed out");
  AccountingEntry e{&record,
                    &o,
                    AttemptResult::kDeferred,
                    3,
                    at("2026-11-24T10:15:00.007Z"),
                    at("2026-11-24T11:15:00.007Z")};
  const json::object j = parse_object(line_of(e));
  expect_keys(j);
  EXPECT_EQ(str(j, "type"), "transient");
  EXPECT_EQ(str(j, "result"), "deferred");
  EXPECT_EQ(str(j, "time"), "2026-11-24T10:15:00.007Z");
  EXPECT_EQ(num(j, "attempt"), 3);
  EXPECT_TRUE(is_null(j, "campaign"));
  for (const char* k : {"mx", "mx_ip", "source_ip", "tls", "tls_cipher", "code", "enhanced"}) {
    EXPECT_TRUE(is_null(j, k)) << k;
  }
  EXPECT_EQ(str(j, "text"), "DNS lookup timed out");
  EXPECT_EQ(str(j, "bounce_class"), "transient");
  EXPECT_EQ(str(j, "retry_at"), "2026-11-24T11:15:00.007Z");
}

TEST(AccountingJson, DeferredByPeerInPlainText) {
  const auto record = email_record();
  auto peer = std::make_shared<transports::PeerInfo>(*gmail_peer());
  peer->tls.clear();
  peer->tls_cipher.clear();
  const auto o = outcome(transports::OutcomeKind::kTransient, 421, "4.7.28",
                         "Our system has detected an unusual rate of unsolicited mail", peer);
  AccountingEntry e{&record,
                    &o,
                    AttemptResult::kDeferred,
                    1,
                    at("2026-11-24T09:00:00Z"),
                    at("2026-11-24T09:05:00Z")};
  const json::object j = parse_object(line_of(e));
  EXPECT_EQ(str(j, "mx"), "gmail-smtp-in.l.google.com");
  EXPECT_TRUE(is_null(j, "tls"));
  EXPECT_TRUE(is_null(j, "tls_cipher"));
  EXPECT_EQ(num(j, "code"), 421);
  EXPECT_EQ(str(j, "enhanced"), "4.7.28");
  EXPECT_EQ(str(j, "bounce_class"), "transient");
}

TEST(AccountingJson, FailedPermanently) {
  const auto record = email_record();
  const auto o = outcome(transports::OutcomeKind::kPermanent, 550, "5.1.1",
                         "The email account that you tried to reach does not exist", gmail_peer());
  AccountingEntry e{&record, &o, AttemptResult::kFailed, 1, at("2026-11-24T09:00:02Z")};
  const json::object j = parse_object(line_of(e));
  expect_keys(j);
  EXPECT_EQ(str(j, "type"), "bounce");
  EXPECT_EQ(str(j, "result"), "failed");
  EXPECT_EQ(num(j, "code"), 550);
  EXPECT_EQ(str(j, "enhanced"), "5.1.1");
  EXPECT_EQ(str(j, "bounce_class"), "bad-mailbox");
  EXPECT_TRUE(is_null(j, "retry_at"));
  EXPECT_EQ(str(j, "id"), kId);
  EXPECT_EQ(str(j, "queued"), "2026-11-24T09:00:00.000Z");
}

TEST(AccountingJson, FailedAfterGivingUpOnTransientReplies) {
  auto record = email_record();
  record.attempts = 4;
  const auto o =
      outcome(transports::OutcomeKind::kTransient, 451, "4.3.0", "try later", gmail_peer());
  AccountingEntry e{&record, &o, AttemptResult::kFailed, 5, at("2026-11-24T15:00:00Z")};
  e.gave_up_as = "retries-exhausted";
  EXPECT_EQ(str(parse_object(line_of(e)), "bounce_class"), "retries-exhausted");
  e.gave_up_as = {};
  EXPECT_EQ(str(parse_object(line_of(e)), "bounce_class"), "other");
}

TEST(AccountingJson, OtherChannelsHaveNoRecipientDomain) {
  auto record = email_record();
  record.request.channels = {core::Channel::kTelegram, core::Channel::kEmail};
  record.request.to.telegram_chat_id = "123456";
  record.destination = "telegram:default";
  const auto o = outcome(transports::OutcomeKind::kDelivered, 200, "", "ok");
  AccountingEntry e{&record, &o, AttemptResult::kDelivered, 1, at("2026-11-24T09:00:00Z")};
  const json::object j = parse_object(line_of(e));
  EXPECT_EQ(str(j, "channel"), "telegram");
  EXPECT_TRUE(is_null(j, "recipient_domain"));
  EXPECT_EQ(str(j, "destination"), "telegram:default");

  // An email recipient without a domain: null too, not "".
  record.request.channels = {core::Channel::kEmail};
  record.request.to.email = "postmaster";
  EXPECT_TRUE(is_null(parse_object(line_of(e)), "recipient_domain"));
}

TEST(AccountingJson, HostileTextStaysOneValidJsonLine) {
  auto record = email_record();
  record.tenant = "te\"n\\ant\x01"s;
  record.request.tags = {{"campaign", "q\"\r\n\t"}};
  record.request.to.email = "x@EXAMPLE.\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80";  // пример
  const std::string text = "say \"hi\" \\ bye\r\nSecond line\0after NUL"s + "\xff" + "\xc3\x28" +
                           " \xe2\x82" + " \xd0\x9f\xd1\x80\xd0\xb8" + "\x7f";
  auto peer = std::make_shared<transports::PeerInfo>();
  peer->host = "mx\n\"evil\"";
  const auto o = outcome(transports::OutcomeKind::kPermanent, 554, "5.7.1", text, peer);
  AccountingEntry e{&record, &o, AttemptResult::kFailed, 1, at("2026-11-24T09:00:00Z")};
  const std::string line = line_of(e);

  EXPECT_EQ(line.find_first_of(std::string("\r\n\0", 3)), std::string::npos) << line;
  EXPECT_TRUE(core::utf8::valid(line.data(), line.size()));
  const json::object j = parse_object(line);
  EXPECT_EQ(str(j, "tenant"), "te\"n\\ant\x01"s);
  EXPECT_EQ(str(j, "campaign"), "q\"\r\n\t");
  EXPECT_EQ(str(j, "recipient_domain"), "example.\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80");
  EXPECT_EQ(str(j, "mx"), "mx\n\"evil\"");
  // Each invalid byte becomes U+FFFD; valid UTF-8 and DEL pass through.
  const std::string want = "say \"hi\" \\ bye\r\nSecond line\0after NUL"s + "\xef\xbf\xbd" +
                           "\xef\xbf\xbd(" + " \xef\xbf\xbd\xef\xbf\xbd" +
                           " \xd0\x9f\xd1\x80\xd0\xb8" + "\x7f";
  EXPECT_EQ(str(j, "text"), want);
  EXPECT_EQ(str(j, "bounce_class"), "policy-related");
}

TEST(AccountingJson, TimesMatchCoreFormatter) {
  // The hand-written formatter against core::format_rfc3339, over leap
  // days, year ends, and every millisecond digit position.
  const int64_t starts[] = {0, core::to_unix_ms(at("2024-02-29T23:59:59.999Z")),
                            core::to_unix_ms(at("1999-12-31T23:59:59.999Z")),
                            core::to_unix_ms(at("2100-03-01T00:00:00.000Z")),
                            core::to_unix_ms(at("2261-01-01T00:00:00.000Z"))};
  for (int64_t start : starts) {
    for (int64_t step : {int64_t{1}, int64_t{999}, int64_t{3'600'001}, int64_t{86'400'000}}) {
      for (int k = 0; k < 50; ++k) {
        const core::TimePoint t = core::from_unix_ms(start + k * step);
        auto record = email_record();
        record.created_at = t;
        const auto o = outcome(transports::OutcomeKind::kDelivered, 250, "", "");
        AccountingEntry e{&record, &o, AttemptResult::kDelivered, 1, t};
        const json::object j = parse_object(line_of(e));
        ASSERT_EQ(str(j, "queued"), core::format_rfc3339(t));
      }
    }
  }
}

struct ClassCase {
  uint16_t code;
  const char* enhanced;
  const char* text;
  std::string_view want;
};

TEST(AccountingBounceClass, Table) {
  const ClassCase cases[] = {
      {550, "5.1.1", "user unknown", kClassBadMailbox},
      {550, "5.1.0", "address rejected", kClassBadMailbox},
      {553, "5.1.3", "bad recipient address syntax", kClassBadMailbox},
      {551, "5.1.6", "mailbox has moved", "inactive-mailbox"},
      {550, "5.1.2", "bad destination system", kClassBadDomain},
      {556, "5.1.10", "recipient domain has null MX", kClassBadDomain},
      {550, "5.1.7", "bad sender mailbox", kClassInvalidSender},
      {550, "5.1.8", "bad sender system", kClassInvalidSender},
      {552, "5.2.2", "mailbox full", kClassQuota},
      {452, "4.2.2", "mailbox full, try later", kClassTransient},
      {451, "4.7.1", "greylisted", kClassTransient},
      {421, "4.7.0", "[TSS04] Messages temporarily deferred", kClassTransient},
      {450, "", "try again", kClassTransient},
      {554, "5.7.1", "Message rejected as SPAM", kClassSpam},
      {550, "5.7.1", "likely Unsolicited mail", kClassSpam},
      {550, "5.7.1", "looks like junk", kClassSpam},
      {550, "5.7.26", "unauthenticated email is not accepted (DMARC)", "auth-failed"},
      {550, "5.7.1", "relaying denied", "relaying-issues"},
      {550, "5.7.1", "Message not accepted for policy reasons", kClassPolicy},
      {552, "5.3.4", "message too big", kClassQuota},
      {554, "5.2.1", "mailbox disabled", "inactive-mailbox"},
      {550, "", "no such user", kClassBadMailbox},
      {0, "", "connection refused", kClassOther},
      {550, "5.1", "malformed enhanced code", kClassOther},
      {250, "2.0.0", "ok", kClassOther},
  };
  for (const auto& c : cases) {
    const core::Reply reply{c.code, c.enhanced, c.text};
    EXPECT_EQ(bounce_class(reply), c.want) << c.code << " " << c.enhanced << " " << c.text;
  }
}

// ---- the log ----------------------------------------------------------------

class AccountingLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vestnik_acct_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<std::string> read_lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  fs::path dir_;
  core::ManualClock clock_;
};

TEST_F(AccountingLogTest, WritesOneLinePerRecordIntoTheSpoolByDefault) {
  core::AccountingConfig config;  // enabled, file empty
  auto log = AccountingLog::open(config, dir_.string(), clock_);
  ASSERT_TRUE(log) << log.error().to_string();
  ASSERT_TRUE((*log)->enabled());
  EXPECT_EQ((*log)->path(), (dir_ / "accounting.jsonl").string());

  const auto record = email_record();
  const auto delivered = outcome(transports::OutcomeKind::kDelivered, 250, "2.0.0", "ok");
  const auto refused = outcome(transports::OutcomeKind::kPermanent, 552, "5.2.2", "full");
  constexpr int kThreads = 3;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const bool ok = (i + t) % 2 == 0;
        AccountingEntry e{&record, ok ? &delivered : &refused,
                          ok ? AttemptResult::kDelivered : AttemptResult::kFailed,
                          static_cast<uint32_t>(i + 1), clock_.now()};
        (*log)->record(e);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*log)->flush(std::chrono::steady_clock::now() + 30s));
  const auto lines = read_lines(dir_ / "accounting.jsonl");
  ASSERT_EQ(lines.size(), size_t{kThreads * kPerThread});
  size_t bounces = 0;
  for (const auto& line : lines) {
    const json::object j = parse_object(line);
    expect_keys(j);
    if (str(j, "type") == "bounce") {
      ++bounces;
      EXPECT_EQ(str(j, "bounce_class"), "quota-issues");
    }
  }
  EXPECT_EQ(bounces, size_t{kThreads * kPerThread / 2});
  EXPECT_EQ((*log)->dropped(), 0u);
  EXPECT_EQ((*log)->stats().written_lines, uint64_t{kThreads * kPerThread});
  (*log)->close();
}

TEST_F(AccountingLogTest, ConfiguredFileAndRotation) {
  core::AccountingConfig config;
  config.file = (dir_ / "acct.jsonl").string();
  config.max_bytes = 1;  // every line rotates the previous one out
  config.keep = 2;
  auto log = AccountingLog::open(config, "/nonexistent-spool", clock_);
  ASSERT_TRUE(log) << log.error().to_string();
  const auto record = email_record();
  const auto o = outcome(transports::OutcomeKind::kDelivered, 250, "2.0.0", "ok");
  for (uint32_t i = 1; i <= 4; ++i) {
    (*log)->record({&record, &o, AttemptResult::kDelivered, i, clock_.now()});
  }
  ASSERT_TRUE((*log)->flush(std::chrono::steady_clock::now() + 30s));
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(read_lines(entry.path()).size(), 1u) << entry.path();
  }
  EXPECT_EQ(files, 3u);  // the live file and the two newest rotated ones
  EXPECT_EQ(num(parse_object(read_lines(dir_ / "acct.jsonl").at(0)), "attempt"), 4);
}

TEST_F(AccountingLogTest, DisabledLogIgnoresEverything) {
  core::AccountingConfig config;
  config.enabled = false;
  auto log = AccountingLog::open(config, dir_.string(), clock_);
  ASSERT_TRUE(log);
  EXPECT_FALSE((*log)->enabled());
  EXPECT_EQ((*log)->path(), "");
  const auto record = email_record();
  const auto o = outcome(transports::OutcomeKind::kDelivered, 250, "2.0.0", "ok");
  (*log)->record({&record, &o, AttemptResult::kDelivered, 1, clock_.now()});
  EXPECT_TRUE((*log)->flush(std::chrono::steady_clock::now() + 1s));
  EXPECT_EQ((*log)->dropped(), 0u);
  (*log)->close();
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(AccountingLogTest, UnopenableFileIsAnErrorNamingTheKey) {
  core::AccountingConfig config;
  auto log = AccountingLog::open(config, (dir_ / "no" / "such" / "spool").string(), clock_);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, core::Errc::kIoError);
  EXPECT_EQ(log.error().field, "accounting.file");
}

TEST_F(AccountingLogTest, RecordsAfterCloseAreDroppedAndCounted) {
  core::AccountingConfig config;
  auto log = AccountingLog::open(config, dir_.string(), clock_);
  ASSERT_TRUE(log);
  const auto record = email_record();
  const auto o = outcome(transports::OutcomeKind::kDelivered, 250, "2.0.0", "ok");
  (*log)->record({&record, &o, AttemptResult::kDelivered, 1, clock_.now()});
  (*log)->close();
  (*log)->record({&record, &o, AttemptResult::kDelivered, 2, clock_.now()});
  EXPECT_EQ((*log)->dropped(), 1u);
  EXPECT_EQ(read_lines(dir_ / "accounting.jsonl").size(), 1u);
}

}  // namespace
}  // namespace engine
