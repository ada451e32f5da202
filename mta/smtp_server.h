// mta/smtp_server.h: the SMTP listener: services that already speak SMTP
// inject mail through it (issue #4), as they would into Postfix, and it
// receives what comes back for our bounce and feedback domains (issue #7).
//
// SmtpServer accepts connections on config.listen and speaks ESMTP (RFC
// 5321) with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES,
// STARTTLS, AUTH PLAIN/LOGIN (only over TLS) and CHUNKING. Each accepted
// message goes to an InjectSink (mta/inject.h); the final "250" is sent only
// after the sink reported it durable. Who may send what to whom is decided
// by an AcceptancePolicy, a seam of its own. The one built in
// (InjectionPolicy) has two roles:
//   - relay: trusted clients (client networks, SMTP AUTH users) inject mail
//     for anyone; it goes out through the queue;
//   - inbound: anyone, the null sender <> included, may send mail for the
//     configured bounce/feedback domains and addresses (core::InboundConfig:
//     DSNs to VERP addresses, ARF complaints, mailto unsubscribes); it is
//     stored for processing, never relayed.
// Every other recipient from a client that may not relay is refused at
// RCPT with "550 5.7.1 Relaying denied": the listener is never an open
// relay; each such refusal counts towards the session's error limit (20,
// then "421 4.7.0" and close), so one connection cannot probe recipients
// without end. Size, recipient, connection and per-IP limits and timeouts
// are the same for both roles, and both get the Received header.
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
  // mail(): the tenant the transaction's relayed mail belongs to; empty
  // when the client may not relay (only inbound recipients will be taken).
  std::string tenant;
  // rcpt(): the recipient is accepted for the inbound role (stored for
  // processing as a bounce/report, InjectedMessage::inbound_rcpt), not
  // relayed.
  bool inbound = false;

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
  // names the tenant (empty: the client may not relay). `reverse_path` is
  // empty for the null path.
  virtual Verdict mail(const ClientInfo& client, std::string_view reverse_path) const = 0;
  // RCPT TO, after mail() accepted with `tenant`. An accepted verdict with
  // `inbound` set puts the recipient in InjectedMessage::inbound_rcpt,
  // otherwise in rcpt_to.
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

// The policy of core::ListenerConfig and core::InboundConfig.
// MAIL FROM:
//   - an authenticated client relays as its user's tenant;
//   - a client whose address is in `networks` relays as `network_tenant`;
//   - anyone else is accepted with an empty tenant when there is anything
//     to receive (inbound domains or addresses): only inbound recipients
//     will be taken from it. Without inbound configuration it is refused
//     at once with "530 5.7.0 Authentication required": no recipient
//     could make the transaction acceptable, and the earliest refusal
//     tells a misconfigured service what is missing.
// RCPT TO:
//   - an inbound address is accepted with `inbound` set, from ANY client,
//     trusted ones included (a DSN relayed through our own network must
//     still land in processing, not go back out). Inbound means: the domain
//     (ASCII case-insensitive, a trailing dot ignored) is exactly one of
//     inbound.domains (subdomains are not), or the whole address (ASCII
//     case-insensitive) is one of inbound.addresses;
//   - any other recipient is accepted from a client that may relay, and
//     refused with "550 5.7.1 Relaying denied" from anyone else.
class InjectionPolicy final : public AcceptancePolicy {
 public:
  // Errors (kInvalidArgument) name the key: "listener.networks[1]" for a
  // network that is not "address/prefix" or an address, "inbound.domains[0]"
  // for an empty domain or "inbound.addresses[2]" for an entry without
  // "local@domain". Inbound entries are compared in ASCII lower case with
  // any trailing dot removed, however they are written.
  static core::Result<std::unique_ptr<InjectionPolicy>> create(
      const core::ListenerConfig& config, const core::InboundConfig& inbound = {});

  bool offers_auth() const noexcept override;
  std::optional<std::string> authenticate(std::string_view user,
                                          std::string_view password) const override;
  Verdict mail(const ClientInfo& client, std::string_view reverse_path) const override;
  Verdict rcpt(const ClientInfo& client, std::string_view tenant,
               std::string_view forward_path) const override;
  // True if `address` is in one of the configured networks.
  bool trusted_network(const boost::asio::ip::address& address) const noexcept;
  // True if mail to `forward_path` (no angle brackets) is received, not
  // relayed. Pure; no allocation.
  bool inbound_recipient(std::string_view forward_path) const;
  // True if any domain or address is received.
  bool receives() const noexcept { return !inbound_domains_.empty() || !inbound_addresses_.empty(); }

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
  std::vector<std::string> inbound_domains_;    // lower case, no trailing dot
  std::vector<std::string> inbound_addresses_;  // lower case, no trailing dot
};

class SmtpServer {
 public:
  // `config` and `inbound` are copied. `policy` null: InjectionPolicy from
  // `config` and `inbound` (built by start()); a policy given is used as it
  // is and `inbound` is ignored. An empty config.network_tenant means
  // "default" (the config loader resolves "the first configured tenant").
  // REQUIRES: `sink` and `clock` outlive every connection: destroy them
  // only after stop()'s `drained` ran, or after the executor's io_context
  // was stopped and its threads joined. The executor's io_context outlives
  // this object (the destructor posts to it). `clock` dates Received
  // headers.
  SmtpServer(const core::ListenerConfig& config, const core::InboundConfig& inbound,
             InjectSink& sink, boost::asio::any_io_executor executor,
             const core::Clock& clock = core::SystemClock::instance(),
             std::shared_ptr<const AcceptancePolicy> policy = nullptr);
  // The relay role only: nothing is received (an empty InboundConfig).
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
