// engine/receipts.h: provider callbacks and delivery receipts applied to
// messages (Engine::provider_callback, Engine::apply_receipts). Private to
// engine/.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <optional>
#include <vector>

#include "core/config.h"
#include "engine/engine.h"
#include "queue/queue.h"
#include "transports/providers/codec.h"
#include "transports/transport.h"

namespace engine {

// Authenticates and parses `cb` with its provider's codec and the secrets
// of the account it names in `config`. Pure. 404 for a channel without
// callbacks (email) or an unknown account.
transports::providers::CallbackResult parse_callback(const core::Config& config,
                                                     const ProviderCallback& cb);

// The spool update a receipt asks for (no fallback yet); nullopt for kinds
// the spool does not keep (blocked, unblocked, inbound) or without a ref.
std::optional<queue::ReceiptUpdate> to_update(const transports::providers::Receipt& r);

// Applies `receipts`. A receipt whose ref names no message yet is held and
// tried again (0.25 s, doubling, 6 tries over ~16 s) on `executor`:
// providers call back within milliseconds of accepting, sometimes before
// the delivery that carries the ref is committed. `done` reports the first
// pass. `spool` and `registry` must outlive the retries (the engine's do:
// they live as long as the daemon).
void apply_receipts(queue::Spool& spool, const transports::Registry& registry,
                    boost::asio::any_io_executor executor,
                    std::vector<transports::providers::Receipt> receipts,
                    std::function<void(core::Result<queue::ReceiptStats>)> done,
                    int attempt = 0);

// Suppression changes a callback's blocks and unblocks call for
// (bounces.suppress_blocked): a block suppresses the recipient on that
// channel for every category (reason unsubscribed) for each tenant the
// account serves; an unblock removes only such entries.
std::vector<queue::Feedback> subscription_feedback(const core::Config& config,
                                                   const ProviderCallback& cb,
                                                   const std::vector<transports::providers::Receipt>& receipts,
                                                   core::TimePoint now);

// Authenticates and applies a callback: blocks and unblocks
// (subscription_feedback), then receipts; answered once both are durable.
void provider_callback(const core::Config& config, queue::Spool& spool,
                       const transports::Registry& registry, boost::asio::any_io_executor executor,
                       ProviderCallback cb, std::function<void(CallbackAnswer)> done);

}  // namespace engine
