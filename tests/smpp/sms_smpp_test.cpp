// tests/smpp/sms_smpp_test.cpp: transports/smpp/sms_smpp.h without a peer —
// channels.md's command_status table in codec.h's reply convention, DLR
// states as receipts, option checks.
#include "transports/smpp/sms_smpp.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace transports::smpp {
namespace {

using providers::FailureClass;

SubmitResult answered(uint32_t status, std::string id = {}) {
  SubmitResult r;
  r.kind = SubmitResult::Kind::kResponse;
  r.command_status = status;
  r.message_id = std::move(id);
  return r;
}

struct Row {
  uint32_t status;
  OutcomeKind kind;
  uint16_t code;
  const char* enhanced;
  FailureClass cls;
  bool blames_message;
};

TEST(SmppClassify, StatusTable) {
  const Row rows[] = {
      {0x58, OutcomeKind::kTransient, 451, "4.7.0", FailureClass::kRetry, false},
      {0x14, OutcomeKind::kTransient, 451, "4.7.0", FailureClass::kRetry, false},
      {0x08, OutcomeKind::kTransient, 451, "4.3.0", FailureClass::kRetry, false},
      {0x45, OutcomeKind::kTransient, 451, "4.3.0", FailureClass::kRetry, true},
      {0x64, OutcomeKind::kTransient, 451, "4.3.0", FailureClass::kRetry, true},
      {0xFF, OutcomeKind::kTransient, 451, "4.3.0", FailureClass::kRetry, true},
      {0x04, OutcomeKind::kTransient, 451, "4.3.0", FailureClass::kRetry, false},
      {0x0B, OutcomeKind::kPermanent, 550, "5.1.1", FailureClass::kRecipient, true},
      {0x65, OutcomeKind::kPermanent, 554, "5.6.0", FailureClass::kBadRequest, true},
      {0x66, OutcomeKind::kPermanent, 554, "5.6.0", FailureClass::kBadRequest, true},
      {0x01, OutcomeKind::kPermanent, 554, "5.6.0", FailureClass::kBadRequest, true},
      {0x50, OutcomeKind::kPermanent, 554, "5.6.0", FailureClass::kBadRequest, true},
      {0x43, OutcomeKind::kPermanent, 554, "5.6.0", FailureClass::kBadRequest, true},
      {0xC2, OutcomeKind::kPermanent, 554, "5.6.0", FailureClass::kBadRequest, true},
      {0x0A, OutcomeKind::kTransient, 451, "4.3.5", FailureClass::kConfig, false},
      {0x48, OutcomeKind::kTransient, 451, "4.3.5", FailureClass::kConfig, false},
      {0x0E, OutcomeKind::kTransient, 451, "4.3.5", FailureClass::kConfig, false},
      {0x0F, OutcomeKind::kTransient, 451, "4.3.5", FailureClass::kConfig, false},
      {0x99, OutcomeKind::kTransient, 451, "4.3.0", FailureClass::kRetry, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.status);
    auto r = classify_submit(answered(row.status));
    EXPECT_EQ(r.outcome.kind, row.kind);
    EXPECT_EQ(r.outcome.reply.code, row.code);
    EXPECT_EQ(r.outcome.reply.enhanced, row.enhanced);
    EXPECT_EQ(r.failure, row.cls);
    EXPECT_EQ(r.outcome.blames_message, row.blames_message);
  }
  EXPECT_EQ(classify_submit(answered(0x58)).outcome.reply.text, "smpp status 0x58 ESME_RTHROTTLED");
  EXPECT_EQ(classify_submit(answered(0x0B)).outcome.reply.text, "smpp status 0x0B ESME_RINVDSTADR");
  EXPECT_EQ(classify_submit(answered(0x99)).outcome.reply.text, "smpp status 0x99");
}

TEST(SmppClassify, AcceptedAndUnknownOutcome) {
  auto ok = classify_submit(answered(0, "1a"), "1a,1b");
  EXPECT_EQ(ok.outcome.kind, OutcomeKind::kDelivered);
  EXPECT_EQ(ok.outcome.reply.code, 250);
  EXPECT_EQ(ok.provider_ref, "1a,1b");

  SubmitResult lost;
  lost.kind = SubmitResult::Kind::kNoResponse;
  lost.detail = "smpp connection lost: outcome unknown";
  auto l = classify_submit(lost);
  EXPECT_EQ(l.outcome.kind, OutcomeKind::kTransient);
  EXPECT_EQ(l.outcome.reply.enhanced, "4.3.0");
  EXPECT_FALSE(l.outcome.blames_message);
  EXPECT_EQ(l.outcome.reply.text, lost.detail);

  SubmitResult refused;
  refused.kind = SubmitResult::Kind::kNotSent;
  refused.command_status = 0x0E;
  refused.detail = "smpp bind refused: status 0x0E ESME_RINVPASWD";
  auto c = classify_submit(refused);
  EXPECT_EQ(c.failure, FailureClass::kConfig);
  EXPECT_EQ(c.outcome.reply.enhanced, "4.3.5");
}

TEST(SmppReceipt, States) {
  DeliveryReceipt d;
  d.message_id = "77";
  d.state = MessageState::kDelivered;
  d.stat = "DELIVRD";
  auto r = receipt_from_dlr(d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, providers::ReceiptKind::kDelivered);
  EXPECT_EQ(r->channel, core::Channel::kSms);
  EXPECT_EQ(r->provider_ref, "77");
  EXPECT_EQ(r->event_id, "smpp:77:DELIVRD");

  d.state = MessageState::kUndeliverable;
  d.stat = "UNDELIV";
  d.err = "001";
  r = receipt_from_dlr(d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, providers::ReceiptKind::kFailed);
  EXPECT_EQ(r->failure, FailureClass::kRecipient);
  EXPECT_EQ(r->reply.code, 550);
  EXPECT_EQ(r->reply.text, "smpp dlr UNDELIV err:001");

  d.state = MessageState::kRejected;
  EXPECT_EQ(receipt_from_dlr(d)->failure, FailureClass::kRecipient);

  d.state = MessageState::kExpired;
  d.stat = "EXPIRED";
  r = receipt_from_dlr(d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, providers::ReceiptKind::kFailed);
  EXPECT_EQ(r->failure, FailureClass::kRetry);
  EXPECT_EQ(r->reply.code, 451);
  d.state = MessageState::kDeleted;
  EXPECT_EQ(receipt_from_dlr(d)->failure, FailureClass::kRetry);

  for (auto s : {MessageState::kAccepted, MessageState::kEnroute, MessageState::kUnknownState,
                 MessageState::kUnknown}) {
    d.state = s;
    EXPECT_FALSE(receipt_from_dlr(d));
  }
}

TEST(SmppTransportOptions, CheckedAtCreate) {
  boost::asio::io_context io;
  SmppOptions o;
  o.system_id = "sixteen-chars-id";
  auto t = SmppTransport::create(io.get_executor(), o, {});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().field, "system_id");
  o.system_id = "ok";
  o.password = "ninechars";
  EXPECT_EQ(SmppTransport::create(io.get_executor(), o, {}).error().field, "password");
  o.password = "pw";
  o.source_addr = std::string(21, '1');
  EXPECT_EQ(SmppTransport::create(io.get_executor(), o, {}).error().field, "source_addr");
  o.source_addr = "Vestnik";
  o.window = 0;
  EXPECT_EQ(SmppTransport::create(io.get_executor(), o, {}).error().field, "window");
  o.window = 10;
  o.name = "eu";
  auto good = SmppTransport::create(io.get_executor(), o, {});
  ASSERT_TRUE(good);
  core::MessageRecord rec;
  EXPECT_EQ((*good)->destination(rec, core::Channel::kSms), "sms:eu");
  EXPECT_TRUE((*good)->serves(core::Channel::kSms));
  EXPECT_FALSE((*good)->serves(core::Channel::kEmail));
  bool stopped = false;
  (*good)->stop([&] { stopped = true; });
  io.run_for(std::chrono::seconds(2));
  EXPECT_TRUE(stopped);
}

}  // namespace
}  // namespace transports::smpp
