// tests/transports/http_client_test.cpp: the shared HTTPS client
// (transports/http_client.cpp) against in-process loopback servers: URL
// parsing, the round trip, keep-alive reuse and its race, the pool limit and
// its queue, every phase's deadline, verified TLS, the answer size limit,
// invalid requests and shutdown (issue #6).
//
// Each test runs its own servers (Asio on a thread, 127.0.0.1 port 0) and
// the client on an io_context of its own; every wait is bounded, and at the
// end the client's io_context must run out of work by itself once the client
// is gone (nothing left pending: no sweeper, no idle connection, no timer).
// Timings are upper bounds only, and generous: the VM is shared.
#include "transports/http_client.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <netdb.h>

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

// ---- a DNS server that never answers ------------------------------------------
//
// The client resolves names with getaddrinfo() (through Asio). This
// definition in the test binary takes the place of the C library's (symbol
// interposition): names under "hang.invalid" block until the test lets them
// go (as a lookup does against a DNS server that drops queries), every other
// name goes to the real one.
namespace hung_dns {
std::mutex mu;
std::condition_variable cv;
bool blocking = false;
int entered = 0;

bool hangs(const char* name) {
  const std::string_view n = name != nullptr ? name : "";
  return n == "hang.invalid" || n.ends_with(".hang.invalid");
}

// Blocks lookups of hang.invalid while it lives; lets them go at the end.
struct Scope {
  Scope() {
    std::lock_guard<std::mutex> lock(mu);
    blocking = true;
    entered = 0;
  }
  ~Scope() {
    std::lock_guard<std::mutex> lock(mu);
    blocking = false;
    cv.notify_all();
  }
  int lookups() const {
    std::lock_guard<std::mutex> lock(mu);
    return entered;
  }
};
}  // namespace hung_dns

