// tests/engine/inject_test.cpp: mail injected over SMTP (engine/inject.h)
// into the spool and out through the sink transport, and the engine's
// rules for raw content (engine/engine.cpp, engine/dispatcher.cpp).
#include "engine/inject.h"

#include <atomic>
#include <functional>

#include "engine_fixture.h"
#include "templating/mime.h"

namespace engine {
namespace {

// The sink transport, recording what each delivery carried.
class RecordingSink final : public transports::Transport {
 public:
  explicit RecordingSink(std::shared_ptr<transports::Transport> sink) : sink_(std::move(sink)) {}

  struct Seen {
    core::Id id;
    std::string to;
    std::string from;
    std::string raw;
    core::Channel rendered_channel = core::Channel::kSms;
    bool rendered_empty = false;
  };

  std::string_view name() const noexcept override { return sink_->name(); }
  bool serves(core::Channel c) const noexcept override { return sink_->serves(c); }
  std::string destination(const core::MessageRecord& r, core::Channel c) const override {
    return sink_->destination(r, c);
  }
  void send(std::vector<transports::Delivery> batch, transports::SendDone done) override {
    {
      std::lock_guard lock(mu_);
      for (const auto& d : batch) {
        Seen s;
        s.id = d.record->id;
        s.to = d.record->request.to.email;
        s.from = d.record->request.from.email;
        if (d.content) s.raw = d.content->raw;
        if (d.rendered) {
          s.rendered_channel = d.rendered->channel;
          s.rendered_empty =
              d.rendered->subject.empty() && d.rendered->html.empty() && d.rendered->text.empty();
        }
        seen_.push_back(std::move(s));
      }
    }
    sink_->send(std::move(batch), std::move(done));
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::shared_ptr<transports::Transport> sink_;
  mutable std::mutex mu_;
  std::vector<Seen> seen_;  // GUARDED_BY(mu_)
};

const std::string kHeaders =
    "From: Shop <shop@marketplace.test>\r\n"
    "To: anna@example.com\r\n"
    "Subject: Your order\r\n";
const std::string kBody = "\r\nPaid, thank you.\r\n";

class InjectTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    config().listener.hostname = "mx.vestnik.test";
  }

  // The spool over a fault-injecting memory store, the sink (answering
  // 250) behind a recorder, the engine and the injector.
  void open_sink() {
    auto fault = std::make_unique<queue::FaultInjectingStore>(queue::make_memory_store());
    fault_ = fault.get();
    auto s = queue::Spool::open(config_->spool, std::move(fault), clock_, ids_);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    spool_ = std::move(*s);
    core::SinkConfig sc;
    sc.enabled = true;
    auto sink = transports::make_sink_transport(sc, nullptr);
    ASSERT_TRUE(sink.has_value()) << sink.error().to_string();
    sink_ = std::make_shared<RecordingSink>(*sink);
    registry_.add(sink_);
    engine_ = std::make_unique<Engine>(config_, *spool_, registry_, clock_, io_.get_executor());
    injector_ = std::make_unique<Injector>(*engine_, config_, clock_);
  }

  void TearDown() override {
    injector_.reset();
    EngineTest::TearDown();
  }

  static mta::InjectedMessage message(std::vector<std::string> rcpt, std::string data) {
    mta::InjectedMessage m;
    m.tenant = "school";
    m.mail_from = "bounces@marketplace.test";
    m.rcpt_to = std::move(rcpt);
    m.data = std::move(data);
    m.client_ip = "127.0.0.1";
    m.helo = "app1.marketplace.test";
    return m;
  }

  // Injects and waits for `done`; `sync` tells whether it ran before
  // inject() returned.
  core::Result<std::vector<core::Id>> inject(mta::InjectedMessage m, bool* sync = nullptr) {
    auto p = std::make_shared<std::promise<core::Result<std::vector<core::Id>>>>();
    auto f = p->get_future();
    std::atomic<int> calls{0};
    injector_->inject(std::move(m), [p, &calls](core::Result<std::vector<core::Id>> r) {
      ++calls;
      p->set_value(std::move(r));
    });
    if (sync != nullptr) *sync = f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    auto r = f.get();
    EXPECT_EQ(calls.load(), 1);
    return r;
  }


