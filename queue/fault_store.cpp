// queue/fault_store.cpp: a Store wrapper that fails commits on demand.
//
// An injected failure runs the write function against the inner store and
// then aborts the transaction, so the inner store is left exactly as a
// commit that never reached the disk would leave it. The spool cannot tell
// the difference, which is the point.
#include "queue/store.h"

namespace queue {

FaultInjectingStore::FaultInjectingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

void FaultInjectingStore::TEST_fail_commits(int n, core::Errc code) {
  fail_code_.store(static_cast<int>(code));
  fail_n_.store(n);
}

int FaultInjectingStore::TEST_commits() const noexcept { return commits_.load(); }

void FaultInjectingStore::TEST_hold_writes() {
  std::lock_guard lock(hold_mu_);
  hold_ = true;
}

void FaultInjectingStore::TEST_wait_until_write_held() {
  std::unique_lock lock(hold_mu_);
  hold_cv_.wait(lock, [&] { return waiting_; });
}

void FaultInjectingStore::TEST_release_writes() {
  std::lock_guard lock(hold_mu_);
  hold_ = false;
  hold_cv_.notify_all();
}

core::Status FaultInjectingStore::write(const std::function<core::Status(WriteTxn&)>& fn) {
  // Whether this write fails is decided on entry, so a test can arm a
  // failure for the next write while this one is held.
  int n = fail_n_.load();
  while (n > 0 && !fail_n_.compare_exchange_weak(n, n - 1)) {
  }
  {
    std::unique_lock lock(hold_mu_);
    if (hold_) {
      waiting_ = true;
      hold_cv_.notify_all();
      hold_cv_.wait(lock, [&] { return !hold_; });
      waiting_ = false;
    }
  }
  if (n > 0) {
    bool ran = false;
    core::Status st = inner_->write([&](WriteTxn& txn) -> core::Status {
      if (auto s = fn(txn); !s) return s;
      ran = true;
      return core::make_error(core::Errc::kInternal, "injected abort");
    });
    if (!ran) return st;  // the function's own error wins, as with a real store
    const auto code = static_cast<core::Errc>(fail_code_.load());
    return core::make_error(code, "injected commit failure");
  }
  core::Status st = inner_->write(fn);
  if (st) commits_.fetch_add(1);
  return st;
}

core::Status FaultInjectingStore::read(const std::function<core::Status(ReadTxn&)>& fn) const {
  return inner_->read(fn);
}

StoreStats FaultInjectingStore::stats() const { return inner_->stats(); }

}  // namespace queue
