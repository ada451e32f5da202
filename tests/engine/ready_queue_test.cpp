// tests/engine/ready_queue_test.cpp: per-destination ready queues and their
// round robin (engine/ready_queue.cpp).
#include "engine/ready_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace engine {
namespace {

queue::Leased item(std::string destination, core::Priority p, uint8_t tag) {
  queue::Leased l;
  std::array<uint8_t, core::Id::kBytes> b{};
  b[15] = tag;
  l.record.id = core::Id(b);
  l.record.destination = std::move(destination);
  l.record.request.priority = p;
  return l;
}

std::vector<int> tags(const std::vector<queue::Leased>& v) {
  std::vector<int> out;
  for (const auto& l : v) out.push_back(l.record.id.bytes()[15]);
  return out;
}

TEST(DestinationQueue, TakesInPriorityOrderFifoWithin) {
  DestinationQueue q("email:x", 4);
  q.push(item("email:x", core::Priority::kBulk, 1));
  q.push(item("email:x", core::Priority::kNormal, 2));
  q.push(item("email:x", core::Priority::kTransactional, 3));
  q.push(item("email:x", core::Priority::kNormal, 4));
  q.push(item("email:x", core::Priority::kTransactional, 5));
  EXPECT_EQ(q.ready(), 5u);
  EXPECT_EQ(tags(q.take(3)), (std::vector<int>{3, 5, 2}));
  EXPECT_EQ(tags(q.take(10)), (std::vector<int>{4, 1}));
  EXPECT_EQ(q.ready(), 0u);
}

TEST(DestinationQueue, RemoveAndRemoveIf) {
  DestinationQueue q("email:x", 4);
  for (uint8_t t = 1; t <= 4; ++t) q.push(item("email:x", core::Priority::kNormal, t));
  auto removed = q.remove(item("", core::Priority::kNormal, 3).record.id);
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(q.ready(), 3u);
  EXPECT_FALSE(q.remove(item("", core::Priority::kNormal, 3).record.id).has_value());
  auto odd = q.remove_if([](const queue::Leased& l) { return l.record.id.bytes()[15] % 2 == 1; });
  EXPECT_EQ(tags(odd), (std::vector<int>{1}));
  EXPECT_EQ(tags(q.take_all()), (std::vector<int>{2, 4}));
}

TEST(DestinationQueue, SlotsLimitSending) {
  DestinationQueue q("email:x", 2);
  EXPECT_FALSE(q.can_send());  // nothing ready
  q.push(item("email:x", core::Priority::kNormal, 1));
  EXPECT_TRUE(q.can_send());
  q.send_started(10);
  q.send_started(5);
  EXPECT_FALSE(q.can_send());
  EXPECT_EQ(q.messages_in_flight(), 15u);
  q.send_ended(10);
  EXPECT_TRUE(q.can_send());
  EXPECT_FALSE(q.idle());
}

TEST(ReadyQueues, RoundRobinServesEachDestinationInTurn) {
  ReadyQueues rq(1);
  for (uint8_t t = 1; t <= 3; ++t) rq.place(item("email:a", core::Priority::kNormal, t));
  for (uint8_t t = 11; t <= 12; ++t) rq.place(item("email:b", core::Priority::kNormal, t));
  rq.place(item("email:c", core::Priority::kNormal, 21));
  EXPECT_EQ(rq.total_ready(), 6u);

  std::vector<std::string> order;
  while (DestinationQueue* q = rq.next_runnable()) {
    order.push_back(q->name());
    auto batch = q->take(1);
    q->send_started(batch.size());
    rq.reschedule(*q);  // concurrency 1: not listed again until the send ends
  }
  EXPECT_EQ(order, (std::vector<std::string>{"email:a", "email:b", "email:c"}));

  // A slot frees on b only: only b is served, a stays blocked.
  rq.find("email:b")->send_ended(1);
  rq.reschedule(*rq.find("email:b"));
  DestinationQueue* q = rq.next_runnable();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->name(), "email:b");
  EXPECT_EQ(rq.next_runnable(), nullptr);
}

TEST(ReadyQueues, CountsSnapshotsAndErasesIdle) {
  ReadyQueues rq(3);
  rq.place(item("email:a", core::Priority::kNormal, 1));
  rq.place(item("email:a", core::Priority::kNormal, 2));
  rq.place(item("email:b", core::Priority::kNormal, 3));
  auto counts = rq.ready_counts();
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts["email:a"], 2u);

  DestinationQueue* b = rq.next_runnable();  // a
  b = rq.next_runnable();                    // b
  ASSERT_EQ(b->name(), "email:b");
  b->send_started(b->take(5).size());
  auto snap = rq.snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].destination, "email:a");
  EXPECT_EQ(snap[0].ready, 2u);
  EXPECT_EQ(snap[1].destination, "email:b");
  EXPECT_EQ(snap[1].ready, 0u);
  EXPECT_EQ(snap[1].in_flight, 1u);
  EXPECT_EQ(snap[1].concurrency, 3u);

  b->send_ended(1);
  rq.find("email:a")->take_all();
  rq.erase_idle();
  EXPECT_EQ(rq.size(), 0u);
}

}  // namespace
}  // namespace engine