  queue::FaultInjectingStore* fault_ = nullptr;  // owned by spool_
  std::shared_ptr<RecordingSink> sink_;
  std::unique_ptr<Injector> injector_;
};

TEST_F(InjectTest, ControlHeadersAreAppliedAndRemoved) {
  open_sink();
  const std::string data = "X-Vestnik-Category: orders\r\n" + kHeaders +
                           "x-vestnik-campaign: spring\r\n\tsale\r\n"
                           "X-Vestnik-Priority:  Transactional \r\n"
                           "X-Other: stays\r\n" +
                           kBody;
  const mta::InjectedMessage m = message({"anna@example.com"}, data);
  auto ids = inject(m);
  ASSERT_TRUE(ids.has_value()) << ids.error().to_string();
  ASSERT_EQ(ids->size(), 1u);

  const queue::MessageView v = view(ids->front());
  const core::MessageRequest& q = v.record.request;
  EXPECT_EQ(q.category, "orders");
  EXPECT_EQ(q.priority, core::Priority::kTransactional);
  ASSERT_EQ(q.tags.size(), 1u);
  EXPECT_EQ(q.tags[0].key, "campaign");
  EXPECT_EQ(q.tags[0].value, "spring\tsale") << "unfolded";
  EXPECT_EQ(q.channels, std::vector<core::Channel>{core::Channel::kEmail});
  EXPECT_EQ(q.to.email, "anna@example.com");
  EXPECT_EQ(q.from.email, "bounces@marketplace.test") << "the envelope sender";
  EXPECT_TRUE(q.idempotency_key.empty());
  EXPECT_EQ(v.content.raw, kHeaders + "X-Other: stays\r\n" + kBody);
  EXPECT_TRUE(v.content.subject.empty() && v.content.html.empty() && v.content.text.empty());
}

TEST_F(InjectTest, DefaultsWithoutControlHeaders) {
  open_sink();
  mta::InjectedMessage m = message({"anna@example.com"}, kHeaders + kBody);
  m.mail_from.clear();  // the null reverse-path
  auto ids = inject(m);
  ASSERT_TRUE(ids.has_value()) << ids.error().to_string();
  const core::MessageRecord r = record(ids->front());
  EXPECT_EQ(r.request.category, "notifications");
  EXPECT_EQ(r.request.priority, core::Priority::kNormal);
  EXPECT_TRUE(r.request.tags.empty());
  EXPECT_TRUE(r.request.from.email.empty());
  EXPECT_EQ(view(ids->front()).content.raw, kHeaders + kBody);
}

TEST_F(InjectTest, RecipientsShareOneStoredContent) {
  open_sink();
  const mta::InjectedMessage m =
      message({"anna@example.com", "bob@example.org", "carl@example.net", "anna@EXAMPLE.com"},
              kHeaders + kBody);
  auto ids = inject(m);
  ASSERT_TRUE(ids.has_value()) << ids.error().to_string();
  ASSERT_EQ(ids->size(), 4u);
  EXPECT_EQ((*ids)[3], (*ids)[0]) << "a recipient given twice is one message";
  EXPECT_NE((*ids)[0], (*ids)[1]);
  EXPECT_NE((*ids)[1], (*ids)[2]);
  const std::string stored = kHeaders + kBody;
  for (size_t i = 0; i < 3; ++i) {
    const queue::MessageView v = view((*ids)[i]);
    EXPECT_EQ(v.record.content_id, (*ids)[0]) << i;
    EXPECT_EQ(v.content.raw, stored) << i;
    EXPECT_EQ(v.record.request.to.email, m.rcpt_to[i]);
  }

  // One stored content, counted for three: it outlives the first two
  // purged messages (the first of which carried it).
  engine_->TEST_poll();
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(record((*ids)[i]).status, MessageStatus::kDelivered);
  clock_.advance(config_->spool.retention + minutes(1));
  ASSERT_EQ(spool_->purge_sync(2).value(), 2u);
  core::Id left;
  for (size_t i = 0; i < 3; ++i) {
    if (spool_->get((*ids)[i]).value().has_value()) left = (*ids)[i];
  }
  ASSERT_NE(left, core::Id());
  EXPECT_EQ(view(left).content.raw, stored);
}

TEST_F(InjectTest, DeliveredThroughTheSinkWithTheDataIntact) {
  open_sink();
  // 8-bit body, a line starting with a dot and a long line: sent as is.
  const std::string body = "\r\n\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd1\x96\xd1\x82\r\n.dot\r\n" +
                           std::string(2000, 'x') + "\r\n";
  const mta::InjectedMessage m = message({"anna@example.com", "bob@example.org"},
                                         kHeaders + "X-Vestnik-Priority: bulk\r\n" + body);
  auto ids = inject(m);
  ASSERT_TRUE(ids.has_value()) << ids.error().to_string();
  engine_->TEST_poll();
  const std::string stored = kHeaders + body;
  for (const core::Id& id : *ids) {
    const core::MessageRecord r = record(id);
    EXPECT_EQ(r.status, MessageStatus::kDelivered);
    ASSERT_TRUE(r.last_reply.has_value());
    EXPECT_EQ(r.last_reply->code, 250);
  }
  const auto seen = sink_->seen();
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& s : seen) {
    EXPECT_EQ(s.raw, stored);
    EXPECT_EQ(s.from, "bounces@marketplace.test");
    EXPECT_EQ(s.rendered_channel, core::Channel::kEmail);
    EXPECT_TRUE(s.rendered_empty) << "raw content is not rendered";
  }
}

