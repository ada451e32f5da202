// engine/suppress.cpp: the suppression policy (suppress.h).
#include "engine/suppress.h"

#include "core/log.h"
#include "core/time_format.h"
#include "mta/bounce/classify.h"
#include "templating/render.h"
#include "templating/token.h"
#include "transports/transport.h"

namespace engine {

core::Suppression suppression_of(const core::MessageRecord& record, core::Channel channel,
                                 std::string_view category, core::SuppressionReason reason,
                                 std::string detail, core::TimePoint now) {
  core::Suppression s;
  s.tenant = record.tenant;
  s.channel = std::string(core::channel_name(channel));
  s.address = core::normalize_address(s.channel, record.request.to.address_for(channel));
  s.category = std::string(category);
  s.reason = reason;
  s.created_at = now;
  s.detail = std::move(detail);
  s.message_id = record.id;
  return s;
}

std::optional<queue::Feedback> suppression_for_refusal(const core::MessageRecord& record,
                                                       core::Channel channel,
                                                       const core::Reply& reply,
                                                       std::string_view category,
                                                       const core::BouncesConfig& config,
                                                       core::TimePoint now) {
  if (record.request.to.address_for(channel).empty()) return std::nullopt;
  const std::string line = transports::reply_line(reply);
  queue::Feedback f;
  f.kind = queue::Feedback::Kind::kSuppress;
  if (channel != core::Channel::kEmail) {
    // The providers' answers are mapped onto two codes that mean the
    // recipient (codec.h); everything else is about us or the message.
    if (reply.enhanced == "5.7.1") {
      if (!config.suppress_blocked) return std::nullopt;
      f.suppression = suppression_of(record, channel, core::kAnyCategory,
                                     core::SuppressionReason::kUnsubscribed, line, now);
      return f;
    }
    if (reply.enhanced == "5.1.1") {
      f.suppression = suppression_of(record, channel, core::kAnyCategory,
                                     core::SuppressionReason::kHardBounce, line, now);
      return f;
    }
    return std::nullopt;
  }
  const auto parsed = mta::bounce::parse_category(category);
  if (!parsed) return std::nullopt;
  switch (mta::bounce::severity(*parsed)) {
    case mta::bounce::Severity::kNone:
      return std::nullopt;
    case mta::bounce::Severity::kSoft:
      f.kind = queue::Feedback::Kind::kSoftBounce;
      f.soft_limit = config.soft_limit;
      f.soft_window = config.soft_window;
      f.suppression = suppression_of(
          record, channel, core::kAnyCategory, core::SuppressionReason::kHardBounce,
          std::string(category) + " " + std::to_string(config.soft_limit) + " times: " + line, now);
      return f;
    case mta::bounce::Severity::kHard:
      f.suppression = suppression_of(record, channel, core::kAnyCategory,
                                     core::SuppressionReason::kHardBounce,
                                     std::string(category) + ": " + line, now);
      return f;
  }
  return std::nullopt;
}

std::optional<std::string> forbidden_reason(const queue::Spool& spool, std::string_view tenant,
                                            const core::MessageRequest& request,
                                            core::Channel channel) {
  if (!spool.any_suppressions()) return std::nullopt;
  const std::string_view name = core::channel_name(channel);
  const std::string address = core::normalize_address(name, request.to.address_for(channel));
  auto found = spool.find_suppression(tenant, name, address, request.category);
  if (!found) {
    core::log::error("suppression lookup failed; sending anyway",
                     {{"tenant", tenant}, {"channel", name}, {"error", found.error().to_string()}});
    return std::nullopt;
  }
  if (!*found) return std::nullopt;
  const core::Suppression& s = **found;
  std::string why = "suppressed on ";
  why += s.channel == core::kAnyChannel ? std::string_view("every channel") : std::string_view(s.channel);
  why += ": ";
  why += core::suppression_reason_name(s.reason);
  why += s.category == core::kAnyCategory ? std::string(" (every category)")
                                          : " from " + s.category;
  why += " since ";
  why += core::format_rfc3339(s.created_at);
  if (!s.detail.empty()) {
    why += " (";
    why += s.detail;
    why += ')';
  }
  return why;
}

ForbiddenCheck forbidden_check(const queue::Spool& spool, std::string tenant) {
  return [&spool, tenant = std::move(tenant)](const core::MessageRequest& request,
                                              core::Channel channel) {
    return forbidden_reason(spool, tenant, request, channel);
  };
}

core::Result<UnsubscribeToken> open_unsubscribe_token(std::string_view key,
                                                      std::string_view token) {
  auto fields = templating::open_token(key, token);
  if (!fields) return fields.error();
  if (fields->size() != 5 || (*fields)[0] != templating::kUnsubscribeTokenKind ||
      (*fields)[1].empty() || (*fields)[3].empty()) {
    return core::invalid_argument("token", "token: not an unsubscribe link");
  }
  UnsubscribeToken t;
  t.tenant = std::move((*fields)[1]);
  t.channel = std::move((*fields)[2]);
  if (t.channel.empty()) t.channel = "email";
  t.address = core::normalize_address(t.channel, (*fields)[3]);
  t.category = (*fields)[4].empty() ? std::string(core::kAnyCategory) : std::move((*fields)[4]);
  if (auto st = core::check_suppression_fields(t.channel, t.address, t.category); !st) {
    return core::invalid_argument("token", "token: " + st.error().message);
  }
  return t;
}

}  // namespace engine
