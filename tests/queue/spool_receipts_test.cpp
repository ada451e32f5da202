// tests/queue/spool_receipts_test.cpp: Spool::apply_receipts and the refs
// table — receipts only move a delivered message forward (duplicates and
// late ones change nothing), a failure after acceptance fails it or moves
// it to the fallback channel, and purging forgets the ref.
#include <gtest/gtest.h>

#include <future>

#include "spool_fixture.h"

namespace queue::testing {
namespace {

using core::MessageStatus;
using Kind = ReceiptUpdate::Kind;

class SpoolReceiptsTest : public SpoolTest {
 protected:
  // A Viber message, delivered with provider ref `ref`.
  core::Id delivered_with(const std::string& ref, bool with_email = false) {
    NewMessage m = make_message("o@example.com", "viber:school");
    m.request.channels = {core::Channel::kViber};
    if (with_email) m.request.channels.push_back(core::Channel::kEmail);
    m.request.to.viber_id = "01234567890A=";
    const core::Id id = enqueue_one(std::move(m));
    auto leased = lease();
    EXPECT_EQ(leased.size(), 1u);
    Transition t = delivered(leased.at(0));
    t.provider_ref = ref;
    EXPECT_EQ(apply(std::move(t)), 0u);
    return id;
  }
  ReceiptStats receipts(std::vector<ReceiptUpdate> u) {
    std::promise<core::Result<ReceiptStats>> p;
    auto f = p.get_future();
    spool_->apply_receipts(std::move(u), [&p](core::Result<ReceiptStats> r) { p.set_value(r); });
    auto r = f.get();
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
    return r ? *r : ReceiptStats{};
  }
  static ReceiptUpdate update(Kind k, std::string ref, core::Channel c = core::Channel::kViber) {
    ReceiptUpdate u;
    u.channel = c;
    u.provider_ref = std::move(ref);
    u.kind = k;
    u.detail = k == Kind::kRead ? "read" : k == Kind::kDelivered ? "on the device" : "failed";
    if (k == Kind::kFailed) u.bounce = core::Bounce{"bad-mailbox", {550, "5.1.1", "gone"}};
    return u;
  }
};

TEST_F(SpoolReceiptsTest, ReceiptsMoveForwardOnceEach) {
  const core::Id id = delivered_with("5741311803571721087");
  const size_t before = events(id).size();
  auto s = receipts({update(Kind::kDelivered, "5741311803571721087"),
                     update(Kind::kDelivered, "5741311803571721087"),  // duplicate
                     update(Kind::kRead, "5741311803571721087"),
                     update(Kind::kDelivered, "5741311803571721087"),  // late
                     update(Kind::kFailed, "5741311803571721087"),     // after read: no
                     update(Kind::kRead, "unknown-ref"),
                     update(Kind::kRead, "5741311803571721087", core::Channel::kWhatsapp)});
  EXPECT_EQ(s.applied, 2u);
  EXPECT_EQ(s.ignored, 5u);
  const auto ev = events(id);
  ASSERT_EQ(ev.size(), before + 2);
  EXPECT_EQ(ev[before].detail, "on the device");
  EXPECT_EQ(ev[before + 1].detail, "read");
  EXPECT_EQ(ev[before + 1].status, MessageStatus::kDelivered);
  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kDelivered);
  EXPECT_EQ(r.receipt_state, 2u);
  auto found = spool_->find_by_ref(core::Channel::kViber, "5741311803571721087");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->id, id);
  expect_counters_match();
}

TEST_F(SpoolReceiptsTest, AFailureAfterAcceptanceFailsTheMessageOnce) {
  const core::Id id = delivered_with("wamid.1");
  auto s = receipts({update(Kind::kFailed, "wamid.1"), update(Kind::kFailed, "wamid.1"),
                     update(Kind::kDelivered, "wamid.1")});
  EXPECT_EQ(s.applied, 1u);
  EXPECT_EQ(s.ignored, 2u);
  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kFailed);
  ASSERT_TRUE(r.bounce.has_value());
  EXPECT_EQ(r.bounce->category, "bad-mailbox");
  EXPECT_TRUE(r.provider_ref.empty());
  auto found = spool_->find_by_ref(core::Channel::kViber, "wamid.1");
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->has_value());
  expect_counters_match();
}

TEST_F(SpoolReceiptsTest, AFailureAfterAcceptanceMovesToTheFallbackChannel) {
  const core::Id id = delivered_with("SM1", /*with_email=*/true);
  ReceiptUpdate u = update(Kind::kFailed, "SM1");
  u.fallback_channel_index = 1;
  u.from_channel_index = 0;
  u.fallback_destination = "email:example.com";
  EXPECT_EQ(receipts({u}).applied, 1u);
  auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kSending);
  EXPECT_EQ(r.channel_index, 1u);
  EXPECT_EQ(r.destination, "email:example.com");
  EXPECT_EQ(r.channel_attempt_base, r.attempts);
  EXPECT_FALSE(r.finished_at.has_value());
  // It is due again, on email.
  auto again = lease();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].record.destination, "email:example.com");
  apply(delivered(again[0]));
  EXPECT_EQ(record(id).status, MessageStatus::kDelivered);
  expect_counters_match();
}

TEST_F(SpoolReceiptsTest, PurgeForgetsTheRef) {
  config_.retention = core::Duration(1000);
  open_spool();
  ids_seen_.clear();
  delivered_with("ref-9");
  clock_.advance(core::Duration(5000));
  auto purged = spool_->purge_sync(100);
  ASSERT_TRUE(purged.has_value());
  EXPECT_EQ(*purged, 1u);
  auto found = spool_->find_by_ref(core::Channel::kViber, "ref-9");
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->has_value());
}

}  // namespace
}  // namespace queue::testing
