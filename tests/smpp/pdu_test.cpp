// tests/smpp/pdu_test.cpp: transports/smpp/pdu.h — byte-exact encodings of
// the PDUs we send, round trips, the frame splitter's bounds, and refusals
// of malformed input.
#include "transports/smpp/pdu.h"

#include <gtest/gtest.h>

#include <string>

namespace transports::smpp {
namespace {

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

Pdu pdu(uint32_t id, uint32_t seq, uint32_t st = 0) {
  Pdu p;
  p.command_id = id;
  p.command_status = st;
  p.sequence = seq;
  return p;
}

TEST(SmppPdu, EnquireLinkIsSixteenBytes) {
  auto b = encode(pdu(cmd::kEnquireLink, 7));
  ASSERT_TRUE(b);
  EXPECT_EQ(hex(*b), "00000010000000150000000000000007");
}

TEST(SmppPdu, BindTransceiverBytes) {
  Pdu p = pdu(cmd::kBindTransceiver, 1);
  p.body = Bind{"vestnik", "secret", "", 0x34, 0, 0, ""};
  auto b = encode(p);
  ASSERT_TRUE(b);
  // header, "vestnik\0" "secret\0" "\0" (system_type), 34 00 00, "\0" (address_range)
  EXPECT_EQ(hex(*b), "00000024000000090000000000000001"
                     "766573746e696b00"
                     "73656372657400"
                     "00"
                     "340000"
                     "00");
  EXPECT_EQ(b->size(), 16u + 8 + 7 + 1 + 3 + 1);
  auto d = decode(as_bytes(*b));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, p);
}

TEST(SmppPdu, SubmitSmRoundTripAndLayout) {
  Pdu p = pdu(cmd::kSubmitSm, 42);
  ShortMessage m;
  m.source_addr_ton = 5;
  m.source_addr = "Vestnik";
  m.dest_addr_ton = 1;
  m.dest_addr_npi = 1;
  m.destination_addr = "380671234567";
  m.registered_delivery = 1;
  m.short_message = "Hi";
  p.body = m;
  auto b = encode(p);
  ASSERT_TRUE(b);
  const std::string body = b->substr(16);
  // Field by field.
  EXPECT_EQ(body[0], '\0');
  EXPECT_EQ(body[1], 5);
  EXPECT_EQ(body[2], 0);
  EXPECT_EQ(body.substr(3, 8), std::string("Vestnik\0", 8));
  EXPECT_EQ(body[11], 1);
  EXPECT_EQ(body[12], 1);
  EXPECT_EQ(body.substr(13, 13), std::string("380671234567\0", 13));
  // esm_class, protocol_id, priority, two empty times, registered_delivery,
  // replace, data_coding, default id, sm_length, "Hi".
  EXPECT_EQ(hex(body.substr(26)), "000000000001000000024869");
  auto d = decode(as_bytes(*b));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, p);
}

TEST(SmppPdu, SubmitSmRespAndNoBodyOnError) {
  Pdu p = pdu(cmd::kSubmitSm | cmd::kResponseBit, 3);
  p.body = MessageIdResp{"1a2b"};
  auto b = encode(p);
  ASSERT_TRUE(b);
  EXPECT_EQ(hex(*b), "000000158000000400000000000000033161326200");
  // An error response with no body at all.
  auto d = decode(as_bytes(unhex("00000010800000040000005800000003")));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->command_status, status::kThrottled);
  EXPECT_EQ(std::get<MessageIdResp>(d->body).message_id, "");
}

TEST(SmppPdu, DeliverSmWithTlvs) {
  Pdu p = pdu(cmd::kDeliverSm, 9);
  ShortMessage m;
  m.esm_class = 0x04;
  m.short_message = "id:1 stat:DELIVRD";
  m.tlvs = {{tlv::kReceiptedMessageId, std::string("1\0", 2)}, {tlv::kMessageState, std::string(1, '\x02')}};
  p.body = m;
  auto b = encode(p);
  ASSERT_TRUE(b);
  auto d = decode(as_bytes(*b));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, p);
  const auto& sm = std::get<ShortMessage>(d->body);
  ASSERT_NE(sm.find_tlv(tlv::kMessageState), nullptr);
  EXPECT_EQ(sm.find_tlv(tlv::kMessageState)->value, std::string(1, '\x02'));
  EXPECT_EQ(sm.find_tlv(0x1234), nullptr);
}

