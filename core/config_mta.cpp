// core/config_mta.cpp: the MTA sections of the configuration (issue #4):
// [dns], [smtp] with [[smtp.routes]] and [[smtp.tls_policies]], [listener]
// with [[listener.users]], and [accounting].
//
// Same rules as config.cpp (whose reading kit, config_read.h, this uses):
// unknown keys refused at every level, every error naming the dotted key,
// ranges inclusive and stated in the message. A few values are normalised
// while they are read, so the modules that use them meet one spelling only:
// DNS servers always carry a port, networks are canonical "address/prefix",
// route and policy domains are lower case, route hosts have no brackets.
// Files the daemon will need (CA bundle, listener certificate and key) must
// be readable at load: a typo then fails the start or the reload, not the
// first TLS handshake hours later.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wctype.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "core/config.h"
#include "core/config_read.h"
#include "core/time_format.h"
#include "core/utf8.h"

namespace core::config_detail {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kKiB = uint64_t{1} << 10;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kTiB = uint64_t{1} << 40;

// The tenant of a daemon with no [[tenants]] (app/admin_key.h's
// kDefaultTenant; core cannot include app/).
constexpr std::string_view kDefaultTenant = "default";

// ---- small predicates ----

bool is_ipv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// The canonical text of an address (inet_ntop): "::1" for "0:0::1".
std::string canonical_ip(int family, const void* addr) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(family, addr, buf, sizeof buf) ? std::string(buf) : std::string();
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Digits and dots only: an IPv4 address or a mistyped one, never a name.
bool numeric(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// ---- domains ----

// Lower case of UTF-8 text, ASCII and beyond ("ПРИМЕР.РФ" -> "пример.рф"),
// or nullopt if `s` is not well-formed UTF-8. Non-ASCII letters go through
// glibc's C.UTF-8 tables, which are built in (glibc >= 2.35) and do not
// depend on the process locale; without them only ASCII is lowered.
std::optional<std::string> lowercase_utf8(std::string_view s) {
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp;
    const size_t len = utf8::decode(p + i, s.size() - i, &cp);
    if (len == 0) return std::nullopt;
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp));
    } else {
      char32_t lower = cp;
      if (utf8) lower = static_cast<char32_t>(towlower_l(static_cast<wint_t>(cp), utf8));
      // Refuse a mapping that would not be a scalar value (it never is, but
      // utf8::append requires one).
      if (lower > 0x10FFFF || (lower >= 0xD800 && lower <= 0xDFFF)) lower = cp;
      utf8::append(out, lower);
    }
    i += len;
  }
  return out;
}

// A lower-case domain name, ASCII or internationalised (UTF-8 labels, to be
// converted to punycode by the resolver): labels of letters, digits and '-'
// (any non-ASCII character counts as a letter), not starting or ending with
// '-', at most 63 bytes each and 253 in all.
bool valid_domain_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const auto u = static_cast<unsigned char>(c);
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || u >= 0x80)) {
        return false;
      }
    }
    start = dot + 1;
  }
  return true;
}

// The `domain` of a route or TLS policy: "*" (every domain), "example.com"
// (that domain only) or ".example.com" (its subdomains), lower-cased.
std::string read_domain_pattern(const std::string& key, const toml::node& n,
                                const std::string& raw) {
  if (raw == "*") return raw;
  const auto lower = lowercase_utf8(raw);
  if (!lower) fail(key, n, "is not valid UTF-8");
  const std::string_view name =
      !lower->empty() && lower->front() == '.' ? std::string_view(*lower).substr(1) : *lower;
  if (!valid_domain_name(name)) {
    fail(key, n,
         fmt::format("\"{}\" is not a domain (expected \"*\", \"example.com\" or "
                     "\".example.com\" for its subdomains)",
                     raw));
  }
  return *lower;
}

// ---- host names, addresses, networks ----

// An EHLO or banner name: a DNS host name, not an IP address (RFC 5321
// wants an address literal in brackets there, which nobody should configure).
void check_host_name(const std::string& key, const toml::node& n, const std::string& v) {
  if (v.empty()) return;
  if (numeric(v) || !valid_host_name(v)) {
    fail(key, n,
         fmt::format("\"{}\" is not a host name (letters, digits and '-' in dot-separated "
                     "labels, e.g. \"mail.example.com\")",
                     v));
  }
}

