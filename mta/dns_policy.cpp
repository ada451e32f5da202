// mta/dns_policy.cpp: see dns_policy.h.
#include "mta/dns_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace mta::dns_policy {

namespace ip = boost::asio::ip;

bool is_host_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : name) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum && c != '-') return false;
      if (c == '-' && label == 0) return false;
      if (++label > 63) return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

std::optional<ip::address> parse_ip_literal(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    boost::system::error_code ec;
    auto a = ip::make_address_v6(std::string(text), ec);
    if (ec) return std::nullopt;
    return ip::address(a);
  }
  // make_address accepts only the dotted-quad and RFC 4291 forms (inet_pton).
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(text), ec);
  if (ec || text.find('%') != std::string_view::npos) return std::nullopt;
  return a;
}

core::Result<ServerAddress> parse_server(std::string_view text) {
  auto bad = [&](std::string why) {
    return core::invalid_argument("dns.servers", fmt::format("\"{}\": {}", text, why));
  };
  if (auto whole = parse_ip_literal(text)) return ServerAddress{*whole, 53};
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("expected \"[ipv6]:port\"");
    host = text.substr(0, close + 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected \"ip:port\"");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return bad("an IPv6 address with a port needs brackets");
  }
  auto address = parse_ip_literal(host);
  if (!address) return bad("not an IP address (name servers are given by address)");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return bad("port must be 1..65535");
  return ServerAddress{*address, static_cast<uint16_t>(port)};
}

core::Result<std::string> servers_to_csv(const std::vector<std::string>& servers) {
  std::string csv;
  for (size_t i = 0; i < servers.size(); ++i) {
    auto s = parse_server(servers[i]);
    if (!s) {
      core::Error e = s.error();
      e.field = fmt::format("dns.servers[{}]", i);
      return e;
    }
    if (!csv.empty()) csv.push_back(',');
    if (s->address.is_v6())
      csv += fmt::format("[{}]:{}", s->address.to_string(), s->port);
    else
      csv += fmt::format("{}:{}", s->address.to_string(), s->port);
  }
  return csv;
}

core::Result<RouteTable> RouteTable::build(const std::vector<core::SmtpRoute>& routes) {
  RouteTable t;
  for (size_t i = 0; i < routes.size(); ++i) {
    const core::SmtpRoute& r = routes[i];
    const std::string field = fmt::format("smtp.routes[{}]", i);
    Route route;
    route.port = r.port;
    if (auto literal = parse_ip_literal(r.host)) {
      route.literal = *literal;
      route.host = literal->to_string();
    } else if (auto host = to_ascii_domain(r.host)) {
      route.host = std::move(*host);
    } else {
      return core::invalid_argument(
          field + ".host", fmt::format("\"{}\" is neither an IP address nor a host name", r.host));
    }
    bool inserted = false;
    if (r.domain == "*") {
      inserted = !t.any_.has_value();
      route.domain = r.domain;  // "*"
      t.any_ = route;
    } else {
      const bool parent = !r.domain.empty() && r.domain.front() == '.';
      auto domain = to_ascii_domain(parent ? std::string_view(r.domain).substr(1)
                                           : std::string_view(r.domain));
      if (!domain || (parent && r.domain.size() > 1 && r.domain[1] == '.'))
        return core::invalid_argument(
            field + ".domain",
            fmt::format("\"{}\" is not \"*\", a domain or \".domain\"", r.domain));
      route.domain = parent ? fmt::format(".{}", *domain) : *domain;
      auto& map = parent ? t.parents_ : t.exact_;
      inserted = map.emplace(*domain, route).second;
    }
    if (!inserted)
      return core::invalid_argument(field + ".domain",
                                    fmt::format("\"{}\" has two routes", r.domain));
  }
  return t;
}

const Route* RouteTable::match(std::string_view ascii_domain) const {
  if (auto it = exact_.find(std::string(ascii_domain)); it != exact_.end()) return &it->second;
  if (!parents_.empty()) {
    // "a.b.example.com": try "b.example.com", "example.com", "com".
    for (size_t dot = ascii_domain.find('.'); dot != std::string_view::npos;
         dot = ascii_domain.find('.', dot + 1)) {
      if (auto it = parents_.find(std::string(ascii_domain.substr(dot + 1))); it != parents_.end())
        return &it->second;
    }
  }
  return any_ ? &*any_ : nullptr;
}

