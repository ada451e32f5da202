// queue/spool_internal.h: the pieces of the Spool shared by its .cpp files.
// Private to queue/.
//
// Layout of the implementation:
//   spool.cpp          the public API, the writer thread and group commit
//   spool_reads.cpp    get / counts / next_due on the caller's thread
//   spool_enqueue.cpp  preparing a batch on the caller's thread, storing it
//   spool_txn.cpp      lease, apply, cancel, reclaim and purge in a txn
//   counters.cpp       counter aggregation and reading
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "queue/queue.h"
#include "queue/record_format.h"
#include "queue/store.h"

namespace queue::detail {

// ---- counters ---------------------------------------------------------------

// The counter changes of one transaction, summed in memory and written once
// at the end (a batch of 1,000 messages to one domain touches two keys, not
// 2,000). Not thread-safe: owned by the writer.
class CounterDeltas {
 public:
  // No allocation once a destination has been seen in this transaction.
  void add(core::MessageStatus s, std::string_view destination, int64_t delta);
  void add_leased(int64_t delta) noexcept { leased_ += delta; }
  void clear();
  // Read-modify-writes every changed counter; a counter reaching 0 is deleted.
  core::Status flush(WriteTxn& txn);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using DestMap = std::unordered_map<std::string, int64_t, Hash, std::equal_to<>>;
  std::array<int64_t, 8> status_{};  // indexed by MessageStatus value
  std::array<DestMap, 8> dest_;      // per status: destination -> delta
  int64_t leased_ = 0;
  std::string key_;  // scratch for counter keys
};

// Reads kCounters into a Counts (every status present, zeros included).
core::Result<Counts> read_counts(ReadTxn& txn);

// ---- reads (spool_reads.cpp) ------------------------------------------------
core::Result<std::optional<MessageView>> read_message(const Store& store, const core::Id& id,
                                                      bool with_events);
core::Result<std::optional<core::TimePoint>> read_next_due(const Store& store);
core::Result<Counts> read_counts(const Store& store);

// ---- templates (spool_templates.cpp) ----------------------------------------
core::Result<std::optional<StoredTemplate>> read_template(const Store& store,
                                                          std::string_view tenant,
                                                          std::string_view id, uint32_t version);
core::Result<std::vector<StoredTemplate>> read_templates(const Store& store,
                                                         std::string_view tenant);

// ---- enqueue, prepared off the writer thread -------------------------------

struct Slice {
  size_t off = 0;
  size_t len = 0;
};

// One message of a batch, already encoded. `error` set: the item was
// refused before storage (bad input) and is reported as is.
struct PreparedItem {
  core::Id id;
  core::MessageStatus status = core::MessageStatus::kQueued;
  uint8_t priority = 2;
  int64_t time_ms = 0;  // due time (queued) or finish time (final)
  std::string destination;
  Slice idempotency;  // len 0: no key
  Slice record, content, event;  // content: len 0 for an item sharing another's
  std::optional<core::Error> error;
  // Content sharing (NewMessage::content_of). content_owner is the index of
  // the item whose content (and id as content id) this one uses: its own
  // index when it owns its content. An owner's `content` is encoded with
  // refs = content_refs (itself and every valid sharer). The writer counts
  // in refs_stored how many of them it really stored (duplicates store
  // nothing), and writes the content once, with that count.
  uint32_t content_owner = 0;
  uint64_t content_refs = 1;
  uint64_t refs_stored = 0;  // writer-side; reset on every run of the transaction
  // Direct lease (DirectLease): the record as leased and its "sending"
  // event, encoded beside the queued ones when the item may be leased at
  // once. admitted: -1 not asked yet, else the answer (kept across reruns
  // of the transaction, so DirectLease::admit is asked once).
  bool direct_ok = false;
  int8_t admitted = -1;
  Slice leased_record, leased_event;
};

// A batch ready for the writer: every value is serialized into one buffer
// on the submitting thread, so the writer only looks up and puts.
struct PreparedBatch {
  std::string tenant;
  std::string blob;
  std::vector<PreparedItem> items;
  bool shares_content = false;  // some owner has content_refs > 1
  // With a direct lease: per item, the leased record and its content
  // (shared by the items that share it); empty otherwise.
  std::vector<core::MessageRecord> leased_records;
  std::vector<std::shared_ptr<const core::Content>> contents;
  int64_t lease_until_ms = 0;
  std::string_view at(Slice s) const noexcept { return {blob.data() + s.off, s.len}; }
};

// Runs on the caller's thread. Assigns ids, builds the records and the
// first event, and encodes them. No store access.
// With `lease_for` set, items that could be leased at once are also
// encoded leased until now + *lease_for (DirectLease).
PreparedBatch prepare_batch(std::string tenant, std::vector<NewMessage> batch, core::TimePoint now,
                            core::IdGenerator& ids,
                            std::optional<core::Duration> lease_for = std::nullopt);

// ---- operations -------------------------------------------------------------

struct EnqueueOp {
  size_t count = 0;                    // messages submitted
  std::optional<core::Error> refused;  // set at submission: fail without storing
  PreparedBatch batch;
  Spool::EnqueueDone done;
  std::vector<core::Result<EnqueueOutcome>> results;
  DirectLease direct;
  std::vector<uint32_t> leased_items;  // items stored leased (this run of the txn)
  size_t admitted = 0;                 // DirectLease::admit said yes (over all runs)
};
struct CancelOp {
  core::Id id;
  std::string detail;
  std::function<void(core::Result<core::MessageStatus>)> done;
  core::Result<core::MessageStatus> result = core::MessageStatus::kCancelled;
};
struct LeaseOp {
  LeaseRequest request;
  std::function<void(core::Result<std::vector<Leased>>)> done;
  std::vector<Leased> leased;
};
struct ApplyOp {
  std::vector<Transition> transitions;
  std::function<void(core::Result<size_t>)> done;
  size_t stale = 0;
};
struct ReclaimOp {
  std::function<void(core::Result<size_t>)> done;
  size_t reclaimed = 0;
};
struct PurgeOp {
  size_t max = 0;
  std::function<void(core::Result<size_t>)> done;
  size_t purged = 0;
};
struct TemplateOp {
  std::string tenant;
  std::string id;
  std::optional<core::TemplateSource> source;  // none: delete
  std::function<void(core::Result<StoredTemplate>)> done;
  core::Result<StoredTemplate> result = StoredTemplate{};
};
struct ReceiptOp {
  std::vector<ReceiptUpdate> updates;
  std::function<void(core::Result<ReceiptStats>)> done;
  ReceiptStats stats;
};
struct FeedbackOp {
  std::vector<Feedback> items;
  std::function<void(core::Result<std::vector<FeedbackOutcome>>)> done;
  std::vector<FeedbackOutcome> outcomes;
  // Suppression filter changes to make once committed: +1 for a key put
  // that was new, -1 for a key removed (SuppressionFilter::key_hash).
  std::vector<std::pair<uint64_t, int>> filter_deltas;
};
using Op = std::variant<EnqueueOp, CancelOp, LeaseOp, ApplyOp, ReclaimOp, PurgeOp, TemplateOp,
                        ReceiptOp, FeedbackOp>;

// How much of a group an op uses up (group_commit_max_ops counts items).
size_t op_weight(const Op& op) noexcept;
bool is_enqueue(const Op& op) noexcept;
// Calls the op's callback with `e` (the whole group failed).
void fail_op(Op& op, const core::Error& e);
// Calls the op's callback with its own result (the group committed).
void complete_op(Op& op);

// Scratch the writer keeps across transactions so the hot path reuses
// capacity instead of allocating.
struct WriterScratch {
  format::RecordCodec codec;
  CounterDeltas counters;
  std::string key;
  std::vector<format::DueKey> candidates;
  std::vector<format::TimeIdKey> time_keys;
  uint64_t stale_results = 0;  // transitions skipped since open (for logs)
};

// Executes operations inside one write transaction. Every method returns a
// store error (which fails the whole group); an operation's own outcome
// (not found, conflict, stale) goes into the op. Methods reset the op's
// outcome first, because Store::write may run the transaction again.
class TxnOps {
 public:
  TxnOps(WriteTxn& txn, WriterScratch& scratch, const core::SpoolConfig& config,
         core::TimePoint now)
      : txn_(txn), s_(scratch), config_(config), now_(now), now_ms_(core::to_unix_ms(now)) {}

