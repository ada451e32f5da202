// transports/smpp/session.cpp: see session.h.
//
// Two coroutines share the strand. `run` owns the connection's life:
// connect, bind, read until the connection ends, tear down, back off, again.
// `pump` is the only writer once bound: it drains the control queue
// (responses, enquire_link, unbind), starts queued submits while the window,
// the rate and any throttle pause allow, expires what is past its deadline,
// and otherwise sleeps on `wake` until the earliest thing it waits for.
// Anything that changes what the pump could do (a response freed a window
// slot, a request to answer arrived, a submit was queued) cancels `wake`;
// since all of it runs on the strand, the pump cannot miss a change made
// between its check and its sleep.
//
// Write and connect deadlines are watchdogs that close the socket, which
// ends the pending operation with an error: Boost 1.81 has no cancel_after.
#include "transports/smpp/session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cassert>
#include <deque>
#include <fmt/format.h>
#include <map>
#include <optional>

#include "core/log.h"

namespace transports::smpp {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Strand = asio::strand<asio::any_io_executor>;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// The pump re-checks at least this often, so a lost wake-up costs at most
// this much and never a hang.
constexpr auto kMaxSleep = std::chrono::milliseconds(500);

struct Conn {
  explicit Conn(const Strand& ex) : socket(ex) {}
  tcp::socket socket;
  std::string inbuf;
  bool closed = false;
  bool close_after_write = false;  // the SMSC unbound: answer, then close
  std::shared_ptr<const PeerInfo> peer;

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
};

// Calls `fire` when `after` passes, unless destroyed first. The handler
// holds only shared state, so it is safe to outlive the coroutine frame.
class Watchdog {
 public:
  Watchdog(const Strand& ex, Millis after, std::function<void()> fire)
      : armed_(std::make_shared<bool>(true)), timer_(std::make_shared<asio::steady_timer>(ex)) {
    timer_->expires_after(after);
    auto armed = armed_;
    auto timer = timer_;
    timer_->async_wait([armed, timer, fire = std::move(fire)](boost::system::error_code ec) {
      if (!ec && *armed) {
        *armed = false;
        fire();
      }
    });
  }
  ~Watchdog() {
    *armed_ = false;
    timer_->cancel();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::shared_ptr<bool> armed_;
  std::shared_ptr<asio::steady_timer> timer_;
};

enum class ReqKind : uint8_t { kSubmit, kEnquireLink, kUnbind };

struct Request {
  ShortMessage sm;
  Session::SubmitDone done;
  SteadyClock::time_point queue_deadline;
  uint32_t tries = 0;
  uint32_t last_status = 0;  // the last answer when it was throttled
};

struct InFlight {
  ReqKind kind = ReqKind::kSubmit;
  Request req;
  SteadyClock::time_point deadline;
};

enum class ReadKind : uint8_t { kPdu, kMalformed, kClosed };
struct ReadResult {
  ReadKind kind = ReadKind::kClosed;
  Pdu pdu;            // kMalformed: the header fields only
  std::string error;  // kMalformed / kClosed
};

std::string status_text(uint32_t s) {
  std::string_view name = status_name(s);
  return name.empty() ? fmt::format("0x{:02X}", s) : fmt::format("0x{:02X} {}", s, name);
}

Pdu header_only(uint32_t id, uint32_t status, uint32_t seq) {
  Pdu p;
  p.command_id = id;
  p.command_status = status;
  p.sequence = seq;
  return p;
}

std::string must_encode(const Pdu& p) {
  auto bytes = encode(p);
  // Only PDUs we build from known-good fields come here.
  assert(bytes);
  return bytes ? std::move(*bytes) : std::string();
}

}  // namespace

struct Session::State {
  State(asio::any_io_executor ex, const SessionOptions& o, SessionStats& s, DeliverHandler d)
      : strand(asio::make_strand(ex)), wake(strand), backoff(strand), opt(o), stats(s),
        on_deliver(std::move(d)), rate(o.tps) {}

  Strand strand;
  asio::steady_timer wake;     // the pump's sleep
  asio::steady_timer backoff;  // run's wait between attempts
  const SessionOptions& opt;
  SessionStats& stats;
  DeliverHandler on_deliver;

