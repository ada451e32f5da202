// tests/mta/dns_support.cpp: see dns_support.h.
#include "dns_support.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace testing_support {

DnsServer::~DnsServer() {
  peer_.stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool DnsServer::start(const std::string& zone, std::string* error) {
  char tmpl[] = "/tmp/vestnik-dns-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    *error = "mkdtemp failed";
    return false;
  }
  dir_ = tmpl;
  const std::string zone_path = dir_ + "/zone.txt";
  log_path_ = dir_ + "/queries.log";
  {
    std::ofstream out(zone_path);
    out << zone;
    if (!out) {
      *error = "cannot write " + zone_path;
      return false;
    }
  }
  std::string rest;
  if (!peer_.start({"/usr/bin/python3", test_data_dir() + "/dns_server.py", "--zone", zone_path,
                    "--log", log_path_},
                   "READY ", std::chrono::seconds(10), &rest, error))
    return false;
  port_ = static_cast<uint16_t>(std::stoi(rest));
  return port_ != 0;
}

std::string DnsServer::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int DnsServer::count(const std::string& name, const std::string& type) const {
  std::istringstream in(log());
  std::string line;
  int n = 0;
  const std::string prefix = name + " " + type + " ";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) ++n;
  return n;
}

bool DnsServer::wait_for_count(const std::string& name, const std::string& type, int n,
                               std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (count(name, type) >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return count(name, type) >= n;
}

// Names under .test (RFC 2606), each for one behaviour.
const char kDnsTestZone[] = R"(
; MX with a tie at 10 and a backup at 20; a.mx.test has both families.
mx.test. 300 IN MX 10 a.mx.test.
mx.test. 300 IN MX 10 b.mx.test.
mx.test. 300 IN MX 20 c.mx.test.
a.mx.test. 300 IN A 127.0.0.2
a.mx.test. 300 IN AAAA ::1
b.mx.test. 300 IN A 127.0.0.3
c.mx.test. 300 IN A 127.0.0.4
; MX answered with glue in the additional section.
glue.test. 300 IN MX 10 g.glue.test.
g.glue.test. 300 IN A 127.0.0.5
g.glue.test. 300 IN AAAA ::1
!glue glue.test.
; NODATA for MX: implicit MX. alias.test reaches it through a CNAME.
implicit.test. 300 IN A 127.0.0.6
implicit.test. 300 IN AAAA ::1
alias.test. 300 IN CNAME implicit.test.
; Exists, but neither MX nor address.
empty.test. 300 IN TXT "nothing here"
; RFC 7505 null MX.
nullmx.test. 300 IN MX 0 .
; MX hosts that do not resolve: one of two, and the only one.
partial.test. 300 IN MX 10 missing.partial.test.
partial.test. 300 IN MX 20 ok.partial.test.
ok.partial.test. 300 IN A 127.0.0.7
noaddr.test. 300 IN MX 10 missing.noaddr.test.
; Temporary failures.
!servfail servfail.test.
!refused refused.test.
!drop slow.test.
mxslow.test. 300 IN MX 10 host.mxslow.test.
!drop host.mxslow.test.
; IDN: пример.укр and почта.рф.
xn--e1afmkfd.xn--j1amh. 300 IN MX 10 mail.xn--e1afmkfd.xn--j1amh.
mail.xn--e1afmkfd.xn--j1amh. 300 IN A 127.0.0.8
xn--80a1acny.xn--p1ai. 300 IN MX 5 mx.xn--80a1acny.xn--p1ai.
mx.xn--80a1acny.xn--p1ai. 300 IN AAAA ::1
; TTLs: the MX lives 60 s, its host 600 s.
ttl.test. 60 IN MX 10 h.ttl.test.
h.ttl.test. 600 IN A 127.0.0.9
; A static route's target host.
relay.test. 300 IN A 127.0.0.10
relay.test. 300 IN AAAA ::1
; Answered after 500 ms, so concurrent lookups overlap.
coalesce.test. 300 IN MX 10 a.mx.test.
!delay coalesce.test. 500
)";

void DnsFixture::SetUp() {
  std::string error;
  ASSERT_TRUE(server_.start(kDnsTestZone, &error)) << error;
}

void DnsFixture::TearDown() {
  for (auto& r : resolvers_) r->shutdown();
  io_.restart();
  io_.run_for(std::chrono::seconds(5));  // completions posted by the shutdown
  server_.stop();
}

core::DnsConfig DnsFixture::config() const {
  core::DnsConfig c;
  c.servers = {server_.address()};
  c.timeout = core::Duration(1000);
  c.tries = 2;
  c.min_ttl = core::Duration(1000);
  c.max_ttl = core::Duration(3'600'000);
  c.negative_ttl = core::Duration(300'000);
  c.tempfail_ttl = core::Duration(30'000);
  c.cache_entries = 1000;
  return c;
}

mta::ResolverOptions DnsFixture::default_options() {
  mta::ResolverOptions o;
  o.shuffle_seed = 7;
  return o;
}

std::shared_ptr<mta::Resolver> DnsFixture::make(const core::DnsConfig& config,
                                                const std::vector<core::SmtpRoute>& routes,
                                                mta::ResolverOptions options) {
  auto r = mta::Resolver::create(config, routes, io_.get_executor(), clock_, options);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
  if (!r) return nullptr;
  resolvers_.push_back(*r);
  return *r;
}

namespace {
// The slot is shared with the callback: if the wait gives up, a late
// completion (say from TearDown's shutdown) still writes somewhere valid.
template <class A>
A wait_for(boost::asio::io_context& io, const std::shared_ptr<std::optional<A>>& slot) {
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!*slot && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(slot->has_value()) << "no answer within 30 s";
  return slot->value_or(A{});
}
}  // namespace

mta::MxAnswer DnsFixture::mx(mta::Resolver& r, std::string_view domain) {
  auto slot = std::make_shared<std::optional<mta::MxAnswer>>();
  r.resolve_mx(domain, [slot](mta::MxAnswer a) { *slot = std::move(a); });
  return wait_for(io_, slot);
}

mta::HostAnswer DnsFixture::host(mta::Resolver& r, std::string_view name) {
  auto slot = std::make_shared<std::optional<mta::HostAnswer>>();
  r.resolve_host(name, [slot](mta::HostAnswer a) { *slot = std::move(a); });
  return wait_for(io_, slot);
}

std::string describe(const mta::MxHost& h) {
  std::string s = h.name;
  for (const auto& a : h.addresses) s += " " + a.to_string();
  return s;
}

std::vector<std::string> names(const mta::MxAnswer& a) {
  std::vector<std::string> out;
  for (const auto& h : a.hosts) out.push_back(h.name);
  return out;
}

}  // namespace testing_support
