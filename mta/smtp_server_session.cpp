// mta/smtp_server_session.cpp: one SMTP session, as one coroutine on the
// connection's strand (STYLE.md R6). The Session, in the coroutine's frame,
// owns the socket, the TLS stream, the input buffer and the transaction.
//
// Protocol state (what a command may do) lives in three facts: helo_ (set
// by EHLO/HELO, cleared by STARTTLS), auth_user_ (AUTH, only over TLS) and
// tx_ (MAIL opens a transaction; the answer to its end of data, RSET, EHLO
// or a failed BDAT closes it). Parsing is smtp_command.h's; deciding who
// may send is the AcceptancePolicy's, including which recipients are
// received (tx_.inbound_rcpt) rather than relayed (tx_.rcpt_to): the
// session only files each accepted recipient where the verdict says.
//
// Deadlines (STYLE.md R7), one per state:
//   command   command_timeout from the start of waiting for a command line
//             (and for each SASL response, TLS handshake, reply write)
//   data      data_timeout for one DATA content, from its 354 to the final
//             dot, and for each BDAT chunk
//   sink      data_timeout for the InjectSink to report the message durable
//   farewell  kFarewell for a last 421 on the way out
// On a command or data timeout the client gets "421 4.4.2" and is closed:
// a watchdog timer cancels the pending wait at the deadline rather than
// closing the socket, so that last reply can still be written (in TLS too).
//
// Pipelining (RFC 2920) is enforced in next_line(): replies are appended to
// out_ and written only when no complete command is left in the input
// buffer, i.e. just before the session would wait for the client. A group
// sent in one write is answered in one write, in order. The same rule holds
// inside DATA and BDAT, so a 354 is flushed before waiting for content.
// STARTTLS is the exception: what the client pipelined after it is thrown
// away unread (CVE-2011-0411), and the handshake starts from a clean buffer.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "core/log.h"
#include "mta/smtp_command.h"
#include "mta/smtp_server_session.h"

namespace mta::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Reads ask for this much room: small while commands come, large while
// content does (and the buffer is shrunk back after each message, so an
// idle connection holds little).
constexpr size_t kCommandRead = 4 * 1024;
constexpr size_t kContentRead = 64 * 1024;
// Protocol errors tolerated before hanging up (Postfix smtpd_hard_error_limit).
constexpr unsigned kMaxErrors = 20;
constexpr auto kFarewell = std::chrono::seconds(5);

}  // namespace

Session::Session(std::shared_ptr<Shared> shared, Connection& conn, tcp::socket socket)
    : shared_(std::move(shared)),
      cfg_(shared_->config),
      conn_(conn),
      socket_(std::move(socket)),
      watchdog_(socket_.get_executor()) {
  boost::system::error_code ec;
  address_ = normalize(socket_.remote_endpoint(ec).address());
  ip_ = address_.to_string();
  conn_.socket = &socket_;
}

Session::~Session() { conn_.socket = nullptr; }

asio::awaitable<void> run_session(std::shared_ptr<Shared> shared, Connection& conn,
                                  tcp::socket socket) {
  Session session(std::move(shared), conn, std::move(socket));
  co_await session.run();
}

// ---- I/O ----

// Both the watchdog and the socket's completions run on the strand, so
// the generation check is enough: an expiry that was already queued when
// its wait ended finds a newer generation and does nothing.
void Session::arm(SteadyTime deadline) {
  const uint64_t generation = ++armed_;
  timed_out_ = false;
  watchdog_.expires_at(deadline);
  watchdog_.async_wait([this, generation](boost::system::error_code ec) {
    if (ec || generation != armed_) return;
    timed_out_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  });
}

void Session::disarm() {
  ++armed_;
  watchdog_.cancel();
}

asio::awaitable<Read> Session::read_some(SteadyTime deadline, bool content) {
  auto buf = in_.prepare(content ? kContentRead : kCommandRead);
  boost::system::error_code ec;
  size_t n = 0;
  arm(deadline);
  if (tls_) {
    std::tie(ec, n) = co_await tls_->async_read_some(buf, kNoThrow);
  } else {
    std::tie(ec, n) = co_await socket_.async_read_some(buf, kNoThrow);
  }
  disarm();
  if (conn_.killed) co_return Read::kKilled;
  if (!ec) {
    in_.commit(n);
    co_return Read::kOk;
  }
  if (timed_out_) co_return Read::kTimeout;
  if (ec == asio::error::operation_aborted && shared_->stopping.load()) co_return Read::kStopping;
  co_return Read::kClosed;
}

asio::awaitable<bool> Session::flush(SteadyTime deadline) {
  if (out_.empty()) co_return true;
  boost::system::error_code ec;
  arm(deadline);
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(out_), kNoThrow);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(out_), kNoThrow);
  }
  disarm();
  out_.clear();
  co_return !ec && !conn_.killed;
}

