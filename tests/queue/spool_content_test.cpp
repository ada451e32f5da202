// tests/queue/spool_content_test.cpp: content stored once for several
// messages (NewMessage::content_of) and raw injected mail: what is written
// to the content table, what get() and lease() return for each sharer, the
// refs count through idempotency duplicates, and purge deleting the content
// exactly with its last sharer (queue/FORMAT.md invariant 6).
#include <chrono>

#include "queue/record_format.h"
#include "spool_fixture.h"

namespace queue::testing {
namespace {

using core::MessageStatus;
using namespace std::chrono_literals;

// The content table as stored: content id -> refs.
std::map<core::Id, uint64_t> content_table(const Store& store) {
  std::map<core::Id, uint64_t> out;
  auto st = store.read([&](ReadTxn& txn) -> core::Status {
    format::RecordCodec codec;
    core::Status inner;
    auto s = txn.scan(Table::kContent, {}, {}, [&](std::string_view k, std::string_view v) {
      uint64_t refs = 0;
      core::Content c;
      if (auto d = codec.decode(v, &c, &refs); !d) {
        inner = d;
        return false;
      }
      out[core::Id::from_bytes(k)] = refs;
      return true;
    });
    if (!s) return s;
    return inner;
  });
  EXPECT_TRUE(st) << (st ? "" : st.error().to_string());
  return out;
}

NewMessage raw_message(std::string email, std::string raw) {
  NewMessage m = make_message(std::move(email));
  m.request.content = core::Content{};
  m.request.content.raw = std::move(raw);
  return m;
}

NewMessage sharer(std::string email, uint32_t content_of) {
  NewMessage m = make_message(std::move(email));
  m.request.content = core::Content{};
  m.content_of = content_of;
  return m;
}

const std::string kRaw =
    "From: shop@marketplace.test\r\nSubject: Paid\r\n\r\nYour order is paid.\r\n";

class SpoolContentTest : public SpoolTest {
 protected:
  std::vector<core::Id> enqueue_all(std::vector<NewMessage> batch) {
    std::vector<core::Id> out;
    for (auto& r : spool_->enqueue_sync("school", std::move(batch))) {
      EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
      if (!r) continue;
      out.push_back(r->id);
      if (!r->duplicate) ids_seen_.push_back(r->id);
    }
    return out;
  }
  std::map<core::Id, uint64_t> contents() { return content_table(*fault_); }
  core::Content content_of(const core::Id& id) {
    auto v = spool_->get(id, false);
    EXPECT_TRUE(v.has_value() && v->has_value());
    return v && *v ? (*v)->content : core::Content{};
  }
};

TEST_F(SpoolContentTest, RawContentRoundTrips) {
  const core::Id id = enqueue_one(raw_message("anna@example.com", kRaw));
  const core::Content c = content_of(id);
  EXPECT_EQ(c.raw, kRaw);
  EXPECT_TRUE(c.html.empty() && c.subject.empty());
  auto leased = lease();
  ASSERT_EQ(leased.size(), 1u);
  ASSERT_NE(leased[0].content, nullptr);
  EXPECT_EQ(leased[0].content->raw, kRaw);
  EXPECT_EQ(contents(), (std::map<core::Id, uint64_t>{{id, 1}}));
}

TEST_F(SpoolContentTest, SharedContentIsWrittenOnceAndReadByEverySharer) {
  std::vector<NewMessage> batch;
  batch.push_back(raw_message("anna@example.com", kRaw));
  batch.push_back(sharer("bob@example.org", 0));
  batch.push_back(sharer("carl@example.net", 0));
  const std::vector<core::Id> ids = enqueue_all(std::move(batch));
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);

  EXPECT_EQ(contents(), (std::map<core::Id, uint64_t>{{ids[0], 3}}));
  for (const core::Id& id : ids) {
    EXPECT_EQ(record(id).content_id, ids[0]);
    EXPECT_EQ(content_of(id).raw, kRaw);
  }
  EXPECT_EQ(record(ids[2]).request.to.email, "carl@example.net") << "each keeps its recipient";

