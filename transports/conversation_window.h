// transports/conversation_window.h: WhatsApp's 24-hour customer service
// window (reference/channels.md): free-form messages reach a user only
// within 24 hours of the user's last message to our number; outside it
// only an approved template does (else error 131047).
//
// The engine notes every inbound message a WhatsApp webhook reports
// (engine/receipts.cpp); the WhatsApp transport asks before each send and
// sends the account's template at once when the window is closed, instead
// of a free-form attempt that would only come back as 131047. The 131047
// resend stays as the safety net (a window we believed open).
//
// Kept in memory, process-wide (one map shared by the engine and the
// transport, as one metrics registry is): after a restart every window
// looks closed until the user writes again, so the first message is a
// template — always deliverable, never lost. Bounded: at most kMaxEntries
// (user, number) pairs; windows already closed are dropped first.
// Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace transports {

class ConversationWindows {
 public:
  static constexpr core::Duration kWindow{24LL * 3600 * 1000};
  static constexpr size_t kMaxEntries = 1'000'000;

  // The process-wide windows of WhatsApp.
  static ConversationWindows& whatsapp();

  // `user` wrote to our number `account` at `at`. Phone numbers are
  // compared by their digits ("+380 67..." and "38067..." are one user).
  void note_inbound(std::string_view account, std::string_view user, core::TimePoint at);
  // Whether a free-form message to `user` from `account` is allowed at `now`.
  bool open(std::string_view account, std::string_view user, core::TimePoint now) const;
  size_t size() const;
  void TEST_clear();

 private:
  static std::string key(std::string_view account, std::string_view user);
  mutable std::mutex mu_;
  std::unordered_map<std::string, core::TimePoint> last_inbound_;  // GUARDED_BY(mu_)
};

}  // namespace transports
