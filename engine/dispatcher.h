// engine/dispatcher.h: the delivery loop behind engine::Engine.
//
// Private to engine/. The Dispatcher leases due messages from the spool,
// keeps them in per-destination ready queues (ready_queue.h), hands batches
// to transports within each destination's concurrency, turns outcomes into
// status changes (feedback.h) and commits those in batches. It also runs the
// spool's housekeeping timers (reclaim expired leases, purge finished
// messages).
//
// Threading: every member below the public methods is touched only on
// strand_. Public methods may be called from any thread; they post to the
// strand. Spool and transport completions arrive on other threads and are
// posted to the strand too.
//
// Lifetime: owned by a shared_ptr (the Engine holds it). Posted handlers hold
// a strong reference for the short time they are queued; spool, transport
// and timer completions hold only a weak one, so a completion that arrives
// after the Engine is gone does nothing.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/result.h"
#include "engine/content_cache.h"
#include "engine/engine.h"
#include "engine/ready_queue.h"
#include "queue/queue.h"
#include "transports/transport.h"

namespace engine {

struct Decision;  // engine/feedback.h
class Throttles;  // engine/throttle.h
class ThrottleGroup;

class Dispatcher : public std::enable_shared_from_this<Dispatcher> {
 public:
  Dispatcher(std::shared_ptr<const core::Config> config, queue::Spool& spool,
             const transports::Registry& registry, const core::Clock& clock,
             boost::asio::any_io_executor executor, std::shared_ptr<ContentCache> contents,
             AccountingLog* accounting = nullptr, Throttles* throttles = nullptr);
  ~Dispatcher();

  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // See engine::Engine for the contracts of these.
  void start();
  void stop(std::function<void()> done);
  void cancel(const core::Id& id, std::function<void(core::Result<core::MessageStatus>)> done);
  void TEST_poll();
  bool TEST_direct_lease_open() const;
  std::vector<DestinationState> destinations() const;

  // Something became due now (a submit): step soon instead of at the next
  // poll tick. Cheap and coalesced; any thread.
  void wake();

  // The fast path for Engine::submit (queue::DirectLease): new mail due now
  // is leased as it is stored, while the dispatcher keeps up (nothing due
  // waits in the spool, no lease in flight), for destinations that are not
  // held and whose ready queue is not full, up to the room left under
  // max_active (at most lease_batch per refill). Empty when
  // engine.direct_lease is off. Any thread.
  queue::DirectLease direct_lease();

 private:
  enum class State : uint8_t { kIdle, kRunning, kStopping, kStopped };

  // One Transport::send in progress. The deliveries given to the transport
  // point into `items`, so the send's completion owns this object (through
  // a shared_ptr) until the transport calls it.
  struct InFlight {
    uint64_t seq = 0;
    std::string destination;
    std::vector<queue::Leased> items;
    std::vector<templating::Rendered> rendered;  // one per item; what the transport sends
    // Per item: why it may not be sent (a suppression found just before
    // sending); empty for the items handed to the transport.
    std::vector<std::string> forbidden;
    core::TimePoint deadline;  // earliest lease_until of the items - send_margin_
    std::shared_ptr<ThrottleGroup> group;  // the destination's throttle group; may be null
    bool answered = false;     // the transport called its completion
    bool abandoned = false;    // released or timed out: a late answer is ignored
  };
  struct Answer {
    std::shared_ptr<InFlight> send;
    std::vector<transports::Outcome> outcomes;
  };

  // Direct leases. The spool's writer thread counts `credits` down as it
  // grants; the strand refills them, and the closed set with them, after
  // every step. `granted` minus direct_settled_ is what was granted but not
  // yet taken in: it counts against max_active like a lease in flight.
  struct DirectGate {
    std::mutex mu;
    int64_t credits = 0;  // GUARDED_BY(mu)
    uint64_t granted = 0;  // GUARDED_BY(mu)
    // Held or full destinations: no direct lease for them.
    std::set<std::string, std::less<>> closed;  // GUARDED_BY(mu)
  };
  void refill_direct_gate();
  void take_direct(std::vector<queue::Leased> items, size_t admitted);
  void take_leased(std::vector<queue::Leased>& items);

  // The step and its parts, in order (dispatcher.cpp).
  void step();
  void absorb_outcomes(core::TimePoint now);
  void place_leased(core::TimePoint now);
  void dispatch_ready(core::TimePoint now);
  void maybe_lease();
  void flush();

  void request_step();
  bool may_lease() const noexcept;
  void send_batch(DestinationQueue& q, size_t n, core::TimePoint now);

  // Throttles (dispatcher_throttle.cpp). admit_batch: how many of q's
  // messages may go now (<= batch_size); 0 holds q (until its group's rate
  // allows more, a pause or backoff ends, or its first hop is known).
  size_t admit_batch(DestinationQueue& q, core::TimePoint now);
  void ask_first_hop(DestinationQueue& q);
  void on_first_hop(const std::string& destination, std::string host);
  void hold(DestinationQueue& q, std::optional<core::TimePoint> until, core::TimePoint now);
  void release_holds(core::TimePoint now, bool all);
  void arm_throttle_timer(core::TimePoint at, core::TimePoint now);
  void observe_replies(const InFlight& send, const std::vector<transports::Outcome>& outcomes,
                       core::TimePoint now);
  // The message's content rendered for its current channel.
  core::Result<templating::Rendered> render(const core::MessageRecord& record,
                                            const core::Content& content, core::TimePoint now,
                                            const templating::RenderLimits& limits);
  void start_send(DestinationQueue& q, transports::Transport& transport,
                  std::vector<queue::Leased> items);
  void on_send_done(std::shared_ptr<InFlight> send, std::vector<transports::Outcome> outcomes);
  void on_leased(core::Result<std::vector<queue::Leased>> result, size_t asked);
  void on_applied(core::Result<size_t> result, size_t count);
  void release_item(const queue::Leased& item, core::TimePoint due_at, std::string detail);
  void finish_send(InFlight& send);
  core::Duration no_transport_delay(const core::MessageRecord& record, core::TimePoint now) const;

