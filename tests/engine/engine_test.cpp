// tests/engine/engine_test.cpp: the Engine end to end over the in-memory
// spool, a ManualClock and a scripted transport (engine/engine.cpp,
// engine/dispatcher*.cpp).
//
// The io_context runs in its own thread; tests drive the dispatcher with
// TEST_poll(), which returns once the step's spool operations and the
// scripted transport's immediate answers are committed, so each test reads
// the spool right after it. No test asserts on real time: waits are bounded
// loops on observable state.
#include "engine/metrics.h"
#include "engine_fixture.h"

namespace engine {
namespace {

TEST_F(EngineTest, DeliveredAfterOneAttempt) {
  open(always("250 2.0.0 ok"));
  const core::TimePoint t0 = clock_.now();
  const core::Id id = submit_one(email_to("ann@example.com"));
  EXPECT_EQ(record(id).status, MessageStatus::kQueued);
  engine_->TEST_poll();

  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kDelivered);
  EXPECT_EQ(r.attempts, 1u);
  EXPECT_EQ(r.destination, "email:example.com");
  ASSERT_TRUE(r.last_reply.has_value());
  EXPECT_EQ(r.last_reply->code, 250);
  const auto calls = transport_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].attempt, 1u);
  EXPECT_EQ(calls[0].at, t0);
  const auto events = view(id).events;
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().status, MessageStatus::kDelivered);
  EXPECT_EQ(events.back().detail, "250 2.0.0 ok");
  EXPECT_EQ(events.back().attempt, 1u);
}

// 1 + 4 retries at the schedule's times, then failed with the last reply.
TEST_F(EngineTest, AlwaysTransientIsTriedFiveTimesOnScheduleThenFails) {
  open(always("451 4.7.1 try later"));
  const core::TimePoint t0 = clock_.now();
  const core::Id id = submit_one(email_to("ann@example.com"));
  engine_->TEST_poll();
  ASSERT_EQ(transport_->calls().size(), 1u);
  EXPECT_EQ(record(id).status, MessageStatus::kSending);
  EXPECT_EQ(record(id).attempts, 1u);

  const std::vector<Duration> schedule = {minutes(5), minutes(15), hours(1), hours(4)};
  std::vector<core::TimePoint> expected_at = {t0};
  for (size_t i = 0; i < schedule.size(); ++i) {
    EXPECT_EQ(record(id).due_at, clock_.now() + schedule[i]);
    // One millisecond early: nothing happens.
    clock_.advance(schedule[i] - Duration(1));
    engine_->TEST_poll();
    ASSERT_EQ(transport_->calls().size(), i + 1) << "retry " << i + 1 << " came early";
    clock_.advance(Duration(1));
    engine_->TEST_poll();
    ASSERT_EQ(transport_->calls().size(), i + 2) << "retry " << i + 1 << " did not come";
    expected_at.push_back(clock_.now());
  }

  const auto calls = transport_->calls();
  ASSERT_EQ(calls.size(), 5u);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].attempt, i + 1);
    EXPECT_EQ(calls[i].at, expected_at[i]);
  }
  EXPECT_EQ(expected_at.back() - t0, minutes(5 + 15 + 60 + 240));

  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kFailed);
  EXPECT_EQ(r.attempts, 5u);
  ASSERT_TRUE(r.bounce.has_value());
  EXPECT_EQ(r.bounce->category, "retries-exhausted");
  EXPECT_EQ(r.bounce->reply.code, 451);
  EXPECT_EQ(view(id).events.back().detail, "retries exhausted: 451 4.7.1 try later");

  // Nothing more, however long we wait.
  clock_.advance(hours(48));
  engine_->TEST_poll();
  EXPECT_EQ(transport_->calls().size(), 5u);
}

