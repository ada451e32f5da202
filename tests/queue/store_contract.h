// tests/queue/store_contract.h: the Store contract (queue/store.h), written
// once and run against every implementation. store_contract_test.cpp holds
// the tests; each store's own test file instantiates them with a factory.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "queue/store.h"
#include "queue_test_util.h"

namespace queue::testing {

struct StoreFactory {
  std::string name;
  // Makes a store keeping its files (if any) under `dir`.
  std::function<std::unique_ptr<Store>(const std::string& dir)> make;
};

class StoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    store_ = GetParam().make(dir_.path());
    ASSERT_NE(store_, nullptr);
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

inline std::string factory_name(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

}  // namespace queue::testing
