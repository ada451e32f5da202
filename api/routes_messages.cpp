// api/routes_messages.cpp: /v1/messages endpoints (v1).
//
//   POST   /v1/messages          one message   -> 202 {"id","status"} (200 if duplicate)
//   POST   /v1/messages:batch    many messages -> 200 {"results":[...]} in order
//   GET    /v1/messages/{id}     status and history
//   DELETE /v1/messages/{id}     cancel while queued or waiting for a retry
//
// Writes are answered only after the engine reports them durable. A message
// that fails validation never reaches the engine, so a rejected request
// changes nothing. Tenant isolation: a sender key sees only its own
// tenant's messages, and another tenant's message is "not found" (404), the
// same answer as an unknown id, so ids cannot be probed across tenants.
#include "api/bridge.h"
#include "api/metrics.h"
#include "api/request.h"
#include "api/response.h"
#include "api/routes.h"

namespace api {

// How long a request waits for the spool: the request's own deadline. On
// expiry the commit may still happen; the client learns "unknown outcome"
// and retries safely with the same idempotency_key.
std::chrono::milliseconds spool_deadline(const Services& s) { return s.config->api.read_timeout; }

ParseOptions parse_options(const Services& s) {
  ParseOptions o;
  o.now = s.clock.now();
  o.max_batch = s.config->api.max_batch;
  return o;
}

namespace {


core::Error spool_timeout(std::string_view what_next) {
  return core::make_error(
      core::Errc::kUnavailable,
      "timed out waiting for the spool; the outcome is unknown: " + std::string(what_next));
}
constexpr std::string_view kRetrySend = "retry with the same idempotency_key";
constexpr std::string_view kReadStatus = "read the message's status";

boost::asio::awaitable<std::optional<engine::SubmitResult>> submit(
    Services& s, std::string tenant, std::vector<core::MessageRequest> requests) {
  return await_callback<engine::SubmitResult>(
      [&s, tenant = std::move(tenant),
       requests = std::move(requests)](std::function<void(engine::SubmitResult)> done) mutable {
        s.engine.submit(std::move(tenant), std::move(requests), std::move(done));
      },
      spool_deadline(s));
}


Response no_such_message(Format f) {
  return error_response(core::Errc::kNotFound, "no such message", f);
}

// The message `param` names, if the caller may see it. Unknown ids,
// malformed ids and other tenants' messages are all "not found".
core::Result<queue::MessageView> visible_message(const Services& s, const Request& req,
                                                 bool with_events) {
  const auto id = core::Id::parse(req.param);
  if (!id) return core::make_error(core::Errc::kNotFound, "no such message");
  auto view = s.spool.get(*id, with_events);
  if (!view) return std::move(view).error();
  if (!*view) return core::make_error(core::Errc::kNotFound, "no such message");
  if (req.principal->role != core::Role::kAdmin &&
      (*view)->record.tenant != req.principal->tenant) {
    return core::make_error(core::Errc::kNotFound, "no such message");
  }
  return std::move(**view);
}

// When every submitted item failed with the same transient error, the
// commit itself failed (spool full, unhealthy, shutting down): answer that
// status for the whole request rather than 200 with identical item errors,
// so clients retry the batch as one.
// (Result::error() returns a copy: keep it by value.)
std::optional<core::Error> whole_commit_error(const engine::SubmitResult& r) {
  if (r.items.empty() || r.items.front().has_value()) return std::nullopt;
  core::Error first = r.items.front().error();
  if (!first.transient()) return std::nullopt;
  for (const auto& item : r.items) {
    if (item.has_value() || item.error().code != first.code) return std::nullopt;
  }
  return first;
}

}  // namespace

boost::asio::awaitable<Response> send_message(Services& s, const Request& req) {
  ApiMetrics& m = ApiMetrics::get();
  auto parsed = req.body_format == Format::kProtobuf
                    ? parse_message_proto(req.body, parse_options(s))
                    : parse_message_json(req.body, parse_options(s));
  if (!parsed) {
    m.messages_rejected->inc();
    co_return error_response(parsed.error(), req.reply_format);
  }
  std::vector<core::MessageRequest> one;
  one.push_back(std::move(*parsed));
  auto answer = co_await submit(s, req.principal->tenant, std::move(one));
  if (!answer) co_return error_response(spool_timeout(kRetrySend), req.reply_format);
  const engine::SubmitResult& r = *answer;
  if (r.items.size() != 1) {
    co_return error_response(
        core::Errc::kInternal,
        "engine answered " + std::to_string(r.items.size()) + " results for 1 message",
        req.reply_format);
  }
  const auto& item = r.items.front();
  if (!item) co_return error_response(item.error(), req.reply_format);
  m.messages_accepted->inc();
  co_return send_response(item->duplicate ? 200 : 202, *item, req.reply_format);
}

boost::asio::awaitable<Response> send_batch(Services& s, const Request& req) {
  ApiMetrics& m = ApiMetrics::get();
  auto parsed = req.body_format == Format::kProtobuf ? parse_batch_proto(req.body, parse_options(s))
                                                     : parse_batch_json(req.body, parse_options(s));
  if (!parsed) co_return error_response(parsed.error(), req.reply_format);
  BatchItems& items = *parsed;

  // Only valid items go to the engine, as one submit: one durable commit.
  std::vector<core::MessageRequest> valid;
  valid.reserve(items.size());
  for (auto& item : items) {
    if (item) valid.push_back(std::move(*item));
  }
  const size_t rejected = items.size() - valid.size();
  if (rejected != 0) m.messages_rejected->inc(rejected);

  engine::SubmitResult submitted;
  if (!valid.empty()) {
    const size_t n = valid.size();
    auto answer = co_await submit(s, req.principal->tenant, std::move(valid));
    if (!answer) co_return error_response(spool_timeout(kRetrySend), req.reply_format);
    submitted = std::move(*answer);
    if (submitted.items.size() != n) {
      co_return error_response(core::Errc::kInternal,
                               "engine answered " + std::to_string(submitted.items.size()) +
                                   " results for " + std::to_string(n) + " messages",
                               req.reply_format);
    }
    if (auto e = whole_commit_error(submitted)) co_return error_response(*e, req.reply_format);
  }

  // Merge in request order: refused items keep their validation error,
  // the others take the engine's answers in turn.
  std::vector<core::Result<queue::EnqueueOutcome>> results;
  results.reserve(items.size());
  size_t next = 0;
  size_t accepted = 0;
  for (auto& item : items) {
    if (!item) {
      results.emplace_back(std::move(item).error());
    } else {
      auto& answer = submitted.items[next++];
      if (answer) ++accepted;
      results.push_back(std::move(answer));
    }
  }
  if (accepted != 0) m.messages_accepted->inc(accepted);
  co_return batch_response(results, req.reply_format);
}

Response get_message(Services& s, const Request& req) {
  auto view = visible_message(s, req, /*with_events=*/true);
  if (!view) {
    return view.error().code == core::Errc::kNotFound
               ? no_such_message(req.reply_format)
               : error_response(view.error(), req.reply_format);
  }
  return status_response(*view, req.reply_format);
}

boost::asio::awaitable<Response> cancel_message(Services& s, const Request& req) {
  auto view = visible_message(s, req, /*with_events=*/false);
  if (!view) {
    co_return view.error().code == core::Errc::kNotFound
        ? no_such_message(req.reply_format)
        : error_response(view.error(), req.reply_format);
  }
  const core::Id id = view->record.id;
  const core::MessageStatus before = view->record.status;
  auto answer = co_await await_callback<core::Result<core::MessageStatus>>(
      [&s, id](std::function<void(core::Result<core::MessageStatus>)> done) {
        s.engine.cancel(id, std::move(done));
      },
      spool_deadline(s));
  if (!answer) co_return error_response(spool_timeout(kReadStatus), req.reply_format);
  auto& r = *answer;
  if (!r) {
    core::Error e = std::move(r).error();
    if (e.code == core::Errc::kConflict && e.message.empty()) {
      e.message = "message is " + std::string(core::status_name(before)) +
                  "; only queued messages (or ones waiting for a retry) can be cancelled";
    }
    co_return error_response(e, req.reply_format);
  }
  co_return cancel_response(id, *r, req.reply_format);
}

}  // namespace api