core::Duration clamp_ttl(uint32_t ttl_seconds, const core::DnsConfig& config) noexcept {
  const core::Duration ttl{int64_t{ttl_seconds} * 1000};
  if (ttl < config.min_ttl) return config.min_ttl;
  if (ttl > config.max_ttl) return std::max(config.max_ttl, config.min_ttl);
  return ttl;
}

Outcome outcome_from_message(dns_wire::Message message, uint16_t type) {
  Outcome o;
  bool found = false;
  bool first = true;
  for (const auto& r : message.records) {
    if (r.section != dns_wire::Section::kAnswer) continue;
    o.ttl = first ? r.ttl : std::min(o.ttl, r.ttl);
    first = false;
    if (r.type == type && r.rclass == dns_wire::kClassIn) found = true;
  }
  o.kind = found ? Outcome::Kind::kRecords : Outcome::Kind::kNoData;
  o.records = std::move(message.records);
  return o;
}

std::vector<ip::address> order_addresses(std::vector<ip::address> v4, std::vector<ip::address> v6,
                                         AddressOrder order) {
  std::vector<ip::address> out;
  out.reserve(v4.size() + v6.size());
  auto append = [&out](const std::vector<ip::address>& v) {
    out.insert(out.end(), v.begin(), v.end());
  };
  switch (order) {
    case AddressOrder::kIpv4First:
      append(v4);
      append(v6);
      break;
    case AddressOrder::kIpv6First:
      append(v6);
      append(v4);
      break;
    case AddressOrder::kInterleave:
      for (size_t i = 0; i < std::max(v4.size(), v6.size()); ++i) {
        if (i < v6.size()) out.push_back(v6[i]);
        if (i < v4.size()) out.push_back(v4[i]);
      }
      break;
  }
  // A server may list an address twice; trying it twice helps nobody.
  std::vector<ip::address> unique;
  for (auto& a : out)
    if (std::find(unique.begin(), unique.end(), a) == unique.end()) unique.push_back(a);
  return unique;
}

namespace {

void collect(const Outcome& o, uint16_t type, std::vector<ip::address>& out) {
  if (o.kind != Outcome::Kind::kRecords) return;
  for (const auto& r : o.records)
    if (r.section == dns_wire::Section::kAnswer && r.type == type && r.rclass == dns_wire::kClassIn)
      out.push_back(r.address);
}

std::string describe(const Outcome& o, std::string_view type) {
  switch (o.kind) {
    case Outcome::Kind::kRecords:
      return fmt::format("{} ok", type);
    case Outcome::Kind::kNoData:
      return fmt::format("no {} record", type);
    case Outcome::Kind::kNxDomain:
      return "no such domain";
    case Outcome::Kind::kTempFail:
      return fmt::format("{} lookup failed: {}", type, o.error);
  }
  return {};
}

}  // namespace

HostAnswer assemble_host(std::string_view name, const Outcome& a, const Outcome& aaaa,
                         AddressOrder order, core::TimePoint now, const core::DnsConfig& config) {
  using K = Outcome::Kind;
  std::vector<ip::address> v4, v6;
  collect(a, dns_wire::kTypeA, v4);
  collect(aaaa, dns_wire::kTypeAaaa, v6);
  HostAnswer h;
  const bool any_tempfail = a.kind == K::kTempFail || aaaa.kind == K::kTempFail;
  if (!v4.empty() || !v6.empty()) {
    h.kind = MxKind::kOk;
    uint32_t ttl = UINT32_MAX;
    if (!v4.empty()) ttl = std::min(ttl, a.ttl);
    if (!v6.empty()) ttl = std::min(ttl, aaaa.ttl);
    core::Duration life = clamp_ttl(ttl, config);
    if (any_tempfail) life = std::min(life, config.tempfail_ttl);
    h.expires = now + life;
    h.addresses = order_addresses(std::move(v4), std::move(v6), order);
    return h;
  }
  if (any_tempfail) {
    h.kind = MxKind::kTempFail;
    h.expires = now + config.tempfail_ttl;
  } else {
    h.kind = MxKind::kNxDomain;
    h.expires = now + config.negative_ttl;
  }
  if (a.kind == K::kNxDomain && aaaa.kind == K::kNxDomain)
    h.error = fmt::format("{}: no such domain", name);
  else
    h.error = fmt::format("{}: {}; {}", name, describe(a, "A"), describe(aaaa, "AAAA"));
  return h;
}

