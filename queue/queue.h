// queue/queue.h: the durable spool; the public header of `queue`.
//
// The Spool holds every accepted message until it has a final status, plus
// its status events, its content, the due-time index the dispatcher reads,
// idempotency keys and status counters. All writes go through one writer
// thread that merges concurrent requests into one transaction and one sync
// (group commit); a callback runs only after its commit is durable.
// Reads (get, counts) run on the caller's thread and never block the writer.
//
// Failure behaviour: if a commit fails with an I/O error, the spool latches
// unhealthy and every later write fails fast with kUnavailable; we cannot
// know what reached the disk (STYLE.md R5). When the disk or the map is full,
// writes that add messages fail with kSpoolFull and nothing stored is harmed;
// status updates keep working so delivery can drain the spool.
//
// Thread-safety: every method may be called from any thread. Callbacks run on
// the writer thread: they must be short, must not throw, and must not wait for
// another spool operation (post the result to your own executor instead); the
// *_sync forms called from a callback return kInternal instead of deadlocking.
//
// Cost: enqueue() encodes its batch on the caller's thread; the writer only
// checks idempotency keys and stores ready-made bytes (bench/queue_enqueue.cpp).
// Store format and recovery rules: queue/FORMAT.md.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/id.h"
#include "core/message.h"
#include "core/result.h"
#include "core/suppression.h"
#include "queue/store.h"