// A name server: "ip:port", "[ipv6]:port", or a bare address (port 53).
// Returned as canonical "ip:port" / "[ipv6]:port".
std::string read_dns_server(const std::string& key, const toml::node& n) {
  const std::string v = read_string(key, n);
  const auto refuse = [&] {
    fail(key, n,
         fmt::format("\"{}\" is not an IP address with an optional port (e.g. \"127.0.0.1\", "
                     "\"127.0.0.1:5353\", \"[::1]:53\")",
                     v));
  };
  std::string host = v;
  std::string port = "53";
  if (!v.empty() && v.front() == '[') {
    const size_t close = v.find(']');
    if (close == std::string::npos) refuse();
    host = v.substr(1, close - 1);
    const std::string rest = v.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') refuse();
      port = rest.substr(1);
    }
    if (!is_ipv6(host)) refuse();
  } else if (std::count(v.begin(), v.end(), ':') > 1) {
    // "::1:53" is a valid IPv6 address as a whole; only brackets say where
    // the port starts.
    fail(key, n, fmt::format("\"{}\": write an IPv6 address in brackets (\"[::1]:53\")", v));
  } else {
    if (const size_t colon = v.find(':'); colon != std::string::npos) {
      host = v.substr(0, colon);
      port = v.substr(colon + 1);
    }
    if (!is_ipv4(host)) {
      if (!numeric(host) && valid_host_name(host)) {
        fail(key, n,
             fmt::format("\"{}\" must be an IP address (name servers cannot be found by name)", v));
      }
      refuse();
    }
  }
  if (!all_digits(port) || port.size() > 5 || std::stoi(port) < 1 || std::stoi(port) > 65535) {
    fail(key, n, fmt::format("\"{}\": the port must be between 1 and 65535", v));
  }
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(AF_INET, host.c_str(), bytes.data()) == 1) {
    return fmt::format("{}:{}", canonical_ip(AF_INET, bytes.data()), std::stoi(port));
  }
  inet_pton(AF_INET6, host.c_str(), bytes.data());  // checked above
  return fmt::format("[{}]:{}", canonical_ip(AF_INET6, bytes.data()), std::stoi(port));
}

// A client network: "10.0.0.0/8", "2001:db8::/32", or a bare address (one
// host). Host bits must be zero: "10.1.2.3/8" is refused with the network
// it probably meant, because silently widening or narrowing what may relay
// through us is worse than a failed start. Returned canonical.
std::string read_network(const std::string& key, const toml::node& n) {
  const std::string v = read_string(key, n);
  const size_t slash = v.find('/');
  const std::string addr = v.substr(0, slash);
  std::array<unsigned char, 16> bytes{};
  int family;
  int max_prefix;
  if (inet_pton(AF_INET, addr.c_str(), bytes.data()) == 1) {
    family = AF_INET;
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), bytes.data()) == 1) {
    family = AF_INET6;
    max_prefix = 128;
  } else {
    fail(key, n,
         fmt::format("\"{}\" is not a network (an IPv4 or IPv6 address with an optional /prefix, "
                     "e.g. \"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.7\")",
                     v));
  }
  int prefix = max_prefix;
  if (slash != std::string::npos) {
    const std::string p = v.substr(slash + 1);
    if (!all_digits(p) || p.size() > 3 || std::stoi(p) > max_prefix) {
      fail(key, n, fmt::format("\"{}\": the prefix must be between 0 and {}", v, max_prefix));
    }
    prefix = std::stoi(p);
  }
  const size_t nbytes = static_cast<size_t>(max_prefix / 8);
  std::array<unsigned char, 16> masked = bytes;
  for (size_t i = 0; i < nbytes; ++i) {
    const int bits = std::clamp(prefix - static_cast<int>(i * 8), 0, 8);
    masked[i] &= static_cast<unsigned char>(0xFF00 >> bits);
  }
  const std::string canonical = fmt::format("{}/{}", canonical_ip(family, masked.data()), prefix);
  if (masked != bytes) {
    fail(key, n, fmt::format("\"{}\" has host bits set (did you mean \"{}\"?)", v, canonical));
  }
  return canonical;
}

// ---- files ----