  // Housekeeping (dispatcher_timers.cpp).
  void arm_poll();
  void arm_maintenance();
  void arm_purge(core::Duration after);
  void on_maintenance();
  void on_purge();
  bool something_due() const;
  void release_expiring(core::TimePoint now);
  void abandon_overdue_sends(core::TimePoint now);
  // The accounting log's line for one decided attempt (no-op without a log).
  void account(const core::MessageRecord& record, const transports::Outcome& outcome,
               const Decision& decision, core::TimePoint now);
  void begin_stop();
  void on_grace_expired();
  void try_finish_stop();
  void spool_op_started() noexcept { ++spool_ops_; }
  // Suppressions called for by permanent refusals (suppress.h), stored with
  // the next flush.
  void note_refusal(const core::MessageRecord& record, const core::Reply& reply,
                    std::string_view category, core::TimePoint now);
  void flush_feedback();
  std::vector<queue::Feedback> feedback_;
  // Nothing in progress that would change the spool: for TEST_poll.
  bool quiet() const noexcept;
  void spool_op_finished();
  void when_spool_idle(std::function<void()> fn);
  void publish_snapshot();
  void cancel_on_strand(const core::Id& id,
                        std::function<void(core::Result<core::MessageStatus>)> done);

  // Immutable after construction.
  const std::shared_ptr<const core::Config> config_;
  const core::EngineConfig& cfg_;
  queue::Spool& spool_;
  const transports::Registry& registry_;
  std::shared_ptr<ContentCache> contents_;
  AccountingLog* accounting_;  // may be null
  Throttles* throttles_;       // may be null: no shaping
  const core::Clock& clock_;
  const RetryPolicy retry_;
  const core::Duration lease_guard_;  // release a ready message this close to lease_until
  const core::Duration send_margin_;  // abandon a send this close to lease_until
  const core::Duration maintenance_interval_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;

  // Strand-only state.
  State state_ = State::kIdle;
  bool test_driven_ = false;  // TEST_poll was used: lease even when not started
  bool step_posted_ = false;
  bool lease_in_flight_ = false;
  bool lease_wanted_ = false;  // lease at the next step (tick, wake, full batch)
  bool apply_in_flight_ = false;
  std::chrono::steady_clock::time_point last_apply_{};  // when the last apply started
  bool apply_timer_armed_ = false;
  size_t active_ = 0;      // leased messages we hold (inbox + ready + in flight)
  size_t spool_ops_ = 0;   // spool operations whose result is not yet taken in
  uint64_t progress_ = 0;  // bumped whenever work moves; read by TEST_poll
  uint64_t next_send_seq_ = 0;
  ReadyQueues ready_;
  std::vector<queue::Leased> leased_inbox_;
  std::vector<Answer> outcome_inbox_;
  std::map<uint64_t, std::shared_ptr<InFlight>> in_flight_;
  std::vector<queue::Transition> pending_;  // decided, not yet handed to spool.apply
  std::unordered_set<std::string> warned_no_transport_;
  std::vector<std::function<void()>> idle_waiters_;
  std::vector<std::function<void()>> stop_waiters_;
  std::chrono::steady_clock::time_point last_lease_error_log_{};
  std::mt19937_64 rng_;
  boost::asio::steady_timer poll_timer_;
  boost::asio::steady_timer maintenance_timer_;
  boost::asio::steady_timer purge_timer_;
  boost::asio::steady_timer grace_timer_;
  boost::asio::steady_timer apply_timer_;  // engine.apply_linger
  // Held destination queues by the time they may be looked at again: one
  // entry per destination (the latest hold wins), found by name through
  // hold_index_, so releasing n holds is O(n log n).
  using Holds = std::multimap<core::TimePoint, std::string>;
  Holds holds_;
  std::unordered_map<std::string, Holds::iterator> hold_index_;
  void add_hold(const std::string& destination, core::TimePoint at);
  boost::asio::steady_timer throttle_timer_;
  core::TimePoint throttle_timer_at_ = core::TimePoint::max();

  // Direct leases: the gate (null when off), and on the strand the grants
  // taken in and the closed set last published.
  const std::shared_ptr<DirectGate> gate_;
  uint64_t direct_settled_ = 0;
  std::vector<std::string> closed_names_;

  // Any thread.
  std::atomic<bool> wake_posted_{false};
  // Transport answers posted to the strand and not yet taken in; lets
  // TEST_poll see an answer given inside send() before it is handled.
  std::atomic<size_t> answers_posted_{0};
  mutable std::mutex snapshot_mu_;
  std::vector<DestinationState> snapshot_;  // GUARDED_BY(snapshot_mu_)
};

}  // namespace engine
