// tests/api/server_fixture.h: the server fixture shared by server_test.cpp
// and templates_test.cpp: a real server on 127.0.0.1 (port 0) over the
// in-memory spool, the real engine and the sink transport, and a blocking
// Beast client bounded by socket timeouts. Included by one test file each
// (the anonymous namespace gives each its own copy).
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/api.h"
#include "vestnik/v1/messages.pb.h"

namespace api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

constexpr char kShopKey[] = "shop-sender-key-0000001";
constexpr char kSchoolKey[] = "school-sender-key-000001";
constexpr char kAdminKey[] = "ops-admin-key-0000000001";
// email.token_secret of the fixture's config: what the engine opens
// unsubscribe tokens with (tests seal theirs with it).
constexpr char kTokenSecret[] = "fixture-token-secret-0123456789abcdef";
constexpr size_t kMaxBody = 64 * 1024;
constexpr uint32_t kMaxBatch = 50;

struct Reply {
  unsigned status = 0;
  http::response<http::string_body> res;
  bool ok = false;  // a complete response was read

  const std::string& body() const { return res.body(); }
  json::value json() const {
    boost::system::error_code ec;
    auto v = json::parse(res.body(), ec);
    return ec ? json::value() : v;
  }
  std::string header(http::field f) const { return std::string(res[f]); }
  std::string error_field() const {
    auto v = json();
    if (!v.is_object() || !v.as_object().contains("error")) return "<no error>";
    const auto& e = v.at("error").as_object();
    return e.contains("field") ? std::string(e.at("field").as_string()) : std::string();
  }
  std::string error_code() const {
    auto v = json();
    if (!v.is_object() || !v.as_object().contains("error")) return "<no error>";
    return std::string(v.at("error").at("code").as_string());
  }
};

