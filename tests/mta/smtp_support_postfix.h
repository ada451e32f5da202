// tests/mta/smtp_support_postfix.h: a throwaway Postfix instance on
// loopback as a receiving MTA, for the SMTP client's integration tests.
//
// Everything lives in a fresh directory /tmp/vestnik-postfix-XXXXXX (config,
// queue, data directory, maillog), removed by stop(). The instance listens
// on 127.0.0.1:<port> only (no port 25, no other interface), relays nothing
// beyond loopback: mail for the relay domain is accepted and handed to
// Postfix's discard(8) agent, other domains are refused at RCPT. Its log goes to a
// file (there is no syslog here), which tests read to see what Postfix saw.
//
// Postfix's master(8) must be started by root; its daemons then run as the
// `postfix` user (the "unpriv" column of master.cf), without chroot. See
// ../shared/tools/postfix_baseline.md for the pitfalls this setup avoids.
//
// Not thread-safe: one test thread owns an instance. Every wait is bounded;
// the destructor stops the instance (`postfix stop`, then the master's
// process group by PID) even when the test failed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace testing_support {

struct PostfixOptions {
  // Accepted (and discarded) recipient domain; other domains get
  // 554 5.7.1 Relay access denied.
  std::string relay_domain = "dest.test";
  // message_size_limit, also announced as SIZE in the EHLO reply.
  uint64_t message_size_limit = 10'240'000;
  // smtpd_tls_cert_file / smtpd_tls_key_file (copied into the instance's
  // directory, the key with mode 0600); empty: no STARTTLS offered.
  std::string tls_cert_file;
  std::string tls_key_file;
  // check_recipient_access entries: address -> access(5) action, e.g.
  // {"nobody@dest.test", "REJECT 5.1.1 no such user"}.
  std::vector<std::pair<std::string, std::string>> recipient_access;
  // header_checks entries: regexp(5) pattern -> action, e.g.
  // {"/^Subject: /", "INFO subject"} (cleanup logs each match).
  std::vector<std::pair<std::string, std::string>> header_checks;
};

class PostfixInstance {
 public:
  PostfixInstance() = default;
  ~PostfixInstance();
  PostfixInstance(const PostfixInstance&) = delete;
  PostfixInstance& operator=(const PostfixInstance&) = delete;

  // Why no instance can run in this environment (not root: master(8)
  // refuses; Postfix not installed), or empty when it can. Tests skip with
  // this reason.
  static std::string unavailable_reason();

  // Writes the configuration and starts the instance on a free port, then
  // waits until it accepts connections (at most ~30 s in all). Stops
  // instances left behind by earlier test processes that were killed
  // before they could stop them. Returns false with `error` (including the
  // maillog's tail) on failure; stop() is still safe then.
  // REQUIRES: unavailable_reason() is empty; not started.
  bool start(const PostfixOptions& options, std::string* error);

  // `postfix stop`, waits for the master's process group to exit (then
  // SIGTERM, SIGKILL by process group), removes the directory. Idempotent.
  void stop();

  uint16_t port() const { return port_; }
  pid_t master_pid() const { return master_pid_; }
  const std::string& dir() const { return dir_; }

  // The whole maillog as written so far (empty if none).
  std::string maillog() const;
  // Re-reads the maillog every 50 ms until `done(log)` holds or `timeout`
  // passes (Postfix logs asynchronously through postlogd, and deliveries
  // happen after the client got its 250). Returns whether `done` held;
  // `*log` gets the last content read.
  bool wait_for_log(const std::function<bool(const std::string&)>& done,
                    std::chrono::milliseconds timeout, std::string* log) const;

 private:
  bool write_config(const PostfixOptions& options, std::string* error);
  bool try_start(std::string* error);

  std::string dir_;
  uint16_t port_ = 0;
  pid_t master_pid_ = -1;
  bool invoked_ = false;  // `postfix start` ran: there may be something to stop
};

// The number of lines of `log` that contain every one of `parts`.
size_t count_lines(std::string_view log, std::initializer_list<std::string_view> parts);
size_t count_lines(std::string_view log, const std::vector<std::string_view>& parts);

}  // namespace testing_support