extern "C" int getaddrinfo(const char* name, const char* service, const struct addrinfo* hints,
                           struct addrinfo** res) {
  using Fn = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "getaddrinfo"));
  if (hung_dns::hangs(name)) {
    std::unique_lock<std::mutex> lock(hung_dns::mu);
    ++hung_dns::entered;
    hung_dns::cv.wait_for(lock, std::chrono::seconds(60), [] { return !hung_dns::blocking; });
    return EAI_NONAME;
  }
  return real(name, service, hints, res);
}

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
uint16_t closed_port() {
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
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---- parse_base_url -------------------------------------------------------------

TEST(ParseBaseUrl, Accepts) {
  struct Case {
    const char* url;
    bool tls;
    const char* host;
    uint16_t port;
    const char* path;
    const char* origin;
  };
  const Case cases[] = {
      {"https://api.telegram.org", true, "api.telegram.org", 443, "",
       "https://api.telegram.org:443"},
      {"https://api.telegram.org/", true, "api.telegram.org", 443, "",
       "https://api.telegram.org:443"},
      {"http://example.com", false, "example.com", 80, "", "http://example.com:80"},
      {"http://127.0.0.1:8081/prefix", false, "127.0.0.1", 8081, "/prefix",
       "http://127.0.0.1:8081"},
      {"http://127.0.0.1:8081/prefix/", false, "127.0.0.1", 8081, "/prefix",
       "http://127.0.0.1:8081"},
      {"https://h.example:65535/a/b//", true, "h.example", 65535, "/a/b",
       "https://h.example:65535"},
      {"https://[::1]:8443", true, "::1", 8443, "", "https://[::1]:8443"},
      {"https://[::1]", true, "::1", 443, "", "https://[::1]:443"},
      {"http://[2001:db8::1]:1/v1", false, "2001:db8::1", 1, "/v1", "http://[2001:db8::1]:1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.url);
    auto b = parse_base_url(c.url, "telegram.base_url");
    ASSERT_TRUE(b.has_value()) << b.error().to_string();
    EXPECT_EQ(b->tls, c.tls);
    EXPECT_EQ(b->host, c.host);
    EXPECT_EQ(b->port, c.port);
    EXPECT_EQ(b->path, c.path);
    EXPECT_EQ(b->origin(), c.origin);
  }
}

TEST(ParseBaseUrl, RefusesNamingTheField) {
  const char* const cases[] = {
      "api.telegram.org",            // no scheme
      "ftp://api.telegram.org",      // another scheme
      "",                            //
      "https://",                    // empty host
      "https:///bot",                //
      "https://:8443",               //
      "https://h.example/?x=1",      // query
      "https://h.example/p#frag",    // fragment
      "https://user:pw@h.example",   // user info
      "https://user@h.example",      //
      "https://h.example:0",         // bad ports
      "https://h.example:65536",     //
      "https://h.example:99999999",  //
      "https://h.example:-1",        //
      "https://h.example:abc",       //
      "https://h.example:",          //
      "https://h.example:80x/",      //
      "https://[::1]:",              //
      "https://[::1]:x",             //
      "https://[::1",                // unclosed bracket
      "https://[::1]x",              //
      "https://[h.example]:80",      // not an address inside brackets
      "https://::1:8443",            // IPv6 without brackets
      "https://h example",           // space
      "https://h.example/a\r\nb",    // control characters
  };
  for (const char* url : cases) {
    SCOPED_TRACE(url);
    auto b = parse_base_url(url, "telegram.base_url");
    ASSERT_FALSE(b.has_value()) << "accepted: host " << b->host << " port " << b->port;
    EXPECT_EQ(b.error().code, core::Errc::kInvalidArgument);
    EXPECT_EQ(b.error().field, "telegram.base_url");
    EXPECT_EQ(b.error().message.rfind("telegram.base_url: ", 0), 0u) << b.error().message;
  }
}

// ---- the round trip -----------------------------------------------------------------

TEST_F(HttpClientTest, RoundTripSendsTheRequestAndReadsTheAnswer) {
  ServerOptions so;
  so.respond = [](const SeenRequest& r, Response& res) {
    res.result(http::status::created);
    res.set("X-Reply", "yes");
    res.set(http::field::content_type, "application/json");
    res.body() = "{\"echo\":\"" + r.body + "\"}";
    res.prepare_payload();
  };
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  auto client = make();

  HttpRequest req;
  req.method = "POST";
  req.target = "/bot123:ABC/sendMessage?x=1";
  req.headers = {{"Content-Type", "application/json"}, {"X-Custom", "v 1"}};
  req.body = "hello";
  auto a = call(*client, url_of(false, "127.0.0.1", server.port(), "/prefix"), req);
  ASSERT_TRUE(a.has_value()) << describe(a);
  EXPECT_EQ(a->status, 201u);
  EXPECT_EQ(a->header("x-reply"), "yes");
  EXPECT_EQ(a->header("content-type"), "application/json");
  EXPECT_EQ(a->header("x-conn"), "1");
  EXPECT_EQ(a->body, "{\"echo\":\"hello\"}");
  for (const auto& [name, value] : a->headers) {
    for (const char ch : name) EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << name;
  }

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/prefix/bot123:ABC/sendMessage?x=1");
  EXPECT_EQ(seen[0].header("Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0].header("Content-Type"), "application/json");
  EXPECT_EQ(seen[0].header("X-Custom"), "v 1");
  EXPECT_EQ(seen[0].header("Content-Length"), "5");
  EXPECT_EQ(seen[0].header("User-Agent"), "vestnik");
  EXPECT_EQ(seen[0].body, "hello");

  // A GET without a body; the answer without a body.
  auto b = call(*client, url_of(false, "127.0.0.1", server.port()), get("/status"));
  ASSERT_TRUE(b.has_value()) << describe(b);
  EXPECT_EQ(b->status, 201u);
  seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[1].target, "/status");
  EXPECT_EQ(seen[1].body, "");

  const HttpClientStats s = client->stats();
  EXPECT_EQ(s.requests, 2u);
  EXPECT_EQ(s.errors, 0u);
}

TEST_F(HttpClientTest, HostHeaderOfAnIpv6Literal) {
  ServerOptions so;
  so.address = "::1";
  TestServer server(so);
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << server.bind_error();
  auto client = make();
  auto a = call(*client, url_of(false, "::1", server.port()), get("/"));
  ASSERT_TRUE(a.has_value()) << describe(a);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].header("Host"), "[::1]:" + std::to_string(server.port()));
}

TEST_F(HttpClientTest, UserAgentFromTheOptions) {
  TestServer server(ServerOptions{});
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.user_agent = "vestnik/test";
  auto client = make(o);
  ASSERT_TRUE(call(*client, url_of(false, "127.0.0.1", server.port()), get("/")).has_value());
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].header("User-Agent"), "vestnik/test");
}