namespace queue {

// A message the engine has validated and routed, ready to be stored.
struct NewMessage {
  core::MessageRequest request;  // request.content is stored in the content table
  uint32_t channel_index = 0;    // the channel in use first
  std::string destination;       // ready-queue key, from the transport
  // Status to store it with: kQueued, or kForbidden (stored final with
  // `detail`, e.g. a suppressed recipient; never delivered).
  core::MessageStatus initial_status = core::MessageStatus::kQueued;
  std::string detail;
  // Content stored once for several messages (the recipients of one SMTP
  // injection, an announcement): the index, in the same enqueue batch, of
  // an earlier item whose content this message uses. request.content must
  // then be empty. The item named (or, if it shares too, the one it names)
  // owns the content: it is written once, under that item's id, with
  // `refs` counting every message stored with it, and this message's
  // content_id names it. The content is stored even when its owner itself
  // turns out to be an idempotency duplicate (its sharers still need it).
  // kInvalidArgument "content_of" when the index is not earlier in the
  // batch, when the item named was refused, or when request.content is
  // not empty.
  std::optional<uint32_t> content_of;
};

struct EnqueueOutcome {
  core::Id id;
  core::MessageStatus status = core::MessageStatus::kQueued;
  bool duplicate = false;  // the idempotency key was known: id is the first message's
};

// A message with its history, as GET /v1/messages/{id} shows it.
struct MessageView {
  core::MessageRecord record;
  core::Content content;
  std::vector<core::Event> events;
};

// A message handed to the engine for delivery. The lease is identified by
// record.lease_gen; results must quote it.
struct Leased {
  core::MessageRecord record;
  std::shared_ptr<const core::Content> content;  // shared by messages with one content
};

struct LeaseRequest {
  size_t max = 1000;  // at most this many messages
  // Called on the writer thread for each due message's destination, in due
  // order; false means "no room for it now": the message is pushed back by
  // `defer_rejected_by` without an event or an attempt. Must be thread-safe
  // with respect to the caller (give it a snapshot). Empty: admit all.
  // It may be asked again about the same messages if the transaction has to
  // run twice (the LMDB map grew), so it should be a predicate over its
  // snapshot, not a counter of what it admitted.
  std::function<bool(std::string_view destination)> admit;
  core::Duration defer_rejected_by{5000};  // at least 1 ms is used
  // When set, how far a message `admit` refused is pushed back instead
  // (per destination; at least 1 ms is used). Lets a destination that is
  // held for an hour be pushed back once, not every defer_rejected_by: each
  // push-back rewrites the message's record. Same thread and rules as admit.
  std::function<core::Duration(std::string_view destination)> defer_for;
  // One call examines at most about 4 * max + 1024 due entries, so that a
  // destination that rejects everything cannot hold the writer.
};

// The engine's fast path for new mail (Spool::enqueue): messages leased in
// the transaction that stores them, so a fresh message needs no lease
// transaction of its own before it can be sent.
struct DirectLease {
  // Asked on the writer thread, once per message and in batch order, for
  // each message that would be stored queued and due now (not a duplicate,
  // not expired): true stores it leased, exactly as lease() would have
  // (status sending, lease_gen 1, an event "sending" after "queued").
  // Thread-safe; may keep count (it is not asked again if the transaction
  // has to run twice).
  std::function<bool(std::string_view destination)> admit;
  // Called on the writer thread after the commit, before the enqueue's
  // `done`: the messages stored leased (none if the commit failed) and how
  // many `admit` accepted (the same number when the commit succeeded).
  std::function<void(std::vector<Leased> leased, size_t admitted)> leased;
};

// What the engine decided about a leased message.
struct Transition {
  core::Id id;
  uint64_t lease_gen = 0;  // ignored (and logged) if the lease is no longer current
  core::MessageStatus status = core::MessageStatus::kDelivered;
  // kDelivered / kFailed (any final status): final. kSending: retry later
  // at due_at. kQueued: lease released without an attempt (shutdown), due at
  // due_at; a message that has already made attempts stays sending (it is
  // between retries), one that has not goes back to queued.
  std::string detail;  // event text: the reply, or the reason
  std::optional<core::Reply> reply;
  std::optional<core::Bounce> bounce;     // with kFailed
  bool counts_attempt = true;             // false for kQueued releases
  std::optional<core::TimePoint> due_at;  // REQUIRED for kSending and kQueued
  // Channel fallback: when set, the message continues on this channel.
  std::optional<uint32_t> channel_index;
  std::string destination;  // new destination when channel_index is set
  // With kDelivered: the provider's id of the message, kept for receipts
  // (Spool::apply_receipts finds the message by channel and ref).
  std::string provider_ref;
};

// A provider's later word about a delivered message (a delivery receipt,
// a read receipt, a failure after acceptance), found by channel and ref.
struct ReceiptUpdate {
  enum class Kind : uint8_t { kDelivered = 1, kRead = 2, kFailed = 3 };
  core::Channel channel = core::Channel::kEmail;
  std::string provider_ref;
  Kind kind = Kind::kDelivered;
  std::string detail;                 // event text
  std::optional<core::Bounce> bounce;  // kFailed: category and reply
  // kFailed with a channel left: continue there (due now) instead of failing,
  // provided the message is still delivered on `from_channel_index`.
  std::optional<uint32_t> fallback_channel_index;
  uint32_t from_channel_index = 0;
  std::string fallback_destination;
};

struct ReceiptStats {
  size_t applied = 0;  // changed a message
  size_t ignored = 0;  // unknown ref, or not forward (duplicate, out of order, already final)
};

// ---- after sending (issue #7) ------------------------------------------------

// A report the SMTP listener accepted for an [inbound] address (a DSN, a
// complaint, a mailto unsubscribe), kept until it has been processed.
struct InboundReport {
  core::Id id;  // assigned when stored
  core::TimePoint received_at{};
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string client_ip;
  std::string helo;
  std::string data;
  uint32_t attempts = 0;  // processing attempts that did not finish
};

// One thing learned after sending, applied with others in one transaction
// (Spool::apply_feedback). What each kind does:
//   kSuppress     puts `suppression` (replacing an entry with the same key)
//   kUnsuppress   removes suppression.tenant/channel/address entries; with
//                 suppression.category empty every category, else that one;
//                 with `only_reason`, only entries of that reason
//   kSoftBounce   counts a soft bounce of suppression.tenant/channel/address;
//                 the soft_limit-th within soft_window puts `suppression`
//   kBounced      message `id`, if delivered, becomes failed with `bounce`
//                 (a DSN after the next hop accepted it); a message already
//                 failed or complained is left alone (a second DSN)
//   kComplained   message `id`, if delivered or failed, becomes complained
//   kNote         message `id` gets an event with its current status
//   kInboundStore stores `inbound` (its id is assigned at submission)
//   kInboundDone  deletes inbound report `id` (processed)
// A message `id` that is unknown (purged) is skipped: applied = false.
struct Feedback {
  enum class Kind : uint8_t {
    kSuppress = 1,
    kUnsuppress,
    kSoftBounce,
    kBounced,
    kComplained,
    kNote,
    kInboundStore,
    kInboundDone,
  };
  Kind kind = Kind::kNote;
  core::Suppression suppression;
  std::optional<core::SuppressionReason> only_reason;  // kUnsuppress
  uint32_t soft_limit = 3;                             // kSoftBounce
  core::Duration soft_window{7LL * 24 * 3600 * 1000};  // kSoftBounce
  core::Id id;
  std::string detail;                  // event text
  std::optional<core::Bounce> bounce;  // kBounced
  InboundReport inbound;               // kInboundStore
};

struct FeedbackOutcome {
  bool applied = false;     // something changed
  size_t removed = 0;       // kUnsuppress: entries removed
  bool suppressed = false;  // kSoftBounce: the limit was reached (the entry was put)
  std::optional<core::MessageStatus> status;  // message kinds: its status afterwards
  std::string tenant;                          // message kinds: the message's tenant
  core::Id id;                                 // kInboundStore: the report's id
};

// GET /v1/suppressions: a tenant's entries in key order (channel, address,
// category), filtered; `after` is the last entry of the previous page.
struct SuppressionQuery {
  std::string tenant;
  std::string channel;   // empty: any
  std::string address;   // empty: any (normalized by the caller)
  std::string category;  // empty: any
  std::optional<core::Suppression> after;
  size_t limit = 100;
};

struct DestinationCount {
  std::string destination;
  core::MessageStatus status = core::MessageStatus::kQueued;
  uint64_t count = 0;
};

struct Counts {
  std::map<core::MessageStatus, uint64_t> by_status;  // every status present, zeros included
  std::vector<DestinationCount> by_destination;       // non-zero only, sorted
  uint64_t leased = 0;                                // messages in flight now
};

// One version of a stored template (PUT /v1/templates/{id}).
struct StoredTemplate {
  std::string id;
  uint32_t version = 0;  // 1, 2, ...: every PUT and DELETE adds one
  core::TimePoint created_at;
  bool deleted = false;  // a DELETE tombstone: the template is gone from this version on
  core::TemplateSource source;
};

struct SpoolStats {
  uint64_t commits = 0;
  uint64_t ops_committed = 0;  // operations merged into those commits
  // CPU time the writer thread has used since open (it is the serial part
  // of every write, so this over wall time is the writer's utilisation).
  uint64_t writer_cpu_ns = 0;
  StoreStats store;
};

class Spool {
 public:
  // Opens the spool over `store`, checks the format version, and reclaims
  // every lease left by a previous process (they go back to queued, due now,
  // with an event "lease reclaimed after restart"; a message that had made
  // attempts stays sending). `clock` and `ids` must outlive the Spool.
  // Errors: kCorruption (format newer than this build, or unreadable), and
  // whatever the store returns.
  static core::Result<std::unique_ptr<Spool>> open(const core::SpoolConfig& config,
                                                   std::unique_ptr<Store> store,
                                                   const core::Clock& clock,
                                                   core::IdGenerator& ids);
  // Stops the writer after committing every operation already submitted
  // (their callbacks run before this returns). Operations submitted during
  // or after destruction fail with kUnavailable on the caller's thread.
  ~Spool();

  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  using EnqueueDone = std::function<void(std::vector<core::Result<EnqueueOutcome>>)>;
  // Stores every message of `batch` for `tenant` in one transaction, with a
  // "queued" (or initial_status) event each. `done` gets one result per item,
  // in order: an item whose idempotency key is known gets the earlier id with
  // duplicate = true and stores nothing. If the commit fails, every item gets
  // the commit's error.
  // With `direct` (both functions set), messages `direct.admit` accepts are
  // stored leased and handed to `direct.leased`; their outcome still says
  // kQueued (what the client asked for happened).
  void enqueue(std::string tenant, std::vector<NewMessage> batch, EnqueueDone done,
               DirectLease direct = {});

