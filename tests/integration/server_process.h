// tests/integration/server_process.h: runs the real `vestnik serve` binary as
// a child process on loopback for integration tests, and talks to it over
// HTTP. Every server started is stopped (by PID) in the destructor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "app/client.h"

namespace testing_support {

// A fresh temporary directory, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ServerProcess {
 public:
  // `extra_toml` is appended to a config that sets spool.path = <dir>/spool,
  // api.listen = 127.0.0.1:0 and log.level = info.
  ServerProcess(std::string dir, std::string extra_toml);
  ~ServerProcess();

  // Starts the server and waits (bounded) until it logs its port.
  // Returns false with the log tail in `error` on failure.
  bool start(std::string* error);
  // SIGTERM, then waits up to `grace`; returns the exit status (or -1 if it
  // had to be killed).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(30));
  // SIGKILL: a crash.
  void kill9();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string log_text() const;
  std::string config_path() const { return dir_ + "/vestnik.toml"; }

  // HTTP to the server with `key` as bearer.
  std::optional<app::HttpResponse> request(const std::string& method, const std::string& target,
                                           const std::string& body = {},
                                           const std::string& key = kKey) const;
  // GET /v1/messages/{id} -> "status" (empty on error).
  std::string status_of(const std::string& id, boost::json::object* full = nullptr) const;

  static constexpr const char* kKey = "test-sender-key-0123456789";
  static constexpr const char* kAdminKey = "test-admin-key-0123456789";
  static constexpr const char* kOtherKey = "other-tenant-key-0123456789";

 private:
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int starts_ = 0;
};

// Tenants block with kKey (tenant "market", sender), kAdminKey (tenant
// "ops", admin) and kOtherKey (tenant "other", sender).
std::string test_tenants_toml();

// Retries 1s apart without jitter (five attempts fit in seconds), a 50 ms
// dispatcher poll, and the sink transport serving `channels` (TOML array
// text, e.g. R"(["email"])") with 250 as its default reply. Tests append
// their own [[transports.sink.rules]].
std::string fast_sink_toml(const std::string& channels);

// Polls `pred` every 50 ms until it is true or `limit` passes.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = std::chrono::seconds(30));

}  // namespace testing_support
