// engine/inbound.h: reports that come back by mail — DSN bounces, ARF and
// JMRP complaints, mailto unsubscribes — matched to the message they are
// about and turned into status changes and suppressions (issue #7).
// Private to engine/.
//
// Matching, strongest first (deliverability.md §2.4, §3):
//   1. the VERP token in the recipient address (smtp.return_path with
//      {token}): HMAC-sealed (tenant, message id), so it is trusted as is;
//   2. the DSN's Original-Envelope-Id (we send ENVID = the message id);
//   3. the trace header (email.trace_header) of the attached original;
//   4. the Message-ID of the attached original ("<id@domain>").
// 2-4 are not authenticated (anyone can write a DSN naming an id), so a
// message found that way is acted on only when the report names the
// message's own recipient (Final-/Original-Recipient, Original-Rcpt-To,
// X-HmXmrOriginalRecipient, or the original's To:), or names no
// recipient at all and quotes the original's trace header or Message-ID.
//
// What is done (suppress.h has the suppression policy):
//   DSN / text bounce, Action failed   message failed after delivery, with
//                                      the classified bounce; hard bounce
//                                      suppressed, soft counted
//   DSN Action delayed / delivered...  an event on the message
//   ARF / JMRP complaint               message complained; the recipient
//                                      suppressed for every category (email)
//   mailto unsubscribe                 the token's recipient unsubscribed
//   auto-reply (out of office), unknown mail: counted and dropped
// A report is deleted from the spool in the same transaction that applies
// what it says, so a crash in between processes it again (every step is
// idempotent: a second DSN does not fail a message twice).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/message.h"
#include "queue/queue.h"

namespace mta::bounce {
class Classifier;
}

namespace engine {

// The message store as plan_report sees it.
using MessageLookup = std::function<std::optional<core::MessageRecord>(const core::Id& id)>;

struct ReportPlan {
  std::string kind;         // mta::report::kind_name, or "unsubscribe", "garbage"
  std::string outcome;      // one line for the log: what was matched and done
  bool matched = false;     // tied to one of our messages (or a valid unsubscribe token)
  std::vector<queue::Feedback> feedback;  // without the kInboundDone (the caller adds it)
};

// Decides what `report` means. Pure apart from `lookup` (which it calls
// for at most a few ids). `classifier` classifies DSN statuses.
ReportPlan plan_report(const queue::InboundReport& report, const core::Config& config,
                       const mta::bounce::Classifier& classifier, const MessageLookup& lookup,
                       core::TimePoint now);

// Stores reports, processes them off the caller's thread, and processes at
// start what a previous process left. Thread-safe.
class InboundProcessor : public std::enable_shared_from_this<InboundProcessor> {
 public:
  InboundProcessor(std::shared_ptr<const core::Config> config, queue::Spool& spool,
                   const core::Clock& clock, boost::asio::any_io_executor executor,
                   std::shared_ptr<const mta::bounce::Classifier> classifier);

  // Engine::receive_report.
  void receive(queue::InboundReport report, std::function<void(core::Result<core::Id>)> done);
  // Processes the reports stored by an earlier run (in batches of
  // inbound.batch). Call once at start.
  void recover();

  // Counters, for tests and /metrics.
  struct Stats {
    uint64_t received = 0, processed = 0, matched = 0, unmatched = 0, failed = 0;
  };
  Stats stats() const;

 private:
  void process(std::vector<queue::InboundReport> reports, int attempt);

  std::shared_ptr<const core::Config> config_;
  queue::Spool& spool_;
  const core::Clock& clock_;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<const mta::bounce::Classifier> classifier_;
  mutable std::mutex mu_;
  Stats stats_;  // GUARDED_BY(mu_)
};

}  // namespace engine
