// tests/engine/router_test.cpp: channel choice and destination of a new
// message (engine/router.cpp).
#include "engine/router.h"

#include <gtest/gtest.h>

namespace engine {
namespace {

class KeyedTransport final : public transports::Transport {
 public:
  std::string_view name() const noexcept override { return "keyed"; }
  bool serves(core::Channel c) const noexcept override { return c == core::Channel::kTelegram; }
  std::string destination(const core::MessageRecord& r, core::Channel) const override {
    return "telegram:bot-for-" + r.request.category;
  }
  void send(std::vector<transports::Delivery> b, transports::SendDone done) override {
    done(std::vector<transports::Outcome>(b.size()));
  }
};

core::MessageRequest request(std::vector<core::Channel> channels) {
  core::MessageRequest r;
  r.channels = std::move(channels);
  r.category = "news";
  r.content.html = "<p>kept</p>";
  return r;
}

TEST(Route, FirstChannelWithAnAddress) {
  transports::Registry reg;
  auto r = request({core::Channel::kTelegram, core::Channel::kEmail});
  r.to.email = "Ann@Example.ORG";
  auto route_r = route(r, reg);
  ASSERT_TRUE(route_r.has_value());
  EXPECT_EQ(route_r->channel_index, 1u);
  EXPECT_EQ(route_r->destination, "email:example.org");  // no transport: default key
}

TEST(Route, DestinationFromTheServingTransport) {
  transports::Registry reg;
  reg.add(std::make_shared<KeyedTransport>());
  auto r = request({core::Channel::kTelegram, core::Channel::kEmail});
  r.to.email = "a@example.org";
  r.to.telegram_chat_id = "42";
  auto route_r = route(r, reg);
  ASSERT_TRUE(route_r.has_value());
  EXPECT_EQ(route_r->channel_index, 0u);
  EXPECT_EQ(route_r->destination, "telegram:bot-for-news");
  // The request was only lent to the transport.
  EXPECT_EQ(r.content.html, "<p>kept</p>");
  EXPECT_EQ(r.to.telegram_chat_id, "42");
}

TEST(Route, NonEmailWithoutTransportWaitsOnDefault) {
  transports::Registry reg;
  auto r = request({core::Channel::kSms});
  r.to.phone = "+380671234567";
  auto route_r = route(r, reg);
  ASSERT_TRUE(route_r.has_value());
  EXPECT_EQ(route_r->destination, "sms:default");
}

TEST(Route, NoAddressOnAnyChannelNamesChannels) {
  transports::Registry reg;
  auto r = request({core::Channel::kTelegram, core::Channel::kSms});
  r.to.email = "a@example.org";
  auto route_r = route(r, reg);
  ASSERT_FALSE(route_r.has_value());
  EXPECT_EQ(route_r.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(route_r.error().field, "channels");
}

}  // namespace
}  // namespace engine
