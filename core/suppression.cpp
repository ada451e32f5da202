// core/suppression.cpp
#include "core/suppression.h"

#include <algorithm>

#include "core/result.h"

namespace core {

std::string_view suppression_reason_name(SuppressionReason r) noexcept {
  switch (r) {
    case SuppressionReason::kUnsubscribed:
      return "unsubscribed";
    case SuppressionReason::kHardBounce:
      return "hard_bounce";
    case SuppressionReason::kComplaint:
      return "complaint";
    case SuppressionReason::kManual:
      return "manual";
  }
  return "unknown";
}

std::optional<SuppressionReason> parse_suppression_reason(std::string_view s) noexcept {
  for (SuppressionReason r : {SuppressionReason::kUnsubscribed, SuppressionReason::kHardBounce,
                              SuppressionReason::kComplaint, SuppressionReason::kManual}) {
    if (suppression_reason_name(r) == s) return r;
  }
  return std::nullopt;
}

namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string normalize_address(std::string_view channel, std::string_view address) {
  address = trim(address);
  std::string out;
  // A phone on "*" (every channel) is a phone too: "+380 67 ..." must match
  // the "+38067..." an SMS carries.
  const bool phone_like = channel == kAnyChannel && !address.empty() && address[0] == '+' &&
                          address.find('@') == std::string_view::npos;
  if (channel == "sms" || channel == "whatsapp" || phone_like) {
    // "+380 67 123-45-67" and "+380671234567" are one phone.
    out.reserve(address.size());
    for (char c : address) {
      if ((c >= '0' && c <= '9') || (c == '+' && out.empty())) out.push_back(c);
    }
    if (!out.empty()) return out;
    return std::string(address);  // not a phone at all: keep it as given
  }
  out.assign(address);
  if (channel == "email" || address.find('@') != std::string_view::npos) {
    // ASCII only: UTF-8 bytes of an internationalized address stay as is.
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
  }
  return out;
}

Status check_suppression_fields(std::string_view channel, std::string_view address,
                                std::string_view category) {
  if (channel != kAnyChannel && !parse_channel(channel))
    return invalid_argument("channel", "channel: must be email, telegram, viber, vk, whatsapp, sms or \"*\"");
  if (trim(address).empty()) return invalid_argument("address", "address: is required");
  if (address.size() > 320) return invalid_argument("address", "address: at most 320 bytes");
  if (std::any_of(address.begin(), address.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return invalid_argument("address", "address: must not contain control characters");
  if (category != kAnyCategory) {
    const bool ok = !category.empty() && category.size() <= 64 &&
                    std::all_of(category.begin(), category.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                             c == '.' || c == '-';
                    });
    if (!ok) return invalid_argument("category", "category: must match [a-z0-9_.-]{1,64} or be \"*\"");
  }
  return {};
}

}  // namespace core
