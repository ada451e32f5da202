// tests/queue/spool_durability_test.cpp: the Spool over LMDB and under
// injected faults: reopen and lease recovery, map growth, a full disk, and
// fail-stop after a failed commit (STYLE.md R5).
#include <chrono>
#include <climits>
#include <future>

#include "spool_fixture.h"

namespace queue::testing {
namespace {

using core::MessageStatus;
using namespace std::chrono_literals;

class LmdbSpoolTest : public ::testing::Test {
 protected:
  void open(uint64_t map_initial = 1ull << 20) {
    spool_.reset();
    config_.path = dir_.sub("spool");
    config_.map_size_initial = map_initial;
    LmdbOptions o;
    o.path = config_.path;
    o.map_size_initial = config_.map_size_initial;
    o.map_size_max = config_.map_size_max;
    auto store = open_lmdb_store(o);
    ASSERT_TRUE(store.has_value()) << store.error().to_string();
    auto s = Spool::open(config_, std::move(*store), clock_, ids_);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    spool_ = std::move(*s);
  }

  std::vector<core::Id> enqueue(size_t n, size_t body = 64) {
    std::vector<NewMessage> batch;
    for (size_t i = 0; i < n; ++i) {
      NewMessage m = make_message();
      m.request.content.html.assign(body, 'h');
      batch.push_back(std::move(m));
    }
    std::vector<core::Id> out;
    for (auto& r : spool_->enqueue_sync("school", std::move(batch))) {
      EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
      if (r) out.push_back(r->id);
    }
    return out;
  }

