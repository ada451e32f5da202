// api/session.cpp: the listener, one coroutine per connection, and the
// graceful stop.
//
// Threading model (STYLE.md R6): one io_context, any number of threads, a
// strand per connection chosen at accept. The connection's coroutine frame
// owns its socket, buffer and parser by value; the server keeps a small
// Connection handle per session only so that stop() can find idle ones.
//
// A connection alternates between two states, and the deadline follows:
//   idle     waiting for the first byte of the next request: idle_timeout;
//            stop() cancels the read and the connection closes.
//   request  from that byte to the last byte of the body: read_timeout for
//            the whole request (head, 100 Continue, body); waiting for the
//            spool and writing the answer get read_timeout each again.
// Errors on the socket are values (as_tuple); operation_aborted and timeouts
// end the connection quietly. The coroutine's top frame logs anything thrown.
//
// The head is read before the body, so routing, authentication and the
// body-size limit are decided first: a request without a valid key, or
// announcing a body over max_body_bytes, is answered without reading its
// body, and "Expect: 100-continue" is honoured only for requests we will
// serve. After such an early answer the connection closes (the unread body
// makes the stream unusable), lingering briefly so the answer is not lost
// to a reset.
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <ctime>
#include <mutex>
#include <unordered_map>

#include "api/api.h"
#include "api/metrics.h"
#include "api/response.h"
#include "api/routes.h"
#include "core/log.h"

namespace api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kFirstReadBytes = 4096;
// After an early answer: how long, and how much, unread input we drain
// before closing, so the peer reads our answer instead of a reset.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr size_t kLingerBytes = 1 << 20;
constexpr auto kRefuseTime = std::chrono::seconds(2);

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate), formatted once
// per second per thread, without locale.
std::string_view http_date() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t last = -1;
  thread_local char buf[40];
  thread_local int len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != last) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                        tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                        tm.tm_sec);
    last = now;
  }
  return {buf, size_t(len)};
}

bool iequals_prefix(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if ((s[i] | 0x20) != (prefix[i] | 0x20)) return false;
  }
  return true;
}

bool contains_icase(std::string_view s, std::string_view needle) noexcept {
  for (size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (iequals_prefix(s.substr(i), needle)) return true;
  }
  return false;
}

// The listen address as an endpoint. Names other than literals
// ("localhost") are resolved once, here at startup.
core::Result<tcp::endpoint> parse_listen(asio::io_context& io, const std::string& listen) {
  auto hp = core::parse_host_port(listen);
  if (!hp) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "api.listen: '" + listen + "' is not host:port", "api.listen");
  }
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(hp->host, ec);
  if (!ec) return tcp::endpoint(addr, hp->port);
  tcp::resolver resolver(io);
  auto results = resolver.resolve(hp->host, std::to_string(hp->port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return core::make_error(core::Errc::kUnavailable,
                            "api.listen: cannot resolve '" + hp->host + "': " + ec.message(),
                            "api.listen");
  }
  return results.begin()->endpoint();
}

}  // namespace

// What the server knows about one live connection. `stream` and `idle`
// belong to the connection's strand: only code running there reads or
// writes them (the session itself, and the closure stop() posts).
struct Connection {
  uint64_t id = 0;
  asio::any_io_executor strand;
  beast::tcp_stream* stream = nullptr;
  bool idle = false;
};

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  Impl(std::shared_ptr<const core::Config> config, engine::Engine& engine, queue::Spool& spool,
       std::shared_ptr<const KeyRing> keys, asio::io_context& io, const core::Clock& clock)
      : services_{std::move(config), engine, spool, std::move(keys), clock},
        io_(io),
        acceptor_(asio::make_strand(io)) {}

  core::Status start();
  void stop(std::function<void()> drained);
  uint16_t port() const noexcept { return port_.load(); }
  size_t connections() const noexcept { return open_.load(); }

 private:
  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self);
  static asio::awaitable<void> session(std::shared_ptr<Impl> self, std::shared_ptr<Connection> conn,
                                       tcp::socket socket);
  static asio::awaitable<void> refuse(tcp::socket socket);
  // Reads and answers one request whose first bytes are in `buffer`.
  // Returns whether the connection stays open for another.
  asio::awaitable<bool> serve_one(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                  std::string& path);
  asio::awaitable<bool> write(beast::tcp_stream& stream, Response res, unsigned version,
                              bool keep_alive, bool head);
  static asio::awaitable<void> linger_close(beast::tcp_stream& stream);
  void spawn_session(tcp::socket socket);
  void session_ended(uint64_t id);

  Services services_;
  asio::io_context& io_;
  tcp::acceptor acceptor_;  // on its own strand
  std::atomic<uint16_t> port_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_{0};

  std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> live_;  // GUARDED_BY(mu_)
  std::vector<std::function<void()>> drained_;                      // GUARDED_BY(mu_)
  uint64_t next_id_ = 0;                                            // GUARDED_BY(mu_)
};

