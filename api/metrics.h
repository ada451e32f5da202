// api/metrics.h: the API's metrics (STYLE.md R14). Labels are bounded: the
// route names of routes.h and HTTP status classes, never ids or tenants.
#pragma once

#include <array>

#include "api/routes.h"
#include "core/metrics.h"

namespace api {

struct ApiMetrics {
  // vestnik_api_requests_total{route}: requests routed to each endpoint.
  std::array<core::metrics::Counter*, kRouteCount> requests{};
  // vestnik_api_responses_total{class="2xx"|"4xx"|"5xx"}
  core::metrics::Counter* responses_2xx = nullptr;
  core::metrics::Counter* responses_4xx = nullptr;
  core::metrics::Counter* responses_5xx = nullptr;
  // vestnik_api_messages_accepted_total: messages acknowledged durable (202,
  // batch items with an id; duplicates included).
  core::metrics::Counter* messages_accepted = nullptr;
  // vestnik_api_messages_rejected_total: messages refused by validation.
  core::metrics::Counter* messages_rejected = nullptr;
  // vestnik_api_connections: open connections now.
  core::metrics::Gauge* connections = nullptr;
  // vestnik_api_connections_refused_total: connections over max_connections.
  core::metrics::Counter* connections_refused = nullptr;
  // vestnik_api_request_seconds: time from the request head to the last
  // byte of the response.
  core::metrics::Histogram* request_seconds = nullptr;

  // Declared once, on first use; thread-safe.
  static ApiMetrics& get();
  void count_response(unsigned status) noexcept {
    if (status < 400) {
      responses_2xx->inc();
    } else if (status < 500) {
      responses_4xx->inc();
    } else {
      responses_5xx->inc();
    }
  }
};

}  // namespace api