TEST_F(EngineTest, PermanentFailureFailsAtOnce) {
  open(always("550 5.1.1 user unknown"));
  const core::Id id = submit_one(email_to("nobody@example.com"));
  engine_->TEST_poll();
  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kFailed);
  EXPECT_EQ(r.attempts, 1u);
  ASSERT_TRUE(r.bounce.has_value());
  EXPECT_EQ(r.bounce->category, "bad-mailbox");
  EXPECT_EQ(view(id).events.back().detail, "550 5.1.1 user unknown");
  clock_.advance(hours(10));
  engine_->TEST_poll();
  EXPECT_EQ(transport_->calls().size(), 1u);
}

TEST_F(EngineTest, ExpiryBeforeTheNextRetryFailsExpired) {
  open(always("451 4.7.1 try later"));
  auto req = email_to("ann@example.com");
  req.expires_at = clock_.now() + minutes(10);
  const core::Id id = submit_one(std::move(req));
  engine_->TEST_poll();  // attempt 1; retry due at +5m, before expiry
  EXPECT_EQ(record(id).status, MessageStatus::kSending);
  clock_.advance(minutes(5));
  engine_->TEST_poll();  // attempt 2; the next retry (+15m) would be past expiry
  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kFailed);
  EXPECT_EQ(r.attempts, 2u);
  ASSERT_TRUE(r.bounce.has_value());
  EXPECT_EQ(r.bounce->category, "expired");
  EXPECT_EQ(view(id).events.back().detail, "expired: 451 4.7.1 try later");
  EXPECT_EQ(transport_->calls().size(), 2u);
}

TEST_F(EngineTest, ExpiredWhileWaitingIsNeverSent) {
  open(always("250 ok"));
  auto req = email_to("ann@example.com");
  req.send_at = clock_.now() + hours(1);
  req.expires_at = clock_.now() + minutes(30);
  const core::Id id = submit_one(std::move(req));
  clock_.advance(hours(1));
  engine_->TEST_poll();
  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kFailed);
  ASSERT_TRUE(r.bounce.has_value());
  EXPECT_EQ(r.bounce->category, "expired");
  EXPECT_TRUE(transport_->calls().empty());
}

TEST_F(EngineTest, SendAtInTheFutureWaits) {
  open(always("250 ok"));
  const core::TimePoint at = clock_.now() + hours(1);
  auto req = email_to("ann@example.com");
  req.send_at = at;
  const core::Id id = submit_one(std::move(req));
  engine_->TEST_poll();
  EXPECT_EQ(record(id).status, MessageStatus::kQueued);
  clock_.advance(minutes(59));
  engine_->TEST_poll();
  EXPECT_TRUE(transport_->calls().empty());
  clock_.advance(minutes(1));
  engine_->TEST_poll();
  EXPECT_EQ(record(id).status, MessageStatus::kDelivered);
  ASSERT_EQ(transport_->calls().size(), 1u);
  EXPECT_EQ(transport_->calls()[0].at, at);
}

// A destination whose transport never answers fills only its own slots.
TEST_F(EngineTest, SilentDestinationDoesNotHoldBackAnother) {
  config().engine.default_concurrency = 2;
  config().engine.batch_size = 1;
  open([](std::string_view address, uint32_t) -> std::optional<std::string> {
    if (address.ends_with("@slow.example")) return std::nullopt;  // never answers
    return "250 ok";
  });
  std::vector<core::MessageRequest> reqs;
  for (int i = 0; i < 5; ++i) reqs.push_back(email_to("s" + std::to_string(i) + "@slow.example"));
  for (int i = 0; i < 5; ++i) reqs.push_back(email_to("f" + std::to_string(i) + "@fast.example"));
  SubmitResult res = submit(std::move(reqs));
  ASSERT_EQ(res.items.size(), 10u);
  engine_->TEST_poll();

  for (size_t i = 5; i < 10; ++i) {
    EXPECT_EQ(record(res.items[i]->id).status, MessageStatus::kDelivered) << i;
  }
  EXPECT_EQ(transport_->held(), 2u);  // the slow destination's two slots
  const auto dests = engine_->destinations();
  const DestinationState* slow = find_destination(dests, "email:slow.example");
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->in_flight, 2u);
  EXPECT_EQ(slow->ready, 3u);
  EXPECT_EQ(slow->concurrency, 2u);

  // When the slow destination answers, the rest of its queue moves.
  EXPECT_EQ(transport_->answer_held("250 ok"), 2u);
  engine_->TEST_poll();
  EXPECT_EQ(transport_->held(), 2u);
  EXPECT_EQ(transport_->answer_held("250 ok"), 2u);
  engine_->TEST_poll();
  EXPECT_EQ(transport_->answer_held("250 ok"), 1u);
  engine_->TEST_poll();
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(record(res.items[i]->id).status, MessageStatus::kDelivered) << i;
  }
}

