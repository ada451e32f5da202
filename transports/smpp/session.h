// transports/smpp/session.h: one SMPP 3.4 transceiver bind to one SMSC,
// kept up for the life of the session.
//
// The session connects, binds as a transceiver, and then carries submit_sm
// requests with at most `window` of them unanswered at a time (matched by
// sequence_number) and at most `tps` started per second. It answers the
// SMSC's enquire_link, deliver_sm (deliver_sm_resp with message_id "", the
// deliver_sm handed to the DeliverHandler) and unknown requests
// (generic_nack), and sends its own enquire_link every
// enquire_link_interval. When the connection breaks (I/O error, an
// enquire_link or write past its deadline, the SMSC's unbind) it reconnects
// and rebinds with exponential backoff (reconnect_min doubling up to
// reconnect_max, reset after a successful bind).
//
// Throttling: ESME_RTHROTTLED (0x58) and ESME_RMSGQFUL (0x14) pause all
// submits (throttle_pause, doubling up to throttle_pause_max while they
// keep coming), halve the rate (not below a tenth of tps, or 1/s), and
// put the refused request back at the head of the queue, up to
// throttle_retries times: a refused submit was not accepted, so sending it
// again cannot duplicate it. Each accepted submit then raises the rate by
// a twentieth of tps until it is back at tps. With tps 0 (no cap) only the
// pause applies: there is no rate to lower.
//
// What a submit can end as (SubmitResult::kind):
//   kResponse    the SMSC answered: command_status (0 = accepted, with
//                message_id); the status of the last try after throttling.
//   kNoResponse  sent, but no answer within response_timeout, or the
//                connection broke first: the SMSC may or may not have it
//                (SMPP has no idempotency key; resending may duplicate).
//   kNotSent     never written: not connected within queue_timeout, the
//                connect or bind failed (command_status is the bind's
//                status when the SMSC refused it, else 0), or stopping.
//
// Deadlines: connect, bind and every write have their own; every request
// has response_timeout; a queued submit waits at most queue_timeout; reads
// have none of their own, but a dead peer misses the next enquire_link's
// deadline and the connection is closed. So every submit's done is called
// within queue_timeout + response_timeout (plus one write deadline).
//
// Threading: everything runs on a strand of the executor given to
// create(); submit() and stop() may be called from any thread. SubmitDone
// and DeliverHandler are called on that strand, never inline in submit().
// The session keeps itself alive while its coroutines run; stop() ends them
// (unbind, close), and `stopped` is called when both have returned.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "transports/smpp/pdu.h"
#include "transports/transport.h"

namespace transports::smpp {

using Millis = std::chrono::milliseconds;

// The session's settings. Defaults suit a typical SMSC account.
struct SessionOptions {
  // ---- behaviour
  std::string host = "127.0.0.1";  // name or address of the SMSC
  uint16_t port = 2775;
  std::string system_id;    // max 15 octets
  std::string password;     // max 8 octets
  std::string system_type;  // max 12 octets; often ""
  uint8_t addr_ton = 0;     // bind's address range, usually unused
  uint8_t addr_npi = 0;
  std::string address_range;

  // ---- performance and deadlines
  uint32_t window = 10;     // unanswered submit_sm at a time (>= 1)
  double tps = 50;          // submit_sm started per second; 0: no cap
  Millis connect_timeout{10'000};  // resolve + TCP connect
  Millis bind_timeout{10'000};     // bind_transceiver -> resp
  Millis response_timeout{10'000}; // any request -> its response
  Millis write_timeout{10'000};    // one write of queued PDUs
  Millis enquire_link_interval{30'000};
  Millis reconnect_min{1'000};
  Millis reconnect_max{60'000};
  Millis throttle_pause{1'000};
  Millis throttle_pause_max{16'000};
  uint32_t throttle_retries = 3;   // resubmits of a throttled request
  Millis queue_timeout{30'000};    // a submit waiting for a bind
  size_t max_queue = 100'000;      // submits queued beyond that: kNotSent at once
};

struct SubmitResult {
  enum class Kind : uint8_t { kResponse, kNoResponse, kNotSent };
  Kind kind = Kind::kNotSent;
  uint32_t command_status = 0;
  std::string message_id;  // kResponse with status 0
  std::string detail;      // why, for kNoResponse / kNotSent ("connection lost")
  // The connection it went over (null for kNotSent).
  std::shared_ptr<const PeerInfo> peer;
};

// Counters for tests and metrics; read with relaxed loads from any thread.
struct SessionStats {
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> binds{0};         // successful binds
  std::atomic<uint64_t> bind_failures{0}; // refused or timed out binds and connects
  std::atomic<uint64_t> submits{0};       // submit_sm written (a resubmit counts again)
  std::atomic<uint64_t> throttled{0};     // 0x58 / 0x14 answers
  std::atomic<uint64_t> enquire_links_sent{0};
  std::atomic<uint64_t> enquire_links_answered{0};  // the SMSC's, answered by us
  std::atomic<uint64_t> deliver_sm{0};
  std::atomic<uint64_t> max_outstanding{0};
  std::atomic<bool> bound{false};
  std::atomic<double> current_tps{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using SubmitDone = std::function<void(SubmitResult)>;
  using DeliverHandler = std::function<void(const ShortMessage&)>;

  // Does not connect yet: start() does. `on_deliver` may be empty.
  // REQUIRES: options.window >= 1.
  static std::shared_ptr<Session> create(boost::asio::any_io_executor executor, SessionOptions options,
                                         DeliverHandler on_deliver);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Starts connecting and binding (once; later calls do nothing).
  void start();

  // Queues one submit_sm (its sequence number is the session's business).
  // `done` is called exactly once, on the session's strand.
  void submit(ShortMessage sm, SubmitDone done);

  // Fails queued submits (kNotSent "stopping"), unbinds (waiting at most
  // response_timeout for unbind_resp), closes and does not reconnect.
  // Submits in flight get their answer or kNoResponse. `stopped`, if given,
  // is called on the strand once the session's coroutines have returned.
  // Idempotent; later calls' `stopped` are called too.
  void stop(std::function<void()> stopped = {});

  const SessionStats& stats() const noexcept { return stats_; }
  const SessionOptions& options() const noexcept { return options_; }

  struct State;  // the strand's state (session.cpp)

 private:
  Session(boost::asio::any_io_executor executor, SessionOptions options, DeliverHandler on_deliver);
  std::unique_ptr<State> state_;
  SessionOptions options_;
  SessionStats stats_;
};

}  // namespace transports::smpp
