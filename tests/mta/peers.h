// tests/mta/peers.h: real peers (smtp-sink, aiosmtpd scripts, a DNS server)
// run as child processes on loopback for the mta/ integration tests. Every
// process started is stopped by PID in the destructor; every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace testing_support {

class Peer {
 public:
  Peer() = default;
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // Starts argv[0] (searched in PATH) with stdout piped. When `ready_prefix`
  // is not empty, waits up to `timeout` for a stdout line starting with it
  // and returns the rest of that line (trimmed), e.g. "READY 40123" with
  // prefix "READY " gives "40123". Stderr goes to `log_path()`.
  // Returns false (with `error` set) if the process could not start, exited,
  // or did not print the line in time.
  bool start(const std::vector<std::string>& argv, const std::string& ready_prefix,
             std::chrono::milliseconds timeout, std::string* ready_rest, std::string* error);
  // SIGTERM, up to 3 s, then SIGKILL. Idempotent.
  void stop();
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_; }
  // The last bytes of stderr, for failure messages.
  std::string log_tail() const;

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string log_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, closed).
uint16_t pick_port();
// Waits until 127.0.0.1:port accepts a connection, at most `timeout`.
bool wait_for_port(uint16_t port, std::chrono::milliseconds timeout);
// The command line of Postfix's smtp-sink on 127.0.0.1:port (backlog 256),
// with "-u nobody" when running as root (smtp-sink refuses root), then
// `extra` options.
std::vector<std::string> smtp_sink_argv(uint16_t port, std::vector<std::string> extra = {});
// Starts tests/mta/data/smtp_script_server.py (the scripted aiosmtpd peer)
// with the JSON script at `script_path`; *port is the port it listens on.
bool start_script_server(Peer& peer, const std::string& script_path, std::string* port, std::string* error);
// Runs argv (each argument quoted; bounded by `timeout_s` seconds through
// coreutils' timeout) and returns stdout+stderr; *status is the exit code
// (-1 when it did not exit normally).
std::string run_bounded(const std::vector<std::string>& argv, int* status, int timeout_s = 30);
// The directory of test data files (tests/mta/data).
std::string test_data_dir();

}  // namespace testing_support
