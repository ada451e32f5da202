// engine/dispatcher_control.cpp: the dispatcher's life cycle and timers.
//
// start/stop, the poll tick, spool housekeeping (reclaim expired leases,
// purge finished messages), the send watchdog, cancel of a message still in
// a ready queue, and the TEST_poll driver. Split from dispatcher.cpp, which
// holds the hot path, because these change for different reasons.
//
// Every timer runs on the strand and its completion holds only a weak
// reference; operation_aborted (a cancelled timer) is not a failure.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <cassert>
#include <future>
#include <memory>
#include <utility>

#include "core/log.h"
#include "engine/dispatcher.h"
#include "engine/throttle.h"
#include "engine/feedback.h"
#include "engine/metrics.h"

namespace engine {
namespace {

namespace asio = boost::asio;
using core::log::Field;

// Finished messages deleted per spool.purge call; a full batch means more
// are due, and the next call follows at once.
constexpr size_t kPurgeBatch = 10'000;
// TEST_poll's bounds: iterations, and how long one may wait for the strand.
constexpr int kTestPollIterations = 64;
constexpr auto kTestPollWait = std::chrono::seconds(30);

// A timer completion that calls `fn` on the dispatcher unless the timer was
// cancelled or the dispatcher is gone.
template <class Fn>
auto on_timer(std::weak_ptr<Dispatcher> weak, Fn fn) {
  return [weak = std::move(weak), fn = std::move(fn)](const boost::system::error_code& ec) {
    if (ec) return;  // operation_aborted: cancelled by stop or destruction
    if (auto self = weak.lock()) fn(*self);
  };
}

}  // namespace

// ---- start / stop -----------------------------------------------------------

void Dispatcher::start() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->state_ != State::kIdle) {
      if (self->state_ != State::kRunning) core::log::warn("dispatcher start after stop ignored");
      return;
    }
    self->state_ = State::kRunning;
    core::log::info("dispatcher started", {Field("max_active", self->cfg_.max_active),
                                           Field("concurrency", self->cfg_.default_concurrency),
                                           Field("retries", self->retry_.max_retries())});
    self->lease_wanted_ = true;
    if (self->throttles_ != nullptr) {
      // A resume or new rules may free held destinations at once.
      self->throttles_->set_on_change([weak = std::weak_ptr<Dispatcher>(self)] {
        auto d = weak.lock();
        if (!d) return;
        asio::post(d->strand_, [d] {
          d->release_holds(d->clock_.now(), true);
          d->step();
        });
      });
    }
    self->arm_poll();
    self->arm_maintenance();
    self->arm_purge(core::Duration(0));
    self->step();
  });
}

void Dispatcher::stop(std::function<void()> done) {
  asio::post(strand_, [self = shared_from_this(), done = std::move(done)]() mutable {
    if (self->state_ == State::kStopped) {
      if (done) done();
      return;
    }
    if (done) self->stop_waiters_.push_back(std::move(done));
    if (self->state_ != State::kStopping) self->begin_stop();
  });
}

// Stopping: no more leases or sends. Ready messages go back at once (they
// were never tried); sends in flight get shutdown_grace to answer, and
// their answers are committed as usual.
void Dispatcher::begin_stop() {
  state_ = State::kStopping;
  poll_timer_.cancel();
  apply_timer_.cancel();
  maintenance_timer_.cancel();
  purge_timer_.cancel();
  const core::TimePoint now = clock_.now();
  size_t released = 0;
  ready_.for_each([&](DestinationQueue& q) {
    for (const queue::Leased& item : q.take_all()) {
      release_item(item, now, "released: engine stopping");
      ++released;
    }
  });
  active_ -= released;
  Metrics::get().active->set(static_cast<int64_t>(active_));
  core::log::info("dispatcher stopping",
                  {Field("released", released), Field("sends_in_flight", in_flight_.size())});
  grace_timer_.expires_after(cfg_.shutdown_grace);
  grace_timer_.async_wait(on_timer(weak_from_this(), [](Dispatcher& d) { d.on_grace_expired(); }));
  step();
}

// The grace is over: what is still inside a transport goes back to queued
// without counting an attempt. If the transport did deliver it, it will be
// delivered again after the restart (at least once, never lost).
void Dispatcher::on_grace_expired() {
  if (state_ != State::kStopping) return;
  const core::TimePoint now = clock_.now();
  auto sends = std::move(in_flight_);
  in_flight_.clear();
  size_t released = 0;
  for (auto& [seq, send] : sends) {
    send->abandoned = true;
    for (const queue::Leased& item : send->items) {
      release_item(item, now, "released: engine stopped before the transport answered");
    }
    released += send->items.size();
    finish_send(*send);
  }
  if (released > 0) {
    core::log::warn("shutdown grace over; released messages still in transport sends",
                    {Field("released", released)});
  }
  step();
}

