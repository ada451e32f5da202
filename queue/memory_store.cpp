// queue/memory_store.cpp: a volatile Store with LMDB's semantics, for tests.
//
// Each table is an immutable std::map behind a shared_ptr. A reader takes
// the current set of table pointers under a mutex and then reads without
// locks: that is its snapshot. A writer copies a table the first time it
// touches it (copy-on-write per table), and publishes the new pointers at
// commit; an aborted or restarted write just drops its copies. The copies
// make writes O(table size), which is fine for tests and not meant for more.
#include <array>
#include <map>
#include <mutex>

#include "queue/store.h"

namespace queue {
namespace {

using Map = std::map<std::string, std::string, std::less<>>;
using Tables = std::array<std::shared_ptr<const Map>, kTableCount>;

core::Status scan_map(const Map& m, std::string_view from, std::string_view to,
                      const Visitor& visit) {
  for (auto it = m.lower_bound(from); it != m.end(); ++it) {
    if (!to.empty() && std::string_view(it->first) >= to) break;
    if (!visit(it->first, it->second)) break;
  }
  return {};
}

class MemoryReadTxn final : public ReadTxn {
 public:
  explicit MemoryReadTxn(Tables tables) : tables_(std::move(tables)) {}
  core::Result<std::optional<std::string_view>> get(Table t, std::string_view key) override {
    const Map& m = *tables_[static_cast<int>(t)];
    auto it = m.find(key);
    if (it == m.end()) return std::optional<std::string_view>();
    return std::optional<std::string_view>(it->second);
  }
  core::Status scan(Table t, std::string_view from, std::string_view to,
                    const Visitor& visit) override {
    return scan_map(*tables_[static_cast<int>(t)], from, to, visit);
  }

 private:
  Tables tables_;
};

class MemoryWriteTxn final : public WriteTxn {
 public:
  explicit MemoryWriteTxn(Tables base) : base_(std::move(base)) {}

  core::Result<std::optional<std::string_view>> get(Table t, std::string_view key) override {
    const Map& m = view(t);
    auto it = m.find(key);
    if (it == m.end()) return std::optional<std::string_view>();
    return std::optional<std::string_view>(it->second);
  }
  core::Status scan(Table t, std::string_view from, std::string_view to,
                    const Visitor& visit) override {
    return scan_map(view(t), from, to, visit);
  }
  core::Status put(Table t, std::string_view key, std::string_view value) override {
    Map& m = mutate(t);
    auto it = m.find(key);
    if (it == m.end()) {
      m.emplace(std::string(key), std::string(value));
    } else {
      it->second.assign(value);
    }
    return {};
  }
  core::Result<bool> del(Table t, std::string_view key) override {
    Map& m = mutate(t);
    auto it = m.find(key);
    if (it == m.end()) return false;
    m.erase(it);
    return true;
  }

  // The tables as they stand at the end of the transaction.
  Tables result() const {
    Tables out = base_;
    for (int i = 0; i < kTableCount; ++i) {
      if (copies_[i]) out[i] = copies_[i];
    }
    return out;
  }

 private:
  const Map& view(Table t) const {
    const int i = static_cast<int>(t);
    return copies_[i] ? *copies_[i] : *base_[i];
  }
  Map& mutate(Table t) {
    const int i = static_cast<int>(t);
    if (!copies_[i]) copies_[i] = std::make_shared<Map>(*base_[i]);
    return *copies_[i];
  }

  Tables base_;
  std::array<std::shared_ptr<Map>, kTableCount> copies_;
};

class MemoryStore final : public Store {
 public:
  MemoryStore() {
    for (auto& t : tables_) t = std::make_shared<const Map>();
  }

  core::Status write(const std::function<core::Status(WriteTxn&)>& fn) override {
    MemoryWriteTxn txn(snapshot());
    if (auto st = fn(txn); !st) return st;
    std::lock_guard lock(mu_);
    tables_ = txn.result();
    return {};
  }

  core::Status read(const std::function<core::Status(ReadTxn&)>& fn) const override {
    MemoryReadTxn txn(snapshot());
    return fn(txn);
  }

  StoreStats stats() const override {
    StoreStats s;
    Tables t = snapshot();
    for (const auto& m : t) {
      for (const auto& [k, v] : *m) s.used_bytes += k.size() + v.size();
    }
    s.map_size = s.used_bytes;
    return s;
  }

 private:
  Tables snapshot() const {
    std::lock_guard lock(mu_);
    return tables_;
  }

  mutable std::mutex mu_;
  Tables tables_;  // GUARDED_BY(mu_)
};

}  // namespace

std::unique_ptr<Store> make_memory_store() { return std::make_unique<MemoryStore>(); }

}  // namespace queue
