// tests/mta/dns_support.h: the local DNS server (tests/mta/data/dns_server.py)
// for the mta/ DNS integration tests: a zone written to a temporary
// directory, the server started on 127.0.0.1 (UDP and TCP, one port) and
// stopped by PID, and its query log read back to count queries.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "mta/dns.h"
#include "peers.h"

namespace testing_support {

class DnsServer {
 public:
  DnsServer() = default;
  ~DnsServer();  // stops the server, removes the temporary directory
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Writes `zone` (dns_server.py's format) and starts the server; false with
  // `error` set when it did not come up within 10 s.
  bool start(const std::string& zone, std::string* error);
  void stop() { peer_.stop(); }

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // How many queries for `name` (lowercase, no trailing dot) of `type`
  // ("MX", "A", "AAAA") the server has received so far.
  int count(const std::string& name, const std::string& type) const;
  // Waits until count(name, type) >= n, at most `timeout`.
  bool wait_for_count(const std::string& name, const std::string& type, int n,
                      std::chrono::milliseconds timeout) const;
  std::string log() const;  // the whole query log, for failure messages

 private:
  Peer peer_;
  std::string dir_;
  std::string log_path_;
  uint16_t port_ = 0;
};

// The zone every DNS integration test serves (dns_support.cpp lists what
// each name is for).
extern const char kDnsTestZone[];

// A DnsServer serving kDnsTestZone, an io_context, a ManualClock and
// helpers that resolve and wait (bounded) for the answer.
class DnsFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Servers: the local one only. Small timeouts so failure paths stay fast;
  // min_ttl 1 s so the zone's TTLs show.
  core::DnsConfig config() const;
  std::shared_ptr<mta::Resolver> make(const core::DnsConfig& config,
                                      const std::vector<core::SmtpRoute>& routes = {},
                                      mta::ResolverOptions options = default_options());
  static mta::ResolverOptions default_options();

  // Resolves and runs the io_context until the answer came (at most 30 s).
  mta::MxAnswer mx(mta::Resolver& r, std::string_view domain);
  mta::HostAnswer host(mta::Resolver& r, std::string_view name);

  boost::asio::io_context io_;
  core::ManualClock clock_;
  DnsServer server_;
  std::vector<std::shared_ptr<mta::Resolver>> resolvers_;  // shut down in TearDown
};

// "a.mx.test 127.0.0.2 ::1" style summaries, for readable assertions.
std::string describe(const mta::MxHost& h);
std::vector<std::string> names(const mta::MxAnswer& a);

}  // namespace testing_support
