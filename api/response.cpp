// api/response.cpp: JSON and Protobuf writers for every response shape.
#include "api/response.h"

#include <algorithm>

#include "api/json_writer.h"
#include "core/log.h"
#include "core/time_format.h"
#include "vestnik/v1/messages.pb.h"

namespace api {

namespace {

namespace v1 = vestnik::v1;

Response json_response(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = kJsonType;
  r.body = std::move(body);
  return r;
}

Response proto_response(unsigned status, const google::protobuf::Message& m) {
  Response r;
  r.status = status;
  r.content_type = kProtobufType;
  m.SerializeToString(&r.body);
  return r;
}

bool bland(unsigned status) noexcept { return status >= 500 && status != 503 && status != 507; }

void write_error_object(JsonWriter& w, std::string_view code, std::string_view message,
                        std::string_view field) {
  w.begin_object();
  w.member("code", code);
  w.member("message", message);
  if (!field.empty()) w.member("field", field);
  w.end_object();
}

void write_error_object(JsonWriter& w, const core::Error& e, std::string_view message) {
  write_error_object(w, core::errc_name(e.code), message, e.field);
}

void fill_error(v1::Error* out, const core::Error& e, std::string_view message) {
  out->set_code(std::string(core::errc_name(e.code)));
  out->set_message(std::string(message));
  out->set_field(e.field);
}

Response make_error(unsigned status, std::string_view code, std::string_view message,
                    std::string_view field, Format f) {
  if (f == Format::kProtobuf) {
    v1::ErrorResponse r;
    v1::Error* e = r.mutable_error();
    e->set_code(std::string(code));
    e->set_message(std::string(message));
    e->set_field(std::string(field));
    return proto_response(status, r);
  }
  std::string body;
  body.reserve(48 + code.size() + message.size() + field.size());
  JsonWriter w(body);
  w.begin_object();
  w.key("error");
  write_error_object(w, code, message, field);
  w.end_object();
  return json_response(status, std::move(body));
}

// Items' errors inside a batch: the same blandness rule as whole responses.
std::string_view public_message(const core::Error& e) {
  return bland(http_status(e.code)) ? std::string_view("internal error") : e.message;
}

std::string_view channel_of(const core::MessageRecord& r) {
  if (r.channel_index < r.request.channels.size()) {
    return core::channel_name(r.request.channels[r.channel_index]);
  }
  return {};
}

std::string_view address_of(const core::MessageRecord& r) {
  if (r.channel_index < r.request.channels.size()) {
    return r.request.to.address_for(r.request.channels[r.channel_index]);
  }
  return {};
}

// While a message waits (queued, or sending between retries with no lease)
// its due time is the next attempt.
std::optional<core::TimePoint> next_attempt(const core::MessageRecord& r) {
  if (r.status == core::MessageStatus::kQueued ||
      (r.status == core::MessageStatus::kSending && !r.lease_until)) {
    return r.due_at;
  }
  return std::nullopt;
}

}  // namespace

unsigned http_status(core::Errc code) noexcept {
  switch (code) {
    case core::Errc::kOk:
      return 200;
    case core::Errc::kInvalidArgument:
      return 400;
    case core::Errc::kUnauthenticated:
      return 401;
    case core::Errc::kPermissionDenied:
      return 403;
    case core::Errc::kNotFound:
      return 404;
    case core::Errc::kConflict:
      return 409;
    case core::Errc::kTooLarge:
      return 413;
    case core::Errc::kRateLimited:
      return 429;
    case core::Errc::kUnavailable:
      return 503;
    case core::Errc::kSpoolFull:
      return 507;
    default:
      return 500;
  }
}

Response error_response(const core::Error& e, Format f) {
  const unsigned status = http_status(e.code);
  if (bland(status)) {
    core::log::error("api request failed",
                     {{"code", core::errc_name(e.code)}, {"error", std::string_view(e.message)}});
  }
  return make_error(status, core::errc_name(e.code), public_message(e), e.field, f);
}

Response http_error(unsigned status, std::string_view code, std::string_view message, Format f) {
  return make_error(status, code, message, {}, f);
}

Response error_response(core::Errc code, std::string message, Format f) {
  return error_response(core::Error{code, std::move(message), {}}, f);
}

Response send_response(unsigned status, const queue::EnqueueOutcome& o, Format f) {
  if (f == Format::kProtobuf) {
    v1::SendMessageResponse r;
    r.set_id(o.id.to_string());
    r.set_status(std::string(core::status_name(o.status)));
    return proto_response(status, r);
  }
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.member("id", o.id.to_string());
  w.member("status", core::status_name(o.status));
  w.end_object();
  return json_response(status, std::move(body));
}

Response batch_response(const std::vector<core::Result<queue::EnqueueOutcome>>& items, Format f) {
  if (f == Format::kProtobuf) {
    v1::BatchResponse r;
    r.mutable_results()->Reserve(int(items.size()));
    for (const auto& item : items) {
      v1::BatchResult* out = r.add_results();
      if (item) {
        out->set_id(item->id.to_string());
        out->set_status(std::string(core::status_name(item->status)));
      } else {
        fill_error(out->mutable_error(), item.error(), public_message(item.error()));
      }
    }
    return proto_response(200, r);
  }
  std::string body;
  body.reserve(16 + items.size() * 56);
  JsonWriter w(body);
  w.begin_object();
  w.key("results");
  w.begin_array();
  for (const auto& item : items) {
    w.begin_object();
    if (item) {
      w.member("id", item->id.to_string());
      w.member("status", core::status_name(item->status));
    } else {
      w.key("error");
      write_error_object(w, item.error(), public_message(item.error()));
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return json_response(200, std::move(body));
}

Response status_response(const queue::MessageView& v, Format f) {
  const core::MessageRecord& r = v.record;
  const auto next = next_attempt(r);
  if (f == Format::kProtobuf) {
    v1::MessageStatus m;
    m.set_id(r.id.to_string());
    m.set_status(std::string(core::status_name(r.status)));
    m.set_channel(std::string(channel_of(r)));
    m.set_to(std::string(address_of(r)));
    m.set_attempts(r.attempts);
    for (const core::Event& e : v.events) {
      v1::Event* out = m.add_events();
      out->set_at(core::format_rfc3339(e.at));
      out->set_status(std::string(core::status_name(e.status)));
      out->set_detail(e.detail);
      out->set_attempt(e.attempt);
      if (e.channel) out->set_channel(std::string(core::channel_name(*e.channel)));
    }
    if (r.bounce) {
      v1::Bounce* b = m.mutable_bounce();
      b->set_category(r.bounce->category);
      if (r.bounce->reply.code != 0) b->set_code(std::to_string(r.bounce->reply.code));
      b->set_enhanced(r.bounce->reply.enhanced);
      b->set_text(r.bounce->reply.text);
    }
    m.set_created_at(core::format_rfc3339(r.created_at));
    if (next) m.set_next_attempt_at(core::format_rfc3339(*next));
    m.set_destination(r.destination);
    m.set_category(r.request.category);
    for (const core::Tag& t : r.request.tags) (*m.mutable_tags())[t.key] = t.value;
    m.set_idempotency_key(r.request.idempotency_key);
    return proto_response(200, m);
  }

  std::string body;
  body.reserve(256 + v.events.size() * 96);
  JsonWriter w(body);
  w.begin_object();
  w.member("id", r.id.to_string());
  w.member("status", core::status_name(r.status));
  w.member("channel", channel_of(r));
  w.member("to", address_of(r));
  w.member("attempts", r.attempts);
  w.key("events");
  w.begin_array();
  for (const core::Event& e : v.events) {
    w.begin_object();
    w.member("at", core::format_rfc3339(e.at));
    w.member("status", core::status_name(e.status));
    if (!e.detail.empty()) w.member("detail", e.detail);
    if (e.attempt != 0) w.member("attempt", e.attempt);
    if (e.channel) w.member("channel", core::channel_name(*e.channel));
    w.end_object();
  }
  w.end_array();
  if (r.bounce) {
    w.key("bounce");
    w.begin_object();
    w.member("category", r.bounce->category);
    if (r.bounce->reply.code != 0) w.member("code", std::to_string(r.bounce->reply.code));
    if (!r.bounce->reply.enhanced.empty()) w.member("enhanced", r.bounce->reply.enhanced);
    w.member("text", r.bounce->reply.text);
    w.end_object();
  }
  w.member("created_at", core::format_rfc3339(r.created_at));
  if (next) w.member("next_attempt_at", core::format_rfc3339(*next));
  if (!r.destination.empty()) w.member("destination", r.destination);
  w.member("category", r.request.category);
  if (!r.request.tags.empty()) {
    w.key("tags");
    w.begin_object();
    for (const core::Tag& t : r.request.tags) w.member(t.key, t.value);
    w.end_object();
  }
  if (!r.request.idempotency_key.empty()) w.member("idempotency_key", r.request.idempotency_key);
  w.end_object();
  return json_response(200, std::move(body));
}

Response cancel_response(const core::Id& id, core::MessageStatus status, Format f) {
  if (f == Format::kProtobuf) {
    v1::CancelResponse r;
    r.set_id(id.to_string());
    r.set_status(std::string(core::status_name(status)));
    return proto_response(200, r);
  }
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.member("id", id.to_string());
  w.member("status", core::status_name(status));
  w.end_object();
  return json_response(200, std::move(body));
}

Response queues_response(const queue::Counts& counts,
                         const std::vector<engine::DestinationState>& engine_state, Format f) {
  // Merge the spool's (destination, status) counts, sorted by destination,
  // with the engine's live ready/in-flight figures. A destination may be
  // known to only one side: the engine forgets idle ones, and the spool has
  // nothing for a destination whose messages are all in memory.
  struct Row {
    std::string_view destination;
    std::vector<std::pair<core::MessageStatus, uint64_t>> counts;
    const engine::DestinationState* live = nullptr;
  };
  std::vector<Row> rows;
  for (const queue::DestinationCount& c : counts.by_destination) {
    if (rows.empty() || rows.back().destination != c.destination) {
      rows.push_back(Row{c.destination, {}, nullptr});
    }
    rows.back().counts.emplace_back(c.status, c.count);
  }
  for (const engine::DestinationState& s : engine_state) {
    auto it = std::lower_bound(rows.begin(), rows.end(), std::string_view(s.destination),
                               [](const Row& r, std::string_view d) { return r.destination < d; });
    if (it != rows.end() && it->destination == s.destination) {
      it->live = &s;
    } else {
      rows.insert(it, Row{s.destination, {}, &s});
    }
  }

  if (f == Format::kProtobuf) {
    v1::QueuesResponse r;
    for (const auto& [status, n] : counts.by_status) {
      v1::StatusCount* c = r.add_totals();
      c->set_status(std::string(core::status_name(status)));
      c->set_count(n);
    }
    for (const Row& row : rows) {
      v1::DestinationQueue* d = r.add_destinations();
      d->set_destination(std::string(row.destination));
      for (const auto& [status, n] : row.counts) {
        v1::StatusCount* c = d->add_counts();
        c->set_status(std::string(core::status_name(status)));
        c->set_count(n);
      }
      if (row.live) {
        d->set_ready(row.live->ready);
        d->set_in_flight(row.live->in_flight);
        d->set_concurrency(row.live->concurrency);
      }
    }
    return proto_response(200, r);
  }

  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("totals");
  w.begin_array();
  for (const auto& [status, n] : counts.by_status) {
    w.begin_object();
    w.member("status", core::status_name(status));
    w.member("count", n);
    w.end_object();
  }
  w.end_array();
  w.key("destinations");
  w.begin_array();
  for (const Row& row : rows) {
    w.begin_object();
    w.member("destination", row.destination);
    w.key("counts");
    w.begin_array();
    for (const auto& [status, n] : row.counts) {
      w.begin_object();
      w.member("status", core::status_name(status));
      w.member("count", n);
      w.end_object();
    }
    w.end_array();
    w.member("ready", uint64_t(row.live ? row.live->ready : 0));
    w.member("in_flight", uint64_t(row.live ? row.live->in_flight : 0));
    w.member("concurrency", row.live ? row.live->concurrency : 0u);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return json_response(200, std::move(body));
}

}  // namespace api