// A file the daemon opens later: it must exist, be a regular file and be
// readable by this process now.
void check_readable_file(const std::string& key, const toml::node& n, const std::string& path) {
  if (path.find('\0') != std::string::npos) fail(key, n, "must not contain NUL");
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    fail(key, n, fmt::format("cannot read \"{}\": {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) fail(key, n, fmt::format("\"{}\" is not a regular file", path));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(key, n, fmt::format("cannot read \"{}\": {}", path, std::strerror(errno)));
  ::close(fd);
}

// ---- enums and templates ----

TlsMode read_tls_mode(const std::string& key, const toml::node& n) {
  const std::string v = read_string(key, n);
  if (v == "disabled") return TlsMode::kDisabled;
  if (v == "opportunistic") return TlsMode::kOpportunistic;
  if (v == "require") return TlsMode::kRequire;
  fail(key, n,
       fmt::format("unknown TLS mode \"{}\" (expected disabled, opportunistic or require)", v));
}

// The envelope sender template: empty, or an address with placeholders
// {token}, {domain} and {tenant}. Checked on a sample expansion, so the
// real ones are addresses too: exactly one '@', a local part, and a host
// name after it. ASCII only, because a UTF-8 reverse path needs SMTPUTF8
// from every receiving server.
void check_return_path(const std::string& key, const toml::node& n, const std::string& v) {
  if (v.empty()) return;
  if (v.size() > 256) fail(key, n, "at most 256 characters");
  std::string sample;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      fail(key, n,
           "must be printable ASCII without spaces (e.g. \"bounce-{token}@bounces.example.com\")");
    }
    if (c == '<' || c == '>') {
      fail(key, n, "must be a bare address, without angle brackets");
    }
    if (c == '}') fail(key, n, "has a '}' without its '{'");
    if (c != '{') {
      sample.push_back(c);
      continue;
    }
    const size_t close = v.find('}', i);
    if (close == std::string::npos) fail(key, n, "has a '{' without its '}'");
    const std::string name = v.substr(i + 1, close - i - 1);
    if (name == "token") {
      sample += "t0ken";
    } else if (name == "domain") {
      sample += "example.com";
    } else if (name == "tenant") {
      sample += "tenant";
    } else {
      fail(key, n,
           fmt::format("unknown placeholder {{{}}} (expected {{token}}, {{domain}} or {{tenant}})",
                       name));
    }
    i = close;
  }
  const size_t at = sample.find('@');
  if (at == std::string::npos || sample.find('@', at + 1) != std::string::npos) {
    fail(key, n, "must contain exactly one '@' (e.g. \"bounce-{token}@bounces.example.com\")");
  }
  if (at == 0) fail(key, n, "has nothing before the '@'");
  if (!valid_host_name(sample.substr(at + 1))) {
    fail(key, n, "must have a domain after the '@' (e.g. \"bounce-{token}@bounces.example.com\")");
  }
}

// Timeouts of SMTP states: a second at least (a peer on the other side of
// the world, a slow TLS handshake), an hour at most (anything longer is a
// hung peer holding a connection slot).
constexpr Duration kMinSmtpTimeout = 1s;
constexpr Duration kMaxSmtpTimeout = 1h;

void read_route(Section& r, SmtpRoute& route) {
  const std::string domain = r.required_str("domain");
  route.domain = read_domain_pattern(r.key("domain"), *r.get("domain"), domain);
  std::string host = r.required_str("host");
  const auto* host_node = r.get("host");
  // IPv6 with or without brackets; stored without, like HostPort::host.
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  const bool ok = (bracketed || host.find(':') != std::string::npos)
                      ? is_ipv6(host)
                      : parse_host_port(host + ":25").has_value();
  if (!ok) {
    fail(r.key("host"), *host_node,
         fmt::format("\"{}\" is not an IP address or host name (e.g. \"smtp.example.com\", "
                     "\"192.0.2.25\", \"2001:db8::25\")",
                     host));
  }
  route.host = std::move(host);
  r.integer("port", &route.port, 1, 65535);
}

}  // namespace

// ---- sections ----

