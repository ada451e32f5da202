// queue/spool.cpp: the Spool's public methods, its writer thread and group
// commit.
//
// Group commit, after LevelDB's DBImpl::Write: callers append operations to
// `pending_` and return. The writer takes everything pending (up to
// group_commit_max_ops items), runs it all in one Store::write, which is
// one transaction and one sync, and then answers every caller. While a sync
// is in progress new operations pile up and become the next group, so the
// number of syncs per second stays roughly constant while the number of
// operations per sync grows with load. Unlike LevelDB there is no leader
// election: a dedicated thread is simpler, and LMDB allows one writer anyway.
//
// Failure rules (queue.h): an operation's own problem (not found, conflict,
// stale lease) is its own result; a store error fails the whole group.
// kIoError latches the spool unhealthy for good (fail-stop, STYLE.md R5).
// kSpoolFull does not latch: the ops that add messages are failed and the
// rest of the group is tried again on its own, so deliveries keep draining
// a full spool.
#include <pthread.h>
#include <sys/statvfs.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "queue/metrics.h"
#include "queue/spool_internal.h"

namespace queue {

using detail::Op;

namespace {

constexpr std::string_view kUnhealthyText = "spool storage is unavailable";
// At open, every lease belongs to a process that is gone.
constexpr std::string_view kReclaimedAtOpen = "lease reclaimed after restart";
constexpr std::string_view kReclaimedExpired = "lease expired; reclaimed";
constexpr size_t kReclaimChunk = 10000;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Free space on the spool's file system, sampled at most once a second:
// statvfs is cheap but not free, and a second of staleness is harmless
// against a threshold of hundreds of megabytes.
class DiskSpace {
 public:
  DiskSpace(std::string path, uint64_t min_free) : path_(std::move(path)), min_free_(min_free) {}

  // Writer thread only.
  void refresh_if_stale() {
    const auto now = std::chrono::steady_clock::now();
    if (checked_ && now - last_ < std::chrono::seconds(1)) return;
    checked_ = true;
    last_ = now;
    struct statvfs sv;
    if (min_free_ == 0 || ::statvfs(path_.c_str(), &sv) != 0) {
      low_.store(false, std::memory_order_relaxed);  // unknown: do not refuse
      return;
    }
    const uint64_t free_bytes = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
    const bool low = free_bytes < min_free_;
    if (low != low_.load(std::memory_order_relaxed)) {
      if (low) {
        core::log::warn(
            "spool disk nearly full; refusing new messages",
            {{"path", path_}, {"free_bytes", free_bytes}, {"min_free_bytes", min_free_}});
      } else {
        core::log::info("spool disk has room again", {{"path", path_}, {"free_bytes", free_bytes}});
      }
    }
    low_.store(low, std::memory_order_relaxed);
  }
  bool low() const noexcept { return low_.load(std::memory_order_relaxed); }

