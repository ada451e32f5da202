// mta/dns.h: where mail for a domain goes — MX resolution over c-ares, the
// static routing table ([[smtp.routes]]) and IDN domains (libidn2).
//
// A Resolver answers "which hosts, in which order, at which addresses" for a
// recipient domain, following RFC 5321 §5.1 and RFC 7505:
//   - a static route that matches the domain wins over DNS (smarthosts);
//   - MX records sorted by preference, equal preferences shuffled per answer;
//   - NODATA for MX: the domain's own A/AAAA is an implicit MX (preference 0);
//   - NXDOMAIN (or a name that is not a valid IDNA domain): permanent;
//   - a DNS temporary failure (SERVFAIL, REFUSED, timeout): defer, never a
//     fallback to A;
//   - a null MX ("0 ."): permanent, the domain accepts no mail.
// Answers (positive, negative and temporary failures) are cached by TTL,
// clamped to [min_ttl, max_ttl] (core::DnsConfig; cache_entries 0 turns the
// cache off); concurrent lookups of the same name share one query.
//
// Threading: c-ares runs on one dedicated resolver thread owned by the
// Resolver (see dns_resolver.cpp for why); no asio I/O thread ever blocks on
// DNS. Completions are posted to the executor given at creation.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
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

namespace mta {

// One host to deliver to.
struct MxHost {
  // ASCII host name (punycode), lowercase, without the trailing dot; for a
  // static route to an IP literal, the literal.
  std::string name;
  uint16_t preference = 0;
  // 0: use the SMTP default (SmtpConfig::port); a static route sets its own.
  uint16_t port = 0;
  // Never empty in a kOk answer. Connect in this order (ResolverOptions::
  // address_order); both IPv4 and IPv6 addresses are kept.
  std::vector<boost::asio::ip::address> addresses;
};

// What a lookup found. Never renumber (the values may be logged).
enum class MxKind : uint8_t {
  kOk = 0,        // hosts (or addresses) is not empty
  kNullMx = 1,    // RFC 7505 null MX: the domain accepts no mail. Permanent (556 5.1.10)
  kNxDomain = 2,  // no such domain; no MX and no A/AAAA; or not a valid (IDNA)
                  // domain name. Permanent (5.1.2)
  kTempFail = 3,  // SERVFAIL, REFUSED, timeout, no MX host with an address,
                  // resolver shut down. Defer and retry (4.4.3)
};

std::string_view mx_kind_name(MxKind kind) noexcept;  // "ok", "null_mx", "nxdomain", "tempfail"

// The answer for one recipient domain.
struct MxAnswer {
  MxKind kind = MxKind::kTempFail;
  std::string domain;  // the domain as looked up: ASCII, lowercase (empty if invalid)
  // kOk: preference order, ties shuffled per answer, MX hosts without any
  // address left out. Empty otherwise.
  std::vector<MxHost> hosts;
  bool implicit = false;      // no MX records: the domain's own A/AAAA at preference 0
  bool from_route = false;    // a static route gave the host (and its port)
  std::string error;          // human text for anything but kOk (for the DSN and logs)
  core::TimePoint expires{};  // the answer may be reused until then (injected clock)

