// mta/smtp_server.h: the SMTP listener through which services that already
// speak SMTP inject mail (issue #4), as they would into Postfix.
//
// SmtpServer accepts connections on config.listen and speaks ESMTP (RFC
// 5321) with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES,
// STARTTLS, AUTH PLAIN/LOGIN (only over TLS) and CHUNKING. Each accepted
// message goes to an InjectSink (mta/inject.h); the final "250" is sent only
// after the sink reported it durable. Who may send what to whom is decided
// by an AcceptancePolicy, a seam of its own: the injection policy here
// (client networks, SMTP AUTH users) and, later, bounce and complaint roles
// (#7) that accept mail for their own domains from anyone.
//
// Threading: one coroutine per connection on its own strand of the given
// executor (any number of threads may run it). The policy and the sink are
// called from those strands, concurrently for different connections.
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/result.h"
#include "mta/inject.h"

namespace mta {

// What a session knows about its client when the policy decides. The views
// live as long as the call.
struct ClientInfo {
  boost::asio::ip::address address;  // IPv4-mapped IPv6 given as IPv4
  std::string_view helo;
  std::string_view auth_user;    // empty unless AUTH succeeded
  std::string_view auth_tenant;  // that user's tenant
  bool tls = false;
};

// A policy's answer: accepted (2xx), or the reply the client gets.
struct Verdict {
  uint16_t code = 250;
  std::string enhanced;  // "5.7.0"
  std::string text;      // one line, no CR/LF
  // mail(): the tenant the transaction's mail belongs to.
  std::string tenant;

  bool accepted() const noexcept { return code >= 200 && code < 300; }
  static Verdict accept(std::string tenant = {});
  static Verdict reject(uint16_t code, std::string enhanced, std::string text);
};

// Who may send what to whom. Implementations are immutable after
// construction and safe to call from any number of threads.
class AcceptancePolicy {
 public:
  virtual ~AcceptancePolicy() = default;
  // Whether AUTH is offered at all (once the session is in TLS).
  virtual bool offers_auth() const noexcept = 0;
  // SASL credentials: the user's tenant, or nullopt. Must take the same
  // time whichever user (if any) matches.
  virtual std::optional<std::string> authenticate(std::string_view user,
                                                  std::string_view password) const = 0;
  // MAIL FROM: may this client start a transaction? An accepted verdict
  // names the tenant. `reverse_path` is empty for the null path.
  virtual Verdict mail(const ClientInfo& client, std::string_view reverse_path) const = 0;
  // RCPT TO, after mail() accepted with `tenant`.
  virtual Verdict rcpt(const ClientInfo& client, std::string_view tenant,
                       std::string_view forward_path) const = 0;
};

// "127.0.0.0/8", "::1/128", or a bare address (a /32 or /128) into a
// network; nullopt on anything else (host bits set are allowed and ignored).
struct IpNetwork {
  boost::asio::ip::address address;
  unsigned prefix = 0;
  bool contains(const boost::asio::ip::address& a) const noexcept;
};
std::optional<IpNetwork> parse_network(std::string_view text);

// The injection policy of core::ListenerConfig:
//   - an authenticated client relays as its user's tenant;
//   - a client whose address is in `networks` relays as `network_tenant`;
//   - anyone else is refused at MAIL FROM with "530 5.7.0 Authentication
//     required": the listener has no domains of its own to receive for
//     yet, so no recipient could make the transaction acceptable, and the
//     earliest refusal tells a misconfigured service what is missing. A
//     #7 policy that receives bounces accepts MAIL from anyone and refuses
//     at RCPT ("550 5.7.1 Relaying denied") instead.
// Any recipient is accepted from an accepted sender (this is a relay).
class InjectionPolicy final : public AcceptancePolicy {
 public:
  // Errors (kInvalidArgument) name the key: "listener.networks[1]" for a
  // network that is not "address/prefix" or an address.
  static core::Result<std::unique_ptr<InjectionPolicy>> create(const core::ListenerConfig& config);

  bool offers_auth() const noexcept override;
  std::optional<std::string> authenticate(std::string_view user,
                                          std::string_view password) const override;
  Verdict mail(const ClientInfo& client, std::string_view reverse_path) const override;
  Verdict rcpt(const ClientInfo& client, std::string_view tenant,
               std::string_view forward_path) const override;
  // True if `address` is in one of the configured networks.
  bool trusted_network(const boost::asio::ip::address& address) const noexcept;

 private:
  // Only SHA-256 digests of the credentials are kept, so comparing them
  // takes the same time whatever the lengths.
  struct User {
    std::array<unsigned char, 32> name_digest;
    std::array<unsigned char, 32> password_digest;
    std::string tenant;
  };
  InjectionPolicy() = default;
  std::vector<IpNetwork> networks_;
  std::vector<User> users_;
  std::string network_tenant_;
};

class SmtpServer {
 public:
  // `config` is copied. `policy` null: InjectionPolicy from `config`
  // (built by start()). An empty config.network_tenant means "default"
  // (the config loader resolves "the first configured tenant").
  // REQUIRES: `sink` and `clock` outlive every connection: destroy them
  // only after stop()'s `drained` ran, or after the executor's io_context
  // was stopped and its threads joined. The executor's io_context outlives
  // this object (the destructor posts to it). `clock` dates Received
  // headers.
  SmtpServer(const core::ListenerConfig& config, InjectSink& sink,
             boost::asio::any_io_executor executor,
             const core::Clock& clock = core::SystemClock::instance(),
             std::shared_ptr<const AcceptancePolicy> policy = nullptr);
  // Stops as stop(0ms) if still running: open sessions are closed.
  ~SmtpServer();

  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  // Loads the TLS certificate and key (if configured), binds (port 0 picks
  // a free port) and starts accepting. Returns the bound endpoint. Errors
  // name the key: kInvalidArgument for "listener.listen" not host:port, a
  // bad network, an unreadable tls_cert/tls_key; kUnavailable when the
  // bind fails. Call once.
  core::Result<boost::asio::ip::tcp::endpoint> start();

  // Graceful stop, callable from any thread, idempotent: stops accepting;
  // a session waiting for a command outside a transaction gets "421 4.3.2"
  // and is closed; a session inside a transaction may finish it (its
  // message is answered), then gets the 421 and is closed. After
  // `grace`, every session still open is closed. `drained` (optional)
  // runs once, on an executor thread, when the last session has ended (at once
  // if none is open). A session waiting for the sink ends only when the
  // sink answers or data_timeout passes.
  void stop(std::chrono::milliseconds grace, std::function<void()> drained = {});

  // Sessions open now.
  size_t connections() const noexcept;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mta
