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
// No timing is asserted (the VM is shared): every wait is bounded instead.
#include "transports/http_client.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <condition_variable>
#include <mutex>
#include <string>

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

#include "http_client_fixture.h"

namespace transports {
namespace {

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
  auto a = call(*client, url_of(false, "127.0.0.1", port), get("/"));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::Errc::kUnavailable) << a.error().to_string();
  EXPECT_NE(a.error().message.find("connect to http://127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << a.error().message;
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
  HttpRequest req = get("/slow");
  req.method = "POST";
  req.body = "x";
  auto a = call(*client, url_of(false, "127.0.0.1", server.port()), req);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::Errc::kDeadlineExceeded) << a.error().to_string();
  EXPECT_NE(a.error().message.find("timed out after 0.3s"), std::string::npos) << a.error().message;
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
  auto a = call(*client, url_of(true, "127.0.0.1", server.port()), get("/"));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, core::Errc::kDeadlineExceeded) << a.error().to_string();
  EXPECT_NE(a.error().message.find("TLS handshake"), std::string::npos) << a.error().message;
  EXPECT_TRUE(eventually([&] { return server.open() == 0; }));
}

TEST_F(HttpClientTest, UnresolvableNameFailsWithinTheConnectTimeout) {
  HttpClientOptions o = test_options();
  o.connect_timeout = core::Duration(2'000);
  auto client = make(o);
  auto a = call(*client, url_of(true, "nonexistent.invalid", 443), get("/"));
  ASSERT_FALSE(a.has_value());
  EXPECT_TRUE(a.error().code == core::Errc::kUnavailable ||
              a.error().code == core::Errc::kDeadlineExceeded)
      << a.error().to_string();
  EXPECT_NE(a.error().message.find("nonexistent.invalid"), std::string::npos) << a.error().message;
}

// A lookup that never ends (a DNS server dropping queries) must not hold the
// request past connect_timeout: the resolver cannot interrupt getaddrinfo().
TEST_F(HttpClientTest, HungNameLookupEndsAtTheConnectTimeout) {
  hung_dns::Scope dns;
  HttpClientOptions o = test_options();
  o.connect_timeout = core::Duration(300);
  auto client = make(o);
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
  EXPECT_GE(dns.lookups(), 1);
  EXPECT_EQ(client->stats().errors, 2u);
}

}  // namespace
}  // namespace transports
