// engine/dispatcher.cpp: the dispatcher's step, sends, leases and commits.
//
// Everything in this file runs on the dispatcher's strand, except the
// bodies of the completions handed to the spool and to transports, which
// only post their result back to the strand.
//
// Leases and time. The spool reclaims a lease lease_timeout after it was
// taken and may hand the message out again. A message that waits too long
// in a ready queue (its destination is slow and its queue long) must
// therefore not be sent under its old lease: that could deliver it twice.
// Messages whose lease has less than lease_guard_ (half the lease timeout)
// left are released back to queued instead of being sent; the maintenance
// tick does the same for queues that are not moving at all. A send still
// unanswered send_margin_ (a quarter of the lease timeout) before its
// earliest lease ends is abandoned by the maintenance tick, which runs
// every eighth of the lease timeout at least, so its transient failure is
// committed while the lease is still ours and the attempt counts: a
// transport that hangs cannot keep a message alive forever. A transport
// thus always gets at least a quarter of the lease timeout per send.
#include "engine/dispatcher.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cassert>
#include <set>
#include <utility>

#include "core/log.h"
#include "engine/accounting.h"
#include "engine/feedback.h"
#include "engine/throttle.h"
#include "engine/metrics.h"
#include "engine/suppress.h"

namespace engine {
namespace {

namespace asio = boost::asio;
using core::log::Field;

const core::Content kNoContent{};

// Messages whose channel has no transport wait in the queue and are looked
// at again after this long: at least a minute, growing with the message's
// age up to a quarter of an hour, so a backlog waiting for a transport that
// is configured only at the next restart costs few leases and few events.
constexpr core::Duration kNoTransportMinDelay{60'000};
// The longest a held destination's spooled mail is pushed back at a time.
constexpr core::Duration kHeldRecheck{60'000};
constexpr core::Duration kNoTransportMaxDelay{15 * 60'000};

}  // namespace

Dispatcher::Dispatcher(std::shared_ptr<const core::Config> config, queue::Spool& spool,
                       const transports::Registry& registry, const core::Clock& clock,
                       asio::any_io_executor executor, std::shared_ptr<ContentCache> contents,
                       AccountingLog* accounting, Throttles* throttles)
    : config_(std::move(config)),
      cfg_(config_->engine),
      spool_(spool),
      registry_(registry),
      contents_(std::move(contents)),
      accounting_(accounting),
      throttles_(throttles),
      clock_(clock),
      retry_(config_->retry),
      lease_guard_(config_->spool.lease_timeout / 2),
      send_margin_(config_->spool.lease_timeout / 4),
      maintenance_interval_(
          std::clamp(config_->spool.lease_timeout / 8, core::Duration(100),
                     std::max(config_->spool.purge_interval, core::Duration(100)))),
      strand_(asio::make_strand(std::move(executor))),
      ready_(cfg_.default_concurrency),
      rng_(std::random_device{}()),
      poll_timer_(strand_),
      maintenance_timer_(strand_),
      purge_timer_(strand_),
      grace_timer_(strand_),
      apply_timer_(strand_),
      throttle_timer_(strand_),
      gate_(cfg_.direct_lease ? std::make_shared<DirectGate>() : nullptr) {}

Dispatcher::~Dispatcher() = default;

// The dispatcher's whole step, in order. It runs on every poll tick, after
// a wake from submit, and whenever a lease, a send or a commit completes.
// Cost: proportional to the work it moves; no I/O of its own (the spool and
// the transports are asynchronous), no waiting.
void Dispatcher::step() {
  if (state_ == State::kStopped) return;
  const core::TimePoint now = clock_.now();
  // (1) Outcomes transports gave since the last step become status changes;
  //     their send slots are free again. First, so the slots count in (3).
  absorb_outcomes(now);
  // (1b) Destinations held by their throttle whose time has come may send
  //      again.
  release_holds(now, false);
  // (2) Messages the last lease returned go into their destination's ready
  //     queue, which keeps priority order (transactional first); those
  //     whose channel has no transport, or that arrive while stopping, are
  //     released back to the queue.
  place_leased(now);
  // (3) Round robin over destinations with something ready and a free slot
  //     (< default_concurrency sends in flight): one batch of up to
  //     batch_size per destination per turn, so one slow destination never
  //     holds back another. A message whose lease is nearly over is
  //     released instead of sent.
  dispatch_ready(now);
  // (4) If leasing is wanted (poll tick with something due, a wake, a full
  //     last batch) and there is room (active < max_active), lease up to
  //     min(lease_batch, room); the admission snapshot refuses destinations
  //     whose ready queue is full (they wait ready_full_delay). The result
  //     comes back on the strand and is placed by the next step.
  maybe_lease();
  // (5) Every status change decided so far goes to the spool in one apply;
  //     while one is in flight, new ones gather for the next (batching
  //     grows with load).
  flush();
  // (6) How much new mail may be leased as it is stored, until next time.
  refill_direct_gate();
  if (state_ == State::kStopping) try_finish_stop();
}

queue::DirectLease Dispatcher::direct_lease() {
  if (!gate_) return {};
  queue::DirectLease d;
  // One uncontended lock per message on the writer thread: the credits and
  // the closed set are read together, as the strand last published them.
  d.admit = [gate = gate_](std::string_view destination) {
    std::lock_guard lock(gate->mu);
    if (gate->credits <= 0 || gate->closed.find(destination) != gate->closed.end()) return false;
    --gate->credits;
    ++gate->granted;
    return true;
  };
  d.leased = [weak = weak_from_this()](std::vector<queue::Leased> items, size_t admitted) {
    auto self = weak.lock();
    if (!self) return;  // left leased: reclaimed when they expire or at the next start
    asio::post(self->strand_, [self, items = std::move(items), admitted]() mutable {
      self->take_direct(std::move(items), admitted);
    });
  };
  return d;
}

bool Dispatcher::TEST_direct_lease_open() const {
  if (!gate_) return false;
  std::lock_guard lock(gate_->mu);
  return gate_->credits > 0;
}

// Open only while nothing due waits in the spool (no lease wanted or in
// flight): new mail must not overtake older mail of the same priority.
void Dispatcher::refill_direct_gate() {
  if (!gate_) return;
  const bool open = (state_ == State::kRunning || (state_ == State::kIdle && test_driven_)) &&
                    !lease_wanted_ && !lease_in_flight_;
  std::vector<std::string> closed;
  if (open) {
    for (const auto& [at, name] : holds_) closed.push_back(name);
    // No queue can be full while we hold fewer messages than one full
    // queue: skip the scan over every destination (this runs every step).
    if (active_ >= cfg_.max_ready_per_destination) {
      ready_.for_each([&](DestinationQueue& q) {
        if (q.ready() >= cfg_.max_ready_per_destination) closed.push_back(q.name());
      });
    }
    std::sort(closed.begin(), closed.end());
    closed.erase(std::unique(closed.begin(), closed.end()), closed.end());
  }
  std::lock_guard lock(gate_->mu);
  int64_t credits = 0;
  if (open) {
    const uint64_t outstanding = gate_->granted - direct_settled_;
    const uint64_t used = active_ + outstanding;
    if (used < cfg_.max_active) {
      credits = static_cast<int64_t>(
          std::min<uint64_t>(std::max<uint32_t>(cfg_.lease_batch, 1), cfg_.max_active - used));
    }
  }
  gate_->credits = credits;
  if (credits > 0 && closed != closed_names_) {
    gate_->closed = std::set<std::string, std::less<>>(closed.begin(), closed.end());
    closed_names_ = std::move(closed);
  }
}

// Direct leases taken in like a lease's result. Stopping: place_leased
// gives them back. Stopped (granted just before the stop, committed after
// it): they stay leased in the spool and are reclaimed at the next start.
void Dispatcher::take_direct(std::vector<queue::Leased> items, size_t admitted) {
  direct_settled_ += admitted;
  if (!items.empty() && state_ != State::kStopped) {
    Metrics::get().direct_leased->inc(items.size());
    take_leased(items);
  }
  request_step();
}

// Leased messages (from a lease or a direct lease) into the inbox that the
// next step places.
void Dispatcher::take_leased(std::vector<queue::Leased>& items) {
  const size_t n = items.size();
  if (n == 0) return;
  active_ += n;
  Metrics::get().leased->inc(n);
  Metrics::get().active->set(static_cast<int64_t>(active_));
  if (leased_inbox_.empty()) {
    leased_inbox_ = std::move(items);
  } else {
    std::move(items.begin(), items.end(), std::back_inserter(leased_inbox_));
  }
  ++progress_;
}

void Dispatcher::request_step() {
  if (step_posted_) return;
  step_posted_ = true;
  asio::post(strand_, [self = shared_from_this()] {
    self->step_posted_ = false;
    self->step();
  });
}

void Dispatcher::wake() {
  if (wake_posted_.exchange(true)) return;
  asio::post(strand_, [self = shared_from_this()] {
    self->wake_posted_ = false;
    if (self->state_ != State::kRunning && !(self->state_ == State::kIdle && self->test_driven_)) {
      return;
    }
    // If a lease is running, its snapshot may predate the new message:
    // lease again as soon as it is back.
    self->lease_wanted_ = true;
    self->step();
  });
}

// ---- (1) outcomes ----------------------------------------------------------

void Dispatcher::on_send_done(std::shared_ptr<InFlight> send,
                              std::vector<transports::Outcome> outcomes) {
  answers_posted_.fetch_sub(1);
  if (send->answered) {
    core::log::error("transport answered a send twice; second answer ignored",
                     {Field("destination", send->destination)});
    return;
  }
  send->answered = true;
  if (send->abandoned) {
    core::log::info("late answer from transport ignored", {Field("destination", send->destination),
                                                           Field("messages", send->items.size())});
    return;
  }
  outcome_inbox_.push_back(Answer{std::move(send), std::move(outcomes)});
  request_step();
}

// Cost: one decision and one transition per message; per-message log lines
// are debug level and not even formatted unless enabled (failures are info).
void Dispatcher::absorb_outcomes(core::TimePoint now) {
  if (outcome_inbox_.empty()) return;
  const Metrics& m = Metrics::get();
  const bool debug = core::log::min_level() <= core::log::Level::kDebug;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  static const transports::Outcome kMissing = [] {
    transports::Outcome o;
    o.kind = transports::OutcomeKind::kTransient;
    o.reply.text = "the transport gave no outcome for this message";
    o.blames_message = false;
    return o;
  }();
  for (Answer& a : outcome_inbox_) {
    InFlight& send = *a.send;
    if (send.abandoned) continue;  // timed out meanwhile; already decided
    observe_replies(send, a.outcomes, now);
    if (a.outcomes.size() != send.items.size()) {
      core::log::error("transport gave the wrong number of outcomes",
                       {Field("destination", send.destination),
                        Field("expected", send.items.size()), Field("got", a.outcomes.size())});
    }
    for (size_t i = 0; i < send.items.size(); ++i) {
      const core::MessageRecord& record = send.items[i].record;
      const transports::Outcome& o = i < a.outcomes.size() ? a.outcomes[i] : kMissing;
      const bool forbidden = i < send.forbidden.size() && !send.forbidden[i].empty();
      Decision d = forbidden ? forbid(record, send.forbidden[i])
                             : decide(record, o, retry_, now, unit(rng_));
      // What the refusal says about the address, before a fallback to the
      // next channel forgets the bounce.
      if (!forbidden && o.kind == transports::OutcomeKind::kPermanent && o.recipient_specific &&
          d.transition.bounce) {
        note_refusal(record, o.reply, d.transition.bounce->category, now);
      }
      if (d.verdict == Verdict::kFailed) {
        // Built only here: most outcomes are deliveries and need no check.
        const ForbiddenCheck check = forbidden_check(spool_, record.tenant);
        if (auto next = next_route(record, registry_, check)) fall_back(d, record, *next, now);
      }
      if (forbidden) {
        m.forbidden->inc();
        core::log::info(d.verdict == Verdict::kFallback ? "suppressed on this channel" : "forbidden",
                        {Field("id", record.id.to_string()), Field("destination", record.destination),
                         Field("detail", d.transition.detail)});
        pending_.push_back(std::move(d.transition));
        continue;
      }
      // A non-strict template renders a missing variable empty; the event
      // says which, so the author can find out why a greeting was blank.
      if (i < send.rendered.size() && !send.rendered[i].missing.empty()) {
        std::string& detail = d.transition.detail;
        detail += detail.empty() ? "template: missing variables: " : "; template: missing variables: ";
        for (size_t k = 0; k < send.rendered[i].missing.size(); ++k) {
          if (k) detail += ", ";
          detail += send.rendered[i].missing[k];
        }
      }
      switch (d.verdict) {
        case Verdict::kDelivered:
          m.delivered->inc();
          if (debug)
            core::log::debug("delivered", {Field("id", record.id.to_string()),
                                           Field("destination", record.destination),
                                           Field("reply", d.transition.detail)});
          break;
        case Verdict::kRetry:
          m.transient->inc();
          if (debug)
            core::log::debug(
                "deferred",
                {Field("id", record.id.to_string()), Field("destination", record.destination),
                 Field("attempt", record.attempts + 1), Field("reply", d.transition.detail)});
          break;
        case Verdict::kFallback:
          if (o.kind == transports::OutcomeKind::kTransient) m.transient->inc();
          m.fallbacks->inc();
          core::log::info("channel fallback", {Field("id", record.id.to_string()),
                                               Field("destination", record.destination),
                                               Field("attempt", record.attempts + 1),
                                               Field("next", d.transition.destination),
                                               Field("detail", d.transition.detail)});
          break;
        case Verdict::kFailed:
          if (o.kind == transports::OutcomeKind::kTransient) m.transient->inc();
          m.failed->inc();
          core::log::info("failed", {Field("id", record.id.to_string()),
                                     Field("destination", record.destination),
                                     Field("attempt", record.attempts + 1),
                                     Field("category", d.transition.bounce->category),
                                     Field("detail", d.transition.detail)});
          break;
      }
      account(record, o, d, now);
      pending_.push_back(std::move(d.transition));
    }
    finish_send(send);
  }
  outcome_inbox_.clear();
  ++progress_;
}

void Dispatcher::account(const core::MessageRecord& record, const transports::Outcome& outcome,
                         const Decision& d, core::TimePoint now) {
  if (accounting_ == nullptr) return;
  AccountingEntry e;
  e.record = &record;
  e.outcome = &outcome;
  e.attempt = record.attempts + 1;
  e.time = now;
  switch (d.verdict) {
    case Verdict::kDelivered:
      e.result = AttemptResult::kDelivered;
      break;
    case Verdict::kRetry:
      e.result = AttemptResult::kDeferred;
      e.retry_at = d.transition.due_at;
      break;
    case Verdict::kFallback:
      e.result = AttemptResult::kFallback;
      e.retry_at = d.transition.due_at;
      if (outcome.kind != transports::OutcomeKind::kPermanent) e.gave_up_as = kBounceRetriesExhausted;
      break;
    case Verdict::kFailed:
      e.result = AttemptResult::kFailed;
      // The engine gave up on transient replies: the line says why.
      if (outcome.kind != transports::OutcomeKind::kPermanent && d.transition.bounce)
        e.gave_up_as = d.transition.bounce->category;
      break;
  }
  accounting_->record(e);
}

// A send is over (answered or abandoned): its slot and its messages leave
// the books.
void Dispatcher::finish_send(InFlight& send) {
  const size_t n = send.items.size();
  if (DestinationQueue* q = ready_.find(send.destination)) {
    q->send_ended(n);
    ready_.reschedule(*q);
  }
  in_flight_.erase(send.seq);
  assert(active_ >= n);
  active_ -= n;
  Metrics::get().in_flight->add(-static_cast<int64_t>(n));
  Metrics::get().active->set(static_cast<int64_t>(active_));
}

// ---- (2) placing leased messages --------------------------------------------

void Dispatcher::release_item(const queue::Leased& item, core::TimePoint due_at,
                              std::string detail) {
  pending_.push_back(release(item.record, due_at, std::move(detail)));
  Metrics::get().released->inc();
  ++progress_;
}

core::Duration Dispatcher::no_transport_delay(const core::MessageRecord& record,
                                              core::TimePoint now) const {
  const auto age = std::chrono::duration_cast<core::Duration>(now - record.created_at);
  return std::clamp(age / 2, kNoTransportMinDelay, kNoTransportMaxDelay);
}

void Dispatcher::place_leased(core::TimePoint now) {
  if (leased_inbox_.empty()) return;
  std::vector<queue::Leased> inbox;
  inbox.swap(leased_inbox_);
  size_t released = 0;
  for (queue::Leased& item : inbox) {
    const core::MessageRecord& r = item.record;
    if (state_ == State::kStopping) {
      release_item(item, now, "released: engine stopping");
      ++released;
      continue;
    }
    if (r.channel_index >= r.request.channels.size()) {
      // A record the spool should never hold; fail it rather than loop on it.
      queue::Transition t;
      t.id = r.id;
      t.lease_gen = r.lease_gen;
      t.status = core::MessageStatus::kFailed;
      t.detail = "invalid channel index in the stored record";
      t.bounce = core::Bounce{"other", {}};
      t.counts_attempt = false;
      pending_.push_back(std::move(t));
      core::log::error("stored record has an invalid channel index",
                       {Field("id", r.id.to_string()), Field("destination", r.destination)});
      Metrics::get().failed->inc();
      ++released;
      continue;
    }
    if (registry_.find(r.channel()) == nullptr) {
      if (warned_no_transport_.insert(r.destination).second) {
        core::log::warn(
            "no transport serves this channel; messages wait in the queue",
            {Field("destination", r.destination), Field("channel", core::channel_name(r.channel())),
             Field("id", r.id.to_string())});
      }
      release_item(item, now + no_transport_delay(r, now), "waiting: no transport for the channel");
      ++released;
      continue;
    }
    ready_.place(std::move(item));
  }
  assert(active_ >= released);
  active_ -= released;
  Metrics::get().active->set(static_cast<int64_t>(active_));
  ++progress_;
}

// ---- (3) dispatching --------------------------------------------------------

void Dispatcher::dispatch_ready(core::TimePoint now) {
  if (state_ == State::kStopping) return;
  while (DestinationQueue* q = ready_.next_runnable()) {
    // The throttle decides how many may go; none holds the queue.
    const size_t n = admit_batch(*q, now);
    if (n > 0) send_batch(*q, n, now);
    ready_.reschedule(*q);
  }
}

void Dispatcher::send_batch(DestinationQueue& q, size_t n, core::TimePoint now) {
  std::vector<queue::Leased> items = q.take(n);
  // Group by transport: a destination key normally belongs to one channel
  // and thus one transport, but nothing forces a transport to prefix its
  // keys, and a batch must go to the transport that serves each message.
  std::vector<std::pair<transports::Transport*, std::vector<queue::Leased>>> groups;
  size_t released = 0;
  for (queue::Leased& item : items) {
    const core::MessageRecord& r = item.record;
    if (r.lease_until && *r.lease_until - now < lease_guard_) {
      release_item(item, now, "released: lease nearly expired while waiting for a send slot");
      ++released;
      continue;
    }
    transports::Transport* t = registry_.find(r.channel());
    assert(t != nullptr);  // checked in place_leased; the registry never changes
    auto g =
        std::find_if(groups.begin(), groups.end(), [t](const auto& p) { return p.first == t; });
    if (g == groups.end()) {
      groups.emplace_back(t, std::vector<queue::Leased>{});
      g = groups.end() - 1;
    }
    g->second.push_back(std::move(item));
  }
  if (released > 0) {
    core::log::warn("released messages whose lease would expire before a send slot",
                    {Field("destination", q.name()), Field("messages", released)});
    active_ -= released;
    Metrics::get().active->set(static_cast<int64_t>(active_));
  }
  for (auto& [transport, group] : groups) start_send(q, *transport, std::move(group));
}

void Dispatcher::start_send(DestinationQueue& q, transports::Transport& transport,
                            std::vector<queue::Leased> items) {
  auto send = std::make_shared<InFlight>();
  send->seq = ++next_send_seq_;
  send->destination = q.name();
  send->group = q.group;
  send->items = std::move(items);
  send->deadline = core::TimePoint::max();
  const size_t n = send->items.size();
  std::vector<transports::Delivery> batch;
  batch.reserve(n);
  send->rendered.resize(n);
  send->forbidden.resize(n);
  // Outcomes in item order. A message that does not render for its channel
  // (strict template missing a variable, too long for Telegram, a bad
  // button) gets a permanent outcome here and is never handed to the
  // transport; the feedback step fails it like a 5xx, with the reason in
  // the event.
  std::vector<transports::Outcome> outcomes(n);
  std::vector<uint32_t> sent;  // item index of each delivery in `batch`
  sent.reserve(n);
  const core::TimePoint now = clock_.now();
  const templating::RenderLimits limits{config_->email.max_sms_segments};
  for (size_t i = 0; i < n; ++i) {
    const queue::Leased& item = send->items[i];
    if (item.record.lease_until) {
      send->deadline = std::min(send->deadline, *item.record.lease_until - send_margin_);
    }
    // A recipient suppressed since the message was accepted (a bounce, a
    // complaint, an unsubscribe) gets nothing more: checked here, at the
    // last moment, so a message waiting for a retry is stopped too. The
    // filter answers from memory for everyone not suppressed.
    const core::MessageRecord& rec = item.record;
    if (rec.channel_index < rec.request.channels.size()) {
      if (auto why = forbidden_reason(spool_, rec.tenant, rec.request, rec.channel())) {
        send->forbidden[i] = std::move(*why);
        outcomes[i].kind = transports::OutcomeKind::kPermanent;
        outcomes[i].reply = core::Reply{0, "", send->forbidden[i]};
        continue;
      }
    }
    const core::Content& content = item.content ? *item.content : kNoContent;
    core::Result<templating::Rendered> rendered = render(item.record, content, now, limits);
    if (!rendered) {
      // Content that cannot be sent on this channel is the message's own
      // permanent problem; not being able to read its template (a spool
      // error) is ours, and passes: try again later.
      const core::Errc code = rendered.error().code;
      const bool permanent = code == core::Errc::kInvalidArgument || code == core::Errc::kNotFound;
      transports::Outcome& o = outcomes[i];
      o.kind = permanent ? transports::OutcomeKind::kPermanent : transports::OutcomeKind::kTransient;
      o.reply = core::Reply{0, "", "render: " + rendered.error().message};
      o.blames_message = permanent;
      continue;
    }
    send->rendered[i] = std::move(*rendered);
    transports::Delivery d;
    d.record = &item.record;
    d.content = &content;
    d.rendered = &send->rendered[i];
    d.attempt = item.record.attempts + 1;
    d.shaping = q.group;
    batch.push_back(std::move(d));
    sent.push_back(static_cast<uint32_t>(i));
  }
  q.send_started(n);
  in_flight_.emplace(send->seq, send);
  Metrics::get().in_flight->add(static_cast<int64_t>(n));
  ++progress_;
  auto deliver = [weak = weak_from_this(), send](std::vector<transports::Outcome> outcomes) {
    auto self = weak.lock();
    if (!self) return;
    self->answers_posted_.fetch_add(1);
    asio::post(self->strand_,
               [self, send = std::move(send), outcomes = std::move(outcomes)]() mutable {
                 self->on_send_done(std::move(send), std::move(outcomes));
               });
  };
  if (batch.empty()) {
    deliver(std::move(outcomes));
    return;
  }
  // The completion may run on any thread, even inside send(); it only
  // merges and posts. It keeps `send` (and so the deliveries' records and
  // rendered content) alive.
  transport.send(std::move(batch),
                 [deliver = std::move(deliver), outcomes = std::move(outcomes),
                  sent = std::move(sent)](std::vector<transports::Outcome> answered) mutable {
                   for (size_t k = 0; k < sent.size(); ++k) {
                     if (k < answered.size()) {
                       outcomes[sent[k]] = std::move(answered[k]);
                     } else {
                       outcomes[sent[k]].reply.text =
                           "the transport gave no outcome for this message";
                       outcomes[sent[k]].blames_message = false;
                     }
                   }
                   deliver(std::move(outcomes));
                 });
}

core::Result<templating::Rendered> Dispatcher::render(const core::MessageRecord& record,
                                                      const core::Content& content,
                                                      core::TimePoint now,
                                                      const templating::RenderLimits& limits) {
  if (!content.raw.empty()) {
    // Injected over SMTP: the transport sends content.raw as is; there is
    // nothing to render. Only email carries it (engine.h, content rules).
    if (record.channel() != core::Channel::kEmail) {
      return core::invalid_argument("content.raw",
                                    "raw email can only be sent on the email channel");
    }
    templating::Rendered raw;
    raw.channel = core::Channel::kEmail;
    return raw;
  }
  auto compiled = contents_->for_message(record.tenant, content);
  if (!compiled) return compiled.error();
  return (*compiled)->render(record.channel(), record.request.variables_json, now, limits);
}

// ---- (4) leasing ------------------------------------------------------------

bool Dispatcher::may_lease() const noexcept {
  return state_ == State::kRunning || (state_ == State::kIdle && test_driven_);
}

void Dispatcher::maybe_lease() {
  if (!lease_wanted_ || lease_in_flight_ || !may_lease()) return;
  if (active_ >= cfg_.max_active) return;  // stays wanted: room comes with outcomes
  const size_t room = cfg_.max_active - active_;
  const size_t asked = std::min<size_t>(std::max<uint32_t>(cfg_.lease_batch, 1), room);
  lease_wanted_ = false;
  queue::LeaseRequest request;
  request.max = asked;
  request.defer_rejected_by = cfg_.ready_full_delay;
  // The admission runs on the spool's writer thread, so it owns a copy of
  // the ready counts and adds what this lease admits to them.
  // Held destinations (throttled, paused, suspended) lease nothing: their
  // mail stays in the spool until they may send, pushed back to when the
  // hold ends but by at most kHeldRecheck (every push-back rewrites a
  // record: a destination suspended for an hour with a large backlog must
  // not churn the spool every ready_full_delay; and a suspension lifted
  // early by new rules must not leave its mail waiting for the old end).
  // An operator's pause has no end (its hold is renewed every
  // ready_full_delay), so its mail is looked at that often, and goes out
  // that soon after a resume.
  const core::TimePoint now = clock_.now();
  std::map<std::string, core::Duration, std::less<>> held;
  for (const auto& [at, name] : holds_) {
    const auto left = std::chrono::duration_cast<core::Duration>(at - now);
    held[name] = std::max(std::min(left, kHeldRecheck), cfg_.ready_full_delay);
  }
  request.defer_for = [held, full = cfg_.ready_full_delay](std::string_view destination) {
    auto it = held.find(destination);
    return it == held.end() ? full : it->second;
  };
  request.admit = [counts = ready_.ready_counts(), held = std::move(held),
                   limit = static_cast<size_t>(cfg_.max_ready_per_destination)](
                      std::string_view destination) mutable {
    if (held.find(destination) != held.end()) return false;
    auto it = counts.find(destination);
    if (it == counts.end()) it = counts.emplace(std::string(destination), 0).first;
    if (it->second >= limit) return false;
    ++it->second;
    return true;
  };
  lease_in_flight_ = true;
  spool_op_started();
  spool_.lease(std::move(request), [weak = weak_from_this(),
                                    asked](core::Result<std::vector<queue::Leased>> r) mutable {
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->strand_,
               [self, r = std::move(r), asked]() mutable { self->on_leased(std::move(r), asked); });
  });
}

void Dispatcher::on_leased(core::Result<std::vector<queue::Leased>> result, size_t asked) {
  lease_in_flight_ = false;
  if (!result) {
    // The spool is unhealthy or shutting down. Try again at the next tick;
    // say so at most once a minute, not on every tick.
    const auto t = std::chrono::steady_clock::now();
    if (t - last_lease_error_log_ >= std::chrono::minutes(1)) {
      last_lease_error_log_ = t;
      core::log::error("lease failed", {Field("error", result.error().to_string())});
    }
  } else {
    const size_t n = result->size();
    take_leased(*result);
    // A full batch means more is probably due: lease again without waiting.
    if (n >= asked) lease_wanted_ = true;
  }
  request_step();
  spool_op_finished();
}

// ---- (5) committing ---------------------------------------------------------

void Dispatcher::flush() {
  flush_feedback();
  if (apply_in_flight_ || pending_.empty()) return;
  // A small gathering waits out engine.apply_linger since the last apply
  // (real time: tests with a fake clock still get theirs), unless stopping.
  const auto wall = std::chrono::steady_clock::now();
  const auto linger = std::chrono::duration_cast<std::chrono::steady_clock::duration>(cfg_.apply_linger);
  if (state_ == State::kRunning && pending_.size() < cfg_.batch_size && wall - last_apply_ < linger) {
    if (!apply_timer_armed_) {
      apply_timer_armed_ = true;
      apply_timer_.expires_at(last_apply_ + linger);
      apply_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (!self) return;
        self->apply_timer_armed_ = false;
        if (!ec) self->step();
      });
    }
    return;
  }
  last_apply_ = wall;
  std::vector<queue::Transition> batch;
  batch.swap(pending_);
  const size_t count = batch.size();
  apply_in_flight_ = true;
  spool_op_started();
  ++progress_;
  spool_.apply(std::move(batch), [weak = weak_from_this(), count](core::Result<size_t> r) {
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->strand_, [self, r = std::move(r), count]() mutable {
      self->on_applied(std::move(r), count);
    });
  });
}