// HEAD: the answer has a Content-Length but never a body (RFC 9110 §9.3.2);
// the client must not wait for one, and the connection stays usable.
TEST_F(HttpClientTest, HeadAnswerHasNoBody) {
  ServerOptions so;
  so.respond = [](const SeenRequest& r, Response& res) {
    if (r.method != "HEAD") return;
    res.body().clear();
    res.content_length(5);
  };
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.request_timeout = core::Duration(2'000);
  auto client = make(o);
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());
  HttpRequest head = get("/file");
  head.method = "HEAD";
  auto a = call(*client, base, head);
  ASSERT_TRUE(a.has_value()) << describe(a);
  EXPECT_EQ(a->status, 200u);
  EXPECT_EQ(a->header("content-length"), "5");
  EXPECT_EQ(a->body, "");
  auto b = call(*client, base, get("/file"));
  ASSERT_TRUE(b.has_value()) << describe(b);
  EXPECT_EQ(b->body, "ok 1");
  EXPECT_EQ(client->stats().connections_opened, 1u);
  EXPECT_EQ(client->stats().reused, 1u);
}

// ---- keep-alive -----------------------------------------------------------------------

TEST_F(HttpClientTest, SequentialRequestsReuseOneConnection) {
  TestServer server(ServerOptions{});
  ASSERT_TRUE(server.ok()) << server.bind_error();
  auto client = make();
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());
  for (int i = 0; i < 2; ++i) {
    auto a = call(*client, base, get("/n"));
    ASSERT_TRUE(a.has_value()) << describe(a);
    EXPECT_EQ(a->header("x-conn"), "1");
  }
  const HttpClientStats s = client->stats();
  EXPECT_EQ(s.connections_opened, 1u);
  EXPECT_EQ(s.reused, 1u);
  EXPECT_EQ(s.requests, 2u);
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpClientTest, ConnectionCloseFromTheServerMeansANewConnection) {
  ServerOptions so;
  so.connection_close = true;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  auto client = make();
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());
  auto a = call(*client, base, get("/1"));
  ASSERT_TRUE(a.has_value()) << describe(a);
  EXPECT_EQ(a->header("x-conn"), "1");
  auto b = call(*client, base, get("/2"));
  ASSERT_TRUE(b.has_value()) << describe(b);
  EXPECT_EQ(b->header("x-conn"), "2");
  const HttpClientStats s = client->stats();
  EXPECT_EQ(s.connections_opened, 2u);
  EXPECT_EQ(s.reused, 0u);
  EXPECT_EQ(s.retried_stale, 0u);
}

// The keep-alive race: the server closes an idle connection without having
// said "Connection: close"; the next request goes out on it, fails before
// any answer byte, and is sent once more on a fresh connection.
void stale_keep_alive(HttpClientTest& t, std::shared_ptr<HttpClient> client, bool tls) {
  ServerOptions so;
  so.tls = tls;
  so.idle_close = 100ms;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  const BaseUrl base = url_of(tls, "127.0.0.1", server.port());
  auto a = call(*client, base, get("/1"));
  ASSERT_TRUE(a.has_value()) << describe(a);
  ASSERT_TRUE(eventually([&] { return server.open() == 0; })) << "the server kept the connection";
  std::this_thread::sleep_for(100ms);  // the client's kernel has seen the FIN
  auto b = call(*client, base, get("/2"));
  ASSERT_TRUE(b.has_value()) << describe(b);
  EXPECT_EQ(b->status, 200u);
  EXPECT_EQ(b->header("x-conn"), "2");
  const HttpClientStats s = client->stats();
  EXPECT_EQ(s.retried_stale, 1u);
  EXPECT_EQ(s.connections_opened, 2u);
  EXPECT_EQ(s.reused, 1u);
  EXPECT_EQ(s.requests, 2u);
  EXPECT_EQ(s.errors, 0u);
  // The request reached the server once: the stale connection carried none of it.
  EXPECT_EQ(server.requests().size(), 2u);
  (void)t;
}