  std::deque<Request> queue;
  std::map<uint32_t, InFlight> inflight;  // by sequence_number
  size_t inflight_submits = 0;
  std::deque<std::string> control;  // encoded PDUs to write before any submit
  std::shared_ptr<Conn> conn;       // the bound connection; null between binds
  std::shared_ptr<Conn> attempt;    // the connection being opened
  uint32_t next_seq = 1;

  double rate;  // submits per second now (<= opt.tps); unused when tps == 0
  SteadyClock::time_point next_send{};
  SteadyClock::time_point pause_until{};
  Millis pause{0};
  SteadyClock::time_point next_enquire{};
  bool enquire_outstanding = false;
  bool unbind_sent = false;

  bool started = false;
  bool stopping = false;
  bool run_done = false;
  bool pump_done = false;
  std::vector<std::function<void()>> stopped_cbs;

  // ---- helpers (on the strand) -------------------------------------------

  uint32_t take_seq() {
    const uint32_t s = next_seq;
    next_seq = next_seq >= kMaxSequence ? 1 : next_seq + 1;
    return s;
  }

  void wake_pump() { wake.cancel(); }

  void complete(Request& r, SubmitResult res) {
    if (r.done) {
      auto done = std::move(r.done);
      r.done = nullptr;
      done(std::move(res));
    }
  }

  void not_sent(Request& r, uint32_t status, std::string detail) {
    SubmitResult res;
    if (r.last_status != 0) {
      // It was answered before (throttled) and then ran out of time or
      // tries: report that answer, the truest thing we know.
      res.kind = SubmitResult::Kind::kResponse;
      res.command_status = r.last_status;
    } else {
      res.kind = SubmitResult::Kind::kNotSent;
      res.command_status = status;
    }
    res.detail = std::move(detail);
    complete(r, std::move(res));
  }

  void fail_queue(uint32_t status, const std::string& detail) {
    std::deque<Request> q;
    q.swap(queue);
    for (Request& r : q) not_sent(r, status, detail);
  }

  void maybe_stopped() {
    if (!(run_done && pump_done)) return;
    auto cbs = std::move(stopped_cbs);
    stopped_cbs.clear();
    for (auto& cb : cbs)
      if (cb) cb();
  }

  void on_throttled(SteadyClock::time_point now) {
    stats.throttled.fetch_add(1, std::memory_order_relaxed);
    pause = pause.count() == 0 ? opt.throttle_pause : std::min(pause * 2, opt.throttle_pause_max);
    pause_until = now + pause;
    if (opt.tps > 0) {
      const double floor = std::min(opt.tps, std::max(opt.tps / 10, 1.0));
      rate = std::max(rate / 2, floor);
      stats.current_tps.store(rate, std::memory_order_relaxed);
    }
  }

  void on_accepted() {
    pause = Millis{0};
    if (opt.tps > 0 && rate < opt.tps) {
      rate = std::min(opt.tps, rate + opt.tps / 20);
      stats.current_tps.store(rate, std::memory_order_relaxed);
    }
  }

  // Ends a connection: everything in flight has an unknown outcome now.
  void teardown(const std::shared_ptr<Conn>& c, const std::string& reason) {
    c->close();
    if (conn == c) conn.reset();
    stats.bound.store(false, std::memory_order_relaxed);
    auto flying = std::move(inflight);
    inflight.clear();
    inflight_submits = 0;
    enquire_outstanding = false;
    control.clear();
    for (auto& [seq, f] : flying) {
      if (f.kind != ReqKind::kSubmit) continue;
      SubmitResult res;
      res.kind = SubmitResult::Kind::kNoResponse;
      res.detail = reason;
      res.peer = c->peer;
      complete(f.req, std::move(res));
    }
    wake_pump();
  }

  // ---- reading -------------------------------------------------------------

  asio::awaitable<ReadResult> read_pdu(std::shared_ptr<Conn> c) {
    for (;;) {
      const Frame f = next_frame(as_bytes(c->inbuf));
      if (f.status == FrameStatus::kBad) {
        co_return ReadResult{ReadKind::kClosed, {}, fmt::format("bad command_length {}", f.length)};
      }
      if (f.status == FrameStatus::kGood) {
        const std::string frame = c->inbuf.substr(0, f.length);
        c->inbuf.erase(0, f.length);
        auto pdu = decode(as_bytes(frame));
        if (pdu) co_return ReadResult{ReadKind::kPdu, std::move(*pdu), {}};
        // The header is good (next_frame checked the length): keep it so the
        // request can be nacked or the response matched.
        auto u32 = [&](size_t at) {
          uint32_t v = 0;
          for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(frame[at + i]);
          return v;
        };
        co_return ReadResult{ReadKind::kMalformed, header_only(u32(4), u32(8), u32(12)),
                             pdu.error().message};
      }
      char buf[4096];
      auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(buf), kTuple);
      if (ec) co_return ReadResult{ReadKind::kClosed, {}, ec.message()};
      c->inbuf.append(buf, n);
    }
  }

