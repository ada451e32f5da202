// api/api.h: the HTTP API server; the public header of `api` (API.md,
// docs/api.md). The second public header, api/request.h, parses and
// validates message requests without a server.
//
// Server listens on config.api.listen, speaks HTTP/1.1 with keep-alive
// (Boost.Beast, one coroutine per connection on its own strand),
// authenticates every request by bearer key, and maps the routes of API.md
// onto the engine and the spool. JSON follows the proto3 JSON mapping of
// proto/vestnik/v1/messages.proto; binary Protobuf is served for
// Content-Type/Accept application/x-protobuf. Every write is answered only
// after it is durable. Errors use API.md's shape and codes.
//
// Threading: runs on the io_context it is given (any number of threads may
// run it); each connection is serialised by its strand. Waiting for the
// spool never blocks an I/O thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/result.h"
#include "engine/engine.h"
#include "queue/queue.h"

namespace api {

// Who a bearer key speaks for. `sender` keys enqueue and read their own
// tenant's messages; `admin` keys may read and cancel any message and use
// the ops endpoints (queues, throttles, pauses). An admin's enqueues belong
// to the admin key's own tenant.
struct Principal {
  std::string tenant;
  core::Role role = core::Role::kSender;
};

// Bearer key -> Principal. Built once from config.tenants plus, on a
// config-less start, the generated admin key; immutable afterwards, so
// find() is safe from any number of threads. Stores only SHA-256 digests of
// the keys and compares in constant time.
class KeyRing {
 public:
  KeyRing();
  // Adds every key of every tenant. Throws core::ConfigError on a duplicate
  // or empty key (startup only).
  explicit KeyRing(const std::vector<core::TenantConfig>& tenants);
  KeyRing(KeyRing&&) noexcept;
  KeyRing& operator=(KeyRing&&) noexcept;
  ~KeyRing();

  // Throws core::ConfigError on a duplicate or empty key. Not thread-safe:
  // call only while building the ring.
  void add(const std::string& key, Principal p);
  // The principal of `bearer_key`, or nullptr. The pointer lives as long as
  // the ring. Takes the same time whichever key (if any) matches.
  const Principal* find(std::string_view bearer_key) const noexcept;
  size_t size() const noexcept;

 private:
  struct Entry;
  std::vector<std::unique_ptr<Entry>> entries_;
};

class Server {
 public:
  // REQUIRES: `engine`, `spool` and `clock` outlive every connection: destroy
  // them only after stop()'s `drained` callback ran or `io` was stopped and
  // its threads joined. `clock` judges "in the future" for send_at and
  // expires_at (give the engine's clock).
  Server(std::shared_ptr<const core::Config> config, engine::Engine& engine, queue::Spool& spool,
         std::shared_ptr<const KeyRing> keys, boost::asio::io_context& io,
         const core::Clock& clock = core::SystemClock::instance());
  // Stops (as stop()) if still running. Connections still open keep the
  // server's state alive until they end.
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Errors (kInvalidArgument for a malformed
  // address, kUnavailable when the bind fails) name the listen address.
  core::Status start();
  // The port actually bound (useful with port 0 in tests); 0 before start().
  uint16_t port() const noexcept;
  // Graceful stop, callable from any thread, idempotent: stops accepting;
  // requests in progress finish (their responses carry Connection: close);
  // requests that arrive on open connections get 503 "shutting down"; idle
  // connections are closed. `drained` (optional) runs once, on an I/O
  // thread, when the last connection has ended (at once if none is open).
  void stop(std::function<void()> drained = {});
  // Connections open now.
  size_t connections() const noexcept;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace api
