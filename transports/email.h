// transports/email.h: the email channel over SMTP.
//
// The email transport turns a batch of messages for one recipient domain
// into SMTP transactions: it resolves where the domain's mail goes
// (mta/dns.h: static routes, MX, implicit MX, null MX), composes each
// message (templating::compose_email, or the injected bytes as they came),
// and hands the transactions to the sessions of the destination's site —
// the set of MX hosts the domain resolves to, so every domain hosted by one
// provider shares its connections, as in KumoMTA's ready queues.
//
// Per site it keeps at most smtp.max_connections sessions; each session
// carries up to smtp.max_messages_per_connection transactions, then says
// QUIT and a new one takes its place; an idle session lingers
// smtp.idle_timeout for more work. Recipients of one injected message whose
// content is identical (one stored content, same envelope sender) go in one
// transaction, up to smtp.max_recipients_per_transaction.
//
// What a reply means (Outcome):
//   2xx                      delivered
//   4xx, connection/TLS/timeout failures, DNS temporary failure
//                            transient (blames the connection, not the
//                            message, unless the peer answered about this
//                            recipient or this content)
//   452 4.5.3 / 552 "too many recipients" at RCPT
//                            not an answer: the recipient goes in the next
//                            transaction at once (at most 3 times)
//   5xx                      permanent, with the code, enhanced code and text
//   null MX                  permanent, 556 5.1.10
//   NXDOMAIN                 permanent, 550 5.1.2
// Every outcome names the peer (host, address, our address, TLS version)
// for the accounting log.
//
// Envelope sender: smtp.return_path with {token} (an opaque HMAC-sealed
// token of ("b1", tenant, message id), see templating/token.h), {domain}
// and {tenant} substituted; the From address when it is empty.
//
// Threading: send() may be called from any thread and returns at once; the
// work runs on the executor given at creation (one strand per session).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "core/result.h"
#include "transports/transport.h"

namespace mta {
class Resolver;
}
namespace dkim {
class SigningTable;
}

namespace transports {

// Kind of the VERP return path's id token (templating::seal_id_token):
// the message id, sealed; 42 characters, so the local part stays short.
inline constexpr std::string_view kReturnPathTokenKind = "b2";

class EmailTransport final : public Transport {
 public:
  // `token_key` seals return-path, unsubscribe and tracking tokens (the
  // [email] token secret). Errors: kInvalidArgument naming the key when the
  // CA file cannot be loaded ("smtp.ca_file").
  static core::Result<std::shared_ptr<EmailTransport>> create(
      std::shared_ptr<const core::Config> config, std::shared_ptr<mta::Resolver> resolver,
      boost::asio::any_io_executor executor, std::string token_key);
  ~EmailTransport() override;

  std::string_view name() const noexcept override { return "smtp"; }
  bool serves(core::Channel channel) const noexcept override {
    return channel == core::Channel::kEmail;
  }
  // "email:<domain>", lowercased (default_destination).
  std::string destination(const core::MessageRecord& record, core::Channel channel) const override;
  void send(std::vector<Delivery> batch, SendDone done) override;
  // The best MX host of the destination's domain (or its route's host),
  // from the resolver (cached by TTL); empty when the lookup fails.
  void first_hop(std::string_view destination, std::function<void(std::string)> done) override;

  // DKIM-signs mail whose From domain `table` lists, on `signing` (a pool
  // off the I/O threads; null: the transport's executor). Replaces the
  // table in use (SIGHUP); messages already signed keep their signature.
  // A null or empty table: nothing is signed.
  void set_dkim(std::shared_ptr<const dkim::SigningTable> table, boost::asio::any_io_executor signing);

  // Stops taking work: queued transactions are answered transient at once,
  // idle sessions say QUIT, busy ones finish their transaction and quit.
  void shutdown();

  // For tests and GET /v1/queues: sessions open now, over all sites.
  size_t open_sessions() const;

  struct Impl;

 private:
  explicit EmailTransport(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// The envelope sender for `record` by `format` (see above); the From
// address when `format` is empty. Pure.
std::string return_path(std::string_view format, const core::MessageRecord& record,
                        std::string_view token_key);

}  // namespace transports
