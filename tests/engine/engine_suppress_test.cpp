// tests/engine/engine_suppress_test.cpp: suppressions in the engine (issue
// #7) — a suppressed recipient is forbidden at enqueue, a message queued
// before the suppression is forbidden before it is sent (or moves to its
// next channel), refusals suppress by the policy of engine/suppress.h
// (hard at once, soft after the limit, messenger blocks per channel), and
// one-click tokens open only when sealed with our key.
#include <gtest/gtest.h>

#include <future>

#include "engine/suppress.h"
#include "engine_fixture.h"
#include "templating/render.h"
#include "templating/token.h"

namespace engine {
namespace {

class EngineSuppressTest : public EngineTest {
 protected:
  void suppress(std::string channel, std::string address, std::string category,
                core::SuppressionReason reason = core::SuppressionReason::kManual) {
    core::Suppression s;
    s.tenant = "school";
    s.channel = std::move(channel);
    s.address = std::move(address);
    s.category = std::move(category);
    s.reason = reason;
    std::promise<core::Status> p;
    auto f = p.get_future();
    engine_->suppress({s}, [&p](core::Status st) { p.set_value(std::move(st)); });
    auto st = f.get();
    ASSERT_TRUE(st.has_value()) << st.error().to_string();
  }
  std::optional<core::Suppression> find(std::string_view channel, std::string_view address,
                                        std::string_view category = "notifications") {
    auto r = spool_->find_suppression("school", channel, address, category);
    EXPECT_TRUE(r.has_value());
    return r ? *r : std::nullopt;
  }
  // Waits for the dispatcher's suppression writes (they are stored with
  // the next flush, after the transitions).
  void settle() {
    engine_->TEST_poll();
    engine_->TEST_poll();
  }
};

TEST_F(EngineSuppressTest, ASuppressedRecipientIsForbiddenAtEnqueue) {
  open(always("250 2.0.0 ok"));
  suppress("email", "Ann@Example.com", "marketing", core::SuppressionReason::kUnsubscribed);
  core::MessageRequest bulk = email_to("ann@example.com");
  bulk.category = "marketing";
  auto res = submit({bulk, email_to("ann@example.com")});
  ASSERT_EQ(res.items.size(), 2u);
  ASSERT_TRUE(res.items[0].has_value());
  EXPECT_EQ(res.items[0]->status, MessageStatus::kForbidden);
  // Transactional mail is not stopped by a marketing unsubscribe.
  EXPECT_EQ(res.items[1]->status, MessageStatus::kQueued);
  const auto v = view(res.items[0]->id);
  EXPECT_EQ(v.record.status, MessageStatus::kForbidden);
  ASSERT_FALSE(v.events.empty());
  EXPECT_NE(v.events.back().detail.find("unsubscribed from marketing"), std::string::npos)
      << v.events.back().detail;
  engine_->TEST_poll();
  EXPECT_TRUE(transport_->calls_for(res.items[0]->id).empty());
  EXPECT_EQ(record(res.items[1]->id).status, MessageStatus::kDelivered);
}

TEST_F(EngineSuppressTest, AnotherChannelIsUsedWhenTheFirstIsSuppressed) {
  open(always("250 2.0.0 ok"));
  suppress("sms", "+380 67 123 45 67", "*");
  core::MessageRequest req = email_to("ann@example.com");
  req.channels = {core::Channel::kSms, core::Channel::kEmail};
  req.to.phone = "+380671234567";
  const core::Id id = submit_one(req);
  EXPECT_EQ(record(id).channel_index, 1u);
  EXPECT_EQ(record(id).destination, "email:example.com");
}

TEST_F(EngineSuppressTest, AQueuedMessageIsForbiddenBeforeItIsSent) {
  open(always("250 2.0.0 ok"));
  const core::Id id = submit_one(email_to("bob@example.com"));
  EXPECT_EQ(record(id).status, MessageStatus::kQueued);
  suppress("email", "bob@example.com", "*", core::SuppressionReason::kComplaint);
  engine_->TEST_poll();
  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kForbidden);
  EXPECT_EQ(r.attempts, 0u);  // nothing was sent
  EXPECT_TRUE(transport_->calls_for(id).empty());
  EXPECT_NE(view(id).events.back().detail.find("complaint"), std::string::npos);
}

TEST_F(EngineSuppressTest, AQueuedMessageMovesOnWhenItsChannelIsSuppressed) {
  open(always("250 2.0.0 ok"));
  core::MessageRequest req = email_to("ann@example.com");
  req.channels = {core::Channel::kSms, core::Channel::kEmail};
  req.to.phone = "+380671234567";
  const core::Id id = submit_one(req);
  EXPECT_EQ(record(id).channel_index, 0u);
  suppress("sms", "+380671234567", "*", core::SuppressionReason::kUnsubscribed);
  engine_->TEST_poll();
  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kDelivered);
  EXPECT_EQ(r.channel_index, 1u);
  const auto calls = transport_->calls_for(id);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].destination, "email:example.com");
}

