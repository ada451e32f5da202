// mta/inject.h: where the SMTP listener hands the mail it accepts.
//
// The listener (smtp_server.h) knows nothing of the spool: it calls an
// InjectSink, which engine/ implements with the queue (ARCHITECTURE.md,
// "lower layers learn about higher ones only through interfaces they
// define"). The listener answers 250 to the final dot only after the sink
// reported the message durable.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/id.h"
#include "core/result.h"

namespace mta {

// One message accepted by the listener: the envelope and the content.
struct InjectedMessage {
  std::string tenant;                // from AUTH or the client network
  std::string mail_from;             // envelope sender; empty for the null path <>
  std::vector<std::string> rcpt_to;  // envelope recipients, as given (no <>), >= 1
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

// The result of one injection: one message id per recipient, in rcpt_to
// order, once every one of them is durable. Errors decide the reply:
// kInvalidArgument -> 550/554 with the message (the client must not retry);
// anything else -> 451 4.3.0 (try again).
using InjectDone = std::function<void(core::Result<std::vector<core::Id>>)>;

class InjectSink {
 public:
  virtual ~InjectSink() = default;
  // Stores `message` durably and calls `done` exactly once, from any
  // thread. Must not block the calling thread. Thread-safe.
  virtual void inject(InjectedMessage message, InjectDone done) = 0;
};

}  // namespace mta