  asio::awaitable<bool> write_all(std::shared_ptr<Conn> c, std::string bytes) {
    Watchdog wd(strand, opt.write_timeout, [c] { c->close(); });
    auto [ec, n] = co_await asio::async_write(c->socket, asio::buffer(bytes), kTuple);
    (void)n;
    co_return !ec && !c->closed;
  }

  // ---- connect and bind ---------------------------------------------------

  asio::awaitable<bool> connect(std::shared_ptr<Conn> c, std::string* error) {
    auto resolver = std::make_shared<tcp::resolver>(strand);
    Watchdog wd(strand, opt.connect_timeout, [c, resolver] {
      resolver->cancel();
      c->close();
    });
    auto [rec, results] = co_await resolver->async_resolve(opt.host, std::to_string(opt.port), kTuple);
    if (rec || c->closed) {
      *error = c->closed ? "connect timed out" : "resolve: " + rec.message();
      co_return false;
    }
    auto [cec, ep] = co_await asio::async_connect(c->socket, results, kTuple);
    if (cec || c->closed) {
      *error = c->closed ? "connect timed out" : "connect: " + cec.message();
      co_return false;
    }
    boost::system::error_code ignored;
    c->socket.set_option(tcp::no_delay(true), ignored);  // request/response: no Nagle
    auto peer = std::make_shared<PeerInfo>();
    peer->host = opt.host;
    peer->ip = ep.address().to_string();
    auto local = c->socket.local_endpoint(ignored);
    if (!ignored) peer->source_ip = local.address().to_string();
    c->peer = std::move(peer);
    co_return true;
  }

  asio::awaitable<bool> bind(std::shared_ptr<Conn> c, uint32_t* bind_status, std::string* error) {
    Watchdog wd(strand, opt.bind_timeout, [c] { c->close(); });
    Pdu req = header_only(cmd::kBindTransceiver, 0, take_seq());
    req.body = Bind{opt.system_id, opt.password, opt.system_type, 0x34, opt.addr_ton, opt.addr_npi,
                    opt.address_range};
    auto bytes = encode(req);
    if (!bytes) {
      *error = "bind: " + bytes.error().message;
      co_return false;
    }
    if (!co_await write_all(c, std::move(*bytes))) {
      *error = c->closed ? "bind timed out" : "bind: write failed";
      co_return false;
    }
    for (int pdus = 0; pdus < 64; ++pdus) {  // bounded: a chatty SMSC cannot keep us here
      ReadResult r = co_await read_pdu(c);
      if (r.kind == ReadKind::kClosed) {
        *error = c->closed ? "bind timed out" : "bind: " + r.error;
        co_return false;
      }
      const Pdu& p = r.pdu;
      if (p.command_id == (cmd::kBindTransceiver | cmd::kResponseBit) ||
          (p.command_id == cmd::kGenericNack && p.sequence == req.sequence)) {
        if (p.command_status == status::kOk && p.command_id != cmd::kGenericNack) co_return true;
        *bind_status = p.command_status == 0 ? status::kBindFail : p.command_status;
        *error = "bind refused: status " + status_text(*bind_status);
        co_return false;
      }
      if (p.command_id == cmd::kEnquireLink) {
        if (!co_await write_all(c, must_encode(header_only(cmd::kEnquireLink | cmd::kResponseBit, 0,
                                                           p.sequence)))) {
          *error = "bind: write failed";
          co_return false;
        }
      }
    }
    *error = "bind: no bind_transceiver_resp";
    co_return false;
  }

  // ---- the connection's life ----------------------------------------------

