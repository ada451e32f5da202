// tests/engine/receipts_test.cpp: what a provider's block and unblock
// callbacks do to suppressions (engine/receipts.h subscription_feedback).
#include <gtest/gtest.h>

#include "engine/receipts.h"

namespace engine {
namespace {

namespace pv = transports::providers;
using Kind = queue::Feedback::Kind;

core::Config config_with_bot(std::vector<std::string> tenants) {
  core::Config c;
  core::TenantConfig a;
  a.id = "school";
  core::TenantConfig b;
  b.id = "shop";
  c.tenants = {a, b};
  core::ChannelAccount bot;
  bot.name = "school_bot";
  bot.tenants = std::move(tenants);
  c.telegram.accounts.push_back(bot);
  return c;
}

pv::Receipt receipt(pv::ReceiptKind kind, std::string recipient) {
  pv::Receipt r;
  r.channel = core::Channel::kTelegram;
  r.kind = kind;
  r.recipient = std::move(recipient);
  return r;
}

ProviderCallback callback(std::string account) {
  ProviderCallback cb;
  cb.channel = core::Channel::kTelegram;
  cb.account = std::move(account);
  return cb;
}

TEST(SubscriptionFeedback, ABlockSuppressesTheChatForTheBotsTenants) {
  const core::Config c = config_with_bot({"school"});
  const auto f = subscription_feedback(
      c, callback("school_bot"),
      {receipt(pv::ReceiptKind::kBlocked, "123456789"), receipt(pv::ReceiptKind::kDelivered, "")},
      core::from_unix_ms(1'000));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, Kind::kSuppress);
  EXPECT_EQ(f[0].suppression.tenant, "school");
  EXPECT_EQ(f[0].suppression.channel, "telegram");
  EXPECT_EQ(f[0].suppression.address, "123456789");
  EXPECT_EQ(f[0].suppression.category, "*");
  EXPECT_EQ(f[0].suppression.reason, core::SuppressionReason::kUnsubscribed);
  EXPECT_NE(f[0].suppression.detail.find("school_bot"), std::string::npos);
}

TEST(SubscriptionFeedback, AnUnblockRemovesOnlyWhatABlockPut) {
  const core::Config c = config_with_bot({});  // every tenant
  const auto f = subscription_feedback(c, callback("school_bot"),
                                       {receipt(pv::ReceiptKind::kUnblocked, "123456789")},
                                       core::from_unix_ms(1'000));
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].suppression.tenant, "school");
  EXPECT_EQ(f[1].suppression.tenant, "shop");
  for (const auto& x : f) {
    EXPECT_EQ(x.kind, Kind::kUnsuppress);
    EXPECT_TRUE(x.suppression.category.empty());  // every category
    ASSERT_TRUE(x.only_reason);
    EXPECT_EQ(*x.only_reason, core::SuppressionReason::kUnsubscribed);
  }
}

TEST(SubscriptionFeedback, NothingForUnknownAccountsOrWhenTurnedOff) {
  core::Config c = config_with_bot({"school"});
  EXPECT_TRUE(subscription_feedback(c, callback("other_bot"),
                                    {receipt(pv::ReceiptKind::kBlocked, "1")}, {})
                  .empty());
  c.bounces.suppress_blocked = false;
  EXPECT_TRUE(subscription_feedback(c, callback("school_bot"),
                                    {receipt(pv::ReceiptKind::kBlocked, "1")}, {})
                  .empty());
}

}  // namespace
}  // namespace engine
