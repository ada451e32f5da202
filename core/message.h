// core/message.h: the message vocabulary every module meets on.
//
// A MessageRequest is what a client asked for, already validated (api/).
// A MessageRecord is what the spool keeps about one message: the request plus
// its delivery state. Content is stored separately and referenced by
// content_id so that an announcement stores its template once (queue/).
// Enum values are persisted: never renumber them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/id.h"

namespace core {

enum class Channel : uint8_t {
  kEmail = 1,
  kTelegram = 2,
  kViber = 3,
  kVk = 4,
  kWhatsapp = 5,
  kSms = 6,
};
inline constexpr Channel kAllChannels[] = {Channel::kEmail, Channel::kTelegram, Channel::kViber,
                                           Channel::kVk,    Channel::kWhatsapp, Channel::kSms};
std::string_view channel_name(Channel c) noexcept;  // "email", "telegram", ...
std::optional<Channel> parse_channel(std::string_view s) noexcept;

// The marketplace's status vocabulary (ARCHITECTURE.md), kept exactly.
// Named MessageStatus, not Status: core::Status is the Result<void> alias of
// core/result.h, and both headers are included together everywhere.
enum class MessageStatus : uint8_t {
  kQueued = 1,
  kSending = 2,
  kDelivered = 3,
  kFailed = 4,
  kCancelled = 5,
  kForbidden = 6,
  kComplained = 7,
};
inline constexpr MessageStatus kAllStatuses[] = {
    MessageStatus::kQueued,    MessageStatus::kSending,   MessageStatus::kDelivered,
    MessageStatus::kFailed,    MessageStatus::kCancelled, MessageStatus::kForbidden,
    MessageStatus::kComplained};
std::string_view status_name(MessageStatus s) noexcept;  // "queued", ...
std::optional<MessageStatus> parse_status(std::string_view s) noexcept;
// delivered, failed, cancelled, forbidden, complained: no further delivery.
bool is_final(MessageStatus s) noexcept;

// Transactional mail (order paid, password reset) is never delayed by bulk.
enum class Priority : uint8_t {
  kTransactional = 1,
  kNormal = 2,
  kBulk = 3,
};
std::string_view priority_name(Priority p) noexcept;
std::optional<Priority> parse_priority(std::string_view s) noexcept;

struct Recipient {
  std::string email;  // addr-spec; the domain may be IDN (UTF-8)
  std::string name;   // display name (UTF-8, no CR/LF)
  std::string telegram_chat_id;
  std::string phone;  // E.164: +380671234567
  std::string vk_peer_id;
  std::string viber_id;
  std::string whatsapp;  // E.164

  // The address this recipient has on `c`, or empty.
  std::string_view address_for(Channel c) const noexcept;
};

struct Sender {
  std::string email;
  std::string name;
};

// What to render. Either a stored template (template_id and the version in
// force when the message was accepted, so that editing a template never
// changes a message already queued) or inline parts, which are templates
// too (rendered with the message's variables).
struct Content {
  std::string template_id;
  std::string subject;
  std::string html;
  std::string text;
  uint32_t template_version = 0;  // set with template_id
  std::string preheader;          // email: the inbox preview line
  std::string buttons_json;       // messengers: a JSON array of button rows; empty: none
  // Email injected over SMTP: the complete RFC 5322 message as received
  // (CRLF lines), sent as is. When set, every other part is empty and
  // nothing is rendered.
  std::string raw;
};

// A stored template as its author wrote it (PUT /v1/templates/{id}).
// Every text field is template source (docs/templates.md).
struct TemplateSource {
  std::optional<Channel> channel;  // the channel it is written for; none: any
  std::string subject;
  std::string html;
  std::string text;
  std::string preheader;
  std::string buttons_json;  // JSON array of button rows; texts and urls are templates
  bool strict = false;       // refuse a message whose variables miss a name without default
  std::string locale;        // "uk", "ru", "en"; empty: "uk"
  std::string time_zone;     // IANA zone for date filters; empty: "UTC"
};

// Per-message override of click or open tracking ([email] config decides
// per category when kDefault). Persisted: never renumber.
enum class Tracking : uint8_t {
  kDefault = 0,  // as the category's configuration says
  kOn = 1,
  kOff = 2,
};

struct Tag {
  std::string key;
  std::string value;
};

// A validated request to send one message (api/ validates; queue/ stores).
struct MessageRequest {
  std::string idempotency_key;    // empty: none
  std::vector<Channel> channels;  // preference order; never empty once validated
  Recipient to;
  Sender from;
  std::string category;  // subscription category; "notifications" by default
  Content content;
  std::string variables_json;  // a JSON object as compact text; "{}" when none
  std::optional<TimePoint> send_at;
  std::optional<TimePoint> expires_at;
  Priority priority = Priority::kNormal;
  std::vector<Tag> tags;
  Tracking track_clicks = Tracking::kDefault;  // email only
  Tracking track_opens = Tracking::kDefault;   // email only
};

// A reply from a receiving server or provider, as the transport saw it.
struct Reply {
  uint16_t code = 0;     // SMTP-style code (250, 451, 550) or provider HTTP/status code
  std::string enhanced;  // "5.1.1"; empty when the peer gave none
  std::string text;      // the peer's words, verbatim (CR/LF removed)
};

struct Bounce {
  std::string category;  // "bad-mailbox", "quota", "expired", ... (refined by #7)
  Reply reply;
};

// One change of status, kept per message.
struct Event {
  TimePoint at;
  MessageStatus status = MessageStatus::kQueued;
  std::string detail;    // reply text or reason; may be empty
  uint32_t attempt = 0;  // 1-based attempt this event belongs to; 0 if none
  std::optional<Channel> channel;
};

// What the spool keeps about one message.
struct MessageRecord {
  Id id;
  std::string tenant;
  Id content_id;           // key of the Content in the spool
  MessageRequest request;  // content part is empty here; see content_id
  TimePoint created_at;
  MessageStatus status = MessageStatus::kQueued;
  uint32_t attempts = 0;       // attempts made (results received)
  uint32_t channel_index = 0;  // index into request.channels in use now
  // Attempts made on earlier channels (channel fallback); the retry budget
  // counts record.attempts - channel_attempt_base.
  uint32_t channel_attempt_base = 0;
  std::string destination;     // ready-queue key given by the transport ("email:gmail.com")
  TimePoint due_at;            // next time the message may be tried
  uint64_t lease_gen = 0;      // bumped on every lease; results of older leases are ignored
  std::optional<TimePoint> lease_until;  // set while handed to a transport
  std::optional<Reply> last_reply;
  std::optional<Bounce> bounce;          // set when failed (or complained)
  std::optional<TimePoint> finished_at;  // set when the status became final
  uint32_t event_count = 0;              // number of events stored (next event's sequence number)
  // Delivered through a provider that reports later (Viber, WhatsApp,
  // Twilio, SMPP receipts): its id of the message, and the furthest
  // receipt applied (0 none, 1 delivered to the device, 2 read). Receipts
  // only move forward.
  std::string provider_ref;
  uint8_t receipt_state = 0;

  Channel channel() const noexcept { return request.channels.at(channel_index); }
};

}  // namespace core