TEST_F(EngineTest, CancelWhileWaitingForRetry) {
  open(always("451 4.7.1 try later"));
  const core::Id id = submit_one(email_to("ann@example.com"));
  engine_->TEST_poll();
  EXPECT_EQ(record(id).status, MessageStatus::kSending);
  auto c = cancel(id);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(*c, MessageStatus::kCancelled);
  clock_.advance(hours(1));
  engine_->TEST_poll();
  EXPECT_EQ(record(id).status, MessageStatus::kCancelled);
  EXPECT_EQ(transport_->calls().size(), 1u);
}

TEST_F(EngineTest, CancelWhileQueued) {
  open(always("250 ok"));
  auto req = email_to("ann@example.com");
  req.send_at = clock_.now() + hours(1);
  const core::Id id = submit_one(std::move(req));
  auto c = cancel(id);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(*c, MessageStatus::kCancelled);
  clock_.advance(hours(2));
  engine_->TEST_poll();
  EXPECT_TRUE(transport_->calls().empty());
}

// A message leased but still waiting in a ready queue is not in a
// transport yet: cancel takes it out and cancels it.
TEST_F(EngineTest, CancelWhileInAReadyQueue) {
  config().engine.default_concurrency = 1;
  config().engine.batch_size = 1;
  open([](std::string_view, uint32_t) -> std::optional<std::string> { return std::nullopt; });
  const core::Id first = submit_one(email_to("a@slow.example"));
  const core::Id second = submit_one(email_to("b@slow.example"));
  engine_->TEST_poll();
  ASSERT_EQ(transport_->held(), 1u);
  ASSERT_EQ(transport_->calls()[0].id, first);

  auto c = cancel(second);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(*c, MessageStatus::kCancelled);
  // The one inside the transport cannot be cancelled.
  auto c1 = cancel(first);
  ASSERT_FALSE(c1.has_value());
  EXPECT_EQ(c1.error().code, core::Errc::kConflict);

  transport_->answer_held("250 ok");
  engine_->TEST_poll();
  EXPECT_EQ(record(first).status, MessageStatus::kDelivered);
  EXPECT_EQ(record(second).status, MessageStatus::kCancelled);
  EXPECT_EQ(transport_->calls().size(), 1u);
}

TEST_F(EngineTest, StopReleasesLeasesBackToQueued) {
  config().engine.default_concurrency = 1;
  config().engine.batch_size = 1;
  open([](std::string_view, uint32_t) -> std::optional<std::string> { return std::nullopt; });
  std::vector<core::Id> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(submit_one(email_to("u" + std::to_string(i) + "@slow.example")));
  engine_->TEST_poll();
  ASSERT_EQ(transport_->held(), 1u);  // one in flight, two ready
  {
    auto counts = spool_->counts();
    ASSERT_TRUE(counts.has_value());
    EXPECT_EQ(counts->leased, 3u);
  }

  stop();  // the grace (200ms) passes without an answer

  auto counts = spool_->counts();
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->leased, 0u);
  for (const auto& id : ids) {
    const auto r = record(id);
    EXPECT_EQ(r.status, MessageStatus::kQueued);
    EXPECT_EQ(r.attempts, 0u);
    EXPECT_FALSE(r.lease_until.has_value());
    EXPECT_LE(r.due_at, clock_.now());
  }
  // A late answer is ignored safely, and nothing is leased again.
  transport_->answer_held("250 ok");
  engine_->TEST_poll();
  for (const auto& id : ids) EXPECT_EQ(record(id).status, MessageStatus::kQueued);
  // A second stop completes at once.
  stop();
}

