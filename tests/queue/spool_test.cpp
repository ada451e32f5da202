// tests/queue/spool_test.cpp: the Spool's state machine (queue/queue.h) over
// the in-memory store: enqueue, idempotency, lease, apply, cancel, reclaim,
// purge and counters. Durability, reopen and fault paths are in
// spool_durability_test.cpp.
#include <algorithm>
#include <atomic>
#include <future>
#include <random>
#include <thread>

#include "spool_fixture.h"

namespace queue::testing {
namespace {

using core::MessageStatus;
using namespace std::chrono_literals;

TEST_F(SpoolTest, EnqueueThenGetReturnsEveryField) {
  NewMessage m = make_message();
  core::MessageRequest& q = m.request;
  q.idempotency_key = "order-1";
  q.channels = {core::Channel::kEmail, core::Channel::kTelegram};
  q.to = core::Recipient{"anna@example.com", "Anna", "777", "+380671234567", "vk", "vb",
                         "+380671234568"};
  q.from = core::Sender{"shop@example.com", "Shop"};
  q.category = "orders";
  q.variables_json = R"({"order":1})";
  q.send_at = clock_.now() + 1h;
  q.expires_at = clock_.now() + 48h;
  q.priority = core::Priority::kTransactional;
  q.tags = {{"campaign", "spring"}};
  q.content = core::Content{"tpl", "Subject", "<p>html</p>", "text"};
  const core::Id id = enqueue_one(m);

  auto v = spool_->get(id);
  ASSERT_TRUE(v.has_value() && v->has_value());
  const MessageView& view = **v;
  const core::MessageRecord& r = view.record;
  EXPECT_EQ(r.id, id);
  EXPECT_EQ(r.tenant, "school");
  EXPECT_EQ(r.content_id, id) << "a single message owns its content";
  EXPECT_EQ(r.request.idempotency_key, "order-1");
  EXPECT_EQ(r.request.channels, q.channels);
  EXPECT_EQ(r.request.to.name, "Anna");
  EXPECT_EQ(r.request.to.telegram_chat_id, "777");
  EXPECT_EQ(r.request.to.whatsapp, "+380671234568");
  EXPECT_EQ(r.request.from.name, "Shop");
  EXPECT_EQ(r.request.category, "orders");
  EXPECT_EQ(r.request.variables_json, q.variables_json);
  EXPECT_EQ(r.request.send_at, q.send_at);
  EXPECT_EQ(r.request.expires_at, q.expires_at);
  EXPECT_EQ(r.request.priority, core::Priority::kTransactional);
  ASSERT_EQ(r.request.tags.size(), 1u);
  EXPECT_EQ(r.request.tags[0].value, "spring");
  EXPECT_TRUE(r.request.content.html.empty()) << "content lives in its own table";
  EXPECT_EQ(r.created_at, clock_.now());
  EXPECT_EQ(r.status, MessageStatus::kQueued);
  EXPECT_EQ(r.attempts, 0u);
  EXPECT_EQ(r.destination, "email:example.com");
  EXPECT_EQ(r.due_at, *q.send_at) << "scheduled send";
  EXPECT_FALSE(r.lease_until);
  EXPECT_FALSE(r.finished_at);
  EXPECT_EQ(r.event_count, 1u);
  EXPECT_EQ(view.content.template_id, "tpl");
  EXPECT_EQ(view.content.subject, "Subject");
  EXPECT_EQ(view.content.html, "<p>html</p>");
  EXPECT_EQ(view.content.text, "text");
  ASSERT_EQ(view.events.size(), 1u);
  EXPECT_EQ(view.events[0].status, MessageStatus::kQueued);
  EXPECT_EQ(view.events[0].at, clock_.now());
  EXPECT_EQ(view.events[0].channel, core::Channel::kEmail);

  auto no_events = spool_->get(id, false);
  ASSERT_TRUE(no_events && *no_events);
  EXPECT_TRUE((*no_events)->events.empty());
  auto unknown = spool_->get(ids_.next());
  ASSERT_TRUE(unknown.has_value());
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(SpoolTest, BatchResultsAreInOrderWithDistinctIds) {
  std::vector<NewMessage> batch;
  for (int i = 0; i < 50; ++i)
    batch.push_back(make_message("u" + std::to_string(i) + "@example.com"));
  auto r = spool_->enqueue_sync("school", std::move(batch));
  ASSERT_EQ(r.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(r[i]);
    ids_seen_.push_back(r[i]->id);
    EXPECT_EQ(record(r[i]->id).request.to.email, "u" + std::to_string(i) + "@example.com");
    if (i > 0) {
      EXPECT_LT(r[i - 1]->id, r[i]->id);
    }
  }
  EXPECT_EQ(spool_->counts()->by_status[MessageStatus::kQueued], 50u);
  expect_counters_match();
}

TEST_F(SpoolTest, InvalidItemsAreRefusedAloneAndTheRestStored) {
  std::vector<NewMessage> batch;
  batch.push_back(make_message());
  batch.push_back(make_message());
  batch.back().initial_status = MessageStatus::kDelivered;
  batch.push_back(make_message());
  batch.back().channel_index = 5;
  auto r = spool_->enqueue_sync("school", std::move(batch));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0]);
  ASSERT_FALSE(r[1]);
  EXPECT_EQ(r[1].error().field, "initial_status");
  ASSERT_FALSE(r[2]);
  EXPECT_EQ(r[2].error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(spool_->counts()->by_status[MessageStatus::kQueued], 1u);
}

TEST_F(SpoolTest, IdempotencyKeyReturnsTheFirstMessageAndStoresNothing) {
  NewMessage m = make_message();
  m.request.idempotency_key = "pay-77";
  const core::Id first = enqueue_one(m);

  auto again = spool_->enqueue_sync("school", {m});
  ASSERT_TRUE(again[0]);
  EXPECT_TRUE(again[0]->duplicate);
  EXPECT_EQ(again[0]->id, first);
  EXPECT_EQ(again[0]->status, MessageStatus::kQueued);

  // Its current status, not the one it was stored with.
  auto leased = lease();
  ASSERT_EQ(leased.size(), 1u);
  auto during = spool_->enqueue_sync("school", {m});
  EXPECT_EQ(during[0]->status, MessageStatus::kSending);

  // Twice in one batch: the second is a duplicate of the first.
  NewMessage n = make_message();
  n.request.idempotency_key = "pay-78";
  auto pair = spool_->enqueue_sync("school", {n, n});
  ASSERT_TRUE(pair[0] && pair[1]);
  EXPECT_FALSE(pair[0]->duplicate);
  EXPECT_TRUE(pair[1]->duplicate);
  EXPECT_EQ(pair[0]->id, pair[1]->id);

  // Keys are per tenant.
  auto other = spool_->enqueue_sync("college", {m});
  ASSERT_TRUE(other[0]);
  EXPECT_FALSE(other[0]->duplicate);
  EXPECT_NE(other[0]->id, first);

  auto c = spool_->counts();
  EXPECT_EQ(c->by_status[MessageStatus::kQueued] + c->by_status[MessageStatus::kSending], 3u);
}

TEST_F(SpoolTest, GroupCommitMergesConcurrentEnqueues) {
  // Hold the writer inside its first commit, queue work from several
  // threads behind it, then let go: the queued work must share commits.
  fault_->TEST_hold_writes();
  std::atomic<int> done{0};
  spool_->enqueue("school", {make_message()}, [&](auto) { ++done; });
  fault_->TEST_wait_until_write_held();
  const int commits_before = fault_->TEST_commits();

  constexpr int kThreads = 4, kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        spool_->enqueue("school", {make_message()}, [&](auto r) {
          EXPECT_TRUE(r[0].has_value());
          ++done;
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  fault_->TEST_release_writes();
  while (done.load() < 1 + kThreads * kPerThread) std::this_thread::yield();

  const int ops = 1 + kThreads * kPerThread;
  const int commits = fault_->TEST_commits() - commits_before;
  EXPECT_LT(commits, ops);
  EXPECT_LE(commits, 2) << "the held commit, then one for everything queued behind it";
  EXPECT_EQ(spool_->counts()->by_status[MessageStatus::kQueued], static_cast<uint64_t>(ops));
}

TEST_F(SpoolTest, GroupCommitRespectsMaxOps) {
  spool_.reset();
  config_.group_commit_max_ops = 10;
  open_spool();
  fault_->TEST_hold_writes();
  std::atomic<int> done{0};
  spool_->enqueue("school", {make_message()}, [&](auto) { ++done; });
  fault_->TEST_wait_until_write_held();
  const int before = fault_->TEST_commits();
  for (int i = 0; i < 40; ++i) spool_->enqueue("school", {make_message()}, [&](auto) { ++done; });
  fault_->TEST_release_writes();
  while (done.load() < 41) std::this_thread::yield();
  EXPECT_GE(fault_->TEST_commits() - before, 5) << "41 ops, at most 10 per group";
}

TEST_F(SpoolTest, LeaseOrderIsPriorityThenDueTime) {
  const auto t0 = clock_.now();
  auto at = [&](core::Priority p, core::Duration ago, std::string tag) {
    NewMessage m = make_message(tag + "@example.com", "email:example.com", p);
    m.request.send_at = t0 - ago;
    return enqueue_one(std::move(m));
  };
  const core::Id bulk_old = at(core::Priority::kBulk, 60min, "bulk_old");
  const core::Id normal_new = at(core::Priority::kNormal, 1min, "normal_new");
  const core::Id trans_new = at(core::Priority::kTransactional, 0min, "trans_new");
  const core::Id normal_old = at(core::Priority::kNormal, 30min, "normal_old");
  const core::Id trans_old = at(core::Priority::kTransactional, 10min, "trans_old");
  NewMessage future = make_message();
  future.request.send_at = t0 + 1min;
  const core::Id later = enqueue_one(std::move(future));

  auto first = lease(3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].record.id, trans_old);
  EXPECT_EQ(first[1].record.id, trans_new);
  EXPECT_EQ(first[2].record.id, normal_old);
  auto rest = lease(100);
  ASSERT_EQ(rest.size(), 2u) << "the scheduled message is not due yet";
  EXPECT_EQ(rest[0].record.id, normal_new);
  EXPECT_EQ(rest[1].record.id, bulk_old);
  EXPECT_EQ(spool_->next_due().value(), t0 + 1min);

  clock_.advance(1min);
  auto last = lease(100);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].record.id, later);
  EXPECT_FALSE(spool_->next_due().value().has_value());
  expect_counters_match();
}

TEST_F(SpoolTest, LeaseMarksSendingAndSharesContent) {
  const core::Id id = enqueue_one(make_message());
  auto leased = lease();
  ASSERT_EQ(leased.size(), 1u);
  const core::MessageRecord& r = leased[0].record;
  EXPECT_EQ(r.status, MessageStatus::kSending);
  EXPECT_EQ(r.lease_gen, 1u);
  EXPECT_EQ(r.lease_until, clock_.now() + config_.lease_timeout);
  ASSERT_NE(leased[0].content, nullptr);
  EXPECT_EQ(leased[0].content->html, "<p>Paid</p>");
  auto ev = events(id);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].status, MessageStatus::kSending);
  EXPECT_EQ(ev[1].attempt, 1u);
  EXPECT_EQ(spool_->counts()->leased, 1u);
  EXPECT_TRUE(lease().empty()) << "a leased message is not leased twice";
  expect_counters_match();
}