 private:
  std::string path_;
  uint64_t min_free_;
  bool checked_ = false;
  std::chrono::steady_clock::time_point last_;
  std::atomic<bool> low_{false};
};

core::Error disk_full_error() {
  return core::make_error(core::Errc::kSpoolFull, "spool disk nearly full");
}

}  // namespace

namespace detail {

size_t op_weight(const Op& op) noexcept {
  return std::visit(Overloaded{
                        [](const EnqueueOp& o) { return std::max<size_t>(1, o.count); },
                        [](const LeaseOp& o) { return std::max<size_t>(1, o.request.max); },
                        [](const ApplyOp& o) { return std::max<size_t>(1, o.transitions.size()); },
                        [](const ReceiptOp& o) { return std::max<size_t>(1, o.updates.size()); },
                        [](const FeedbackOp& o) { return std::max<size_t>(1, o.items.size()); },
                        [](const PurgeOp& o) { return std::max<size_t>(1, o.max); },
                        [](const auto&) { return size_t{1}; },
                    },
                    op);
}

bool is_enqueue(const Op& op) noexcept { return std::holds_alternative<EnqueueOp>(op); }

void fail_op(Op& op, const core::Error& e) {
  std::visit(Overloaded{
                 [&](EnqueueOp& o) {
                   if (o.direct.leased) o.direct.leased({}, o.admitted);
                   std::vector<core::Result<EnqueueOutcome>> r(o.count,
                                                               core::Result<EnqueueOutcome>(e));
                   if (o.done) o.done(std::move(r));
                 },
                 [&](CancelOp& o) {
                   if (o.done) o.done(e);
                 },
                 [&](LeaseOp& o) {
                   if (o.done) o.done(e);
                 },
                 [&](ApplyOp& o) {
                   if (o.done) o.done(e);
                 },
                 [&](ReclaimOp& o) {
                   if (o.done) o.done(e);
                 },
                 [&](PurgeOp& o) {
                   if (o.done) o.done(e);
                 },
                 [&](TemplateOp& o) {
                   if (o.done) o.done(e);
                 },
                 [&](ReceiptOp& o) {
                   if (o.done) o.done(e);
                 },
                 [&](FeedbackOp& o) {
                   if (o.done) o.done(e);
                 },
             },
             op);
}

void complete_op(Op& op) {
  std::visit(Overloaded{
                 [](EnqueueOp& o) {
                   if (o.direct.leased) {
                     std::vector<Leased> leased;
                     leased.reserve(o.leased_items.size());
                     for (uint32_t i : o.leased_items) {
                       leased.push_back(Leased{std::move(o.batch.leased_records[i]),
                                               o.batch.contents[i]});
                     }
                     o.direct.leased(std::move(leased), o.admitted);
                   }
                   if (o.done) o.done(std::move(o.results));
                 },
                 [](CancelOp& o) {
                   if (o.done) o.done(std::move(o.result));
                 },
                 [](LeaseOp& o) {
                   if (o.done) o.done(std::move(o.leased));
                 },
                 [](ApplyOp& o) {
                   if (o.done) o.done(o.stale);
                 },
                 [](ReclaimOp& o) {
                   if (o.done) o.done(o.reclaimed);
                 },
                 [](PurgeOp& o) {
                   if (o.done) o.done(o.purged);
                 },
                 [](ReceiptOp& o) {
                   if (o.done) o.done(o.stats);
                 },
                 [](FeedbackOp& o) {
                   if (o.done) o.done(std::move(o.outcomes));
                 },
                 [](TemplateOp& o) {
                   if (o.done) o.done(std::move(o.result));
                 },
             },
             op);
}

}  // namespace detail

class Spool::Impl {
 public:
  Impl(const core::SpoolConfig& config, std::unique_ptr<Store> store, const core::Clock& clock,
       core::IdGenerator& ids)
      : config_(config),
        store_(std::move(store)),
        clock_(clock),
        ids_(ids),
        disk_(config.path, config.min_free_bytes),
        metrics_(SpoolMetrics::get()) {}

  ~Impl() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (writer_.joinable()) writer_.join();
  }

  core::Status open();
  void start() {
    writer_ = std::thread([this] {
      ::pthread_setname_np(::pthread_self(), "spool-writer");  // for top -H and perf
      run();
    });
  }

