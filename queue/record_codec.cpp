// queue/record_codec.cpp: core records <-> vestnik.spool.v1 protobuf values.
//
// The proto field numbers are the persisted format; this file is the only
// place that maps core fields onto them. "No value" for optional times is 0
// on disk (the epoch itself is never a meaningful due, lease or finish time).
#include <google/protobuf/io/coded_stream.h>

#include <cassert>
#include <cstring>
#include <string>

#include "queue/record_format.h"
#include "vestnik/spool/v1/records.pb.h"

namespace queue::format {

namespace pb = ::vestnik::spool::v1;

// Reused across calls: protobuf keeps the capacity of cleared string fields,
// so after warm-up encoding a record copies bytes but does not allocate.
struct RecordCodec::Protos {
  pb::MessageRecord message;
  pb::ContentRecord content;
  pb::EventRecord event;
};

RecordCodec::RecordCodec() : p_(std::make_unique<Protos>()) {}
RecordCodec::~RecordCodec() = default;

namespace {

core::Error corrupt(std::string_view what) {
  return core::make_error(core::Errc::kCorruption,
                          "spool record does not decode: " + std::string(what));
}

bool valid_status(int v) { return v >= 1 && v <= 7; }
bool valid_channel(int v) { return v >= 1 && v <= 6; }
bool valid_priority(int v) { return v >= 1 && v <= 3; }

void to_proto(const core::Reply& r, pb::Reply* p) {
  p->set_code(r.code);
  p->set_enhanced(r.enhanced);
  p->set_text(r.text);
}
core::Reply from_proto(const pb::Reply& p) {
  return core::Reply{static_cast<uint16_t>(p.code()), p.enhanced(), p.text()};
}

int64_t opt_ms(const std::optional<core::TimePoint>& t) { return t ? core::to_unix_ms(*t) : 0; }
std::optional<core::TimePoint> ms_opt(int64_t ms) {
  if (ms == 0) return std::nullopt;
  return core::from_unix_ms(ms);
}

// Appends the version byte and `m` to `out`, reusing its capacity.
template <class M>
size_t serialize(const M& m, std::string* out) {
  const size_t n = m.ByteSizeLong();
  const size_t at = out->size();
  out->resize(at + 1 + n);
  (*out)[at] = static_cast<char>(kRecordVersion);
  m.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out->data() + at + 1));
  return 1 + n;
}

template <class M>
core::Status parse(std::string_view value, M* m, std::string_view what) {
  if (value.empty()) return corrupt(std::string(what) + ": empty value");
  if (static_cast<uint8_t>(value[0]) != kRecordVersion) {
    return corrupt(std::string(what) + ": unknown record version " +
                   std::to_string(static_cast<uint8_t>(value[0])));
  }
  if (!m->ParseFromArray(value.data() + 1, static_cast<int>(value.size() - 1))) {
    return corrupt(std::string(what) + ": malformed protobuf");
  }
  return {};
}

}  // namespace

std::string_view RecordCodec::encode(const core::MessageRecord& r) {
  buf_.clear();
  append(r, &buf_);
  return buf_;
}

std::string_view RecordCodec::encode(const core::Content& c, uint64_t refs) {
  buf_.clear();
  append(c, refs, &buf_);
  return buf_;
}

std::string_view RecordCodec::encode(const core::Event& e) {
  buf_.clear();
  append(e, &buf_);
  return buf_;
}

