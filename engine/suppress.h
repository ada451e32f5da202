// engine/suppress.h: what a refusal, a report or an unsubscribe means for
// an address (issue #7). Private to engine/.
//
// The policy, as pure functions over a message and what came back, so it
// is tested as data; the Engine applies what they return through
// Spool::apply_feedback.
//
//   refusal (sync reply, DSN, provider receipt) on email:
//     bad-mailbox, bad-domain, inactive-mailbox  -> hard_bounce, "*", at once
//     quota-issues                               -> counted; bounces.soft_limit
//                                                   within soft_window -> hard_bounce
//     anything else (policy, spam, throttled...) -> nothing: the address is fine
//   refusal on a messenger / SMS channel (transports/providers/codec.h):
//     550 5.1.1 no such recipient                -> hard_bounce on that channel
//     550 5.7.1 recipient blocked / STOP         -> unsubscribed on that channel
//                                                   (bounces.suppress_blocked)
//   complaint (ARF, JMRP)                        -> complaint, "*", email
//   one-click / page / mailto unsubscribe        -> unsubscribed, the token's category
//   provider "blocked" callback                  -> unsubscribed, "*", that channel;
//                                                   "unblocked" removes it again
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/message.h"
#include "core/suppression.h"
#include "engine/engine.h"
#include "engine/router.h"
#include "queue/queue.h"

namespace engine {

// The suppression feedback a permanent refusal of `record` on `channel`
// calls for (kSuppress or kSoftBounce), or nullopt. `category` is the
// bounce category the refusal was classified as (mta/bounce names).
std::optional<queue::Feedback> suppression_for_refusal(const core::MessageRecord& record,
                                                       core::Channel channel,
                                                       const core::Reply& reply,
                                                       std::string_view category,
                                                       const core::BouncesConfig& config,
                                                       core::TimePoint now);

// A suppression of the message's recipient on `channel` (address
// normalized), for `category` ("*" or a category), dated `now`.
core::Suppression suppression_of(const core::MessageRecord& record, core::Channel channel,
                                 std::string_view category, core::SuppressionReason reason,
                                 std::string detail, core::TimePoint now);

// Why `request` of `tenant` may not go out on `channel` ("suppressed on
// email: unsubscribed from marketing on 2026-12-08T10:00:00Z (one-click)"),
// or nullopt. A spool read error is logged and lets the message through:
// the check runs again before each send.
std::optional<std::string> forbidden_reason(const queue::Spool& spool, std::string_view tenant,
                                            const core::MessageRequest& request,
                                            core::Channel channel);
// forbidden_reason as the router's ForbiddenCheck, for one tenant. The
// spool must outlive the returned function.
ForbiddenCheck forbidden_check(const queue::Spool& spool, std::string tenant);

// Opens `token` under `key` (UnsubscribeToken is in engine.h). kInvalidArgument (field "token") for anything
// forged, truncated or of another kind.
core::Result<UnsubscribeToken> open_unsubscribe_token(std::string_view key, std::string_view token);

}  // namespace engine