  TempDir dir_;
  core::SpoolConfig config_;
  core::ManualClock clock_;
  core::IdGenerator ids_{clock_};
  std::unique_ptr<Spool> spool_;
};

TEST_F(LmdbSpoolTest, EverythingSurvivesReopen) {
  open();
  NewMessage m = make_message();
  m.request.idempotency_key = "once";
  m.request.tags = {{"k", "v"}};
  auto r = spool_->enqueue_sync("school", {m});
  ASSERT_TRUE(r[0]);
  const core::Id id = r[0]->id;
  open();
  auto v = spool_->get(id);
  ASSERT_TRUE(v && *v);
  EXPECT_EQ((*v)->record.request.tags[0].value, "v");
  EXPECT_EQ((*v)->content.html, "<p>Paid</p>");
  auto dup = spool_->enqueue_sync("school", {m});
  EXPECT_TRUE(dup[0]->duplicate) << "idempotency keys are durable too";
  EXPECT_EQ(spool_->counts()->by_status[MessageStatus::kQueued], 1u);
}

TEST_F(LmdbSpoolTest, LeasesOfThePreviousProcessAreReclaimedAtOpen) {
  open();
  const auto ids = enqueue(3);
  LeaseRequest req;
  req.max = 2;
  auto leased = spool_->lease_sync(req);
  ASSERT_TRUE(leased);
  ASSERT_EQ(leased->size(), 2u);
  EXPECT_EQ(spool_->counts()->leased, 2u);

  clock_.advance(1s);  // well within lease_timeout: still reclaimed
  open();
  auto c = spool_->counts();
  EXPECT_EQ(c->leased, 0u);
  EXPECT_EQ(c->by_status[MessageStatus::kQueued], 3u);
  EXPECT_EQ(c->by_status[MessageStatus::kSending], 0u);
  for (const Leased& l : *leased) {
    auto v = spool_->get(l.record.id);
    ASSERT_TRUE(v && *v);
    EXPECT_EQ((*v)->record.status, MessageStatus::kQueued);
    EXPECT_FALSE((*v)->record.lease_until);
    EXPECT_EQ((*v)->record.due_at, clock_.now());
    EXPECT_EQ((*v)->events.back().detail, "lease reclaimed after restart");
  }
  expect_counts_eq(recount(*spool_, ids), *spool_->counts());

  // Results of the dead process's leases are stale; new leases work.
  std::vector<Transition> old;
  for (const Leased& l : *leased) {
    Transition t;
    t.id = l.record.id;
    t.lease_gen = l.record.lease_gen;
    old.push_back(t);
  }
  EXPECT_EQ(spool_->apply_sync(std::move(old)).value(), 2u);
  EXPECT_EQ(spool_->lease_sync(LeaseRequest{}).value().size(), 3u);
}

TEST_F(LmdbSpoolTest, MessagesWaitingForRetryStaySendingWhenReclaimed) {
  open();
  const auto ids = enqueue(1);
  auto l1 = spool_->lease_sync(LeaseRequest{}).value();
  Transition retry;
  retry.id = ids[0];
  retry.lease_gen = l1[0].record.lease_gen;
  retry.status = MessageStatus::kSending;
  retry.due_at = clock_.now();
  ASSERT_EQ(spool_->apply_sync({retry}).value(), 0u);
  ASSERT_EQ(spool_->lease_sync(LeaseRequest{}).value().size(), 1u);
  open();
  auto v = spool_->get(ids[0]).value();
  EXPECT_EQ(v->record.status, MessageStatus::kSending) << "it has made an attempt";
  EXPECT_EQ(v->record.attempts, 1u);
  EXPECT_EQ(v->events.back().detail, "lease reclaimed after restart");
  expect_counts_eq(recount(*spool_, ids), *spool_->counts());
}

TEST_F(LmdbSpoolTest, MapGrowsFromATinyStartAndEverythingStaysReadable) {
  open(/*map_initial=*/256 << 10);
  std::vector<core::Id> all;
  for (int b = 0; b < 8; ++b) {  // 8 x 1,000 x 1 KB = 8+ MB through a 256 KB map
    auto ids = enqueue(1000, 1024);
    ASSERT_EQ(ids.size(), 1000u);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  EXPECT_GT(spool_->stats().store.map_grows, 0u);
  for (const core::Id& id : all) {
    auto v = spool_->get(id, false);
    ASSERT_TRUE(v && *v);
    ASSERT_EQ((*v)->content.html.size(), 1024u);
  }
  open(256 << 10);  // the file's larger map size wins over the configured one
  EXPECT_EQ(spool_->counts()->by_status[MessageStatus::kQueued], all.size());
}

TEST_F(LmdbSpoolTest, NearlyFullDiskRefusesNewMessagesButDrains) {
  open();
  const auto ids = enqueue(3);
  config_.min_free_bytes = ULLONG_MAX / 2;  // more than any disk has
  open();
  auto r = spool_->enqueue_sync("school", {make_message()});
  ASSERT_FALSE(r[0]);
  EXPECT_EQ(r[0].error().code, core::Errc::kSpoolFull);
  EXPECT_EQ(r[0].error().message, "spool disk nearly full");
  EXPECT_FALSE(spool_->unhealthy_reason());

  auto leased = spool_->lease_sync(LeaseRequest{});
  ASSERT_TRUE(leased);
  ASSERT_EQ(leased->size(), 3u);
  Transition t;
  t.id = (*leased)[0].record.id;
  t.lease_gen = (*leased)[0].record.lease_gen;
  t.status = MessageStatus::kDelivered;
  EXPECT_EQ(spool_->apply_sync({t}).value(), 0u);
  EXPECT_EQ(spool_->get(t.id).value()->record.status, MessageStatus::kDelivered);
  EXPECT_EQ(spool_->counts()->by_status[MessageStatus::kQueued] +
                spool_->counts()->by_status[MessageStatus::kSending],
            2u);
}

TEST_F(LmdbSpoolTest, RefusesASpoolFromANewerFormat) {
  open();
  spool_.reset();
  {
    LmdbOptions o;
    o.path = config_.path;
    auto store = open_lmdb_store(o).value();
    ASSERT_TRUE(store->write([](WriteTxn& txn) {
      return txn.put(Table::kMeta, "format", std::string_view("\0\0\0\x63", 4));
    }));
  }
  LmdbOptions o;
  o.path = config_.path;
  auto s = Spool::open(config_, open_lmdb_store(o).value(), clock_, ids_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::Errc::kCorruption);
  EXPECT_NE(s.error().message.find("99"), std::string::npos) << s.error().message;
}

// ---- fault injection over the memory store -----------------------------------

TEST_F(SpoolTest, FailedCommitLatchesUnhealthyAndReadsStillWork) {
  const core::Id kept = enqueue_one(make_message());
  EXPECT_FALSE(spool_->unhealthy_reason());

  fault_->TEST_fail_commits(1, core::Errc::kIoError);
  auto r = spool_->enqueue_sync("school", {make_message(), make_message()});
  ASSERT_EQ(r.size(), 2u);
  for (auto& item : r) {
    ASSERT_FALSE(item);
    EXPECT_EQ(item.error().code, core::Errc::kIoError);
  }
  ASSERT_TRUE(spool_->unhealthy_reason());
  EXPECT_EQ(*spool_->unhealthy_reason(), "spool storage is unavailable");

  auto later = spool_->enqueue_sync("school", {make_message()});
  ASSERT_FALSE(later[0]);
  EXPECT_EQ(later[0].error().code, core::Errc::kUnavailable);
  auto lease = spool_->lease_sync(LeaseRequest{});
  ASSERT_FALSE(lease);
  EXPECT_EQ(lease.error().code, core::Errc::kUnavailable);
  EXPECT_EQ(spool_->cancel_sync(kept, "").error().code, core::Errc::kUnavailable);

  // Reads still answer from what was committed.
  EXPECT_EQ(record(kept).status, MessageStatus::kQueued);
  EXPECT_EQ(spool_->counts()->by_status[MessageStatus::kQueued], 1u);
}

TEST_F(SpoolTest, SpoolFullCommitFailsTheGroupWithoutLatching) {
  fault_->TEST_fail_commits(1, core::Errc::kSpoolFull);
  auto r = spool_->enqueue_sync("school", {make_message()});
  ASSERT_FALSE(r[0]);
  EXPECT_EQ(r[0].error().code, core::Errc::kSpoolFull);
  EXPECT_FALSE(spool_->unhealthy_reason());
  enqueue_one(make_message());
  expect_counters_match();
}

// When the spool is full, status updates that share a group with new
// messages still go through: delivery must be able to drain a full spool.
TEST_F(SpoolTest, SpoolFullDropsTheEnqueuesOfAGroupAndKeepsTheRest) {
  const core::Id id = enqueue_one(make_message());
  auto l = lease();
  ASSERT_EQ(l.size(), 1u);

  fault_->TEST_hold_writes();
  std::promise<void> first_done;
  spool_->enqueue("school", {make_message()}, [&](auto) { first_done.set_value(); });
  fault_->TEST_wait_until_write_held();
  fault_->TEST_fail_commits(1, core::Errc::kSpoolFull);  // hits the next group

  std::promise<std::vector<core::Result<EnqueueOutcome>>> enq;
  std::promise<core::Result<size_t>> app;
  spool_->enqueue("school", {make_message()}, [&](auto r) { enq.set_value(std::move(r)); });
  spool_->apply({delivered(l[0])}, [&](auto r) { app.set_value(std::move(r)); });
  fault_->TEST_release_writes();
  first_done.get_future().get();

  auto e = enq.get_future().get();
  ASSERT_FALSE(e[0]);
  EXPECT_EQ(e[0].error().code, core::Errc::kSpoolFull);
  auto a = app.get_future().get();
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(*a, 0u);
  EXPECT_EQ(record(id).status, MessageStatus::kDelivered);
  EXPECT_FALSE(spool_->unhealthy_reason());
}

TEST_F(SpoolTest, DestructionCommitsEverythingAlreadySubmitted) {
  std::atomic<int> ok{0};
  for (int i = 0; i < 20; ++i) {
    spool_->enqueue("school", {make_message()}, [&](auto r) { ok += r[0].has_value(); });
  }
  spool_.reset();
  EXPECT_EQ(ok.load(), 20);
}

}  // namespace
}  // namespace queue::testing