// Clear() would free the Recipient and Sender sub-messages and every
// repeated element, so each encode and decode would allocate them again.
// Resetting field by field keeps all of that capacity. Every field of the
// proto must appear here: a new field left out would leak from one record
// into the next (record_codec_test decodes a full record, then an empty one).
static void reset(pb::MessageRecord& m) {
  m.clear_id();
  m.clear_tenant();
  m.clear_content_id();
  m.clear_idempotency_key();
  m.clear_channels();
  m.mutable_to()->Clear();
  m.mutable_from()->Clear();
  m.clear_category();
  m.clear_variables_json();
  m.clear_send_at_ms();
  m.clear_expires_at_ms();
  m.clear_priority();
  m.clear_tags();  // keeps the cleared Tag objects for reuse
  m.clear_created_at_ms();
  m.clear_status();
  m.clear_attempts();
  m.clear_channel_index();
  m.clear_destination();
  m.clear_due_at_ms();
  m.clear_lease_gen();
  m.clear_lease_until_ms();
  if (m.has_last_reply()) m.clear_last_reply();
  if (m.has_bounce()) m.clear_bounce();
  m.clear_finished_at_ms();
  m.clear_event_count();
  m.clear_track_clicks();
  m.clear_track_opens();
  m.clear_channel_attempt_base();
  m.clear_provider_ref();
  m.clear_receipt_state();
  // Fields of a newer format, kept by the parser; rare, so check first.
  const auto* reflection = m.GetReflection();
  if (!reflection->GetUnknownFields(m).empty()) reflection->MutableUnknownFields(&m)->Clear();
}

size_t RecordCodec::append(const core::MessageRecord& r, std::string* out) {
  pb::MessageRecord& m = p_->message;
  reset(m);
  const core::MessageRequest& q = r.request;
  m.set_id(r.id.bytes().data(), core::Id::kBytes);
  m.set_tenant(r.tenant);
  m.set_content_id(r.content_id.bytes().data(), core::Id::kBytes);
  m.set_idempotency_key(q.idempotency_key);
  for (core::Channel c : q.channels) m.add_channels(static_cast<pb::Channel>(c));
  pb::Recipient* to = m.mutable_to();
  to->set_email(q.to.email);
  to->set_name(q.to.name);
  to->set_telegram_chat_id(q.to.telegram_chat_id);
  to->set_phone(q.to.phone);
  to->set_vk_peer_id(q.to.vk_peer_id);
  to->set_viber_id(q.to.viber_id);
  to->set_whatsapp(q.to.whatsapp);
  pb::Sender* from = m.mutable_from();
  from->set_email(q.from.email);
  from->set_name(q.from.name);
  m.set_category(q.category);
  m.set_variables_json(q.variables_json);
  m.set_send_at_ms(opt_ms(q.send_at));
  m.set_expires_at_ms(opt_ms(q.expires_at));
  m.set_priority(static_cast<pb::Priority>(q.priority));
  m.set_track_clicks(static_cast<uint32_t>(q.track_clicks));
  m.set_track_opens(static_cast<uint32_t>(q.track_opens));
  for (const core::Tag& t : q.tags) {
    pb::Tag* pt = m.add_tags();
    pt->set_key(t.key);
    pt->set_value(t.value);
  }
  m.set_created_at_ms(core::to_unix_ms(r.created_at));
  m.set_status(static_cast<pb::Status>(r.status));
  m.set_attempts(r.attempts);
  m.set_channel_index(r.channel_index);
  m.set_destination(r.destination);
  m.set_due_at_ms(core::to_unix_ms(r.due_at));
  m.set_lease_gen(r.lease_gen);
  m.set_lease_until_ms(opt_ms(r.lease_until));
  if (r.last_reply) to_proto(*r.last_reply, m.mutable_last_reply());
  if (r.bounce) {
    pb::Bounce* b = m.mutable_bounce();
    b->set_category(r.bounce->category);
    to_proto(r.bounce->reply, b->mutable_reply());
  }
  m.set_finished_at_ms(opt_ms(r.finished_at));
  m.set_event_count(r.event_count);
  m.set_channel_attempt_base(r.channel_attempt_base);
  if (!r.provider_ref.empty()) m.set_provider_ref(r.provider_ref);
  m.set_receipt_state(r.receipt_state);
  return serialize(m, out);
}