void read_dns(Section& s, DnsConfig& c) {
  if (const auto* n = s.get("servers")) {
    const std::string key = s.key("servers");
    const auto& a = read_array(key, *n, 32);
    c.servers.clear();
    for (size_t i = 0; i < a.size(); ++i) {
      std::string server = read_dns_server(indexed(key, i), *a.get(i));
      if (std::find(c.servers.begin(), c.servers.end(), server) != c.servers.end()) {
        fail(indexed(key, i), *a.get(i), fmt::format("duplicate server \"{}\"", server));
      }
      c.servers.push_back(std::move(server));
    }
  }
  s.duration("timeout", &c.timeout, 100ms, 60s);
  s.integer("tries", &c.tries, 1, 10);
  s.duration("min_ttl", &c.min_ttl, 0s, 24h);
  s.duration("max_ttl", &c.max_ttl, 1s, 7 * 24h);
  s.duration("negative_ttl", &c.negative_ttl, 0s, 24h);
  s.duration("tempfail_ttl", &c.tempfail_ttl, 0s, 1h);
  s.integer("cache_entries", &c.cache_entries, 1, 10'000'000);
  // Named after the key that was set: lowering max_ttl alone below the
  // default min_ttl is the max_ttl's problem.
  if (c.min_ttl > c.max_ttl) {
    if (const auto* n = s.get("min_ttl")) {
      fail(s.key("min_ttl"), *n,
           fmt::format("must not exceed dns.max_ttl ({})", format_duration(c.max_ttl)));
    }
    fail(s.key("max_ttl"), *s.get("max_ttl"),
         fmt::format("must not be below dns.min_ttl ({})", format_duration(c.min_ttl)));
  }
}