TEST_F(SpoolTest, AdmitRejectsAreDeferredWithoutEvents) {
  const core::Id a = enqueue_one(make_message("a@a.test", "email:a.test"));
  const core::Id b = enqueue_one(make_message("b@b.test", "email:b.test"));
  std::vector<std::string> asked;
  LeaseRequest req;
  req.admit = [&](std::string_view d) {
    asked.emplace_back(d);
    return d != "email:b.test";
  };
  req.defer_rejected_by = 5s;
  auto r = spool_->lease_sync(req);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].record.id, a);
  EXPECT_EQ(asked, (std::vector<std::string>{"email:a.test", "email:b.test"}));
  const core::MessageRecord rb = record(b);
  EXPECT_EQ(rb.status, MessageStatus::kQueued);
  EXPECT_EQ(rb.due_at, clock_.now() + 5s);
  EXPECT_EQ(events(b).size(), 1u);
  EXPECT_EQ(rb.attempts, 0u);

  EXPECT_TRUE(lease().empty()) << "deferred into the future";
  clock_.advance(5s);
  auto later = lease();
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].record.id, b);
  expect_counters_match();
}

// defer_for: each refused destination is pushed back by its own delay
// (a destination suspended for an hour is rewritten once, not every 5 s).
TEST_F(SpoolTest, AdmitRejectsAreDeferredPerDestination) {
  const core::Id held = enqueue_one(make_message("a@a.test", "email:held.test"));
  const core::Id full = enqueue_one(make_message("b@b.test", "email:full.test"));
  const core::Id tiny = enqueue_one(make_message("c@c.test", "email:tiny.test"));
  LeaseRequest req;
  req.admit = [](std::string_view) { return false; };
  req.defer_rejected_by = 5s;
  req.defer_for = [](std::string_view d) -> core::Duration {
    if (d == "email:held.test") return 1h;
    if (d == "email:tiny.test") return core::Duration(0);  // at least 1 ms
    return 5s;
  };
  auto r = spool_->lease_sync(req);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(record(held).due_at, clock_.now() + 1h);
  EXPECT_EQ(record(full).due_at, clock_.now() + 5s);
  EXPECT_EQ(record(tiny).due_at, clock_.now() + core::Duration(1));
  EXPECT_EQ(events(held).size(), 1u);
  clock_.advance(5s);
  auto later = lease();
  ASSERT_EQ(later.size(), 2u);  // full and tiny; held waits its hour
  clock_.advance(1h);
  ASSERT_EQ(lease().size(), 1u);
  expect_counters_match();
}