TEST_F(InjectTest, IdempotencyKeyAppliesPerRecipient) {
  open_sink();
  const std::string data = "X-Vestnik-Idempotency-Key: order-42\r\n" + kHeaders + kBody;
  auto first = inject(message({"anna@example.com", "bob@example.org"}, data));
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  EXPECT_EQ(record((*first)[0]).request.idempotency_key,
            std::string("order-42\0anna@example.com", 25));

  // The client retries (a lost 250): the same messages, nothing new.
  auto again = inject(message({"anna@example.com", "bob@example.org"}, data));
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  EXPECT_EQ(*again, *first);

  // A recipient added on the retry is new; the others stay the same.
  auto more = inject(message({"bob@EXAMPLE.org", "carl@example.net"}, data));
  ASSERT_TRUE(more.has_value()) << more.error().to_string();
  EXPECT_EQ((*more)[0], (*first)[1]);
  EXPECT_NE((*more)[1], (*first)[0]);
  EXPECT_EQ(view((*more)[1]).content.raw, kHeaders + kBody)
      << "the new recipient has the data although the message carrying it was a duplicate";
  auto c = spool_->counts();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->by_status[MessageStatus::kQueued], 3u);
}

struct BadCase {
  std::string name;
  std::function<void(mta::InjectedMessage&)> change;
  std::string field;
  std::string says;  // part of the message
};

