// tests/transports/http_client_fixture.h: the loopback servers, the client
// loop and the fixture of the HTTP client tests (http_client_test.cpp,
// http_client_tls_test.cpp). Everything is in an anonymous namespace:
// each test file gets its own copy.
#pragma once

#include "transports/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>


namespace transports {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using providers::HttpRequest;
using providers::HttpResponse;
using namespace std::chrono_literals;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// The upper bound of any single wait in these tests.
constexpr auto kLimit = 20s;

std::string source_dir() {
  if (const char* env = std::getenv("VESTNIK_SOURCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef VESTNIK_SOURCE_DIR
  return VESTNIK_SOURCE_DIR;
#else
  return ".";
#endif
}
std::string test_data(const char* name) { return source_dir() + "/tests/fakes/data/" + name; }

// ---- the test server ----------------------------------------------------------

struct SeenRequest {
  int conn = 0;  // the server's connection number, from 1
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // as sent
  std::string body;
  // The first header named `name` (case-insensitive), or "<none>".
  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (beast::iequals(n, name)) return v;
    }
    return "<none>";
  }
};

using Response = http::response<http::string_body>;

struct ServerOptions {
  enum class Mode {
    kHttp,    // answers every request
    kSilent,  // accepts, reads and discards, never answers (nor speaks TLS)
  };
  Mode mode = Mode::kHttp;
  bool tls = false;
  std::string address = "127.0.0.1";
  std::chrono::milliseconds delay{0};  // before each answer
  bool connection_close = false;       // answer with "Connection: close", then close
  // > 0: a connection idle this long after an answer is closed silently (no
  // "Connection: close" was sent), as servers with a keep-alive timeout do.
  std::chrono::milliseconds idle_close{0};
  // Adjusts the default answer (200, "X-Conn: <n>", body "ok <n>").
  std::function<void(const SeenRequest&, Response&)> respond;
  // True: the request is read, then the connection closed without an answer.
  std::function<bool(const SeenRequest&)> drop;
};

class TestServer {
 public:
  explicit TestServer(ServerOptions o) : options_(std::move(o)) {
    ioc_ = std::make_unique<asio::io_context>(1);
    tcp::acceptor acceptor(*ioc_);
    const tcp::endpoint ep(asio::ip::make_address(options_.address), 0);
    boost::system::error_code ec;
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      bind_error_ = ec.message();
      return;
    }
    port_ = acceptor.local_endpoint().port();
    if (options_.tls) {
      tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
      tls_->use_certificate_chain_file(test_data("server_cert.pem"));
      tls_->use_private_key_file(test_data("server_key.pem"), ssl::context::pem);
    }
    asio::co_spawn(*ioc_, accept_loop(std::move(acceptor)), asio::detached);
    thread_ = std::thread([this] { ioc_->run(); });
  }
  ~TestServer() {
    ioc_->stop();
    if (thread_.joinable()) thread_.join();
    ioc_.reset();  // destroys the sessions' frames while the counters live
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  bool ok() const { return bind_error_.empty(); }
  const std::string& bind_error() const { return bind_error_; }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int open() const { return open_.load(); }
  int max_open() const { return max_open_.load(); }
  size_t bytes_received() const { return bytes_.load(); }
  std::vector<SeenRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  struct OpenGuard {
    explicit OpenGuard(TestServer* s) : s_(s) {
      const int now = ++s_->open_;
      int seen = s_->max_open_.load();
      while (now > seen && !s_->max_open_.compare_exchange_weak(seen, now)) {
      }
    }
    ~OpenGuard() { --s_->open_; }
    TestServer* s_;
  };

  asio::awaitable<void> accept_loop(tcp::acceptor acceptor) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) co_return;
      const int id = ++accepted_;
      asio::co_spawn(*ioc_, session(std::move(socket), id), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket, int id) {
    OpenGuard guard(this);
    if (options_.mode == ServerOptions::Mode::kSilent) {
      char data[4096];
      for (;;) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(data), kTuple);
        bytes_ += n;
        if (ec) co_return;
      }
    }
    if (!options_.tls) {
      beast::tcp_stream stream(std::move(socket));
      co_await serve(stream, stream, id);
      co_return;
    }
    ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls_);
    stream.next_layer().expires_after(30s);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
    if (ec) co_return;
    co_await serve(stream, stream.next_layer(), id);
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, beast::tcp_stream& ts, int id) {
    beast::flat_buffer buffer;
    for (int served = 0;; ++served) {
      ts.expires_after(served > 0 && options_.idle_close.count() > 0
                           ? std::chrono::steady_clock::duration(options_.idle_close)
                           : std::chrono::steady_clock::duration(30s));
      http::request<http::string_body> req;
      auto [rec, n] = co_await http::async_read(stream, buffer, req, kTuple);
      bytes_ += n;
      if (rec) co_return;  // the client left, or idle_close: close without a word
      SeenRequest seen;
      seen.conn = id;
      seen.method = std::string(req.method_string());
      seen.target = std::string(req.target());
      for (const auto& f : req) {
        seen.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      }
      seen.body = req.body();
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(seen);
      }
      if (options_.drop && options_.drop(seen)) co_return;
      if (options_.delay.count() > 0) {
        asio::steady_timer t(co_await asio::this_coro::executor, options_.delay);
        co_await t.async_wait(kTuple);
      }
      Response res{http::status::ok, 11};
      res.set("X-Conn", std::to_string(id));
      res.body() = "ok " + std::to_string(id);
      res.keep_alive(!options_.connection_close);
      res.prepare_payload();
      if (options_.respond) options_.respond(seen, res);
      ts.expires_after(30s);
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec || options_.connection_close) co_return;
    }
  }

  ServerOptions options_;
  std::string bind_error_;
  uint16_t port_ = 0;
  std::unique_ptr<ssl::context> tls_;
  std::atomic<int> accepted_{0}, open_{0}, max_open_{0};
  std::atomic<size_t> bytes_{0};
  mutable std::mutex mu_;
  std::vector<SeenRequest> requests_;
  std::unique_ptr<asio::io_context> ioc_;
  std::thread thread_;
};