void read_smtp(Section& s, SmtpConfig& c) {
  s.boolean("enabled", &c.enabled);
  if (const auto* n = s.get("ehlo_name")) {
    c.ehlo_name = read_string(s.key("ehlo_name"), *n);
    check_host_name(s.key("ehlo_name"), *n, c.ehlo_name);
  }
  s.integer("port", &c.port, 1, 65535);
  if (const auto* n = s.get("return_path")) {
    c.return_path = read_string(s.key("return_path"), *n);
    check_return_path(s.key("return_path"), *n, c.return_path);
  }
  if (const auto* n = s.get("tls")) c.tls = read_tls_mode(s.key("tls"), *n);
  if (const auto* n = s.get("ca_file")) {
    c.ca_file = read_string(s.key("ca_file"), *n);
    if (!c.ca_file.empty()) check_readable_file(s.key("ca_file"), *n, c.ca_file);
  }
  if (const auto* n = s.get("tls_policies")) {
    c.tls_policies.clear();
    std::set<std::string, std::less<>> domains;
    for_each_table(s.key("tls_policies"), *n, 10'000, [&](Section& p, size_t) {
      TlsPolicy policy;
      const std::string domain = p.required_str("domain");
      policy.domain = read_domain_pattern(p.key("domain"), *p.get("domain"), domain);
      if (!domains.insert(policy.domain).second) {
        fail(p.key("domain"), *p.get("domain"),
             fmt::format("duplicate domain \"{}\"", policy.domain));
      }
      // Required: a policy that does not say what it wants is a mistake.
      p.required_str("mode");
      policy.mode = read_tls_mode(p.key("mode"), *p.get("mode"));
      c.tls_policies.push_back(std::move(policy));
    });
  }
  if (const auto* n = s.get("routes")) {
    c.routes.clear();
    std::set<std::string, std::less<>> domains;
    for_each_table(s.key("routes"), *n, 10'000, [&](Section& r, size_t) {
      SmtpRoute route;
      read_route(r, route);
      if (!domains.insert(route.domain).second) {
        fail(r.key("domain"), *r.get("domain"),
             fmt::format("duplicate domain \"{}\"", route.domain));
      }
      c.routes.push_back(std::move(route));
    });
  }
  if (const auto* n = s.get("sources")) {
    c.sources.clear();
    std::set<std::string, std::less<>> seen;
    for_each_table(s.key("sources"), *n, 1'000, [&](Section& src, size_t) {
      SmtpSource source;
      std::string address = src.required_str("address");
      const auto* node = src.get("address");
      if (address.size() >= 2 && address.front() == '[' && address.back() == ']')
        address = address.substr(1, address.size() - 2);
      // Canonical text (inet_ntop), so duplicates are found whatever the spelling.
      unsigned char buf[16];
      char text[INET6_ADDRSTRLEN] = {};
      const int family = address.find(':') != std::string::npos ? AF_INET6 : AF_INET;
      if (inet_pton(family, address.c_str(), buf) != 1 ||
          inet_ntop(family, buf, text, sizeof text) == nullptr) {
        fail(src.key("address"), *node,
             fmt::format("\"{}\" is not an IP address (e.g. \"192.0.2.10\", \"2001:db8::10\")", address));
      }
      source.address = text;
      if (!seen.insert(source.address).second) {
        fail(src.key("address"), *node, fmt::format("duplicate source address \"{}\"", source.address));
      }
      if (const auto* e = src.get("ehlo_name")) {
        source.ehlo_name = read_string(src.key("ehlo_name"), *e);
        check_host_name(src.key("ehlo_name"), *e, source.ehlo_name);
      }
      src.integer("max_connections", &source.max_connections, 0, 100'000);
      c.sources.push_back(std::move(source));
    });
  }
  s.integer("max_connections", &c.max_connections, 1, 10'000);
  s.integer("max_messages_per_connection", &c.max_messages_per_connection, 1, 100'000);
  s.integer("max_recipients_per_transaction", &c.max_recipients_per_transaction, 1, 1000);
  s.boolean("pipeline_messages", &c.pipeline_messages);
  const std::pair<std::string_view, Duration*> timeouts[] = {
      {"idle_timeout", &c.idle_timeout},
      {"connect_timeout", &c.connect_timeout},
      {"greeting_timeout", &c.greeting_timeout},
      {"ehlo_timeout", &c.ehlo_timeout},
      {"tls_timeout", &c.tls_timeout},
      {"mail_timeout", &c.mail_timeout},
      {"rcpt_timeout", &c.rcpt_timeout},
      {"data_timeout", &c.data_timeout},
      {"data_block_timeout", &c.data_block_timeout},
      {"data_done_timeout", &c.data_done_timeout},
      {"rset_timeout", &c.rset_timeout},
      {"quit_timeout", &c.quit_timeout},
  };
  for (const auto& [k, out] : timeouts) s.duration(k, out, kMinSmtpTimeout, kMaxSmtpTimeout);
}

void read_listener(Section& s, ListenerConfig& c, const std::vector<TenantConfig>& tenants) {
  // With no [[tenants]] the daemon runs as the one tenant "default".
  const auto tenant_problem = [&](const std::string& id) -> std::optional<std::string> {
    if (tenants.empty()) {
      if (id == kDefaultTenant) return std::nullopt;
      return fmt::format(
          "unknown tenant \"{}\" (no [[tenants]] are configured; the only tenant is \"{}\")", id,
          kDefaultTenant);
    }
    for (const auto& t : tenants) {
      if (t.id == id) return std::nullopt;
    }
    return fmt::format("unknown tenant \"{}\" (not in [[tenants]])", id);
  };

  s.boolean("enabled", &c.enabled);
  if (const auto* n = s.get("listen")) {
    c.listen = read_string(s.key("listen"), *n);
    check_listen(s.key("listen"), *n, c.listen);
  }
  if (const auto* n = s.get("hostname")) {
    c.hostname = read_string(s.key("hostname"), *n);
    check_host_name(s.key("hostname"), *n, c.hostname);
  }
  if (const auto* n = s.get("networks")) {
    const std::string key = s.key("networks");
    const auto& a = read_array(key, *n, 1000);
    c.networks.clear();
    for (size_t i = 0; i < a.size(); ++i) {
      std::string net = read_network(indexed(key, i), *a.get(i));
      if (std::find(c.networks.begin(), c.networks.end(), net) != c.networks.end()) {
        fail(indexed(key, i), *a.get(i), fmt::format("duplicate network \"{}\"", net));
      }
      c.networks.push_back(std::move(net));
    }
  }
  if (const auto* n = s.get("network_tenant")) {
    c.network_tenant = read_string(s.key("network_tenant"), *n);
    if (!c.network_tenant.empty()) {
      if (auto problem = tenant_problem(c.network_tenant)) {
        fail(s.key("network_tenant"), *n, *problem);
      }
    }
  }

  if (const auto* n = s.get("tls_cert")) {
    c.tls_cert = read_string(s.key("tls_cert"), *n);
    if (!c.tls_cert.empty()) check_readable_file(s.key("tls_cert"), *n, c.tls_cert);
  }
  if (const auto* n = s.get("tls_key")) {
    c.tls_key = read_string(s.key("tls_key"), *n);
    if (!c.tls_key.empty()) check_readable_file(s.key("tls_key"), *n, c.tls_key);
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    const bool cert_missing = c.tls_cert.empty();
    const std::string_view missing = cert_missing ? "tls_cert" : "tls_key";
    const std::string_view present = cert_missing ? "tls_key" : "tls_cert";
    fail(s.key(missing), *s.get(present),
         fmt::format("must be set together with listener.{} (both or neither)", present));
  }

  if (const auto* n = s.get("users")) {
    c.users.clear();
    std::set<std::string, std::less<>> names;
    for_each_table(s.key("users"), *n, 10'000, [&](Section& u, size_t) {
      ListenerUser user;
      user.name = u.required_str("name");
      const auto* name_node = u.get("name");
      if (user.name.empty() || user.name.size() > 256 ||
          !utf8::valid(user.name.data(), user.name.size()) || has_control(user.name)) {
        fail(u.key("name"), *name_node,
             "must be 1 to 256 characters of UTF-8 text, no control characters");
      }
      if (!names.insert(user.name).second) {
        fail(u.key("name"), *name_node, fmt::format("duplicate user \"{}\"", user.name));
      }
      // The password is a secret: never repeated in a message.
      user.password = u.required_str("password");
      const auto* password_node = u.get("password");
      if (user.password.size() < 8 || user.password.size() > 256) {
        fail(u.key("password"), *password_node, "must be 8 to 256 characters");
      }
      if (!utf8::valid(user.password.data(), user.password.size()) || has_control(user.password)) {
        fail(u.key("password"), *password_node, "must be UTF-8 text without control characters");
      }
      // With tenants configured, every account says whose mail it sends;
      // without, it may say "default" or nothing.
      if (const auto* t = u.get("tenant")) {
        user.tenant = read_string(u.key("tenant"), *t);
        if (auto problem = tenant_problem(user.tenant)) fail(u.key("tenant"), *t, *problem);
      } else if (!tenants.empty()) {
        throw ConfigError(u.key("tenant"),
                          "is required when [[tenants]] are configured" + where(u.node()));
      } else {
        user.tenant = std::string(kDefaultTenant);
      }
      c.users.push_back(std::move(user));
    });
    // AUTH PLAIN/LOGIN sends the password in the clear: offered only after
    // STARTTLS, so accounts without a certificate could never log in.
    if (!c.users.empty() && c.tls_cert.empty()) {
      fail(s.key("tls_cert"), *n,
           "must be set when [[listener.users]] are configured (AUTH is offered only over TLS)");
    }
  }

  s.size("max_message_bytes", &c.max_message_bytes, kKiB, kGiB);
  s.integer("max_recipients", &c.max_recipients, 1, 100'000);
  s.boolean("pipelining", &c.pipelining);
  s.boolean("chunking", &c.chunking);
  s.integer("max_connections", &c.max_connections, 1, 1'000'000);
  s.integer("max_connections_per_ip", &c.max_connections_per_ip, 1, 1'000'000);
  if (c.max_connections_per_ip > c.max_connections) {
    if (const auto* n = s.get("max_connections_per_ip")) {
      fail(s.key("max_connections_per_ip"), *n,
           fmt::format("must not exceed listener.max_connections ({})", c.max_connections));
    }
    fail(s.key("max_connections"), *s.get("max_connections"),
         fmt::format("must not be below listener.max_connections_per_ip ({})",
                     c.max_connections_per_ip));
  }
  s.duration("command_timeout", &c.command_timeout, kMinSmtpTimeout, kMaxSmtpTimeout);
  s.duration("data_timeout", &c.data_timeout, kMinSmtpTimeout, kMaxSmtpTimeout);
}

void read_accounting(Section& s, AccountingConfig& c) {
  s.boolean("enabled", &c.enabled);
  if (const auto* n = s.get("file")) {
    c.file = read_string(s.key("file"), *n);
    if (c.file.find('\0') != std::string::npos) fail(s.key("file"), *n, "must not contain NUL");
  }
  s.size("max_bytes", &c.max_bytes, kMiB, kTiB);
  s.duration("max_age", &c.max_age, 1min, 365 * 24h);
  s.integer("keep", &c.keep, 0, 1000);
}

}  // namespace core::config_detail
