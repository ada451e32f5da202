// tests/queue/lmdb_store_test.cpp: the LMDB Store (queue/lmdb_store.cpp).
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "store_contract.h"

namespace queue::testing {
namespace {

std::unique_ptr<Store> open_or_die(const LmdbOptions& o) {
  auto s = open_lmdb_store(o);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().to_string());
  return s ? std::move(*s) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Lmdb, StoreContractTest,
                         ::testing::Values(StoreFactory{"lmdb",
                                                        [](const std::string& dir) {
                                                          LmdbOptions o;
                                                          o.path = dir + "/spool";
                                                          o.map_size_initial = 4ull << 20;
                                                          return open_or_die(o);
                                                        }}),
                         factory_name);

TEST(LmdbStoreTest, CreatesThePrivateDirectoryWithParents) {
  TempDir dir;
  LmdbOptions o;
  o.path = dir.sub("a/b/spool");
  auto store = open_or_die(o);
  ASSERT_NE(store, nullptr);
  struct stat sb;
  ASSERT_EQ(::stat(o.path.c_str(), &sb), 0);
  EXPECT_TRUE(S_ISDIR(sb.st_mode));
  EXPECT_EQ(sb.st_mode & 0777, 0700u);
}

TEST(LmdbStoreTest, RefusesASecondOpenAndNamesThePath) {
  TempDir dir;
  LmdbOptions o;
  o.path = dir.sub("spool");
  auto first = open_or_die(o);
  ASSERT_NE(first, nullptr);
  auto second = open_lmdb_store(o);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, core::Errc::kUnavailable);
  EXPECT_NE(second.error().message.find(o.path), std::string::npos) << second.error().message;
  first.reset();
  EXPECT_TRUE(open_lmdb_store(o).has_value()) << "the lock goes with the store";
}

TEST(LmdbStoreTest, PathThatIsAFileIsAnError) {
  TempDir dir;
  const std::string file = dir.sub("file");
  ASSERT_TRUE(std::fopen(file.c_str(), "w") != nullptr);
  LmdbOptions o;
  o.path = file;
  auto s = open_lmdb_store(o);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find(file), std::string::npos);
}

TEST(LmdbStoreTest, CommittedDataSurvivesReopen) {
  TempDir dir;
  LmdbOptions o;
  o.path = dir.sub("spool");
  {
    auto store = open_or_die(o);
    ASSERT_TRUE(store->write([](WriteTxn& txn) { return txn.put(Table::kMeta, "k", "kept"); }));
    (void)store->write([](WriteTxn& txn) -> core::Status {
      (void)txn.put(Table::kMeta, "lost", "x");
      return core::make_error(core::Errc::kInternal, "abort");
    });
  }
  auto store = open_or_die(o);
  ASSERT_TRUE(store->read([](ReadTxn& txn) -> core::Status {
    EXPECT_EQ(**txn.get(Table::kMeta, "k"), "kept");
    EXPECT_FALSE(txn.get(Table::kMeta, "lost")->has_value());
    return {};
  }));
}

// The map starts tiny and must grow, inside one big transaction and across
// many, while readers keep reading.
TEST(LmdbStoreTest, MapGrowsAutomaticallyUnderConcurrentReaders) {
  TempDir dir;
  LmdbOptions o;
  o.path = dir.sub("spool");
  o.map_size_initial = 256 << 10;
  auto store = open_or_die(o);
  const std::string value(4000, 'v');

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!stop.load()) {
      auto st = store->read([&](ReadTxn& txn) -> core::Status {
        return txn.scan(Table::kContent, {}, {}, [&](std::string_view, std::string_view v) {
          EXPECT_EQ(v.size(), value.size());
          return true;
        });
      });
      EXPECT_TRUE(st.has_value());
      ++reads;
    }
  });

  int runs = 0;
  ASSERT_TRUE(store->write([&](WriteTxn& txn) -> core::Status {
    ++runs;
    for (int i = 0; i < 2000; ++i) {  // 8 MB in one transaction
      char key[32];
      std::snprintf(key, sizeof key, "big%06d", i);
      if (auto st = txn.put(Table::kContent, key, value); !st) return st;
    }
    return {};
  }));
  EXPECT_GT(runs, 1) << "the function re-ran after the map grew";
  for (int t = 0; t < 100; ++t) {  // 8 MB more, in 100 transactions
    ASSERT_TRUE(store->write([&](WriteTxn& txn) -> core::Status {
      for (int i = 0; i < 20; ++i) {
        char key[32];
        std::snprintf(key, sizeof key, "small%06d", t * 20 + i);
        if (auto st = txn.put(Table::kContent, key, value); !st) return st;
      }
      return {};
    }));
  }
  while (reads.load() < 3) std::this_thread::yield();
  stop = true;
  reader.join();

  EXPECT_GT(store->stats().map_grows, 0u);
  EXPECT_GE(store->stats().map_size, 16ull << 20);
  size_t n = 0;
  ASSERT_TRUE(store->read([&](ReadTxn& txn) {
    return txn.scan(Table::kContent, {}, {}, [&](std::string_view, std::string_view v) {
      n += v == value;
      return true;
    });
  }));
  EXPECT_EQ(n, 4000u);
}

TEST(LmdbStoreTest, MapAtItsMaximumIsSpoolFullAndHarmsNothing) {
  TempDir dir;
  LmdbOptions o;
  o.path = dir.sub("spool");
  o.map_size_initial = 256 << 10;
  o.map_size_max = 1 << 20;
  auto store = open_or_die(o);
  ASSERT_TRUE(store->write([](WriteTxn& txn) { return txn.put(Table::kMeta, "k", "before"); }));
  const std::string value(4000, 'v');
  auto st = store->write([&](WriteTxn& txn) -> core::Status {
    for (int i = 0; i < 1000; ++i) {  // 4 MB > 1 MB max
      if (auto s = txn.put(Table::kContent, std::to_string(i), value); !s) return s;
    }
    return {};
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::Errc::kSpoolFull);
  ASSERT_TRUE(store->read([](ReadTxn& txn) -> core::Status {
    EXPECT_EQ(**txn.get(Table::kMeta, "k"), "before");
    EXPECT_FALSE(txn.get(Table::kContent, "0")->has_value());
    return {};
  }));
  // Small writes still fit.
  EXPECT_TRUE(store->write([](WriteTxn& txn) { return txn.put(Table::kMeta, "k2", "after"); }));
}

}  // namespace
}  // namespace queue::testing
