// api/routes_ops.cpp: operational endpoints (v1).
//
//   GET /healthz      200 {"status":"ok"} or 503 {"status":"unhealthy","reason"}; no key
//   GET /metrics      Prometheus text 0.0.4; admin key if api.metrics_require_auth
//   GET /v1/queues    admin: totals per status, per-destination counts and live state
//
// All three are cheap reads that run inline on the connection's strand:
// unhealthy_reason() does no I/O, counts() is one LMDB read transaction.
#include "api/json_writer.h"
#include "api/response.h"
#include "api/routes.h"
#include "core/metrics.h"

namespace api {

Response healthz(Services& s, const Request&) {
  Response r;
  r.content_type = kJsonType;
  JsonWriter w(r.body);
  w.begin_object();
  if (auto reason = s.spool.unhealthy_reason()) {
    r.status = 503;
    w.member("status", "unhealthy");
    w.member("reason", *reason);
  } else {
    w.member("status", "ok");
  }
  w.end_object();
  return r;
}

Response metrics(Services&, const Request&) {
  Response r;
  r.content_type = kMetricsType;
  r.body = core::metrics::Registry::global().render();
  return r;
}

Response queues(Services& s, const Request& req) {
  auto counts = s.spool.counts();
  if (!counts) return error_response(counts.error(), req.reply_format);
  return queues_response(*counts, s.engine.destinations(), req.reply_format);
}

}  // namespace api