TEST_F(InjectTest, ValidationErrorsNameTheProblemAndStoreNothing) {
  config().listener.max_message_bytes = 4096;
  config().listener.max_recipients = 3;
  open_sink();
  auto data = [](std::string d) { return [d](mta::InjectedMessage& m) { m.data = d; }; };
  const std::vector<BadCase> cases = {
      {"empty", data(""), "data", "empty"},
      {"nul", data(kHeaders + "\r\nbody" + std::string(1, '\0') + "x\r\n"), "data", "NUL"},
      {"no empty line", data(kHeaders), "data", "does not end with an empty line"},
      {"bare lf", data("From: a@b.c\nSubject: x\r\n\r\nbody\r\n"), "data",
       "header line 1 ends with a bare LF"},
      {"bare cr", data("From: a@b.c\rSubject: x\r\n\r\nbody\r\n"), "data",
       "header line 1 holds a bare CR"},
      {"continuation first", data(" folded: x\r\n" + kHeaders + kBody), "data",
       "header line 1 starts with white space"},
      {"not a field", data(kHeaders + "this is body\r\n" + kBody), "data",
       "header line 4 is not a header field"},
      {"mbox from line", data("From sender Tue Nov 24\r\n" + kHeaders + kBody), "data",
       "header line 1 is not a header field"},
      {"no headers", data("\r\nbody\r\n"), "data", "no header fields"},
      {"too big", data(kHeaders + "\r\n" + std::string(5000, 'x') + "\r\n"), "data",
       "larger than 4096 bytes"},
      {"bad priority", data("X-Vestnik-Priority: urgent\r\n" + kHeaders + kBody),
       "X-Vestnik-Priority", "'urgent' is not one of transactional, normal, bulk"},
      {"bad category", data("X-Vestnik-Category: Orders!\r\n" + kHeaders + kBody),
       "X-Vestnik-Category", "must match [a-z0-9_.-]{1,64}"},
      {"empty campaign", data("X-Vestnik-Campaign:  \r\n" + kHeaders + kBody), "X-Vestnik-Campaign",
       "empty"},
      {"campaign not utf-8", data("X-Vestnik-Campaign: \xff\xfe\r\n" + kHeaders + kBody),
       "X-Vestnik-Campaign", "not valid UTF-8"},
      {"key not ascii", data("X-Vestnik-Idempotency-Key: \xd0\x9a\r\n" + kHeaders + kBody),
       "X-Vestnik-Idempotency-Key", "printable ASCII"},
      {"twice", data("X-Vestnik-Category: a\r\n" + kHeaders + "X-VESTNIK-CATEGORY: b\r\n" + kBody),
       "X-Vestnik-Category", "given more than once"},
      {"no rcpt", [](mta::InjectedMessage& m) { m.rcpt_to.clear(); }, "rcpt_to", "no recipients"},
      {"too many rcpt",
       [](mta::InjectedMessage& m) {
         m.rcpt_to = {"a@example.com", "b@example.com", "c@example.com", "d@example.com"};
       },
       "rcpt_to", "more than 3 recipients"},
      {"rcpt without domain", [](mta::InjectedMessage& m) { m.rcpt_to.push_back("anna"); },
       "rcpt_to", "'anna' is not a valid address"},
      {"rcpt bare host", [](mta::InjectedMessage& m) { m.rcpt_to.push_back("anna@localhost"); },
       "rcpt_to", "'anna@localhost' is not a valid address"},
      {"rcpt address literal",
       [](mta::InjectedMessage& m) { m.rcpt_to.push_back("anna@[127.0.0.1]"); }, "rcpt_to",
       "is not a valid address"},
      {"rcpt utf-8 without smtputf8",
       [](mta::InjectedMessage& m) { m.rcpt_to.push_back("\xd0\xb0@example.com"); }, "rcpt_to",
       "is not a valid address"},
      {"bad sender", [](mta::InjectedMessage& m) { m.mail_from = "a b@example.com"; }, "mail_from",
       "'a b@example.com' is not a valid address"},
  };
  for (const BadCase& c : cases) {
    mta::InjectedMessage m = message({"anna@example.com"}, kHeaders + kBody);
    c.change(m);
    bool sync = false;
    auto r = inject(std::move(m), &sync);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument) << c.name;
    EXPECT_EQ(r.error().field, c.field) << c.name;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << c.name << ": " << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << c.name << ": one reply line";
    EXPECT_TRUE(sync) << c.name << ": refused before anything is stored";
  }
  auto counts = spool_->counts();
  ASSERT_TRUE(counts.has_value());
  for (const auto& [status, n] : counts->by_status) EXPECT_EQ(n, 0u) << core::status_name(status);

  // UTF-8 addresses are fine with SMTPUTF8.
  mta::InjectedMessage utf8 =
      message({"\xd0\xb0@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xba\xd0\xbb\xd0\xb0\xd0\xb4."
               "\xd1\x83\xd0\xba\xd1\x80"},
              kHeaders + kBody);
  utf8.smtputf8 = true;
  auto ok = inject(std::move(utf8));
  EXPECT_TRUE(ok.has_value()) << ok.error().to_string();
}

TEST_F(InjectTest, SpoolErrorFailsTheMessageWithThatError) {
  open_sink();
  fault_->TEST_fail_commits(1, core::Errc::kIoError);
  auto r = inject(message({"anna@example.com", "bob@example.org"}, kHeaders + kBody));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().code, core::Errc::kInvalidArgument) << "the client may try again (451)";
  EXPECT_EQ(r.error().code, core::Errc::kIoError);
}

// ---- parse_injected_data, the pure part ------------------------------------