void Dispatcher::try_finish_stop() {
  if (!in_flight_.empty() || lease_in_flight_ || !leased_inbox_.empty() ||
      !outcome_inbox_.empty()) {
    return;
  }
  flush();
  if (!pending_.empty() || apply_in_flight_ || spool_ops_ > 0) return;
  state_ = State::kStopped;
  grace_timer_.cancel();
  ready_.erase_idle();
  publish_snapshot();
  core::log::info("dispatcher stopped");
  auto waiters = std::move(stop_waiters_);
  stop_waiters_.clear();
  for (auto& w : waiters) w();
}

// ---- timers -----------------------------------------------------------------

void Dispatcher::arm_poll() {
  poll_timer_.expires_after(std::max(cfg_.poll_interval, core::Duration(1)));
  poll_timer_.async_wait(on_timer(weak_from_this(), [](Dispatcher& d) {
    if (d.state_ != State::kRunning) return;
    if (d.something_due()) d.lease_wanted_ = true;
    d.step();
    d.ready_.erase_idle();
    d.publish_snapshot();
    d.arm_poll();
  }));
}

// A lease is a write transaction (and a sync); an idle spool should not
// commit five of them a second. The due index answers from a read
// transaction, which never waits for the writer. On a read error we lease
// anyway and let the lease report it.
bool Dispatcher::something_due() const {
  auto next = spool_.next_due();
  if (!next) return true;
  return next->has_value() && **next <= clock_.now();
}

void Dispatcher::arm_maintenance() {
  maintenance_timer_.expires_after(maintenance_interval_);
  maintenance_timer_.async_wait(on_timer(weak_from_this(), [](Dispatcher& d) {
    if (d.state_ != State::kRunning) return;
    d.on_maintenance();
    d.arm_maintenance();
  }));
}

void Dispatcher::arm_purge(core::Duration after) {
  purge_timer_.expires_after(after);
  purge_timer_.async_wait(on_timer(weak_from_this(), [](Dispatcher& d) {
    if (d.state_ != State::kRunning) return;
    d.on_purge();
  }));
}

// Leases of crashed sends and of messages stuck in ready queues, and sends
// a transport never answered (STYLE.md R7: every wait has a deadline). Our
// own decisions are flushed before the reclaim is queued behind them.
void Dispatcher::on_maintenance() {
  const core::TimePoint now = clock_.now();
  release_expiring(now);
  abandon_overdue_sends(now);
  ready_.erase_idle();
  flush();
  spool_op_started();
  spool_.reclaim_expired_leases([weak = weak_from_this()](core::Result<size_t> r) {
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->strand_, [self, r = std::move(r)] {
      if (!r) {
        core::log::error("reclaiming expired leases failed",
                         {Field("error", r.error().to_string())});
      } else if (*r > 0) {
        core::log::info("expired leases reclaimed", {Field("messages", *r)});
        self->lease_wanted_ = true;
        self->request_step();
      }
      self->spool_op_finished();
    });
  });
  step();
}

void Dispatcher::release_expiring(core::TimePoint now) {
  size_t released = 0;
  ready_.for_each([&](DestinationQueue& q) {
    auto items = q.remove_if([&](const queue::Leased& item) {
      return item.record.lease_until && *item.record.lease_until - now < lease_guard_;
    });
    for (const queue::Leased& item : items) {
      release_item(item, now, "released: lease nearly expired while waiting for a send slot");
    }
    if (!items.empty()) {
      core::log::warn("released messages whose lease would expire before a send slot",
                      {Field("destination", q.name()), Field("messages", items.size())});
    }
    released += items.size();
  });
  active_ -= released;
  Metrics::get().active->set(static_cast<int64_t>(active_));
}

// A send past its deadline (send_margin_ before its earliest lease ends) is
// treated as a transient failure of each of its messages: the attempt
// counts, so a transport that hangs forever still ends in failed after the
// retries, and its late answer is ignored.
void Dispatcher::abandon_overdue_sends(core::TimePoint now) {
  std::vector<std::shared_ptr<InFlight>> overdue;
  for (auto& [seq, send] : in_flight_) {
    if (send->deadline <= now) overdue.push_back(send);
  }
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (auto& send : overdue) {
    core::log::error(
        "transport did not answer before the lease expired",
        {Field("destination", send->destination), Field("messages", send->items.size())});
    transports::Outcome o;
    o.kind = transports::OutcomeKind::kTransient;
    o.reply.text = "no answer from the transport before the lease expired";
    o.blames_message = false;
    for (const queue::Leased& item : send->items) {
      Decision d = decide(item.record, o, retry_, now, unit(rng_));
      if (d.verdict == Verdict::kFailed) {
        if (auto next = next_route(item.record, registry_)) {
          if (fall_back(d, item.record, *next, now)) Metrics::get().fallbacks->inc();
        }
      }
      (d.verdict == Verdict::kFailed ? Metrics::get().failed : Metrics::get().transient)->inc();
      account(item.record, o, d, now);
      pending_.push_back(std::move(d.transition));
    }
    send->abandoned = true;
    finish_send(*send);
  }
}