  bool permanent() const noexcept { return kind == MxKind::kNullMx || kind == MxKind::kNxDomain; }
};

// The addresses of one host name (A and AAAA).
struct HostAnswer {
  // kOk: addresses not empty. kNxDomain: the name does not exist or has
  // neither A nor AAAA. kTempFail: a DNS temporary failure. Never kNullMx.
  MxKind kind = MxKind::kTempFail;
  std::vector<boost::asio::ip::address> addresses;  // in ResolverOptions::address_order
  std::string error;
  core::TimePoint expires{};
};

enum class AddressOrder : uint8_t {
  // All IPv4 addresses, then all IPv6: the default, because large mailbox
  // providers are stricter with IPv6 senders (PTR, authentication).
  kIpv4First = 0,
  kIpv6First = 1,
  kInterleave = 2,  // IPv6, IPv4, IPv6, ... (RFC 8305 style)
};

struct ResolverOptions {
  AddressOrder address_order = AddressOrder::kIpv4First;
  // Seed of the generator that shuffles equal MX preferences; 0: random.
  // Tests fix it.
  uint64_t shuffle_seed = 0;
  // The overall guard of one lookup (MX and then its hosts' addresses); if it
  // passes, `done` gets kTempFail "timed out". 0: derived from the config,
  // enough for c-ares to exhaust timeout x tries on every server twice (MX
  // stage and address stage). c-ares' own timeouts normally fire first; the
  // guard makes "done exactly once" independent of them.
  core::Duration lookup_deadline{0};
};

// The MX resolver. Create with Resolver::create; shared ownership so that
// the components that deliver mail can hold it.
//
// Thread-safety: every method may be called from any thread concurrently.
// Completion: `done` is called exactly once per call, always through the
// executor given at creation (never inline from resolve_*), including on
// shutdown (kTempFail "resolver shut down"). A pending lookup keeps the
// executor's context from running out of work.
// REQUIRES: the executor's context and `clock` outlive the Resolver, and the
// context is still running (or will run) when the Resolver completes calls;
// call shutdown() (or drop the Resolver) before destroying the context.
class Resolver {
 public:
  // Starts the resolver thread. Errors (kInvalidArgument, field named as in
  // the TOML): a malformed server ("dns.servers[1]"), timeout or tries of 0,
  // a route whose domain or host is not valid ("smtp.routes[0].host");
  // kInternal if c-ares cannot be initialised.
  static core::Result<std::shared_ptr<Resolver>> create(const core::DnsConfig& config,
                                                        const std::vector<core::SmtpRoute>& routes,
                                                        boost::asio::any_io_executor executor,
                                                        const core::Clock& clock,
                                                        ResolverOptions options = {});

  ~Resolver();  // shutdown()
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Where mail for `domain` (UTF-8 or ASCII, any case, trailing dot allowed)
  // goes. Static routes first, then the cache, then DNS.
  // REQUIRES: `done` is callable (also for resolve_host).
  void resolve_mx(std::string_view domain, std::function<void(MxAnswer)> done);

  // The A and AAAA addresses of a host name; an IP literal ("192.0.2.1",
  // "::1", "[::1]") is answered as itself. Cached like resolve_mx.
  void resolve_host(std::string_view host, std::function<void(HostAnswer)> done);

  // Completes every pending and later call with kTempFail "resolver shut
  // down" and joins the resolver thread (briefly blocking: c-ares only
  // closes its sockets). Idempotent.
  void shutdown();

  // Counters since creation, for tests and metrics.
  struct Stats {
    uint64_t queries = 0;     // DNS queries handed to c-ares (one per type)
    uint64_t cache_hits = 0;  // answers served from the cache
    uint64_t coalesced = 0;   // lookups that joined one already in flight
  };
  Stats stats() const;

  struct Impl;  // dns_resolver.cpp

 private:
  explicit Resolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// IDNA2008 (UTS #46 non-transitional) conversion of a domain to its ASCII
// form as queried in DNS: "пример.укр" -> "xn--e1afmkfd.xn--j1amh",
// "Example.COM." -> "example.com". ASCII input is only lowercased and checked
// (letters, digits, hyphens; labels 1..63 octets, not starting or ending with
// a hyphen; at most 253 octets; "xn--" labels must be valid punycode), so
// every name that DNS can hold for a mail host stays usable. Returns nullopt
// for anything else (empty, empty labels, "_", spaces, "[192.0.2.1]" address
// literals, disallowed code points). Pure; thread-safe.
std::optional<std::string> to_ascii_domain(std::string_view utf8_domain);

}  // namespace mta