  // The record, content and events of `id`, or nullopt if unknown (or purged).
  core::Result<std::optional<MessageView>> get(const core::Id& id, bool with_events = true) const;

  // Cancels a message that is queued or waiting for a retry: status becomes
  // cancelled. kConflict if it is in flight (leased) or already final;
  // kNotFound if unknown. `done` gets the new status.
  void cancel(const core::Id& id, std::string detail,
              std::function<void(core::Result<core::MessageStatus>)> done);

  // Leases due messages (due_at <= now) in priority order, then due order:
  // status becomes sending, lease_gen is bumped, lease_until = now +
  // lease_timeout. Messages whose expires_at has passed are not leased: they
  // are failed with bounce category "expired" in the same transaction.
  void lease(LeaseRequest request, std::function<void(core::Result<std::vector<Leased>>)> done);

  // Applies the engine's decisions in one transaction. Transitions whose
  // lease is stale (lease_gen mismatch, or message no longer leased) are
  // skipped and counted in `stale`.
  void apply(std::vector<Transition> transitions,
             std::function<void(core::Result<size_t /*stale*/>)> done);

  // Leases whose lease_until has passed go back to queued (due now), or stay
  // sending if the message has made attempts; each gets an event. At most
  // 10,000 per call.
  void reclaim_expired_leases(std::function<void(core::Result<size_t>)> done);

  // Deletes finished messages older than retention (record, events, content
  // when no longer shared, idempotency key). At most `max` per call.
  void purge(size_t max, std::function<void(core::Result<size_t>)> done);