core::Status RecordCodec::decode(std::string_view value, core::MessageRecord* out) {
  pb::MessageRecord& m = p_->message;
  if (value.empty() || static_cast<uint8_t>(value[0]) != kRecordVersion) {
    return parse(value, &m, "message");  // the error, with the version it found
  }
  // Merge into a reset message instead of ParseFromArray (which Clear()s
  // first, freeing sub-messages): see reset().
  reset(m);
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(value.data() + 1),
                                            static_cast<int>(value.size() - 1));
  if (!m.MergeFromCodedStream(&in)) {
    return corrupt("message: malformed protobuf");
  }
  if (m.id().size() != core::Id::kBytes || m.content_id().size() != core::Id::kBytes) {
    return corrupt("message: id is not 16 bytes");
  }
  if (!valid_status(m.status()))
    return corrupt("message: unknown status " + std::to_string(m.status()));
  if (!valid_priority(m.priority())) {
    return corrupt("message: unknown priority " + std::to_string(m.priority()));
  }
  core::MessageRecord r;
  r.id = core::Id::from_bytes(m.id());
  r.tenant = m.tenant();
  r.content_id = core::Id::from_bytes(m.content_id());
  core::MessageRequest& q = r.request;
  q.idempotency_key = m.idempotency_key();
  q.channels.reserve(m.channels_size());
  for (int c : m.channels()) {
    if (!valid_channel(c)) return corrupt("message: unknown channel " + std::to_string(c));
    q.channels.push_back(static_cast<core::Channel>(c));
  }
  const pb::Recipient& to = m.to();
  q.to = core::Recipient{to.email(),      to.name(),     to.telegram_chat_id(), to.phone(),
                         to.vk_peer_id(), to.viber_id(), to.whatsapp()};
  q.from = core::Sender{m.from().email(), m.from().name()};
  q.category = m.category();
  q.variables_json = m.variables_json();
  q.send_at = ms_opt(m.send_at_ms());
  q.expires_at = ms_opt(m.expires_at_ms());
  q.priority = static_cast<core::Priority>(m.priority());
  if (m.track_clicks() > 2 || m.track_opens() > 2) return corrupt("message: unknown tracking value");
  q.track_clicks = static_cast<core::Tracking>(m.track_clicks());
  q.track_opens = static_cast<core::Tracking>(m.track_opens());
  q.tags.reserve(m.tags_size());
  for (const pb::Tag& t : m.tags()) q.tags.push_back(core::Tag{t.key(), t.value()});
  r.created_at = core::from_unix_ms(m.created_at_ms());
  r.status = static_cast<core::MessageStatus>(m.status());
  r.attempts = m.attempts();
  r.channel_index = m.channel_index();
  if (!q.channels.empty() && r.channel_index >= q.channels.size()) {
    return corrupt("message: channel_index out of range");
  }
  r.destination = m.destination();
  r.due_at = core::from_unix_ms(m.due_at_ms());
  r.lease_gen = m.lease_gen();
  r.lease_until = ms_opt(m.lease_until_ms());
  if (m.has_last_reply()) r.last_reply = from_proto(m.last_reply());
  if (m.has_bounce())
    r.bounce = core::Bounce{m.bounce().category(), from_proto(m.bounce().reply())};
  r.finished_at = ms_opt(m.finished_at_ms());
  r.event_count = m.event_count();
  r.channel_attempt_base = m.channel_attempt_base();
  r.provider_ref = m.provider_ref();
  if (m.receipt_state() > 2) return corrupt("message: unknown receipt_state");
  r.receipt_state = static_cast<uint8_t>(m.receipt_state());
  if (r.channel_attempt_base > r.attempts) return corrupt("message: channel_attempt_base above attempts");
  *out = std::move(r);
  return {};
}