// The next command line (without CRLF; a bare LF is tolerated in commands,
// where it cannot hide anything) into line_. Lines longer than
// kMaxAuthLine are skipped to their end and reported as kTooLong; shorter
// ones over a command's own limit are parse_command()'s to refuse.
asio::awaitable<Read> Session::next_line() {
  const SteadyTime deadline = after(cfg_.command_timeout);
  bool skipping = false;
  for (;;) {
    const std::string_view in = input();
    const size_t lf = in.find('\n');
    if (lf != std::string_view::npos) {
      if (skipping) {
        in_.consume(lf + 1);
        co_return Read::kTooLong;
      }
      const size_t len = lf > 0 && in[lf - 1] == '\r' ? lf - 1 : lf;
      line_.assign(in.data(), len);
      in_.consume(lf + 1);
      co_return Read::kOk;
    }
    if (in.size() > kMaxAuthLine) {
      in_.consume(in.size());
      skipping = true;
    }
    if (!co_await flush(deadline)) co_return conn_.killed ? Read::kKilled : Read::kClosed;
    // Checked on the strand right before waiting: stop() either finds us
    // idle (and cancels the read) or has already set `stopping`.
    if (!tx_.active && shared_->stopping.load()) co_return Read::kStopping;
    conn_.idle = !tx_.active;
    const Read r = co_await read_some(deadline);
    conn_.idle = false;
    if (r != Read::kOk) co_return r;
  }
}

asio::awaitable<void> Session::farewell(Read why) {
  if (why == Read::kTimeout) {
    reply(421, "4.4.2", shared_->hostname + " Error: timeout exceeded");
  } else if (why == Read::kStopping) {
    reply(421, "4.3.2", shared_->hostname + " Service shutting down, try again later");
  }
  co_await flush(after(kFarewell));
}

void Session::reply(uint16_t code, std::string_view enhanced, std::string_view text) {
  out_ += std::to_string(code);
  out_ += ' ';
  if (!enhanced.empty()) {
    out_ += enhanced;
    out_ += ' ';
  }
  out_ += text;
  out_ += "\r\n";
}

bool Session::protocol_error(uint16_t code, std::string_view enhanced, std::string_view text) {
  reply(code, enhanced, text);
  return count_error();
}

bool Session::count_error() {
  if (++errors_ < kMaxErrors) return true;
  reply(421, "4.7.0", shared_->hostname + " Error: too many errors");
  return false;
}

ClientInfo Session::client() const {
  ClientInfo c;
  c.address = address_;
  c.helo = helo_;
  c.auth_user = auth_user_;
  c.auth_tenant = auth_tenant_;
  c.tls = tls_.has_value();
  return c;
}

std::string Session::received() const {
  return received_header({helo_, address_, shared_->hostname, esmtp_, tls_.has_value(),
                          !auth_user_.empty(), tx_.smtputf8, shared_->clock.now()});
}

// ---- the session ----

asio::awaitable<void> Session::run() {
  boost::system::error_code ignored;
  // Command/reply traffic: no Nagle delay on the replies.
  socket_.set_option(tcp::no_delay(true), ignored);
  reply(220, "", shared_->hostname + " ESMTP vestnik");
  for (;;) {
    const Read r = co_await next_line();
    if (r == Read::kTooLong) {
      if (!protocol_error(500, "5.5.2", "Error: line too long")) break;
      continue;
    }
    if (r != Read::kOk) {
      co_await farewell(r);
      break;
    }
    if (!co_await handle_line()) break;
  }
  co_await flush(after(kFarewell));
  disarm();
  if (socket_.is_open()) {
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }
}

