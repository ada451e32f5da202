// queue/store.h: the storage seam under the spool (STYLE.md R2).
//
// A Store is an ordered key-value store with named tables and atomic,
// durable write transactions. Production uses LMDB (lmdb_store.cpp); tests
// use the in-memory store and the fault-injecting wrapper, which fails
// commits on demand to prove the spool is fail-stop. Keys compare as
// unsigned bytes (memcmp order), so big-endian integers sort numerically.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace queue {

// Persisted: the LMDB sub-database names derive from these; never renumber.
enum class Table : uint8_t {
  kMessages = 0,     // id(16) -> MessageRecord
  kContent = 1,      // content id(16) -> ContentRecord
  kDue = 2,          // priority(1) due_ms(8 BE) id(16) -> destination
  kEvents = 3,       // id(16) seq(4 BE) -> EventRecord
  kIdempotency = 4,  // tenant '\0' key -> id(16)
  kLeases = 5,       // lease_until_ms(8 BE) id(16) -> lease_gen(8 BE)
  kFinished = 6,     // finished_ms(8 BE) id(16) -> ""
  kCounters = 7,     // counter name -> int64(8 BE)
  kMeta = 8,         // "format" -> version, ...
  kTemplates = 9,    // tenant '\0' id '\0' version(4 BE) -> TemplateRecord
  kRefs = 10,        // channel(1) provider_ref -> id(16): provider receipts find their message
  kSuppressions = 11,  // tenant '\0' channel '\0' address '\0' category -> SuppressionRecord
  kSoftBounces = 12,   // tenant '\0' channel '\0' address -> SoftBounceRecord
  kInbound = 13,       // id(16) -> InboundRecord: received reports not yet processed
};
inline constexpr int kTableCount = 14;
std::string_view table_name(Table t) noexcept;

using Visitor = std::function<bool(std::string_view key, std::string_view value)>;

// Views returned by get() and passed to a Visitor stay valid until the
// transaction ends. Not thread-safe: a transaction belongs to one thread.
class ReadTxn {
 public:
  virtual ~ReadTxn() = default;
  virtual core::Result<std::optional<std::string_view>> get(Table t, std::string_view key) = 0;
  // Visits keys k with from <= k < to in ascending order (to empty: no upper
  // bound) until the visitor returns false.
  virtual core::Status scan(Table t, std::string_view from, std::string_view to,
                            const Visitor& visit) = 0;
};

class WriteTxn : public ReadTxn {
 public:
  virtual core::Status put(Table t, std::string_view key, std::string_view value) = 0;
  // put() for a key that probably sorts after every key of the table (a new
  // time-ordered id). LMDB then fills pages instead of splitting them in
  // half, which halves the pages such tables write. Correct for any key: a
  // key that is not last falls back to an ordinary put.
  virtual core::Status put_append(Table t, std::string_view key, std::string_view value) {
    return put(t, key, value);
  }
  // Returns false when the key was not there.
  virtual core::Result<bool> del(Table t, std::string_view key) = 0;
};

struct StoreStats {
  uint64_t map_size = 0;    // bytes reserved for the map
  uint64_t used_bytes = 0;  // bytes of pages in use
  uint64_t map_grows = 0;   // times the map was enlarged since open
};

// Thread-safety: write() is called by one thread at a time (the spool's
// writer); read() may be called from any number of threads concurrently and
// never waits for a writer.
class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` in a write transaction and commits durably (data synced to
  // disk) when fn returns ok; aborts when it returns an error, and returns
  // that error. `fn` may run more than once (e.g. after the LMDB map grew):
  // it must be restartable and keep no effects of an aborted run.
  // Errors: kSpoolFull (disk or map_size_max exhausted; nothing committed,
  // nothing harmed), kIoError (the sync failed: durability unknown).
  virtual core::Status write(const std::function<core::Status(WriteTxn&)>& fn) = 0;

  virtual core::Status read(const std::function<core::Status(ReadTxn&)>& fn) const = 0;

  virtual StoreStats stats() const = 0;
};

struct LmdbOptions {
  std::string path;  // directory holding data.mdb and lock.mdb
  uint64_t map_size_initial = 256ull << 20;
  uint64_t map_size_max = 1ull << 40;
};

// Opens (creating if needed) the LMDB environment with one sub-database per
// Table. Fails if another process holds the spool.
core::Result<std::unique_ptr<Store>> open_lmdb_store(const LmdbOptions& options);

// Volatile, for tests. Same semantics as LMDB (snapshot reads, atomic writes).
std::unique_ptr<Store> make_memory_store();

// Wraps another store; commits fail on demand, and writes can be held at
// the door. For tests of fail-stop paths and of group commit.
// Thread-safety: as Store; the TEST_ hooks may be called from any thread.
class FaultInjectingStore final : public Store {
 public:
  explicit FaultInjectingStore(std::unique_ptr<Store> inner);
  // The next `n` commits fail with `code` without changing the inner store,
  // as a sync failure that lost the transaction would. The write function
  // still runs, so everything up to the commit is exercised.
  void TEST_fail_commits(int n, core::Errc code);
  // Commits that succeeded.
  int TEST_commits() const noexcept;
  // While held, write() waits before running its function. Lets a test
  // queue work behind a write that is "in progress" deterministically.
  void TEST_hold_writes();
  // Returns once a write() is waiting at the door.
  void TEST_wait_until_write_held();
  void TEST_release_writes();

  core::Status write(const std::function<core::Status(WriteTxn&)>& fn) override;
  core::Status read(const std::function<core::Status(ReadTxn&)>& fn) const override;
  StoreStats stats() const override;

 private:
  std::unique_ptr<Store> inner_;
  std::atomic<int> fail_n_{0};
  std::atomic<int> fail_code_{0};
  std::atomic<int> commits_{0};
  std::mutex hold_mu_;
  std::condition_variable hold_cv_;
  bool hold_ = false;     // GUARDED_BY(hold_mu_)
  bool waiting_ = false;  // GUARDED_BY(hold_mu_)
};

}  // namespace queue
