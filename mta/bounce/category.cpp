// mta/bounce/category.cpp: category names and what each category means for
// the recipient. The names are persisted (accounting log, bounce records);
// the table below is their only spelling.
#include <array>

#include "mta/bounce/classify.h"

namespace mta::bounce {
namespace {

constexpr std::array<std::string_view, kCategoryCount> kNames = {
    "other",          "bad-mailbox",      "inactive-mailbox",    "bad-domain",
    "invalid-sender", "quota-issues",     "spam-related",        "policy-related",
    "content-related", "virus-related",   "auth-failed",         "routing-errors",
    "bad-connection", "no-answer-from-host", "dns-failure",      "relaying-issues",
    "bad-configuration", "message-expired", "protocol-errors",   "too-many-recipients",
    "throttled",
};

}  // namespace

std::string_view category_name(Category c) noexcept {
  const auto i = static_cast<size_t>(c);
  return i < kNames.size() ? kNames[i] : kNames[0];
}

std::optional<Category> parse_category(std::string_view name) noexcept {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Category>(i);
  }
  return std::nullopt;
}

Severity severity(Category c) noexcept {
  switch (c) {
    case Category::kBadMailbox:
    case Category::kBadDomain:
    case Category::kInactiveMailbox:
      return Severity::kHard;
    case Category::kQuotaIssues:
      return Severity::kSoft;
    default:
      return Severity::kNone;
  }
}

bool is_bounce(Category c) noexcept {
  return c != Category::kThrottled && c != Category::kTooManyRecipients;
}

}  // namespace mta::bounce