namespace {

// Every co_spawn top frame ends here: `detached` would drop the exception.
struct LogFailure {
  const char* what;
  void operator()(std::exception_ptr e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      core::log::error("api coroutine failed", {{"where", what}, {"error", x.what()}});
    } catch (...) {
      core::log::error("api coroutine failed", {{"where", what}, {"error", "unknown exception"}});
    }
  }
};

}  // namespace

core::Status Server::Impl::start() {
  auto ep = parse_listen(io_, services_.config->api.listen);
  if (!ep) return std::move(ep).error();
  auto fail = [&](const char* step, const boost::system::error_code& ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return core::make_error(core::Errc::kUnavailable,
                            "api.listen: cannot " + std::string(step) + " " +
                                services_.config->api.listen + ": " + ec.message(),
                            "api.listen");
  };
  boost::system::error_code ec;
  acceptor_.open(ep->protocol(), ec);
  if (ec) return fail("open", ec);
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("configure", ec);
  acceptor_.bind(*ep, ec);
  if (ec) return fail("bind", ec);
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on", ec);
  port_ = acceptor_.local_endpoint(ec).port();
  core::log::info("api listening",
                  {{"listen", services_.config->api.listen}, {"port", uint64_t{port_.load()}}});
  ApiMetrics::get();  // declare the metrics before the first scrape
  asio::co_spawn(acceptor_.get_executor(), accept_loop(shared_from_this()), LogFailure{"accept"});
  return {};
}

asio::awaitable<void> Server::Impl::accept_loop(std::shared_ptr<Impl> self) {
  ApiMetrics& m = ApiMetrics::get();
  for (;;) {
    auto [ec, socket] = co_await self->acceptor_.async_accept(
        asio::any_io_executor(asio::make_strand(self->io_)), kNoThrow);
    if (self->stopping_.load()) break;
    if (ec) {
      if (ec == asio::error::operation_aborted) break;
      // Out of descriptors (EMFILE) and the like: pause instead of spinning.
      core::log::warn("api accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    if (self->open_.load() >= self->services_.config->api.max_connections) {
      m.connections_refused->inc();
      auto ex = socket.get_executor();
      asio::co_spawn(ex, refuse(std::move(socket)), LogFailure{"refuse"});
      continue;
    }
    self->spawn_session(std::move(socket));
  }
}

// Over max_connections: a canned 503 and close, bounded in time. The
// connection does not count as open and is never read.
asio::awaitable<void> Server::Impl::refuse(tcp::socket socket) {
  static constexpr std::string_view kBody =
      R"({"error":{"code":"unavailable","message":"too many connections"}})";
  static const std::string kReply =
      "HTTP/1.1 503 Service Unavailable\r\n"
      "Content-Type: application/json\r\n"
      "Retry-After: 1\r\n"
      "Connection: close\r\n"
      "Content-Length: " +
      std::to_string(kBody.size()) + "\r\n\r\n" + std::string(kBody);
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(kRefuseTime);
  co_await asio::async_write(stream, asio::buffer(kReply), kNoThrow);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
}

void Server::Impl::spawn_session(tcp::socket socket) {
  auto conn = std::make_shared<Connection>();
  conn->strand = socket.get_executor();
  {
    std::lock_guard lock(mu_);
    conn->id = next_id_++;
    live_.emplace(conn->id, conn);
    open_.fetch_add(1);
  }
  ApiMetrics::get().connections->add(1);
  auto strand = conn->strand;
  asio::co_spawn(strand, session(shared_from_this(), std::move(conn), std::move(socket)),
                 LogFailure{"session"});
}

void Server::Impl::session_ended(uint64_t id) {
  std::vector<std::function<void()>> done;
  {
    std::lock_guard lock(mu_);
    live_.erase(id);
    open_.fetch_sub(1);
    if (live_.empty() && stopping_.load()) done.swap(drained_);
  }
  ApiMetrics::get().connections->add(-1);
  for (auto& f : done) f();
}

void Server::Impl::stop(std::function<void()> drained) {
  const bool first = !stopping_.exchange(true);
  if (first) {
    core::log::info("api stopping", {{"connections", uint64_t{open_.load()}}});
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }
  std::vector<std::shared_ptr<Connection>> conns;
  bool now = false;
  {
    std::lock_guard lock(mu_);
    if (drained) {
      if (live_.empty()) {
        now = true;
      } else {
        drained_.push_back(std::move(drained));
      }
    }
    conns.reserve(live_.size());
    for (auto& [id, c] : live_) conns.push_back(c);
  }
  // Runs on each connection's strand, so it cannot interleave with the
  // session's own transitions: a session that is idle now has a read
  // pending, and one that is not will see stopping_ before waiting again.
  for (auto& c : conns) {
    asio::post(c->strand, [c] {
      if (c->idle && c->stream != nullptr) c->stream->cancel();
    });
  }
  if (now) asio::post(io_, std::move(drained));
}

asio::awaitable<void> Server::Impl::session(std::shared_ptr<Impl> self,
                                            std::shared_ptr<Connection> conn, tcp::socket socket) {
  // Runs however the frame ends: return, exception, or destruction of a
  // suspended frame with the io_context.
  struct Ended {
    Impl* impl;
    Connection* conn;
    ~Ended() {
      conn->stream = nullptr;
      impl->session_ended(conn->id);
    }
  } ended{self.get(), conn.get()};

  beast::tcp_stream stream(std::move(socket));
  boost::system::error_code ignored;
  // Request/response traffic: no Nagle delay on the answer.
  stream.socket().set_option(tcp::no_delay(true), ignored);
  conn->stream = &stream;

  const core::ApiConfig& cfg = self->services_.config->api;
  beast::flat_buffer buffer;
  std::string path;  // reused decode buffer for the request path
  for (;;) {
    if (buffer.size() == 0) {
      if (self->stopping_.load()) break;
      conn->idle = true;
      stream.expires_after(cfg.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kFirstReadBytes), kNoThrow);
      conn->idle = false;
      if (ec) break;  // the peer closed, idle timeout, or stop()
      buffer.commit(n);
    }
    if (!co_await self->serve_one(stream, buffer, path)) break;
  }
  if (stream.socket().is_open()) {
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
  }
}

