// transports/http_client.h: the shared HTTPS client of the messenger and
// SMS providers (Telegram, Viber, VK, WhatsApp, Twilio).
//
// One client per daemon; keep-alive connection pools per origin
// (scheme://host:port), a deadline per phase, TLS 1.2+ with certificate and
// host name verification against a configurable CA bundle (tests use a
// local test CA). HTTP/1.1 without pipelining: a connection carries one
// request at a time, and a pool opens up to max_connections_per_host of them,
// queueing the rest. Provider calls are small (a JSON body of a few KB), so
// the whole client runs on one strand; callbacks are invoked there and must
// not block.
//
// Retry rule: a provider POST is not idempotent (Telegram, Twilio and SMPP
// have no idempotency key), so the client never repeats a request the peer
// may have acted on. The one exception is the keep-alive race: a reused
// connection that the peer had closed while idle fails before a single byte
// of an answer, and the request then goes once more on a fresh connection
// (as curl and browsers do). Every other failure goes back to the caller,
// which reports it as a transient outcome with the phase that failed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "transports/providers/codec.h"

namespace transports {

// A provider's base URL, "https://api.telegram.org" or
// "http://127.0.0.1:8081/prefix".
struct BaseUrl {
  bool tls = true;
  std::string host;  // DNS name or IP literal, without brackets
  uint16_t port = 443;
  std::string path;  // "" or "/prefix" (no trailing '/')
  // "https://api.telegram.org:443": the pool key.
  std::string origin() const;
};
// Parses http(s)://host[:port][/path]; no user info, query or fragment.
// Errors are kInvalidArgument naming `field` ("telegram.base_url: ...").
core::Result<BaseUrl> parse_base_url(std::string_view url, std::string_view field);

struct HttpClientOptions {
  std::string ca_file;  // PEM bundle to verify servers; empty: the system's
  bool verify_peer = true;  // false only for tests and lab setups
  core::Duration connect_timeout{10'000};  // resolve + TCP connect
  core::Duration tls_timeout{10'000};      // TLS handshake
  core::Duration request_timeout{30'000};  // writing the request and reading the whole answer
  core::Duration idle_timeout{30'000};     // idle keep-alive connections are closed after this
  uint32_t max_connections_per_host = 256;
  uint32_t max_waiting_per_host = 100'000;  // requests queued for a connection; beyond: refused
  size_t max_response_bytes = 1 << 20;
  std::string user_agent = "vestnik";
};

struct HttpClientStats {
  uint64_t requests = 0;             // finished, with an answer or an error
  uint64_t errors = 0;               // of them, without an answer
  uint64_t connections_opened = 0;   // TCP (and TLS) connections made
  uint64_t reused = 0;               // requests sent on a kept-alive connection
  uint64_t retried_stale = 0;        // keep-alive races repeated on a fresh connection
};

class HttpClient {
 public:
  // The answer, or why there is none: kUnavailable (resolve, connect, TLS,
  // connection lost; message names the phase and the peer), kDeadlineExceeded
  // (a phase's deadline), kTooLarge (answer over max_response_bytes),
  // kInvalidArgument (the request cannot be written: a header with CR/LF).
  using Done = std::function<void(core::Result<providers::HttpResponse>)>;

  // Errors: kInvalidArgument naming "http.ca_file" when the bundle does not
  // load.
  static core::Result<std::shared_ptr<HttpClient>> create(boost::asio::any_io_executor ex,
                                                          HttpClientOptions options);
  virtual ~HttpClient() = default;

  // Sends `request` to base.path + request.target. Calls `done` exactly
  // once, on the client's strand, within the deadlines. Thread-safe.
  virtual void request(const BaseUrl& base, providers::HttpRequest request, Done done) = 0;

  // Closes idle connections and stops the idle sweeper; queued requests and
  // requests made afterwards fail with kUnavailable, those in flight finish
  // or fail within their deadlines. Idempotent; thread-safe.
  virtual void shutdown() = 0;

  virtual HttpClientStats stats() const = 0;
};

}  // namespace transports
