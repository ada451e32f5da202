// core/config_feedback.cpp: [inbound] and [bounces] (issue #7).
#include <algorithm>
#include <fmt/format.h>

#include "core/config_read.h"

namespace core::config_detail {

namespace {

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return s;
}

// "local@domain" with a host-name domain and a local part of printable
// ASCII without spaces, '<', '>' or '@'. Inbound addresses are ours, so the
// stricter rule costs nobody anything.
bool valid_inbound_address(std::string_view a) noexcept {
  const size_t at = a.find('@');
  if (at == 0 || at == std::string_view::npos || a.size() > 254) return false;
  for (char c : a.substr(0, at)) {
    if (c <= ' ' || c >= 127 || c == '<' || c == '>' || c == '@' || c == '"') return false;
  }
  return valid_host_name(a.substr(at + 1));
}

void add_unique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

}  // namespace

void read_inbound(Section& s, InboundConfig& c) {
  read_strings(s, "domains", &c.domains, 1000);
  for (size_t i = 0; i < c.domains.size(); ++i) {
    c.domains[i] = lower(c.domains[i]);
    if (!valid_host_name(c.domains[i]))
      throw ConfigError(indexed(s.key("domains"), i), "must be a domain name in A-labels" + where(s.node()));
  }
  read_strings(s, "addresses", &c.addresses, 1000);
  for (size_t i = 0; i < c.addresses.size(); ++i) {
    c.addresses[i] = lower(c.addresses[i]);
    if (!valid_inbound_address(c.addresses[i]))
      throw ConfigError(indexed(s.key("addresses"), i),
                        "must be an address local@domain (ASCII)" + where(s.node()));
  }
  s.integer("batch", &c.batch, 1, 10'000);
}

void read_bounces(Section& s, BouncesConfig& c) {
  s.str("rules_file", &c.rules_file);
  s.integer("soft_limit", &c.soft_limit, 1, 1000);
  s.duration("soft_window", &c.soft_window, Duration(60'000), Duration(366LL * 24 * 3600 * 1000));
  s.boolean("suppress_blocked", &c.suppress_blocked);
}

void complete_inbound(Config& config) {
  InboundConfig& in = config.inbound;
  // VERP: "bounce-{token}@bounces.example.com" receives at its domain.
  const std::string& rp = config.smtp.return_path;
  const size_t at = rp.rfind('@');
  if (at != std::string::npos && rp.find('{', at) == std::string::npos) {
    std::string domain = lower(rp.substr(at + 1));
    if (valid_host_name(domain)) add_unique(in.domains, std::move(domain));
  }
  const std::string mailto = lower(config.email.unsubscribe_mailto);
  if (valid_inbound_address(mailto)) add_unique(in.addresses, mailto);
}

}  // namespace core::config_detail
