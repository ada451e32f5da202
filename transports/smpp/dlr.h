// transports/smpp/dlr.h: SMPP delivery receipts (deliver_sm with
// esm_class & 0x3C == 0x04) and the matching of their message ids to the
// ids submit_sm_resp gave.
//
// The receipt text is the de-facto format of SMPP 3.4 Appendix B,
//   id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:EEE text:...
// but SMSCs vary it (key case, "Text:", seconds in the dates, missing
// fields, extra fields), so it is read as tolerant key:value pairs. The TLVs
// receipted_message_id (0x001E), message_state (0x0427) and
// network_error_code (0x0423), when present, win over the text: they are
// typed, the text is a convention.
//
// Pure: no I/O, no shared state, safe from any thread; any bytes are
// accepted (fuzzed by tests/fuzz/smpp_pdu_fuzz.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "transports/smpp/pdu.h"

namespace transports::smpp {

// message_state values (SMPP 3.4 §5.2.28); kUnknown also for a stat text we
// do not know.
enum class MessageState : uint8_t {
  kUnknown = 0,
  kEnroute = 1,
  kDelivered = 2,
  kExpired = 3,
  kDeleted = 4,
  kUndeliverable = 5,
  kAccepted = 6,
  kUnknownState = 7,  // the SMSC's own UNKNOWN
  kRejected = 8,
};
// "DELIVRD" -> kDelivered (case-insensitive; the 7-letter stat words of the
// text form, plus "DELIVERED", "UNDELIVERABLE", "REJECTED"...), else kUnknown.
MessageState parse_stat(std::string_view stat) noexcept;
// The 7-letter word: kDelivered -> "DELIVRD"; kUnknown -> "UNKNOWN".
std::string_view stat_word(MessageState s) noexcept;
// Final states: delivered, expired, deleted, undeliverable, rejected.
bool is_final(MessageState s) noexcept;

struct DeliveryReceipt {
  std::string message_id;  // as the SMSC wrote it (TLV first, else text "id:")
  MessageState state = MessageState::kUnknown;
  std::string stat;  // the stat word as written ("DELIVRD"), or stat_word(state) from the TLV
  std::string err;   // the text's err field ("000"), or the TLV's code in decimal
  // network_error_code TLV: type (1 ANSI-136, 2 IS-95, 3 GSM, ...) and code.
  std::optional<uint8_t> network_error_type;
  std::optional<uint16_t> network_error;
  std::optional<core::TimePoint> submit_date;  // taken as UTC
  std::optional<core::TimePoint> done_date;
  std::string text;  // the first characters of the message, as the SMSC echoed them
};

// Whether a deliver_sm is a receipt rather than a mobile-originated message.
inline bool is_receipt(const ShortMessage& deliver_sm) noexcept {
  return (deliver_sm.esm_class & 0x3C) == 0x04;
}

// Parses the text form only. Errors (kInvalidArgument): no "id" and no
// "stat" key at all (not a receipt).
core::Result<DeliveryReceipt> parse_receipt_text(std::string_view text);

// Parses a receipt deliver_sm: the text (short_message, or the
// message_payload TLV when short_message is empty) and the TLVs, which win.
// Errors (kInvalidArgument): neither the TLVs nor the text give a message id,
// or neither gives a state.
core::Result<DeliveryReceipt> parse_receipt(const ShortMessage& deliver_sm);

// "YYMMDDhhmm" or "YYMMDDhhmmss" (years 2000-2099) as UTC; nullopt when the
// text is not such a date or a field is out of range.
std::optional<core::TimePoint> parse_receipt_date(std::string_view text) noexcept;

// The forms under which a message id may come back. SMSCs are known to give
// the id in hex in submit_sm_resp but in decimal in the receipt (or the
// other way round), with or without leading zeros and in either case. The
// first key is the id itself, trimmed and lowercased; then, when it is all
// hex digits and fits 64 bits, its value in decimal; when it is all decimal
// digits and fits 64 bits, its value in lowercase hex. Leading zeros are
// dropped in the converted forms (and a "0" id stays "0").
std::vector<std::string> message_id_keys(std::string_view id);
// The canonical key to store a submitted id under: the first of
// message_id_keys(id). Look a receipt's id up under each of its keys.
std::string message_id_key(std::string_view id);
// True when the two ids may name the same message (a key in common).
bool same_message_id(std::string_view a, std::string_view b);

}  // namespace transports::smpp