  auto leased = lease();
  ASSERT_EQ(leased.size(), 3u);
  for (const Leased& l : leased) {
    ASSERT_NE(l.content, nullptr);
    EXPECT_EQ(l.content->raw, kRaw);
    EXPECT_EQ(l.content, leased[0].content) << "one object for one stored content";
  }
  expect_counters_match();
}

TEST_F(SpoolContentTest, SharersLeasedSeparatelyEachGetTheContent) {
  std::vector<NewMessage> batch;
  batch.push_back(make_message("anna@example.com"));
  batch.push_back(sharer("bob@example.org", 0));
  const std::vector<core::Id> ids = enqueue_all(std::move(batch));
  ASSERT_EQ(ids.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    auto leased = lease(1);
    ASSERT_EQ(leased.size(), 1u);
    ASSERT_NE(leased[0].content, nullptr);
    EXPECT_EQ(leased[0].content->html, "<p>Paid</p>");
    EXPECT_EQ(leased[0].content->subject, "Your order");
  }
}

TEST_F(SpoolContentTest, PurgeDeletesSharedContentWithItsLastSharer) {
  std::vector<NewMessage> batch;
  batch.push_back(raw_message("anna@example.com", kRaw));
  batch.push_back(sharer("bob@example.org", 0));
  batch.push_back(sharer("carl@example.net", 0));
  const std::vector<core::Id> ids = enqueue_all(std::move(batch));
  ASSERT_EQ(ids.size(), 3u);
  // Finish them one after another so that purge takes them in this order,
  // the owner first: the content must outlive the message that carried it.
  auto leased = lease();
  ASSERT_EQ(leased.size(), 3u);
  for (const Leased& l : leased) {
    apply(delivered(l));
    clock_.advance(1s);
  }
  clock_.advance(config_.retention);

  for (uint64_t left = 2; left >= 1; --left) {
    ASSERT_EQ(spool_->purge_sync(1).value(), 1u);
    EXPECT_EQ(contents(), (std::map<core::Id, uint64_t>{{ids[0], left}}));
    EXPECT_EQ(content_of(ids[3 - left]).raw, kRaw) << "the remaining sharers still read it";
  }
  ASSERT_EQ(spool_->purge_sync(1).value(), 1u);
  EXPECT_TRUE(contents().empty()) << "gone with the last sharer";
  for (const core::Id& id : ids) EXPECT_FALSE(spool_->get(id).value().has_value());
  ids_seen_.clear();
  expect_counters_match();
}

TEST_F(SpoolContentTest, ContentOfRules) {
  std::vector<NewMessage> batch;
  batch.push_back(make_message("a@example.com"));  // 0: owner
  batch.push_back(sharer("b@example.com", 1));     // 1: itself
  batch.push_back(sharer("c@example.com", 7));     // 2: later / outside
  batch.push_back(make_message("d@example.com"));  // 3: refused
  batch.back().initial_status = MessageStatus::kDelivered;
  batch.push_back(sharer("e@example.com", 3));  // 4: shares a refused item
  batch.push_back(sharer("f@example.com", 0));  // 5: carries content of its own
  batch.back().request.content.text = "mine";
  batch.push_back(sharer("g@example.com", 0));  // 6: refused for itself
  batch.back().channel_index = 3;
  batch.push_back(sharer("h@example.com", 0));  // 7: fine
  batch.push_back(sharer("i@example.com", 7));  // 8: a sharer of a sharer
  auto r = spool_->enqueue_sync("school", std::move(batch));
  ASSERT_EQ(r.size(), 9u);
  for (size_t i : {1, 2, 4, 5}) {
    ASSERT_FALSE(r[i]) << i;
    EXPECT_EQ(r[i].error().code, core::Errc::kInvalidArgument) << i;
    EXPECT_EQ(r[i].error().field, "content_of") << i;
  }
  EXPECT_NE(r[4].error().message.find("item 3"), std::string::npos) << r[4].error().message;
  ASSERT_FALSE(r[3]);
  EXPECT_EQ(r[3].error().field, "initial_status");
  ASSERT_FALSE(r[6]);
  EXPECT_EQ(r[6].error().field, "channels");
  ASSERT_TRUE(r[0] && r[7] && r[8]);
  for (size_t i : {0, 7, 8}) {
    ids_seen_.push_back(r[i]->id);
    EXPECT_EQ(record(r[i]->id).content_id, r[0]->id) << i;
    EXPECT_EQ(content_of(r[i]->id).text, "Paid") << i;
  }
  EXPECT_EQ(contents(), (std::map<core::Id, uint64_t>{{r[0]->id, 3}}))
      << "refs count the stored messages only";
  expect_counters_match();
}

TEST_F(SpoolContentTest, UnsharedAndSharedItemsMixInOneBatch) {
  std::vector<NewMessage> batch;
  batch.push_back(raw_message("a@example.com", kRaw));  // owner of 2 and 4
  batch.push_back(make_message("b@example.com"));       // its own
  batch.push_back(sharer("c@example.com", 0));
  batch.push_back(make_message("d@example.com"));  // owner of 5
  batch.back().request.content.text = "second";
  batch.push_back(sharer("e@example.com", 0));
  batch.push_back(sharer("f@example.com", 3));
  const std::vector<core::Id> ids = enqueue_all(std::move(batch));
  ASSERT_EQ(ids.size(), 6u);
  EXPECT_EQ(contents(), (std::map<core::Id, uint64_t>{{ids[0], 3}, {ids[1], 1}, {ids[3], 2}}));
  EXPECT_EQ(content_of(ids[4]).raw, kRaw);
  EXPECT_EQ(content_of(ids[1]).text, "Paid");
  EXPECT_EQ(content_of(ids[5]).text, "second");
  EXPECT_EQ(record(ids[5]).content_id, ids[3]);
  expect_counters_match();
}

// An idempotency duplicate stores nothing, so it is not counted; when the
// item carrying the content is itself a duplicate, the content is still
// stored for the sharers that are new.
TEST_F(SpoolContentTest, DuplicatesAreNotCountedAndADuplicateOwnerStillCarries) {
  auto keyed = [](NewMessage m, std::string key) {
    m.request.idempotency_key = std::move(key);
    return m;
  };
  std::vector<NewMessage> first;
  first.push_back(keyed(raw_message("a@example.com", kRaw), "k-a"));
  first.push_back(keyed(sharer("b@example.com", 0), "k-b"));
  const std::vector<core::Id> ids = enqueue_all(std::move(first));
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(contents(), (std::map<core::Id, uint64_t>{{ids[0], 2}}));

  // The same again: all duplicates, nothing stored, not even the content.
  std::vector<NewMessage> again;
  again.push_back(keyed(raw_message("a@example.com", kRaw), "k-a"));
  again.push_back(keyed(sharer("b@example.com", 0), "k-b"));
  auto r = spool_->enqueue_sync("school", std::move(again));
  ASSERT_TRUE(r[0] && r[1]);
  EXPECT_TRUE(r[0]->duplicate && r[1]->duplicate);
  EXPECT_EQ(r[0]->id, ids[0]);
  EXPECT_EQ(r[1]->id, ids[1]);
  EXPECT_EQ(contents(), (std::map<core::Id, uint64_t>{{ids[0], 2}}));

  // The owner and one sharer are known, two sharers are new.
  std::vector<NewMessage> more;
  more.push_back(keyed(raw_message("a@example.com", kRaw), "k-a"));
  more.push_back(keyed(sharer("b@example.com", 0), "k-b"));
  more.push_back(keyed(sharer("c@example.com", 0), "k-c"));
  more.push_back(sharer("d@example.com", 1));
  r = spool_->enqueue_sync("school", std::move(more));
  ASSERT_EQ(r.size(), 4u);
  ASSERT_TRUE(r[0] && r[1] && r[2] && r[3]);
  EXPECT_TRUE(r[0]->duplicate && r[1]->duplicate);
  EXPECT_FALSE(r[2]->duplicate || r[3]->duplicate);
  ids_seen_.push_back(r[2]->id);
  ids_seen_.push_back(r[3]->id);
  const core::Id shared = record(r[2]->id).content_id;
  EXPECT_EQ(record(r[3]->id).content_id, shared);
  EXPECT_NE(shared, ids[0]) << "a content of its own, under the duplicate owner's fresh id";
  EXPECT_FALSE(spool_->get(shared).value().has_value()) << "that id names no message";
  EXPECT_EQ(contents(), (std::map<core::Id, uint64_t>{{ids[0], 2}, {shared, 2}}));
  EXPECT_EQ(content_of(r[2]->id).raw, kRaw);
  EXPECT_EQ(content_of(r[3]->id).raw, kRaw);
  expect_counters_match();

  // Purging them deletes it like any other.
  for (const Leased& l : lease()) apply(delivered(l));
  clock_.advance(config_.retention + 1ms);
  EXPECT_EQ(spool_->purge_sync(100).value(), 4u);
  EXPECT_TRUE(contents().empty());
}

// Over LMDB, a batch larger than the map makes the transaction run again
// after the map grows; the refs must not be counted twice.
TEST(SpoolContentLmdbTest, SharedContentSurvivesMapGrowthAndReopen) {
  TempDir dir;
  core::SpoolConfig config;
  config.path = dir.sub("spool");
  config.map_size_initial = 1ull << 20;
  config.min_free_bytes = 0;
  core::ManualClock clock;
  core::IdGenerator ids{clock};
  LmdbOptions o;
  o.path = config.path;
  o.map_size_initial = config.map_size_initial;
  o.map_size_max = config.map_size_max;
  auto open = [&]() -> std::unique_ptr<Spool> {
    auto store = open_lmdb_store(o);
    EXPECT_TRUE(store.has_value()) << store.error().to_string();
    if (!store) return nullptr;
    auto s = Spool::open(config, std::move(*store), clock, ids);
    EXPECT_TRUE(s.has_value()) << s.error().to_string();
    return s ? std::move(*s) : nullptr;
  };
  // The content table read straight from the store (the spool is closed).
  auto stored_contents = [&]() {
    auto store = open_lmdb_store(o);
    EXPECT_TRUE(store.has_value()) << store.error().to_string();
    return store ? content_table(**store) : std::map<core::Id, uint64_t>{};
  };

  auto spool = open();
  ASSERT_NE(spool, nullptr);
  const std::string big = "Subject: big\r\n\r\n" + std::string(3u << 20, 'x') + "\r\n";
  std::vector<NewMessage> batch;
  batch.push_back(raw_message("a@example.com", big));
  for (int i = 0; i < 20; ++i) batch.push_back(sharer("r" + std::to_string(i) + "@example.com", 0));
  std::vector<core::Id> stored;
  for (auto& r : spool->enqueue_sync("school", std::move(batch))) {
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    stored.push_back(r->id);
  }
  EXPECT_GT(spool->stats().store.map_grows, 0u) << "the test must exercise a second run";
  spool.reset();
  EXPECT_EQ(stored_contents(), (std::map<core::Id, uint64_t>{{stored.front(), 21}}));

  spool = open();
  ASSERT_NE(spool, nullptr);
  for (const core::Id& id : {stored.front(), stored.back()}) {
    auto v = spool->get(id, false);
    ASSERT_TRUE(v.has_value() && v->has_value());
    EXPECT_EQ((*v)->record.content_id, stored.front());
    EXPECT_EQ((*v)->content.raw, big);
  }
  auto leased = spool->lease_sync(LeaseRequest{});
  ASSERT_TRUE(leased.has_value());
  ASSERT_EQ(leased->size(), stored.size());
  std::vector<Transition> done;
  for (const Leased& l : *leased) {
    EXPECT_EQ(l.content->raw.size(), big.size());
    Transition t;
    t.id = l.record.id;
    t.lease_gen = l.record.lease_gen;
    t.status = MessageStatus::kDelivered;
    done.push_back(t);
  }
  ASSERT_EQ(spool->apply_sync(std::move(done)).value(), 0u);
  clock.advance(config.retention + 1ms);
  ASSERT_EQ(spool->purge_sync(100).value(), stored.size());
  spool.reset();
  EXPECT_TRUE(stored_contents().empty());
}

}  // namespace
}  // namespace queue::testing
