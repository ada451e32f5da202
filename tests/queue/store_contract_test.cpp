// tests/queue/store_contract_test.cpp: the behaviour every Store promises.
#include "store_contract.h"

#include <atomic>
#include <thread>
#include <vector>

namespace queue::testing {
namespace {

std::optional<std::string> get_one(const Store& s, Table t, std::string_view key) {
  std::optional<std::string> out;
  auto st = s.read([&](ReadTxn& txn) -> core::Status {
    auto v = txn.get(t, key);
    if (!v) return v.error();
    if (*v) out = std::string(**v);
    return {};
  });
  EXPECT_TRUE(st.has_value());
  return out;
}

std::vector<std::string> scan_keys(const Store& s, Table t, std::string_view from,
                                   std::string_view to, size_t limit = 1000) {
  std::vector<std::string> keys;
  auto st = s.read([&](ReadTxn& txn) {
    return txn.scan(t, from, to, [&](std::string_view k, std::string_view) {
      keys.emplace_back(k);
      return keys.size() < limit;
    });
  });
  EXPECT_TRUE(st.has_value());
  return keys;
}

TEST_P(StoreContractTest, PutGetDeleteRoundTrip) {
  ASSERT_TRUE(store_->write([](WriteTxn& txn) -> core::Status {
    if (auto st = txn.put(Table::kMessages, "a", "1"); !st) return st;
    return txn.put(Table::kMessages, std::string_view("b\0c", 3), std::string_view("\0\xff", 2));
  }));
  EXPECT_EQ(get_one(*store_, Table::kMessages, "a"), "1");
  EXPECT_EQ(get_one(*store_, Table::kMessages, std::string_view("b\0c", 3)),
            std::string("\0\xff", 2));
  EXPECT_EQ(get_one(*store_, Table::kMessages, "zz"), std::nullopt);
  ASSERT_TRUE(store_->write([](WriteTxn& txn) -> core::Status {
    auto gone = txn.del(Table::kMessages, "a");
    EXPECT_TRUE(gone.has_value() && *gone);
    auto absent = txn.del(Table::kMessages, "never");
    EXPECT_TRUE(absent.has_value() && !*absent);
    // A transaction sees its own writes.
    auto v = txn.get(Table::kMessages, "a");
    EXPECT_TRUE(v.has_value() && !*v);
    return txn.put(Table::kMessages, "b", "overwritten");
  }));
  EXPECT_EQ(get_one(*store_, Table::kMessages, "a"), std::nullopt);
  EXPECT_EQ(get_one(*store_, Table::kMessages, "b"), "overwritten");
}

TEST_P(StoreContractTest, PutAppendAcceptsKeysInAnyOrder) {
  ASSERT_TRUE(store_->write([](WriteTxn& txn) -> core::Status {
    for (std::string k : std::vector<std::string>{"b", "d", "c", "a", "d", "e"}) {
      if (auto st = txn.put_append(Table::kMessages, k, "v" + k); !st) return st;
    }
    return txn.put_append(Table::kMessages, "d", "again");
  }));
  EXPECT_EQ(scan_keys(*store_, Table::kMessages, "", ""),
            (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(get_one(*store_, Table::kMessages, "d"), "again");
  EXPECT_EQ(get_one(*store_, Table::kMessages, "a"), "va");
}

TEST_P(StoreContractTest, TablesAreSeparate) {
  ASSERT_TRUE(store_->write([](WriteTxn& txn) { return txn.put(Table::kDue, "k", "due"); }));
  for (int t = 0; t < kTableCount; ++t) {
    const auto table = static_cast<Table>(t);
    EXPECT_EQ(get_one(*store_, table, "k").has_value(), table == Table::kDue) << table_name(table);
  }
}

TEST_P(StoreContractTest, ScanIsOrderedByUnsignedBytesAndBounded) {
  ASSERT_TRUE(store_->write([](WriteTxn& txn) -> core::Status {
    for (std::string k : std::vector<std::string>{"b", "a", "\x80", "c", "bb", "\x01"}) {
      if (auto st = txn.put(Table::kEvents, k, "v"); !st) return st;
    }
    return {};
  }));
  EXPECT_EQ(scan_keys(*store_, Table::kEvents, "", ""),
            (std::vector<std::string>{"\x01", "a", "b", "bb", "c", "\x80"}));
  EXPECT_EQ(scan_keys(*store_, Table::kEvents, "b", "c"), (std::vector<std::string>{"b", "bb"}));
  EXPECT_EQ(scan_keys(*store_, Table::kEvents, "ba", ""),
            (std::vector<std::string>{"bb", "c", "\x80"}));
  EXPECT_EQ(scan_keys(*store_, Table::kEvents, "", "", 2), (std::vector<std::string>{"\x01", "a"}));
  EXPECT_TRUE(scan_keys(*store_, Table::kEvents, "d", "e").empty());
}

TEST_P(StoreContractTest, FailedWriteFunctionCommitsNothing) {
  auto st = store_->write([](WriteTxn& txn) -> core::Status {
    if (auto s = txn.put(Table::kMessages, "x", "1"); !s) return s;
    return core::make_error(core::Errc::kConflict, "changed my mind");
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::Errc::kConflict);
  EXPECT_EQ(get_one(*store_, Table::kMessages, "x"), std::nullopt);
}

// A reader keeps the snapshot it started with while the writer commits, and
// the writer does not wait for it.
TEST_P(StoreContractTest, ReadersSeeASnapshotAndNeverBlockTheWriter) {
  ASSERT_TRUE(store_->write([](WriteTxn& txn) { return txn.put(Table::kMeta, "v", "old"); }));
  std::atomic<int> phase{0};
  std::string seen_before, seen_after;
  std::thread reader([&] {
    auto st = store_->read([&](ReadTxn& txn) -> core::Status {
      seen_before = std::string(**txn.get(Table::kMeta, "v"));
      phase = 1;
      while (phase.load() != 2) std::this_thread::yield();
      seen_after = std::string(**txn.get(Table::kMeta, "v"));
      return {};
    });
    EXPECT_TRUE(st.has_value());
  });
  while (phase.load() != 1) std::this_thread::yield();
  ASSERT_TRUE(store_->write([](WriteTxn& txn) { return txn.put(Table::kMeta, "v", "new"); }));
  phase = 2;
  reader.join();
  EXPECT_EQ(seen_before, "old");
  EXPECT_EQ(seen_after, "old");
  EXPECT_EQ(get_one(*store_, Table::kMeta, "v"), "new");
}

TEST_P(StoreContractTest, ConcurrentReadersWhileWriting) {
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto keys = scan_keys(*store_, Table::kContent, "", "");
        // Every snapshot holds a prefix of the writes: keys 0..n-1.
        for (size_t k = 0; k < keys.size(); ++k) {
          char want[32];
          std::snprintf(want, sizeof want, "%08zu", k);
          ASSERT_EQ(keys[k], want);
        }
        ++reads;
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "%08d", i);
    ASSERT_TRUE(store_->write([&](WriteTxn& txn) { return txn.put(Table::kContent, key, "v"); }));
  }
  while (reads.load() < 8) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(scan_keys(*store_, Table::kContent, "", "").size(), 200u);
}

}  // namespace
}  // namespace queue::testing
