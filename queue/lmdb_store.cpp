// queue/lmdb_store.cpp: the production Store, one LMDB environment.
//
// Choices, and why:
// - Default sync mode. A commit returns only after LMDB has fdatasync'ed the
//   data pages and written the meta page durably, which is the spool's
//   contract (ARCHITECTURE.md "durable before acknowledged"). NOSYNC and
//   NOMETASYNC would make group commit pointless.
// - No MDB_WRITEMAP. With a writable map a full disk surfaces as SIGBUS on a
//   page fault instead of ENOSPC from write(2), and a stray pointer could
//   scribble on the database. Without it, dirty pages are written with
//   pwrite at commit and a full disk is an ordinary error: nothing harmed.
// - MDB_NOTLS: reader slots belong to transactions, not threads, so any
//   thread (Asio pool threads included) may read without pinning a slot.
// - The map grows on MDB_MAP_FULL. mdb_env_set_mapsize() remaps the file,
//   so no read transaction may be open in this process while it runs:
//   readers hold resize_mu_ shared for the life of their transaction and
//   the writer takes it exclusively to resize (between transactions).
// - A flock on <dir>/spool.lock keeps a second process (or a second open
//   in this one) out; LMDB's own lock file allows multiple processes, which
//   the spool's single-writer design does not.
#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "core/log.h"
#include "queue/store.h"

