// engine/metrics.h: the delivery core's metrics (STYLE.md R14).
//
// Declared once in the process-wide registry; the pointers live as long as
// the process. Updates are relaxed atomics, safe from any thread and cheap
// enough for the hot path. No labels yet: per-destination depth is served by
// Engine::destinations() (GET /v1/queues), whose cardinality is unbounded.
#pragma once

#include "core/metrics.h"

namespace engine {

struct Metrics {
  core::metrics::Counter* leased;        // messages leased from the spool
  core::metrics::Counter* direct_leased; // of those, leased as they were stored (DirectLease)
  core::metrics::Counter* delivered;     // outcomes: accepted by the peer
  core::metrics::Counter* transient;     // outcomes: transient failures (retried or not)
  core::metrics::Counter* failed;        // messages made failed by the engine
  core::metrics::Counter* fallbacks;     // messages moved to their next channel
  core::metrics::Counter* forbidden;     // messages stopped before sending by a suppression
  core::metrics::Counter* released;      // leases given back without an attempt
  core::metrics::Counter* stale;         // transitions the spool skipped (lease no longer ours)
  core::metrics::Counter* apply_errors;  // spool.apply batches that failed
  core::metrics::Gauge* active;          // messages leased and held by the dispatcher now
  core::metrics::Gauge* in_flight;       // messages inside transport sends now

  // The metrics, declared on first use.
  static const Metrics& get();
};

}  // namespace engine