TEST_F(HttpClientTest, StaleKeepAliveIsRetriedOnceOnAFreshConnection) {
  stale_keep_alive(*this, make(), /*tls=*/false);
}

// Over TLS a server that just drops the TCP connection (no close_notify)
// shows up as a truncated stream, not as end of stream: the same race.
TEST_F(HttpClientTest, StaleTlsKeepAliveIsRetriedOnceOnAFreshConnection) {
  stale_keep_alive(*this, make(), /*tls=*/true);
}

// A fresh connection that fails the same way is never repeated: the peer
// may have acted on the request.
TEST_F(HttpClientTest, AFreshConnectionThatFailsIsNotRetried) {
  ServerOptions so;
  so.drop = [](const SeenRequest&) { return true; };
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  auto client = make();
  auto a = call(*client, url_of(false, "127.0.0.1", server.port()), get("/"));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::Errc::kUnavailable) << a.error().to_string();
  EXPECT_NE(a.error().message.find("reading the answer of"), std::string::npos)
      << a.error().message;
  EXPECT_EQ(client->stats().retried_stale, 0u);
  EXPECT_EQ(client->stats().connections_opened, 1u);
  EXPECT_EQ(server.requests().size(), 1u);
}

// A kept-alive connection that fails after part of an answer is not
// repeated either: the peer has acted on the request.
TEST_F(HttpClientTest, AReusedConnectionThatFailsMidAnswerIsNotRetried) {
  ServerOptions so;
  so.respond = [](const SeenRequest& r, Response& res) {
    if (r.target != "/cut") return;
    res.body() = "only part";
    res.content_length(100);  // then the connection is closed: a cut answer
  };
  so.drop = nullptr;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.request_timeout = core::Duration(1'000);
  auto client = make(o);
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());
  ASSERT_TRUE(call(*client, base, get("/1")).has_value());
  auto a = call(*client, base, get("/cut"));
  ASSERT_FALSE(a.has_value());
  // Either the server's idle read timed out first or the client's deadline.
  EXPECT_TRUE(a.error().transient()) << a.error().to_string();
  EXPECT_EQ(client->stats().retried_stale, 0u);
  EXPECT_EQ(client->stats().reused, 1u);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(HttpClientTest, IdleConnectionsAreClosedAfterIdleTimeout) {
  TestServer server(ServerOptions{});
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.idle_timeout = core::Duration(200);
  auto client = make(o);
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());
  ASSERT_TRUE(call(*client, base, get("/1")).has_value());
  // The sweeper closes it (it runs at least every second).
  EXPECT_TRUE(eventually([&] { return server.open() == 0; }))
      << "the idle connection was never closed";
  auto b = call(*client, base, get("/2"));
  ASSERT_TRUE(b.has_value()) << describe(b);
  EXPECT_EQ(client->stats().connections_opened, 2u);
  EXPECT_EQ(client->stats().reused, 0u);
}

// ---- the pool limit --------------------------------------------------------------------

TEST_F(HttpClientTest, AtMostMaxConnectionsPerHostTheRestWait) {
  ServerOptions so;
  so.delay = 200ms;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.max_connections_per_host = 2;
  auto client = make(o);
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());
  // From several threads at once: request() is thread-safe.
  std::vector<Pending> pending(6);
  std::vector<std::thread> senders;
  for (int i = 0; i < 6; ++i) {
    senders.emplace_back(
        [&, i] { client->request(base, get("/r" + std::to_string(i)), pending[i].done()); });
  }
  for (auto& t : senders) t.join();
  for (int i = 0; i < 6; ++i) {
    auto a = pending[i].get();
    ASSERT_TRUE(a.has_value()) << i << ": " << describe(a);
    EXPECT_EQ(a->status, 200u);
  }
  EXPECT_LE(server.max_open(), 2);
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests().size(), 6u);
  const HttpClientStats s = client->stats();
  EXPECT_EQ(s.connections_opened, 2u);
  EXPECT_EQ(s.reused, 4u);
  EXPECT_EQ(s.requests, 6u);
  EXPECT_EQ(s.errors, 0u);
}

