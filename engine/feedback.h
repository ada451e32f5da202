// engine/feedback.h: a transport's outcome turned into a status change.
//
// Private to engine/. Pure functions: they read the record and the outcome
// and return the queue::Transition the dispatcher commits; no I/O, no locks,
// no clock reads (the caller passes `now`), so retry and bounce decisions
// are tested as data.
#pragma once

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/message.h"
#include "engine/engine.h"
#include "engine/router.h"
#include "queue/queue.h"
#include "transports/transport.h"

namespace mta::bounce {
class Classifier;
}

namespace engine {

// Bounce categories the engine assigns itself; the rest come from the
// bounce classifier (mta/bounce). Persisted in events, so never rename one.
inline constexpr std::string_view kBounceOther = "other";
inline constexpr std::string_view kBounceRetriesExhausted = "retries-exhausted";
inline constexpr std::string_view kBounceExpired = "expired";

// The classifier of every refusal the engine sees (synchronous replies,
// DSNs, provider receipts). Process-wide, because accounting lines and
// stored bounces must agree; replaced as a whole (config reload). Starts
// as mta::bounce::Classifier::defaults(). Thread-safe.
void set_bounce_classifier(std::shared_ptr<const mta::bounce::Classifier> classifier);
std::shared_ptr<const mta::bounce::Classifier> bounce_classifier();

// The category stored with a permanent refusal: accounting.h's
// bounce_class, except that a refusal with a 4xx code (a transient reply
// the engine gave up on, a local decision) is "other" rather than
// "transient".
std::string_view bounce_category(const core::Reply& reply) noexcept;

enum class Verdict : uint8_t {
  kDelivered,  // final: delivered
  kRetry,      // stays sending, due again later
  kFailed,     // final: failed (permanent, retries exhausted or expired)
  kFallback,   // failed on this channel; continues on the next one
};

struct Decision {
  Verdict verdict = Verdict::kFailed;
  queue::Transition transition;
};

// The decision for the attempt that just ended with `outcome`. The attempt
// counts (record.attempts + 1 attempts made; the retry budget counts those
// on the current channel, record.attempts + 1 - channel_attempt_base).
//  delivered -> kDelivered, detail = the reply line.
//  permanent -> kFailed, bounce {bounce_category(reply), reply}.
//  transient -> kSending due at now + (outcome.retry_after, or the policy's
//               jittered delay) while a retry is left and that time is not
//               past request.expires_at; otherwise kFailed with detail
//               "retries exhausted: <reply>" / "expired: <reply>" and bounce
//               category retries-exhausted / expired.
// `rng_unit` in [0,1) feeds the jitter.
Decision decide(const core::MessageRecord& record, const transports::Outcome& outcome,
                const RetryPolicy& policy, core::TimePoint now, double rng_unit);

// Channel fallback (API.md: "a permanent failure on it falls back to the
// next"): turns a kFailed (or forbid()) decision into kFallback — status sending, due
// now, on `next` (from next_route()), detail "<channel> failed: <reply>;
// next channel <name>" — and returns true. A message that failed because it
// expired stays failed (false), as does a decision that is not kFailed.
// Retries exhausted on a channel fall back too: the channel could not
// deliver it. The next channel gets a full retry budget (the spool sets
// channel_attempt_base).
bool fall_back(Decision& d, const core::MessageRecord& record, const Route& next,
               core::TimePoint now);

// A message whose recipient is suppressed on its channel: kFailed verdict
// (so fall_back may move it on), status forbidden, no attempt counted.
Decision forbid(const core::MessageRecord& record, std::string detail);

// A lease given back without an attempt: back to queued, due at `due_at`.
queue::Transition release(const core::MessageRecord& record, core::TimePoint due_at,
                          std::string detail);

}  // namespace engine
