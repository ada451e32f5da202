// tests/queue/memory_store_test.cpp: the in-memory Store.
#include "store_contract.h"

namespace queue::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, StoreContractTest,
                         ::testing::Values(StoreFactory{
                             "memory", [](const std::string&) { return make_memory_store(); }}),
                         factory_name);

// Store::write may run its function again; the memory store never needs to,
// but an aborted run must leave no trace for the next one.
TEST(MemoryStoreTest, AbortedWriteLeavesNoTraceForTheNext) {
  auto store = make_memory_store();
  (void)store->write([](WriteTxn& txn) -> core::Status {
    (void)txn.put(Table::kDue, "a", "1");
    return core::make_error(core::Errc::kInternal, "abort");
  });
  ASSERT_TRUE(store->write([](WriteTxn& txn) -> core::Status {
    auto v = txn.get(Table::kDue, "a");
    EXPECT_TRUE(v.has_value() && !*v);
    return {};
  }));
}

}  // namespace
}  // namespace queue::testing
