// core/message.cpp: names of the persisted enums, as the API and logs spell them.
#include "core/message.h"

namespace core {
namespace {

// Looks `s` up in a table of (value, name) pairs; exact, case-sensitive
// match, because these names are API vocabulary.
template <class E, size_t N>
std::optional<E> find_by_name(const std::pair<E, std::string_view> (&table)[N],
                              std::string_view s) noexcept {
  for (const auto& [value, name] : table) {
    if (name == s) return value;
  }
  return std::nullopt;
}

constexpr std::pair<Channel, std::string_view> kChannelNames[] = {
    {Channel::kEmail, "email"}, {Channel::kTelegram, "telegram"}, {Channel::kViber, "viber"},
    {Channel::kVk, "vk"},       {Channel::kWhatsapp, "whatsapp"}, {Channel::kSms, "sms"},
};
constexpr std::pair<MessageStatus, std::string_view> kStatusNames[] = {
    {MessageStatus::kQueued, "queued"},         {MessageStatus::kSending, "sending"},
    {MessageStatus::kDelivered, "delivered"},   {MessageStatus::kFailed, "failed"},
    {MessageStatus::kCancelled, "cancelled"},   {MessageStatus::kForbidden, "forbidden"},
    {MessageStatus::kComplained, "complained"},
};
constexpr std::pair<Priority, std::string_view> kPriorityNames[] = {
    {Priority::kTransactional, "transactional"},
    {Priority::kNormal, "normal"},
    {Priority::kBulk, "bulk"},
};

template <class E, size_t N>
std::string_view name_of(const std::pair<E, std::string_view> (&table)[N], E v) noexcept {
  for (const auto& [value, name] : table) {
    if (value == v) return name;
  }
  return "unknown";  // a value from a newer build, read back from the spool
}

}  // namespace

std::string_view channel_name(Channel c) noexcept { return name_of(kChannelNames, c); }
std::optional<Channel> parse_channel(std::string_view s) noexcept {
  return find_by_name(kChannelNames, s);
}

std::string_view status_name(MessageStatus s) noexcept { return name_of(kStatusNames, s); }
std::optional<MessageStatus> parse_status(std::string_view s) noexcept {
  return find_by_name(kStatusNames, s);
}

bool is_final(MessageStatus s) noexcept {
  // complained is final too: it comes after delivered and nothing is resent.
  return s != MessageStatus::kQueued && s != MessageStatus::kSending;
}

std::string_view priority_name(Priority p) noexcept { return name_of(kPriorityNames, p); }
std::optional<Priority> parse_priority(std::string_view s) noexcept {
  return find_by_name(kPriorityNames, s);
}

std::string_view Recipient::address_for(Channel c) const noexcept {
  switch (c) {
    case Channel::kEmail:
      return email;
    case Channel::kTelegram:
      return telegram_chat_id;
    case Channel::kViber:
      return viber_id;
    case Channel::kVk:
      return vk_peer_id;
    case Channel::kWhatsapp:
      return whatsapp;
    case Channel::kSms:
      return phone;
  }
  return {};
}

}  // namespace core