std::optional<HostAnswer> glue_for(std::string_view host,
                                   const std::vector<dns_wire::Record>& records, AddressOrder order,
                                   core::TimePoint now, const core::DnsConfig& config) {
  std::vector<ip::address> v4, v6;
  uint32_t ttl = UINT32_MAX;
  for (const auto& r : records) {
    if (r.section != dns_wire::Section::kAdditional || r.owner != host ||
        r.rclass != dns_wire::kClassIn)
      continue;
    if (r.type == dns_wire::kTypeA)
      v4.push_back(r.address);
    else if (r.type == dns_wire::kTypeAaaa)
      v6.push_back(r.address);
    else
      continue;
    ttl = std::min(ttl, r.ttl);
  }
  if (v4.empty() && v6.empty()) return std::nullopt;
  HostAnswer h;
  h.kind = MxKind::kOk;
  h.addresses = order_addresses(std::move(v4), std::move(v6), order);
  h.expires = now + clamp_ttl(ttl, config);
  return h;
}

MxPlan plan_mx(const std::vector<dns_wire::Record>& records) {
  MxPlan plan;
  bool any_mx = false;
  for (const auto& r : records) {
    if (r.section != dns_wire::Section::kAnswer || r.type != dns_wire::kTypeMx ||
        r.rclass != dns_wire::kClassIn)
      continue;
    any_mx = true;
    if (r.target.empty()) continue;  // null MX, see below
    if (!is_host_name(r.target)) {
      plan.invalid.push_back(r.target);
      continue;
    }
    auto same = std::find_if(plan.hosts.begin(), plan.hosts.end(),
                             [&](const MxRecord& m) { return m.name == r.target; });
    if (same == plan.hosts.end())
      plan.hosts.push_back(MxRecord{r.target, r.preference});
    else
      same->preference = std::min(same->preference, r.preference);
  }
  plan.null_mx = any_mx && plan.hosts.empty() && plan.invalid.empty();
  std::sort(plan.hosts.begin(), plan.hosts.end(), [](const MxRecord& x, const MxRecord& y) {
    return x.preference != y.preference ? x.preference < y.preference : x.name < y.name;
  });
  if (plan.hosts.size() > kMaxMxHosts) plan.hosts.resize(kMaxMxHosts);
  return plan;
}

MxAnswer assemble_mx(std::string domain, std::vector<ResolvedMx> resolved,
                     core::TimePoint mx_expires) {
  MxAnswer answer;
  answer.domain = std::move(domain);
  answer.expires = mx_expires;
  std::string errors;
  for (auto& r : resolved) {
    answer.expires = std::min(answer.expires, r.answer.expires);
    if (r.answer.kind == MxKind::kOk && !r.answer.addresses.empty()) {
      answer.hosts.push_back(MxHost{r.mx.name, r.mx.preference, 0, std::move(r.answer.addresses)});
    } else {
      if (!errors.empty()) errors += "; ";
      errors += r.answer.error.empty() ? fmt::format("{}: no address", r.mx.name) : r.answer.error;
    }
  }
  if (!answer.hosts.empty()) {
    answer.kind = MxKind::kOk;
    return answer;
  }
  answer.kind = MxKind::kTempFail;
  answer.error = resolved.empty() ? std::string("no usable MX host")
                                  : fmt::format("no MX host has an address: {}", errors);
  return answer;
}

void shuffle_ties(std::vector<MxHost>& hosts, std::mt19937_64& rng) {
  for (size_t start = 0; start < hosts.size();) {
    size_t end = start + 1;
    while (end < hosts.size() && hosts[end].preference == hosts[start].preference) ++end;
    if (end - start > 1)
      std::shuffle(hosts.begin() + static_cast<ptrdiff_t>(start),
                   hosts.begin() + static_cast<ptrdiff_t>(end), rng);
    start = end;
  }
}

}  // namespace mta::dns_policy
