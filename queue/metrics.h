// queue/metrics.h: the spool's metrics (STYLE.md R14), declared once.
//
// Private to queue/. Pointers are owned by the process-wide registry and
// live for the whole process; updates are relaxed atomics (hot-path safe).
#pragma once

#include "core/metrics.h"

namespace queue {

struct SpoolMetrics {
  core::metrics::Counter* commits;
  core::metrics::Counter* ops;
  core::metrics::Counter* failed_commits;
  core::metrics::Counter* stale_transitions;
  core::metrics::Histogram* group_ops;
  core::metrics::Histogram* commit_seconds;
  core::metrics::Gauge* unhealthy;
  core::metrics::Gauge* map_size;

  static SpoolMetrics& get() {
    static SpoolMetrics m = [] {
      auto& r = core::metrics::Registry::global();
      return SpoolMetrics{
          r.counter("vestnik_spool_commits_total",
                    "Spool write transactions committed (each one sync to disk)."),
          r.counter("vestnik_spool_ops_total",
                    "Operations (enqueue batches, leases, result batches, ...) committed."),
          r.counter("vestnik_spool_failed_commits_total",
                    "Spool transactions that failed (disk full or I/O error)."),
          r.counter("vestnik_spool_stale_transitions_total",
                    "Delivery results ignored because their lease was no longer current."),
          r.histogram("vestnik_spool_group_ops",
                      "Operations merged into one commit (group commit).",
                      {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024}),
          r.histogram("vestnik_spool_commit_seconds",
                      "Time of one spool transaction, including the sync.",
                      {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1}),
          r.gauge("vestnik_spool_unhealthy",
                  "1 when the spool latched unhealthy after a storage failure; restart required."),
          r.gauge("vestnik_spool_map_size_bytes", "Bytes reserved for the LMDB map."),
      };
    }();
    return m;
  }
};

}  // namespace queue