TEST(InjectParseTest, RemovesExactlyTheControlFieldsWithTheirFoldedLines) {
  const std::string data =
      "Received: from a\r\n\tby b; Tue, 24 Nov 2026 09:00:00 +0000\r\n"
      "X-VESTNIK-priority: bulk\r\n"
      "Subject : obsolete space before the colon\r\n"
      "X-Vestnik-Idempotency-Key:\r\n  key-1\r\n"
      "X-Vestnik-Categoryx: not ours\r\n"
      "\r\n"
      "X-Vestnik-Category: in the body, not a header\r\n";
  auto r = parse_injected_data(data, "Trace: t\r\n");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->priority, core::Priority::kBulk);
  EXPECT_EQ(r->idempotency_key, "key-1");
  EXPECT_EQ(r->category, "notifications");
  EXPECT_EQ(r->data,
            "Trace: t\r\n"
            "Received: from a\r\n\tby b; Tue, 24 Nov 2026 09:00:00 +0000\r\n"
            "Subject : obsolete space before the colon\r\n"
            "X-Vestnik-Categoryx: not ours\r\n"
            "\r\n"
            "X-Vestnik-Category: in the body, not a header\r\n");
}

TEST(InjectParseTest, HeaderOnlyMessageAndLastFieldControl) {
  auto r = parse_injected_data("Subject: x\r\nX-Vestnik-Campaign: c\r\n\r\n", "");
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->campaign, "c");
  EXPECT_EQ(r->data, "Subject: x\r\n\r\n");
}

TEST(InjectParseTest, Addresses) {
  for (const char* good : {"a@example.com", "first.last+tag@sub.example.co.uk",
                           "\"quoted name\"@example.com", "x@xn--80a.com", "a-b@a-b.example"}) {
    EXPECT_TRUE(is_valid_injected_address(good, false)) << good;
  }
  for (const char* bad : {"", "a", "@example.com", "a@", "a@example", "a..b@example.com",
                          ".a@example.com", "a@-example.com", "a@example.123", "a@[1.2.3.4]",
                          "a b@example.com", "a@exa mple.com", "<a@example.com>"}) {
    EXPECT_FALSE(is_valid_injected_address(bad, false)) << bad;
  }
  EXPECT_FALSE(is_valid_injected_address(std::string(65, 'a') + "@example.com", false));
  EXPECT_FALSE(is_valid_injected_address("\xd0\xb0@example.com", false));
  EXPECT_TRUE(is_valid_injected_address("\xd0\xb0@example.com", true));
  EXPECT_FALSE(is_valid_injected_address("\xff@example.com", true)) << "not UTF-8";
}

// ---- the engine's rules for raw content --------------------------------------

TEST_F(InjectTest, EngineRefusesRawContentOffEmailOrWithOtherParts) {
  open_sink();
  auto raw_to = [](std::string address) {
    core::MessageRequest r = email_to(std::move(address));
    r.content = core::Content{};
    r.content.raw = kHeaders + kBody;
    return r;
  };
  std::vector<core::MessageRequest> v;
  v.push_back(raw_to("anna@example.com"));
  v.back().channels = {core::Channel::kEmail, core::Channel::kSms};
  v.back().to.phone = "+380671234567";
  v.push_back(raw_to("bob@example.com"));
  v.back().content.subject = "also a subject";
  v.push_back(raw_to("carl@example.com"));  // fine
  SubmitResult r = submit(std::move(v));
  ASSERT_EQ(r.items.size(), 3u);
  for (size_t i : {0, 1}) {
    ASSERT_FALSE(r.items[i]) << i;
    EXPECT_EQ(r.items[i].error().code, core::Errc::kInvalidArgument);
    EXPECT_EQ(r.items[i].error().field, "content.raw");
  }
  ASSERT_TRUE(r.items[2]) << r.items[2].error().to_string();

  // A preview cannot render raw mail.
  auto preview = engine_->render("school", raw_to("dan@example.com"), core::Channel::kEmail);
  ASSERT_FALSE(preview);
  EXPECT_EQ(preview.error().field, "content.raw");
}

