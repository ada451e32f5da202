// engine/inject.h: mail injected over SMTP, into the spool.
//
// The Injector is engine/'s side of mta::InjectSink (mta/inject.h): the
// SMTP listener hands it every message it accepted, and it stores one
// message per recipient through the Engine, all sharing one stored copy of
// the data (queue::NewMessage::content_of), to be sent as is by the email
// transport (core::Content::raw). docs/api.md, "SMTP injection", is the
// user's view of the rules below.
//
// What inject() does, in order:
//  1. checks the envelope and the data: at least one recipient; every
//     recipient and a non-empty sender an address with a domain
//     (local@domain.tld; UTF-8 only with SMTPUTF8); the data not empty, no
//     NUL, within listener.max_message_bytes, with a header section of
//     well-formed fields (name ":" value, folded lines starting with
//     white space, CRLF line ends) closed by an empty line;
//  2. reads and removes the control headers (kControlHeaders): category,
//     campaign (stored as the tag "campaign"), priority, idempotency key;
//  3. keeps the data otherwise byte for byte: the Received trace header
//     (RFC 5321 4.4) is already first, put there by the listener as it
//     received the data (mta/smtp_server_received.cpp);
//  4. submits one request per distinct recipient (duplicates in RCPT TO
//     get the same message), channel email, from = the envelope sender,
//     to = the recipient; the first carries the data, the rest share it.
// Any problem found in 1-2 refuses the whole message with
// kInvalidArgument naming it, before anything is stored (the listener
// answers 550/554). A spool error refuses it with that error (451: the
// client tries again), and so does an empty tenant (kInternal: a listener
// bug, not the client's). The engine refusing a recipient after these checks
// passed cannot happen for a well-formed message; if it does, the whole
// message is answered with that error although other recipients may have
// been stored (SMTP after DATA has one answer for all recipients).
//
// The idempotency key applies per recipient: recipient r of a message
// with key k is stored with the key k + '\0' + r (domain in lower case),
// so that a client retrying after a lost 250 gets every recipient once.
//
// Thread-safety: inject() may be called from any thread concurrently; it
// never blocks (validation and copying on the caller's thread, the write
// by the spool's writer). `done` runs once: on the calling thread before
// inject() returns when the message is refused, else on the spool's
// writer thread once every recipient is durable (it must be short).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/message.h"
#include "core/result.h"
#include "engine/engine.h"
#include "mta/inject.h"

namespace engine {

inline constexpr std::string_view kCategoryHeader = "X-Vestnik-Category";
inline constexpr std::string_view kCampaignHeader = "X-Vestnik-Campaign";
inline constexpr std::string_view kPriorityHeader = "X-Vestnik-Priority";
inline constexpr std::string_view kIdempotencyHeader = "X-Vestnik-Idempotency-Key";
inline constexpr std::array<std::string_view, 4> kControlHeaders = {
    kCategoryHeader, kCampaignHeader, kPriorityHeader, kIdempotencyHeader};
inline constexpr std::string_view kInjectDefaultCategory = "notifications";

// What the control headers of one message asked for, and the message to
// store without them.
struct InjectedContent {
  std::string category{kInjectDefaultCategory};
  std::string campaign;  // empty: none
  core::Priority priority = core::Priority::kNormal;
  std::string idempotency_key;  // as given; empty: none
  std::string data;             // `trace`, then the data without the control headers
};

// Checks the data of an injected message (step 1 above, data part), reads
// and removes the control headers (step 2), and returns the message to
// store: `trace` (complete header lines, CRLF-ended, or empty) first, then
// the data without the control headers, everything else byte for byte.
// Pure; one copy of the data. Errors: kInvalidArgument with field "data"
// or the header's name, and a message that says what is wrong (and on
// which line of the header section).
core::Result<InjectedContent> parse_injected_data(std::string_view data, std::string_view trace);

// RFC 5321 path syntax, as the API checks addresses: a dot-string or
// quoted local part of at most 64 bytes, '@', a domain of at least two
// labels (letters, digits, hyphens; not all-numeric at the end; no address
// literal), at most 254 bytes in all. Non-ASCII (UTF-8, RFC 6531) only when
// `utf8` is true.
bool is_valid_injected_address(std::string_view address, bool utf8) noexcept;

class Injector final : public mta::InjectSink {
 public:
  // `engine` and `clock` must outlive the Injector. Reads
  // config->listener (max_message_bytes, max_recipients).
  Injector(Engine& engine, std::shared_ptr<const core::Config> config, const core::Clock& clock);

  // Recipients of the inbound role (inbound_rcpt) make one stored report
  // (Engine::receive_report), kept byte for byte; the relayed ones
  // (rcpt_to) follow the rules above. The ids: rcpt_to's, then the
  // report's (mta/inject.h).
  void inject(mta::InjectedMessage message, mta::InjectDone done) override;

 private:
  void receive(mta::InjectedMessage message, mta::InjectDone done);
  void relay(mta::InjectedMessage message, mta::InjectDone done);

  Engine& engine_;
  std::shared_ptr<const core::Config> config_;
  const core::Clock& clock_;
};

}  // namespace engine