asio::awaitable<bool> Session::handle_line() {
  const ParsedCommand p = parse_command(line_, ParseContext{tx_.smtputf8});
  const Command& c = p.command;
  if (!p.ok()) {
    reply(p.error);
    // A BDAT whose size we cannot read leaves its chunk unread, and the
    // chunk's bytes must never be taken for commands.
    if (c.verb == Verb::kBdat) co_return false;
    co_return count_error();
  }
  if (shared_->stopping.load() && !tx_.active && c.verb != Verb::kQuit) {
    co_await farewell(Read::kStopping);
    co_return false;
  }
  switch (c.verb) {
    case Verb::kEhlo:
    case Verb::kHelo:
      ehlo(c, c.verb == Verb::kEhlo);
      co_return true;
    case Verb::kMail:
      if (helo_.empty()) co_return protocol_error(503, "5.5.1", "Error: send HELO/EHLO first");
      if (tx_.active) co_return protocol_error(503, "5.5.1", "Error: nested MAIL command");
      mail(c);
      co_return true;
    case Verb::kRcpt:
      if (!tx_.active) co_return protocol_error(503, "5.5.1", "Error: need MAIL command");
      if (tx_.bdat) co_return protocol_error(503, "5.5.1", "Error: RCPT after BDAT");
      co_return rcpt(c);
    case Verb::kData:
      if (!tx_.active) co_return protocol_error(503, "5.5.1", "Error: need MAIL command");
      if (tx_.bdat) co_return protocol_error(503, "5.5.1", "Error: DATA after BDAT");
      if (tx_.recipients() == 0) co_return protocol_error(554, "5.5.1", "Error: no valid recipients");
      {
        // GCC 12 miscompiles `co_return co_await` (see README.md).
        const bool go_on = co_await data();
        co_return go_on;
      }
    case Verb::kBdat:
      {
        const bool go_on = co_await bdat(c);
        co_return go_on;
      }
    case Verb::kRset:
      reset_transaction();
      reply(250, "2.0.0", "Ok");
      co_return true;
    case Verb::kNoop:
      reply(250, "2.0.0", "Ok");
      co_return true;
    case Verb::kQuit:
      reply(221, "2.0.0", "Bye");
      co_return false;
    case Verb::kVrfy:
      reply(252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery");
      co_return true;
    case Verb::kExpn:
      co_return protocol_error(502, "5.5.1", "Error: EXPN not supported");
    case Verb::kHelp:
      reply(214, "2.0.0",
            "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
      co_return true;
    case Verb::kStartTls:
      {
        const bool go_on = co_await starttls();
        co_return go_on;
      }
    case Verb::kAuth:
      {
        const bool go_on = co_await auth(c);
        co_return go_on;
      }
    case Verb::kForbidden:
      core::log::info("smtp non-SMTP command, disconnecting", {{"client", ip_}});
      reply(221, "2.7.0", "Error: this is an SMTP server, goodbye");
      co_return false;
    case Verb::kUnknown:
      break;
  }
  co_return protocol_error(500, "5.5.1", "Error: command not recognized");
}

void Session::ehlo(const Command& c, bool extended) {
  reset_transaction();
  helo_ = std::string(c.domain);
  esmtp_ = extended;
  if (!extended) {
    reply(250, "", shared_->hostname);
    return;
  }
  std::vector<std::string> caps;
  caps.push_back(shared_->hostname);
  if (cfg_.pipelining) caps.emplace_back("PIPELINING");
  caps.push_back("SIZE " + std::to_string(cfg_.max_message_bytes));
  caps.emplace_back("8BITMIME");
  caps.emplace_back("SMTPUTF8");
  caps.emplace_back("ENHANCEDSTATUSCODES");
  if (shared_->tls && !tls_) caps.emplace_back("STARTTLS");
  if (tls_ && shared_->policy->offers_auth()) caps.emplace_back("AUTH PLAIN LOGIN");
  if (cfg_.chunking) caps.emplace_back("CHUNKING");
  for (size_t i = 0; i < caps.size(); ++i) {
    out_ += i + 1 < caps.size() ? "250-" : "250 ";
    out_ += caps[i];
    out_ += "\r\n";
  }
}

void Session::mail(const Command& c) {
  if (c.size && *c.size > cfg_.max_message_bytes) {
    reply(552, "5.3.4", "Error: message size exceeds fixed limit");
    return;
  }
  const Verdict v = shared_->policy->mail(client(), c.path);
  if (!v.accepted()) {
    reply(v.code, v.enhanced, v.text);
    return;
  }
  tx_.active = true;
  tx_.mail_from = std::string(c.path);
  tx_.tenant = v.tenant;
  tx_.smtputf8 = c.smtputf8;
  tx_.eight_bit = c.body == BodyType::k8BitMime;
  reply(250, "2.1.0", "Ok");
}

// Relayed and inbound recipients share max_recipients: it bounds what one
// transaction makes us hold, whoever the recipients are. A recipient the
// policy refuses counts as a protocol error (as in Postfix, where every
// refused command does): now that anyone may open a transaction to reach
// the inbound addresses, this is what stops a stranger from probing
// recipient after recipient ("Relaying denied") on one connection.
bool Session::rcpt(const Command& c) {
  if (tx_.recipients() >= cfg_.max_recipients) {
    reply(452, "4.5.3", "Error: too many recipients");
    return true;
  }
  const Verdict v = shared_->policy->rcpt(client(), tx_.tenant, c.path);
  if (!v.accepted()) return protocol_error(v.code, v.enhanced, v.text);
  (v.inbound ? tx_.inbound_rcpt : tx_.rcpt_to).emplace_back(c.path);
  reply(250, "2.1.5", "Ok");
  return true;
}

}  // namespace mta::server