void Dispatcher::on_purge() {
  spool_op_started();
  spool_.purge(kPurgeBatch, [weak = weak_from_this()](core::Result<size_t> r) {
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->strand_, [self, r = std::move(r)] {
      core::Duration next = self->config_->spool.purge_interval;
      if (!r) {
        core::log::error("purge failed", {Field("error", r.error().to_string())});
      } else if (*r > 0) {
        core::log::info("finished messages purged", {Field("messages", *r)});
        if (*r >= kPurgeBatch) next = core::Duration(0);
      }
      if (self->state_ == State::kRunning) self->arm_purge(next);
      self->spool_op_finished();
    });
  });
}

// ---- spool bookkeeping, snapshot --------------------------------------------

void Dispatcher::spool_op_finished() {
  assert(spool_ops_ > 0);
  --spool_ops_;
  if (state_ == State::kStopping) request_step();
  if (spool_ops_ > 0 || idle_waiters_.empty()) return;
  auto waiters = std::move(idle_waiters_);
  idle_waiters_.clear();
  for (auto& w : waiters) w();
}

void Dispatcher::when_spool_idle(std::function<void()> fn) {
  if (spool_ops_ == 0) {
    fn();
  } else {
    idle_waiters_.push_back(std::move(fn));
  }
}

void Dispatcher::publish_snapshot() {
  auto s = ready_.snapshot();
  std::lock_guard lock(snapshot_mu_);
  snapshot_ = std::move(s);
}

std::vector<DestinationState> Dispatcher::destinations() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshot_;
}

// ---- cancel -----------------------------------------------------------------

void Dispatcher::cancel(const core::Id& id,
                        std::function<void(core::Result<core::MessageStatus>)> done) {
  asio::post(strand_, [self = shared_from_this(), id, done = std::move(done)]() mutable {
    self->cancel_on_strand(id, std::move(done));
  });
}

// A message in a ready queue is leased, and the spool refuses to cancel a
// leased message. It has not been tried yet, so it is taken out, its lease
// is released (due a little later, so a lease running meanwhile does not
// pick it up again), and the cancel follows once that is committed.
void Dispatcher::cancel_on_strand(const core::Id& id,
                                  std::function<void(core::Result<core::MessageStatus>)> done) {
  static constexpr std::string_view kDetail = "cancelled by request";
  // A lease that just came back is placed first, so its messages count as
  // waiting in a ready queue (which they are, one step later).
  place_leased(clock_.now());
  request_step();
  std::optional<queue::Leased> found;
  ready_.for_each([&](DestinationQueue& q) {
    if (!found) found = q.remove(id);
  });
  if (!found) {
    spool_.cancel(id, std::string(kDetail), std::move(done));
    return;
  }
  --active_;
  Metrics::get().active->set(static_cast<int64_t>(active_));
  Metrics::get().released->inc();
  const core::TimePoint due = clock_.now() + std::max(cfg_.ready_full_delay, core::Duration(1000));
  std::vector<queue::Transition> release_one{release(found->record, due, "released for cancel")};
  spool_op_started();
  spool_.apply(std::move(release_one), [weak = weak_from_this(), id,
                                        done = std::move(done)](core::Result<size_t> r) mutable {
    auto self = weak.lock();
    if (!self) {
      done(core::make_error(core::Errc::kUnavailable, "engine stopped"));
      return;
    }
    asio::post(self->strand_, [self, id, r = std::move(r), done = std::move(done)]() mutable {
      if (!r) {
        done(r.error());
      } else {
        self->spool_.cancel(id, std::string(kDetail), std::move(done));
      }
      self->spool_op_finished();
    });
  });
}

// ---- TEST_poll --------------------------------------------------------------

bool Dispatcher::quiet() const noexcept {
  return spool_ops_ == 0 && !step_posted_ && answers_posted_.load() == 0 && leased_inbox_.empty() &&
         outcome_inbox_.empty() && pending_.empty();
}

void Dispatcher::TEST_poll() {
  if (strand_.running_in_this_thread()) {
    test_driven_ = true;
    lease_wanted_ = true;
    step();
    return;
  }
  for (int i = 0; i < kTestPollIterations; ++i) {
    auto progressed = std::make_shared<std::promise<bool>>();
    auto future = progressed->get_future();
    asio::post(strand_, [self = shared_from_this(), progressed] {
      self->test_driven_ = true;
      self->lease_wanted_ = true;
      const uint64_t before = self->progress_;
      self->step();
      self->when_spool_idle([self, before, progressed] {
        self->publish_snapshot();
        progressed->set_value(self->progress_ != before || !self->quiet());
      });
    });
    if (future.wait_for(kTestPollWait) != std::future_status::ready) {
      core::log::error("TEST_poll: the engine's executor did not run the step in time");
      return;
    }
    if (!future.get()) return;
  }
}

}  // namespace engine
