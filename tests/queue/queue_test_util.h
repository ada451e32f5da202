// tests/queue/queue_test_util.h: helpers shared by the queue unit tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "core/message.h"
#include "queue/queue.h"

namespace queue::testing {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vestnik-queue-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A small valid message to `email` on `destination`.
inline NewMessage make_message(std::string email = "anna@example.com",
                               std::string destination = "email:example.com",
                               core::Priority priority = core::Priority::kNormal) {
  NewMessage m;
  m.request.channels = {core::Channel::kEmail};
  m.request.to.email = std::move(email);
  m.request.from.email = "shop@marketplace.test";
  m.request.category = "notifications";
  m.request.content.subject = "Your order";
  m.request.content.html = "<p>Paid</p>";
  m.request.content.text = "Paid";
  m.request.variables_json = "{}";
  m.request.priority = priority;
  m.destination = std::move(destination);
  return m;
}

// Counts recomputed from the records themselves, for comparison with the
// spool's transactional counters.
inline Counts recount(const Spool& spool, const std::vector<core::Id>& ids) {
  Counts c;
  for (core::MessageStatus s : core::kAllStatuses) c.by_status[s] = 0;
  std::map<std::pair<std::string, core::MessageStatus>, uint64_t> dest;
  for (const core::Id& id : ids) {
    auto v = spool.get(id, false);
    EXPECT_TRUE(v.has_value());
    if (!v || !*v) continue;
    const core::MessageRecord& r = (*v)->record;
    ++c.by_status[r.status];
    ++dest[{r.destination, r.status}];
    if (r.lease_until) ++c.leased;
  }
  for (const auto& [k, n] : dest)
    c.by_destination.push_back(DestinationCount{k.first, k.second, n});
  return c;
}

inline void expect_counts_eq(const Counts& want, const Counts& got) {
  EXPECT_EQ(want.by_status, got.by_status);
  EXPECT_EQ(want.leased, got.leased);
  ASSERT_EQ(want.by_destination.size(), got.by_destination.size());
  for (size_t i = 0; i < want.by_destination.size(); ++i) {
    EXPECT_EQ(want.by_destination[i].destination, got.by_destination[i].destination);
    EXPECT_EQ(want.by_destination[i].status, got.by_destination[i].status);
    EXPECT_EQ(want.by_destination[i].count, got.by_destination[i].count);
  }
}

}  // namespace queue::testing