TEST_F(HttpClientTest, BeyondMaxWaitingPerHostIsRefused) {
  ServerOptions so;
  so.delay = 300ms;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.max_connections_per_host = 1;
  o.max_waiting_per_host = 1;
  auto client = make(o);
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());
  Pending p1 = send(*client, base, get("/1"));
  Pending p2 = send(*client, base, get("/2"));
  Pending p3 = send(*client, base, get("/3"));
  auto a3 = p3.get();
  ASSERT_FALSE(a3.has_value());
  EXPECT_EQ(a3.error().code, core::Errc::kUnavailable) << a3.error().to_string();
  EXPECT_TRUE(p1.get().has_value());
  EXPECT_TRUE(p2.get().has_value());
  EXPECT_EQ(server.requests().size(), 2u);
}

// A connection that fails gives its slot to the next waiting request.
TEST_F(HttpClientTest, AFailedConnectionFreesItsSlot) {
  HttpClientOptions o = test_options();
  o.max_connections_per_host = 1;
  auto client = make(o);
  const BaseUrl base = url_of(false, "127.0.0.1", closed_port());
  std::vector<Pending> pending(4);
  for (auto& p : pending) client->request(base, get("/"), p.done());
  for (auto& p : pending) {
    auto a = p.get();
    ASSERT_FALSE(a.has_value());
    EXPECT_EQ(a.error().code, core::Errc::kUnavailable) << a.error().to_string();
  }
  EXPECT_EQ(client->stats().errors, 4u);
}

// ---- deadlines -------------------------------------------------------------------------

TEST_F(HttpClientTest, ConnectRefusedIsUnavailable) {
  auto client = make();
  const uint16_t port = closed_port();
  const auto t0 = Clock::now();
  auto a = call(*client, url_of(false, "127.0.0.1", port), get("/"));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::Errc::kUnavailable) << a.error().to_string();
  EXPECT_NE(a.error().message.find("connect to http://127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << a.error().message;
  EXPECT_LT(seconds_since(t0), 10.0);
  EXPECT_EQ(client->stats().connections_opened, 0u);
  EXPECT_EQ(client->stats().errors, 1u);
}

TEST_F(HttpClientTest, ServerThatNeverAnswersHitsRequestTimeout) {
  ServerOptions so;
  so.mode = ServerOptions::Mode::kSilent;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.request_timeout = core::Duration(300);
  auto client = make(o);
  const auto t0 = Clock::now();
  HttpRequest req = get("/slow");
  req.method = "POST";
  req.body = "x";
  auto a = call(*client, url_of(false, "127.0.0.1", server.port()), req);
  const double took = seconds_since(t0);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::Errc::kDeadlineExceeded) << a.error().to_string();
  EXPECT_NE(a.error().message.find("timed out after 0.3s"), std::string::npos) << a.error().message;
  EXPECT_GE(took, 0.25);
  EXPECT_LT(took, 10.0);
  EXPECT_TRUE(eventually([&] { return server.bytes_received() > 0; }));
  EXPECT_EQ(client->stats().retried_stale, 0u);
  // The connection is gone (a late answer must never be read as the next one's).
  EXPECT_TRUE(eventually([&] { return server.open() == 0; }));
}

TEST_F(HttpClientTest, TlsHandshakeWithASilentServerHitsTlsTimeout) {
  ServerOptions so;
  so.mode = ServerOptions::Mode::kSilent;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.tls_timeout = core::Duration(300);
  auto client = make(o);
  const auto t0 = Clock::now();
  auto a = call(*client, url_of(true, "127.0.0.1", server.port()), get("/"));
  const double took = seconds_since(t0);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::Errc::kDeadlineExceeded) << a.error().to_string();
  EXPECT_NE(a.error().message.find("TLS handshake"), std::string::npos) << a.error().message;
  EXPECT_GE(took, 0.25);
  EXPECT_LT(took, 10.0);
  EXPECT_TRUE(eventually([&] { return server.open() == 0; }));
}