TEST_F(SpoolTest, ExpiredMessagesFailInsteadOfBeingLeased) {
  NewMessage m = make_message();
  m.request.expires_at = clock_.now() + 10min;
  m.request.send_at = clock_.now() + 20min;
  const core::Id id = enqueue_one(std::move(m));
  clock_.advance(20min);
  EXPECT_TRUE(lease().empty());
  const core::MessageRecord r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kFailed);
  ASSERT_TRUE(r.bounce);
  EXPECT_EQ(r.bounce->category, "expired");
  EXPECT_EQ(r.finished_at, clock_.now());
  auto ev = events(id);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].status, MessageStatus::kFailed);
  EXPECT_EQ(ev[1].detail, "expired before delivery");
  expect_counters_match();
}

TEST_F(SpoolTest, StaleTransitionsAreIgnoredAndCounted) {
  const core::Id id = enqueue_one(make_message());
  auto leased = lease();
  ASSERT_EQ(leased.size(), 1u);
  Transition old = delivered(leased[0]);
  old.lease_gen -= 1;
  EXPECT_EQ(apply(old), 1u);
  EXPECT_EQ(record(id).status, MessageStatus::kSending);

  EXPECT_EQ(apply(delivered(leased[0])), 0u);
  EXPECT_EQ(record(id).status, MessageStatus::kDelivered);
  EXPECT_EQ(apply(delivered(leased[0])), 1u) << "no longer leased";
  Transition unknown = delivered(leased[0]);
  unknown.id = ids_.next();
  EXPECT_EQ(apply(unknown), 1u);
  expect_counters_match();
}

