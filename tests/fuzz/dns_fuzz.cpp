// tests/fuzz/dns_fuzz.cpp: fuzz target for the pure parsers behind MX
// resolution (mta/dns_wire.h, mta/dns_policy.h, to_ascii_domain in
// mta/dns.h).
//
// The same input is read three ways: as a DNS response (the bytes a DNS
// server — or anyone spoofing one — controls), as a domain name (recipient
// domains come from API users), and as lines of configuration (servers,
// routes). Each either succeeds with results that keep their invariants or
// is refused; never a read outside the input, a crash or a hang.
//
// Seed corpus: tests/fuzz/corpus/dns/ (responses packed by dnslib, with
// compression; IDN and ASCII domains; server lists; a route).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mta/dns.h"
#include "mta/dns_policy.h"
#include "mta/dns_wire.h"
#include "fuzz_check.h"

namespace {

using namespace mta;

void fuzz_message(std::span<const uint8_t> bytes) {
  auto m = dns_wire::parse_message(bytes);
  if (!m) return;
  // Every record needs at least 11 octets (root owner + header).
  FUZZ_CHECK(m->records.size() * 11 <= bytes.size());
  for (const auto& r : m->records) {
    // 255 wire octets at most; escaping makes a label octet up to 4 chars.
    FUZZ_CHECK(r.owner.size() <= 4 * 255);
    FUZZ_CHECK(r.target.size() <= 4 * 255);
  }
  core::DnsConfig config;
  const core::TimePoint now = core::from_unix_ms(1'790'000'000'000);
  auto plan = dns_policy::plan_mx(m->records);
  FUZZ_CHECK(plan.hosts.size() <= dns_policy::kMaxMxHosts);
  FUZZ_CHECK(!(plan.null_mx && !plan.hosts.empty()));
  for (size_t i = 0; i < plan.hosts.size(); ++i) {
    FUZZ_CHECK(dns_policy::is_host_name(plan.hosts[i].name));
    if (i > 0) FUZZ_CHECK(plan.hosts[i - 1].preference <= plan.hosts[i].preference);
    if (auto glue = dns_policy::glue_for(plan.hosts[i].name, m->records, AddressOrder::kInterleave,
                                         now, config)) {
      FUZZ_CHECK(!glue->addresses.empty());
      FUZZ_CHECK(glue->expires >= now + config.min_ttl && glue->expires <= now + config.max_ttl);
    }
  }
  for (uint16_t type : {dns_wire::kTypeA, dns_wire::kTypeAaaa}) {
    auto o = dns_policy::outcome_from_message(*m, type);
    auto h = dns_policy::assemble_host("h.test", o, o, AddressOrder::kIpv4First, now, config);
    FUZZ_CHECK((h.kind == MxKind::kOk) == !h.addresses.empty());
  }
}

void fuzz_text(std::string_view text) {
  if (auto ascii = to_ascii_domain(text)) {
    FUZZ_CHECK(dns_policy::is_host_name(*ascii));
    FUZZ_CHECK(ascii->size() <= 253);
    auto again = to_ascii_domain(*ascii);  // idempotent
    FUZZ_CHECK(again && *again == *ascii);
  }
  if (auto s = dns_policy::parse_server(text)) FUZZ_CHECK(s->port != 0);

  std::vector<std::string> lines;
  for (size_t start = 0; start <= text.size() && lines.size() < 16;) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  (void)dns_policy::servers_to_csv(lines);
  if (lines.size() >= 2) {
    auto table = dns_policy::RouteTable::build({{lines[0], lines[1], 25}});
    if (table) {
      for (const auto& l : lines)
        if (auto d = to_ascii_domain(l)) (void)table->match(*d);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_message(std::span<const uint8_t>(data, size));
  fuzz_text(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
