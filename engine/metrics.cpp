// engine/metrics.cpp: declarations of engine/metrics.h, with the help texts
// operators read on /metrics.
#include "engine/metrics.h"

namespace engine {

const Metrics& Metrics::get() {
  static const Metrics m = [] {
    auto& r = core::metrics::Registry::global();
    Metrics x{};
    x.leased =
        r.counter("vestnik_engine_leased_total", "Messages leased from the spool for delivery.");
    x.direct_leased = r.counter(
        "vestnik_engine_direct_leased_total",
        "Of the leased messages, those leased in the transaction that stored them "
        "(engine.direct_lease).");
    x.delivered = r.counter("vestnik_engine_delivered_total",
                            "Delivery attempts the receiving server or provider accepted.");
    x.transient = r.counter("vestnik_engine_transient_total",
                            "Delivery attempts that failed transiently (retried while retries and "
                            "time remain).");
    x.failed = r.counter("vestnik_engine_failed_total",
                         "Messages the engine marked failed: permanent refusal, retries exhausted "
                         "or expired before the next retry.");
    x.fallbacks = r.counter("vestnik_engine_channel_fallbacks_total",
                            "Messages that failed on one channel and continue on the next of "
                            "their channels (channel fallback).");
    x.forbidden = r.counter("vestnik_engine_forbidden_total",
                            "Messages stopped just before sending because their recipient was "
                            "suppressed after they were accepted (bounce, complaint, unsubscribe).");
    x.released = r.counter("vestnik_engine_released_total",
                           "Leases given back to the queue without an attempt (no transport for "
                           "the channel, lease about to expire in a ready queue, shutdown, "
                           "cancel). A sustained rise may mean max_ready_per_destination is too "
                           "large for the destination's concurrency.");
    x.stale = r.counter("vestnik_engine_stale_transitions_total",
                        "Status changes the spool skipped because the lease was no longer "
                        "current (reclaimed after lease_timeout).");
    x.apply_errors = r.counter("vestnik_engine_apply_errors_total",
                               "Batches of status changes the spool failed to commit; their "
                               "messages are retried after their leases expire.");
    x.active = r.gauge("vestnik_engine_active",
                       "Messages leased and held by the dispatcher (ready or in flight); bounded "
                       "by engine.max_active.");
    x.in_flight = r.gauge("vestnik_engine_in_flight", "Messages inside transport sends.");
    return x;
  }();
  return m;
}

}  // namespace engine