TEST_F(SpoolTest, RetriesThenFinalFailureRecordEveryAttempt) {
  const core::Id id = enqueue_one(make_message());
  auto l1 = lease();
  ASSERT_EQ(l1.size(), 1u);
  Transition retry;
  retry.id = id;
  retry.lease_gen = l1[0].record.lease_gen;
  retry.status = MessageStatus::kSending;
  retry.detail = "451 4.7.1 try later";
  retry.reply = core::Reply{451, "4.7.1", "try later"};
  retry.due_at = clock_.now() + 5min;
  EXPECT_EQ(apply(retry), 0u);

  core::MessageRecord r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kSending) << "stays sending between retries";
  EXPECT_EQ(r.attempts, 1u);
  EXPECT_FALSE(r.lease_until);
  EXPECT_EQ(r.due_at, clock_.now() + 5min);
  ASSERT_TRUE(r.last_reply);
  EXPECT_EQ(r.last_reply->code, 451);
  EXPECT_TRUE(lease().empty());
  EXPECT_EQ(spool_->counts()->leased, 0u);

  clock_.advance(5min);
  auto l2 = lease();
  ASSERT_EQ(l2.size(), 1u);
  EXPECT_EQ(l2[0].record.lease_gen, 2u);
  Transition fail;
  fail.id = id;
  fail.lease_gen = 2;
  fail.status = MessageStatus::kFailed;
  fail.detail = "550 5.1.1 no such user";
  fail.reply = core::Reply{550, "5.1.1", "no such user"};
  fail.bounce = core::Bounce{"bad-mailbox", *fail.reply};
  EXPECT_EQ(apply(fail), 0u);

  r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kFailed);
  EXPECT_EQ(r.attempts, 2u);
  EXPECT_EQ(r.finished_at, clock_.now());
  ASSERT_TRUE(r.bounce);
  EXPECT_EQ(r.bounce->category, "bad-mailbox");
  auto ev = events(id);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].status, MessageStatus::kQueued);
  EXPECT_EQ(ev[1].status, MessageStatus::kSending);
  EXPECT_EQ(ev[1].attempt, 1u);
  EXPECT_EQ(ev[2].status, MessageStatus::kSending);
  EXPECT_EQ(ev[2].detail, "451 4.7.1 try later");
  EXPECT_EQ(ev[2].attempt, 1u);
  EXPECT_EQ(ev[3].status, MessageStatus::kFailed);
  EXPECT_EQ(ev[3].detail, "550 5.1.1 no such user");
  EXPECT_EQ(ev[3].attempt, 2u);
  expect_counters_match();
}