namespace queue {
namespace {

bool is_disk_full(int rc) { return rc == ENOSPC || rc == EDQUOT || rc == MDB_MAP_FULL; }

core::Error lmdb_error(int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + mdb_strerror(rc);
  if (is_disk_full(rc)) return core::make_error(core::Errc::kSpoolFull, std::move(msg));
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
      rc == MDB_VERSION_MISMATCH) {
    return core::make_error(core::Errc::kCorruption, std::move(msg));
  }
  return core::make_error(core::Errc::kIoError, std::move(msg));
}

MDB_val to_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view from_val(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Shared by read and write transactions. Remembers the first error that
// means "the map is full" so Store::write can grow the map and run the
// function again even if the function swallowed or rewrote the error.
class LmdbTxn : public WriteTxn {
 public:
  LmdbTxn(MDB_txn* txn, const MDB_dbi* dbis) : txn_(txn), dbis_(dbis) {}

  core::Result<std::optional<std::string_view>> get(Table t, std::string_view key) override {
    MDB_val k = to_val(key), v;
    int rc = mdb_get(txn_, dbi(t), &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
    if (rc != 0) return fail(rc, "mdb_get");
    return std::optional<std::string_view>(from_val(v));
  }

  core::Status scan(Table t, std::string_view from, std::string_view to,
                    const Visitor& visit) override {
    MDB_cursor* cur = nullptr;
    int rc = mdb_cursor_open(txn_, dbi(t), &cur);
    if (rc != 0) return fail(rc, "mdb_cursor_open");
    MDB_val k = to_val(from), v;
    rc = from.empty() ? mdb_cursor_get(cur, &k, &v, MDB_FIRST)
                      : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
      std::string_view key = from_val(k);
      if (!to.empty() && key >= to) break;
      if (!visit(key, from_val(v))) break;
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) return fail(rc, "mdb_cursor_get");
    return {};
  }

  core::Status put(Table t, std::string_view key, std::string_view value) override {
    MDB_val k = to_val(key), v = to_val(value);
    int rc = mdb_put(txn_, dbi(t), &k, &v, 0);
    if (rc != 0) return fail(rc, "mdb_put");
    return {};
  }

  core::Status put_append(Table t, std::string_view key, std::string_view value) override {
    MDB_val k = to_val(key), v = to_val(value);
    int rc = mdb_put(txn_, dbi(t), &k, &v, MDB_APPEND);
    // MDB_APPEND refuses a key that is not greater than the last one with
    // MDB_KEYEXIST before touching anything; the transaction stays usable.
    if (rc == MDB_KEYEXIST) rc = mdb_put(txn_, dbi(t), &k, &v, 0);
    if (rc != 0) return fail(rc, "mdb_put");
    return {};
  }

  core::Result<bool> del(Table t, std::string_view key) override {
    MDB_val k = to_val(key);
    int rc = mdb_del(txn_, dbi(t), &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != 0) return fail(rc, "mdb_del");
    return true;
  }

  bool map_full() const noexcept { return map_full_; }
  int first_error() const noexcept { return first_rc_; }

 private:
  MDB_dbi dbi(Table t) const { return dbis_[static_cast<int>(t)]; }
  core::Error fail(int rc, std::string_view what) {
    if (rc == MDB_MAP_FULL) map_full_ = true;
    if (first_rc_ == 0) first_rc_ = rc;
    return lmdb_error(rc, what);
  }

  MDB_txn* txn_;
  const MDB_dbi* dbis_;
  bool map_full_ = false;
  int first_rc_ = 0;
};

class LmdbStore final : public Store {
 public:
  LmdbStore(std::string path, int lock_fd, uint64_t map_max)
      : path_(std::move(path)), lock_fd_(lock_fd), map_max_(map_max) {}

  ~LmdbStore() override {
    if (env_ != nullptr) mdb_env_close(env_);
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  }

  core::Status init(uint64_t map_initial) {
    int rc = mdb_env_create(&env_);
    if (rc != 0) return lmdb_error(rc, "mdb_env_create");
    if ((rc = mdb_env_set_maxdbs(env_, kTableCount)) != 0)
      return lmdb_error(rc, "mdb_env_set_maxdbs");
    // Reader slots are per transaction (MDB_NOTLS); API threads, the CLI and
    // the engine read concurrently, so leave ample room.
    if ((rc = mdb_env_set_maxreaders(env_, 1024)) != 0)
      return lmdb_error(rc, "mdb_env_set_maxreaders");
    if ((rc = mdb_env_set_mapsize(env_, map_initial)) != 0)
      return lmdb_error(rc, "mdb_env_set_mapsize");
    rc = mdb_env_open(env_, path_.c_str(), MDB_NOTLS, 0600);
    if (rc != 0) return lmdb_error(rc, "cannot open LMDB environment in " + path_);
    // A previous process that crashed may have left reader slots behind;
    // they would pin old pages forever.
    int dead = 0;
    mdb_reader_check(env_, &dead);

    MDB_txn* txn = nullptr;
    if ((rc = mdb_txn_begin(env_, nullptr, 0, &txn)) != 0) return lmdb_error(rc, "mdb_txn_begin");
    for (int i = 0; i < kTableCount; ++i) {
      std::string name(table_name(static_cast<Table>(i)));
      rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &dbis_[i]);
      if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "cannot open table " + name);
      }
    }
    if ((rc = mdb_txn_commit(txn)) != 0) return lmdb_error(rc, "cannot create tables in " + path_);
    refresh_map_size();
    return {};
  }

  core::Status write(const std::function<core::Status(WriteTxn&)>& fn) override {
    for (;;) {
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
      if (rc != 0) return lmdb_error(rc, "mdb_txn_begin");
      LmdbTxn t(txn, dbis_);
      core::Status st = fn(t);
      if (t.map_full()) {
        mdb_txn_abort(txn);
        if (auto g = grow(); !g) return g;
        continue;  // the contract says fn is restartable
      }
      if (!st) {
        mdb_txn_abort(txn);
        return st;
      }
      rc = mdb_txn_commit(txn);  // frees txn whatever the outcome
      if (rc == MDB_MAP_FULL) {
        // Committing needs pages too (the free list is saved at commit).
        if (auto g = grow(); !g) return g;
        continue;
      }
      if (rc != 0) return lmdb_error(rc, "commit in " + path_);
      return {};
    }
  }

  core::Status read(const std::function<core::Status(ReadTxn&)>& fn) const override {
    std::shared_lock lock(resize_mu_);  // held while the snapshot is open
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc != 0) return lmdb_error(rc, "mdb_txn_begin(read)");
    LmdbTxn t(txn, dbis_);
    core::Status st = fn(t);
    mdb_txn_abort(txn);
    return st;
  }

  StoreStats stats() const override {
    StoreStats s;
    s.map_size = map_size_.load(std::memory_order_relaxed);
    s.map_grows = grows_.load(std::memory_order_relaxed);
    std::shared_lock lock(resize_mu_);
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(env_, &info) == 0 && mdb_env_stat(env_, &st) == 0) {
      s.used_bytes = static_cast<uint64_t>(info.me_last_pgno + 1) * st.ms_psize;
    }
    return s;
  }

 private:
  // Doubles the map (at least), up to map_max_. Only the writer calls this,
  // between transactions; readers are drained by the exclusive lock.
  core::Status grow() {
    const uint64_t cur = map_size_.load(std::memory_order_relaxed);
    if (cur >= map_max_) {
      return core::make_error(core::Errc::kSpoolFull,
                              "spool map is at its maximum size (spool.map_size_max)");
    }
    const uint64_t next =
        std::min(map_max_, std::max<uint64_t>(cur * 2, cur + (uint64_t{1} << 20)));
    {
      std::unique_lock lock(resize_mu_);
      int rc = mdb_env_set_mapsize(env_, next);
      if (rc != 0) return lmdb_error(rc, "mdb_env_set_mapsize");
    }
    refresh_map_size();
    grows_.fetch_add(1, std::memory_order_relaxed);
    core::log::info("spool map grown",
                    {{"path", path_}, {"map_size", map_size_.load(std::memory_order_relaxed)}});
    return {};
  }

  void refresh_map_size() {
    MDB_envinfo info;
    if (mdb_env_info(env_, &info) == 0) map_size_.store(info.me_mapsize, std::memory_order_relaxed);
  }

  std::string path_;
  int lock_fd_;
  uint64_t map_max_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbis_[kTableCount] = {};
  mutable std::shared_mutex resize_mu_;
  std::atomic<uint64_t> map_size_{0};
  std::atomic<uint64_t> grows_{0};
};

