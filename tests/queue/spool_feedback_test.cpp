// tests/queue/spool_feedback_test.cpp: Spool::apply_feedback and the
// suppression reads — entries match by channel or "*" and category or "*",
// removal honours its filters, soft bounces suppress at the limit within
// the window, a DSN fails a delivered message once, a complaint marks it
// complained, inbound reports are kept until done, and everything survives
// a reopen (LMDB), the in-memory filter included.
#include <gtest/gtest.h>

#include "spool_fixture.h"

namespace queue::testing {
namespace {

using core::MessageStatus;
using core::SuppressionReason;
using Kind = Feedback::Kind;
using namespace std::chrono_literals;

core::Suppression entry(std::string channel, std::string address, std::string category,
                        SuppressionReason reason = SuppressionReason::kManual,
                        std::string tenant = "school") {
  core::Suppression s;
  s.tenant = std::move(tenant);
  s.channel = std::move(channel);
  s.address = std::move(address);
  s.category = std::move(category);
  s.reason = reason;
  s.detail = "test";
  return s;
}

Feedback suppress(core::Suppression s) {
  Feedback f;
  f.kind = Kind::kSuppress;
  f.suppression = std::move(s);
  return f;
}

class SpoolFeedbackTest : public SpoolTest {
 protected:
  std::vector<FeedbackOutcome> feedback(std::vector<Feedback> items) {
    auto r = spool_->apply_feedback_sync(std::move(items));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
    return r ? *r : std::vector<FeedbackOutcome>{};
  }
  std::optional<core::Suppression> find(std::string_view channel, std::string_view address,
                                        std::string_view category,
                                        std::string_view tenant = "school") {
    auto r = spool_->find_suppression(tenant, channel, address, category);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
    return r ? *r : std::nullopt;
  }
  core::Id delivered_message() {
    const core::Id id = enqueue_one(make_message());
    auto leased = lease();
    EXPECT_EQ(leased.size(), 1u);
    EXPECT_EQ(apply(delivered(leased.at(0))), 0u);
    return id;
  }
};

TEST_F(SpoolFeedbackTest, EntriesMatchByChannelOrAnyAndCategoryOrAny) {
  EXPECT_FALSE(find("email", "anna@example.com", "marketing"));
  feedback({suppress(entry("email", "anna@example.com", "marketing",
                           SuppressionReason::kUnsubscribed))});
  auto s = find("email", "anna@example.com", "marketing");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, SuppressionReason::kUnsubscribed);
  EXPECT_EQ(s->category, "marketing");
  EXPECT_EQ(s->detail, "test");
  // A marketing unsubscribe does not stop transactional mail, another
  // channel, another tenant or another address.
  EXPECT_FALSE(find("email", "anna@example.com", "notifications"));
  EXPECT_FALSE(find("telegram", "anna@example.com", "marketing"));
  EXPECT_FALSE(find("email", "anna@example.com", "marketing", "other-tenant"));
  EXPECT_FALSE(find("email", "bob@example.com", "marketing"));

  feedback({suppress(entry("email", "anna@example.com", "*", SuppressionReason::kComplaint))});
  s = find("email", "anna@example.com", "notifications");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, SuppressionReason::kComplaint);
  // The exact category is found first.
  EXPECT_EQ(find("email", "anna@example.com", "marketing")->reason,
            SuppressionReason::kUnsubscribed);

  feedback({suppress(entry("*", "+380671234567", "*"))});
  EXPECT_TRUE(find("sms", "+380671234567", "notifications"));
  EXPECT_TRUE(find("whatsapp", "+380671234567", "marketing"));
}

TEST_F(SpoolFeedbackTest, RemovalByCategoryAllCategoriesOrReason) {
  feedback({suppress(entry("email", "a@x.test", "marketing", SuppressionReason::kUnsubscribed)),
            suppress(entry("email", "a@x.test", "news", SuppressionReason::kUnsubscribed)),
            suppress(entry("email", "a@x.test", "*", SuppressionReason::kManual))});
  Feedback one;
  one.kind = Kind::kUnsuppress;
  one.suppression = entry("email", "a@x.test", "news");
  auto out = feedback({one});
  EXPECT_EQ(out.at(0).removed, 1u);
  EXPECT_EQ(find("email", "a@x.test", "news")->category, "*");

  Feedback by_reason;
  by_reason.kind = Kind::kUnsuppress;
  by_reason.suppression = entry("email", "a@x.test", "");
  by_reason.only_reason = SuppressionReason::kUnsubscribed;
  out = feedback({by_reason});
  EXPECT_EQ(out.at(0).removed, 1u);  // marketing; the manual "*" stays
  EXPECT_EQ(find("email", "a@x.test", "marketing")->reason, SuppressionReason::kManual);

  Feedback all;
  all.kind = Kind::kUnsuppress;
  all.suppression = entry("email", "a@x.test", "");
  out = feedback({all});
  EXPECT_EQ(out.at(0).removed, 1u);
  EXPECT_FALSE(find("email", "a@x.test", "marketing"));
  out = feedback({all});
  EXPECT_EQ(out.at(0).removed, 0u);
  EXPECT_FALSE(out.at(0).applied);
}

