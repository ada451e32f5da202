// tests/mta/server_support.h: helpers for the SMTP listener's integration
// tests: a fake InjectSink, a server on its own I/O thread, a raw SMTP
// client (plain or TLS) with bounded reads, and bounded child processes
// (swaks, smtp-source).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/id.h"
#include "mta/inject.h"
#include "mta/smtp_server.h"

namespace testing_support {

// Records every injected message; answers as told.
class FakeSink : public mta::InjectSink {
 public:
  enum class Mode {
    kAccept,       // ids: one per rcpt_to entry, then one for the inbound copy
    kInvalid,      // kInvalidArgument "content refused by test"
    kUnavailable,  // kUnavailable
    kHold,         // keep `done` until release()
  };
  void set_mode(Mode m);
  void inject(mta::InjectedMessage message, mta::InjectDone done) override;
  // Answers every held injection with success (from this thread).
  void release();
  size_t count();
  std::vector<mta::InjectedMessage> messages();
  // Waits up to `timeout` for at least `n` injections.
  bool wait_for(size_t n, std::chrono::milliseconds timeout);
  // The ids answered so far, in order.
  std::vector<core::Id> ids();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Mode mode_ = Mode::kAccept;
  std::vector<mta::InjectedMessage> messages_;
  std::vector<mta::InjectDone> held_;
  std::vector<core::Id> ids_;
  core::IdGenerator gen_{core::SystemClock::instance()};
};

// Listener defaults for tests: 127.0.0.1 port 0, hostname mx.test, the
// loopback networks, tenant "acme", generous timeouts.
core::ListenerConfig test_config();
// The same with STARTTLS (tests/mta/data/server_*.pem) and user "u" /
// password "p" of tenant "globex".
core::ListenerConfig tls_config();

// An SmtpServer on an io_context run by two threads (so the strands are
// what keeps each session serial). The destructor stops it (grace 0),
// waits for its sessions to end, and joins the threads.
class TestServer {
 public:
  TestServer(const core::ListenerConfig& config, FakeSink& sink,
             const core::InboundConfig& inbound = {});
  ~TestServer();
  bool started() const { return port_ != 0; }
  const std::string& error() const { return error_; }
  uint16_t port() const { return port_; }
  mta::SmtpServer& server() { return *server_; }
  // Graceful stop; true if every session ended within `wait`.
  bool stop(std::chrono::milliseconds grace, std::chrono::milliseconds wait);

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<mta::SmtpServer> server_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::string error_;
};

// A raw SMTP client. Every read waits at most `timeout` (default 15 s).
class RawClient {
 public:
  explicit RawClient(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connect(uint16_t port, const std::string& ip = "127.0.0.1");
  bool send(std::string_view bytes);
  // The next complete reply, all its lines ("250-a\r\n250 b\r\n"), or ""
  // on EOF/timeout.
  std::string reply();
  // The reply's code, or 0.
  static int code(const std::string& reply);
  // Sends `line` + CRLF and returns the reply.
  std::string command(std::string_view line);
  // One read: whatever has arrived (waits for at least one byte).
  std::string read_some();
  // True if the server closed the connection (EOF) within the timeout;
  // bytes read meanwhile are discarded.
  bool closed();
  // TLS handshake over the connection (after "220" to STARTTLS).
  bool start_tls();
  void close();
  // What arrived beyond the last reply.
  const std::string& pending() const { return buf_; }

 private:
  long recv_some(char* p, size_t n);
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::chrono::milliseconds timeout_;
  std::string buf_;
};

// Runs argv (PATH lookup), stdout+stderr into *output, killed after
// `timeout`. Returns the exit status, or -1 if it could not run or was
// killed.
int run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                std::string* output);

}  // namespace testing_support
