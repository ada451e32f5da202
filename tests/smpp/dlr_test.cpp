// tests/smpp/dlr_test.cpp: transports/smpp/dlr.h — the receipt text in the
// forms SMSCs send it, TLVs winning over text, dates, and id matching
// across hex and decimal.
#include "transports/smpp/dlr.h"

#include <gtest/gtest.h>

namespace transports::smpp {
namespace {

TEST(SmppDlr, CanonicalText) {
  auto r = parse_receipt_text(
      "id:0123456789 sub:001 dlvrd:001 submit date:2403011200 done date:2403011201 stat:DELIVRD err:000 "
      "text:Hello world");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message_id, "0123456789");
  EXPECT_EQ(r->state, MessageState::kDelivered);
  EXPECT_EQ(r->stat, "DELIVRD");
  EXPECT_EQ(r->err, "000");
  EXPECT_EQ(r->text, "Hello world");
  ASSERT_TRUE(r->done_date);
  EXPECT_EQ(core::to_unix_ms(*r->done_date), 1709294460000);  // 2024-03-01T12:01:00Z
  ASSERT_TRUE(r->submit_date);
}

TEST(SmppDlr, TolerantVariants) {
  // Upper-case keys, "Text:", seconds in dates, a missing field, an extra one.
  auto r = parse_receipt_text(
      "ID:abc123 SUB:001 DLVRD:000 Submit Date:240301120005 Done Date:240301120159 Stat:UNDELIV "
      "Err:001 extra:x Text:id:fake stat:DELIVRD");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message_id, "abc123");
  EXPECT_EQ(r->state, MessageState::kUndeliverable);
  EXPECT_EQ(r->err, "001 extra:x");  // unknown keys stay in the previous value
  // The echoed text may contain keys; it does not override the real ones.
  EXPECT_EQ(r->text, "id:fake stat:DELIVRD");
  ASSERT_TRUE(r->done_date);
  EXPECT_EQ(core::to_unix_ms(*r->done_date), 1709294519000);
  // Minimal.
  auto m = parse_receipt_text("id:7 stat:EXPIRED");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->state, MessageState::kExpired);
  EXPECT_FALSE(m->done_date);
  // Not a receipt.
  EXPECT_FALSE(parse_receipt_text("hello there"));
  EXPECT_FALSE(parse_receipt_text(""));
}

TEST(SmppDlr, Dates) {
  EXPECT_TRUE(parse_receipt_date("2402291200"));   // leap day
  EXPECT_FALSE(parse_receipt_date("2302291200"));  // not a leap year
  EXPECT_FALSE(parse_receipt_date("2413011200"));
  EXPECT_FALSE(parse_receipt_date("24030112"));
  EXPECT_FALSE(parse_receipt_date("24030112000"));
  EXPECT_FALSE(parse_receipt_date("2403011260"));
  EXPECT_FALSE(parse_receipt_date("24O3011200"));
}

TEST(SmppDlr, TlvsWinOverText) {
  ShortMessage m;
  m.esm_class = 0x04;
  m.short_message = "id:111 sub:001 dlvrd:001 submit date:2403011200 done date:2403011201 stat:DELIVRD err:000 text:x";
  m.tlvs = {{tlv::kReceiptedMessageId, std::string("6f\0", 3)},
            {tlv::kMessageState, std::string(1, '\x05')},
            {tlv::kNetworkErrorCode, std::string("\x03\x00\x01", 3)}};
  ASSERT_TRUE(is_receipt(m));
  auto r = parse_receipt(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message_id, "6f");
  EXPECT_EQ(r->state, MessageState::kUndeliverable);
  EXPECT_EQ(r->stat, "UNDELIV");
  EXPECT_EQ(r->network_error_type, 3);
  EXPECT_EQ(r->network_error, 1);
  EXPECT_EQ(r->err, "1");
  ASSERT_TRUE(r->done_date);  // still from the text
}

TEST(SmppDlr, TlvsOnlyAndPayload) {
  ShortMessage m;
  m.esm_class = 0x04;
  m.tlvs = {{tlv::kReceiptedMessageId, "42"}, {tlv::kMessageState, std::string(1, '\x02')}};
  auto r = parse_receipt(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message_id, "42");
  EXPECT_EQ(r->state, MessageState::kDelivered);

  ShortMessage p;
  p.esm_class = 0x04;
  p.tlvs = {{tlv::kMessagePayload, "id:9 stat:REJECTD err:002"}};
  auto q = parse_receipt(p);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->message_id, "9");
  EXPECT_EQ(q->state, MessageState::kRejected);

  ShortMessage none;
  none.esm_class = 0x04;
  none.short_message = "stat:DELIVRD";
  EXPECT_FALSE(parse_receipt(none));  // no id anywhere
  ShortMessage mo;
  mo.short_message = "hello";
  EXPECT_FALSE(is_receipt(mo));
  mo.esm_class = 0x44;  // UDHI + receipt
  EXPECT_TRUE(is_receipt(mo));
  mo.esm_class = 0x08;  // intermediate notification: not a receipt
  EXPECT_FALSE(is_receipt(mo));
}

TEST(SmppDlr, StatWords) {
  EXPECT_EQ(parse_stat("delivrd"), MessageState::kDelivered);
  EXPECT_EQ(parse_stat("ACCEPTD"), MessageState::kAccepted);
  EXPECT_EQ(parse_stat("ENROUTE"), MessageState::kEnroute);
  EXPECT_EQ(parse_stat("UNKNOWN"), MessageState::kUnknownState);
  EXPECT_EQ(parse_stat("WHAT"), MessageState::kUnknown);
  EXPECT_TRUE(is_final(MessageState::kExpired));
  EXPECT_FALSE(is_final(MessageState::kAccepted));
}

TEST(SmppDlr, IdsMatchAcrossHexAndDecimal) {
  EXPECT_TRUE(same_message_id("1A2B", "6699"));       // hex in the resp, decimal in the DLR
  EXPECT_TRUE(same_message_id("6699", "1a2b"));
  EXPECT_TRUE(same_message_id("0000006699", "6699"));  // zero-padded
  EXPECT_TRUE(same_message_id("000f4240", "1000000"));
  EXPECT_TRUE(same_message_id("abc-def", "ABC-DEF"));
  EXPECT_FALSE(same_message_id("abc-def", "abc-deg"));
  EXPECT_FALSE(same_message_id("", ""));
  EXPECT_EQ(message_id_key(" 1A2B "), "1a2b");
  auto keys = message_id_keys("6699");
  EXPECT_EQ(keys.front(), "6699");
  EXPECT_NE(std::find(keys.begin(), keys.end(), "1a2b"), keys.end());
  // Too long for 64 bits: only the id itself.
  EXPECT_EQ(message_id_keys("123456789012345678901234567890").size(), 1u);
}

}  // namespace
}  // namespace transports::smpp
