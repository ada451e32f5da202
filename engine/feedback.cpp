// engine/feedback.cpp: outcome -> status change, and bounce categories.
//
// The engine never parses reply text to decide what happens to a message
// (STYLE.md R4): the transport already said delivered / transient /
// permanent, and the enhanced status code is structured data. The text
// travels into the event detail so a person can read what the peer said,
// and the bounce category label reads it only where the code cannot tell
// spam from other policy refusals (both 5.7.1), as the accounting log does.
#include "engine/feedback.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "engine/accounting.h"
#include "mta/bounce/classify.h"

namespace engine {
namespace {

std::string describe(const core::Reply& reply) {
  std::string line = transports::reply_line(reply);
  if (line.empty()) line = "no reply";
  return line;
}

}  // namespace

// One classifier for the stored bounce and the accounting log's
// bounce_class (accounting.h), so a message's category and its accounting
// line never disagree. A permanent outcome with a 4.x.x enhanced code (a
// local decision, or a peer's odd pairing) is not "transient" once it has
// failed the message: "other".
namespace {
std::atomic<std::shared_ptr<const mta::bounce::Classifier>>& classifier_slot() {
  static std::atomic<std::shared_ptr<const mta::bounce::Classifier>> slot{
      mta::bounce::Classifier::defaults()};
  return slot;
}
}  // namespace

void set_bounce_classifier(std::shared_ptr<const mta::bounce::Classifier> classifier) {
  if (classifier) classifier_slot().store(std::move(classifier));
}

std::shared_ptr<const mta::bounce::Classifier> bounce_classifier() {
  return classifier_slot().load();
}

std::string_view bounce_category(const core::Reply& reply) noexcept {
  const std::string_view c = bounce_class(reply);
  return c == kClassTransient ? kBounceOther : c;
}

bool fall_back(Decision& d, const core::MessageRecord& record, const Route& next,
               core::TimePoint now) {
  if (d.verdict != Verdict::kFailed) return false;
  // Too late on one channel is too late on all of them.
  if (d.transition.bounce && d.transition.bounce->category == kBounceExpired) return false;
  if (next.channel_index <= record.channel_index ||
      next.channel_index >= record.request.channels.size()) {
    return false;
  }
  queue::Transition& t = d.transition;
  const core::Channel from = record.channel();
  const core::Channel to = record.request.channels[next.channel_index];
  d.verdict = Verdict::kFallback;
  t.status = core::MessageStatus::kSending;
  t.detail = std::string(core::channel_name(from)) + " failed: " + t.detail + "; next channel " +
             std::string(core::channel_name(to));
  t.bounce.reset();
  t.due_at = now;
  t.channel_index = next.channel_index;
  t.destination = next.destination;
  return true;
}

Decision forbid(const core::MessageRecord& record, std::string detail) {
  Decision d;
  d.verdict = Verdict::kFailed;
  queue::Transition& t = d.transition;
  t.id = record.id;
  t.lease_gen = record.lease_gen;
  t.status = core::MessageStatus::kForbidden;
  t.detail = std::move(detail);
  t.counts_attempt = false;
  return d;
}

queue::Transition release(const core::MessageRecord& record, core::TimePoint due_at,
                          std::string detail) {
  queue::Transition t;
  t.id = record.id;
  t.lease_gen = record.lease_gen;
  t.status = core::MessageStatus::kQueued;
  t.detail = std::move(detail);
  t.counts_attempt = false;
  t.due_at = due_at;
  return t;
}

Decision decide(const core::MessageRecord& record, const transports::Outcome& outcome,
                const RetryPolicy& policy, core::TimePoint now, double rng_unit) {
  Decision d;
  queue::Transition& t = d.transition;
  t.id = record.id;
  t.lease_gen = record.lease_gen;
  t.reply = outcome.reply;
  t.counts_attempt = true;

  auto fail = [&](std::string_view category, std::string detail) {
    d.verdict = Verdict::kFailed;
    t.status = core::MessageStatus::kFailed;
    t.detail = std::move(detail);
    t.bounce = core::Bounce{std::string(category), outcome.reply};
  };

  switch (outcome.kind) {
    case transports::OutcomeKind::kDelivered:
      d.verdict = Verdict::kDelivered;
      t.status = core::MessageStatus::kDelivered;
      t.provider_ref = outcome.provider_ref;
      t.detail = describe(outcome.reply);
      return d;
    case transports::OutcomeKind::kPermanent:
      fail(bounce_category(outcome.reply), describe(outcome.reply));
      return d;
    case transports::OutcomeKind::kTransient:
      break;
  }

  // The retry budget is per channel: a fallback channel starts afresh.
  const uint32_t attempts_made = record.attempts + 1 - std::min(record.channel_attempt_base,
                                                                 record.attempts);
  const std::optional<core::Duration> delay = policy.delay_after(attempts_made, rng_unit);
  if (!delay) {
    fail(kBounceRetriesExhausted, "retries exhausted: " + describe(outcome.reply));
    return d;
  }
  // The peer's own "come back in N" wins over the schedule, but it does not
  // buy an extra retry: the count above already decided one is left.
  const core::Duration wait =
      outcome.retry_after ? std::max(*outcome.retry_after, core::Duration(0)) : *delay;
  const core::TimePoint due = now + wait;
  const std::optional<core::TimePoint>& expires = record.request.expires_at;
  if (expires && due > *expires) {
    fail(kBounceExpired, "expired: " + describe(outcome.reply));
    return d;
  }
  d.verdict = Verdict::kRetry;
  t.status = core::MessageStatus::kSending;
  t.detail = describe(outcome.reply);
  t.due_at = due;
  return d;
}

}  // namespace engine