TEST_F(EngineTest, StopCommitsAnswersThatArriveWithinTheGrace) {
  config().engine.shutdown_grace = Duration(30'000);
  open([](std::string_view, uint32_t) -> std::optional<std::string> { return std::nullopt; });
  const core::Id id = submit_one(email_to("ann@example.com"));
  engine_->TEST_poll();
  ASSERT_EQ(transport_->held(), 1u);

  std::promise<void> stopped;
  auto f = stopped.get_future();
  engine_->stop([&stopped] { stopped.set_value(); });
  EXPECT_NE(f.wait_for(Duration(50)), std::future_status::ready);  // waits for the send
  transport_->answer_held("250 2.0.0 ok");
  ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(record(id).status, MessageStatus::kDelivered);
}

TEST_F(EngineTest, NoTransportForTheChannelWaitsQuietly) {
  open(always("250 ok"));  // serves email only
  core::MessageRequest req = email_to("");
  req.channels = {core::Channel::kTelegram};
  req.to.telegram_chat_id = "4242";
  const core::Id id = submit_one(std::move(req));
  EXPECT_EQ(record(id).destination, "telegram:default");
  engine_->TEST_poll();
  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kQueued);
  EXPECT_EQ(r.attempts, 0u);
  EXPECT_GE(r.due_at, clock_.now() + minutes(1));
  EXPECT_TRUE(transport_->calls().empty());
  // Before the delay nothing is leased again.
  const size_t events = view(id).events.size();
  clock_.advance(Duration(59'000));
  engine_->TEST_poll();
  EXPECT_EQ(view(id).events.size(), events);
}

TEST_F(EngineTest, PermanentFailureFallsBackToTheNextChannel) {
  open([](std::string_view address, uint32_t) -> std::optional<std::string> {
    if (address == "+380671234567") return "550 5.7.1 sms: recipient blocked";
    return "250 2.0.0 ok";
  });
  core::MessageRequest req = email_to("ann@example.com");
  req.channels = {core::Channel::kSms, core::Channel::kEmail};
  req.to.phone = "+380671234567";
  const core::Id id = submit_one(std::move(req));
  EXPECT_EQ(record(id).destination, "sms:default");
  // SMS refuses: on to email, due at once, so the same poll delivers it.
  engine_->TEST_poll();
  const auto r = record(id);
  EXPECT_EQ(r.channel_index, 1u);
  EXPECT_EQ(r.channel_attempt_base, 1u);
  EXPECT_EQ(r.destination, "email:example.com");
  EXPECT_EQ(r.status, MessageStatus::kDelivered);
  EXPECT_EQ(r.attempts, 2u);
  EXPECT_FALSE(r.bounce.has_value());
  const auto calls = transport_->calls_for(id);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].destination, "sms:default");
  EXPECT_EQ(calls[1].destination, "email:example.com");
  // The events tell the story, each with the channel it happened on.
  const auto events = view(id).events;
  ASSERT_GE(events.size(), 3u);
  const auto& fallback = events[events.size() - 2];
  EXPECT_EQ(fallback.status, MessageStatus::kSending);
  EXPECT_EQ(fallback.channel, core::Channel::kSms);
  EXPECT_NE(fallback.detail.find("sms failed: 550 5.7.1"), std::string::npos) << fallback.detail;
  EXPECT_NE(fallback.detail.find("next channel email"), std::string::npos) << fallback.detail;
  EXPECT_EQ(events.back().status, MessageStatus::kDelivered);
  EXPECT_EQ(events.back().channel, core::Channel::kEmail);
}