TEST_F(HttpClientTest, UnresolvableNameFailsWithinTheConnectTimeout) {
  HttpClientOptions o = test_options();
  o.connect_timeout = core::Duration(2'000);
  auto client = make(o);
  const auto t0 = Clock::now();
  auto a = call(*client, url_of(true, "nonexistent.invalid", 443), get("/"));
  ASSERT_FALSE(a.has_value());
  EXPECT_TRUE(a.error().code == core::Errc::kUnavailable ||
              a.error().code == core::Errc::kDeadlineExceeded)
      << a.error().to_string();
  EXPECT_NE(a.error().message.find("nonexistent.invalid"), std::string::npos) << a.error().message;
  EXPECT_LT(seconds_since(t0), 15.0);
}

// A lookup that never ends (a DNS server dropping queries) must not hold the
// request past connect_timeout: the resolver cannot interrupt getaddrinfo().
TEST_F(HttpClientTest, HungNameLookupEndsAtTheConnectTimeout) {
  hung_dns::Scope dns;
  HttpClientOptions o = test_options();
  o.connect_timeout = core::Duration(300);
  auto client = make(o);
  const auto t0 = Clock::now();
  Pending first = send(*client, url_of(true, "api.hang.invalid", 443), get("/"));
  // A second lookup waits behind the first on Asio's resolver thread.
  Pending second = send(*client, url_of(true, "other.hang.invalid", 443), get("/"));
  for (Pending* p : {&first, &second}) {
    auto a = p->get(10s);
    ASSERT_FALSE(a.has_value());
    EXPECT_EQ(a.error().code, core::Errc::kDeadlineExceeded) << a.error().to_string();
    EXPECT_NE(a.error().message.find("hang.invalid timed out after 0.3s"), std::string::npos)
        << a.error().message;
  }
  EXPECT_GE(seconds_since(t0), 0.25);
  EXPECT_GE(dns.lookups(), 1);
  EXPECT_EQ(client->stats().errors, 2u);
}

// ---- TLS --------------------------------------------------------------------------------

TEST_F(HttpClientTest, TlsWithTheTestCaByAddressAndByName) {
  ServerOptions so;
  so.tls = true;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  auto client = make();
  for (const char* host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    HttpRequest req = get("/tls");
    req.method = "POST";
    req.body = "secret";
    auto a = call(*client, url_of(true, host, server.port()), req);
    ASSERT_TRUE(a.has_value()) << describe(a);
    EXPECT_EQ(a->status, 200u);
  }
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].body, "secret");
  EXPECT_EQ(seen[1].header("Host"), "localhost:" + std::to_string(server.port()));
  // Two origins, two pools; a third request reuses the first.
  auto b = call(*client, url_of(true, "127.0.0.1", server.port()), get("/again"));
  ASSERT_TRUE(b.has_value()) << describe(b);
  EXPECT_EQ(client->stats().connections_opened, 2u);
  EXPECT_EQ(client->stats().reused, 1u);
}

TEST_F(HttpClientTest, TlsWithTheSystemBundleFailsVerification) {
  ServerOptions so;
  so.tls = true;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.ca_file.clear();
  auto client = make(o);
  auto a = call(*client, url_of(true, "127.0.0.1", server.port()), get("/"));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::Errc::kUnavailable) << a.error().to_string();
  EXPECT_NE(a.error().message.find("TLS handshake"), std::string::npos) << a.error().message;
  EXPECT_NE(a.error().message.find("certificate verify failed"), std::string::npos)
      << a.error().message;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HttpClientTest, TlsHostNameMustMatchTheCertificate) {
  ServerOptions so;
  so.tls = true;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  auto client = make();
  // The certificate names 127.0.0.1 and localhost, not 127.0.0.2 (which
  // reaches the same server: the whole 127/8 is loopback on Linux).
  BaseUrl base = url_of(true, "127.0.0.2", server.port());
  auto a = call(*client, base, get("/"));
  if (a.has_value()) FAIL() << "a certificate for 127.0.0.1 was accepted for 127.0.0.2";
  EXPECT_EQ(a.error().code, core::Errc::kUnavailable) << a.error().to_string();
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HttpClientTest, TlsWithoutVerificationNeedsNoCa) {
  ServerOptions so;
  so.tls = true;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.ca_file.clear();
  o.verify_peer = false;
  auto client = make(o);
  auto a = call(*client, url_of(true, "127.0.0.1", server.port()), get("/"));
  ASSERT_TRUE(a.has_value()) << describe(a);
  EXPECT_EQ(a->status, 200u);
}

