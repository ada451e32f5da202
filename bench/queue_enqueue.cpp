// bench/queue_enqueue.cpp: the durable spool's write path (STYLE.md R15).
//
//   ninja -C build-queue bench_queue && ./build-queue/bench/bench_queue
//
// Every spool benchmark runs against LMDB in a fresh directory under $TMPDIR
// with the default (fully synced) commit, so the figures include the disk.
// BM_Fsync4K is the physical reference: one 4 KiB pwrite + fdatasync; a
// spool commit costs about two of those (data pages, then the meta page).
//
// Counters:
//   items_per_second  messages per wall-clock second (UseRealTime)
//   cpu_us_per_msg    process CPU (all threads: caller, writer, kernel) per
//                     message, from getrusage; includes building the test
//                     messages, which the API would do
//   writer_us_per_msg CPU of the spool's writer thread per message: the
//                     serial part, which bounds throughput
//   msgs_per_commit   how many messages group commit merged per sync
#include "queue/queue.h"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"

namespace {

constexpr size_t kBatch = 1000;
constexpr size_t kBodyBytes = 1024;

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "vestnik-bench-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) std::abort();
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

double process_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// A spool over LMDB in its own temporary directory.
struct BenchSpool {
  TempDir dir;
  core::IdGenerator ids{core::SystemClock::instance()};
  std::unique_ptr<queue::Spool> spool;

  BenchSpool() {
    core::log::configure(core::log::Level::kWarn);
    core::SpoolConfig config;
    config.path = dir.path() + "/spool";
    config.map_size_initial = 1ull << 30;  // measure steady state, not growth
    queue::LmdbOptions o;
    o.path = config.path;
    o.map_size_initial = config.map_size_initial;
    o.map_size_max = config.map_size_max;
    auto store = queue::open_lmdb_store(o);
    if (!store) std::abort();
    auto s = queue::Spool::open(config, std::move(*store), core::SystemClock::instance(), ids);
    if (!s) std::abort();
    spool = std::move(*s);
  }
};

// What the API hands the spool for one 1 KB e-mail.
std::vector<queue::NewMessage> make_batch(size_t n, uint64_t seq) {
  std::vector<queue::NewMessage> batch(n);
  for (size_t i = 0; i < n; ++i) {
    queue::NewMessage& m = batch[i];
    m.request.channels = {core::Channel::kEmail};
    m.request.to.email = "student" + std::to_string(seq + i) + "@example.com";
    m.request.to.name = "Student";
    m.request.from.email = "school@marketplace.test";
    m.request.from.name = "Marketplace";
    m.request.category = "orders";
    m.request.content.subject = "Your order is paid";
    m.request.content.html.assign(kBodyBytes, 'x');
    m.request.variables_json = R"({"order":"A-1"})";
    m.destination = "email:example.com";
  }
  return batch;
}

struct Start {
  double cpu = process_cpu_seconds();
  queue::SpoolStats spool;
};

void set_counters(benchmark::State& state, size_t messages, const Start& start,
                  const queue::Spool& spool) {
  const double cpu = process_cpu_seconds() - start.cpu;
  const queue::SpoolStats now = spool.stats();
  const uint64_t commits = now.commits - start.spool.commits;
  const double writer_s = static_cast<double>(now.writer_cpu_ns - start.spool.writer_cpu_ns) / 1e9;
  state.SetItemsProcessed(static_cast<int64_t>(messages));
  state.counters["cpu_us_per_msg"] = messages ? cpu * 1e6 / static_cast<double>(messages) : 0;
  state.counters["writer_us_per_msg"] =
      messages ? writer_s * 1e6 / static_cast<double>(messages) : 0;
  state.counters["msgs_per_commit"] =
      commits ? static_cast<double>(messages) / static_cast<double>(commits) : 0;
}

// The physical floor: one synced 4 KiB write.
void BM_Fsync4K(benchmark::State& state) {
  TempDir dir;
  const std::string path = dir.path() + "/f";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
  if (fd < 0) std::abort();
  std::string page(4096, 'p');
  off_t off = 0;
  for (auto _ : state) {
    if (::pwrite(fd, page.data(), page.size(), off) != static_cast<ssize_t>(page.size()))
      std::abort();
    if (::fdatasync(fd) != 0) std::abort();
    off = (off + 4096) % (1 << 20);
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Fsync4K)->UseRealTime();

// One caller, one batch of 1,000 x 1 KB at a time: every batch waits for its
// own sync. The floor for a single API connection.
void BM_EnqueueBatch(benchmark::State& state) {
  BenchSpool b;
  uint64_t seq = 0;
  const Start start{process_cpu_seconds(), b.spool->stats()};
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = make_batch(kBatch, seq);
    seq += kBatch;
    state.ResumeTiming();
    auto r = b.spool->enqueue_sync("school", std::move(batch));
    if (r.size() != kBatch || !r[0]) state.SkipWithError("enqueue failed");
  }
  set_counters(state, state.iterations() * kBatch, start, *b.spool);
}
BENCHMARK(BM_EnqueueBatch)->UseRealTime()->Unit(benchmark::kMillisecond);

// `range(0)` batches in flight at once, as concurrent API requests would
// have: group commit merges them into fewer syncs. Batches are built
// before timing so that only the spool is measured.
void BM_EnqueueBatchPipelined(benchmark::State& state) {
  BenchSpool b;
  const size_t in_flight = static_cast<size_t>(state.range(0));
  uint64_t seq = 0;
  const Start start{process_cpu_seconds(), b.spool->stats()};
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::vector<queue::NewMessage>> batches;
    for (size_t i = 0; i < in_flight; ++i) {
      batches.push_back(make_batch(kBatch, seq));
      seq += kBatch;
    }
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;
    bool ok = true;
    state.ResumeTiming();
    for (auto& batch : batches) {
      b.spool->enqueue("school", std::move(batch), [&](auto r) {
        std::lock_guard lock(mu);
        ok = ok && r.size() == kBatch && r[0].has_value();
        ++done;
        cv.notify_one();
      });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done == in_flight; });
    if (!ok) state.SkipWithError("enqueue failed");
  }
  set_counters(state, state.iterations() * in_flight * kBatch, start, *b.spool);
}
BENCHMARK(BM_EnqueueBatchPipelined)
    ->Arg(2)
    ->Arg(4)
    ->Arg(8)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// 64 single-message enqueues in flight, as 64 keep-alive API clients each
