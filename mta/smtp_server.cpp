// mta/smtp_server.cpp: the listener: binding, accepting, connection limits
// and the graceful stop. The dialogue itself is smtp_server_session*.cpp.
//
// Threading model (STYLE.md R6): the acceptor on a strand of its own, each
// accepted socket on a new strand of the same executor, one coroutine per
// connection whose frame owns the socket. The listener keeps a small
// Connection record per session only to count sessions per client address
// and to find them when stopping; the records are guarded by mu_.
//
// Limits are decided at accept, before any byte is read: over
// max_connections, or over max_connections_per_ip for that address, the
// client gets "421 4.7.0" instead of the banner and is closed. Refused
// connections are never counted as open.
#include <openssl/ssl.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <ctime>
#include <mutex>
#include <unordered_map>

#include "core/log.h"
#include "mta/smtp_server_session.h"

namespace mta {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kRefuseTime = std::chrono::seconds(2);

// Every co_spawn top frame ends here: `detached` would drop the exception.
struct LogFailure {
  const char* what;
  void operator()(std::exception_ptr e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      core::log::error("smtp listener coroutine failed", {{"where", what}, {"error", x.what()}});
    } catch (...) {
      core::log::error("smtp listener coroutine failed",
                       {{"where", what}, {"error", "unknown exception"}});
    }
  }
};

std::string machine_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

core::Error listen_error(core::Errc code, const std::string& message) {
  return core::make_error(code, "listener.listen: " + message, "listener.listen");
}

core::Result<tcp::endpoint> parse_listen(const asio::any_io_executor& ex, const std::string& listen) {
  auto hp = core::parse_host_port(listen);
  if (!hp) return listen_error(core::Errc::kInvalidArgument, "'" + listen + "' is not host:port");
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(hp->host, ec);
  if (!ec) return tcp::endpoint(addr, hp->port);
  // A name ("localhost"): resolved once, here at startup.
  tcp::resolver resolver(ex);
  auto results = resolver.resolve(hp->host, std::to_string(hp->port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return listen_error(core::Errc::kUnavailable,
                        "cannot resolve '" + hp->host + "': " + ec.message());
  }
  return results.begin()->endpoint();
}

core::Result<std::unique_ptr<ssl::context>> make_tls(const core::ListenerConfig& c) {
  if (c.tls_cert.empty() && c.tls_key.empty()) return std::unique_ptr<ssl::context>();
  if (c.tls_cert.empty() || c.tls_key.empty()) {
    return core::invalid_argument("listener.tls_cert",
                                  "listener.tls_cert and listener.tls_key go together");
  }
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  // TLS 1.2 and later only; no compression, fresh DH keys.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // A client-initiated renegotiation buys a client nothing here and costs
  // us a handshake each time.
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(c.tls_cert, ec);
  if (ec) {
    return core::invalid_argument("listener.tls_cert", "listener.tls_cert: cannot load '" +
                                                           c.tls_cert + "': " + ec.message());
  }
  ctx->use_private_key_file(c.tls_key, ssl::context::pem, ec);
  if (ec) {
    return core::invalid_argument("listener.tls_key", "listener.tls_key: cannot load '" +
                                                          c.tls_key + "': " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return core::invalid_argument("listener.tls_key",
                                  "listener.tls_key does not match listener.tls_cert");
  }
  return ctx;
}

}  // namespace

class SmtpServer::Impl : public std::enable_shared_from_this<SmtpServer::Impl> {
 public:
  Impl(const core::ListenerConfig& config, const core::InboundConfig& inbound, InjectSink& sink,
       asio::any_io_executor executor, const core::Clock& clock,
       std::shared_ptr<const AcceptancePolicy> policy)
      : shared_(std::make_shared<server::Shared>(config, sink, clock)),
        inbound_(inbound),
        executor_(std::move(executor)),
        acceptor_(asio::make_strand(executor_)) {
    shared_->policy = std::move(policy);
    shared_->hostname = config.hostname.empty() ? machine_hostname() : config.hostname;
  }

  core::Result<tcp::endpoint> start();
  void stop(std::chrono::milliseconds grace, std::function<void()> drained);
  size_t connections() const noexcept { return open_.load(); }

 private:
  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self);
  static asio::awaitable<void> refuse(tcp::socket socket, std::string reply);
  static asio::awaitable<void> session(std::shared_ptr<Impl> self,
                                       std::shared_ptr<server::Connection> conn,
                                       tcp::socket socket);
  // The refusal for a new connection from `ip`, or empty when it may open.
  // On success the connection is registered in *conn.
  std::string admit(const std::string& ip, const asio::any_io_executor& strand,
                    std::shared_ptr<server::Connection>* conn);
  void session_ended(const server::Connection& conn);
  void kill_all();

  std::shared_ptr<server::Shared> shared_;
  const core::InboundConfig inbound_;  // for the policy start() builds
  asio::any_io_executor executor_;
  tcp::acceptor acceptor_;  // on its own strand
  std::atomic<size_t> open_{0};

  std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<server::Connection>> live_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, uint32_t> per_ip_;                         // GUARDED_BY(mu_)
  std::vector<std::function<void()>> drained_;                               // GUARDED_BY(mu_)
  std::shared_ptr<asio::steady_timer> grace_timer_;                          // GUARDED_BY(mu_)
  uint64_t next_id_ = 0;                                                     // GUARDED_BY(mu_)
};

