// transports/smpp/pdu.h: the SMPP 3.4 PDUs the SMS transport speaks, as a
// pure codec (shared/reference/channels.md §5a is the wire truth).
//
// Every PDU is a 16-byte big-endian header (command_length including the
// header, command_id, command_status, sequence_number) and a body of
// C-octet strings (NUL-terminated, each with a maximum length that counts
// the NUL), u8 fields and optional TLVs (tag u16, length u16, value).
//
// Only the PDUs an ESME in transceiver mode needs are typed: bind_transceiver
// (+resp), submit_sm (+resp), deliver_sm (+resp), enquire_link (+resp),
// unbind (+resp) and generic_nack. Any other command id decodes to a Pdu with
// an empty body, so the session can answer it with generic_nack.
//
// Pure: no I/O, no shared state, safe from any thread. Decoding accepts any
// bytes (they come from the network, and tests/fuzz/smpp_pdu_fuzz.cpp feeds
// it garbage): malformed input is an error value, never an exception, a
// crash or a read out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

namespace transports::smpp {

// Command ids (SMPP 3.4 §5.1.2.1). A response is its request | kResponseBit.
namespace cmd {
inline constexpr uint32_t kGenericNack = 0x80000000;
inline constexpr uint32_t kBindReceiver = 0x00000001;
inline constexpr uint32_t kBindTransmitter = 0x00000002;
inline constexpr uint32_t kQuerySm = 0x00000003;
inline constexpr uint32_t kSubmitSm = 0x00000004;
inline constexpr uint32_t kDeliverSm = 0x00000005;
inline constexpr uint32_t kUnbind = 0x00000006;
inline constexpr uint32_t kBindTransceiver = 0x00000009;
inline constexpr uint32_t kEnquireLink = 0x00000015;
inline constexpr uint32_t kDataSm = 0x00000103;
inline constexpr uint32_t kResponseBit = 0x80000000;
}  // namespace cmd

// command_status values the client and the transport act on (§5.1.3).
namespace status {
inline constexpr uint32_t kOk = 0x00;
inline constexpr uint32_t kInvMsgLen = 0x01;
inline constexpr uint32_t kInvCmdLen = 0x02;
inline constexpr uint32_t kInvCmdId = 0x03;
inline constexpr uint32_t kInvBndSts = 0x04;
inline constexpr uint32_t kAlyBnd = 0x05;
inline constexpr uint32_t kSysErr = 0x08;
inline constexpr uint32_t kInvSrcAdr = 0x0A;
inline constexpr uint32_t kInvDstAdr = 0x0B;
inline constexpr uint32_t kBindFail = 0x0D;
inline constexpr uint32_t kInvPaswd = 0x0E;
inline constexpr uint32_t kInvSysId = 0x0F;
inline constexpr uint32_t kMsgQFul = 0x14;
inline constexpr uint32_t kSubmitFail = 0x45;
inline constexpr uint32_t kThrottled = 0x58;
inline constexpr uint32_t kRxTAppn = 0x64;
inline constexpr uint32_t kRxPAppn = 0x65;
inline constexpr uint32_t kRxRAppn = 0x66;
inline constexpr uint32_t kUnknownErr = 0xFF;
}  // namespace status

// "ESME_RTHROTTLED" for 0x58; "" for a code SMPP 3.4 does not name.
std::string_view status_name(uint32_t command_status) noexcept;

// TLV tags used here (§5.3.2).
namespace tlv {
inline constexpr uint16_t kReceiptedMessageId = 0x001E;
inline constexpr uint16_t kNetworkErrorCode = 0x0423;
inline constexpr uint16_t kMessagePayload = 0x0424;
inline constexpr uint16_t kMessageState = 0x0427;
}  // namespace tlv

inline constexpr size_t kHeaderLength = 16;
// The largest command_length the splitter accepts. A submit_sm is at most a
// few hundred bytes (plus a message_payload TLV, which we never send); a
// bigger length is a broken or hostile peer, and buffering it would let the
// peer make us allocate whatever it likes.
inline constexpr size_t kMaxCommandLength = 64 * 1024;
inline constexpr uint32_t kMaxSequence = 0x7FFFFFFF;

struct Tlv {
  uint16_t tag = 0;
  std::string value;
  friend bool operator==(const Tlv&, const Tlv&) = default;
};

// bind_transceiver (and the other binds; the body is the same).
struct Bind {
  std::string system_id;    // max 16 incl. NUL
  std::string password;     // max 9
  std::string system_type;  // max 13
  uint8_t interface_version = 0x34;
  uint8_t addr_ton = 0;
  uint8_t addr_npi = 0;
  std::string address_range;  // max 41
  friend bool operator==(const Bind&, const Bind&) = default;
};

// bind_*_resp. The body is absent in some error responses.
struct BindResp {
  std::string system_id;  // max 16
  std::vector<Tlv> tlvs;  // sc_interface_version
  friend bool operator==(const BindResp&, const BindResp&) = default;
};

// submit_sm and deliver_sm share this layout.
struct ShortMessage {
  std::string service_type;  // max 6
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string source_addr;  // max 21
  uint8_t dest_addr_ton = 0;
  uint8_t dest_addr_npi = 0;
  std::string destination_addr;  // max 21
  uint8_t esm_class = 0;
  uint8_t protocol_id = 0;
  uint8_t priority_flag = 0;
  std::string schedule_delivery_time;  // "" or 16 characters (max 17)
  std::string validity_period;         // "" or 16 characters (max 17)
  uint8_t registered_delivery = 0;
  uint8_t replace_if_present_flag = 0;
  uint8_t data_coding = 0;
  uint8_t sm_default_msg_id = 0;
  std::string short_message;  // 0..254 octets (sm_length is its size)
  std::vector<Tlv> tlvs;
  friend bool operator==(const ShortMessage&, const ShortMessage&) = default;