TEST_F(HttpClientTest, PlainHttpToATlsServerFails) {
  ServerOptions so;
  so.tls = true;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.request_timeout = core::Duration(2'000);
  auto client = make(o);
  auto a = call(*client, url_of(false, "127.0.0.1", server.port()), get("/"));
  ASSERT_FALSE(a.has_value());
  EXPECT_TRUE(a.error().transient()) << a.error().to_string();
}

TEST(HttpClientCreate, UnreadableCaFileNamesTheKey) {
  asio::io_context ioc;
  for (std::string path : {std::string("/nonexistent/vestnik/ca.pem"), std::string()}) {
    if (path.empty()) {
      // A file that is there but holds no certificate.
      path = ::testing::TempDir() + "http_client_test_not_a_ca.pem";
      std::ofstream(path) << "not a certificate\n";
    }
    SCOPED_TRACE(path);
    HttpClientOptions o;
    o.ca_file = path;
    auto c = HttpClient::create(ioc.get_executor(), o);
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, core::Errc::kInvalidArgument);
    EXPECT_EQ(c.error().field, "http.ca_file");
    EXPECT_NE(c.error().message.find("http.ca_file"), std::string::npos) << c.error().message;
  }
}

// ---- limits and invalid requests ----------------------------------------------------

TEST_F(HttpClientTest, AnswerOverMaxResponseBytesIsTooLarge) {
  ServerOptions so;
  so.respond = [](const SeenRequest& r, Response& res) {
    res.body() = std::string(r.target == "/big" ? 4096 : 1024, 'x');
    res.prepare_payload();
  };
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.max_response_bytes = 1024;
  auto client = make(o);
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());
  auto fits = call(*client, base, get("/fits"));
  ASSERT_TRUE(fits.has_value()) << describe(fits);
  EXPECT_EQ(fits->body.size(), 1024u);
  auto big = call(*client, base, get("/big"));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, core::Errc::kTooLarge) << big.error().to_string();
  // The connection with the rest of that answer on it is not reused.
  auto after = call(*client, base, get("/fits"));
  ASSERT_TRUE(after.has_value()) << describe(after);
  EXPECT_EQ(after->body.size(), 1024u);
  EXPECT_EQ(client->stats().connections_opened, 2u);
}

TEST_F(HttpClientTest, ChunkedAnswerOverMaxResponseBytesIsTooLarge) {
  ServerOptions so;
  so.respond = [](const SeenRequest&, Response& res) {
    res.body() = std::string(4096, 'y');
    res.chunked(true);
  };
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.max_response_bytes = 1024;
  auto client = make(o);
  auto a = call(*client, url_of(false, "127.0.0.1", server.port()), get("/"));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::Errc::kTooLarge) << a.error().to_string();
}

