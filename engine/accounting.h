// engine/accounting.h: the accounting log — one JSON line per delivery
// attempt, like PowerMTA's accounting file or KumoMTA's log records.
//
//   {"type":"delivery","time":"2026-11-24T09:00:01.250Z",
//    "queued":"2026-11-24T09:00:00.000Z","attempt":1,"id":"01JD...",
//    "tenant":"shop","campaign":"black-friday","category":"marketing",
//    "channel":"email","recipient_domain":"gmail.com",
//    "destination":"email:gmail.com","mx":"gmail-smtp-in.l.google.com",
//    "mx_ip":"142.250.1.27","source_ip":"192.0.2.10","tls":"TLSv1.3",
//    "tls_cipher":"TLS_AES_256_GCM_SHA384","code":250,"enhanced":"2.0.0",
//    "text":"OK","result":"delivered","bounce_class":null,"retry_at":null}
//
// Every key is always present, in this order; a value that does not apply
// or is unknown is null. Times are RFC 3339 UTC with milliseconds. The
// recipient is logged by its domain only (privacy: the full address is in
// the spool, keyed by id). Strings are escaped so that each line is valid
// JSON whatever bytes a peer sent (invalid UTF-8 becomes U+FFFD).
// The lines are written by core::RotatingLog's dedicated writer thread: an
// I/O thread recording an attempt never waits for the disk.
//
// Field reference for operators: docs/operations.md, "Accounting log".
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/config.h"
#include "core/message.h"
#include "core/result.h"
#include "core/rotating_log.h"
#include "transports/transport.h"

namespace engine {

// What the engine decided for the attempt ("result" in the line).
enum class AttemptResult : uint8_t {
  kDelivered = 1,  // "type":"delivery",  "result":"delivered"
  kDeferred = 2,   // "type":"transient", "result":"deferred" (a retry is due at retry_at)
  kFailed = 3,     // "type":"bounce",    "result":"failed" (final)
  kFallback = 4,   // "type":"bounce",    "result":"fallback" (failed on this channel; the
                   // message continues on its next channel at retry_at)
};
std::string_view attempt_result_name(AttemptResult r) noexcept;  // "delivered", ...

// Bounce classes: PowerMTA's names, from the bounce classifier
// (mta/bounce/classify.h, rules as data: bounces.rules_file), plus
// "transient" for a refusal that is not a bounce at all. Logged, so never
// rename one.
inline constexpr std::string_view kClassBadMailbox = "bad-mailbox";
inline constexpr std::string_view kClassBadDomain = "bad-domain";
inline constexpr std::string_view kClassInvalidSender = "invalid-sender";
inline constexpr std::string_view kClassQuota = "quota-issues";
inline constexpr std::string_view kClassTransient = "transient";
inline constexpr std::string_view kClassPolicy = "policy-related";
inline constexpr std::string_view kClassSpam = "spam-related";
inline constexpr std::string_view kClassOther = "other";

// The class of a refusal, from its reply: "transient" for a 4xx code (or
// code 0 with a 4.x.x status), else the classifier's category for
// "<code> <enhanced> <text>" (set_bounce_classifier; the built-in rules by
// default). No I/O.
std::string_view bounce_class(const core::Reply& reply) noexcept;

// One attempt, as the dispatcher saw it. Pointers are borrowed for the
// duration of the call that takes the entry.
struct AccountingEntry {
  const core::MessageRecord* record = nullptr;      // as it was leased for this attempt
  const transports::Outcome* outcome = nullptr;     // what the transport reported
  AttemptResult result = AttemptResult::kDeferred;  // what the engine decided
  uint32_t attempt = 1;                             // 1-based (record->attempts + 1)
  core::TimePoint time;                             // when the result arrived
  std::optional<core::TimePoint> retry_at;          // with kDeferred: when it is due again
  // With kFailed on a transient reply (the engine gave up): the category
  // it stored with the bounce ("retries-exhausted", "expired"), which is
  // then the line's bounce_class. Empty: "other".
  std::string_view gave_up_as;
};

// The line's bounce_class: empty (null) when delivered, "transient" when
// deferred, bounce_class(reply) when refused permanently, gave_up_as when
// the engine gave up on transient replies.
std::string_view entry_bounce_class(const AccountingEntry& e) noexcept;

// Appends the JSON object of `e` to `out`, without a newline.
// Hot path: about one allocation (the id's text) and no I/O.
// REQUIRES: e.record and e.outcome are not null.
void append_accounting_json(std::string& out, const AccountingEntry& e);

// The accounting file. record() may be called from any thread and never
// blocks on I/O (it formats the line and hands it to a RotatingLog). When
// the writer cannot keep up, lines are dropped and counted (dropped());
// delivery is never slowed down by accounting.
class AccountingLog {
 public:
  // config.enabled false: a log that ignores every record (one branch).
  // Otherwise opens config.file, or "<spool_path>/accounting.jsonl" when
  // that is empty, rotated by config.max_bytes / max_age / keep, with file
  // ages and rotated names read from `clock` (which must outlive the log).
  // Errors: as core::RotatingLog::open (kIoError when the file cannot be
  // opened), with field "accounting.file".
  static core::Result<std::unique_ptr<AccountingLog>> open(const core::AccountingConfig& config,
                                                           const std::string& spool_path,
                                                           const core::Clock& clock);
  ~AccountingLog();
  AccountingLog(const AccountingLog&) = delete;
  AccountingLog& operator=(const AccountingLog&) = delete;

  // Thread-safe, non-blocking. REQUIRES: as append_accounting_json.
  void record(const AccountingEntry& entry);

  // See core::RotatingLog. On a disabled log: ok, nothing, 0.
  core::Status flush(std::chrono::steady_clock::time_point deadline);
  void reopen();  // SIGHUP after an external rotation
  void close();   // drains and closes; later records are dropped
  uint64_t dropped() const noexcept;
  // Lines appended, written, dropped, lost, rotations (for metrics); zeros
  // when disabled.
  core::RotatingLog::Stats stats() const;

  bool enabled() const noexcept { return log_ != nullptr; }
  // The live file; empty when disabled.
  std::string path() const { return log_ ? log_->path() : std::string(); }
  // The underlying log (test hooks); null when disabled.
  core::RotatingLog* TEST_log() noexcept { return log_.get(); }

 private:
  explicit AccountingLog(std::unique_ptr<core::RotatingLog> log) : log_(std::move(log)) {}

  std::unique_ptr<core::RotatingLog> log_;  // null: disabled
};

}  // namespace engine
