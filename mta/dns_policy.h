// mta/dns_policy.h: the pure decisions of MX resolution, private to the dns
// part of mta/ (dns_resolver.cpp wires them to c-ares). Everything here is
// a function of its arguments: no I/O, no clock reads, no global state, so
// each rule is pinned by tests/mta/dns_policy_test.cpp.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/result.h"
#include "mta/dns.h"
#include "mta/dns_wire.h"

namespace mta::dns_policy {

// At most this many MX hosts (by preference) get their addresses resolved:
// bounds the work one domain can cause. Postfix stops at 5 addresses.
inline constexpr size_t kMaxMxHosts = 10;

// ---- names and addresses ----

// True for an ASCII host name as DNS holds mail hosts: lowercase or
// uppercase letters, digits and hyphens; labels of 1..63 octets that do not
// start or end with a hyphen; at most 253 octets; no trailing dot.
bool is_host_name(std::string_view name) noexcept;

// "192.0.2.1", "2001:db8::1" or "[2001:db8::1]"; nullopt for anything else.
std::optional<boost::asio::ip::address> parse_ip_literal(std::string_view text);

// One name server: "ip:port", "[ipv6]:port", or an IP without a port (53).
struct ServerAddress {
  boost::asio::ip::address address;
  uint16_t port = 53;
};
core::Result<ServerAddress> parse_server(std::string_view text);

// The servers in the form ares_set_servers_ports_csv takes
// ("127.0.0.1:5353,[::1]:53"). Errors name the entry: "dns.servers[2]".
core::Result<std::string> servers_to_csv(const std::vector<std::string>& servers);

// ---- static routes ----

struct Route {
  std::string domain;  // as configured, normalised ("*", "example.com", ".example.com")
  std::string host;    // ASCII host name, or the IP literal's text
  std::optional<boost::asio::ip::address> literal;  // set when host is an IP literal
  uint16_t port = 0;
};

// The [[smtp.routes]] table. Precedence, as with Postfix transport maps:
// the exact domain, then the closest ".parent" entry, then "*".
class RouteTable {
 public:
  // Domains and host names go through to_ascii_domain. Errors name the
  // entry ("smtp.routes[1].host"); a domain listed twice is an error too.
  static core::Result<RouteTable> build(const std::vector<core::SmtpRoute>& routes);
  // REQUIRES: `ascii_domain` came from to_ascii_domain.
  const Route* match(std::string_view ascii_domain) const;
  bool empty() const { return exact_.empty() && parents_.empty() && !any_; }

 private:
  std::unordered_map<std::string, Route> exact_;    // "example.com"
  std::unordered_map<std::string, Route> parents_;  // key "example.com" for ".example.com"
  std::optional<Route> any_;                        // "*"
};

// ---- TTLs ----

// A positive answer's lifetime: `ttl_seconds` clamped to [min_ttl, max_ttl].
core::Duration clamp_ttl(uint32_t ttl_seconds, const core::DnsConfig& config) noexcept;

// ---- one query's outcome ----

// What one query (one type) gave, independent of c-ares.
struct Outcome {
  enum class Kind : uint8_t { kRecords, kNoData, kNxDomain, kTempFail } kind = Kind::kTempFail;
  std::vector<dns_wire::Record> records;  // all records of the response (kRecords)
  uint32_t ttl = 0;                       // smallest TTL in the answer section (kRecords)
  std::string error;                      // kTempFail / kNxDomain detail
};

// Classifies a parsed response to a query of `type`: records of that type
// in the answer section -> kRecords (also when reached through a CNAME);
// none -> kNoData. The rcode is c-ares' business and was checked before.
Outcome outcome_from_message(dns_wire::Message message, uint16_t type);

// ---- hosts ----

// Puts IPv4 and IPv6 addresses in the order the SMTP client will try them.
std::vector<boost::asio::ip::address> order_addresses(std::vector<boost::asio::ip::address> v4,
                                                      std::vector<boost::asio::ip::address> v6,
                                                      AddressOrder order);

// The addresses of `name` from its A and AAAA outcomes. Some addresses ->
// kOk (a failed other family only shortens the lifetime to tempfail_ttl);
// none and any temporary failure -> kTempFail; otherwise kNxDomain (the name
// does not exist or has no address), kept negative_ttl.
HostAnswer assemble_host(std::string_view name, const Outcome& a, const Outcome& aaaa,
                         AddressOrder order, core::TimePoint now, const core::DnsConfig& config);

// The A/AAAA records the additional section of an MX response holds for
// `host` (glue), as a HostAnswer; nullopt when there are none.
std::optional<HostAnswer> glue_for(std::string_view host,
                                   const std::vector<dns_wire::Record>& records, AddressOrder order,
                                   core::TimePoint now, const core::DnsConfig& config);

// ---- MX sets ----

struct MxRecord {
  std::string name;  // "" for the root (null MX target)
  uint16_t preference = 0;
};

struct MxPlan {
  bool null_mx = false;              // every MX record targets "." (RFC 7505)
  std::vector<MxRecord> hosts;       // sorted by (preference, name); unique; <= kMaxMxHosts
  std::vector<std::string> invalid;  // targets that are not host names (skipped)
};

// From the MX records of an answer: a null MX among real ones is ignored
// (RFC 7505 §3 says it must not be published so; the real ones still work);
// a name listed twice keeps its lowest preference; targets that are not
// host names are skipped and reported.
MxPlan plan_mx(const std::vector<dns_wire::Record>& records);

// One MX host with its address lookup result.
struct ResolvedMx {
  MxRecord mx;
  HostAnswer answer;
};

// The answer for `domain` from its resolved MX hosts (in plan order): hosts
// without addresses are left out (their errors go into `error` if nothing
// is left, which is kTempFail). Expires at the earliest of `mx_expires` and
// every host answer's expiry, so a failed host is retried soon.
MxAnswer assemble_mx(std::string domain, std::vector<ResolvedMx> resolved,
                     core::TimePoint mx_expires);

// Shuffles hosts of equal preference in place, leaving the preference order
// intact (RFC 5321 §5.1: spread load over equal MX hosts).
// REQUIRES: hosts sorted by preference.
void shuffle_ties(std::vector<MxHost>& hosts, std::mt19937_64& rng);

}  // namespace mta::dns_policy
