// tests/transports/http_client_tls_test.cpp: the shared HTTPS client's verified
// TLS, its answer size limit, invalid requests and shutdown, against
// loopback servers (http_client_fixture.h; issue #6).
#include <gtest/gtest.h>

#include "http_client_fixture.h"

namespace transports {
namespace {

// Its own suite name: gtest wants one fixture type per suite, and each test
// file has its own copy of the fixture.
class HttpClientTlsTest : public HttpClientTest {};

// ---- TLS --------------------------------------------------------------------------------

TEST_F(HttpClientTlsTest, TlsWithTheTestCaByAddressAndByName) {
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

TEST_F(HttpClientTlsTest, TlsWithTheSystemBundleFailsVerification) {
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

TEST_F(HttpClientTlsTest, TlsHostNameMustMatchTheCertificate) {
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

TEST_F(HttpClientTlsTest, TlsWithoutVerificationNeedsNoCa) {
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

TEST_F(HttpClientTlsTest, PlainHttpToATlsServerFails) {
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

TEST_F(HttpClientTlsTest, AnswerOverMaxResponseBytesIsTooLarge) {
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

TEST_F(HttpClientTlsTest, ChunkedAnswerOverMaxResponseBytesIsTooLarge) {
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
TEST_F(HttpClientTlsTest, InvalidRequestIsRefusedAndNothingIsSent) {
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

TEST_F(HttpClientTlsTest, ShutdownFailsQueuedAndLaterRequestsAndLetsInFlightFinish) {
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

TEST_F(HttpClientTlsTest, ShutdownClosesIdleConnections) {
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
TEST_F(HttpClientTlsTest, DestroyingTheClientWithARequestInFlight) {
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