  void handle_response(const std::shared_ptr<Conn>& c, ReadResult& r) {
    const Pdu& p = r.pdu;
    auto it = inflight.find(p.sequence);
    if (it == inflight.end()) {
      core::log::debug("smpp: response to no request", {{"host", opt.host},
                                                         {"command_id", uint64_t{p.command_id}},
                                                         {"sequence", uint64_t{p.sequence}}});
      return;
    }
    InFlight f = std::move(it->second);
    inflight.erase(it);
    wake_pump();
    if (f.kind == ReqKind::kEnquireLink) {
      enquire_outstanding = false;
      return;
    }
    if (f.kind == ReqKind::kUnbind) {
      c->close();
      return;
    }
    --inflight_submits;
    uint32_t st = p.command_status;
    if (p.command_id == cmd::kGenericNack && st == status::kOk) st = status::kSysErr;
    const auto now = SteadyClock::now();
    if (st == status::kThrottled || st == status::kMsgQFul) {
      on_throttled(now);
      if (f.req.tries < opt.throttle_retries && !stopping) {
        ++f.req.tries;
        f.req.last_status = st;
        queue.push_front(std::move(f.req));
        return;
      }
    } else if (st == status::kOk) {
      on_accepted();
    }
    SubmitResult res;
    res.kind = SubmitResult::Kind::kResponse;
    res.command_status = st;
    res.peer = c->peer;
    if (const auto* m = std::get_if<MessageIdResp>(&p.body)) res.message_id = m->message_id;
    if (r.kind == ReadKind::kMalformed) res.detail = "malformed response: " + r.error;
    complete(f.req, std::move(res));
    // Wrong bind state: the SMSC forgot our bind; only a new one helps.
    if (st == status::kInvBndSts) c->close();
  }

  void handle_request(const std::shared_ptr<Conn>& c, ReadResult& r) {
    const Pdu& p = r.pdu;
    const uint32_t resp_id = p.command_id | cmd::kResponseBit;
    if (r.kind == ReadKind::kMalformed) {
      control.push_back(must_encode(header_only(cmd::kGenericNack, status::kInvCmdLen, p.sequence)));
      core::log::warn("smpp: malformed request", {{"host", opt.host}, {"error", r.error}});
    } else if (p.command_id == cmd::kEnquireLink) {
      stats.enquire_links_answered.fetch_add(1, std::memory_order_relaxed);
      control.push_back(must_encode(header_only(resp_id, 0, p.sequence)));
    } else if (p.command_id == cmd::kDeliverSm) {
      stats.deliver_sm.fetch_add(1, std::memory_order_relaxed);
      Pdu resp = header_only(resp_id, 0, p.sequence);
      resp.body = MessageIdResp{};
      control.push_back(must_encode(resp));
      if (on_deliver) on_deliver(std::get<ShortMessage>(p.body));
    } else if (p.command_id == cmd::kUnbind) {
      control.push_back(must_encode(header_only(resp_id, 0, p.sequence)));
      c->close_after_write = true;
    } else {
      control.push_back(must_encode(header_only(cmd::kGenericNack, status::kInvCmdId, p.sequence)));
    }
    wake_pump();
  }

  asio::awaitable<std::string> read_loop(std::shared_ptr<Conn> c) {
    for (;;) {
      ReadResult r = co_await read_pdu(c);
      if (r.kind == ReadKind::kClosed) co_return c->closed ? std::string("connection closed") : r.error;
      if (r.pdu.is_response()) {
        handle_response(c, r);
      } else {
        handle_request(c, r);
      }
      if (c->closed) co_return std::string("connection closed");
    }
  }

  asio::awaitable<void> wait_backoff(Millis d) {
    backoff.expires_after(d);
    auto [ec] = co_await backoff.async_wait(kTuple);
    (void)ec;  // cancelled by stop(): the loop checks `stopping`
  }