TEST_F(InjectTest, EngineSharingChecksEachSharer) {
  open_sink();
  auto plain = [](std::string address) {
    core::MessageRequest r = email_to(std::move(address));
    r.content = core::Content{};
    return r;
  };
  std::vector<core::MessageRequest> v;
  v.push_back(email_to("anna@example.com"));
  v.back().content = core::Content{};
  v.back().content.raw = kHeaders + kBody;  // 0: carries raw
  v.push_back(plain("bob@example.com"));    // 1: shares 0
  v.push_back(plain("carl@example.com"));   // 2: shares 0, but may fall back to sms
  v.back().channels = {core::Channel::kEmail, core::Channel::kSms};
  v.push_back(plain("dan@example.com"));     // 3: shares 2, refused
  v.push_back(email_to("eve@example.com"));  // 4: shares 1 and carries content
  v.push_back(plain("fay@example.com"));     // 5: names a later request
  std::vector<std::optional<uint32_t>> content_of = {std::nullopt, 0, 0, 2, 1, 5};
  std::promise<SubmitResult> p;
  auto f = p.get_future();
  engine_->submit("school", std::move(v), std::move(content_of),
                  [&p](SubmitResult r) { p.set_value(std::move(r)); });
  SubmitResult r = f.get();
  ASSERT_EQ(r.items.size(), 6u);
  ASSERT_TRUE(r.items[0] && r.items[1]);
  EXPECT_EQ(record(r.items[1]->id).content_id, r.items[0]->id);
  EXPECT_EQ(view(r.items[1]->id).content.raw, kHeaders + kBody);
  ASSERT_FALSE(r.items[2]);
  EXPECT_EQ(r.items[2].error().field, "content.raw");
  for (size_t i : {3, 4, 5}) {
    ASSERT_FALSE(r.items[i]) << i;
    EXPECT_EQ(r.items[i].error().field, "content_of") << i;
  }

  // The sizes must agree.
  std::promise<SubmitResult> q;
  auto g = q.get_future();
  std::vector<core::MessageRequest> w;
  w.push_back(email_to("gus@example.com"));
  engine_->submit("school", std::move(w), std::vector<std::optional<uint32_t>>(2),
                  [&q](SubmitResult r) { q.set_value(std::move(r)); });
  SubmitResult s = g.get();
  ASSERT_EQ(s.items.size(), 1u);
  ASSERT_FALSE(s.items[0]);
  EXPECT_EQ(s.items[0].error().field, "content_of");
}

// Sharers of a template each render with their own variables: a strict
// template refuses the sharer that lacks one, and the version fixed for
// the first request is the one every sharer keeps.
TEST_F(InjectTest, EngineSharedTemplateIsCheckedPerSharer) {
  open_sink();
  core::TemplateSource t;
  t.subject = "Order {{order}}";
  t.text = "Order {{order}} is paid";
  t.strict = true;
  std::promise<core::Result<queue::StoredTemplate>> put;
  engine_->put_template("school", "paid", t, [&put](core::Result<queue::StoredTemplate> r) {
    put.set_value(std::move(r));
  });
  ASSERT_TRUE(put.get_future().get().has_value());
  auto templated = [](std::string address, std::string vars, bool carries) {
    core::MessageRequest r = email_to(std::move(address));
    r.content = core::Content{};
    if (carries) r.content.template_id = "paid";
    r.variables_json = std::move(vars);
    return r;
  };
  std::vector<core::MessageRequest> v;
  v.push_back(templated("anna@example.com", R"({"order":1})", true));
  v.push_back(templated("bob@example.com", "{}", false));
  v.push_back(templated("carl@example.com", R"({"order":3})", false));
  std::promise<SubmitResult> p;
  auto f = p.get_future();
  engine_->submit("school", std::move(v), {std::nullopt, 0, 0},
                  [&p](SubmitResult r) { p.set_value(std::move(r)); });
  SubmitResult r = f.get();
  ASSERT_EQ(r.items.size(), 3u);
  ASSERT_TRUE(r.items[0] && r.items[2]);
  ASSERT_FALSE(r.items[1]);
  EXPECT_EQ(r.items[1].error().field, "variables");
  const queue::MessageView carl = view(r.items[2]->id);
  EXPECT_EQ(carl.record.content_id, r.items[0]->id);
  EXPECT_EQ(carl.content.template_id, "paid");
  EXPECT_EQ(carl.content.template_version, 1u);
  engine_->TEST_poll();
  EXPECT_EQ(record(r.items[2]->id).status, MessageStatus::kDelivered);
  EXPECT_EQ(record(r.items[0]->id).status, MessageStatus::kDelivered);
}

}  // namespace
}  // namespace engine
