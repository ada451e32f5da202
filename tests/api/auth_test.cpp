// tests/api/auth_test.cpp: api/auth.cpp — the bearer-key ring.
#include <gtest/gtest.h>

#include "api/api.h"

namespace api {
namespace {

std::vector<core::TenantConfig> tenants() {
  return {
      core::TenantConfig{"shop",
                         {core::ApiKey{"shop-key-0000000001", core::Role::kSender},
                          core::ApiKey{"shop-key-0000000002", core::Role::kAdmin}}},
      core::TenantConfig{"school", {core::ApiKey{"school-key-00000001", core::Role::kSender}}},
  };
}

TEST(KeyRingTest, FindsEachKeysPrincipal) {
  KeyRing ring(tenants());
  EXPECT_EQ(ring.size(), 3u);
  const Principal* p = ring.find("shop-key-0000000001");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->tenant, "shop");
  EXPECT_EQ(p->role, core::Role::kSender);
  p = ring.find("shop-key-0000000002");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->role, core::Role::kAdmin);
  p = ring.find("school-key-00000001");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->tenant, "school");
}

TEST(KeyRingTest, RefusesEverythingElse) {
  KeyRing ring(tenants());
  for (std::string_view k :
       {"", "shop-key-000000000", "shop-key-00000000011", "SHOP-KEY-0000000001",
        "shop-key-0000000001 ", "school-key-00000002"}) {
    EXPECT_EQ(ring.find(k), nullptr) << k;
  }
  EXPECT_EQ(ring.find(std::string(5000, 'k')), nullptr);
}

TEST(KeyRingTest, AddsGeneratedKeysAndRefusesDuplicates) {
  KeyRing ring(tenants());
  ring.add("generated-admin-key-0001", Principal{"default", core::Role::kAdmin});
  ASSERT_NE(ring.find("generated-admin-key-0001"), nullptr);
  EXPECT_EQ(ring.find("generated-admin-key-0001")->tenant, "default");
  EXPECT_THROW(ring.add("school-key-00000001", Principal{"other", core::Role::kSender}),
               core::ConfigError);
  EXPECT_THROW(ring.add("", Principal{"other", core::Role::kSender}), core::ConfigError);

  auto dup = tenants();
  dup[1].keys.push_back(core::ApiKey{"shop-key-0000000001", core::Role::kSender});
  EXPECT_THROW(KeyRing{dup}, core::ConfigError);
}

TEST(KeyRingTest, EmptyRingFindsNothing) {
  KeyRing ring;
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(ring.find("anything-at-all-here"), nullptr);
}

}  // namespace
}  // namespace api