// One client connection with blocking calls bounded by socket timeouts.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    boost::system::error_code ec;
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    connected_ = !ec;
    if (!connected_) return;
    timeval tv{10, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  bool connected() const { return connected_; }
  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

  void send(const http::request<http::string_body>& req) {
    boost::system::error_code ec;
    http::write(socket_, req, ec);
  }
  void send_raw(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
  }
  Reply receive() {
    Reply r;
    http::response_parser<http::string_body> p;
    p.body_limit(64u << 20);
    boost::system::error_code ec;
    http::read(socket_, buffer_, p, ec);
    if (ec) return r;
    r.res = p.release();
    r.status = r.res.result_int();
    r.ok = true;
    return r;
  }
  Reply call(const http::request<http::string_body>& req) {
    send(req);
    return receive();
  }
  // The answer to a HEAD request: headers only, whatever Content-Length says.
  Reply receive_head() {
    Reply r;
    http::response_parser<http::string_body> p;
    p.skip(true);
    boost::system::error_code ec;
    http::read(socket_, buffer_, p, ec);
    if (ec) return r;
    r.res = p.release();
    r.status = r.res.result_int();
    r.ok = true;
    return r;
  }
  // True when the server closed the connection (EOF or reset) before the
  // socket timeout; false if it is still open and silent, or sent bytes.
  bool closed_by_server() {
    char c;
    boost::system::error_code ec;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

http::request<http::string_body> make(http::verb v, std::string target, std::string body = {},
                                      std::string key = {}, std::string type = "application/json") {
  http::request<http::string_body> req{v, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!key.empty()) req.set(http::field::authorization, "Bearer " + key);
  if (!body.empty()) req.set(http::field::content_type, type);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

[[maybe_unused]] std::string email_message(std::string address, std::string idempotency_key = {}) {
  json::object o{{"channel", "email"},
                 {"to", json::object{{"email", address}, {"name", "Іван"}}},
                 {"subject", "Order 1842"},
                 {"text", "Thank you"},
                 {"tags", json::object{{"campaign", "autumn"}}}};
  if (!idempotency_key.empty()) o["idempotency_key"] = idempotency_key;
  return json::serialize(o);
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : ids_(clock_), work_(io_.get_executor()) {}

  void SetUp() override {
    auto c = std::make_shared<core::Config>(*core::default_config());
    c->api.listen = "127.0.0.1:0";
    c->api.max_body_bytes = kMaxBody;
    c->api.max_batch = kMaxBatch;
    c->api.read_timeout = core::Duration(10'000);
    c->api.idle_timeout = core::Duration(30'000);
    c->spool.min_free_bytes = 0;
    c->engine.poll_interval = core::Duration(24LL * 3600 * 1000);  // tests step with TEST_poll
    c->email.token_secret = kTokenSecret;
    configure(*c);
    c->tenants = {
        core::TenantConfig{"shop", {core::ApiKey{kShopKey, core::Role::kSender}}},
        core::TenantConfig{"school", {core::ApiKey{kSchoolKey, core::Role::kSender}}},
        core::TenantConfig{"ops", {core::ApiKey{kAdminKey, core::Role::kAdmin}}},
    };
    config_ = c;

    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });

    auto fault = std::make_unique<queue::FaultInjectingStore>(queue::make_memory_store());
    store_ = fault.get();
    auto s = queue::Spool::open(c->spool, std::move(fault), clock_, ids_);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    spool_ = std::move(*s);

    core::SinkConfig sink;
    sink.enabled = true;
    sink.channels = {core::Channel::kEmail};
    sink.rules = {core::SinkRule{"^bounce@", "550 5.1.1 no such user", 0}};
    sink.default_reply = "250 2.0.0 accepted by sink";
    auto t = transports::make_sink_transport(sink, {});
    ASSERT_TRUE(t.has_value()) << t.error().to_string();
    registry_.add(*t);

    engine_ =
        std::make_unique<engine::Engine>(config_, *spool_, registry_, clock_, io_.get_executor());
    keys_ = std::make_shared<KeyRing>(c->tenants);
    server_ = std::make_unique<Server>(config_, *engine_, *spool_, keys_, io_, clock_);
    auto st = server_->start();
    ASSERT_TRUE(st.has_value()) << st.error().to_string();
    ASSERT_NE(server_->port(), 0);
  }

  void TearDown() override {
    if (server_) {
      std::promise<void> drained;
      auto f = drained.get_future();
      server_->stop([&drained] { drained.set_value(); });
      EXPECT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    }
    if (engine_) {
      std::promise<void> stopped;
      auto f = stopped.get_future();
      engine_->stop([&stopped] { stopped.set_value(); });
      EXPECT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    }
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    server_.reset();
    engine_.reset();
    spool_.reset();
  }

  // Lets a derived fixture adjust the config before the server starts.
  virtual void configure(core::Config&) {}

  Reply call(http::verb v, std::string target, std::string body = {}, std::string key = {},
             std::string type = "application/json") {
    Client c(server_->port());
    EXPECT_TRUE(c.connected());
    return c.call(make(v, std::move(target), std::move(body), std::move(key), std::move(type)));
  }

  // call() with extra request headers (Accept-Language, ...).
  Reply call_with(http::verb v, std::string target,
                  std::vector<std::pair<http::field, std::string>> headers, std::string body = {},
                  std::string key = {}, std::string type = "application/json") {
    Client c(server_->port());
    EXPECT_TRUE(c.connected());
    auto req = make(v, std::move(target), std::move(body), std::move(key), std::move(type));
    for (auto& [f, value] : headers) req.set(f, value);
    return v == http::verb::head ? (c.send(req), c.receive_head()) : c.call(req);
  }

  std::string send_ok(const std::string& body, const char* key = kShopKey) {
    Reply r = call(http::verb::post, "/v1/messages", body, key);
    EXPECT_EQ(r.status, 202u) << r.body();
    auto v = r.json();
    if (!v.is_object() || !v.as_object().contains("id")) return {};
    return std::string(v.at("id").as_string());
  }

  core::ManualClock clock_;
  core::IdGenerator ids_;
  std::shared_ptr<const core::Config> config_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  queue::FaultInjectingStore* store_ = nullptr;
  std::unique_ptr<queue::Spool> spool_;
  transports::Registry registry_;
  std::unique_ptr<engine::Engine> engine_;
  std::shared_ptr<KeyRing> keys_;
  std::unique_ptr<Server> server_;
};

}  // namespace
}  // namespace api