  asio::awaitable<void> run_inner() {
    Millis delay = opt.reconnect_min;
    while (!stopping) {
      auto c = std::make_shared<Conn>(strand);
      attempt = c;
      stats.connects.fetch_add(1, std::memory_order_relaxed);
      std::string error;
      uint32_t bind_status = 0;
      bool ok = co_await connect(c, &error);
      if (ok) ok = co_await bind(c, &bind_status, &error);
      attempt.reset();
      if (!ok || stopping) {
        c->close();
        if (stopping) break;
        stats.bind_failures.fetch_add(1, std::memory_order_relaxed);
        core::log::warn("smpp: connect or bind failed",
                        {{"host", opt.host}, {"port", uint64_t{opt.port}}, {"error", error}});
        // Nobody can send now: the queue learns at once rather than after
        // queue_timeout, and a refused bind (a CONFIG problem) says so.
        fail_queue(bind_status, "smpp " + error);
        co_await wait_backoff(delay);
        delay = std::min(delay * 2, opt.reconnect_max);
        continue;
      }
      delay = opt.reconnect_min;
      conn = c;
      stats.binds.fetch_add(1, std::memory_order_relaxed);
      stats.bound.store(true, std::memory_order_relaxed);
      rate = opt.tps;
      stats.current_tps.store(rate, std::memory_order_relaxed);
      next_send = SteadyClock::now();
      next_enquire = SteadyClock::now() + opt.enquire_link_interval;
      unbind_sent = false;
      core::log::info("smpp: bound", {{"host", opt.host}, {"system_id", opt.system_id}});
      wake_pump();
      const std::string why = co_await read_loop(c);
      teardown(c, "smpp connection lost (" + why + "): outcome unknown");
      if (stopping) break;
      core::log::warn("smpp: connection lost", {{"host", opt.host}, {"error", why}});
      co_await wait_backoff(delay);
    }
  }

  asio::awaitable<void> run(std::shared_ptr<Session> keep) {
    try {
      co_await run_inner();
    } catch (const std::exception& e) {
      core::log::error("smpp: session failed", {{"host", opt.host}, {"error", e.what()}});
    }
    if (conn) teardown(conn, "smpp session ended");
    run_done = true;
    stopping = true;
    fail_queue(0, "smpp session stopped");
    wake_pump();
    maybe_stopped();
    (void)keep;
  }

  // ---- the pump -------------------------------------------------------------

  void sweep(SteadyClock::time_point now, const std::shared_ptr<Conn>& c) {
    while (!queue.empty() && queue.front().queue_deadline <= now)
      not_sent(queue.front(), 0, "smpp not bound within queue_timeout"), queue.pop_front();
    if (!c) return;
    for (auto it = inflight.begin(); it != inflight.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      if (it->second.kind != ReqKind::kSubmit) {
        // No answer to enquire_link or unbind: the link is dead.
        core::log::warn("smpp: no response to enquire_link/unbind; closing", {{"host", opt.host}});
        c->close();
        return;
      }
      InFlight f = std::move(it->second);
      it = inflight.erase(it);
      --inflight_submits;
      SubmitResult res;
      res.kind = SubmitResult::Kind::kNoResponse;
      res.detail = fmt::format("smpp no submit_sm_resp within {} ms: outcome unknown",
                               opt.response_timeout.count());
      res.peer = c->peer;
      complete(f.req, std::move(res));
    }
  }

