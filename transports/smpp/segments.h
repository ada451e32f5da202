// transports/smpp/segments.h: the submit_sm payloads of one SMS text.
//
// The split itself is templating's (sms_info / sms_segments: GSM-7 or
// UCS-2, 160/153 septets or 70/67 UTF-16 units, never splitting an escape
// pair or a surrogate pair); this adds what SMPP needs on top: the
// data_coding, GSM-7 sent unpacked (one septet per octet, as SMSCs expect
// for data_coding 0) or UTF-16BE, and for more than one part the 6-octet
// concatenation UDH `05 00 03 ref total seq` with esm_class |= 0x40.
//
// Pure; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace transports::smpp {

inline constexpr uint8_t kDataCodingDefault = 0x00;  // SMSC default alphabet (GSM 03.38)
inline constexpr uint8_t kDataCodingUcs2 = 0x08;     // UTF-16BE
inline constexpr uint8_t kEsmClassUdhi = 0x40;       // short_message starts with a UDH
inline constexpr size_t kUdhLength = 6;

struct SmsPayloads {
  uint8_t data_coding = kDataCodingDefault;
  uint8_t esm_class = 0;  // 0x40 when concatenated, to be or-ed into submit_sm's
  // The short_message of each submit_sm, in order: UDH (when more than one)
  // then the encoded text. Each is at most 140 octets for data_coding 8 and
  // 6 + 153 octets (unpacked septets) for data_coding 0.
  std::vector<std::string> parts;
};

// Encodes `utf8` for submission. `ref` tells this message's parts apart
// from another concatenated message's at the handset (concat_ref()).
// Errors (kInvalidArgument, field "text"): empty text; more than 255 parts
// (the UDH counts in one octet).
core::Result<SmsPayloads> sms_payloads(std::string_view utf8, uint8_t ref);

// A concatenation reference derived from a message id (FNV-1a of its bytes,
// folded to 8 bits): stable for a message, so a retried message reuses it,
// and spread across messages so two long SMS to one handset at once rarely
// share it.
uint8_t concat_ref(std::string_view message_id) noexcept;

}  // namespace transports::smpp
