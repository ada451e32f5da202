// mta/smtp_client.h: one outbound SMTP session (RFC 5321) over TCP, with
// STARTTLS (RFC 3207), PIPELINING (RFC 2920), CHUNKING (RFC 3030), SIZE,
// 8BITMIME, SMTPUTF8 and DSN (RFC 3461: ENVID and ORCPT only) — the part
// of the MTA that talks to a peer.
//
// A session is opened to one host (trying its addresses in order), carries
// any number of transactions and is closed with QUIT. What to send where,
// how many sessions to run and what an answer means for a message is the
// email transport's business (transports/email.h); this module only speaks
// the protocol and reports every reply it got, per recipient.
//
// Model: C++20 coroutines on Boost.Asio (the API server uses the same).
// A session is used by one coroutine at a time; its executor must be a
// strand (the socket's timers fire on it). Every read and write has the
// deadline the configuration gives for that state (core::SmtpConfig,
// RFC 5321 §4.5.3.2 defaults); a deadline that passes closes the socket and
// the session reports a connection failure.
//
// Replies that did not come from the peer (connect refused, timeout, TLS
// failure) are reported with code 0 and an RFC 3463 enhanced code that says
// what happened (4.4.1 no answer, 4.4.2 connection lost, 4.7.10 TLS needed,
// 4.7.5 TLS failed), so callers classify them like any other reply.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/message.h"
#include "mta/reply.h"

namespace mta {

// Where to connect: one host (an MX or a route's host) and its addresses,
// tried in order.
struct Target {
  std::string host;  // for SNI, certificate checks and logs
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;
};

struct SessionOptions {
  std::string ehlo_name;
  core::TlsMode tls = core::TlsMode::kOpportunistic;
  // Contexts shared by every session: `opportunistic` checks nothing,
  // `verifying` checks the chain and the host name. Not null for modes
  // that may use them.
  boost::asio::ssl::context* opportunistic = nullptr;
  boost::asio::ssl::context* verifying = nullptr;
  std::optional<boost::asio::ip::address> source;  // bind before connect
  const core::SmtpConfig* config = nullptr;  // the timeouts; REQUIRED
};

// Facts about an open session, for logs and the accounting log.
struct SessionInfo {
  std::string host;
  std::string ip;
  std::string source_ip;
  std::string tls_version;  // empty: plain text
  std::string tls_cipher;
};

// Why a session could not be opened.
struct OpenFailure {
  core::Reply reply;        // the peer's reply, or code 0 with what happened
  bool tls_failed = false;  // the TLS handshake failed (plain text may be retried)
  bool refused = false;     // the peer answered the greeting or EHLO with 5xx
};

// One message to several recipients (the same bytes for each).
struct Transaction {
  std::string_view mail_from;           // without <>; empty: the null path
  std::span<const std::string> rcpt_to; // without <>; >= 1
  std::string_view data;                // CRLF lines, not dot-stuffed, no terminator
  bool eight_bit = false;               // send BODY=8BITMIME (when offered)
  bool smtputf8 = false;                // needs SMTPUTF8
  // RFC 3461 envelope id; empty: none. When the peer offers DSN, MAIL
  // carries ENVID=<xtext(envid)> (left out when it is not printable ASCII
  // or longer than 100 characters encoded) and each RCPT carries
  // ORCPT=rfc822;<xtext(recipient)> (left out for a recipient that is not
  // printable ASCII, e.g. an SMTPUTF8 one, or over 500 characters
  // encoded). NOTIFY and RET are never sent: the peer's defaults (failures
  // only, full message) are what the bounce processing wants. Without DSN
  // offered nothing of this is sent.
  std::string_view envid;
};

// Where in the transaction a recipient's fate was decided.
enum class Stage : uint8_t { kMail, kRcpt, kData, kDataEnd, kConnection };

struct RecipientResult {
  core::Reply reply;
  Stage stage = Stage::kDataEnd;
};

struct TransactionResult {
  std::vector<RecipientResult> recipients;  // one per rcpt_to, in order
  // The session is unusable now (I/O error, timeout, 421): recipients not
  // answered carry stage kConnection.
  bool connection_lost = false;
};

class SmtpSession {
 public:
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // Connects to the first endpoint of `target` that answers, reads the
  // greeting, says EHLO (HELO if EHLO is refused), and does STARTTLS as
  // options.tls says: kOpportunistic when offered (a failed handshake is
  // reported with tls_failed; retrying in plain text is the caller's
  // decision), kRequire always with the certificate verified for
  // target.host (not offered: failure 4.7.10), kDisabled never.
  // REQUIRES: the coroutine runs on `executor`, a strand.
  struct Opened {
    std::unique_ptr<SmtpSession> session;  // null on failure
    OpenFailure failure;
  };
  static boost::asio::awaitable<Opened> open(boost::asio::any_io_executor executor,
                                             const Target& target, const SessionOptions& options,
                                             bool allow_tls = true);