TEST(SmppPdu, EncodeRefusesOverlongFields) {
  Pdu p = pdu(cmd::kBindTransceiver, 1);
  p.body = Bind{"a-very-long-system-id", "pw", "", 0x34, 0, 0, ""};
  auto b = encode(p);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().field, "system_id");

  Pdu s = pdu(cmd::kSubmitSm, 1);
  ShortMessage m;
  m.short_message = std::string(255, 'x');
  s.body = m;
  ASSERT_FALSE(encode(s));
  m.short_message = "x";
  m.destination_addr = std::string("12\0" "3", 4);
  s.body = m;
  ASSERT_FALSE(encode(s));
  // Requests need a sequence in 1..0x7FFFFFFF.
  ASSERT_FALSE(encode(pdu(cmd::kEnquireLink, 0)));
  ASSERT_FALSE(encode(pdu(cmd::kEnquireLink, 0x80000000)));
  // Body type must match the command.
  Pdu wrong = pdu(cmd::kSubmitSm, 1);
  ASSERT_FALSE(encode(wrong));
}

TEST(SmppPdu, FrameSplitter) {
  const std::string two = unhex("00000010000000150000000000000001") + unhex("000000108000001500000000000000");
  auto f = next_frame(as_bytes(two));
  EXPECT_EQ(f.status, FrameStatus::kGood);
  EXPECT_EQ(f.length, 16u);
  auto g = next_frame(as_bytes(std::string_view(two).substr(16)));
  EXPECT_EQ(g.status, FrameStatus::kNeedMore);
  EXPECT_EQ(next_frame(as_bytes(std::string_view(two).substr(0, 3))).status, FrameStatus::kNeedMore);
  EXPECT_EQ(next_frame(as_bytes(unhex("0000000f"))).status, FrameStatus::kBad);
  EXPECT_EQ(next_frame(as_bytes(unhex("00010001"))).status, FrameStatus::kBad);  // 64 KiB + 1
  EXPECT_EQ(next_frame(as_bytes(unhex("00010000"))).status, FrameStatus::kNeedMore);
  EXPECT_EQ(next_frame(as_bytes(unhex("ffffffff"))).status, FrameStatus::kBad);
}

TEST(SmppPdu, DecodeRefusesMalformed) {
  // command_length disagrees with the frame.
  EXPECT_FALSE(decode(as_bytes(unhex("00000011000000150000000000000001"))));
  // submit_sm with a string that never ends.
  EXPECT_FALSE(decode(as_bytes(unhex("000000140000000400000000000000014142434"))));
  // sm_length beyond the body.
  Pdu p = pdu(cmd::kSubmitSm, 1);
  ShortMessage m;
  m.short_message = "abc";
  p.body = m;
  std::string b = *encode(p);
  b[b.size() - 4] = 10;  // sm_length 10, only 3 bytes follow
  EXPECT_FALSE(decode(as_bytes(b)));
  // A truncated TLV.
  std::string t = *encode(p) + std::string("\x04\x27\x00", 3);
  t[3] = static_cast<char>(t.size());
  EXPECT_FALSE(decode(as_bytes(t)));
  // Shorter than a header.
  EXPECT_FALSE(decode(as_bytes(unhex("0000000c0000001500000000"))));
}

TEST(SmppPdu, UnknownCommandDecodesEmpty) {
  auto d = decode(as_bytes(unhex("00000014000001030000000000000005deadbeef")));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->command_id, cmd::kDataSm);
  EXPECT_TRUE(std::holds_alternative<Empty>(d->body));
}

TEST(SmppPdu, StatusNames) {
  EXPECT_EQ(status_name(0x58), "ESME_RTHROTTLED");
  EXPECT_EQ(status_name(0x0B), "ESME_RINVDSTADR");
  EXPECT_EQ(status_name(0x14), "ESME_RMSGQFUL");
  EXPECT_EQ(status_name(0x1234), "");
}

}  // namespace
}  // namespace transports::smpp
