// engine/dispatcher_throttle.cpp: the dispatcher's side of the throttles
// (engine/throttle.h). Before each batch a destination's group says how
// many messages may go; a destination that may send nothing now is *held*
// (not runnable, leases nothing new) until a time the group names, and its
// waiting messages go back to the spool when that time is far. Replies
// feed the group's backoff rules.
#include <boost/asio/post.hpp>

#include "core/log.h"
#include "engine/dispatcher.h"
#include "engine/metrics.h"
#include "engine/throttle.h"

namespace engine {

namespace asio = boost::asio;
using core::log::Field;

size_t Dispatcher::admit_batch(DestinationQueue& q, core::TimePoint now) {
  const size_t want = std::min<size_t>(std::max<uint32_t>(cfg_.batch_size, 1), q.ready());
  if (throttles_ == nullptr || q.hop == DestinationQueue::Hop::kUnshaped) return want;
  if (q.hop == DestinationQueue::Hop::kUnknown) {
    const queue::Leased* item = q.peek();
    const transports::Transport* t = item ? registry_.find(item->record.channel()) : nullptr;
    if (t != nullptr && !t->shaped()) {
      q.hop = DestinationQueue::Hop::kUnshaped;
      return want;
    }
  }
  if (q.hop != DestinationQueue::Hop::kKnown) {
    if (!throttles_->needs_first_hop()) {
      q.hop = DestinationQueue::Hop::kKnown;
    } else {
      ask_first_hop(q);
      return 0;
    }
  }
  const uint64_t generation = throttles_->generation();
  if (!q.group || q.group_generation != generation) {
    q.group = throttles_->group_for(q.name(), q.first_hop);
    q.group_generation = generation;
  }
  std::optional<core::TimePoint> next;
  const size_t n = throttles_->admit(*q.group, q.name(), want, now, &next);
  if (n == 0) hold(q, next, now);
  return n;
}

// MX rules need the destination's first hop, which only its transport
// knows (and may have to look up). The queue is held until the answer.
void Dispatcher::ask_first_hop(DestinationQueue& q) {
  if (q.hop == DestinationQueue::Hop::kAsking) return;
  const queue::Leased* item = q.peek();
  transports::Transport* t = item ? registry_.find(item->record.channel()) : nullptr;
  if (t == nullptr) {
    q.hop = DestinationQueue::Hop::kKnown;
    return;
  }
  q.hop = DestinationQueue::Hop::kAsking;
  q.set_held(true);
  t->first_hop(q.name(), [weak = weak_from_this(), name = q.name()](std::string host) {
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->strand_, [self, name, host = std::move(host)]() mutable {
      self->on_first_hop(name, std::move(host));
    });
  });
}

void Dispatcher::on_first_hop(const std::string& destination, std::string host) {
  DestinationQueue* q = ready_.find(destination);
  if (q == nullptr) return;
  q->first_hop = std::move(host);
  q->hop = DestinationQueue::Hop::kKnown;
  q->set_held(false);
  ready_.reschedule(*q);
  request_step();
}

// Holds `q` until `until` (nullopt: paused until resumed; looked at again
// every ready_full_delay). A hold longer than ready_full_delay sends the
// waiting messages back to the spool, due when the hold ends: a suspended
// destination must not sit on leases for hours.
void Dispatcher::hold(DestinationQueue& q, std::optional<core::TimePoint> until,
                      core::TimePoint now) {
  const core::Duration recheck = std::max(cfg_.ready_full_delay, core::Duration(1000));
  const core::TimePoint at = until.value_or(now + recheck);
  q.set_held(true);
  add_hold(q.name(), at);
  if (at - now >= recheck) {
    const std::vector<queue::Leased> items = q.take_all();
    for (const queue::Leased& item : items) {
      release_item(item, until ? at : now + recheck,
                   until ? "waiting: destination throttled" : "waiting: destination paused");
    }
    if (!items.empty()) {
      active_ -= items.size();
      Metrics::get().active->set(static_cast<int64_t>(active_));
      core::log::info("throttle: messages of a held destination go back to the queue",
                      {Field("destination", q.name()), Field("messages", items.size()),
                       Field("group", q.group ? q.group->name() : std::string())});
    }
  }
  arm_throttle_timer(at, now);
}

// Several holds of one queue: it stays held until the last one ends.
void Dispatcher::add_hold(const std::string& destination, core::TimePoint at) {
  auto [it, fresh] = hold_index_.try_emplace(destination);
  if (!fresh) {
    if (it->second->first >= at) return;
    holds_.erase(it->second);
  }
  it->second = holds_.emplace(at, destination);
}

void Dispatcher::release_holds(core::TimePoint now, bool all) {
  while (!holds_.empty() && (all || holds_.begin()->first <= now)) {
    const std::string name = holds_.begin()->second;
    holds_.erase(holds_.begin());
    hold_index_.erase(name);
    DestinationQueue* q = ready_.find(name);
    if (q == nullptr || q->hop == DestinationQueue::Hop::kAsking) continue;
    // Still paused by an operator: stay held (the admission keeps its mail
    // in the spool) instead of leasing it only to send it back, which would
    // add an event to every message each time.
    if (!all && throttles_ != nullptr &&
        (throttles_->paused(name, now) || (q->group && throttles_->paused(q->group->name(), now)))) {
      add_hold(name, now + std::max(cfg_.ready_full_delay, core::Duration(1000)));
      continue;
    }
    q->set_held(false);
    ready_.reschedule(*q);
    ++progress_;
  }
  if (all) {
    holds_.clear();
    hold_index_.clear();
  }
  if (!holds_.empty()) arm_throttle_timer(holds_.begin()->first, now);
}

void Dispatcher::arm_throttle_timer(core::TimePoint at, core::TimePoint now) {
  if (at >= throttle_timer_at_ && throttle_timer_at_ > now) return;
  throttle_timer_at_ = at;
  throttle_timer_.expires_after(std::max(std::chrono::duration_cast<core::Duration>(at - now),
                                         core::Duration(1)));
  throttle_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->throttle_timer_at_ = core::TimePoint::max();
    self->step();
  });
}

// Replies go to the group's backoff rules, each distinct reply of a send
// once: a 421 that failed a whole batch is one signal, not a hundred.
void Dispatcher::observe_replies(const InFlight& send,
                                 const std::vector<transports::Outcome>& outcomes,
                                 core::TimePoint now) {
  if (throttles_ == nullptr || !send.group) return;
  const core::Reply* last = nullptr;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const transports::Outcome& o = outcomes[i];
    if (o.kind == transports::OutcomeKind::kDelivered) continue;
    // Suppressed messages never reached the peer: its health is not in them.
    if (i < send.forbidden.size() && !send.forbidden[i].empty()) continue;
    if (last != nullptr && last->code == o.reply.code && last->text == o.reply.text) continue;
    last = &o.reply;
    throttles_->observe(*send.group, o.reply, now);
  }
}

}  // namespace engine