TEST_F(EngineTest, EachChannelGetsItsOwnRetryBudgetAndTheLastFailureIsFinal) {
  open([](std::string_view address, uint32_t) -> std::optional<std::string> {
    if (address == "+380671234567") return "451 4.3.0 sms provider down";
    return "550 5.1.1 no such user";
  });
  core::MessageRequest req = email_to("ann@example.com");
  req.channels = {core::Channel::kSms, core::Channel::kEmail};
  req.to.phone = "+380671234567";
  const core::Id id = submit_one(std::move(req));
  // 1 attempt + 4 retries on SMS; each retry is due after the schedule.
  for (int i = 0; i < 5; ++i) {
    engine_->TEST_poll();
    if (record(id).channel_index == 1) break;
    clock_.advance(hours(48));
  }
  engine_->TEST_poll();  // email (due at once) refuses permanently: nothing left, failed
  const auto r = record(id);
  ASSERT_EQ(r.channel_index, 1u);
  EXPECT_EQ(r.channel_attempt_base, 5u);  // all 5 SMS attempts were made first
  EXPECT_EQ(r.status, MessageStatus::kFailed);
  EXPECT_EQ(r.attempts, 6u);
  ASSERT_TRUE(r.bounce.has_value());
  EXPECT_EQ(r.bounce->reply.code, 550);
}

TEST_F(EngineTest, ChannelsWithoutATransportAreSkippedOnFallback) {
  open([](std::string_view, uint32_t) -> std::optional<std::string> {
    return "550 5.1.1 no such user";
  });
  core::MessageRequest req = email_to("ann@example.com");
  req.channels = {core::Channel::kEmail, core::Channel::kTelegram};  // nobody serves telegram
  req.to.telegram_chat_id = "4242";
  const core::Id id = submit_one(std::move(req));
  engine_->TEST_poll();
  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kFailed);
  EXPECT_EQ(r.channel_index, 0u);
}

TEST_F(EngineTest, SubmitChoosesChannelsAndKeepsRefusedItemsInPlace) {
  open(always("250 ok"));
  std::vector<core::MessageRequest> reqs;
  reqs.push_back(email_to("ann@example.com"));
  core::MessageRequest no_address = email_to("");
  no_address.channels = {core::Channel::kTelegram, core::Channel::kSms};
  reqs.push_back(std::move(no_address));
  core::MessageRequest fallback = email_to("Bob@Example.ORG");
  fallback.channels = {core::Channel::kTelegram, core::Channel::kEmail};
  reqs.push_back(std::move(fallback));

  SubmitResult res = submit(std::move(reqs));
  ASSERT_EQ(res.items.size(), 3u);
  ASSERT_TRUE(res.items[0].has_value());
  ASSERT_FALSE(res.items[1].has_value());
  EXPECT_EQ(res.items[1].error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(res.items[1].error().field, "channels");
  ASSERT_TRUE(res.items[2].has_value());
  const auto r = record(res.items[2]->id);
  EXPECT_EQ(r.channel_index, 1u);
  EXPECT_EQ(r.destination, "email:example.org");

  // Nothing routable: answered at once, nothing stored.
  std::vector<core::MessageRequest> bad;
  bad.push_back(email_to(""));
  SubmitResult none = submit(std::move(bad));
  ASSERT_EQ(none.items.size(), 1u);
  EXPECT_FALSE(none.items[0].has_value());
}

TEST_F(EngineTest, TransactionalGoesFirstWithinADestination) {
  config().engine.default_concurrency = 1;
  config().engine.batch_size = 10;
  open(always("250 ok"));
  auto bulk = email_to("bulk@example.com");
  bulk.priority = core::Priority::kBulk;
  auto tx = email_to("tx@example.com");
  tx.priority = core::Priority::kTransactional;
  const core::Id bulk_id = submit_one(std::move(bulk));
  const core::Id tx_id = submit_one(std::move(tx));
  engine_->TEST_poll();
  const auto calls = transport_->calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].id, tx_id);
  EXPECT_EQ(calls[1].id, bulk_id);
}