// An invalid request is refused before anything is sent; it neither opens a
// connection nor spoils a kept-alive one.
TEST_F(HttpClientTest, InvalidRequestIsRefusedAndNothingIsSent) {
  TestServer server(ServerOptions{});
  ASSERT_TRUE(server.ok()) << server.bind_error();
  auto client = make();
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());

  std::vector<std::pair<std::string, HttpRequest>> bad;
  {
    HttpRequest r = get("/");
    r.headers = {{"X-Evil", "a\r\nInjected: yes"}};
    bad.emplace_back("headers", r);
    r.headers = {{"X-Evil", "a\nb"}};
    bad.emplace_back("headers", r);
    r.headers = {{"X-Evil\r\nInjected", "yes"}};
    bad.emplace_back("headers", r);
    r.headers = {{"", "v"}};
    bad.emplace_back("headers", r);
    r.headers = {{"A:B", "v"}};
    bad.emplace_back("headers", r);
    r.headers.clear();
    r.target = "/a b";
    bad.emplace_back("target", r);
    r.target = "/a\r\nHost: evil";
    bad.emplace_back("target", r);
    r.target = "relative";
    bad.emplace_back("target", r);
    r.target = "";
    bad.emplace_back("target", r);
    r.target = "/";
    r.method = "FROB";
    bad.emplace_back("method", r);
  }
  // First against a pool with nothing in it, then with a kept-alive
  // connection waiting.
  for (int round = 0; round < 2; ++round) {
    for (const auto& [field, req] : bad) {
      SCOPED_TRACE(field + " " + req.target);
      auto a = call(*client, base, req);
      ASSERT_FALSE(a.has_value());
      EXPECT_EQ(a.error().code, core::Errc::kInvalidArgument) << a.error().to_string();
      EXPECT_EQ(a.error().field, field);
    }
    if (round == 0) {
      EXPECT_EQ(client->stats().connections_opened, 0u);
      ASSERT_TRUE(call(*client, base, get("/good")).has_value());
    }
  }
  ASSERT_TRUE(call(*client, base, get("/good")).has_value());
  EXPECT_EQ(client->stats().connections_opened, 1u);
  EXPECT_EQ(client->stats().reused, 1u);
  EXPECT_EQ(server.accepted(), 1);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/good");
  EXPECT_EQ(seen[1].target, "/good");
  for (const auto& s : seen) EXPECT_EQ(s.header("Injected"), "<none>");
  EXPECT_EQ(client->stats().errors, 2 * bad.size());
}

// ---- shutdown ---------------------------------------------------------------------------

TEST_F(HttpClientTest, ShutdownFailsQueuedAndLaterRequestsAndLetsInFlightFinish) {
  ServerOptions so;
  so.delay = 500ms;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.max_connections_per_host = 1;
  auto client = make(o);
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());
  Pending in_flight = send(*client, base, get("/1"));
  ASSERT_TRUE(eventually([&] { return server.requests().size() == 1; }));
  Pending queued1 = send(*client, base, get("/2"));
  Pending queued2 = send(*client, base, get("/3"));
  client->shutdown();
  client->shutdown();  // idempotent
  for (Pending* p : {&queued1, &queued2}) {
    auto a = p->get();
    ASSERT_FALSE(a.has_value());
    EXPECT_EQ(a.error().code, core::Errc::kUnavailable) << a.error().to_string();
  }
  auto first = in_flight.get();
  ASSERT_TRUE(first.has_value()) << describe(first);
  EXPECT_EQ(first->status, 200u);
  auto later = call(*client, base, get("/4"));
  ASSERT_FALSE(later.has_value());
  EXPECT_EQ(later.error().code, core::Errc::kUnavailable) << later.error().to_string();
  // The connection of the request in flight was closed, not kept.
  EXPECT_TRUE(eventually([&] { return server.open() == 0; }));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(HttpClientTest, ShutdownClosesIdleConnections) {
  TestServer server(ServerOptions{});
  ASSERT_TRUE(server.ok()) << server.bind_error();
  auto client = make();
  const BaseUrl base = url_of(false, "127.0.0.1", server.port());
  ASSERT_TRUE(call(*client, base, get("/")).has_value());
  EXPECT_EQ(server.open(), 1);
  client->shutdown();
  EXPECT_TRUE(eventually([&] { return server.open() == 0; }));
}

// Destroying the client is a shutdown: a request in flight still gets its
// answer (or its error) and nothing hangs.
TEST_F(HttpClientTest, DestroyingTheClientWithARequestInFlight) {
  ServerOptions so;
  so.mode = ServerOptions::Mode::kSilent;
  TestServer server(so);
  ASSERT_TRUE(server.ok()) << server.bind_error();
  HttpClientOptions o = test_options();
  o.request_timeout = core::Duration(300);
  auto client = make(o);
  Pending p = send(*client, url_of(false, "127.0.0.1", server.port()), get("/"));
  client.reset();
  client_.reset();
  auto a = p.get();
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::Errc::kDeadlineExceeded) << a.error().to_string();
}

}  // namespace
}  // namespace transports