TEST_F(SpoolFeedbackTest, AHardBounceDoesNotDowngradeAComplaint) {
  feedback({suppress(entry("email", "a@x.test", "*", SuppressionReason::kComplaint))});
  feedback({suppress(entry("email", "a@x.test", "*", SuppressionReason::kHardBounce))});
  EXPECT_EQ(find("email", "a@x.test", "x")->reason, SuppressionReason::kComplaint);
  // An unsubscribe entry is upgraded by a hard bounce.
  feedback({suppress(entry("email", "b@x.test", "*", SuppressionReason::kUnsubscribed))});
  feedback({suppress(entry("email", "b@x.test", "*", SuppressionReason::kHardBounce))});
  EXPECT_EQ(find("email", "b@x.test", "x")->reason, SuppressionReason::kHardBounce);
}

TEST_F(SpoolFeedbackTest, ListingPagesFiltersAndKeepsTenantsApart) {
  std::vector<Feedback> items;
  for (int i = 0; i < 5; ++i) {
    items.push_back(suppress(entry("email", "u" + std::to_string(i) + "@x.test", "*")));
  }
  items.push_back(suppress(entry("sms", "+380671234567", "marketing")));
  items.push_back(suppress(entry("email", "z@x.test", "*", SuppressionReason::kManual, "other")));
  feedback(std::move(items));

  SuppressionQuery q;
  q.tenant = "school";
  q.limit = 4;
  auto page1 = spool_->list_suppressions(q);
  ASSERT_TRUE(page1.has_value());
  ASSERT_EQ(page1->size(), 4u);
  EXPECT_EQ(page1->front().address, "u0@x.test");
  q.after = page1->back();
  auto page2 = spool_->list_suppressions(q);
  ASSERT_TRUE(page2.has_value());
  ASSERT_EQ(page2->size(), 2u);
  EXPECT_EQ(page2->at(0).address, "u4@x.test");
  EXPECT_EQ(page2->at(1).channel, "sms");

  SuppressionQuery by_address;
  by_address.tenant = "school";
  by_address.address = "u3@x.test";
  auto one = spool_->list_suppressions(by_address);
  ASSERT_TRUE(one.has_value());
  ASSERT_EQ(one->size(), 1u);

  SuppressionQuery by_channel;
  by_channel.tenant = "school";
  by_channel.channel = "sms";
  ASSERT_EQ(spool_->list_suppressions(by_channel)->size(), 1u);

  SuppressionQuery other;
  other.tenant = "other";
  auto o = spool_->list_suppressions(other);
  ASSERT_EQ(o->size(), 1u);
  EXPECT_EQ(o->at(0).tenant, "other");
}

TEST_F(SpoolFeedbackTest, SoftBouncesSuppressAtTheLimitWithinTheWindow) {
  Feedback soft;
  soft.kind = Kind::kSoftBounce;
  soft.suppression = entry("email", "full@x.test", "*", SuppressionReason::kHardBounce);
  soft.soft_limit = 3;
  soft.soft_window = 24h;
  EXPECT_FALSE(feedback({soft}).at(0).suppressed);
  EXPECT_FALSE(feedback({soft}).at(0).suppressed);
  // The window passes: counting starts again.
  clock_.advance(25h);
  EXPECT_FALSE(feedback({soft}).at(0).suppressed);
  EXPECT_FALSE(feedback({soft}).at(0).suppressed);
  EXPECT_FALSE(find("email", "full@x.test", "notifications"));
  EXPECT_TRUE(feedback({soft}).at(0).suppressed);
  EXPECT_TRUE(find("email", "full@x.test", "notifications"));
}

TEST_F(SpoolFeedbackTest, ABounceFailsADeliveredMessageOnce) {
  const core::Id id = delivered_message();
  Feedback b;
  b.kind = Kind::kBounced;
  b.id = id;
  b.detail = "DSN: 550 5.1.1 user unknown";
  b.bounce = core::Bounce{"bad-mailbox", {550, "5.1.1", "user unknown"}};
  auto out = feedback({b, b});
  EXPECT_TRUE(out.at(0).applied);
  EXPECT_EQ(out.at(0).status, MessageStatus::kFailed);
  EXPECT_EQ(out.at(0).tenant, "school");
  EXPECT_FALSE(out.at(1).applied);  // the second DSN changes nothing
  const auto r = record(id);
  EXPECT_EQ(r.status, MessageStatus::kFailed);
  ASSERT_TRUE(r.bounce);
  EXPECT_EQ(r.bounce->category, "bad-mailbox");
  EXPECT_EQ(events(id).back().detail, "DSN: 550 5.1.1 user unknown");
  expect_counters_match();
}