// ---- the client side ----------------------------------------------------------

// The client's io_context, run by two threads (the client must serialise on
// its strand by itself).
class ClientLoop {
 public:
  ClientLoop() : work_(asio::make_work_guard(ioc_)) {
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] {
        ioc_.run();
        std::lock_guard<std::mutex> lock(mu_);
        ++finished_;
        cv_.notify_all();
      });
    }
  }
  ~ClientLoop() {
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }
  asio::any_io_executor executor() { return ioc_.get_executor(); }

  // Lets the io_context run out of work: true when it did within `limit`,
  // i.e. nothing of the client was left pending.
  bool drain(std::chrono::seconds limit) {
    work_.reset();
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [this] { return finished_ == threads_.size(); });
  }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t finished_ = 0;
};

using Answer = core::Result<HttpResponse>;

// One request's outcome; `calls` checks the "exactly once" of the contract.
struct Pending {
  std::shared_ptr<std::promise<Answer>> promise = std::make_shared<std::promise<Answer>>();
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::future<Answer> future = promise->get_future();

  HttpClient::Done done() {
    return [p = promise, c = calls](Answer a) {
      if (c->fetch_add(1) == 0) p->set_value(std::move(a));
    };
  }
  Answer get(std::chrono::seconds limit = kLimit) {
    if (future.wait_for(limit) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within " << limit.count() << " s";
      return core::make_error(core::Errc::kInternal, "test: no answer");
    }
    Answer a = future.get();
    EXPECT_EQ(calls->load(), 1);
    return a;
  }
};

Pending send(HttpClient& client, const BaseUrl& base, HttpRequest req) {
  Pending p;
  client.request(base, std::move(req), p.done());
  return p;
}

Answer call(HttpClient& client, const BaseUrl& base, HttpRequest req) {
  return send(client, base, std::move(req)).get();
}

HttpRequest get(std::string target) {
  HttpRequest r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

BaseUrl url_of(bool tls, const std::string& host, uint16_t port, std::string path = "") {
  BaseUrl b;
  b.tls = tls;
  b.host = host;
  b.port = port;
  b.path = std::move(path);
  return b;
}

std::string describe(const Answer& a) {
  if (a) return "status " + std::to_string(a->status);
  return a.error().to_string();
}

// Waits until `pred` holds, up to `limit`.
bool eventually(const std::function<bool()>& pred, std::chrono::seconds limit = kLimit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// A port on 127.0.0.1 where nothing listens (bound once, then released).
[[maybe_unused]] uint16_t closed_port() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = a.local_endpoint().port();
  a.close();
  return port;
}

HttpClientOptions test_options() {
  HttpClientOptions o;
  o.ca_file = test_data("ca.pem");
  o.connect_timeout = core::Duration(5'000);
  o.tls_timeout = core::Duration(5'000);
  o.request_timeout = core::Duration(5'000);
  return o;
}

// A client on its own loop; at the end the client goes away and the loop
// must run dry by itself.
class HttpClientTest : public ::testing::Test {
 protected:
  std::shared_ptr<HttpClient> make(HttpClientOptions o = test_options()) {
    auto c = HttpClient::create(loop_.executor(), std::move(o));
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().to_string());
    client_ = c ? *c : nullptr;
    return client_;
  }
  void TearDown() override {
    client_.reset();
    EXPECT_TRUE(loop_.drain(kLimit)) << "the client left work pending after it was destroyed";
  }

  ClientLoop loop_;
  std::shared_ptr<HttpClient> client_;
};

using Clock = std::chrono::steady_clock;
[[maybe_unused]] double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace
}  // namespace transports