TEST_F(SpoolTest, ReleaseWithoutAttemptGoesBackToQueued) {
  const core::Id id = enqueue_one(make_message());
  auto l = lease();
  ASSERT_EQ(l.size(), 1u);
  Transition t;
  t.id = id;
  t.lease_gen = l[0].record.lease_gen;
  t.status = MessageStatus::kQueued;
  t.counts_attempt = false;
  t.detail = "released at shutdown";
  t.due_at = clock_.now();
  EXPECT_EQ(apply(t), 0u);
  const core::MessageRecord r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kQueued);
  EXPECT_EQ(r.attempts, 0u);
  EXPECT_EQ(events(id).back().status, MessageStatus::kQueued);
  EXPECT_EQ(lease().size(), 1u);
  expect_counters_match();
}

TEST_F(SpoolTest, ChannelFallbackMovesTheMessageAndItsCounters) {
  NewMessage m = make_message();
  m.request.channels = {core::Channel::kTelegram, core::Channel::kEmail};
  m.request.to.telegram_chat_id = "42";
  m.destination = "telegram:bot";
  const core::Id id = enqueue_one(std::move(m));
  auto l = lease();
  ASSERT_EQ(l.size(), 1u);
  Transition t;
  t.id = id;
  t.lease_gen = l[0].record.lease_gen;
  t.status = MessageStatus::kSending;
  t.detail = "403 bot was blocked by the user";
  t.due_at = clock_.now();
  t.channel_index = 1;
  t.destination = "email:example.com";
  EXPECT_EQ(apply(t), 0u);
  const core::MessageRecord r = record(id);
  EXPECT_EQ(r.channel_index, 1u);
  EXPECT_EQ(r.channel(), core::Channel::kEmail);
  EXPECT_EQ(r.destination, "email:example.com");
  EXPECT_EQ(events(id).back().channel, core::Channel::kTelegram) << "the attempt was on telegram";
  auto next = lease();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].record.destination, "email:example.com");
  expect_counters_match();
}

TEST_F(SpoolTest, CancelRules) {
  const core::Id queued = enqueue_one(make_message());
  auto r = spool_->cancel_sync(queued, "campaign back to draft");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(*r, MessageStatus::kCancelled);
  EXPECT_EQ(record(queued).status, MessageStatus::kCancelled);
  EXPECT_EQ(events(queued).back().detail, "campaign back to draft");
  EXPECT_TRUE(lease().empty()) << "a cancelled message is no longer due";

  auto again = spool_->cancel_sync(queued, "");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::Errc::kConflict);
  EXPECT_NE(again.error().message.find("cancelled"), std::string::npos) << again.error().message;

  const core::Id leased = enqueue_one(make_message());
  auto l = lease();
  ASSERT_EQ(l.size(), 1u);
  auto in_flight = spool_->cancel_sync(leased, "");
  ASSERT_FALSE(in_flight);
  EXPECT_EQ(in_flight.error().code, core::Errc::kConflict);
  EXPECT_NE(in_flight.error().message.find("being delivered"), std::string::npos);

  // Waiting for a retry: cancellable.
  Transition retry;
  retry.id = leased;
  retry.lease_gen = l[0].record.lease_gen;
  retry.status = MessageStatus::kSending;
  retry.due_at = clock_.now() + 1h;
  apply(retry);
  EXPECT_EQ(spool_->cancel_sync(leased, "sequence exit").value(), MessageStatus::kCancelled);
  clock_.advance(2h);
  EXPECT_TRUE(lease().empty());

  auto unknown = spool_->cancel_sync(ids_.next(), "");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, core::Errc::kNotFound);
  expect_counters_match();
}