asio::awaitable<void> Server::Impl::linger_close(beast::tcp_stream& stream) {
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(kLingerTime);
  char sink[8192];
  size_t drained = 0;
  while (drained < kLingerBytes) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
    if (ec) break;
    drained += n;
  }
  stream.socket().close(ignored);
}

asio::awaitable<bool> Server::Impl::write(beast::tcp_stream& stream, Response r, unsigned version,
                                          bool keep_alive, bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "vestnik");
  res.set(http::field::date, http_date());
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  if (!r.allow.empty()) res.set(http::field::allow, r.allow);
  if (r.content_type == kHtmlType) {
    // Our pages need inline CSS and a form posting to ourselves, nothing
    // else: no script, no external resource, not framed by anyone (a
    // framed confirm button could be clicked by deceit), no Referer with
    // the token in it.
    res.set("Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
            "base-uri 'none'");
    res.set(http::field::x_frame_options, "DENY");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
  }
  if (r.challenge) {
    res.set(http::field::www_authenticate, r.invalid_token
                                               ? R"(Bearer realm="vestnik", error="invalid_token")"
                                               : R"(Bearer realm="vestnik")");
  }
  if (r.status == 503) res.set(http::field::retry_after, "1");
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length stays that of the GET answer
  ApiMetrics::get().count_response(r.status);
  stream.expires_after(services_.config->api.read_timeout);
  auto [ec, n] = co_await http::async_write(stream, res, kNoThrow);
  co_return !ec && keep_alive;
}

