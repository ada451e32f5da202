// templating/render.h: a message's content, compiled once, rendered for one
// channel; and the email it becomes.
//
// A CompiledContent is a stored template version or a message's inline
// content with every part compiled (subject, html, text, preheader, button
// texts and urls). It is immutable and shared: the engine caches one per
// template version, so an announcement to a million students compiles once
// and renders a million times.
//
// render() applies the channel's rules (docs/templates.md, "Channels"):
//   email     subject, HTML (escaped output), text (derived from the HTML when
//             the content has no text part), preheader
//   telegram  the Bot API HTML subset (from html, else escaped text), at most
//             4096 characters as Telegram counts them
//   sms       plain text (text, else derived from html), GSM-7 or UCS-2 and
//             its exact segment count; more than max_sms_segments refused
//   viber, vk, whatsapp  plain text plus buttons
// A render that cannot be sent on that channel (strict template with a
// missing variable, too long, empty, bad button) is an error naming the
// part: the engine fails the message on that channel (a permanent
// outcome), never sends something broken.
#pragma once

#include <boost/json/fwd.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/message.h"
#include "core/result.h"
#include "templating/channels.h"

namespace templating {

struct Rendered {
  core::Channel channel = core::Channel::kEmail;
  std::string subject;    // email
  std::string html;       // email: the HTML part; telegram: the text to send (HTML mode)
  std::string text;       // email: the text part; sms, viber, vk, whatsapp: the message
  std::string preheader;  // email
  ButtonRows buttons;     // messengers
  SmsInfo sms;            // sms
  std::vector<std::string> missing;   // variables used without a value or a default
  std::vector<std::string> warnings;  // e.g. a date filter given a non-date
};

struct RenderLimits {
  size_t max_sms_segments = 10;
};

class CompiledContent {
 public:
  // Compiles every part of `source`. Errors: kInvalidArgument with the part
  // as field ("html", "subject", "buttons[0][1].url") and the message
  // "line L, column C: reason"; a content with no part at all is refused
  // (field "content").
  static core::Result<std::shared_ptr<const CompiledContent>> compile(
      core::TemplateSource source);
  // Inline message content: not strict, locale and zone by default.
  static core::Result<std::shared_ptr<const CompiledContent>> compile(const core::Content& content);

  const core::TemplateSource& source() const noexcept { return source_; }
  bool strict() const noexcept { return source_.strict; }

  // Renders for `channel`. `vars` is the message's variables (an object;
  // anything else renders as if empty). `now` is what the date filter's
  // "now" means. Thread-safe.
  core::Result<Rendered> render(core::Channel channel, const boost::json::value& vars,
                                core::TimePoint now, const RenderLimits& limits = {}) const;
  // The same with the variables as JSON text ("{}" when none).
  core::Result<Rendered> render(core::Channel channel, std::string_view variables_json,
                                core::TimePoint now, const RenderLimits& limits = {}) const;

  ~CompiledContent();
  struct Parts;  // the compiled templates (render.cpp)

 private:
  CompiledContent();
  core::TemplateSource source_;
  std::unique_ptr<Parts> parts_;
};

// Turns a rendered email into the RFC 5322 message to send, following the
// [email] settings: Message-ID in message_id_domain (or the From domain),
// the trace header with the message id, Feedback-ID
// (campaign:category:tenant:sender, campaign from the "campaign" tag),
// List-Unsubscribe + List-Unsubscribe-Post for bulk categories (and bulk
// priority) with a token sealed with `token_key` naming tenant, channel,
// address and category, click and open tracking when enabled for the
// category. Appends to `out`. Errors: kInvalidArgument naming the field
// ("from.email", "to.email").
core::Status compose_email(const Rendered& rendered, const core::MessageRecord& record,
                           const core::EmailConfig& config, std::string_view token_key,
                           std::string& out);

// The HTML with click tracking (links through click_url + a token of
// "c1", tenant, message id, url; unsubscribe links left direct) and the open
// pixel (open_url + a token of "o1", tenant, message id) as the config asks
// for the message's category, or as the message itself asks
// (request.track_clicks / track_opens); unchanged when off (the default).
std::string apply_tracking(std::string_view html, const core::MessageRecord& record,
                           const core::EmailConfig& config, std::string_view token_key);

// True when `record` is bulk mail in the sense of RFC 8058 and the 2024
// Gmail/Yahoo rules: its category is one of config.bulk_categories, or its
// priority is bulk.
bool is_bulk(const core::MessageRecord& record, const core::EmailConfig& config);

// Token fields of a List-Unsubscribe link, in order (token.h).
inline constexpr std::string_view kUnsubscribeTokenKind = "u1";

}  // namespace templating