TEST_F(SpoolTest, ForbiddenMessagesAreStoredFinalAndNeverLeased) {
  NewMessage m = make_message();
  m.initial_status = MessageStatus::kForbidden;
  m.detail = "recipient unsubscribed from orders";
  const core::Id id = enqueue_one(std::move(m));
  const core::MessageRecord r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kForbidden);
  EXPECT_EQ(r.finished_at, clock_.now());
  auto ev = events(id);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].status, MessageStatus::kForbidden);
  EXPECT_EQ(ev[0].detail, "recipient unsubscribed from orders");
  EXPECT_TRUE(lease().empty());
  EXPECT_EQ(spool_->counts()->by_status[MessageStatus::kForbidden], 1u);
  expect_counters_match();
}

TEST_F(SpoolTest, ExpiredLeasesAreReclaimedAndTheirResultsGoStale) {
  const core::Id id = enqueue_one(make_message());
  auto l = lease();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(spool_->reclaim_expired_leases_sync().value(), 0u) << "not expired yet";
  clock_.advance(config_.lease_timeout);
  EXPECT_EQ(spool_->reclaim_expired_leases_sync().value(), 1u);
  const core::MessageRecord r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kQueued);
  EXPECT_FALSE(r.lease_until);
  EXPECT_EQ(r.due_at, clock_.now());
  EXPECT_EQ(events(id).back().detail, "lease expired; reclaimed");
  EXPECT_EQ(apply(delivered(l[0])), 1u) << "the old lease's result is stale";
  auto again = lease();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].record.lease_gen, 2u);
  expect_counters_match();
}

TEST_F(SpoolTest, PurgeDeletesFinishedMessagesAfterRetention) {
  NewMessage m = make_message();
  m.request.idempotency_key = "k1";
  const core::Id done_id = enqueue_one(m);
  const core::Id waiting = enqueue_one(make_message());
  auto l = lease(1);
  ASSERT_EQ(l.size(), 1u);
  ASSERT_EQ(l[0].record.id, done_id);
  apply(delivered(l[0]));

  EXPECT_EQ(spool_->purge_sync(100).value(), 0u) << "retention not reached";
  clock_.advance(config_.retention + 1ms);
  EXPECT_EQ(spool_->purge_sync(100).value(), 1u);
  auto gone = spool_->get(done_id);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(spool_->get(waiting).value().has_value()) << "unfinished messages stay";
  ids_seen_.erase(std::find(ids_seen_.begin(), ids_seen_.end(), done_id));
  expect_counters_match();
  EXPECT_EQ(spool_->counts()->by_status[MessageStatus::kDelivered], 0u);

  // The idempotency key is free again.
  auto fresh = spool_->enqueue_sync("school", {m});
  ASSERT_TRUE(fresh[0]);
  EXPECT_FALSE(fresh[0]->duplicate);
  EXPECT_NE(fresh[0]->id, done_id);
  EXPECT_EQ(spool_->purge_sync(100).value(), 0u);
}

TEST_F(SpoolTest, PurgeRespectsMax) {
  for (int i = 0; i < 5; ++i) enqueue_one(make_message());
  for (const Leased& l : lease()) apply(delivered(l));
  clock_.advance(config_.retention + 1ms);
  EXPECT_EQ(spool_->purge_sync(2).value(), 2u);
  EXPECT_EQ(spool_->purge_sync(10).value(), 3u);
  EXPECT_EQ(spool_->counts()->by_destination.size(), 0u);
}

TEST_F(SpoolTest, CountsByDestinationAreSortedAndNonZero) {
  enqueue_one(make_message("a@b.test", "email:b.test"));
  enqueue_one(make_message("a@a.test", "email:a.test"));
  enqueue_one(make_message("c@a.test", "email:a.test"));
  auto c = spool_->counts();
  ASSERT_TRUE(c);
  ASSERT_EQ(c->by_destination.size(), 2u);
  EXPECT_EQ(c->by_destination[0].destination, "email:a.test");
  EXPECT_EQ(c->by_destination[0].count, 2u);
  EXPECT_EQ(c->by_destination[1].destination, "email:b.test");
  EXPECT_EQ(c->by_status.size(), std::size(core::kAllStatuses)) << "zeros included";
}

