// transports/smpp/segments.cpp: see segments.h.
#include "transports/smpp/segments.h"

#include "templating/channels.h"

namespace transports::smpp {

core::Result<SmsPayloads> sms_payloads(std::string_view utf8, uint8_t ref) {
  const templating::SmsInfo info = templating::sms_info(utf8);
  if (info.segments == 0) return core::invalid_argument("text", "text: empty SMS");
  if (info.segments > 255) return core::invalid_argument("text", "text: over 255 SMS parts");
  SmsPayloads out;
  const bool gsm = info.encoding == templating::SmsEncoding::kGsm7;
  out.data_coding = gsm ? kDataCodingDefault : kDataCodingUcs2;
  const std::vector<std::string> texts = templating::sms_segments(utf8);
  const size_t total = texts.size();
  if (total > 1) out.esm_class = kEsmClassUdhi;
  out.parts.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    std::string part;
    if (total > 1) {
      part = {'\x05', '\x00', '\x03', static_cast<char>(ref), static_cast<char>(total),
              static_cast<char>(i + 1)};
    }
    part += gsm ? templating::gsm7_encode(texts[i]) : templating::ucs2_encode(texts[i]);
    out.parts.push_back(std::move(part));
  }
  return out;
}

uint8_t concat_ref(std::string_view message_id) noexcept {
  uint32_t h = 2166136261u;
  for (char c : message_id) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return static_cast<uint8_t>(h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24));
}

}  // namespace transports::smpp
