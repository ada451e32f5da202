// mta/dns_ares.cpp: see dns_ares.h.
#include "mta/dns_ares.h"

#include <ares.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mta/dns_policy.h"

namespace mta {

namespace {

constexpr int kMaxPollMs = 1000;  // a wait without a bound would hide a lost wake-up

core::Status init_library() {
  static const int rc = ares_library_init(ARES_LIB_INIT_ALL);  // once, thread-safe
  if (rc != ARES_SUCCESS)
    return core::make_error(core::Errc::kInternal, std::string("c-ares: ") + ares_strerror(rc));
  return {};
}

}  // namespace

core::Result<std::unique_ptr<AresLoop>> AresLoop::start(const core::DnsConfig& config) {
  if (config.timeout.count() <= 0 || config.timeout.count() > 600'000)
    return core::invalid_argument("dns.timeout", "must be between 1 ms and 10 min");
  if (config.tries == 0 || config.tries > 10)
    return core::invalid_argument("dns.tries", "must be 1..10");
  auto csv = dns_policy::servers_to_csv(config.servers);
  if (!csv) return csv.error();
  if (auto st = init_library(); !st) return st.error();

  std::unique_ptr<AresLoop> loop(new AresLoop());
  ares_options opts{};
  opts.timeout = static_cast<int>(config.timeout.count());
  opts.tries = static_cast<int>(config.tries);
  opts.sock_state_cb = &AresLoop::on_sock_state;
  opts.sock_state_cb_data = loop.get();
  // The options given here override /etc/resolv.conf's; the servers are
  // replaced below when the configuration names some.
  const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
  ares_channel channel = nullptr;
  int rc = ares_init_options(&channel, &opts, mask);
  if (rc != ARES_SUCCESS)
    return core::make_error(core::Errc::kInternal,
                            std::string("c-ares init: ") + ares_strerror(rc));
  loop->channel_ = channel;
  if (!csv->empty()) {
    rc = ares_set_servers_ports_csv(channel, csv->c_str());
    if (rc != ARES_SUCCESS)
      return core::invalid_argument(
          "dns.servers", std::string("c-ares refused the servers: ") + ares_strerror(rc));
  }
  int servers = 0;
  ares_addr_port_node* list = nullptr;
  if (ares_get_servers_ports(channel, &list) == ARES_SUCCESS) {
    for (auto* n = list; n != nullptr; n = n->next) ++servers;
    ares_free_data(list);
  }
  const int64_t rounds = (int64_t{1} << config.tries) - 1;
  loop->budget_ = std::chrono::milliseconds(config.timeout.count() * std::max(servers, 1) * rounds);

  loop->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->wake_fd_ < 0)
    return core::make_error(core::Errc::kInternal, std::string("eventfd: ") + std::strerror(errno));
  loop->thread_ = std::thread([l = loop.get()] { l->run(); });
  return loop;
}

AresLoop::~AresLoop() {
  stop();
  // stop() destroyed the channel unless the thread never started.
  if (channel_ != nullptr) ares_destroy(channel_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool AresLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    posted_.push_back(std::move(task));
  }
  const uint64_t one = 1;
  // Cannot fail short of a full counter (2^64 - 1 posts): then it is
  // readable anyway and the loop wakes.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  return true;
}

void AresLoop::stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  thread_.join();
}

void AresLoop::query(const std::string& name, uint16_t type, QueryDone done) {
  if (destroying_) {
    done(ARES_EDESTRUCTION, {});
    return;
  }
  // Ownership of the callback passes to c-ares until on_answer, which
  // c-ares calls exactly once (also from ares_destroy).
  auto* arg = new QueryDone(std::move(done));
  ares_query(channel_, name.c_str(), 1 /* C_IN */, type, &AresLoop::on_answer, arg);
}

void AresLoop::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<QueryDone> done(static_cast<QueryDone*>(arg));
  std::span<const uint8_t> answer;
  if (abuf != nullptr && alen > 0)
    answer = std::span<const uint8_t>(abuf, static_cast<size_t>(alen));
  (*done)(status, answer);
}

void AresLoop::on_sock_state(void* data, int fd, int readable, int writable) {
  auto* self = static_cast<AresLoop*>(data);
  if (!readable && !writable) {
    self->sockets_.erase(fd);
    return;
  }
  self->sockets_[fd] = static_cast<short>((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
}

uint64_t AresLoop::call_at(SteadyTime when, std::function<void()> fn) {
  if (destroying_) return 0;
  const uint64_t id = next_timer_id_++;
  timers_.emplace(when, std::make_pair(id, std::move(fn)));
  timer_index_.emplace(id, when);
  return id;
}

void AresLoop::cancel(uint64_t id) {
  auto it = timer_index_.find(id);
  if (it == timer_index_.end()) return;
  auto [lo, hi] = timers_.equal_range(it->second);
  for (auto t = lo; t != hi; ++t) {
    if (t->second.first == id) {
      timers_.erase(t);
      break;
    }
  }
  timer_index_.erase(it);
}

void AresLoop::fire_timers(SteadyTime now) {
  // One at a time: a timer's function may add or cancel timers.
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_index_.erase(node.mapped().first);
    node.mapped().second();
  }
}

void AresLoop::run_posted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) t();
}

int AresLoop::poll_timeout_ms(SteadyTime now) {
  int64_t ms = kMaxPollMs;
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) != nullptr)
    ms = std::min<int64_t>(ms, int64_t{tv.tv_sec} * 1000 + (tv.tv_usec + 999) / 1000);
  if (!timers_.empty()) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first - now).count();
    ms = std::min<int64_t>(ms, std::max<int64_t>(left, 0));
  }
  return static_cast<int>(std::max<int64_t>(ms, 0));
}

void AresLoop::run() {
  std::vector<pollfd> fds;
  for (;;) {
    run_posted();
    {
      std::lock_guard lock(mu_);
      if (stop_requested_) break;
    }
    fire_timers(std::chrono::steady_clock::now());

    fds.clear();
    fds.push_back(pollfd{wake_fd_, POLLIN, 0});
    for (const auto& [fd, events] : sockets_) fds.push_back(pollfd{fd, events, 0});
    const int n = ::poll(fds.data(), fds.size(), poll_timeout_ms(std::chrono::steady_clock::now()));
    if (n > 0) {
      if (fds[0].revents != 0) {
        uint64_t count = 0;
        [[maybe_unused]] ssize_t r = read(wake_fd_, &count, sizeof count);
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        const short re = fds[i].revents;
        if (re == 0) continue;
        const bool rd = (re & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool wr = (re & (POLLOUT | POLLERR | POLLHUP)) != 0;
        // A socket closed by an earlier ares_process_fd in this round is
        // no longer c-ares' and is skipped.
        if (!sockets_.contains(fds[i].fd)) continue;
        ares_process_fd(channel_, rd ? fds[i].fd : ARES_SOCKET_BAD,
                        wr ? fds[i].fd : ARES_SOCKET_BAD);
      }
    }
    // Timeouts and retransmissions are handled by every ares_process_fd
    // call; this one covers rounds where no socket was ready.
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  }

  // Stopping: every pending query completes with ARES_EDESTRUCTION; their
  // callbacks may start new work, which query() and call_at() refuse.
  destroying_ = true;
  ares_destroy(channel_);
  channel_ = nullptr;
  sockets_.clear();
  timers_.clear();
  timer_index_.clear();
  for (;;) {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(mu_);
      if (posted_.empty()) {
        closed_ = true;
        break;
      }
      tasks.swap(posted_);
    }
    for (auto& t : tasks) t();
  }
}

}  // namespace mta
