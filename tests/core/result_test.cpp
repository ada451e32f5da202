// tests/core/result_test.cpp: core/result.cpp — error names and Result.
#include "core/result.h"

#include <gtest/gtest.h>

#include "core/message.h"  // must coexist with core::Status (Result<void>)

namespace core {
namespace {

TEST(ResultTest, ErrcNames) {
  EXPECT_EQ(errc_name(Errc::kOk), "ok");
  EXPECT_EQ(errc_name(Errc::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(errc_name(Errc::kSpoolFull), "spool_full");
  EXPECT_EQ(errc_name(Errc::kDeadlineExceeded), "deadline_exceeded");
  EXPECT_EQ(errc_name(static_cast<Errc>(1000)), "unknown");
}

TEST(ResultTest, ErrorToString) {
  EXPECT_EQ(invalid_argument("to.email", "not an address").to_string(),
            "invalid_argument: to.email: not an address");
  EXPECT_EQ(invalid_argument("to.email", "to.email: 'ivan@' is not a valid address").to_string(),
            "invalid_argument: to.email: 'ivan@' is not a valid address");
  EXPECT_EQ(make_error(Errc::kIoError, "fsync failed").to_string(), "io_error: fsync failed");
  EXPECT_EQ(make_error(Errc::kNotFound, "").to_string(), "not_found");
}

TEST(ResultTest, TransientCodes) {
  EXPECT_TRUE(make_error(Errc::kSpoolFull, "").transient());
  EXPECT_TRUE(make_error(Errc::kUnavailable, "").transient());
  EXPECT_FALSE(make_error(Errc::kInvalidArgument, "").transient());
  EXPECT_FALSE(make_error(Errc::kCorruption, "").transient());
}

Result<int> half(int x) {
  if (x % 2) return invalid_argument("x", "odd");
  return x / 2;
}

TEST(ResultTest, ValueThrowsOnlyOnError) {
  EXPECT_EQ(half(4).value(), 2);
  try {
    (void)half(3).value();
    FAIL() << "no throw";
  } catch (const BadResultAccess& e) {
    EXPECT_STREQ(e.what(), "invalid_argument: x: odd");
    EXPECT_EQ(e.error().field, "x");
  }
  Status ok;
  EXPECT_TRUE(ok.has_value());
  Status bad = make_error(Errc::kConflict, "delivered");
  EXPECT_TRUE(bad.has_error());
  EXPECT_EQ(bad.error().code, Errc::kConflict);
  EXPECT_THROW(bad.value(), std::runtime_error);
  MessageStatus s = MessageStatus::kQueued;
  EXPECT_EQ(s, MessageStatus::kQueued);
}

}  // namespace
}  // namespace core