core::Error os_error(std::string what, int err) {
  return core::make_error(is_disk_full(err) ? core::Errc::kSpoolFull : core::Errc::kIoError,
                          what + ": " + std::strerror(err));
}

// Creates `path` (parents as needed) with mode 0700 for the directories we
// create; an existing directory keeps its mode.
core::Status make_spool_dir(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p(path);
  if (p.has_parent_path() && !p.parent_path().empty()) {
    std::filesystem::create_directories(p.parent_path(), ec);
    // An error here resurfaces below, with the spool path in the message.
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return os_error("cannot create spool directory " + path, errno);
  }
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) return os_error("cannot stat spool directory " + path, errno);
  if (!S_ISDIR(sb.st_mode)) {
    return core::make_error(core::Errc::kIoError, "spool path " + path + " is not a directory");
  }
  return {};
}

}  // namespace

core::Result<std::unique_ptr<Store>> open_lmdb_store(const LmdbOptions& options) {
  if (options.path.empty()) {
    return core::make_error(core::Errc::kInvalidArgument, "spool path is empty", "spool.path");
  }
  if (auto st = make_spool_dir(options.path); !st) return st.error();

  const std::string lock_path = options.path + "/spool.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return os_error("cannot open " + lock_path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return core::make_error(
          core::Errc::kUnavailable,
          "spool " + options.path + " is in use by another process (" + lock_path + " is locked)");
    }
    return os_error("cannot lock " + lock_path, err);
  }

  const uint64_t map_max = std::max(options.map_size_max, options.map_size_initial);
  auto store = std::make_unique<LmdbStore>(options.path, fd, map_max);
  if (auto st = store->init(options.map_size_initial); !st) return st.error();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace queue