core::Result<tcp::endpoint> SmtpServer::Impl::start() {
  const core::ListenerConfig& cfg = shared_->config;
  if (!shared_->policy) {
    auto policy = InjectionPolicy::create(cfg, inbound_);
    if (!policy) return std::move(policy).error();
    if ((*policy)->receives()) {
      core::log::info("smtp listener receives",
                      {{"domains", uint64_t{inbound_.domains.size()}},
                       {"addresses", uint64_t{inbound_.addresses.size()}}});
    }
    shared_->policy = std::shared_ptr<const AcceptancePolicy>(std::move(*policy));
  }
  auto tls = make_tls(cfg);
  if (!tls) return std::move(tls).error();
  shared_->tls = std::move(*tls);

  auto ep = parse_listen(executor_, cfg.listen);
  if (!ep) return std::move(ep).error();
  auto fail = [&](const char* step, const boost::system::error_code& ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return listen_error(core::Errc::kUnavailable,
                        std::string("cannot ") + step + " " + cfg.listen + ": " + ec.message());
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
  const tcp::endpoint bound = acceptor_.local_endpoint(ec);
  if (ec) return fail("read the address of", ec);
  core::log::info("smtp listening", {{"listen", cfg.listen},
                                     {"port", uint64_t{bound.port()}},
                                     {"starttls", shared_->tls != nullptr}});
  asio::co_spawn(acceptor_.get_executor(), accept_loop(shared_from_this()), LogFailure{"accept"});
  return bound;
}

asio::awaitable<void> SmtpServer::Impl::accept_loop(std::shared_ptr<Impl> self) {
  for (;;) {
    auto [ec, socket] = co_await self->acceptor_.async_accept(
        asio::any_io_executor(asio::make_strand(self->executor_)), kNoThrow);
    if (self->shared_->stopping.load()) break;
    if (ec) {
      if (ec == asio::error::operation_aborted) break;
      // Out of descriptors (EMFILE) and the like: pause instead of spinning.
      core::log::warn("smtp accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    boost::system::error_code rec;
    const auto remote = socket.remote_endpoint(rec);
    if (rec) continue;  // already gone
    const std::string ip = server::normalize(remote.address()).to_string();
    std::shared_ptr<server::Connection> conn;
    const asio::any_io_executor ex = socket.get_executor();
    std::string refusal = self->admit(ip, ex, &conn);
    if (!refusal.empty()) {
      core::log::info("smtp connection refused", {{"client", ip}, {"reason", refusal}});
      asio::co_spawn(ex, refuse(std::move(socket), std::move(refusal)), LogFailure{"refuse"});
      continue;
    }
    asio::co_spawn(ex, session(self, std::move(conn), std::move(socket)), LogFailure{"session"});
  }
}

std::string SmtpServer::Impl::admit(const std::string& ip, const asio::any_io_executor& strand,
                                    std::shared_ptr<server::Connection>* conn) {
  const core::ListenerConfig& cfg = shared_->config;
  std::lock_guard lock(mu_);
  // 0 means no limit.
  if (cfg.max_connections > 0 && live_.size() >= cfg.max_connections) {
    return "421 4.7.0 " + shared_->hostname + " Error: too many connections, try again later\r\n";
  }
  uint32_t& n = per_ip_[ip];
  if (cfg.max_connections_per_ip > 0 && n >= cfg.max_connections_per_ip) {
    return "421 4.7.0 " + shared_->hostname + " Error: too many connections from " + ip +
           ", try again later\r\n";
  }
  ++n;
  auto c = std::make_shared<server::Connection>();
  c->id = next_id_++;
  c->ip = ip;
  c->strand = strand;
  live_.emplace(c->id, c);
  open_.store(live_.size());
  *conn = std::move(c);
  return {};
}

// Over a limit: the 421 instead of a banner, then close, bounded in time.
asio::awaitable<void> SmtpServer::Impl::refuse(tcp::socket socket, std::string reply) {
  asio::steady_timer timer(socket.get_executor());
  timer.expires_after(kRefuseTime);
  timer.async_wait([&socket](boost::system::error_code ec) {
    if (!ec) socket.cancel();
  });
  co_await asio::async_write(socket, asio::buffer(reply), kNoThrow);
  timer.cancel();
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

asio::awaitable<void> SmtpServer::Impl::session(std::shared_ptr<Impl> self,
                                                std::shared_ptr<server::Connection> conn,
                                                tcp::socket socket) {
  // Runs however the frame ends: return, exception, or destruction of a
  // suspended frame with the io_context.
  struct Ended {
    Impl* impl;
    server::Connection* conn;
    ~Ended() { impl->session_ended(*conn); }
  } ended{self.get(), conn.get()};
  co_await server::run_session(self->shared_, *conn, std::move(socket));
}

void SmtpServer::Impl::session_ended(const server::Connection& conn) {
  std::vector<std::function<void()>> done;
  std::shared_ptr<asio::steady_timer> timer;
  {
    std::lock_guard lock(mu_);
    live_.erase(conn.id);
    auto it = per_ip_.find(conn.ip);
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
    open_.store(live_.size());
    if (live_.empty() && shared_->stopping.load()) {
      done.swap(drained_);
      timer = std::move(grace_timer_);
    }
  }
  if (timer) timer->cancel();
  for (auto& f : done) f();
}

void SmtpServer::Impl::stop(std::chrono::milliseconds grace, std::function<void()> drained) {
  const bool first = !shared_->stopping.exchange(true);
  if (first) {
    core::log::info("smtp listener stopping", {{"connections", uint64_t{open_.load()}}});
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }
  std::vector<std::shared_ptr<server::Connection>> conns;
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
    if (!live_.empty() && !grace_timer_) {
      grace_timer_ = std::make_shared<asio::steady_timer>(executor_, grace);
      grace_timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->kill_all();
      });
    }
  }
  // Runs on each connection's strand, so it cannot interleave with the
  // session's own steps: a session idle now has a read pending, and one
  // that is not will see `stopping` before it waits for a command again.
  for (auto& c : conns) {
    asio::post(c->strand, [c] {
      boost::system::error_code ignored;
      if (c->idle && c->socket != nullptr) c->socket->cancel(ignored);
    });
  }
  if (now) asio::post(executor_, std::move(drained));
}

// The grace ran out: every session still open is closed where it stands.
void SmtpServer::Impl::kill_all() {
  std::vector<std::shared_ptr<server::Connection>> conns;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, c] : live_) conns.push_back(c);
  }
  if (!conns.empty()) {
    core::log::warn("smtp listener stop: closing sessions", {{"sessions", uint64_t{conns.size()}}});
  }
  for (auto& c : conns) {
    asio::post(c->strand, [c] {
      c->killed = true;
      boost::system::error_code ignored;
      if (c->socket != nullptr) c->socket->close(ignored);
    });
  }
}

SmtpServer::SmtpServer(const core::ListenerConfig& config, const core::InboundConfig& inbound,
                       InjectSink& sink, asio::any_io_executor executor, const core::Clock& clock,
                       std::shared_ptr<const AcceptancePolicy> policy)
    : impl_(std::make_shared<Impl>(config, inbound, sink, std::move(executor), clock,
                                   std::move(policy))) {}

SmtpServer::SmtpServer(const core::ListenerConfig& config, InjectSink& sink,
                       asio::any_io_executor executor, const core::Clock& clock,
                       std::shared_ptr<const AcceptancePolicy> policy)
    : SmtpServer(config, core::InboundConfig{}, sink, std::move(executor), clock,
                 std::move(policy)) {}

SmtpServer::~SmtpServer() { impl_->stop(std::chrono::milliseconds(0), {}); }

core::Result<tcp::endpoint> SmtpServer::start() { return impl_->start(); }

void SmtpServer::stop(std::chrono::milliseconds grace, std::function<void()> drained) {
  impl_->stop(grace, std::move(drained));
}

size_t SmtpServer::connections() const noexcept { return impl_->connections(); }

}  // namespace mta
