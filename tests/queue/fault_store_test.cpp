// tests/queue/fault_store_test.cpp: the fault-injecting Store wrapper.
#include <thread>

#include "store_contract.h"

namespace queue::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Fault, StoreContractTest,
                         ::testing::Values(StoreFactory{
                             "fault_over_memory",
                             [](const std::string&) -> std::unique_ptr<Store> {
                               return std::make_unique<FaultInjectingStore>(make_memory_store());
                             }}),
                         factory_name);

TEST(FaultInjectingStoreTest, FailedCommitsChangeNothingAndAreCounted) {
  FaultInjectingStore store(make_memory_store());
  store.TEST_fail_commits(2, core::Errc::kIoError);
  int runs = 0;
  for (int i = 0; i < 2; ++i) {
    auto st = store.write([&](WriteTxn& txn) {
      ++runs;
      return txn.put(Table::kMeta, "k", "v");
    });
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code, core::Errc::kIoError);
  }
  EXPECT_EQ(runs, 2) << "the write function still runs";
  EXPECT_EQ(store.TEST_commits(), 0);
  ASSERT_TRUE(store.read([](ReadTxn& txn) -> core::Status {
    EXPECT_FALSE(txn.get(Table::kMeta, "k")->has_value());
    return {};
  }));
  ASSERT_TRUE(store.write([](WriteTxn& txn) { return txn.put(Table::kMeta, "k", "v"); }));
  EXPECT_EQ(store.TEST_commits(), 1);
}

TEST(FaultInjectingStoreTest, FunctionErrorWinsOverInjectedFailure) {
  FaultInjectingStore store(make_memory_store());
  store.TEST_fail_commits(1, core::Errc::kIoError);
  auto st = store.write(
      [](WriteTxn&) -> core::Status { return core::make_error(core::Errc::kConflict, "mine"); });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::Errc::kConflict);
}

TEST(FaultInjectingStoreTest, HeldWritesWaitForRelease) {
  FaultInjectingStore store(make_memory_store());
  store.TEST_hold_writes();
  std::thread writer([&] {
    EXPECT_TRUE(store.write([](WriteTxn& txn) { return txn.put(Table::kMeta, "k", "v"); }));
  });
  store.TEST_wait_until_write_held();
  EXPECT_EQ(store.TEST_commits(), 0);
  store.TEST_release_writes();
  writer.join();
  EXPECT_EQ(store.TEST_commits(), 1);
}

}  // namespace
}  // namespace queue::testing