// Suppressions the refusals of this step call for (suppress.h). They are
// not part of the transitions' transaction: losing them in a crash costs
// one more refusal from the same peer, which calls for them again.
void Dispatcher::note_refusal(const core::MessageRecord& record, const core::Reply& reply,
                              std::string_view category, core::TimePoint now) {
  if (record.channel_index >= record.request.channels.size()) return;
  if (auto f = suppression_for_refusal(record, record.channel(), reply, category, config_->bounces,
                                       now)) {
    feedback_.push_back(std::move(*f));
  }
}

void Dispatcher::flush_feedback() {
  if (feedback_.empty()) return;
  std::vector<queue::Feedback> items;
  items.swap(feedback_);
  spool_op_started();
  spool_.apply_feedback(std::move(items), [weak = weak_from_this()](
                                              core::Result<std::vector<queue::FeedbackOutcome>> r) {
    if (!r) {
      core::log::error("suppressions from refusals not stored", {{"error", r.error().to_string()}});
    }
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->strand_, [self] { self->spool_op_finished(); });
  });
}

// A failed commit is not retried here: the spool latches unhealthy on an
// I/O error, so a retry would fail the same way. The messages stay leased
// in the spool and come back after lease_timeout, when the spool reclaims
// them: a delivered message may then be sent again (at least once).
void Dispatcher::on_applied(core::Result<size_t> result, size_t count) {
  apply_in_flight_ = false;
  if (!result) {
    Metrics::get().apply_errors->inc();
    core::log::error(
        "committing status changes failed; the messages are retried after their "
        "leases expire",
        {Field("transitions", count), Field("error", result.error().to_string())});
  } else if (*result > 0) {
    Metrics::get().stale->inc(*result);
    core::log::warn("status changes skipped: leases no longer current",
                    {Field("stale", *result), Field("transitions", count)});
  }
  ++progress_;
  if (!pending_.empty() || state_ == State::kStopping) request_step();
  spool_op_finished();
}

}  // namespace engine
