// engine/feedback.h: a transport's outcome turned into a status change.
//
// Private to engine/. Pure functions: they read the record and the outcome
// and return the queue::Transition the dispatcher commits; no I/O, no locks,
// no clock reads (the caller passes `now`), so retry and bounce decisions
// are tested as data.
#pragma once

#include <string>

#include "core/clock.h"
#include "core/message.h"
#include "engine/engine.h"
#include "engine/router.h"
#include "queue/queue.h"
#include "transports/transport.h"

namespace engine {

// Bounce categories the engine assigns (refined by the bounce classifier of
// a later issue; persisted in events, so never rename one).
inline constexpr std::string_view kBounceBadMailbox = "bad-mailbox";
inline constexpr std::string_view kBounceQuota = "quota";
inline constexpr std::string_view kBouncePolicy = "policy-related";
inline constexpr std::string_view kBounceOther = "other";
inline constexpr std::string_view kBounceRetriesExhausted = "retries-exhausted";
inline constexpr std::string_view kBounceExpired = "expired";

// The category stored with a permanent refusal: accounting.h's
// bounce_class (x.1.2 and x.1.10 bad-domain, x.1.7/x.1.8 invalid-sender,
// other x.1.x bad-mailbox, x.2.2 quota, x.7.x spam-related or
// policy-related, anything else other), except that a refusal with a 4.x.x
// code is "other" rather than "transient". #7 replaces it with rules as
// data.
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
// next"): turns a kFailed decision into kFallback — status sending, due
// now, on `next` (from next_route()), detail "<channel> failed: <reply>;
// next channel <name>" — and returns true. A message that failed because it
// expired stays failed (false), as does a decision that is not kFailed.
// Retries exhausted on a channel fall back too: the channel could not
// deliver it. The next channel gets a full retry budget (the spool sets
// channel_attempt_base).
bool fall_back(Decision& d, const core::MessageRecord& record, const Route& next,
               core::TimePoint now);

// A lease given back without an attempt: back to queued, due at `due_at`.
queue::Transition release(const core::MessageRecord& record, core::TimePoint due_at,
                          std::string detail);

}  // namespace engine