TEST_F(EngineTest, FullReadyQueueDefersInsteadOfLeasing) {
  config().engine.default_concurrency = 1;
  config().engine.batch_size = 1;
  config().engine.max_ready_per_destination = 2;
  open([](std::string_view, uint32_t) -> std::optional<std::string> { return std::nullopt; });
  std::vector<core::Id> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(submit_one(email_to("u" + std::to_string(i) + "@slow.example")));
  engine_->TEST_poll();
  // The first lease admits two (the queue was empty); one goes in flight,
  // which makes room for one more in the following lease.
  const auto dests = engine_->destinations();
  const DestinationState* slow = find_destination(dests, "email:slow.example");
  ASSERT_NE(slow, nullptr);
  EXPECT_LE(slow->ready, 2u);
  size_t waiting = 0;
  for (const auto& id : ids) {
    if (!record(id).lease_until) ++waiting;
  }
  EXPECT_GE(waiting, 2u);
}

// With start(), a submit wakes the dispatcher at once (or is leased as it
// is stored); no TEST_poll.
TEST_F(EngineTest, StartedEngineDeliversWithoutPolling) {
  config().engine.direct_lease = true;  // the default outside these tests
  open(always("250 ok"));
  engine_->start();
  const core::Id id = submit_one(email_to("ann@example.com"));
  for (int i = 0; i < 1000 && record(id).status != MessageStatus::kDelivered; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(record(id).status, MessageStatus::kDelivered);
  stop();
}

// Drives the dispatcher until it has nothing left to do, then waits
// (bounded) for the step after TEST_poll's last lease, which opens the
// direct-lease gate.
void settle_engine(Engine& engine) {
  engine.TEST_poll();
  for (int i = 0; i < 1000 && !engine.TEST_direct_lease_open(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(engine.TEST_direct_lease_open()) << "the direct-lease gate did not open";
}

// engine.direct_lease: a dispatcher that keeps up takes new mail from the
// enqueue itself (no lease transaction); it is delivered as usual, and the
// client is told "queued" as always.
TEST_F(EngineTest, NewMailIsLeasedAsItIsStored) {
  config().engine.direct_lease = true;
  open(always("250 ok"));
  settle_engine(*engine_);  // nothing due: the gate opens
  const uint64_t before = Metrics::get().direct_leased->value();
  std::vector<core::MessageRequest> reqs;
  for (int i = 0; i < 10; ++i) reqs.push_back(email_to("u" + std::to_string(i) + "@d.example"));
  SubmitResult res = submit(std::move(reqs));
  ASSERT_EQ(res.items.size(), 10u);
  for (const auto& item : res.items) {
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(item->status, MessageStatus::kQueued);
    // Leased as it was stored: never queued, already sending (or, as the
    // dispatcher takes it in on its own thread, maybe delivered).
    const MessageStatus s = record(item->id).status;
    EXPECT_TRUE(s == MessageStatus::kSending || s == MessageStatus::kDelivered) << static_cast<int>(s);
  }
  engine_->TEST_poll();
  // Counted when the dispatcher takes them in (on its strand, after the
  // submit has answered), so after the poll.
  EXPECT_EQ(Metrics::get().direct_leased->value() - before, 10u);
  for (const auto& item : res.items) {
    EXPECT_EQ(record(item->id).status, MessageStatus::kDelivered);
    const auto events = view(item->id).events;
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].status, MessageStatus::kQueued);
    EXPECT_EQ(events[1].status, MessageStatus::kSending);
    EXPECT_EQ(events[2].status, MessageStatus::kDelivered);
    EXPECT_EQ(transport_->calls_for(item->id).size(), 1u);
  }
}

// A destination whose ready queue is full gets no direct lease: its new
// mail waits in the spool like any other, while other destinations' mail
// still goes straight through.
TEST_F(EngineTest, DirectLeaseSkipsAFullDestination) {
  config().engine.direct_lease = true;
  config().engine.default_concurrency = 1;
  config().engine.batch_size = 1;
  config().engine.max_ready_per_destination = 2;
  open([](std::string_view address, uint32_t) -> std::optional<std::string> {
    if (address.ends_with("@slow.example")) return std::nullopt;  // never answers
    return "250 ok";
  });
  settle_engine(*engine_);
  const uint64_t before = Metrics::get().direct_leased->value();
  std::vector<core::MessageRequest> first;
  for (int i = 0; i < 3; ++i) first.push_back(email_to("s" + std::to_string(i) + "@slow.example"));
  submit(std::move(first));
  settle_engine(*engine_);
  EXPECT_EQ(Metrics::get().direct_leased->value() - before, 3u);
  const DestinationState* full = find_destination(engine_->destinations(), "email:slow.example");
  ASSERT_NE(full, nullptr);
  ASSERT_EQ(full->ready, 2u) << "one in flight, two ready: the queue is full";

  std::vector<core::Id> waiting;
  for (int i = 3; i < 6; ++i) {
    waiting.push_back(submit_one(email_to("s" + std::to_string(i) + "@slow.example")));
  }
  const core::Id fast = submit_one(email_to("f@fast.example"));
  // The fast one may go straight through, or (once the waiting ones have
  // woken a lease) queue behind them in the spool: never a slow one.
  EXPECT_LE(Metrics::get().direct_leased->value() - before, 4u);
  for (const core::Id& id : waiting) {
    const core::MessageRecord r = record(id);
    EXPECT_EQ(r.status, MessageStatus::kQueued);
    EXPECT_FALSE(r.lease_until);
  }
  engine_->TEST_poll();
  EXPECT_EQ(record(fast).status, MessageStatus::kDelivered);
  for (const core::Id& id : waiting) EXPECT_FALSE(record(id).lease_until) << "still full";
  full = find_destination(engine_->destinations(), "email:slow.example");
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(full->ready, 2u);
}

// A destination held by its throttle for an hour: mail that arrives for
// it stays in the spool, pushed back by at most a minute at a time (each
// push-back rewrites the record; a suspension lifted early by new rules
// must not leave it waiting for the old end).
TEST_F(EngineTest, HeldDestinationsSpooledMailIsPushedBackAMinuteAtATime) {
  core::ThrottleRule rule;
  rule.name = "slow";
  rule.domains = {"slow.example"};
  rule.limits.rate = core::Rate{1, std::chrono::hours(1)};
  rule.limits.burst = 1;
  config().throttle.rules.push_back(rule);
  open(always("250 ok"));
  const core::Id first = submit_one(email_to("a@slow.example"));
  const core::Id second = submit_one(email_to("b@slow.example"));
  engine_->TEST_poll();
  EXPECT_EQ(record(first).status, MessageStatus::kDelivered);
  // The bucket is empty for an hour: the destination is held, and what it
  // had ready went back to the spool, due when the hold ends.
  EXPECT_EQ(record(second).status, MessageStatus::kQueued);
  EXPECT_GT(record(second).due_at, clock_.now() + std::chrono::minutes(59));
  const core::Id third = submit_one(email_to("c@slow.example"));
  engine_->TEST_poll();
  const core::MessageRecord r = record(third);
  EXPECT_EQ(r.status, MessageStatus::kQueued);
  EXPECT_EQ(r.due_at, clock_.now() + std::chrono::minutes(1));
  EXPECT_EQ(view(third).events.size(), 1u) << "waiting is not an event";
}

TEST_F(EngineTest, ManyMessagesAcrossDestinationsAllFinish) {
  config().engine.batch_size = 7;
  config().engine.lease_batch = 50;
  config().engine.max_active = 120;
  open([](std::string_view address, uint32_t attempt) -> std::optional<std::string> {
    if (address.starts_with("flaky") && attempt == 1) return "451 4.7.1 later";
    if (address.starts_with("bad")) return "550 5.7.1 policy";
    return "250 ok";
  });
  std::vector<core::MessageRequest> reqs;
  for (int i = 0; i < 300; ++i) {
    const char* kind = i % 3 == 0 ? "flaky" : i % 3 == 1 ? "bad" : "good";
    reqs.push_back(email_to(std::string(kind) + std::to_string(i) + "@d" + std::to_string(i % 7) +
                            ".example"));
  }
  SubmitResult res = submit(std::move(reqs));
  engine_->TEST_poll();
  clock_.advance(minutes(5));
  engine_->TEST_poll();
  std::map<MessageStatus, int> by_status;
  for (const auto& item : res.items) {
    ASSERT_TRUE(item.has_value());
    ++by_status[record(item->id).status];
  }
  EXPECT_EQ(by_status[MessageStatus::kDelivered], 200);
  EXPECT_EQ(by_status[MessageStatus::kFailed], 100);
  EXPECT_EQ(transport_->calls().size(), 400u);
  auto counts = spool_->counts();
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->leased, 0u);
}

