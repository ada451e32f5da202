// mta/inject.h: where the SMTP listener hands the mail it accepts.
//
// The listener (smtp_server.h) knows nothing of the spool: it calls an
// InjectSink, which engine/ implements with the queue (ARCHITECTURE.md,
// "lower layers learn about higher ones only through interfaces they
// define"). The listener answers 250 to the final dot only after the sink
// reported the message durable.
//
// One message may carry two kinds of recipients (smtp_server.h):
//   - rcpt_to: relayed, from a trusted client of `tenant`; the sink queues
//     one outbound message per recipient;
//   - inbound_rcpt: our own bounce/feedback addresses (core::InboundConfig),
//     from any client; the sink stores ONE copy of the message for
//     processing (DSN, ARF, unsubscribe), whatever their number.
// A transaction of a trusted client may mix both; an untrusted client's
// has only inbound recipients.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/id.h"
#include "core/result.h"

namespace mta {

// One message accepted by the listener: the envelope and the content.
// At least one of rcpt_to and inbound_rcpt is not empty.
struct InjectedMessage {
  // From AUTH or the client network; empty when the client may not relay
  // (then rcpt_to is empty: only inbound recipients were accepted).
  std::string tenant;
  std::string mail_from;             // envelope sender; empty for the null path <>
  std::vector<std::string> rcpt_to;  // recipients to relay, as given (no <>); may be empty
  // Recipients accepted for the inbound role, as given (no <>), in RCPT
  // order; they are NOT in rcpt_to. May be empty.
  std::vector<std::string> inbound_rcpt;
  // The message as received: CRLF lines, dot-stuffing removed, without the
  // terminating "." line (or the BDAT chunks concatenated), preceded by the
  // Received header the listener added (RFC 5321 4.4).
  std::string data;
  // Session facts, for the Received header and logs.
  std::string client_ip;
  std::string helo;
  std::string auth_user;  // empty without AUTH
  bool tls = false;
  bool smtputf8 = false;    // MAIL FROM had SMTPUTF8
  bool eight_bit = false;   // MAIL FROM had BODY=8BITMIME
};

// The result of one injection, once everything is durable: one message id
// per rcpt_to entry, in rcpt_to order, followed by ONE id for the stored
// inbound copy when inbound_rcpt is not empty (so rcpt_to.size() + 1 ids
// then). The listener names the first id in its 250. An error answers
// the whole message (the client sends all of it again: SMTP delivery is
// at-least-once, so parts already stored may be stored twice). Errors
// decide the reply: kInvalidArgument -> 550 5.6.0 with the message (the client
// must not retry); anything else -> 451 4.3.0 (try again).
using InjectDone = std::function<void(core::Result<std::vector<core::Id>>)>;

class InjectSink {
 public:
  virtual ~InjectSink() = default;
  // Stores `message` durably and calls `done` exactly once, from any
  // thread. Must not block the calling thread. Thread-safe.
  virtual void inject(InjectedMessage message, InjectDone done) = 0;
};

}  // namespace mta