TEST_F(EngineSuppressTest, AHardBounceSuppressesTheAddressForEveryCategory) {
  open([](std::string_view address, uint32_t) -> std::optional<std::string> {
    if (address == "gone@example.com")
      return "550 5.1.1 The email account that you tried to reach does not exist";
    if (address == "rude@example.com") return "550 5.7.1 relaying denied";
    return "250 2.0.0 ok";
  });
  const core::Id gone = submit_one(email_to("gone@example.com"));
  const core::Id rude = submit_one(email_to("rude@example.com"));
  settle();
  EXPECT_EQ(record(gone).status, MessageStatus::kFailed);
  EXPECT_EQ(record(gone).bounce->category, "bad-mailbox");
  auto s = find("email", "gone@example.com", "marketing");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, core::SuppressionReason::kHardBounce);
  EXPECT_EQ(s->category, "*");
  EXPECT_EQ(s->message_id, gone);
  // A policy refusal says nothing about the address.
  EXPECT_EQ(record(rude).status, MessageStatus::kFailed);
  EXPECT_FALSE(find("email", "rude@example.com"));
  // The next message to the bounced address is forbidden at once.
  auto res = submit({email_to("gone@example.com")});
  EXPECT_EQ(res.items.at(0)->status, MessageStatus::kForbidden);
}

TEST_F(EngineSuppressTest, SoftBouncesSuppressAfterTheLimit) {
  config().bounces.soft_limit = 2;
  open(always("552 5.2.2 The recipient's mailbox is full"));
  submit_one(email_to("full@example.com"));
  settle();
  EXPECT_FALSE(find("email", "full@example.com"));
  submit_one(email_to("full@example.com"));
  settle();
  auto s = find("email", "full@example.com");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, core::SuppressionReason::kHardBounce);
}

TEST_F(EngineSuppressTest, AMessengerBlockSuppressesThatChannelOnly) {
  open([](std::string_view address, uint32_t) -> std::optional<std::string> {
    if (address == "+380671234567") return "550 5.7.1 sms: recipient blocked";
    return "250 2.0.0 ok";
  });
  core::MessageRequest req = email_to("ann@example.com");
  req.channels = {core::Channel::kSms, core::Channel::kEmail};
  req.to.phone = "+380671234567";
  submit_one(req);
  settle();
  auto s = find("sms", "+380671234567");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, core::SuppressionReason::kUnsubscribed);
  EXPECT_FALSE(find("email", "ann@example.com"));
  // The next message goes straight to email.
  const core::Id next = submit_one(req);
  EXPECT_EQ(record(next).channel_index, 1u);
}

TEST_F(EngineSuppressTest, BlockedRecipientsAreKeptWhenConfiguredSo) {
  config().bounces.suppress_blocked = false;
  open(always("550 5.7.1 sms: recipient blocked"));
  core::MessageRequest req = email_to("ann@example.com");
  req.channels = {core::Channel::kSms};
  req.to.phone = "+380671234567";
  submit_one(req);
  settle();
  EXPECT_FALSE(find("sms", "+380671234567"));
}

TEST_F(EngineSuppressTest, SuppressValidatesEveryEntryAndUnsuppressRemoves) {
  open(always("250 2.0.0 ok"));
  core::Suppression ok;
  ok.tenant = "school";
  ok.channel = "email";
  ok.address = "a@example.com";
  ok.category = "*";
  core::Suppression bad = ok;
  bad.channel = "fax";
  std::promise<core::Status> p;
  engine_->suppress({ok, bad}, [&p](core::Status st) { p.set_value(std::move(st)); });
  auto st = p.get_future().get();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().field, "suppressions[1].channel");
  EXPECT_FALSE(find("email", "a@example.com"));  // nothing stored

  suppress("email", "a@example.com", "*");
  std::promise<core::Result<size_t>> q;
  core::Suppression which = ok;
  which.address = "A@EXAMPLE.COM";
  which.category.clear();
  engine_->unsuppress(which, [&q](core::Result<size_t> r) { q.set_value(std::move(r)); });
  auto removed = q.get_future().get();
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(*removed, 1u);
  EXPECT_FALSE(find("email", "a@example.com"));
}

TEST_F(EngineSuppressTest, OneClickTokensOpenOnlyWithOurKey) {
  config().email.token_secret = "0123456789abcdef0123456789abcdef";
  open(always("250 2.0.0 ok"));
  const std::string token = templating::seal_token(
      config().email.token_secret,
      {templating::kUnsubscribeTokenKind, "school", "email", "Ann@Example.com", "marketing"});
  auto t = engine_->read_unsubscribe(token);
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  EXPECT_EQ(t->address, "ann@example.com");
  EXPECT_EQ(t->category, "marketing");
  const std::string forged = templating::seal_token(
      "another key, another key, another", {templating::kUnsubscribeTokenKind, "school", "email",
                                            "ann@example.com", "marketing"});
  EXPECT_FALSE(engine_->read_unsubscribe(forged).has_value());
  const std::string other_kind = templating::seal_token(
      config().email.token_secret, {"b1", "school", "01JF3K8Q2Z0000000000000000"});
  EXPECT_FALSE(engine_->read_unsubscribe(other_kind).has_value());

  std::promise<core::Result<UnsubscribeToken>> p;
  engine_->unsubscribe(token, "one-click",
                       [&p](core::Result<UnsubscribeToken> r) { p.set_value(std::move(r)); });
  ASSERT_TRUE(p.get_future().get().has_value());
  auto s = find("email", "ann@example.com", "marketing");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, core::SuppressionReason::kUnsubscribed);
  EXPECT_EQ(s->detail, "one-click");
  EXPECT_FALSE(find("email", "ann@example.com", "notifications"));
}

}  // namespace
}  // namespace engine
