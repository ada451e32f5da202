// tests/fuzz/smpp_pdu_fuzz.cpp: fuzz target for transports/smpp/ — the frame
// splitter, the PDU decoder and the delivery-receipt parser, fed with any
// bytes as an SMSC could send them.
//
// Invariants, checked on every input:
//   next_frame   never claims more bytes than it was given; kGood only for
//                16 <= length <= 64 KiB; the stream is consumed frame by
//                frame until kBad or kNeedMore (bounded by the input size).
//   decode       never crashes on a frame; a decoded PDU re-encodes (when
//                its strings fit, which decode guarantees for typed bodies)
//                and decodes back to the same value; a response echoes
//                nothing we check, so only requests need a valid sequence.
//   receipts     parse_receipt / parse_receipt_text never crash; an id
//                matches itself under message_id_keys; a parsed receipt's
//                state is one of the enum's values.
//
// Seed corpus: tests/fuzz/corpus/smpp_pdu/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "transports/smpp/dlr.h"
#include "transports/smpp/pdu.h"

using namespace transports::smpp;

namespace {

void check_pdu(std::span<const std::byte> frame) {
  auto pdu = decode(frame);
  if (!pdu) {
    FUZZ_CHECK(!pdu.error().message.empty());
    return;
  }
  auto bytes = encode(*pdu);
  if (bytes) {
    auto again = decode(as_bytes(*bytes));
    FUZZ_CHECK(again);
    // Header-only PDUs drop any stray body bytes; typed ones round-trip.
    FUZZ_CHECK(*again == *pdu);
  } else {
    // Only a request's sequence number can make a decoded PDU unencodable.
    FUZZ_CHECK(!pdu->is_response() && (pdu->sequence == 0 || pdu->sequence > kMaxSequence));
  }
  if (const auto* sm = std::get_if<ShortMessage>(&pdu->body)) {
    auto r = parse_receipt(*sm);
    if (r) {
      FUZZ_CHECK(!r->message_id.empty());
      FUZZ_CHECK(static_cast<uint8_t>(r->state) <= 8);
      FUZZ_CHECK(same_message_id(r->message_id, r->message_id));
    }
    (void)is_receipt(*sm);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::span<const std::byte> stream = as_bytes(in);
  for (size_t frames = 0; frames <= size / kHeaderLength + 1; ++frames) {
    const Frame f = next_frame(stream);
    if (f.status != FrameStatus::kGood) {
      if (f.status == FrameStatus::kBad) FUZZ_CHECK(f.length < kHeaderLength || f.length > kMaxCommandLength);
      break;
    }
    FUZZ_CHECK(f.length >= kHeaderLength && f.length <= kMaxCommandLength && f.length <= stream.size());
    check_pdu(stream.first(f.length));
    stream = stream.subspan(f.length);
  }
  // The whole input as a receipt text, and as ids.
  if (auto r = parse_receipt_text(in)) FUZZ_CHECK(static_cast<uint8_t>(r->state) <= 8);
  (void)parse_receipt_date(in);
  const auto keys = message_id_keys(in);
  FUZZ_CHECK(!keys.empty());
  if (!keys.front().empty()) FUZZ_CHECK(same_message_id(in, in));
  return 0;
}
