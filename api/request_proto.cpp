// api/request_proto.cpp: binary Protobuf bodies (vestnik.v1.SendMessageRequest
// and BatchRequest) onto Drafts.
//
// proto3 strings carry no presence, so an empty string is "not given", the
// same rule the JSON side follows. Unknown field numbers are refused, as
// unknown JSON names are: a client built against a newer schema must not
// have a field silently dropped. `variables` (google.protobuf.Struct) is
// written out as compact JSON, the form the spool stores.
#include <google/protobuf/arena.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/unknown_field_set.h>

#include <algorithm>
#include <climits>
#include <cmath>

#include "api/draft.h"
#include "api/json_writer.h"
#include "api/utf8.h"
#include "vestnik/v1/messages.pb.h"

namespace api {

namespace {

namespace pb = google::protobuf;
using detail::Draft;
using detail::field_error;

std::string_view view(const std::string& s) noexcept { return s; }

core::Status refuse_unknown(const pb::Message& m, std::string_view prefix) {
  const pb::UnknownFieldSet& unknown = m.GetReflection()->GetUnknownFields(m);
  if (unknown.empty()) return {};
  std::string path(prefix);
  path.append("#").append(std::to_string(unknown.field(0).number()));
  return field_error(std::move(path), "unknown field number");
}

// Writes `v` as JSON. Fails on non-finite numbers, invalid UTF-8 and
// nesting beyond the limit (`depth` counts containers entered so far).
core::Status write_value(const pb::Value& v, size_t depth, JsonWriter& w);

core::Status write_struct(const pb::Struct& s, size_t depth, JsonWriter& w) {
  if (depth > Limits::kVariablesDepth) {
    return field_error("variables",
                       "nested deeper than " + std::to_string(Limits::kVariablesDepth) + " levels");
  }
  w.begin_object();
  for (const auto& [k, v] : s.fields()) {
    if (!utf8::valid(k.data(), k.size())) return field_error("variables", "not valid UTF-8");
    w.key(k);
    if (auto st = write_value(v, depth, w); st.has_error()) return st;
  }
  w.end_object();
  return {};
}

core::Status write_value(const pb::Value& v, size_t depth, JsonWriter& w) {
  switch (v.kind_case()) {
    case pb::Value::kNumberValue:
      if (!std::isfinite(v.number_value())) {
        return field_error("variables", "numbers must be finite");
      }
      w.number(v.number_value());
      return {};
    case pb::Value::kStringValue:
      if (!utf8::valid(v.string_value().data(), v.string_value().size())) {
        return field_error("variables", "not valid UTF-8");
      }
      w.string(v.string_value());
      return {};
    case pb::Value::kBoolValue:
      w.boolean(v.bool_value());
      return {};
    case pb::Value::kStructValue:
      return write_struct(v.struct_value(), depth + 1, w);
    case pb::Value::kListValue: {
      if (depth + 1 > Limits::kVariablesDepth) {
        return field_error("variables", "nested deeper than " +
                                            std::to_string(Limits::kVariablesDepth) + " levels");
      }
      w.begin_array();
      for (const pb::Value& x : v.list_value().values()) {
        if (auto st = write_value(x, depth + 1, w); st.has_error()) return st;
      }
      w.end_array();
      return {};
    }
    case pb::Value::kNullValue:
    case pb::Value::KIND_NOT_SET:
      w.null();
      return {};
  }
  w.null();
  return {};
}

core::Result<core::MessageRequest> message_from_proto(const vestnik::v1::SendMessageRequest& m,
                                                      const ParseOptions& options) {
  if (auto st = refuse_unknown(m, ""); st.has_error()) return std::move(st).error();
  Draft d;
  d.utf8_checked = false;
  d.idempotency_key = view(m.idempotency_key());
  for (const std::string& c : m.channels()) d.channels.emplace_back(c);
  d.channel = view(m.channel());
  if (m.has_to()) {
    if (auto st = refuse_unknown(m.to(), "to."); st.has_error()) return std::move(st).error();
    const auto& t = m.to();
    d.has_to = true;
    d.to.email = view(t.email());
    d.to.name = view(t.name());
    d.to.telegram_chat_id = view(t.telegram_chat_id());
    d.to.phone = view(t.phone());
    d.to.vk_peer_id = view(t.vk_peer_id());
    d.to.viber_id = view(t.viber_id());
    d.to.whatsapp = view(t.whatsapp());
  }
  if (m.has_from()) {
    if (auto st = refuse_unknown(m.from(), "from."); st.has_error()) return std::move(st).error();
    d.from.email = view(m.from().email());
    d.from.name = view(m.from().name());
  }
  d.category = view(m.category());
  d.template_id = view(m.template_id());
  d.subject = view(m.subject());
  d.html = view(m.html());
  d.text = view(m.text());
  d.preheader = view(m.preheader());
  if (m.has_tracking()) {
    if (auto st = refuse_unknown(m.tracking(), "tracking."); st.has_error())
      return std::move(st).error();
    if (m.tracking().has_clicks())
      d.track_clicks = m.tracking().clicks() ? core::Tracking::kOn : core::Tracking::kOff;
    if (m.tracking().has_opens())
      d.track_opens = m.tracking().opens() ? core::Tracking::kOn : core::Tracking::kOff;
  }
  if (m.has_buttons() && m.buttons().values_size() > 0) {
    JsonWriter w(d.buttons_json);
    pb::Value list;
    *list.mutable_list_value() = m.buttons();
    if (auto st = write_value(list, 1, w); st.has_error()) {
      core::Error e = std::move(st).error();
      return field_error("buttons", e.message.substr(e.message.find(": ") + 2));
    }
  }
  if (m.has_variables()) {
    JsonWriter w(d.variables_json);
    if (auto st = write_struct(m.variables(), 1, w); st.has_error()) return std::move(st).error();
  }
  d.send_at = view(m.send_at());
  d.expires_at = view(m.expires_at());
  d.priority = view(m.priority());
  if (size_t(m.tags_size()) > Limits::kTags) {
    return field_error("tags", "at most " + std::to_string(Limits::kTags) + " tags");
  }
  for (const auto& [k, v] : m.tags()) d.tags.emplace_back(view(k), view(v));
  // A protobuf map has no order; sort so the stored order is deterministic.
  std::sort(d.tags.begin(), d.tags.end());
  return detail::finish_draft(d, options);
}

core::Error not_protobuf(std::string_view what) {
  return field_error("", "body is not a valid " + std::string(what) + " (application/x-protobuf)");
}

}  // namespace

core::Result<core::MessageRequest> parse_message_proto(std::string_view body,
                                                       const ParseOptions& options) {
  if (body.size() > size_t(INT_MAX)) return not_protobuf("vestnik.v1.SendMessageRequest");
  pb::Arena arena;
  auto* m = pb::Arena::CreateMessage<vestnik::v1::SendMessageRequest>(&arena);
  if (!m->ParseFromArray(body.data(), int(body.size()))) {
    return not_protobuf("vestnik.v1.SendMessageRequest");
  }
  return message_from_proto(*m, options);
}

core::Result<BatchItems> parse_batch_proto(std::string_view body, const ParseOptions& options) {
  if (body.size() > size_t(INT_MAX)) return not_protobuf("vestnik.v1.BatchRequest");
  pb::ArenaOptions ao;
  ao.start_block_size = 64 * 1024;
  ao.max_block_size = 4 << 20;
  pb::Arena arena(ao);
  auto* b = pb::Arena::CreateMessage<vestnik::v1::BatchRequest>(&arena);
  if (!b->ParseFromArray(body.data(), int(body.size()))) {
    return not_protobuf("vestnik.v1.BatchRequest");
  }
  if (auto st = refuse_unknown(*b, ""); st.has_error()) return std::move(st).error();
  if (b->messages_size() == 0) return field_error("messages", "at least one message is required");
  if (size_t(b->messages_size()) > options.max_batch) {
    core::Error e = field_error(
        "messages", "at most " + std::to_string(options.max_batch) + " messages per batch");
    e.code = core::Errc::kTooLarge;
    return e;
  }
  BatchItems items;
  items.reserve(size_t(b->messages_size()));
  for (const auto& m : b->messages()) items.push_back(message_from_proto(m, options));
  return items;
}

}  // namespace api
