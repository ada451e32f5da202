// core/suppression.h: who may not be sent to, and why (issue #7).
//
// A suppression names a tenant, a channel ("email", "telegram", ... or "*"
// for every channel), an address on it (normalized: normalize_address) and
// a subscription category ("marketing", "notifications", ... or "*" for
// every category). A message is forbidden when an entry matches its
// tenant, its channel (or "*"), its address and its category (or "*").
//
// Which category an entry gets follows from its reason (engine/, api/):
//   unsubscribed  the category unsubscribed from (one-click, mailto, API);
//                 a messenger block: "*" on that channel
//   hard_bounce   "*" on that channel: the address does not exist
//   complaint     "*" on that channel: someone who calls our mail spam gets
//                 no more of it, transactional mail included
//   manual        whatever the operator said
// So transactional mail ("notifications") is stopped by complaints and
// hard bounces but not by a marketing unsubscribe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/id.h"
#include "core/message.h"
#include "core/result.h"

namespace core {

// Persisted (spool records): never renumber.
enum class SuppressionReason : uint8_t {
  kUnsubscribed = 1,
  kHardBounce = 2,
  kComplaint = 3,
  kManual = 4,
};
std::string_view suppression_reason_name(SuppressionReason r) noexcept;  // "hard_bounce", ...
std::optional<SuppressionReason> parse_suppression_reason(std::string_view s) noexcept;

inline constexpr std::string_view kAnyCategory = "*";
inline constexpr std::string_view kAnyChannel = "*";

struct Suppression {
  std::string tenant;
  std::string channel;   // channel_name() or "*"
  std::string address;   // normalize_address()
  std::string category;  // a category or "*"
  SuppressionReason reason = SuppressionReason::kManual;
  TimePoint created_at{};
  std::string detail;                // "550 5.1.1 ... (DSN from mx.example.com)", "one-click"
  std::optional<Id> message_id;      // the message that caused it
};

// The form addresses are stored and compared in: email addresses in lower
// case (local part too: no provider we send to has case-sensitive
// mailboxes, and "Ivan@" and "ivan@" must not be two people); phone numbers
// (sms, whatsapp) as '+' and digits only; everything else trimmed of
// surrounding white space. `channel` is a channel name or "*".
std::string normalize_address(std::string_view channel, std::string_view address);

// Checks the fields of a suppression an operator gives (API, CLI): the
// channel is a channel name or "*", the address is not empty and has no
// control characters or '\0' (at most 320 bytes), the category is
// [a-z0-9._-]{1,64} (as the API accepts categories) or "*". Errors name
// the field.
Status check_suppression_fields(std::string_view channel, std::string_view address,
                                std::string_view category);

}  // namespace core
