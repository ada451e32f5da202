// engine/accounting.cpp: accounting lines and their log.
//
// The line is written by hand rather than through boost::json: it is built
// for every attempt on the dispatcher's strand, and a fixed set of keys
// written straight into a reused buffer costs a fraction of building a
// json::object first. Escaping is core::log::append_json_escaped (the one
// copy of the rules), behind a fast path that copies runs of plain ASCII in
// one go, which is nearly all of what we log.
#include "engine/accounting.h"

#include "engine/feedback.h"
#include "mta/bounce/classify.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "core/log.h"

namespace engine {
namespace {

// Bytes that JSON strings carry verbatim and that need no UTF-8 check:
// printable ASCII except '"' and '\\'. A table: one load per byte.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[static_cast<size_t>(c)] = c != '"' && c != '\\';
  return t;
}();

void append_escaped(std::string& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size() && kPlain[static_cast<unsigned char>(s[i])]) ++i;
  out.append(s.data(), i);
  if (i < s.size()) core::log::append_json_escaped(out, s.substr(i));
}

void append_uint(std::string& out, uint64_t v) {
  char buf[20];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// "\"2026-11-24T09:00:00.123Z\"" (quoted), as core::format_rfc3339 writes it, without
// its allocation and formatting library call (three of these per line).
void append_rfc3339(std::string& out, core::TimePoint t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  int64_t in_day = (ms - day).count();
  const int y = static_cast<int>(ymd.year());
  const unsigned mo = static_cast<unsigned>(ymd.month());
  const unsigned d = static_cast<unsigned>(ymd.day());
  const auto h = static_cast<unsigned>(in_day / 3'600'000);
  const auto mi = static_cast<unsigned>(in_day / 60'000 % 60);
  const auto s = static_cast<unsigned>(in_day / 1000 % 60);
  const auto f = static_cast<unsigned>(in_day % 1000);
  char b[26] = {'"', '0', '0', '0', '0', '-', '0', '0', '-', '0', '0', 'T', '0',
                '0', ':', '0', '0', ':', '0', '0', '.', '0', '0', '0', 'Z', '"'};
  auto put = [&b](int pos, unsigned v, int width) {
    for (int k = width - 1; k >= 0; --k) {
      b[pos + k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(1, static_cast<unsigned>(std::clamp(y, 0, 9999)), 4);
  put(6, mo, 2);
  put(9, d, 2);
  put(12, h, 2);
  put(15, mi, 2);
  put(18, s, 2);
  put(21, f, 3);
  out.append(b, sizeof b);
}

// Writes `"key":` with the right separator. Keys are our own literals and
// need no escaping.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) { out_ += '{'; }
  void end() { out_ += '}'; }

  // `,"k":` plus `open` (empty, or a quote for string values), in one append: single
  // characters appended one by one are a measurable part of the line's cost.
  void key(std::string_view k, std::string_view open = {}) {
    char buf[48];
    size_t n = 0;
    if (!first_) buf[n++] = ',';
    first_ = false;
    buf[n++] = '"';
    assert(open.size() <= 1 && k.size() + 5 <= sizeof buf);
    std::memcpy(buf + n, k.data(), k.size());
    n += k.size();
    buf[n++] = '"';
    buf[n++] = ':';
    if (!open.empty()) buf[n++] = open[0];
    out_.append(buf, n);
  }
  void str(std::string_view k, std::string_view v) {
    key(k, "\"");
    append_escaped(out_, v);
    out_ += '"';
  }
  // Empty strings mean "not known" here: null.
  void str_or_null(std::string_view k, std::string_view v) {
    if (v.empty()) {
      null(k);
    } else {
      str(k, v);
    }
  }
  void num(std::string_view k, uint64_t v) {
    key(k);
    append_uint(out_, v);
  }
  void null(std::string_view k) {
    key(k);
    out_ += "null";
  }
  void time(std::string_view k, core::TimePoint t) {
    key(k);
    append_rfc3339(out_, t);
  }

 private:
  std::string& out_;
  bool first_ = true;
};

std::string_view type_name(AttemptResult r) noexcept {
  switch (r) {
    case AttemptResult::kDelivered:
      return "delivery";
    case AttemptResult::kDeferred:
      return "transient";
    case AttemptResult::kFailed:
    case AttemptResult::kFallback:
      return "bounce";
  }
  return "unknown";
}

// The domain of an addr-spec, for the "recipient_domain" field: the part
// after the last '@'. Not lowered here: append_lower_escaped does that.
std::string_view domain_of(std::string_view address) noexcept {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

}  // namespace

std::string_view attempt_result_name(AttemptResult r) noexcept {
  switch (r) {
    case AttemptResult::kDelivered:
      return "delivered";
    case AttemptResult::kDeferred:
      return "deferred";
    case AttemptResult::kFailed:
      return "failed";
    case AttemptResult::kFallback:
      return "fallback";
  }
  return "unknown";
}

std::string_view bounce_class(const core::Reply& reply) noexcept {
  // A 4xx refusal (or a 4.x.x status) is not a bounce, whatever its words.
  const bool transient_code = reply.code >= 400 && reply.code < 500;
  const bool transient_status = !reply.enhanced.empty() && reply.enhanced[0] == '4';
  if (transient_code || (reply.code == 0 && transient_status)) return kClassTransient;
  return mta::bounce::category_name(
      bounce_classifier()->classify(reply.code, reply.enhanced, reply.text));
}

std::string_view entry_bounce_class(const AccountingEntry& e) noexcept {
  switch (e.result) {
    case AttemptResult::kDelivered:
      return {};
    case AttemptResult::kDeferred:
      return kClassTransient;
    case AttemptResult::kFailed:
    case AttemptResult::kFallback:
      break;
  }
  if (e.outcome->kind == transports::OutcomeKind::kPermanent) return bounce_class(e.outcome->reply);
  return e.gave_up_as.empty() ? kClassOther : e.gave_up_as;
}

void append_accounting_json(std::string& out, const AccountingEntry& e) {
  const core::MessageRecord& r = *e.record;
  const transports::Outcome& o = *e.outcome;
  const transports::PeerInfo* peer = o.peer.get();
  const core::Channel channel = r.channel();

  Writer w(out);
  w.str("type", type_name(e.result));
  w.time("time", e.time);
  w.time("queued", r.created_at);
  w.num("attempt", e.attempt);
  w.str("id", r.id.to_string());
  w.str("tenant", r.tenant);
  const auto campaign = std::find_if(r.request.tags.begin(), r.request.tags.end(),
                                     [](const core::Tag& t) { return t.key == "campaign"; });
  if (campaign != r.request.tags.end()) {
    w.str("campaign", campaign->value);
  } else {
    w.null("campaign");
  }
  w.str("category", r.request.category);
  w.str("channel", core::channel_name(channel));
  // Domains are compared case-insensitively; lowering ASCII here lets log
  // tools group by the field as is. UTF-8 (IDN) bytes are kept.
  const std::string_view domain =
      channel == core::Channel::kEmail ? domain_of(r.request.to.address_for(channel)) : "";
  if (domain.empty()) {
    w.null("recipient_domain");
  } else {
    w.key("recipient_domain", "\"");
    const size_t start = out.size();
    append_escaped(out, domain);
    std::transform(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
                   out.begin() + static_cast<std::ptrdiff_t>(start),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    out += '"';
  }
  w.str("destination", r.destination);
  w.str_or_null("mx", peer ? std::string_view(peer->host) : "");
  w.str_or_null("mx_ip", peer ? std::string_view(peer->ip) : "");
  w.str_or_null("source_ip", peer ? std::string_view(peer->source_ip) : "");
  w.str_or_null("tls", peer ? std::string_view(peer->tls) : "");
  w.str_or_null("tls_cipher", peer ? std::string_view(peer->tls_cipher) : "");
  if (o.reply.code == 0) {
    w.null("code");  // no reply at all (connection refused, DNS, timeout)
  } else {
    w.num("code", o.reply.code);
  }
  w.str_or_null("enhanced", o.reply.enhanced);
  w.str("text", o.reply.text);
  w.str("result", attempt_result_name(e.result));
  w.str_or_null("bounce_class", entry_bounce_class(e));
  if (e.retry_at) {
    w.time("retry_at", *e.retry_at);
  } else {
    w.null("retry_at");
  }
  w.end();
}

core::Result<std::unique_ptr<AccountingLog>> AccountingLog::open(
    const core::AccountingConfig& config, const std::string& spool_path, const core::Clock& clock) {
  if (!config.enabled) return std::unique_ptr<AccountingLog>(new AccountingLog(nullptr));
  core::RotatingLogOptions o;
  o.path = config.file.empty() ? (std::filesystem::path(spool_path) / "accounting.jsonl").string()
                               : config.file;
  o.max_bytes = config.max_bytes;
  o.max_age = config.max_age;
  o.keep = config.keep;
  o.clock = &clock;
  auto log = core::RotatingLog::open(std::move(o));
  if (!log) {
    core::Error err = log.error();
    err.field = "accounting.file";
    return err;
  }
  return std::unique_ptr<AccountingLog>(new AccountingLog(std::move(*log)));
}

AccountingLog::~AccountingLog() = default;

void AccountingLog::record(const AccountingEntry& entry) {
  if (!log_) return;
  // One buffer per thread: formatting allocates nothing once it has grown
  // to the longest line this thread has written.
  thread_local std::string line;
  line.clear();
  append_accounting_json(line, entry);
  log_->append(line);
  if (line.capacity() > (64u << 10)) std::string().swap(line);  // a freak reply; let it go
}

core::Status AccountingLog::flush(std::chrono::steady_clock::time_point deadline) {
  return log_ ? log_->flush(deadline) : core::Status();
}

void AccountingLog::reopen() {
  if (log_) log_->reopen();
}

void AccountingLog::close() {
  if (log_) log_->close();
}

uint64_t AccountingLog::dropped() const noexcept { return log_ ? log_->dropped() : 0; }

core::RotatingLog::Stats AccountingLog::stats() const {
  return log_ ? log_->stats() : core::RotatingLog::Stats{};
}

}  // namespace engine
