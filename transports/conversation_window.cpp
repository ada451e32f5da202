// transports/conversation_window.cpp
#include "transports/conversation_window.h"

#include <iterator>

namespace transports {

ConversationWindows& ConversationWindows::whatsapp() {
  static ConversationWindows w;
  return w;
}

std::string ConversationWindows::key(std::string_view account, std::string_view user) {
  std::string k(account);
  k.push_back('\0');
  for (char c : user) {
    if (c >= '0' && c <= '9') k.push_back(c);
  }
  return k;
}

void ConversationWindows::note_inbound(std::string_view account, std::string_view user,
                                       core::TimePoint at) {
  std::string k = key(account, user);
  std::lock_guard lock(mu_);
  if (last_inbound_.size() >= kMaxEntries && !last_inbound_.contains(k)) {
    // Closed windows are worth nothing; if every window is open, drop
    // some anyway (their users get a template, which is always allowed).
    std::erase_if(last_inbound_, [at](const auto& kv) { return at - kv.second >= kWindow; });
    while (last_inbound_.size() >= kMaxEntries) last_inbound_.erase(last_inbound_.begin());
  }
  auto& slot = last_inbound_[std::move(k)];
  if (at > slot) slot = at;
}

bool ConversationWindows::open(std::string_view account, std::string_view user,
                               core::TimePoint now) const {
  const std::string k = key(account, user);
  std::lock_guard lock(mu_);
  const auto it = last_inbound_.find(k);
  return it != last_inbound_.end() && now - it->second < kWindow;
}

size_t ConversationWindows::size() const {
  std::lock_guard lock(mu_);
  return last_inbound_.size();
}

void ConversationWindows::TEST_clear() {
  std::lock_guard lock(mu_);
  last_inbound_.clear();
}

}  // namespace transports