// ContentRecord is encoded by hand: it carries the message body (the bulk
// of every enqueue), and going through the generated class would copy the
// body once more into the proto object before serializing it. The bytes are
// exactly what pb::ContentRecord would produce (fields in number order,
// empty and zero fields omitted), and the tests parse them with the
// generated class.
namespace {

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
char* put_varint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
size_t bytes_field_size(std::string_view s) {
  return s.empty() ? 0 : 1 + varint_size(s.size()) + s.size();
}
char* put_bytes_field(char* p, uint8_t tag, std::string_view s) {
  if (s.empty()) return p;
  *p++ = static_cast<char>(tag);
  p = put_varint(p, s.size());
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// Tags: field number << 3 | wire type (2 = length-delimited, 0 = varint).
constexpr uint8_t kTagTemplateId = (1 << 3) | 2;
constexpr uint8_t kTagSubject = (2 << 3) | 2;
constexpr uint8_t kTagHtml = (3 << 3) | 2;
constexpr uint8_t kTagText = (4 << 3) | 2;
constexpr uint8_t kTagRefs = (5 << 3) | 0;
constexpr uint8_t kTagTemplateVersion = (6 << 3) | 0;
constexpr uint8_t kTagPreheader = (7 << 3) | 2;
constexpr uint8_t kTagButtons = (8 << 3) | 2;
constexpr uint8_t kTagRaw = (9 << 3) | 2;

}  // namespace

size_t RecordCodec::append(const core::Content& c, uint64_t refs, std::string* out) {
  const size_t n = 1 + bytes_field_size(c.template_id) + bytes_field_size(c.subject) +
                   bytes_field_size(c.html) + bytes_field_size(c.text) +
                   (refs == 0 ? 0 : 1 + varint_size(refs)) +
                   (c.template_version == 0 ? 0 : 1 + varint_size(c.template_version)) +
                   bytes_field_size(c.preheader) + bytes_field_size(c.buttons_json) +
                   bytes_field_size(c.raw);
  const size_t at = out->size();
  out->resize(at + n);
  char* p = out->data() + at;
  *p++ = static_cast<char>(kRecordVersion);
  p = put_bytes_field(p, kTagTemplateId, c.template_id);
  p = put_bytes_field(p, kTagSubject, c.subject);
  p = put_bytes_field(p, kTagHtml, c.html);
  p = put_bytes_field(p, kTagText, c.text);
  if (refs != 0) {
    *p++ = static_cast<char>(kTagRefs);
    p = put_varint(p, refs);
  }
  if (c.template_version != 0) {
    *p++ = static_cast<char>(kTagTemplateVersion);
    p = put_varint(p, c.template_version);
  }
  p = put_bytes_field(p, kTagPreheader, c.preheader);
  p = put_bytes_field(p, kTagButtons, c.buttons_json);
  p = put_bytes_field(p, kTagRaw, c.raw);
  assert(p == out->data() + at + n);
  return n;
}

core::Status RecordCodec::decode(std::string_view value, core::Content* out, uint64_t* refs) {
  pb::ContentRecord& m = p_->content;
  if (auto st = parse(value, &m, "content"); !st) return st;
  if (out != nullptr) {
    // raw is a whole injected message (up to the listener's size limit):
    // moved out rather than copied, which also keeps the reused proto from
    // holding on to a buffer that large.
    *out = core::Content{m.template_id(),      m.subject(),   m.html(),        m.text(),
                         m.template_version(), m.preheader(), m.buttons_json(),
                         std::move(*m.mutable_raw())};
  }
  if (refs != nullptr) *refs = m.refs();
  return {};
}

size_t RecordCodec::append(const core::Event& e, std::string* out) {
  pb::EventRecord& m = p_->event;
  m.Clear();
  m.set_at_ms(core::to_unix_ms(e.at));
  m.set_status(static_cast<pb::Status>(e.status));
  m.set_detail(e.detail);
  m.set_attempt(e.attempt);
  m.set_channel(e.channel ? static_cast<pb::Channel>(*e.channel) : pb::CHANNEL_UNSPECIFIED);
  return serialize(m, out);
}

core::Status RecordCodec::decode(std::string_view value, core::Event* out) {
  pb::EventRecord& m = p_->event;
  if (auto st = parse(value, &m, "event"); !st) return st;
  if (!valid_status(m.status()))
    return corrupt("event: unknown status " + std::to_string(m.status()));
  if (m.channel() != pb::CHANNEL_UNSPECIFIED && !valid_channel(m.channel())) {
    return corrupt("event: unknown channel " + std::to_string(m.channel()));
  }
  core::Event e;
  e.at = core::from_unix_ms(m.at_ms());
  e.status = static_cast<core::MessageStatus>(m.status());
  e.detail = m.detail();
  e.attempt = m.attempt();
  if (m.channel() != pb::CHANNEL_UNSPECIFIED) e.channel = static_cast<core::Channel>(m.channel());
  *out = std::move(e);
  return {};
}

}  // namespace queue::format