TEST_F(SpoolFeedbackTest, AComplaintMarksTheMessageComplained) {
  const core::Id id = delivered_message();
  Feedback c;
  c.kind = Kind::kComplained;
  c.id = id;
  c.detail = "complaint (abuse) from yahoo";
  auto out = feedback({c, c});
  EXPECT_EQ(out.at(0).status, MessageStatus::kComplained);
  EXPECT_FALSE(out.at(1).applied);
  EXPECT_EQ(record(id).status, MessageStatus::kComplained);
  expect_counters_match();
}

TEST_F(SpoolFeedbackTest, NotesAndUnknownMessages) {
  const core::Id queued = enqueue_one(make_message());
  Feedback note;
  note.kind = Kind::kNote;
  note.id = queued;
  note.detail = "DSN: delayed";
  Feedback bounce_queued = note;
  bounce_queued.kind = Kind::kBounced;
  Feedback unknown = note;
  unknown.id = ids_.next();
  auto out = feedback({note, bounce_queued, unknown});
  EXPECT_TRUE(out.at(0).applied);
  EXPECT_EQ(out.at(0).status, MessageStatus::kQueued);
  // A bounce for a message not delivered yet is only noted.
  EXPECT_EQ(out.at(1).status, MessageStatus::kQueued);
  EXPECT_FALSE(out.at(2).applied);
  EXPECT_FALSE(out.at(2).status);
  EXPECT_EQ(record(queued).status, MessageStatus::kQueued);
  EXPECT_EQ(events(queued).back().detail, "DSN: delayed");
  expect_counters_match();
}

TEST_F(SpoolFeedbackTest, InboundReportsStayUntilDone) {
  Feedback store;
  store.kind = Kind::kInboundStore;
  store.inbound.mail_from = "";
  store.inbound.rcpt_to = {"bounce-abc@bounces.test"};
  store.inbound.client_ip = "192.0.2.1";
  store.inbound.data = "From: MAILER-DAEMON\r\n\r\nbody\r\n";
  auto out = feedback({store, store});
  ASSERT_EQ(out.size(), 2u);
  const core::Id first = out[0].id;
  EXPECT_NE(first, out[1].id);
  auto pending = spool_->pending_inbound(10);
  ASSERT_TRUE(pending.has_value());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ(pending->at(0).id, first);
  EXPECT_EQ(pending->at(0).rcpt_to.at(0), "bounce-abc@bounces.test");
  EXPECT_EQ(pending->at(0).data, store.inbound.data);
  Feedback done;
  done.kind = Kind::kInboundDone;
  done.id = first;
  EXPECT_TRUE(feedback({done}).at(0).applied);
  EXPECT_EQ(spool_->pending_inbound(10)->size(), 1u);
  EXPECT_EQ(spool_->pending_inbound(1)->size(), 1u);
}

TEST_F(SpoolFeedbackTest, AFailedCommitChangesNothing) {
  fault_->TEST_fail_commits(1, core::Errc::kIoError);
  auto r = spool_->apply_feedback_sync({suppress(entry("email", "a@x.test", "*"))});
  EXPECT_FALSE(r.has_value());
  EXPECT_FALSE(find("email", "a@x.test", "notifications"));
}

TEST(SpoolFeedbackLmdbTest, SuppressionsAndInboundSurviveReopen) {
  TempDir dir;
  core::SpoolConfig config;
  config.path = dir.sub("spool");
  core::ManualClock clock;
  core::IdGenerator ids{clock};
  auto open = [&] {
    LmdbOptions o;
    o.path = config.path;
    auto store = open_lmdb_store(o);
    EXPECT_TRUE(store.has_value());
    auto s = Spool::open(config, std::move(*store), clock, ids);
    EXPECT_TRUE(s.has_value());
    return std::move(*s);
  };
  {
    auto spool = open();
    Feedback in;
    in.kind = Kind::kInboundStore;
    in.inbound.data = "x";
    ASSERT_TRUE(spool->apply_feedback_sync({suppress(entry("email", "a@x.test", "*")), in}));
  }
  auto spool = open();
  auto s = spool->find_suppression("school", "email", "a@x.test", "notifications");
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->has_value());  // the filter was rebuilt from the store
  EXPECT_EQ(spool->pending_inbound(10)->size(), 1u);
}

}  // namespace
}  // namespace queue::testing