  core::Status enqueue(EnqueueOp& op);
  core::Status cancel(CancelOp& op);
  core::Status lease(LeaseOp& op);
  core::Status apply(ApplyOp& op);
  // Leases with lease_until <= now, or every lease when `all` (at open: the
  // process that held them is gone). At most `max` per call.
  core::Status reclaim(ReclaimOp& op, bool all, size_t max, std::string_view detail);
  core::Status purge(PurgeOp& op);
  core::Status put_template(TemplateOp& op);  // spool_templates.cpp
  core::Status apply_receipts(ReceiptOp& op);  // spool_receipts.cpp
  core::Status feedback(FeedbackOp& op);       // spool_feedback.cpp

 private:
  // Loads the record; nullopt when absent. Corrupt records are store errors
  // only when `strict`; otherwise they are logged and reported absent.
  core::Result<std::optional<core::MessageRecord>> load(const core::Id& id);
  core::Status store_record(const core::MessageRecord& r);
  core::Status add_event(core::MessageRecord& r, core::MessageStatus status,
                         std::string_view detail, uint32_t attempt,
                         std::optional<core::Channel> channel);
  core::Status put_due(const core::MessageRecord& r);
  core::Status del_due(const core::MessageRecord& r);
  core::Status lease_one(
      LeaseOp& op, core::MessageRecord& r,
      std::unordered_map<core::Id, std::shared_ptr<const core::Content>, core::IdHash>& contents);
  core::Status apply_one(const Transition& t, ApplyOp& op);
  core::Status finish(core::MessageRecord& r, core::MessageStatus status);
  // spool_feedback.cpp
  core::Status suppress(const core::Suppression& s, FeedbackOp& op, FeedbackOutcome& out);
  core::Status unsuppress(const Feedback& f, FeedbackOp& op, FeedbackOutcome& out);
  core::Status soft_bounce(const Feedback& f, FeedbackOp& op, FeedbackOutcome& out);
  core::Status message_feedback(const Feedback& f, FeedbackOutcome& out);