  // Runs one transaction: MAIL, RCPT for each recipient, then DATA (or
  // BDAT when CHUNKING is offered), pipelined when PIPELINING is offered.
  // Recipients refused at RCPT keep that reply; the others get the reply
  // to the end of data. With no recipient accepted no content is sent.
  // Messages larger than the peer's SIZE are refused locally with 552
  // 5.3.4; a message that needs SMTPUTF8 when the peer lacks it, with 553
  // 5.6.7. After a failed transaction the session is reset (RSET).
  // REQUIRES: !staged() (use send_pipelined and flush to pipeline).
  boost::asio::awaitable<TransactionResult> send(const Transaction& t);

  // Pipelining across transactions (RFC 2920 §3.1: message content may be
  // the first "command" of a group). When the peer offers PIPELINING but
  // not CHUNKING, and config.pipeline_messages is on, a transaction whose
  // DATA got 354 keeps its content staged instead of writing it at once;
  // the next send_pipelined writes that content and its own MAIL/RCPT/DATA
  // in one write, then reads the staged message's final reply before its
  // own. So a stream of messages costs one round trip each instead of two.
  // The caller must call send_pipelined again or flush() at once: the peer
  // is waiting for the content (its data timeout runs). Otherwise this is
  // send(): same replies, same classification.
  struct Sent {
    std::optional<TransactionResult> previous;  // the staged transaction, now decided
    std::optional<TransactionResult> current;   // empty: this one is staged now
  };
  boost::asio::awaitable<Sent> send_pipelined(const Transaction& t);
  // Writes the staged content, if any, and returns its transaction's result.
  boost::asio::awaitable<std::optional<TransactionResult>> flush();
  bool staged() const noexcept;

  // QUIT and close, within quit_timeout. Safe on a lost session.
  // REQUIRES: !staged() (a staged message would be dropped unanswered).
  boost::asio::awaitable<void> quit();
  // Closes the socket now (shutdown without QUIT).
  void close() noexcept;

  bool usable() const noexcept;
  const Capabilities& capabilities() const noexcept;
  const SessionInfo& info() const noexcept;
  uint32_t transactions() const noexcept;  // completed with a reply to the data

 private:
  class Impl;
  explicit SmtpSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Appends `data` to `out` dot-stuffed (RFC 5321 §4.5.2) with every line
// ended by CRLF (a bare CR or LF becomes CRLF: never let a lone one reach
// the wire), then the terminator ".\r\n". Pure.
void dot_stuff(std::string_view data, std::string* out);

// True when `s` has a byte >= 0x80.
bool has_8bit(std::string_view s) noexcept;

// RFC 3461 §4 xtext: every byte outside "!".."~", and '+' and '=', as
// "+XX" with upper-case hex; "a+b@example.com" -> "a+2Bb@example.com". Pure.
std::string xtext(std::string_view s);
// The DSN parameters as appended to MAIL and RCPT (with their leading
// space), or "" when the value may not be sent (see Transaction::envid):
// " ENVID=01J9...", " ORCPT=rfc822;a+2Bb@example.com". Pure.
std::string dsn_envid_param(std::string_view envid);
std::string dsn_orcpt_param(std::string_view recipient);

// A synthetic reply (code 0) for something that happened to us, not a
// peer's answer: "4.4.1", "connect to mx.example.com[192.0.2.1]:25: refused".
core::Reply local_reply(std::string enhanced, std::string text);

}  // namespace mta