  // Templates, per tenant. Every version is kept (a queued message renders
  // with the version it was accepted with); the latest version is the
  // template. REQUIRES: tenant and id contain no '\0' (the API allows
  // [A-Za-z0-9._-] in ids). put_template stores `source` as the next
  // version and returns it. delete_template stores a tombstone version;
  // kNotFound when there is no live template. Callbacks run on the writer.
  void put_template(std::string tenant, std::string id, core::TemplateSource source,
                    std::function<void(core::Result<StoredTemplate>)> done);
  void delete_template(std::string tenant, std::string id,
                       std::function<void(core::Result<StoredTemplate>)> done);
  // `version` 0: the latest (which may be a tombstone: check `deleted`).
  core::Result<std::optional<StoredTemplate>> get_template(std::string_view tenant,
                                                           std::string_view id,
                                                           uint32_t version = 0) const;
  // The latest version of every live template of `tenant`, sorted by id.
  core::Result<std::vector<StoredTemplate>> list_templates(std::string_view tenant) const;

  // Earliest due time in the index, if any message is waiting.
  core::Result<std::optional<core::TimePoint>> next_due() const;

  // Provider receipts (ReceiptUpdate), in one transaction, each only when it
  // moves its message forward: kDelivered/kRead on a delivered message
  // add an event ("delivered to the device", "read") once each, in order
  // (a read receipt implies delivery: a late "delivered" after it is
  // ignored); kFailed makes a delivered message failed with its bounce, or,
  // with a fallback set and the message still delivered on
  // from_channel_index, sends it on (status sending, due now, on the
  // fallback channel, with a fresh retry budget). A failed or moved message
  // forgets its ref, so later receipts about it are ignored. Unknown refs
  // are ignored (Viber also reports inbound messages). Counted in the result.
  void apply_receipts(std::vector<ReceiptUpdate> updates,
                      std::function<void(core::Result<ReceiptStats>)> done);
  // The message a provider ref names (Transition::provider_ref), or nullopt.
  core::Result<std::optional<core::MessageRecord>> find_by_ref(core::Channel channel,
                                                               std::string_view ref) const;

  // Suppressions, soft-bounce counts, message statuses changed by bounces
  // and complaints, and inbound reports (Feedback), in one transaction.
  // `done` gets one outcome per item, in order (or the commit's error for
  // all of them). Suppressions put or removed are visible to
  // find_suppression() before `done` runs.
  void apply_feedback(std::vector<Feedback> items,
                      std::function<void(core::Result<std::vector<FeedbackOutcome>>)> done);
  // The entry that forbids sending `category` mail to `address` on
  // `channel` for `tenant`: (channel, category), (channel, "*"), ("*",
  // category), ("*", "*"), the first that exists. `address` is normalized
  // (core::normalize_address). Cheap when nothing matches: an in-memory
  // filter of every suppressed (tenant, channel, address) answers without
  // touching the store, so the hot path may ask for every message.
  core::Result<std::optional<core::Suppression>> find_suppression(std::string_view tenant,
                                                                  std::string_view channel,
                                                                  std::string_view address,
                                                                  std::string_view category) const;
  // False only when no suppression exists at all: callers may skip the
  // per-message check (and the address normalization it needs). No lock.
  bool any_suppressions() const noexcept;
  core::Result<std::vector<core::Suppression>> list_suppressions(const SuppressionQuery& q) const;
  // Inbound reports not yet processed (oldest first), at most `max`.
  core::Result<std::vector<InboundReport>> pending_inbound(size_t max) const;

  core::Result<Counts> counts() const;
  SpoolStats stats() const;

  // Cheap, no I/O, no allocation: the hot path may call it on every request.
  // The text is bland on purpose: it is shown to clients.
  std::optional<std::string_view> unhealthy_reason() const noexcept;

  // Blocking forms of the operations above, for the CLI and tests.
  // REQUIRES: not called from a spool callback (they return kInternal).
  std::vector<core::Result<EnqueueOutcome>> enqueue_sync(std::string tenant,
                                                         std::vector<NewMessage> batch);
  core::Result<core::MessageStatus> cancel_sync(const core::Id& id, std::string detail);
  core::Result<std::vector<Leased>> lease_sync(LeaseRequest request);
  core::Result<size_t> apply_sync(std::vector<Transition> transitions);
  core::Result<size_t> purge_sync(size_t max);
  core::Result<size_t> reclaim_expired_leases_sync();
  core::Result<StoredTemplate> put_template_sync(std::string tenant, std::string id,
                                                 core::TemplateSource source);
  core::Result<StoredTemplate> delete_template_sync(std::string tenant, std::string id);
  core::Result<std::vector<FeedbackOutcome>> apply_feedback_sync(std::vector<Feedback> items);

 private:
  class Impl;
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace queue