// A long random mix of every operation; the transactional counters must
// always equal a recount of the records.
TEST_F(SpoolTest, CountersAlwaysEqualARecount) {
  std::mt19937 rng(12345);
  const char* dests[] = {"email:a.test", "email:b.test", "telegram:bot"};
  std::vector<Leased> in_flight;
  for (int round = 0; round < 40; ++round) {
    std::vector<NewMessage> batch;
    for (int i = 0; i < 5; ++i) {
      NewMessage m =
          make_message("x@y.test", dests[rng() % 3], static_cast<core::Priority>(1 + rng() % 3));
      if (rng() % 7 == 0) m.initial_status = MessageStatus::kForbidden;
      if (rng() % 5 == 0) m.request.idempotency_key = "k" + std::to_string(rng() % 20);
      if (rng() % 9 == 0) m.request.expires_at = clock_.now() + std::chrono::seconds(rng() % 60);
      batch.push_back(std::move(m));
    }
    for (auto& r : spool_->enqueue_sync("school", std::move(batch))) {
      if (r && !r->duplicate) ids_seen_.push_back(r->id);
    }
    for (Leased& l : lease(rng() % 6)) in_flight.push_back(std::move(l));
    std::vector<Transition> ts;
    while (!in_flight.empty() && rng() % 3 != 0) {
      Leased l = std::move(in_flight.back());
      in_flight.pop_back();
      Transition t = delivered(l);
      switch (rng() % 4) {
        case 0:
          break;
        case 1:
          t.status = MessageStatus::kFailed;
          break;
        case 2:
          t.status = MessageStatus::kSending;
          t.due_at = clock_.now() + std::chrono::seconds(rng() % 30);
          break;
        case 3:
          t.status = MessageStatus::kQueued;
          t.counts_attempt = false;
          t.due_at = clock_.now();
          break;
      }
      if (rng() % 4 == 0) t.lease_gen += 1;  // stale
      ts.push_back(std::move(t));
    }
    (void)spool_->apply_sync(std::move(ts));
    if (!ids_seen_.empty() && rng() % 3 == 0) {
      (void)spool_->cancel_sync(ids_seen_[rng() % ids_seen_.size()], "x");
    }
    if (rng() % 10 == 0) {
      clock_.advance(config_.lease_timeout);
      (void)spool_->reclaim_expired_leases_sync();
    }
    clock_.advance(std::chrono::seconds(rng() % 20));
    if (round % 10 == 9) expect_counters_match();
  }
  clock_.advance(config_.retention + 1h);
  (void)spool_->purge_sync(1000);
  std::vector<core::Id> still;
  for (const core::Id& id : ids_seen_) {
    if (spool_->get(id, false).value().has_value()) still.push_back(id);
  }
  ids_seen_ = still;
  expect_counters_match();
}

TEST_F(SpoolTest, CallbacksRunOnTheWriterThreadAndBlockingCallsThereFail) {
  std::promise<core::Result<core::MessageStatus>> p;
  spool_->enqueue("school", {make_message()}, [&](auto r) {
    // A blocking call from a callback would deadlock; it is refused.
    p.set_value(spool_->cancel_sync(r[0]->id, ""));
  });
  auto r = p.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::kInternal);
}

// Spool::enqueue with a DirectLease, waited for.
std::vector<core::Result<EnqueueOutcome>> enqueue_direct(Spool& spool, std::vector<NewMessage> batch,
                                                         DirectLease direct) {
  std::promise<std::vector<core::Result<EnqueueOutcome>>> p;
  spool.enqueue("school", std::move(batch),
                [&](std::vector<core::Result<EnqueueOutcome>> r) { p.set_value(std::move(r)); },
                std::move(direct));
  return p.get_future().get();
}