// Housekeeping timers run with start(): with lease_timeout 8s the
// maintenance tick comes every second. The manual clock moves the leases'
// time; the waits below are bounded loops on spool state.
class EngineTimersTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    config().spool.lease_timeout = std::chrono::seconds(8);
  }

  template <class Pred>
  bool eventually(Pred pred) {
    for (int i = 0; i < 1500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }
};

TEST_F(EngineTimersTest, StuckReadyMessagesAreReleasedAndSilentSendsAbandoned) {
  config().engine.default_concurrency = 1;
  config().engine.batch_size = 1;
  open([](std::string_view, uint32_t) -> std::optional<std::string> { return std::nullopt; });
  const core::Id first = submit_one(email_to("a@slow.example"));
  const core::Id second = submit_one(email_to("b@slow.example"));
  engine_->TEST_poll();
  ASSERT_EQ(transport_->held(), 1u);
  ASSERT_TRUE(record(second).lease_until.has_value());  // waiting in the ready queue
  engine_->start();

  // 5s into an 8s lease: less than half is left, so the waiting message is
  // given back rather than sent; the send (deadline at 6s) is still fine.
  clock_.advance(std::chrono::seconds(5));
  ASSERT_TRUE(eventually([&] { return !record(second).lease_until.has_value(); }));
  EXPECT_EQ(record(second).status, MessageStatus::kQueued);
  EXPECT_EQ(record(second).attempts, 0u);
  EXPECT_EQ(record(first).attempts, 0u);

  // 7s: the send is past its deadline; it counts as a transient failure.
  clock_.advance(std::chrono::seconds(2));
  ASSERT_TRUE(eventually([&] { return record(first).attempts == 1; }));
  const auto r = record(first);
  EXPECT_EQ(r.status, MessageStatus::kSending);
  EXPECT_FALSE(r.lease_until.has_value());
  EXPECT_EQ(view(first).events.back().detail,
            "no answer from the transport before the lease expired");

  // The late answer changes nothing.
  transport_->answer_held("250 ok");
  engine_->TEST_poll();
  EXPECT_EQ(record(first).status, MessageStatus::kSending);
  stop();
}