// posting one message would have. Throughput is bounded by 64 / commit
// latency (two syncs per LMDB commit); the figure shows what group commit
// makes of it and the spool's CPU per single message.
void BM_EnqueueSingle64(benchmark::State& state) {
  BenchSpool b;
  constexpr size_t kClients = 64;
  uint64_t seq = 0;
  const Start start{process_cpu_seconds(), b.spool->stats()};
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::vector<queue::NewMessage>> singles;
    for (size_t i = 0; i < kClients; ++i) singles.push_back(make_batch(1, seq++));
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;
    bool ok = true;
    state.ResumeTiming();
    for (auto& one : singles) {
      b.spool->enqueue("school", std::move(one), [&](auto r) {
        std::lock_guard lock(mu);
        ok = ok && r.size() == 1 && r[0].has_value();
        ++done;
        cv.notify_one();
      });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done == kClients; });
    if (!ok) state.SkipWithError("enqueue failed");
  }
  set_counters(state, state.iterations() * kClients, start, *b.spool);
}
BENCHMARK(BM_EnqueueSingle64)->UseRealTime()->Unit(benchmark::kMillisecond);

// The whole life of a message in the spool, batched: enqueue 1,000, lease
// them, record them delivered. Three commits per 1,000 messages.
void BM_EnqueueLeaseApply(benchmark::State& state) {
  BenchSpool b;
  double enqueue_s = 0, lease_s = 0, apply_s = 0;
  uint64_t seq = 0;
  const Start start{process_cpu_seconds(), b.spool->stats()};
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = make_batch(kBatch, seq);
    seq += kBatch;
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = b.spool->enqueue_sync("school", std::move(batch));
    if (r.size() != kBatch || !r[0]) {
      state.SkipWithError("enqueue failed");
      break;
    }
    const auto t1 = std::chrono::steady_clock::now();
    queue::LeaseRequest req;
    req.max = kBatch;
    auto leased = b.spool->lease_sync(std::move(req));
    if (!leased || leased->size() != kBatch) {
      state.SkipWithError("lease failed");
      break;
    }
    const auto t2 = std::chrono::steady_clock::now();
    std::vector<queue::Transition> ts;
    ts.reserve(kBatch);
    for (const queue::Leased& l : *leased) {
      queue::Transition t;
      t.id = l.record.id;
      t.lease_gen = l.record.lease_gen;
      t.status = core::MessageStatus::kDelivered;
      t.detail = "250 2.0.0 ok";
      ts.push_back(std::move(t));
    }
    const auto t3 = std::chrono::steady_clock::now();
    auto applied = b.spool->apply_sync(std::move(ts));
    if (!applied || *applied != 0) state.SkipWithError("apply failed");
    const auto t4 = std::chrono::steady_clock::now();
    enqueue_s += std::chrono::duration<double>(t1 - t0).count();
    lease_s += std::chrono::duration<double>(t2 - t1).count();
    apply_s += std::chrono::duration<double>(t4 - t3).count();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["enqueue_ms"] = enqueue_s * 1e3 / n;
  state.counters["lease_ms"] = lease_s * 1e3 / n;
  state.counters["apply_ms"] = apply_s * 1e3 / n;
  set_counters(state, state.iterations() * kBatch, start, *b.spool);
}
BENCHMARK(BM_EnqueueLeaseApply)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