// The engine's fast path: what DirectLease admits is stored leased in the
// enqueue's own transaction, exactly as lease() would leave it; the rest
// (refused, not due yet, a duplicate) is stored as usual.
TEST_F(SpoolTest, DirectLeaseStoresAdmittedMessagesLeased) {
  NewMessage dup = make_message("dup@example.com", "email:a.test");
  dup.request.idempotency_key = "k1";
  const core::Id first = enqueue_one(dup);  // the batch's copy below is a duplicate
  std::vector<NewMessage> batch;
  batch.push_back(make_message("a@example.com", "email:a.test"));
  batch.push_back(make_message("b@example.com", "email:b.test"));
  NewMessage later = make_message("c@example.com", "email:a.test");
  later.request.send_at = clock_.now() + std::chrono::hours(1);
  batch.push_back(later);
  batch.push_back(dup);
  NewMessage shares = make_message("d@example.com", "email:a.test");
  shares.request.content = core::Content{};
  shares.content_of = 0;
  batch.push_back(shares);

  std::vector<std::string> asked;
  std::vector<Leased> got;
  size_t admitted = 99;
  DirectLease direct;
  direct.admit = [&](std::string_view d) {
    asked.emplace_back(d);
    return d == "email:a.test";
  };
  direct.leased = [&](std::vector<Leased> l, size_t n) {
    got = std::move(l);
    admitted = n;
  };
  auto results = enqueue_direct(*spool_, std::move(batch), std::move(direct));
  ASSERT_EQ(results.size(), 5u);
  for (auto& r : results) {
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->status, MessageStatus::kQueued);
    if (!r->duplicate) ids_seen_.push_back(r->id);
  }
  EXPECT_TRUE(results[3]->duplicate);
  // Asked once per message that could go now, in order: not the later one,
  // not the duplicate.
  EXPECT_EQ(asked, (std::vector<std::string>{"email:a.test", "email:b.test", "email:a.test"}));
  EXPECT_EQ(admitted, 2u);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].record.id, results[0]->id);
  EXPECT_EQ(got[1].record.id, results[4]->id);
  for (const Leased& l : got) {
    EXPECT_EQ(l.record.status, MessageStatus::kSending);
    EXPECT_EQ(l.record.lease_gen, 1u);
    EXPECT_EQ(l.record.lease_until, clock_.now() + config_.lease_timeout);
    ASSERT_NE(l.content, nullptr);
    EXPECT_EQ(l.content->html, "<p>Paid</p>");
    // Stored exactly so: the same record, events queued then sending.
    const core::MessageRecord stored = record(l.record.id);
    EXPECT_EQ(stored.status, MessageStatus::kSending);
    EXPECT_EQ(stored.lease_gen, 1u);
    EXPECT_EQ(stored.lease_until, l.record.lease_until);
    auto ev = events(l.record.id);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].status, MessageStatus::kQueued);
    EXPECT_EQ(ev[1].status, MessageStatus::kSending);
    EXPECT_EQ(ev[1].attempt, 1u);
  }
  EXPECT_EQ(got[0].content, got[1].content) << "a sharer gets its owner's content";
  EXPECT_EQ(record(results[1]->id).status, MessageStatus::kQueued);
  EXPECT_EQ(spool_->counts()->leased, 2u);
  expect_counters_match();

  // Leased means leased: lease() gives only what was queued (the first
  // enqueue, and the one admit refused; the later one is not due), and
  // results apply as for any lease.
  auto rest = lease();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].record.id, first);
  EXPECT_EQ(rest[1].record.id, results[1]->id);
  EXPECT_EQ(apply(delivered(got[0])), 0u);
  EXPECT_EQ(record(got[0].record.id).status, MessageStatus::kDelivered);
  // An expired direct lease is reclaimed like any other.
  clock_.advance(config_.lease_timeout);
  EXPECT_EQ(spool_->reclaim_expired_leases_sync().value(), 3u);  // got[1] and `rest`
  EXPECT_EQ(record(got[1].record.id).status, MessageStatus::kQueued);
  expect_counters_match();
}

TEST_F(SpoolTest, DirectLeaseOfAFailedCommitReportsNothingLeased) {
  fault_->TEST_fail_commits(1, core::Errc::kSpoolFull);
  std::vector<NewMessage> batch;
  batch.push_back(make_message());
  size_t admitted = 99, leased = 99;
  DirectLease direct;
  direct.admit = [](std::string_view) { return true; };
  direct.leased = [&](std::vector<Leased> l, size_t n) {
    leased = l.size();
    admitted = n;
  };
  auto results = enqueue_direct(*spool_, std::move(batch), std::move(direct));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].has_value());
  EXPECT_EQ(leased, 0u);
  EXPECT_EQ(admitted, 1u) << "the caller learns what it granted, to take it back";
  EXPECT_EQ(spool_->counts()->leased, 0u);
}

}  // namespace
}  // namespace queue::testing