asio::awaitable<bool> Server::Impl::serve_one(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                              std::string& path) {
  const core::ApiConfig& cfg = services_.config->api;
  http::request_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(cfg.max_body_bytes);

  // One deadline for the whole request: head, body and the 100 Continue.
  stream.expires_after(cfg.read_timeout);
  auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
  const auto started = std::chrono::steady_clock::now();
  if (ec == http::error::body_limit) {
    co_await write(stream,
                   http_error(413, "too_large",
                              "request body larger than " + std::to_string(cfg.max_body_bytes) +
                                  " bytes (api.max_body_bytes)",
                              Format::kJson),
                   11, false, false);
    co_await linger_close(stream);
    co_return false;
  }
  if (ec == http::error::header_limit) {
    co_await write(stream,
                   http_error(431, "too_large", "request header fields too large", Format::kJson),
                   11, false, false);
    co_await linger_close(stream);
    co_return false;
  }
  if (ec) {
    // Timeouts, resets and a peer that closed mid-head end quietly; only a
    // malformed request deserves an answer.
    static const auto& http_category = http::make_error_code(http::error::bad_target).category();
    if (ec.category() == http_category && ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      co_await write(stream,
                     http_error(400, "bad_request", "malformed HTTP request", Format::kJson), 11,
                     false, false);
      co_await linger_close(stream);
    }
    co_return false;
  }

  auto& req = parser.get();
  const unsigned version = req.version();
  const http::verb method = req.method();
  const bool head = method == http::verb::head;

  Request r;
  r.method = method;
  const std::string_view content_type = req[http::field::content_type];
  if (iequals_prefix(content_type, kProtobufType)) r.body_format = Format::kProtobuf;
  r.content_type = content_type;
  r.accept_language = req[http::field::accept_language];
  r.reply_format =
      r.body_format == Format::kProtobuf || contains_icase(req[http::field::accept], kProtobufType)
          ? Format::kProtobuf
          : Format::kJson;

  // Answers given before the body is read: the body (if any) stays unread,
  // so the connection closes after them.
  auto early = [&](Response res) -> asio::awaitable<bool> {
    const bool clean = parser.is_done() && req.keep_alive() && !stopping_.load();
    co_await write(stream, std::move(res), version, clean, head);
    if (!clean) co_await linger_close(stream);
    co_return clean;
  };

  if (stopping_.load()) {
    co_return co_await early(
        error_response(core::Errc::kUnavailable, "shutting down", r.reply_format));
  }
  if (!split_target(req.target(), &path, &r.query)) {
    co_return co_await early(
        http_error(400, "bad_request", "malformed request target", r.reply_format));
  }
  r.path = path;

  auto matched = match_route(method, r.path, r.reply_format);
  if (auto* res = std::get_if<Response>(&matched)) co_return co_await early(std::move(*res));
  const Route route = std::get<Route>(matched);
  r.param = route.param;
  ApiMetrics& m = ApiMetrics::get();
  m.requests[size_t(route.id)]->inc();

  if (auto denied = authorize(services_, route.id, req[http::field::authorization], r.reply_format,
                              &r.principal)) {
    co_return co_await early(std::move(*denied));
  }

  // The public unsubscribe endpoint takes a form field, not an upload:
  // its own small limit, checked before any body byte is read (a chunked
  // body is measured while it arrives, by the parser).
  if (route.id == RouteId::kUnsubscribe) {
    if (const auto length = parser.content_length(); length && *length > kMaxPublicFormBytes) {
      const bool kept = co_await early(
          http_error(413, "too_large",
                     "request body larger than " + std::to_string(kMaxPublicFormBytes) + " bytes",
                     Format::kJson));
      co_return kept;
    }
    parser.body_limit(kMaxPublicFormBytes);
  }

  if (!parser.is_done()) {
    if (iequals_prefix(req[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, version};
      auto [wec, wn] = co_await http::async_write(stream, cont, kNoThrow);
      if (wec) co_return false;
    }
    auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (bec == http::error::body_limit) {
      // A chunked body can only be measured while it arrives.
      co_await write(stream,
                     http_error(413, "too_large",
                                "request body larger than " + std::to_string(cfg.max_body_bytes) +
                                    " bytes (api.max_body_bytes)",
                                r.reply_format),
                     version, false, false);
      co_await linger_close(stream);
      co_return false;
    }
    if (bec) co_return false;
  }
  r.body = req.body();
  if (route.id == RouteId::kProviderCallback) {
    r.target = req.target();
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
      r.headers.emplace_back(std::move(name), std::string(field.value()));
    }
  }

  Response res = co_await handle(services_, route, r);
  const unsigned status = res.status;
  // Once stopping, this answer ends the connection, unless the client has
  // already pipelined another request: that one is answered 503 (then the
  // connection closes) rather than dropped unanswered.
  const bool more = req.keep_alive() && (!stopping_.load() || buffer.size() != 0);
  const bool keep = co_await write(stream, std::move(res), version, more, head);
  m.request_seconds->observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (core::log::min_level() <= core::log::Level::kDebug) {
    core::log::debug("api request", {{"method", std::string_view(http::to_string(method))},
                                     {"path", r.path},
                                     {"route", route_name(route.id)},
                                     {"status", uint64_t{status}}});
  }
  co_return keep;
}

Server::Server(std::shared_ptr<const core::Config> config, engine::Engine& engine,
               queue::Spool& spool, std::shared_ptr<const KeyRing> keys, asio::io_context& io,
               const core::Clock& clock)
    : impl_(std::make_shared<Impl>(std::move(config), engine, spool, std::move(keys), io, clock)) {}

Server::~Server() { impl_->stop({}); }

core::Status Server::start() { return impl_->start(); }
uint16_t Server::port() const noexcept { return impl_->port(); }
void Server::stop(std::function<void()> drained) { impl_->stop(std::move(drained)); }
size_t Server::connections() const noexcept { return impl_->connections(); }

}  // namespace api
