// transports/transport.h: one interface for every delivery channel.
//
// A Transport delivers batches of messages that share one destination (the
// key it computes with destination()), and reports one Outcome per message.
// It never calls the engine: results travel back only through the completion
// it was given. Email (SMTP + DKIM), Telegram, Viber, VK, WhatsApp and SMS
// each implement it; the sink transport answers by rule for load tests.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/message.h"
#include "core/result.h"
#include "templating/render.h"
#include "transports/shaping.h"

namespace transports {

enum class OutcomeKind : uint8_t {
  kDelivered = 1,  // accepted by the receiving server or provider
  kTransient = 2,  // try again later (4xx, timeouts, rate limits)
  kPermanent = 3,  // will never succeed on this channel (5xx, blocked)
};

// Where an attempt went, for the accounting log: one per connection or
// provider call, shared by the outcomes of the messages it carried.
struct PeerInfo {
  std::string host;       // MX host name or provider host ("gmail-smtp-in.l.google.com")
  std::string ip;         // the peer's address
  std::string source_ip;  // our local address
  std::string tls;        // "TLSv1.3"; empty: plain text
  std::string tls_cipher;
};

struct Outcome {
  OutcomeKind kind = OutcomeKind::kTransient;
  core::Reply reply;
  // True when the failure is about this message (its size, its recipient),
  // false when it is about the connection or the peer as a whole; the
  // engine backs off a destination only for the latter.
  bool blames_message = true;
  // The reply is about this recipient alone: an answer to its RCPT, a
  // provider's answer for one recipient, or the end-of-data reply of a
  // transaction with no other recipient. False for a refused MAIL FROM
  // and for an end-of-data reply shared by several recipients (mail.ru
  // refuses a whole transaction for one unknown user): such a reply fails
  // the message but suppresses nobody.
  bool recipient_specific = true;
  // The provider told us when to come back (Telegram retry_after, 421).
  std::optional<core::Duration> retry_after;
  // Where it went; null when the attempt never reached a peer (e.g. DNS).
  std::shared_ptr<const PeerInfo> peer;
  // Delivered through a provider that reports later (Viber, WhatsApp,
  // Twilio, SMPP receipts): its id of the message, kept with the message so
  // receipts find it. Empty otherwise.
  std::string provider_ref;
};

// Classifies an SMTP-style reply line: 2xx delivered, 4xx transient, 5xx
// permanent. "451 4.7.1 try later" -> {kTransient, {451, "4.7.1", "try later"}}.
// The code is RFC 5321's Reply-code ([2-5][0-5][0-9]) followed by the end,
// a space or '-' (a multi-line reply's continuation marker). The next word
// is taken as the enhanced code (RFC 3463) only if it has the form
// class.subject.detail (class one digit, then 1-3 digits each) and its class
// equals the code's first digit; otherwise it is part of the text. CR and LF
// are removed. A line that does not start with a Reply-code is transient
// with code 0 and the whole line as text; 3xx (not a final answer about a
// message) is transient too. 421 (service closing) blames the connection,
// not the message. Pure; never fails.
Outcome outcome_from_reply(std::string_view reply_line);

// The reply as one line, "451 4.7.1 try later" (parts left out when empty);
// the inverse of outcome_from_reply for well-formed replies. For event
// details and logs.
std::string reply_line(const core::Reply& reply);

// The ready-queue key used when a transport has no finer notion:
// "<channel>:<lowercased domain>" for email ("email:gmail.com"; ASCII
// letters are lowered, UTF-8 IDN bytes kept), "<channel>:default" for every
// other channel and for an email address without a domain.
std::string default_destination(core::Channel channel, std::string_view address);

// One message of a batch. The pointers stay valid until `done` is called.
struct Delivery {
  const core::MessageRecord* record = nullptr;
  const core::Content* content = nullptr;
  uint32_t attempt = 1;  // 1 for the first attempt
  // The content rendered for record->channel() by the engine (subject, HTML
  // and text for email; the channel's text and buttons for messengers).
  const templating::Rendered* rendered = nullptr;
  // The destination's connection limits (transports/shaping.h); the same
  // for every delivery of a batch; null: no throttle (tests, sinks).
  std::shared_ptr<ConnectionShaper> shaping;
};

using SendDone = std::function<void(std::vector<Outcome>)>;

// Thread-safety: send() may be called concurrently from any thread.
class Transport {
 public:
  virtual ~Transport() = default;

  virtual std::string_view name() const noexcept = 0;
  virtual bool serves(core::Channel channel) const noexcept = 0;

  // The ready-queue key for `record` on `channel`: "email:gmail.com",
  // "telegram:bot1". Pure; no I/O. Messages with one key share limits.
  virtual std::string destination(const core::MessageRecord& record,
                                  core::Channel channel) const = 0;

  // Whether the engine's throttles (rates, connection limits, backoff,
  // pauses) apply to this transport's destinations. The sink says no.
  virtual bool shaped() const noexcept { return true; }

  // The host name mail for `destination` goes to first (the best MX, or
  // the static route's host), lower case without the final dot, for
  // throttle rules that match by MX suffix; empty when there is none or it
  // is unknown. Calls `done` exactly once, from any thread; may look it up
  // (cached). Default: empty at once.
  virtual void first_hop(std::string_view destination, std::function<void(std::string)> done);

  // Delivers `batch` (all with one destination). Calls `done` exactly once,
  // from any thread, with one Outcome per delivery in batch order, within the
  // transport's own deadlines. Never throws.
  virtual void send(std::vector<Delivery> batch, SendDone done) = 0;
};

// Channel -> transport. Built once at startup from the config, then only
// read: find() is safe from any thread once add() calls are over.
class Registry {
 public:
  // REQUIRES: t is not null. When two transports serve one channel, the one
  // added first serves it.
  void add(std::shared_ptr<Transport> t);
  // The transport serving `c`, or nullptr. The pointer lives as long as the
  // Registry.
  Transport* find(core::Channel c) const noexcept;

 private:
  std::vector<std::shared_ptr<Transport>> all_;
};

// The sink: answers every message by the first matching rule (see
// core::SinkConfig); with latency > 0 answers after that delay using
// `schedule`, which runs a callback after a delay (e.g. a timer on the
// engine's executor); with latency 0 it answers inside send().
// Destinations follow default_destination(). Errors (kInvalidArgument,
// naming the key): a rule's regex does not compile, a reply does not start
// with a 2xx/4xx/5xx code, latency > 0 without a scheduler.
using Scheduler = std::function<void(core::Duration, std::function<void()>)>;
core::Result<std::shared_ptr<Transport>> make_sink_transport(const core::SinkConfig& config,
                                                             Scheduler schedule);

}  // namespace transports
