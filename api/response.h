// api/response.h: response bodies in JSON and binary Protobuf (private to
// api/).
//
// One function per response shape of API.md; each writes the JSON mapping
// of the matching vestnik.v1 message by hand (see json_writer.h) or
// serialises that message. Times are RFC 3339 UTC with milliseconds.
// Counts are written as JSON numbers (proto3 JSON parsers accept numbers
// for 64-bit fields as well as strings).
#pragma once

#include <string_view>
#include <vector>

#include "api/routes.h"
#include "core/result.h"
#include "engine/engine.h"
#include "queue/queue.h"

namespace api {

// core::Errc -> HTTP status: invalid_argument 400, unauthenticated 401,
// permission_denied 403, not_found 404, conflict 409, too_large 413,
// rate_limited 429, unavailable 503, spool_full 507, anything else 500.
unsigned http_status(core::Errc code) noexcept;

// The error shape: {"error":{"code","message","field"}}. 5xx other than
// 503/507 get a bland message: internals stay in the log.
Response error_response(const core::Error& e, Format f);
Response error_response(core::Errc code, std::string message, Format f);

// An error with an HTTP-level code that core::Errc has no name for
// ("method_not_allowed", "bad_request").
Response http_error(unsigned status, std::string_view code, std::string_view message, Format f);

// POST /v1/messages: {"id","status"} (SendMessageResponse).
Response send_response(unsigned http_status, const queue::EnqueueOutcome& o, Format f);

// POST /v1/messages:batch: {"results":[{"id","status"} | {"error":{...}}]}.
// `items` holds, per request item in order, either the outcome or the error.
Response batch_response(const std::vector<core::Result<queue::EnqueueOutcome>>& items, Format f);

// GET /v1/messages/{id} (MessageStatus).
Response status_response(const queue::MessageView& v, Format f);

// DELETE /v1/messages/{id} (CancelResponse).
Response cancel_response(const core::Id& id, core::MessageStatus status, Format f);

// GET /v1/queues (QueuesResponse).
Response queues_response(const queue::Counts& counts,
                         const std::vector<engine::DestinationState>& engine_state, Format f);

}  // namespace api
