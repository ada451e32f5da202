// tests/core/message_test.cpp: core/message.cpp — names of persisted enums.
#include "core/message.h"

#include <gtest/gtest.h>

namespace core {
namespace {

TEST(MessageTest, ChannelNames) {
  const std::pair<Channel, std::string_view> want[] = {
      {Channel::kEmail, "email"}, {Channel::kTelegram, "telegram"}, {Channel::kViber, "viber"},
      {Channel::kVk, "vk"},       {Channel::kWhatsapp, "whatsapp"}, {Channel::kSms, "sms"}};
  for (const auto& [c, name] : want) {
    EXPECT_EQ(channel_name(c), name);
    EXPECT_EQ(parse_channel(name), c);
  }
  EXPECT_EQ(std::size(kAllChannels), std::size(want));
  EXPECT_FALSE(parse_channel("Email"));
  EXPECT_FALSE(parse_channel(""));
  EXPECT_EQ(channel_name(static_cast<Channel>(99)), "unknown");
}

TEST(MessageTest, StatusNamesAndFinality) {
  const std::tuple<MessageStatus, std::string_view, bool> want[] = {
      {MessageStatus::kQueued, "queued", false},
      {MessageStatus::kSending, "sending", false},
      {MessageStatus::kDelivered, "delivered", true},
      {MessageStatus::kFailed, "failed", true},
      {MessageStatus::kCancelled, "cancelled", true},
      {MessageStatus::kForbidden, "forbidden", true},
      {MessageStatus::kComplained, "complained", true}};
  for (const auto& [s, name, final] : want) {
    EXPECT_EQ(status_name(s), name);
    EXPECT_EQ(parse_status(name), s);
    EXPECT_EQ(is_final(s), final) << name;
  }
  EXPECT_EQ(std::size(kAllStatuses), std::size(want));
  EXPECT_FALSE(parse_status("canceled"));
}

TEST(MessageTest, PriorityNames) {
  for (auto [p, name] :
       {std::pair{Priority::kTransactional, "transactional"},
        std::pair{Priority::kNormal, "normal"}, std::pair{Priority::kBulk, "bulk"}}) {
    EXPECT_EQ(priority_name(p), name);
    EXPECT_EQ(parse_priority(name), p);
  }
  EXPECT_FALSE(parse_priority("urgent"));
}

TEST(MessageTest, AddressForEachChannel) {
  Recipient r;
  r.email = "ivan@example.com";
  r.telegram_chat_id = "123";
  r.viber_id = "v";
  r.vk_peer_id = "42";
  r.whatsapp = "+380671234567";
  r.phone = "+380500000000";
  EXPECT_EQ(r.address_for(Channel::kEmail), "ivan@example.com");
  EXPECT_EQ(r.address_for(Channel::kTelegram), "123");
  EXPECT_EQ(r.address_for(Channel::kViber), "v");
  EXPECT_EQ(r.address_for(Channel::kVk), "42");
  EXPECT_EQ(r.address_for(Channel::kWhatsapp), "+380671234567");
  EXPECT_EQ(r.address_for(Channel::kSms), "+380500000000");
  EXPECT_EQ(Recipient{}.address_for(Channel::kEmail), "");
}

}  // namespace
}  // namespace core