  WriteTxn& txn_;
  WriterScratch& s_;
  const core::SpoolConfig& config_;
  core::TimePoint now_;
  int64_t now_ms_;
};

// ---- suppressions (spool_feedback.cpp) --------------------------------------

// Which (tenant, channel, address) have any suppression, as a count of
// entries per 64-bit hash, so Spool::find_suppression answers "no" from
// memory for almost every message. A hash collision only costs a store
// read. Built at open, changed after each commit. Thread-safe.
class SuppressionFilter {
 public:
  static uint64_t key_hash(std::string_view tenant, std::string_view channel,
                           std::string_view address) noexcept;
  bool maybe(uint64_t h) const;
  void apply(const std::vector<std::pair<uint64_t, int>>& deltas);
  size_t size() const;
  // No lock: false while no suppression exists at all (the common case of
  // a young installation), so the hot path skips even the hashing.
  bool empty() const noexcept { return size_.load(std::memory_order_acquire) == 0; }

 private:
  std::atomic<size_t> size_{0};
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, uint32_t> counts_;  // GUARDED_BY(mu_)
};

// tenant '\0' channel '\0' address '\0' category
std::string suppression_key(std::string_view tenant, std::string_view channel,
                            std::string_view address, std::string_view category);
core::Result<core::Suppression> decode_suppression(std::string_view key, std::string_view value);
// Fills `filter` from Table::kSuppressions.
core::Status load_suppression_filter(ReadTxn& txn, SuppressionFilter& filter);
core::Result<std::optional<core::Suppression>> read_suppression(const Store& store,
                                                                const SuppressionFilter& filter,
                                                                std::string_view tenant,
                                                                std::string_view channel,
                                                                std::string_view address,
                                                                std::string_view category);
core::Result<std::vector<core::Suppression>> read_suppressions(const Store& store,
                                                               const SuppressionQuery& q);
core::Result<std::vector<InboundReport>> read_inbound(const Store& store, size_t max);

// Key of Table::kRefs: the channel byte, then the provider's ref.
inline std::string ref_key(core::Channel channel, std::string_view ref) {
  std::string k;
  k.reserve(1 + ref.size());
  k.push_back(static_cast<char>(channel));
  k.append(ref);
  return k;
}

// The channel a record is on now, if its channel list is not empty.
inline std::optional<core::Channel> current_channel(const core::MessageRecord& r) {
  if (r.channel_index < r.request.channels.size()) return r.request.channels[r.channel_index];
  return std::nullopt;
}

}  // namespace queue::detail