  // The first TLV with `tag`, or null.
  const Tlv* find_tlv(uint16_t tag) const noexcept;
};

// submit_sm_resp, deliver_sm_resp: message_id (max 65). The body may be
// absent when command_status != 0; it decodes as an empty id.
struct MessageIdResp {
  std::string message_id;
  friend bool operator==(const MessageIdResp&, const MessageIdResp&) = default;
};

// Header-only PDUs (enquire_link(+resp), unbind(+resp), generic_nack) and
// command ids this codec does not type.
struct Empty {
  friend bool operator==(const Empty&, const Empty&) = default;
};

struct Pdu {
  uint32_t command_id = 0;
  uint32_t command_status = 0;
  uint32_t sequence = 0;
  std::variant<Empty, Bind, BindResp, ShortMessage, MessageIdResp> body;
  friend bool operator==(const Pdu&, const Pdu&) = default;

  bool is_response() const noexcept { return (command_id & cmd::kResponseBit) != 0; }
};

// ---- frame splitter ---------------------------------------------------------

enum class FrameStatus : uint8_t {
  kGood,      // a whole PDU of `length` bytes starts the buffer
  kNeedMore,  // not yet: read more (`length` is the PDU's size when known)
  kBad,       // command_length < 16 or > max_length: the stream cannot be
              // resynchronised; answer generic_nack and drop the connection
};
struct Frame {
  FrameStatus status = FrameStatus::kNeedMore;
  size_t length = 0;
};
// Looks at the start of a byte stream. Cost: reads four bytes.
Frame next_frame(std::span<const std::byte> stream, size_t max_length = kMaxCommandLength) noexcept;

// ---- codec ------------------------------------------------------------------

// Decodes one whole PDU (as next_frame() delimited it). The body's type
// follows command_id: Bind for binds, BindResp for bind responses,
// ShortMessage for submit_sm/deliver_sm, MessageIdResp for their responses,
// Empty for the rest (typed or not). Errors (kInvalidArgument, `field`
// naming the body field): command_length differs from the span's size, a
// string without its NUL within its maximum length, a truncated fixed field,
// sm_length beyond the body, a truncated TLV, or stray bytes where none may
// be (after a body that has no TLVs).
core::Result<Pdu> decode(std::span<const std::byte> frame);

// Encodes a PDU, command_length computed. Errors (kInvalidArgument naming the
// field): a string longer than its maximum, or containing NUL; a
// short_message over 254 octets; a TLV value over 65535 octets; a body type
// that does not match command_id; sequence 0 or above 0x7FFFFFFF in a
// request (responses echo what they got, so only requests are checked).
core::Result<std::string> encode(const Pdu& pdu);

// The bytes of a string as the span the codec takes.
inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace transports::smpp
