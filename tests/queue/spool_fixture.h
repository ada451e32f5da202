// tests/queue/spool_fixture.h: a Spool over the in-memory store with a
// manual clock, plus small helpers, for the spool tests.
#pragma once

#include <gtest/gtest.h>

#include "queue/queue.h"
#include "queue_test_util.h"

namespace queue::testing {

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override { open_spool(); }

  // Reopens over the same store if one exists (the spool takes ownership,
  // so a reopen needs a new store; tests that reopen use LMDB instead).
  void open_spool() {
    auto inner = make_memory_store();
    auto fault = std::make_unique<FaultInjectingStore>(std::move(inner));
    fault_ = fault.get();
    config_.path = dir_.path();
    auto s = Spool::open(config_, std::move(fault), clock_, ids_);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    spool_ = std::move(*s);
  }

  core::Id enqueue_one(NewMessage m, std::string tenant = "school") {
    std::vector<NewMessage> batch;
    batch.push_back(std::move(m));
    auto r = spool_->enqueue_sync(std::move(tenant), std::move(batch));
    EXPECT_EQ(r.size(), 1u);
    EXPECT_TRUE(r[0].has_value()) << (r[0] ? "" : r[0].error().to_string());
    core::Id id = r[0] ? r[0]->id : core::Id();
    ids_seen_.push_back(id);
    return id;
  }

  core::MessageRecord record(const core::Id& id) {
    auto v = spool_->get(id);
    EXPECT_TRUE(v.has_value() && v->has_value());
    return v && *v ? (*v)->record : core::MessageRecord{};
  }
  std::vector<core::Event> events(const core::Id& id) {
    auto v = spool_->get(id);
    EXPECT_TRUE(v.has_value() && v->has_value());
    return v && *v ? (*v)->events : std::vector<core::Event>{};
  }

  std::vector<Leased> lease(size_t max = 100, std::function<bool(std::string_view)> admit = {}) {
    LeaseRequest req;
    req.max = max;
    req.admit = std::move(admit);
    auto r = spool_->lease_sync(std::move(req));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
    return r ? std::move(*r) : std::vector<Leased>{};
  }

  size_t apply(Transition t) {
    std::vector<Transition> v;
    v.push_back(std::move(t));
    auto r = spool_->apply_sync(std::move(v));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
    return r ? *r : 0;
  }

  static Transition delivered(const Leased& l) {
    Transition t;
    t.id = l.record.id;
    t.lease_gen = l.record.lease_gen;
    t.status = core::MessageStatus::kDelivered;
    t.detail = "250 2.0.0 ok";
    t.reply = core::Reply{250, "2.0.0", "ok"};
    return t;
  }

  void expect_counters_match() {
    auto c = spool_->counts();
    ASSERT_TRUE(c.has_value());
    expect_counts_eq(recount(*spool_, ids_seen_), *c);
  }

  TempDir dir_;
  core::SpoolConfig config_;
  core::ManualClock clock_;
  core::IdGenerator ids_{clock_};
  FaultInjectingStore* fault_ = nullptr;  // owned by spool_
  std::unique_ptr<Spool> spool_;
  std::vector<core::Id> ids_seen_;
};

}  // namespace queue::testing
