// mta/smtp_server_session.h: what the listener (smtp_server.cpp) and the
// session (smtp_server_session*.cpp) share. Private to mta/'s listener;
// the public header is smtp_server.h.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "mta/inject.h"
#include "mta/smtp_command.h"
#include "mta/smtp_server.h"

namespace mta::server {

// Everything a session reads. Immutable once start() made it, except
// `stopping`, which stop() sets once.
struct Shared {
  Shared(const core::ListenerConfig& c, InjectSink& s, const core::Clock& k)
      : config(c), sink(s), clock(k) {}
  const core::ListenerConfig config;
  std::string hostname;  // banner, EHLO, Received
  InjectSink& sink;
  const core::Clock& clock;
  std::shared_ptr<const AcceptancePolicy> policy;
  std::unique_ptr<boost::asio::ssl::context> tls;  // null: no STARTTLS
  std::atomic<bool> stopping{false};
};

// One live session as the listener sees it. `id`, `strand` and `ip` are
// set before the session starts and never change; `socket`, `idle` and
// `killed` belong to the strand: only code running there touches them
// (the session, and the closures stop() posts).
struct Connection {
  uint64_t id = 0;
  boost::asio::any_io_executor strand;
  std::string ip;  // the per-IP limit's key
  boost::asio::ip::tcp::socket* socket = nullptr;
  bool idle = false;    // waiting for a command outside a transaction
  bool killed = false;  // stop()'s grace ran out: end without a word
};

// The SMTP dialogue on `socket`, from the banner to QUIT, an error, a
// timeout or stop(). Runs on conn.strand. `conn` outlives the call.
boost::asio::awaitable<void> run_session(std::shared_ptr<Shared> shared, Connection& conn,
                                         boost::asio::ip::tcp::socket socket);

// The client's address as policies and limits see it: IPv4-mapped IPv6
// (a dual-stack listener) as plain IPv4.
boost::asio::ip::address normalize(const boost::asio::ip::address& a);

// The trace header (RFC 5321 4.4, protocol names per RFC 3848) put on top
// of each accepted message, folded, ending in CRLF:
//   Received: from client.example ([192.0.2.1])
//   	by mx.example (vestnik) with ESMTPSA;
//   	Tue, 24 Nov 2026 09:00:00 +0000
// Characters of `helo` that could break the header become '?'.
struct ReceivedFacts {
  std::string_view helo;
  boost::asio::ip::address address;
  std::string_view hostname;
  bool esmtp = false;
  bool tls = false;
  bool auth = false;
  bool smtputf8 = false;  // the transaction's MAIL FROM had SMTPUTF8
  core::TimePoint when;
};
std::string received_header(const ReceivedFacts& facts);

// RFC 5322 date-time in UTC: "Tue, 24 Nov 2026 09:00:00 +0000".
std::string rfc5322_date(core::TimePoint t);

// Awaits sink.inject() from the session's strand: the completion (from any
// thread) is posted back to the strand. nullopt if the sink did not answer
// within `deadline`; its late answer is then dropped (the message may
// still be stored: the client retries, SMTP is at-least-once). A plain
// function, not a coroutine (GCC 12 and init-captures in co_await).
using InjectResult = core::Result<std::vector<core::Id>>;
boost::asio::awaitable<std::optional<InjectResult>> await_inject(InjectSink& sink,
                                                                 InjectedMessage message,
                                                                 core::Duration deadline);

using SteadyTime = std::chrono::steady_clock::time_point;
inline SteadyTime after(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }

// How waiting for the client ended.
enum class Read : uint8_t {
  kOk,
  kTooLong,   // a line over kMaxAuthLine was skipped up to its LF
  kClosed,    // the peer closed, or an I/O error
  kTimeout,   // the state's deadline passed: 421 4.4.2
  kStopping,  // stop(): 421 4.3.2
  kKilled,    // stop()'s grace ran out: close without a word
};

// One session (see smtp_server_session.cpp for the model). Lives in the
// frame of run_session(); all of it runs on the connection's strand.
class Session {
 public:
  Session(std::shared_ptr<Shared> shared, Connection& conn, boost::asio::ip::tcp::socket socket);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  boost::asio::awaitable<void> run();

 private:
  struct Transaction {
    bool active = false;
    std::string mail_from;
    std::string tenant;  // empty: the client may not relay
    std::vector<std::string> rcpt_to;       // to relay
    std::vector<std::string> inbound_rcpt;  // received for processing
    bool smtputf8 = false;
    bool eight_bit = false;
    bool bdat = false;  // a BDAT chunk was taken: DATA is refused
    uint64_t bdat_bytes = 0;
    LineEndingCheck bdat_endings;
    std::string data;

    size_t recipients() const noexcept { return rcpt_to.size() + inbound_rcpt.size(); }
  };

  // I/O (smtp_server_session.cpp). Every wait on the socket runs between
  // arm() and disarm(): the watchdog cancels the socket at the deadline
  // (rather than closing it), so a 421 can still be written afterwards.
  void arm(SteadyTime deadline);
  void disarm();
  // One read into in_; `content` reads in larger pieces (DATA, BDAT).
  boost::asio::awaitable<Read> read_some(SteadyTime deadline, bool content = false);
  boost::asio::awaitable<bool> flush(SteadyTime deadline);
  boost::asio::awaitable<Read> next_line();
  boost::asio::awaitable<void> farewell(Read why);
  // Commands; false ends the session.
  boost::asio::awaitable<bool> handle_line();
  void ehlo(const Command& c, bool extended);
  void mail(const Command& c);
  bool rcpt(const Command& c);  // false: too many errors, end the session
  // smtp_server_session_data.cpp
  boost::asio::awaitable<bool> data();
  boost::asio::awaitable<bool> bdat(const Command& c);
  boost::asio::awaitable<void> deliver();
  // smtp_server_session_tls.cpp
  boost::asio::awaitable<bool> starttls();
  boost::asio::awaitable<bool> auth(const Command& c);
  enum class Sasl : uint8_t { kGot, kFailed, kEnd };
  boost::asio::awaitable<Sasl> sasl_step(std::string_view challenge, const std::string* initial,
                                         std::string* text);

  void reply(uint16_t code, std::string_view enhanced, std::string_view text);
  void reply(const Reply& r) { reply(r.code, r.enhanced, r.text); }
  // A protocol error: replies, counts, and returns false once the client
  // has made too many (after a 421).
  bool protocol_error(uint16_t code, std::string_view enhanced, std::string_view text);
  bool count_error();
  void reset_transaction() { tx_ = Transaction{}; }
  ClientInfo client() const;
  std::string received() const;
  std::string_view input() const {
    return {static_cast<const char*>(in_.data().data()), in_.size()};
  }

  std::shared_ptr<Shared> shared_;
  const core::ListenerConfig& cfg_;
  Connection& conn_;
  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer watchdog_;
  uint64_t armed_ = 0;      // generation of the current arm(); stale expiries are ignored
  bool timed_out_ = false;  // the watchdog cancelled the current wait
  boost::beast::flat_buffer in_;
  std::string out_;   // replies not yet written
  std::string line_;  // the command line being handled (Commands view it)
  boost::asio::ip::address address_;
  std::string ip_;
  std::string helo_;
  bool esmtp_ = false;
  std::string auth_user_;
  std::string auth_tenant_;
  unsigned errors_ = 0;
  unsigned auth_failures_ = 0;
  Transaction tx_;
};

}  // namespace mta::server