  void submit(Op op) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        pending_.push_back(std::move(op));
        cv_.notify_one();
        return;
      }
    }
    detail::fail_op(op, core::make_error(core::Errc::kUnavailable, "spool is shutting down"));
  }

  // Refuses up front what the writer would refuse anyway, so a doomed batch
  // is not encoded first.
  std::optional<core::Error> refuse_enqueue() const {
    if (unhealthy_.load(std::memory_order_acquire)) {
      return core::make_error(core::Errc::kUnavailable, std::string(kUnhealthyText));
    }
    if (disk_.low()) return disk_full_error();
    return std::nullopt;
  }

  // Blocks for an async operation. REQUIRES: not on the writer thread (its
  // callback could never run).
  template <class T, class Start>
  core::Result<T> wait(Start start) {
    if (std::this_thread::get_id() == writer_.get_id()) {
      return core::make_error(core::Errc::kInternal, "blocking spool call from a spool callback");
    }
    std::promise<core::Result<T>> p;
    auto f = p.get_future();
    start([&p](core::Result<T> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  const core::SpoolConfig config_;
  std::unique_ptr<Store> store_;
  const core::Clock& clock_;
  core::IdGenerator& ids_;
  DiskSpace disk_;
  SpoolMetrics& metrics_;
  std::atomic<bool> unhealthy_{false};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> ops_committed_{0};
  std::atomic<uint64_t> writer_cpu_ns_{0};
  detail::SuppressionFilter suppressions_;

 private:
  void run();
  void run_group(std::vector<Op>& group);
  core::Status commit(const std::vector<Op*>& live, core::TimePoint now);
  void latch_unhealthy(const core::Error& e);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> pending_;  // GUARDED_BY(mu_)
  bool stopping_ = false;   // GUARDED_BY(mu_)
  std::thread writer_;

  // Writer thread only.
  detail::WriterScratch scratch_;
  std::vector<Op*> live_, rest_;
};

// Checks the format marker and gives back every lease of the previous
// process. Runs before the writer thread exists, so it uses the store
// directly.
core::Status Spool::Impl::open() {
  auto st = store_->write([&](WriteTxn& txn) -> core::Status {
    auto v = txn.get(Table::kMeta, format::kMetaFormatKey);
    if (!v) return v.error();
    if (*v) {
      if ((*v)->size() != 4) {
        return core::make_error(core::Errc::kCorruption, "spool format marker is malformed");
      }
      const uint32_t version = format::get_be32((*v)->data());
      if (version > format::kFormatVersion) {
        return core::make_error(core::Errc::kCorruption,
                                "spool format " + std::to_string(version) +
                                    " is newer than this build supports (" +
                                    std::to_string(format::kFormatVersion) + ")");
      }
      return {};
    }
    bool has_messages = false;
    auto s = txn.scan(Table::kMessages, {}, {}, [&](std::string_view, std::string_view) {
      has_messages = true;
      return false;
    });
    if (!s) return s;
    if (has_messages) {
      return core::make_error(core::Errc::kCorruption, "spool holds messages but no format marker");
    }
    char buf[4];
    format::put_be32(buf, format::kFormatVersion);
    return txn.put(Table::kMeta, format::kMetaFormatKey, std::string_view(buf, 4));
  });
  if (!st) return st;

  st = store_->read(
      [&](ReadTxn& txn) { return detail::load_suppression_filter(txn, suppressions_); });
  if (!st) return st;

  size_t total = 0;
  for (;;) {
    detail::ReclaimOp op;
    const core::TimePoint now = clock_.now();
    st = store_->write([&](WriteTxn& txn) -> core::Status {
      scratch_.counters.clear();
      detail::TxnOps ops(txn, scratch_, config_, now);
      if (auto s = ops.reclaim(op, true, kReclaimChunk, kReclaimedAtOpen); !s) return s;
      return scratch_.counters.flush(txn);
    });
    if (!st) return st;
    total += op.reclaimed;
    if (scratch_.time_keys.size() < kReclaimChunk) break;
  }
  if (total > 0) {
    core::log::info("spool leases of the previous process reclaimed", {{"count", total}});
  }
  metrics_.map_size->set(static_cast<int64_t>(store_->stats().map_size));
  return {};
}

void Spool::Impl::run() {
  std::vector<Op> group;
  const size_t max_ops = std::max<uint32_t>(1, config_.group_commit_max_ops);
  size_t last_group = 0;                       // ops in the previous group
  std::chrono::steady_clock::duration last_commit{};  // how long it took
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything submitted is done
      // Gathering. The clients answered by the last commit need a moment to
      // send their next request; starting the next commit at once would
      // split them into two alternating half-size groups, each paying a
      // full sync. So when fewer ops wait than the last group had, wait a
      // little for the rest: at most 1/8 of the last commit's duration,
      // capped at 2 ms, so a lone request is never held back noticeably.
      if (!stopping_ && last_group > 1 && pending_.size() < last_group) {
        auto gather = std::min<std::chrono::steady_clock::duration>(last_commit / 8,
                                                                   std::chrono::milliseconds(2));
        cv_.wait_for(lock, gather, [&] { return stopping_ || pending_.size() >= last_group; });
      }
      size_t weight = 0;
      while (!pending_.empty()) {
        const size_t w = detail::op_weight(pending_.front());
        if (!group.empty() && weight + w > max_ops) break;
        weight += w;
        group.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    const auto started = std::chrono::steady_clock::now();
    run_group(group);
    last_commit = std::chrono::steady_clock::now() - started;
    last_group = group.size();
    group.clear();
    timespec ts{};
    if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) {
      writer_cpu_ns_.store(static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + ts.tv_nsec,
                           std::memory_order_relaxed);
    }
  }
}

void Spool::Impl::run_group(std::vector<Op>& group) {
  if (unhealthy_.load(std::memory_order_acquire)) {
    const core::Error e = core::make_error(core::Errc::kUnavailable, std::string(kUnhealthyText));
    for (Op& op : group) detail::fail_op(op, e);
    return;
  }
  disk_.refresh_if_stale();
  live_.clear();
  for (Op& op : group) {
    if (auto* e = std::get_if<detail::EnqueueOp>(&op)) {
      if (e->refused) {
        detail::fail_op(op, *e->refused);
        continue;
      }
      if (disk_.low()) {
        detail::fail_op(op, disk_full_error());
        continue;
      }
    }
    live_.push_back(&op);
  }
  if (live_.empty()) return;

  const core::TimePoint now = clock_.now();
  core::Status st = commit(live_, now);
  if (!st && st.error().code == core::Errc::kSpoolFull &&
      std::any_of(live_.begin(), live_.end(), [](Op* op) { return detail::is_enqueue(*op); })) {
    // Refuse what adds messages; retry what drains them (leases, results,
    // cancels, purges need far fewer new pages than they will free).
    core::log::warn("spool full; new messages refused", {{"error", st.error().message}});
    rest_.clear();
    for (Op* op : live_) {
      if (detail::is_enqueue(*op)) {
        detail::fail_op(*op, st.error());
      } else {
        rest_.push_back(op);
      }
    }
    std::swap(live_, rest_);
    if (live_.empty()) return;
    st = commit(live_, now);
  }
  if (!st) {
    metrics_.failed_commits->inc();
    if (st.error().code == core::Errc::kIoError) latch_unhealthy(st.error());
    for (Op* op : live_) detail::fail_op(*op, st.error());
    return;
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
  ops_committed_.fetch_add(live_.size(), std::memory_order_relaxed);
  metrics_.commits->inc();
  metrics_.ops->inc(live_.size());
  metrics_.group_ops->observe(static_cast<double>(live_.size()));
  for (Op* op : live_) {
    if (auto* a = std::get_if<detail::ApplyOp>(op)) metrics_.stale_transitions->inc(a->stale);
    // Committed: find_suppression sees the change before the caller hears of it.
    if (auto* f = std::get_if<detail::FeedbackOp>(op)) suppressions_.apply(f->filter_deltas);
    detail::complete_op(*op);
  }
}

core::Status Spool::Impl::commit(const std::vector<Op*>& live, core::TimePoint now) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t grows_before = store_->stats().map_grows;
  core::Status st = store_->write([&](WriteTxn& txn) -> core::Status {
    // May run more than once (the map grew): start from a clean slate.
    scratch_.counters.clear();
    detail::TxnOps ops(txn, scratch_, config_, now);
    for (Op* op : live) {
      core::Status s =
          std::visit(Overloaded{
                         [&](detail::EnqueueOp& o) { return ops.enqueue(o); },
                         [&](detail::CancelOp& o) { return ops.cancel(o); },
                         [&](detail::LeaseOp& o) { return ops.lease(o); },
                         [&](detail::ApplyOp& o) { return ops.apply(o); },
                         [&](detail::ReclaimOp& o) {
                           return ops.reclaim(o, false, kReclaimChunk, kReclaimedExpired);
                         },
                         [&](detail::PurgeOp& o) { return ops.purge(o); },
                         [&](detail::TemplateOp& o) { return ops.put_template(o); },
                         [&](detail::ReceiptOp& o) { return ops.apply_receipts(o); },
                         [&](detail::FeedbackOp& o) { return ops.feedback(o); },
                     },
                     *op);
      if (!s) return s;
    }
    return scratch_.counters.flush(txn);
  });
  metrics_.commit_seconds->observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  const StoreStats after = store_->stats();
  if (after.map_grows != grows_before) metrics_.map_size->set(static_cast<int64_t>(after.map_size));
  return st;
}

void Spool::Impl::latch_unhealthy(const core::Error& e) {
  if (unhealthy_.exchange(true, std::memory_order_acq_rel)) return;
  metrics_.unhealthy->set(1);
  // The last commit may or may not be on disk; continuing could acknowledge
  // writes that a restart will not find. Only a restart (which re-reads the
  // disk) may clear this.
  core::log::error("spool commit failed; spool is now unhealthy and refuses writes",
                   {{"path", config_.path}, {"error", e.message}});
}

// ---- public API -------------------------------------------------------------

Spool::Spool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Spool::~Spool() = default;

core::Result<std::unique_ptr<Spool>> Spool::open(const core::SpoolConfig& config,
                                                 std::unique_ptr<Store> store,
                                                 const core::Clock& clock, core::IdGenerator& ids) {
  auto impl = std::make_unique<Impl>(config, std::move(store), clock, ids);
  if (auto st = impl->open(); !st) return st.error();
  impl->start();
  return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

void Spool::enqueue(std::string tenant, std::vector<NewMessage> batch, EnqueueDone done,
                    DirectLease direct) {
  detail::EnqueueOp op;
  op.count = batch.size();
  op.done = std::move(done);
  op.refused = impl_->refuse_enqueue();
  if (direct.admit && direct.leased) op.direct = std::move(direct);
  if (!op.refused) {
    std::optional<core::Duration> lease_for;
    if (op.direct.admit) lease_for = impl_->config_.lease_timeout;
    op.batch = detail::prepare_batch(std::move(tenant), std::move(batch), impl_->clock_.now(),
                                     impl_->ids_, lease_for);
  }
  impl_->submit(std::move(op));
}

core::Result<std::optional<MessageView>> Spool::get(const core::Id& id, bool with_events) const {
  return detail::read_message(*impl_->store_, id, with_events);
}

void Spool::cancel(const core::Id& id, std::string detail,
                   std::function<void(core::Result<core::MessageStatus>)> done) {
  detail::CancelOp op;
  op.id = id;
  op.detail = std::move(detail);
  op.done = std::move(done);
  impl_->submit(std::move(op));
}

void Spool::apply_receipts(std::vector<ReceiptUpdate> updates,
                           std::function<void(core::Result<ReceiptStats>)> done) {
  detail::ReceiptOp op;
  op.updates = std::move(updates);
  op.done = std::move(done);
  impl_->submit(std::move(op));
}

void Spool::apply_feedback(std::vector<Feedback> items,
                           std::function<void(core::Result<std::vector<FeedbackOutcome>>)> done) {
  detail::FeedbackOp op;
  for (Feedback& f : items) {
    if (f.kind == Feedback::Kind::kInboundStore) f.inbound.id = impl_->ids_.next();
  }
  op.items = std::move(items);
  op.done = std::move(done);
  impl_->submit(std::move(op));
}

core::Result<std::vector<FeedbackOutcome>> Spool::apply_feedback_sync(std::vector<Feedback> items) {
  return impl_->wait<std::vector<FeedbackOutcome>>(
      [&](auto cb) { apply_feedback(std::move(items), std::move(cb)); });
}

core::Result<std::optional<core::Suppression>> Spool::find_suppression(
    std::string_view tenant, std::string_view channel, std::string_view address,
    std::string_view category) const {
  return detail::read_suppression(*impl_->store_, impl_->suppressions_, tenant, channel, address,
                                  category);
}

bool Spool::any_suppressions() const noexcept { return !impl_->suppressions_.empty(); }

core::Result<std::vector<core::Suppression>> Spool::list_suppressions(
    const SuppressionQuery& q) const {
  return detail::read_suppressions(*impl_->store_, q);
}

core::Result<std::vector<InboundReport>> Spool::pending_inbound(size_t max) const {
  return detail::read_inbound(*impl_->store_, max);
}

core::Result<std::optional<core::MessageRecord>> Spool::find_by_ref(core::Channel channel,
                                                                   std::string_view ref) const {
  std::optional<core::MessageRecord> out;
  auto st = impl_->store_->read([&](ReadTxn& txn) -> core::Status {
    const std::string key = detail::ref_key(channel, ref);
    auto id = txn.get(Table::kRefs, key);
    if (!id) return id.error();
    if (!*id || (*id)->size() != 16) return {};
    auto v = txn.get(Table::kMessages, format::message_key(core::Id::from_bytes(**id)));
    if (!v) return v.error();
    if (!*v) return {};
    format::RecordCodec codec;
    core::MessageRecord r;
    if (auto d = codec.decode(**v, &r); !d) return d;
    out = std::move(r);
    return {};
  });
  if (!st) return st.error();
  return out;
}

void Spool::lease(LeaseRequest request,
                  std::function<void(core::Result<std::vector<Leased>>)> done) {
  detail::LeaseOp op;
  op.request = std::move(request);
  op.done = std::move(done);
  impl_->submit(std::move(op));
}

void Spool::apply(std::vector<Transition> transitions,
                  std::function<void(core::Result<size_t>)> done) {
  detail::ApplyOp op;
  op.transitions = std::move(transitions);
  op.done = std::move(done);
  impl_->submit(std::move(op));
}

void Spool::reclaim_expired_leases(std::function<void(core::Result<size_t>)> done) {
  detail::ReclaimOp op;
  op.done = std::move(done);
  impl_->submit(std::move(op));
}

void Spool::purge(size_t max, std::function<void(core::Result<size_t>)> done) {
  detail::PurgeOp op;
  op.max = max;
  op.done = std::move(done);
  impl_->submit(std::move(op));
}

void Spool::put_template(std::string tenant, std::string id, core::TemplateSource source,
                         std::function<void(core::Result<StoredTemplate>)> done) {
  detail::TemplateOp op;
  op.tenant = std::move(tenant);
  op.id = std::move(id);
  op.source = std::move(source);
  op.done = std::move(done);
  impl_->submit(std::move(op));
}

void Spool::delete_template(std::string tenant, std::string id,
                            std::function<void(core::Result<StoredTemplate>)> done) {
  detail::TemplateOp op;
  op.tenant = std::move(tenant);
  op.id = std::move(id);
  op.done = std::move(done);
  impl_->submit(std::move(op));
}

core::Result<std::optional<StoredTemplate>> Spool::get_template(std::string_view tenant,
                                                                std::string_view id,
                                                                uint32_t version) const {
  return detail::read_template(*impl_->store_, tenant, id, version);
}

core::Result<std::vector<StoredTemplate>> Spool::list_templates(std::string_view tenant) const {
  return detail::read_templates(*impl_->store_, tenant);
}

core::Result<std::optional<core::TimePoint>> Spool::next_due() const {
  return detail::read_next_due(*impl_->store_);
}

core::Result<Counts> Spool::counts() const { return detail::read_counts(*impl_->store_); }

SpoolStats Spool::stats() const {
  SpoolStats s;
  s.commits = impl_->commits_.load(std::memory_order_relaxed);
  s.ops_committed = impl_->ops_committed_.load(std::memory_order_relaxed);
  s.writer_cpu_ns = impl_->writer_cpu_ns_.load(std::memory_order_relaxed);
  s.store = impl_->store_->stats();
  return s;
}

std::optional<std::string_view> Spool::unhealthy_reason() const noexcept {
  if (impl_->unhealthy_.load(std::memory_order_acquire)) return kUnhealthyText;
  return std::nullopt;
}

std::vector<core::Result<EnqueueOutcome>> Spool::enqueue_sync(std::string tenant,
                                                              std::vector<NewMessage> batch) {
  const size_t n = batch.size();
  auto r = impl_->wait<std::vector<core::Result<EnqueueOutcome>>>([&](auto cb) {
    enqueue(std::move(tenant), std::move(batch),
            [cb](std::vector<core::Result<EnqueueOutcome>> v) { cb(std::move(v)); });
  });
  if (!r)
    return std::vector<core::Result<EnqueueOutcome>>(n, core::Result<EnqueueOutcome>(r.error()));
  return std::move(*r);
}

core::Result<core::MessageStatus> Spool::cancel_sync(const core::Id& id, std::string detail) {
  return impl_->wait<core::MessageStatus>(
      [&](auto cb) { cancel(id, std::move(detail), [cb](auto r) { cb(std::move(r)); }); });
}

core::Result<std::vector<Leased>> Spool::lease_sync(LeaseRequest request) {
  return impl_->wait<std::vector<Leased>>(
      [&](auto cb) { lease(std::move(request), [cb](auto r) { cb(std::move(r)); }); });
}

core::Result<size_t> Spool::apply_sync(std::vector<Transition> transitions) {
  return impl_->wait<size_t>(
      [&](auto cb) { apply(std::move(transitions), [cb](auto r) { cb(std::move(r)); }); });
}

core::Result<size_t> Spool::purge_sync(size_t max) {
  return impl_->wait<size_t>([&](auto cb) { purge(max, [cb](auto r) { cb(std::move(r)); }); });
}

core::Result<StoredTemplate> Spool::put_template_sync(std::string tenant, std::string id,
                                                      core::TemplateSource source) {
  return impl_->wait<StoredTemplate>([&](auto cb) {
    put_template(std::move(tenant), std::move(id), std::move(source),
                 [cb](auto r) { cb(std::move(r)); });
  });
}

core::Result<StoredTemplate> Spool::delete_template_sync(std::string tenant, std::string id) {
  return impl_->wait<StoredTemplate>([&](auto cb) {
    delete_template(std::move(tenant), std::move(id), [cb](auto r) { cb(std::move(r)); });
  });
}

core::Result<size_t> Spool::reclaim_expired_leases_sync() {
  return impl_->wait<size_t>(
      [&](auto cb) { reclaim_expired_leases([cb](auto r) { cb(std::move(r)); }); });
}

}  // namespace queue