  // Appends what may be written now to `out`.
  void collect(SteadyClock::time_point now, std::string* out) {
    if (!stopping && !enquire_outstanding && now >= next_enquire) {
      const uint32_t seq = take_seq();
      control.push_back(must_encode(header_only(cmd::kEnquireLink, 0, seq)));
      inflight[seq] = InFlight{ReqKind::kEnquireLink, {}, now + opt.response_timeout};
      enquire_outstanding = true;
      next_enquire = now + opt.enquire_link_interval;
      stats.enquire_links_sent.fetch_add(1, std::memory_order_relaxed);
    }
    if (stopping && !unbind_sent && inflight_submits == 0) {
      const uint32_t seq = take_seq();
      control.push_back(must_encode(header_only(cmd::kUnbind, 0, seq)));
      inflight[seq] = InFlight{ReqKind::kUnbind, {}, now + opt.response_timeout};
      unbind_sent = true;
    }
    while (!control.empty()) {
      *out += control.front();
      control.pop_front();
    }
    while (!stopping && !queue.empty() && inflight_submits < opt.window && now >= pause_until &&
           (opt.tps <= 0 || now >= next_send)) {
      Request r = std::move(queue.front());
      queue.pop_front();
      Pdu p = header_only(cmd::kSubmitSm, 0, take_seq());
      p.body = r.sm;
      auto bytes = encode(p);
      if (!bytes) {
        not_sent(r, status::kInvMsgLen, "smpp submit_sm: " + bytes.error().message);
        continue;
      }
      *out += *bytes;
      inflight[p.sequence] = InFlight{ReqKind::kSubmit, std::move(r), now + opt.response_timeout};
      ++inflight_submits;
      stats.submits.fetch_add(1, std::memory_order_relaxed);
      if (inflight_submits > stats.max_outstanding.load(std::memory_order_relaxed))
        stats.max_outstanding.store(inflight_submits, std::memory_order_relaxed);
      if (opt.tps > 0) {
        const auto step = std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(1.0 / rate));
        next_send = std::max(now, next_send) + step;
      }
    }
  }

  SteadyClock::time_point next_wake(SteadyClock::time_point now, const std::shared_ptr<Conn>& c) {
    auto at = now + kMaxSleep;
    if (!queue.empty()) at = std::min(at, queue.front().queue_deadline);
    if (!c) return at;
    for (const auto& [seq, f] : inflight) at = std::min(at, f.deadline);
    at = std::min(at, next_enquire);
    if (!queue.empty() && inflight_submits < opt.window)
      at = std::min(at, std::max(pause_until, opt.tps > 0 ? next_send : now));
    return std::max(at, now);
  }

  asio::awaitable<void> pump_inner() {
    for (;;) {
      const auto now = SteadyClock::now();
      std::shared_ptr<Conn> c = conn && !conn->closed ? conn : nullptr;
      sweep(now, c);
      if (c && c->closed) c = nullptr;
      if (stopping && run_done) break;
      if (c) {
        std::string out;
        collect(now, &out);
        if (!out.empty()) {
          if (!co_await write_all(c, std::move(out))) {
            c->close();
          } else if (c->close_after_write && control.empty()) {
            c->close();
          }
          continue;
        }
      }
      wake.expires_at(next_wake(now, c));
      auto [ec] = co_await wake.async_wait(kTuple);
      (void)ec;  // cancelled: something changed; expired: a deadline is due
    }
  }

  asio::awaitable<void> pump(std::shared_ptr<Session> keep) {
    try {
      co_await pump_inner();
    } catch (const std::exception& e) {
      core::log::error("smpp: pump failed", {{"host", opt.host}, {"error", e.what()}});
      if (conn) conn->close();
    }
    pump_done = true;
    maybe_stopped();
    (void)keep;
  }
};

Session::Session(asio::any_io_executor executor, SessionOptions options, DeliverHandler on_deliver)
    : options_(std::move(options)) {
  assert(options_.window >= 1);
  if (options_.window == 0) options_.window = 1;
  stats_.current_tps.store(options_.tps, std::memory_order_relaxed);
  state_ = std::make_unique<State>(std::move(executor), options_, stats_, std::move(on_deliver));
}

Session::~Session() = default;

std::shared_ptr<Session> Session::create(asio::any_io_executor executor, SessionOptions options,
                                         DeliverHandler on_deliver) {
  return std::shared_ptr<Session>(new Session(std::move(executor), std::move(options), std::move(on_deliver)));
}

void Session::start() {
  auto self = shared_from_this();
  asio::post(state_->strand, [self] {
    State& st = *self->state_;
    if (st.started || st.stopping) return;
    st.started = true;
    auto on_error = [](std::exception_ptr) {};  // each top frame catches and logs itself
    asio::co_spawn(st.strand, st.run(self), on_error);
    asio::co_spawn(st.strand, st.pump(self), on_error);
  });
}

void Session::submit(ShortMessage sm, SubmitDone done) {
  auto self = shared_from_this();
  asio::post(state_->strand, [self, sm = std::move(sm), done = std::move(done)]() mutable {
    State& st = *self->state_;
    Request r{std::move(sm), std::move(done), SteadyClock::now() + self->options_.queue_timeout};
    if (st.stopping) return st.not_sent(r, 0, "smpp session stopping");
    if (st.queue.size() >= self->options_.max_queue) return st.not_sent(r, 0, "smpp submit queue full");
    st.queue.push_back(std::move(r));
    st.wake_pump();
  });
}

void Session::stop(std::function<void()> stopped) {
  auto self = shared_from_this();
  asio::post(state_->strand, [self, stopped = std::move(stopped)]() mutable {
    State& st = *self->state_;
    st.stopped_cbs.push_back(std::move(stopped));
    if (!st.started) {
      st.started = st.stopping = st.run_done = st.pump_done = true;
    }
    if (!st.stopping) {
      st.stopping = true;
      st.fail_queue(0, "smpp session stopping");
      st.backoff.cancel();
      if (st.attempt) st.attempt->close();
      st.wake_pump();  // to send unbind, or to notice run has ended
    }
    st.maybe_stopped();
  });
}

}  // namespace transports::smpp
