// transports/http_client.cpp: see http_client.h.
//
// Everything runs on one strand: the pools, the queue of requests waiting
// for a connection, and the coroutines that connect and exchange. A
// connection belongs to exactly one coroutine at a time (it is moved, never
// shared), so no connection is ever used by two requests. Beast's tcp_stream
// carries the deadlines of connect, TLS handshake and request (write + whole
// answer); name resolution, which tcp_stream does not cover, has a timer of
// its own that the request waits on (Impl::connect says why not on the
// resolver).
#include "transports/http_client.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <deque>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace transports {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using providers::HttpRequest;
using providers::HttpResponse;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

std::string seconds_text(core::Duration d) {
  return fmt::format("{:g}s", static_cast<double>(d.count()) / 1000.0);
}

bool has_crlf(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// The peer closed a kept-alive connection while it sat idle: the request
// never reached it (no answer byte came back), so sending it again is safe.
// Over TLS, a peer that drops the TCP connection without a close_notify (as
// many servers and load balancers do on their keep-alive timeout) shows as
// stream_truncated rather than end of stream.
bool is_stale_error(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

// What exchange() cannot write. Checked before the request takes a
// connection, so that a bad request neither opens one nor spoils a kept-alive
// one, and fails the same whether the peer is up or not.
core::Status check_request(const HttpRequest& in) {
  if (http::string_to_verb(in.method) == http::verb::unknown) {
    return core::invalid_argument("method", "unknown HTTP method \"" + in.method + "\"");
  }
  if (in.target.empty() || in.target.front() != '/' || has_crlf(in.target) ||
      in.target.find(' ') != std::string::npos) {
    return core::invalid_argument("target", "request target must start with '/' and "
                                            "contain no spaces or line breaks");
  }
  for (const auto& [name, value] : in.headers) {
    if (name.empty() || has_crlf(name) || has_crlf(value) ||
        name.find(':') != std::string::npos) {
      return core::invalid_argument("headers",
                                    "header \"" + name + "\" has an invalid name or value");
    }
  }
  return {};
}

}  // namespace

std::string BaseUrl::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "",
                     port);
}

core::Result<BaseUrl> parse_base_url(std::string_view url, std::string_view field) {
  const std::string f(field);
  auto bad = [&](std::string_view why) {
    return core::invalid_argument(f, fmt::format("{}: {} (\"{}\")", f, why, url));
  };
  BaseUrl b;
  std::string_view rest;
  if (url.starts_with("https://")) {
    b.tls = true;
    b.port = 443;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    b.tls = false;
    b.port = 80;
    rest = url.substr(7);
  } else {
    return bad("must start with https:// or http://");
  }
  for (const char c : rest) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad("must not contain spaces or control characters");
  }
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    return bad("must not have a query, a fragment or user info");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  b.path = std::string(path);
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    b.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("garbage after the IPv6 address");
      port_text = after.substr(1);
      has_port = true;
    }
    if (!is_ip_literal(b.host)) return bad("not an IPv6 address inside '[' ']'");
  } else {
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      authority = authority.substr(0, colon);
      has_port = true;
    }
    b.host = std::string(authority);
    // "https://::1:8443" would read as host "::1", port 8443: ambiguous.
    if (b.host.find(':') != std::string::npos) return bad("an IPv6 address goes inside '[' ']'");
  }
  if (b.host.empty()) return bad("has no host");
  if (has_port) {
    unsigned port = 0;
    const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return bad("port must be 1..65535");
    }
    b.port = static_cast<uint16_t>(port);
  }
  return b;
}

