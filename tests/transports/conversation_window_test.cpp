// tests/transports/conversation_window_test.cpp: WhatsApp's 24-hour
// customer service window as the transport sees it.
#include "transports/conversation_window.h"

#include <gtest/gtest.h>

namespace transports {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

TEST(ConversationWindows, OpenForTwentyFourHoursAfterTheUsersLastMessage) {
  ConversationWindows w;
  const core::TimePoint t0 = core::from_unix_ms(1'800'000'000'000);
  EXPECT_FALSE(w.open("shop", "+380671234567", t0));
  w.note_inbound("shop", "380671234567", t0);
  EXPECT_TRUE(w.open("shop", "+380 67 123 45 67", t0 + minutes(1)));
  EXPECT_TRUE(w.open("shop", "+380671234567", t0 + hours(24) - minutes(1)));
  EXPECT_FALSE(w.open("shop", "+380671234567", t0 + hours(24)));
  // Per number of ours: another number has its own window.
  EXPECT_FALSE(w.open("school", "+380671234567", t0 + minutes(1)));
  // A later message extends it; an older one (late webhook) does not shorten it.
  w.note_inbound("shop", "+380671234567", t0 + hours(20));
  w.note_inbound("shop", "+380671234567", t0 + hours(1));
  EXPECT_TRUE(w.open("shop", "+380671234567", t0 + hours(43)));
  EXPECT_FALSE(w.open("shop", "+380671234567", t0 + hours(44)));
}

TEST(ConversationWindows, TheProcessWideMapIsOne) {
  ConversationWindows::whatsapp().TEST_clear();
  ConversationWindows::whatsapp().note_inbound("a", "+1", core::from_unix_ms(1));
  EXPECT_EQ(ConversationWindows::whatsapp().size(), 1u);
  ConversationWindows::whatsapp().TEST_clear();
  EXPECT_EQ(ConversationWindows::whatsapp().size(), 0u);
}

}  // namespace
}  // namespace transports
