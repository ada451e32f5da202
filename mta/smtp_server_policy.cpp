// mta/smtp_server_policy.cpp: the listener's policy (client networks and
// SMTP AUTH users of core::ListenerConfig for the relay role, the domains
// and addresses of core::InboundConfig for the inbound role) and CIDR
// matching.
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <charconv>

#include "mta/smtp_server.h"

namespace mta {

namespace asio = boost::asio;

namespace {

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> d;
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

// Compares the first `bits` bits of two byte strings.
bool prefix_equal(const unsigned char* a, const unsigned char* b, unsigned bits) noexcept {
  const unsigned whole = bits / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (a[i] != b[i]) return false;
  }
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

// `a` equals `lower` (already lower case) ignoring ASCII case. Bytes >= 0x80
// compare exactly: an internationalised domain is configured and sent in
// one form (the config loader does not fold Unicode case, neither do we).
bool iequal(std::string_view a, std::string_view lower) noexcept {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != lower[i]) return false;
  }
  return true;
}

std::string_view strip_dot(std::string_view s) noexcept {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

// Configured entries in the form they are compared in.
std::string normalize_entry(std::string_view s) {
  std::string out(strip_dot(s));
  for (char& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace

Verdict Verdict::accept(std::string tenant) {
  Verdict v;
  v.code = 250;
  v.tenant = std::move(tenant);
  return v;
}

Verdict Verdict::reject(uint16_t code, std::string enhanced, std::string text) {
  Verdict v;
  v.code = code;
  v.enhanced = std::move(enhanced);
  v.text = std::move(text);
  return v;
}

bool IpNetwork::contains(const asio::ip::address& a) const noexcept {
  if (a.is_v4() && address.is_v4()) {
    return prefix_equal(a.to_v4().to_bytes().data(), address.to_v4().to_bytes().data(), prefix);
  }
  if (a.is_v6() && address.is_v6()) {
    return prefix_equal(a.to_v6().to_bytes().data(), address.to_v6().to_bytes().data(), prefix);
  }
  return false;
}

std::optional<IpNetwork> parse_network(std::string_view text) {
  const size_t slash = text.find('/');
  std::string host(text.substr(0, slash));
  // "[::1]/128" is how some write IPv6; accept the brackets.
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  IpNetwork n;
  n.address = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  if (n.address.is_v6() && n.address.to_v6().scope_id() != 0) return std::nullopt;
  const unsigned max = n.address.is_v4() ? 32 : 128;
  n.prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    unsigned v = 0;
    auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || err != std::errc() || end != p.data() + p.size() || v > max) {
      return std::nullopt;
    }
    n.prefix = v;
  }
  return n;
}

core::Result<std::unique_ptr<InjectionPolicy>> InjectionPolicy::create(
    const core::ListenerConfig& config, const core::InboundConfig& inbound) {
  std::unique_ptr<InjectionPolicy> p(new InjectionPolicy());
  for (size_t i = 0; i < config.networks.size(); ++i) {
    auto n = parse_network(config.networks[i]);
    const std::string field = "listener.networks[" + std::to_string(i) + "]";
    if (!n) {
      return core::invalid_argument(field, field + ": '" + config.networks[i] +
                                               "' is not an address or address/prefix");
    }
    p->networks_.push_back(*n);
  }
  for (size_t i = 0; i < config.users.size(); ++i) {
    const auto& u = config.users[i];
    const std::string field = "listener.users[" + std::to_string(i) + "]";
    if (u.name.empty() || u.password.empty()) {
      return core::invalid_argument(field, field + ": name and password must not be empty");
    }
    p->users_.push_back(User{sha256(u.name), sha256(u.password),
                             u.tenant.empty() ? std::string("default") : u.tenant});
  }
  p->network_tenant_ = config.network_tenant.empty() ? "default" : config.network_tenant;
  // The loader (core/config_feedback.cpp) has checked these already; they
  // are checked again because an empty domain or an address without '@'
  // here would quietly receive mail nobody meant to receive.
  for (size_t i = 0; i < inbound.domains.size(); ++i) {
    std::string d = normalize_entry(inbound.domains[i]);
    if (d.empty() || d.find('@') != std::string::npos) {
      const std::string field = "inbound.domains[" + std::to_string(i) + "]";
      return core::invalid_argument(field, field + ": '" + inbound.domains[i] +
                                               "' is not a domain");
    }
    p->inbound_domains_.push_back(std::move(d));
  }
  for (size_t i = 0; i < inbound.addresses.size(); ++i) {
    std::string a = normalize_entry(inbound.addresses[i]);
    const size_t at = a.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == a.size()) {
      const std::string field = "inbound.addresses[" + std::to_string(i) + "]";
      return core::invalid_argument(field, field + ": '" + inbound.addresses[i] +
                                               "' is not local@domain");
    }
    p->inbound_addresses_.push_back(std::move(a));
  }
  return p;
}