TEST_F(EngineTimersTest, ExpiredLeasesAreReclaimedAndDelivered) {
  open(always("250 ok"));
  const core::Id id = submit_one(email_to("ann@example.com"));
  // A lease taken by someone who then vanished (the engine never sees it).
  queue::LeaseRequest req;
  req.max = 10;
  auto lost = spool_->lease_sync(std::move(req));
  ASSERT_TRUE(lost.has_value());
  ASSERT_EQ(lost->size(), 1u);
  clock_.advance(std::chrono::seconds(9));
  engine_->start();
  ASSERT_TRUE(eventually([&] { return record(id).status == MessageStatus::kDelivered; }));
  ASSERT_EQ(transport_->calls().size(), 1u);
  stop();
}

TEST_F(EngineTimersTest, FinishedMessagesArePurgedAfterRetention) {
  open(always("250 ok"));
  const core::Id id = submit_one(email_to("ann@example.com"));
  engine_->TEST_poll();
  ASSERT_EQ(record(id).status, MessageStatus::kDelivered);
  clock_.advance(config().spool.retention + hours(1));
  engine_->start();  // purges at once, then every purge_interval
  ASSERT_TRUE(eventually([&] {
    auto v = spool_->get(id);
    return v.has_value() && !v->has_value();
  }));
  stop();
}

}  // namespace
}  // namespace engine
