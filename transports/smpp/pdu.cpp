// transports/smpp/pdu.cpp: see pdu.h.
//
// Decoding is a cursor over the frame that refuses to step past its end;
// every field read checks the bytes left first, so a hostile length can
// only produce an error. Encoding checks each string against the maximum
// the spec gives it before writing, because an SMSC that receives an
// over-long field answers with a confusing status (or drops the bind).
#include "transports/smpp/pdu.h"

#include <utility>

namespace transports::smpp {
namespace {

constexpr size_t kMaxShortMessage = 254;

core::Error bad(std::string_view field, std::string message) {
  return core::invalid_argument(std::string(field), std::string(field) + ": " + std::move(message));
}

class Reader {
 public:
  explicit Reader(std::span<const std::byte> b) : b_(b) {}
  size_t left() const { return b_.size() - pos_; }

  bool u8(uint8_t* out) {
    if (left() < 1) return false;
    *out = static_cast<uint8_t>(b_[pos_++]);
    return true;
  }
  bool u16(uint16_t* out) {
    if (left() < 2) return false;
    *out = static_cast<uint16_t>((static_cast<unsigned>(b_[pos_]) << 8) | static_cast<unsigned>(b_[pos_ + 1]));
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t* out) {
    if (left() < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint32_t>(b_[pos_ + i]);
    *out = v;
    pos_ += 4;
    return true;
  }
  // A C-octet string of at most `max` bytes including the NUL.
  bool cstring(size_t max, std::string* out) {
    const size_t limit = std::min(left(), max);
    for (size_t i = 0; i < limit; ++i) {
      if (b_[pos_ + i] == std::byte{0}) {
        out->assign(reinterpret_cast<const char*>(b_.data() + pos_), i);
        pos_ += i + 1;
        return true;
      }
    }
    return false;
  }
  bool octets(size_t n, std::string* out) {
    if (left() < n) return false;
    out->assign(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return true;
  }

 private:
  std::span<const std::byte> b_;
  size_t pos_ = 0;
};

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) {
    out_.push_back(static_cast<char>(v >> 8));
    out_.push_back(static_cast<char>(v & 0xFF));
  }
  void u32(uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<char>((v >> shift) & 0xFF));
  }
  core::Status cstring(std::string_view field, std::string_view s, size_t max) {
    if (s.size() + 1 > max) return bad(field, "longer than " + std::to_string(max - 1) + " octets");
    if (s.find('\0') != std::string_view::npos) return bad(field, "contains NUL");
    out_.append(s);
    out_.push_back('\0');
    return {};
  }
  void octets(std::string_view s) { out_.append(s); }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

core::Status read_tlvs(Reader& r, std::vector<Tlv>* out) {
  while (r.left() > 0) {
    Tlv t;
    uint16_t len = 0;
    if (!r.u16(&t.tag) || !r.u16(&len)) return bad("tlv", "truncated header");
    if (!r.octets(len, &t.value)) return bad("tlv", "value beyond the PDU");
    out->push_back(std::move(t));
  }
  return {};
}

core::Status write_tlvs(Writer& w, const std::vector<Tlv>& tlvs) {
  for (const Tlv& t : tlvs) {
    if (t.value.size() > 0xFFFF) return bad("tlv", "value over 65535 octets");
    w.u16(t.tag);
    w.u16(static_cast<uint16_t>(t.value.size()));
    w.octets(t.value);
  }
  return {};
}

core::Result<Bind> decode_bind(Reader& r) {
  Bind b;
  if (!r.cstring(16, &b.system_id)) return bad("system_id", "missing or over 15 octets");
  if (!r.cstring(9, &b.password)) return bad("password", "missing or over 8 octets");
  if (!r.cstring(13, &b.system_type)) return bad("system_type", "missing or over 12 octets");
  if (!r.u8(&b.interface_version) || !r.u8(&b.addr_ton) || !r.u8(&b.addr_npi))
    return bad("interface_version", "truncated");
  if (!r.cstring(41, &b.address_range)) return bad("address_range", "missing or over 40 octets");
  if (r.left() != 0) return bad("bind", "bytes after the body");
  return b;
}

core::Result<ShortMessage> decode_sm(Reader& r) {
  ShortMessage m;
  uint8_t sm_length = 0;
  if (!r.cstring(6, &m.service_type)) return bad("service_type", "missing or over 5 octets");
  if (!r.u8(&m.source_addr_ton) || !r.u8(&m.source_addr_npi)) return bad("source_addr_ton", "truncated");
  if (!r.cstring(21, &m.source_addr)) return bad("source_addr", "missing or over 20 octets");
  if (!r.u8(&m.dest_addr_ton) || !r.u8(&m.dest_addr_npi)) return bad("dest_addr_ton", "truncated");
  if (!r.cstring(21, &m.destination_addr)) return bad("destination_addr", "missing or over 20 octets");
  if (!r.u8(&m.esm_class) || !r.u8(&m.protocol_id) || !r.u8(&m.priority_flag))
    return bad("esm_class", "truncated");
  if (!r.cstring(17, &m.schedule_delivery_time)) return bad("schedule_delivery_time", "missing or over 16 octets");
  if (!r.cstring(17, &m.validity_period)) return bad("validity_period", "missing or over 16 octets");
  if (!r.u8(&m.registered_delivery) || !r.u8(&m.replace_if_present_flag) || !r.u8(&m.data_coding) ||
      !r.u8(&m.sm_default_msg_id) || !r.u8(&sm_length))
    return bad("registered_delivery", "truncated");
  if (!r.octets(sm_length, &m.short_message)) return bad("short_message", "sm_length beyond the PDU");
  if (auto st = read_tlvs(r, &m.tlvs); !st) return st.error();
  return m;
}

bool is_bind(uint32_t id) {
  return id == cmd::kBindReceiver || id == cmd::kBindTransmitter || id == cmd::kBindTransceiver;
}
bool is_sm(uint32_t id) { return id == cmd::kSubmitSm || id == cmd::kDeliverSm; }

}  // namespace

std::string_view status_name(uint32_t s) noexcept {
  switch (s) {
    case 0x00: return "ESME_ROK";
    case 0x01: return "ESME_RINVMSGLEN";
    case 0x02: return "ESME_RINVCMDLEN";
    case 0x03: return "ESME_RINVCMDID";
    case 0x04: return "ESME_RINVBNDSTS";
    case 0x05: return "ESME_RALYBND";
    case 0x06: return "ESME_RINVPRTFLG";
    case 0x07: return "ESME_RINVREGDLVFLG";
    case 0x08: return "ESME_RSYSERR";
    case 0x0A: return "ESME_RINVSRCADR";
    case 0x0B: return "ESME_RINVDSTADR";
    case 0x0C: return "ESME_RINVMSGID";
    case 0x0D: return "ESME_RBINDFAIL";
    case 0x0E: return "ESME_RINVPASWD";
    case 0x0F: return "ESME_RINVSYSID";
    case 0x11: return "ESME_RCANCELFAIL";
    case 0x13: return "ESME_RREPLACEFAIL";
    case 0x14: return "ESME_RMSGQFUL";
    case 0x15: return "ESME_RINVSERTYP";
    case 0x33: return "ESME_RINVNUMDESTS";
    case 0x34: return "ESME_RINVDLNAME";
    case 0x40: return "ESME_RINVDESTFLAG";
    case 0x42: return "ESME_RINVSUBREP";
    case 0x43: return "ESME_RINVESMCLASS";
    case 0x44: return "ESME_RCNTSUBDL";
    case 0x45: return "ESME_RSUBMITFAIL";
    case 0x48: return "ESME_RINVSRCTON";
    case 0x49: return "ESME_RINVSRCNPI";
    case 0x50: return "ESME_RINVDSTTON";
    case 0x51: return "ESME_RINVDSTNPI";
    case 0x53: return "ESME_RINVSYSTYP";
    case 0x54: return "ESME_RINVREPFLAG";
    case 0x55: return "ESME_RINVNUMMSGS";
    case 0x58: return "ESME_RTHROTTLED";
    case 0x61: return "ESME_RINVSCHED";
    case 0x62: return "ESME_RINVEXPIRY";
    case 0x63: return "ESME_RINVDFTMSGID";
    case 0x64: return "ESME_RX_T_APPN";
    case 0x65: return "ESME_RX_P_APPN";
    case 0x66: return "ESME_RX_R_APPN";
    case 0x67: return "ESME_RQUERYFAIL";
    case 0xC0: return "ESME_RINVOPTPARSTREAM";
    case 0xC1: return "ESME_ROPTPARNOTALLWD";
    case 0xC2: return "ESME_RINVPARLEN";
    case 0xC3: return "ESME_RMISSINGOPTPARAM";
    case 0xC4: return "ESME_RINVOPTPARAMVAL";
    case 0xFE: return "ESME_RDELIVERYFAILURE";
    case 0xFF: return "ESME_RUNKNOWNERR";
    default: return "";
  }
}

const Tlv* ShortMessage::find_tlv(uint16_t tag) const noexcept {
  for (const Tlv& t : tlvs)
    if (t.tag == tag) return &t;
  return nullptr;
}

Frame next_frame(std::span<const std::byte> stream, size_t max_length) noexcept {
  if (stream.size() < 4) return {FrameStatus::kNeedMore, 0};
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len = (len << 8) | static_cast<uint32_t>(stream[i]);
  if (len < kHeaderLength || len > max_length) return {FrameStatus::kBad, len};
  if (stream.size() < len) return {FrameStatus::kNeedMore, len};
  return {FrameStatus::kGood, len};
}

core::Result<Pdu> decode(std::span<const std::byte> frame) {
  Reader r(frame);
  uint32_t length = 0;
  Pdu p;
  if (!r.u32(&length) || !r.u32(&p.command_id) || !r.u32(&p.command_status) || !r.u32(&p.sequence))
    return bad("header", "shorter than 16 octets");
  if (length != frame.size()) return bad("command_length", "does not match the PDU's size");

  const uint32_t id = p.command_id;
  const bool resp = (id & cmd::kResponseBit) != 0 && id != cmd::kGenericNack;
  const uint32_t base = id & ~cmd::kResponseBit;
  if (!resp && is_bind(id)) {
    auto b = decode_bind(r);
    if (!b) return b.error();
    p.body = std::move(*b);
  } else if (resp && is_bind(base)) {
    BindResp br;
    // Error responses often carry no body at all.
    if (r.left() > 0) {
      if (!r.cstring(16, &br.system_id)) return bad("system_id", "missing or over 15 octets");
      if (auto st = read_tlvs(r, &br.tlvs); !st) return st.error();
    }
    p.body = std::move(br);
  } else if (!resp && is_sm(id)) {
    auto m = decode_sm(r);
    if (!m) return m.error();
    p.body = std::move(*m);
  } else if (resp && is_sm(base)) {
    MessageIdResp mr;
    if (r.left() > 0) {
      if (!r.cstring(65, &mr.message_id)) return bad("message_id", "missing or over 64 octets");
      // SMPP 3.4 submit_sm_resp has no TLVs, but some SMSCs append 5.0
      // ones; tolerate well-formed ones and ignore them.
      std::vector<Tlv> ignored;
      if (auto st = read_tlvs(r, &ignored); !st) return st.error();
    }
    p.body = std::move(mr);
  } else {
    // Header-only PDUs, and ids we do not type (the session answers those
    // with generic_nack). Bytes after a header-only PDU are not checked:
    // nothing reads them.
    p.body = Empty{};
  }
  return p;
}

core::Result<std::string> encode(const Pdu& p) {
  if (!p.is_response() && (p.sequence == 0 || p.sequence > kMaxSequence))
    return bad("sequence_number", "must be 1..0x7FFFFFFF in a request");
  Writer w;
  w.u32(0);  // command_length, patched below
  w.u32(p.command_id);
  w.u32(p.command_status);
  w.u32(p.sequence);

  const uint32_t id = p.command_id;
  const bool resp = p.is_response() && id != cmd::kGenericNack;
  const uint32_t base = id & ~cmd::kResponseBit;
  if (!resp && is_bind(id)) {
    const Bind* b = std::get_if<Bind>(&p.body);
    if (!b) return bad("body", "a bind needs a Bind body");
    if (auto st = w.cstring("system_id", b->system_id, 16); !st) return st.error();
    if (auto st = w.cstring("password", b->password, 9); !st) return st.error();
    if (auto st = w.cstring("system_type", b->system_type, 13); !st) return st.error();
    w.u8(b->interface_version);
    w.u8(b->addr_ton);
    w.u8(b->addr_npi);
    if (auto st = w.cstring("address_range", b->address_range, 41); !st) return st.error();
  } else if (resp && is_bind(base)) {
    const BindResp* b = std::get_if<BindResp>(&p.body);
    if (!b) return bad("body", "a bind response needs a BindResp body");
    if (auto st = w.cstring("system_id", b->system_id, 16); !st) return st.error();
    if (auto st = write_tlvs(w, b->tlvs); !st) return st.error();
  } else if (!resp && is_sm(id)) {
    const ShortMessage* m = std::get_if<ShortMessage>(&p.body);
    if (!m) return bad("body", "submit_sm/deliver_sm need a ShortMessage body");
    if (auto st = w.cstring("service_type", m->service_type, 6); !st) return st.error();
    w.u8(m->source_addr_ton);
    w.u8(m->source_addr_npi);
    if (auto st = w.cstring("source_addr", m->source_addr, 21); !st) return st.error();
    w.u8(m->dest_addr_ton);
    w.u8(m->dest_addr_npi);
    if (auto st = w.cstring("destination_addr", m->destination_addr, 21); !st) return st.error();
    w.u8(m->esm_class);
    w.u8(m->protocol_id);
    w.u8(m->priority_flag);
    if (auto st = w.cstring("schedule_delivery_time", m->schedule_delivery_time, 17); !st) return st.error();
    if (auto st = w.cstring("validity_period", m->validity_period, 17); !st) return st.error();
    w.u8(m->registered_delivery);
    w.u8(m->replace_if_present_flag);
    w.u8(m->data_coding);
    w.u8(m->sm_default_msg_id);
    if (m->short_message.size() > kMaxShortMessage) return bad("short_message", "over 254 octets");
    w.u8(static_cast<uint8_t>(m->short_message.size()));
    w.octets(m->short_message);
    if (auto st = write_tlvs(w, m->tlvs); !st) return st.error();
  } else if (resp && is_sm(base)) {
    const MessageIdResp* m = std::get_if<MessageIdResp>(&p.body);
    if (!m) return bad("body", "a submit/deliver response needs a MessageIdResp body");
    if (auto st = w.cstring("message_id", m->message_id, 65); !st) return st.error();
  } else if (!std::holds_alternative<Empty>(p.body)) {
    return bad("body", "this command has no body");
  }

  std::string& out = w.str();
  if (out.size() > kMaxCommandLength) return bad("command_length", "PDU over 64 KiB");
  const auto len = static_cast<uint32_t>(out.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((len >> (24 - 8 * i)) & 0xFF);
  return std::move(out);
}

}  // namespace transports::smpp