bool InjectionPolicy::offers_auth() const noexcept { return !users_.empty(); }

// Every user is compared, name and password digests both, without an early
// exit, so the time taken tells nothing about which part or user matched.
std::optional<std::string> InjectionPolicy::authenticate(std::string_view user,
                                                         std::string_view password) const {
  const auto name_d = sha256(user);
  const auto pass_d = sha256(password);
  const User* found = nullptr;
  for (const User& u : users_) {
    const int name_diff = CRYPTO_memcmp(name_d.data(), u.name_digest.data(), name_d.size());
    const int pass_diff = CRYPTO_memcmp(pass_d.data(), u.password_digest.data(), pass_d.size());
    if ((name_diff | pass_diff) == 0 && found == nullptr) found = &u;
  }
  if (found == nullptr) return std::nullopt;
  return found->tenant;
}

bool InjectionPolicy::trusted_network(const asio::ip::address& address) const noexcept {
  for (const auto& n : networks_) {
    if (n.contains(address)) return true;
  }
  return false;
}

// The domain is what follows the last '@': a quoted local part may hold
// an '@' of its own ("a@b"@gmail.com is mail for gmail.com), the domain
// never does.
bool InjectionPolicy::inbound_recipient(std::string_view forward_path) const {
  const size_t at = forward_path.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  const std::string_view local = forward_path.substr(0, at);
  const std::string_view domain = strip_dot(forward_path.substr(at + 1));
  if (domain.empty()) return false;
  for (const std::string& d : inbound_domains_) {
    if (iequal(domain, d)) return true;
  }
  for (const std::string_view a : inbound_addresses_) {
    if (a.size() == local.size() + 1 + domain.size() && a[local.size()] == '@' &&
        iequal(local, a.substr(0, local.size())) && iequal(domain, a.substr(local.size() + 1))) {
      return true;
    }
  }
  return false;
}

Verdict InjectionPolicy::mail(const ClientInfo& client, std::string_view) const {
  if (!client.auth_user.empty()) return Verdict::accept(std::string(client.auth_tenant));
  if (trusted_network(client.address)) return Verdict::accept(network_tenant_);
  if (receives()) return Verdict::accept();
  return Verdict::reject(530, "5.7.0", "Authentication required");
}

// Inbound first, for every client: a bounce a trusted service relays to us
// belongs in processing like one from the outside. Whether the client may
// relay is decided again from the client rather than from the tenant
// mail() gave, so a policy decision never hangs on the session passing it
// back unchanged.
Verdict InjectionPolicy::rcpt(const ClientInfo& client, std::string_view,
                              std::string_view forward_path) const {
  if (inbound_recipient(forward_path)) {
    Verdict v = Verdict::accept();
    v.inbound = true;
    return v;
  }
  if (!client.auth_user.empty() || trusted_network(client.address)) return Verdict::accept();
  return Verdict::reject(550, "5.7.1", "Relaying denied");
}

}  // namespace mta
