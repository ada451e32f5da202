// mta/dns_ares.h: one c-ares channel driven by its own thread, private to
// the dns part of mta/ (used by dns_resolver.cpp).
//
// c-ares 1.18.1 channels are not thread-safe and this version has no event
// thread of its own, so everything that touches the channel runs on the
// loop thread: work from other threads arrives through post(); query
// callbacks and timers run there too. The loop waits in poll() on the
// sockets c-ares reports through its socket-state callback (no fd_set, so
// descriptors above FD_SETSIZE work) plus an eventfd for post(), never
// longer than c-ares' next timeout, the next timer, or 1 s.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/result.h"

struct ares_channeldata;

namespace mta {

class AresLoop {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  // `status` is an ARES_* code; `answer` the response bytes when one came
  // back (also with NXDOMAIN and other rcodes), else empty.
  using QueryDone = std::function<void(int status, std::span<const uint8_t> answer)>;

  // Initialises the channel (timeout, tries, servers from `config`) and
  // starts the thread. Errors: kInvalidArgument for a bad server entry
  // ("dns.servers[i]"), timeout or tries of 0; kInternal when c-ares fails.
  static core::Result<std::unique_ptr<AresLoop>> start(const core::DnsConfig& config);
  ~AresLoop();  // stop()
  AresLoop(const AresLoop&) = delete;
  AresLoop& operator=(const AresLoop&) = delete;

  // Any thread. Runs `task` on the loop thread. Returns false, without
  // running it, once the loop has finished stopping.
  bool post(std::function<void()> task);

  // Loop thread only. Sends a query of `type` (class IN) for `name`; `done`
  // runs on the loop thread exactly once, with ARES_EDESTRUCTION when the
  // loop stops first (immediately once stopping has begun).
  void query(const std::string& name, uint16_t type, QueryDone done);

  // Loop thread only. Runs `fn` on the loop thread at `when` unless
  // cancelled first; timers are dropped when the loop stops. Returns an id
  // for cancel() (0 when stopping: nothing is scheduled).
  uint64_t call_at(SteadyTime when, std::function<void()> fn);
  void cancel(uint64_t id);

  // The longest c-ares can spend on one query before it reports a timeout:
  // timeout x servers x (2^tries - 1), since c-ares 1.18 doubles the
  // timeout after each round over the servers.
  std::chrono::milliseconds query_budget() const { return budget_; }

  // Any thread except the loop thread. Destroys the channel on the loop
  // thread (pending queries complete with ARES_EDESTRUCTION), runs every
  // task posted before the loop closed, and joins. Idempotent.
  void stop();

 private:
  AresLoop() = default;
  void run();
  void run_posted();
  void fire_timers(SteadyTime now);
  int poll_timeout_ms(SteadyTime now);
  static void on_sock_state(void* data, int fd, int readable, int writable);
  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

  ares_channeldata* channel_ = nullptr;
  int wake_fd_ = -1;
  std::chrono::milliseconds budget_{0};
  std::thread thread_;
  std::mutex stop_mu_;  // serialises stop()

  std::mutex mu_;                              // guards the three below
  std::vector<std::function<void()>> posted_;  // GUARDED_BY(mu_)
  bool stop_requested_ = false;                // GUARDED_BY(mu_)
  bool closed_ = false;                        // GUARDED_BY(mu_)

  // Loop thread only.
  bool destroying_ = false;
  std::unordered_map<int, short> sockets_;  // fd -> poll events, from on_sock_state
  uint64_t next_timer_id_ = 1;
  std::multimap<SteadyTime, std::pair<uint64_t, std::function<void()>>> timers_;
  std::unordered_map<uint64_t, SteadyTime> timer_index_;
};

}  // namespace mta
