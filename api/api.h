// api/api.h: the HTTP API server; the public header of `api` (API.md).
//
// Server listens on config.api.listen, speaks HTTP/1.1 with keep-alive
// (Boost.Beast, one coroutine per connection on a strand), authenticates
// every request by bearer key, and maps the routes of API.md onto the engine
// and the spool. JSON follows the proto3 JSON mapping of
// proto/vestnik/v1/messages.proto; binary Protobuf is served for
// Content-Type/Accept application/x-protobuf. Every write is answered only
// after it is durable. Errors use API.md's shape and codes.
//
// Threading: runs on the io_context it is given (any number of threads).
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "engine/engine.h"
#include "queue/queue.h"

namespace api {

// Bearer key -> (tenant, role). Built from config.tenants plus the generated
// admin key of a config-less start.
struct Principal {
  std::string tenant;
  core::Role role = core::Role::kSender;
};

class KeyRing {
 public:
  // Adds every key of every tenant. Throws core::ConfigError on a duplicate key.
  explicit KeyRing(const std::vector<core::TenantConfig>& tenants);
  void add(const std::string& key, Principal p);
  // Constant-time comparison of the presented key against stored digests.
  const Principal* find(std::string_view bearer_key) const noexcept;
  size_t size() const noexcept;

 private:
  struct Entry;
  std::vector<std::unique_ptr<Entry>> entries_;
};

class Server {
 public:
  Server(std::shared_ptr<const core::Config> config, engine::Engine& engine, queue::Spool& spool,
         std::shared_ptr<const KeyRing> keys, boost::asio::io_context& io);
  ~Server();

  // Binds and starts accepting. Errors name the listen address.
  core::Status start();
  // The port actually bound (useful with port 0 in tests).
  uint16_t port() const noexcept;
  // Stops accepting; requests in progress finish; new requests on open
  // connections get 503; idle connections are closed.
  void stop();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace api