namespace {

struct Conn {
  Conn(const asio::any_io_executor& ex, ssl::context& ctx) : stream(beast::tcp_stream(ex), ctx) {}
  ssl::stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  bool tls = false;
  std::chrono::steady_clock::time_point idle_since{};
  uint64_t uses = 0;
  void close() {
    boost::system::error_code ec;
    stream.next_layer().socket().close(ec);
  }
};

// One name lookup (Impl::connect), alive until both its handler and the
// request are done with it. On the strand.
struct Lookup {
  explicit Lookup(const asio::any_io_executor& ex) : resolver(ex), wake(ex) {}
  tcp::resolver resolver;
  asio::steady_timer wake;  // the deadline; cancelled when the lookup ends
  bool done = false;
  boost::system::error_code ec;
  tcp::resolver::results_type results;
};

struct Job {
  BaseUrl base;
  HttpRequest request;
  HttpClient::Done done;
  bool retried = false;
};

struct Pool {
  std::deque<std::unique_ptr<Conn>> idle;  // the most recently used at the back
  uint32_t open = 0;                       // idle + busy + being connected
  std::deque<Job> waiting;
};

class Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::any_io_executor ex, HttpClientOptions o, std::unique_ptr<ssl::context> ctx)
      : strand_(asio::make_strand(ex)), options_(std::move(o)), ctx_(std::move(ctx)),
        sweeper_(strand_) {}

  void start_sweeper() {
    asio::co_spawn(strand_, sweep(shared_from_this()), asio::detached);
  }

  void request(BaseUrl base, HttpRequest req, HttpClient::Done done) {
    asio::post(strand_, [self = shared_from_this(), job = Job{std::move(base), std::move(req),
                                                               std::move(done)}]() mutable {
      self->start(std::move(job));
    });
  }

  void shutdown() {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->stopped_) return;
      self->stopped_ = true;
      self->sweeper_.cancel();
      for (auto& [key, pool] : self->pools_) {
        for (auto& c : pool.idle) c->close();
        pool.open -= static_cast<uint32_t>(pool.idle.size());
        pool.idle.clear();
        std::deque<Job> waiting;
        waiting.swap(pool.waiting);
        for (Job& j : waiting) {
          self->deliver(j, core::make_error(core::Errc::kUnavailable,
                                            "HTTP client shutting down"));
        }
      }
    });
  }

  HttpClientStats stats() const {
    HttpClientStats s;
    s.requests = requests_.load(std::memory_order_relaxed);
    s.errors = errors_.load(std::memory_order_relaxed);
    s.connections_opened = opened_.load(std::memory_order_relaxed);
    s.reused = reused_.load(std::memory_order_relaxed);
    s.retried_stale = retried_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  // ---- pool bookkeeping (on the strand) ------------------------------------

  void start(Job job) {
    if (stopped_) {
      deliver(job, core::make_error(core::Errc::kUnavailable, "HTTP client shutting down"));
      return;
    }
    if (auto ok = check_request(job.request); !ok) {
      deliver(job, std::move(ok).error());
      return;
    }
    const std::string key = job.base.origin();
    Pool& p = pools_[key];
    drop_stale(p, std::chrono::steady_clock::now());
    if (!p.idle.empty()) {
      std::unique_ptr<Conn> c = std::move(p.idle.back());
      p.idle.pop_back();
      spawn(key, std::move(c), std::move(job));
    } else if (p.open < options_.max_connections_per_host) {
      ++p.open;
      spawn(key, nullptr, std::move(job));
    } else if (p.waiting.size() < options_.max_waiting_per_host) {
      p.waiting.push_back(std::move(job));
    } else {
      deliver(job, core::make_error(core::Errc::kUnavailable,
                                    fmt::format("{} requests already wait for a connection to {}",
                                                p.waiting.size(), key)));
    }
  }

  void spawn(const std::string& key, std::unique_ptr<Conn> c, Job job) {
    asio::co_spawn(strand_, run(shared_from_this(), key, std::move(c), std::move(job)),
                   asio::detached);
  }

  // A connection finished a request and may carry another.
  void release(const std::string& key, std::unique_ptr<Conn> c) {
    Pool& p = pools_[key];
    if (stopped_) {
      c->close();
      --p.open;
      return;
    }
    if (!p.waiting.empty()) {
      Job next = std::move(p.waiting.front());
      p.waiting.pop_front();
      spawn(key, std::move(c), std::move(next));
      return;
    }
    c->idle_since = std::chrono::steady_clock::now();
    p.idle.push_back(std::move(c));
  }

  // A connection of `key` is gone (or never came up): its slot goes to the
  // next waiting request, on a new connection.
  void closed(const std::string& key) {
    Pool& p = pools_[key];
    --p.open;
    if (!stopped_ && !p.waiting.empty() && p.open < options_.max_connections_per_host) {
      Job next = std::move(p.waiting.front());
      p.waiting.pop_front();
      ++p.open;
      spawn(key, nullptr, std::move(next));
    }
  }

  void drop_stale(Pool& p, std::chrono::steady_clock::time_point now) {
    while (!p.idle.empty() && now - p.idle.front()->idle_since >= options_.idle_timeout) {
      p.idle.front()->close();
      p.idle.pop_front();
      --p.open;
    }
  }

  void deliver(Job& job, core::Result<HttpResponse> r) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    if (!r) errors_.fetch_add(1, std::memory_order_relaxed);
    HttpClient::Done done = std::move(job.done);
    if (done) done(std::move(r));
  }

  // ---- coroutines ------------------------------------------------------------

  static asio::awaitable<void> sweep(std::shared_ptr<Impl> self) {
    const core::Duration period =
        std::max(core::Duration(1000), self->options_.idle_timeout / 2);
    while (!self->stopped_) {
      self->sweeper_.expires_after(period);
      auto [ec] = co_await self->sweeper_.async_wait(kTuple);
      if (ec || self->stopped_) break;
      const auto now = std::chrono::steady_clock::now();
      for (auto& [key, pool] : self->pools_) self->drop_stale(pool, now);
    }
  }

  static asio::awaitable<void> run(std::shared_ptr<Impl> self, std::string key,
                                   std::unique_ptr<Conn> conn, Job job) {
    for (;;) {
      const bool reused = conn != nullptr;
      if (!conn) {
        auto c = co_await self->connect(job.base);
        if (!c) {
          self->closed(key);
          self->deliver(job, std::move(c).error());
          co_return;
        }
        conn = std::move(*c);
      } else {
        self->reused_.fetch_add(1, std::memory_order_relaxed);
      }
      bool answer_started = false;
      bool keep = false;
      boost::system::error_code io_error;
      auto res = co_await self->exchange(*conn, job, &answer_started, &keep, &io_error);
      if (!res && reused && !answer_started && !job.retried && is_stale_error(io_error)) {
        // The keep-alive race (header comment): once more, on a new connection
        // in the same slot of the pool.
        conn->close();
        conn.reset();
        job.retried = true;
        self->retried_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      ++conn->uses;
      if (res && keep) {
        self->release(key, std::move(conn));
      } else {
        conn->close();
        conn.reset();
        self->closed(key);
      }
      self->deliver(job, std::move(res));
      co_return;
    }
  }

  asio::awaitable<core::Result<std::unique_ptr<Conn>>> connect(const BaseUrl& base) {
    auto conn = std::make_unique<Conn>(strand_, *ctx_);
    beast::tcp_stream& ts = conn->stream.next_layer();
    const std::string where = base.origin();
    std::vector<tcp::endpoint> endpoints;
    boost::system::error_code aec;
    const asio::ip::address addr = asio::ip::make_address(base.host, aec);
    if (!aec) {
      endpoints.emplace_back(addr, base.port);
    } else {
      // Asio resolves with a blocking getaddrinfo() on a thread of its own,
      // and resolver.cancel() cannot stop a lookup that has begun: awaiting
      // the resolver would let a DNS server that never answers hold the
      // request past connect_timeout. So the lookup owns its state, shared
      // with its handler, and we await a timer that the handler cuts short;
      // a lookup that ends after the deadline ends there, unheard.
      auto lookup = std::make_shared<Lookup>(strand_);
      lookup->wake.expires_after(options_.connect_timeout);
      lookup->resolver.async_resolve(
          base.host, std::to_string(base.port),
          [lookup](boost::system::error_code ec, tcp::resolver::results_type results) {
            lookup->done = true;
            lookup->ec = ec;
            lookup->results = std::move(results);
            lookup->wake.cancel();
          });
      (void)co_await lookup->wake.async_wait(kTuple);
      if (!lookup->done) {
        lookup->resolver.cancel();  // if it has not begun yet, it never will
        co_return core::make_error(core::Errc::kDeadlineExceeded,
                                   fmt::format("resolving {} timed out after {}", base.host,
                                               seconds_text(options_.connect_timeout)));
      }
      if (lookup->ec) {
        co_return core::make_error(
            core::Errc::kUnavailable,
            fmt::format("resolving {}: {}", base.host, lookup->ec.message()));
      }
      for (const auto& e : lookup->results) endpoints.push_back(e.endpoint());
    }
    ts.expires_after(options_.connect_timeout);
    auto [cec, ep] = co_await ts.async_connect(endpoints, kTuple);
    if (cec) {
      const bool late = cec == beast::error::timeout;
      co_return core::make_error(
          late ? core::Errc::kDeadlineExceeded : core::Errc::kUnavailable,
          late ? fmt::format("connect to {} timed out after {}", where,
                             seconds_text(options_.connect_timeout))
               : fmt::format("connect to {}: {}", where, cec.message()));
    }
    boost::system::error_code nd;
    ts.socket().set_option(tcp::no_delay(true), nd);
    opened_.fetch_add(1, std::memory_order_relaxed);
    if (base.tls) {
      conn->tls = true;
      // SNI carries names only (RFC 6066 §3), never an address literal.
      if (!is_ip_literal(base.host) &&
          SSL_set_tlsext_host_name(conn->stream.native_handle(), base.host.c_str()) != 1) {
        co_return core::make_error(core::Errc::kUnavailable,
                                   fmt::format("TLS to {}: cannot set SNI", where));
      }
      if (options_.verify_peer) {
        conn->stream.set_verify_mode(ssl::verify_peer);
        conn->stream.set_verify_callback(ssl::host_name_verification(base.host));
      } else {
        conn->stream.set_verify_mode(ssl::verify_none);
      }
      ts.expires_after(options_.tls_timeout);
      auto [hec] = co_await conn->stream.async_handshake(ssl::stream_base::client, kTuple);
      if (hec) {
        const bool late = hec == beast::error::timeout;
        co_return core::make_error(
            late ? core::Errc::kDeadlineExceeded : core::Errc::kUnavailable,
            late ? fmt::format("TLS handshake with {} timed out after {}", where,
                               seconds_text(options_.tls_timeout))
                 : fmt::format("TLS handshake with {}: {}", where, hec.message()));
      }
    }
    co_return conn;
  }

  asio::awaitable<core::Result<HttpResponse>> exchange(Conn& c, const Job& job,
                                                       bool* answer_started, bool* keep,
                                                       boost::system::error_code* io_error) {
    // REQUIRES: check_request(job.request) passed (start() did).
    const HttpRequest& in = job.request;
    const std::string where = job.base.origin();
    const http::verb verb = http::string_to_verb(in.method);
    http::request<http::string_body> req{verb, job.base.path + in.target, 11};
    const bool default_port = job.base.port == (job.base.tls ? 443 : 80);
    const bool v6 = job.base.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + job.base.host + "]" : job.base.host;
    if (!default_port) host += ":" + std::to_string(job.base.port);
    req.set(http::field::host, host);
    req.set(http::field::user_agent, options_.user_agent);
    for (const auto& [name, value] : in.headers) req.set(name, value);
    req.body() = in.body;
    req.keep_alive(true);
    req.prepare_payload();

    beast::tcp_stream& ts = c.stream.next_layer();
    ts.expires_after(options_.request_timeout);
    boost::system::error_code wec;
    if (c.tls) {
      std::tie(wec, std::ignore) = co_await http::async_write(c.stream, req, kTuple);
    } else {
      std::tie(wec, std::ignore) = co_await http::async_write(ts, req, kTuple);
    }
    if (wec) {
      *io_error = wec;
      co_return io_failure(wec, "sending the request to", where);
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_response_bytes);
    // The answer to HEAD has the headers of a GET, Content-Length included,
    // and never a body (RFC 9110 §9.3.2): without skip() the parser would
    // wait for that body until the deadline.
    if (verb == http::verb::head) parser.skip(true);
    parser.header_limit(64 * 1024);
    boost::system::error_code rec;
    size_t got = 0;
    if (c.tls) {
      std::tie(rec, got) = co_await http::async_read(c.stream, c.buffer, parser, kTuple);
    } else {
      std::tie(rec, got) = co_await http::async_read(ts, c.buffer, parser, kTuple);
    }
    *answer_started = got > 0 || parser.got_some();
    if (rec) {
      *io_error = rec;
      if (rec == http::error::body_limit) {
        co_return core::make_error(core::Errc::kTooLarge,
                                   fmt::format("the answer of {} is larger than {} bytes", where,
                                               options_.max_response_bytes));
      }
      co_return io_failure(rec, "reading the answer of", where);
    }
    auto& msg = parser.get();
    HttpResponse out;
    out.status = msg.result_int();
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (char& ch : name) {
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
      }
      out.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    out.body = std::move(msg.body());
    *keep = msg.keep_alive();
    co_return out;
  }

  core::Error io_failure(const boost::system::error_code& ec, std::string_view what,
                         const std::string& where) const {
    if (ec == beast::error::timeout) {
      return core::make_error(core::Errc::kDeadlineExceeded,
                              fmt::format("{} {} timed out after {}", what, where,
                                          seconds_text(options_.request_timeout)));
    }
    return core::make_error(core::Errc::kUnavailable,
                            fmt::format("{} {}: {}", what, where, ec.message()));
  }

  asio::strand<asio::any_io_executor> strand_;
  const HttpClientOptions options_;
  std::unique_ptr<ssl::context> ctx_;
  asio::steady_timer sweeper_;
  std::unordered_map<std::string, Pool> pools_;
  bool stopped_ = false;
  std::atomic<uint64_t> requests_{0}, errors_{0}, opened_{0}, reused_{0}, retried_{0};
};

class Client final : public HttpClient {
 public:
  explicit Client(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  ~Client() override { impl_->shutdown(); }
  void request(const BaseUrl& base, HttpRequest req, Done done) override {
    impl_->request(base, std::move(req), std::move(done));
  }
  void shutdown() override { impl_->shutdown(); }
  HttpClientStats stats() const override { return impl_->stats(); }

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace

core::Result<std::shared_ptr<HttpClient>> HttpClient::create(asio::any_io_executor ex,
                                                             HttpClientOptions options) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression);
  boost::system::error_code ec;
  if (!options.ca_file.empty()) {
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) {
      return core::invalid_argument(
          "http.ca_file", fmt::format("http.ca_file: cannot load \"{}\": {}", options.ca_file,
                                      ec.message()));
    }
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      return core::invalid_argument(
          "http.ca_file",
          fmt::format("http.ca_file: no CA bundle given and the system's does not load: {}",
                      ec.message()));
    }
  }
  auto impl = std::make_shared<Impl>(std::move(ex), std::move(options), std::move(ctx));
  impl->start_sweeper();
  return std::shared_ptr<HttpClient>(std::make_shared<Client>(std::move(impl)));
}

}  // namespace transports
