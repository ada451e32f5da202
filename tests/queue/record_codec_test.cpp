// tests/queue/record_codec_test.cpp: record layouts (queue/record_format.h).
#include <gtest/gtest.h>

#include "queue/record_format.h"
#include "vestnik/spool/v1/records.pb.h"

namespace queue::format {
namespace {

core::Id id_of(uint8_t b) {
  std::array<uint8_t, 16> a{};
  a.fill(b);
  return core::Id(a);
}

core::MessageRecord full_record() {
  core::MessageRecord r;
  r.id = id_of(1);
  r.tenant = "school";
  r.content_id = id_of(2);
  core::MessageRequest& q = r.request;
  q.idempotency_key = "order-42";
  q.channels = {core::Channel::kTelegram, core::Channel::kEmail, core::Channel::kSms};
  q.to = core::Recipient{"anna@example.com", "Anna", "12345", "+380671234567", "vk1", "vb1",
                         "+380671234568"};
  q.from = core::Sender{"shop@example.com", "Shop"};
  q.category = "orders";
  q.variables_json = R"({"n":1})";
  q.send_at = core::from_unix_ms(1'790'000'001'000);
  q.expires_at = core::from_unix_ms(1'790'000'900'000);
  q.priority = core::Priority::kTransactional;
  q.tags = {{"campaign", "spring"}, {"k", ""}};
  q.track_clicks = core::Tracking::kOn;
  q.track_opens = core::Tracking::kOff;
  r.created_at = core::from_unix_ms(1'790'000'000'000);
  r.status = core::MessageStatus::kFailed;
  r.attempts = 3;
  r.channel_index = 1;
  r.destination = "email:example.com";
  r.due_at = core::from_unix_ms(1'790'000'002'000);
  r.lease_gen = 7;
  r.lease_until = core::from_unix_ms(1'790'000'003'000);
  r.last_reply = core::Reply{451, "4.7.1", "try later"};
  r.bounce = core::Bounce{"bad-mailbox", core::Reply{550, "5.1.1", "no such user"}};
  r.finished_at = core::from_unix_ms(1'790'000'004'000);
  r.event_count = 5;
  return r;
}

void expect_same(const core::MessageRecord& a, const core::MessageRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.content_id, b.content_id);
  EXPECT_EQ(a.request.idempotency_key, b.request.idempotency_key);
  EXPECT_EQ(a.request.channels, b.request.channels);
  EXPECT_EQ(a.request.to.email, b.request.to.email);
  EXPECT_EQ(a.request.to.name, b.request.to.name);
  EXPECT_EQ(a.request.to.telegram_chat_id, b.request.to.telegram_chat_id);
  EXPECT_EQ(a.request.to.phone, b.request.to.phone);
  EXPECT_EQ(a.request.to.vk_peer_id, b.request.to.vk_peer_id);
  EXPECT_EQ(a.request.to.viber_id, b.request.to.viber_id);
  EXPECT_EQ(a.request.to.whatsapp, b.request.to.whatsapp);
  EXPECT_EQ(a.request.from.email, b.request.from.email);
  EXPECT_EQ(a.request.from.name, b.request.from.name);
  EXPECT_EQ(a.request.category, b.request.category);
  EXPECT_EQ(a.request.variables_json, b.request.variables_json);
  EXPECT_EQ(a.request.send_at, b.request.send_at);
  EXPECT_EQ(a.request.expires_at, b.request.expires_at);
  EXPECT_EQ(a.request.priority, b.request.priority);
  EXPECT_EQ(a.request.track_clicks, b.request.track_clicks);
  EXPECT_EQ(a.request.track_opens, b.request.track_opens);
  ASSERT_EQ(a.request.tags.size(), b.request.tags.size());
  for (size_t i = 0; i < a.request.tags.size(); ++i) {
    EXPECT_EQ(a.request.tags[i].key, b.request.tags[i].key);
    EXPECT_EQ(a.request.tags[i].value, b.request.tags[i].value);
  }
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.channel_index, b.channel_index);
  EXPECT_EQ(a.destination, b.destination);
  EXPECT_EQ(a.due_at, b.due_at);
  EXPECT_EQ(a.lease_gen, b.lease_gen);
  EXPECT_EQ(a.lease_until, b.lease_until);
  ASSERT_EQ(a.last_reply.has_value(), b.last_reply.has_value());
  if (a.last_reply) {
    EXPECT_EQ(a.last_reply->code, b.last_reply->code);
    EXPECT_EQ(a.last_reply->enhanced, b.last_reply->enhanced);
    EXPECT_EQ(a.last_reply->text, b.last_reply->text);
  }
  ASSERT_EQ(a.bounce.has_value(), b.bounce.has_value());
  if (a.bounce) {
    EXPECT_EQ(a.bounce->category, b.bounce->category);
    EXPECT_EQ(a.bounce->reply.code, b.bounce->reply.code);
    EXPECT_EQ(a.bounce->reply.text, b.bounce->reply.text);
  }
  EXPECT_EQ(a.finished_at, b.finished_at);
  EXPECT_EQ(a.event_count, b.event_count);
}

TEST(RecordCodecTest, MessageRecordRoundTripsEveryField) {
  RecordCodec codec;
  const core::MessageRecord r = full_record();
  const std::string v(codec.encode(r));
  EXPECT_EQ(static_cast<uint8_t>(v[0]), kRecordVersion);
  core::MessageRecord back;
  ASSERT_TRUE(codec.decode(v, &back));
  expect_same(r, back);
}

TEST(RecordCodecTest, EmptyOptionalsStayEmpty) {
  RecordCodec codec;
  core::MessageRecord r;
  r.id = id_of(9);
  r.content_id = id_of(9);
  r.request.channels = {core::Channel::kEmail};
  r.created_at = core::from_unix_ms(5);
  r.due_at = core::from_unix_ms(5);
  core::MessageRecord back;
  ASSERT_TRUE(codec.decode(std::string(codec.encode(r)), &back));
  expect_same(r, back);
  EXPECT_FALSE(back.last_reply);
  EXPECT_FALSE(back.bounce);
  EXPECT_FALSE(back.lease_until);
  EXPECT_FALSE(back.request.send_at);
}

// The codec reuses its protobuf objects; nothing of one record may leak
// into the next, in either direction.
TEST(RecordCodecTest, ReuseLeaksNothingBetweenRecords) {
  RecordCodec reused;
  core::MessageRecord minimal;
  minimal.id = id_of(3);
  minimal.content_id = id_of(3);
  const std::string full_v(reused.encode(full_record()));
  const std::string minimal_v(reused.encode(minimal));
  RecordCodec fresh;
  EXPECT_EQ(minimal_v, std::string(fresh.encode(minimal)));

  core::MessageRecord a, b;
  ASSERT_TRUE(reused.decode(full_v, &a));
  ASSERT_TRUE(reused.decode(minimal_v, &b));
  expect_same(minimal, b);
  ASSERT_TRUE(reused.decode(full_v, &a));
  expect_same(full_record(), a);
}

TEST(RecordCodecTest, ContentAndEventRoundTrip) {
  RecordCodec codec;
  core::Content c{"tpl-1", "Subject", "<b>hi</b>", "hi"};
  const std::string cv(codec.encode(c, 42));
  core::Content cb;
  uint64_t refs = 0;
  ASSERT_TRUE(codec.decode(cv, &cb, &refs));
  EXPECT_EQ(cb.template_id, c.template_id);
  EXPECT_EQ(cb.subject, c.subject);
  EXPECT_EQ(cb.html, c.html);
  EXPECT_EQ(cb.text, c.text);
  EXPECT_EQ(refs, 42u);
  EXPECT_TRUE(cb.raw.empty());

  // Injected mail (raw) reads back byte for byte, NUL-free CRLF text or not,
  // and a codec that decoded it leaks nothing into the next content.
  core::Content raw;
  raw.raw = "Received: from a\r\nSubject: \xd0\x9f\r\n\r\nbody\r\n.\r\n";
  const std::string rv(codec.encode(raw, 3));
  ASSERT_TRUE(codec.decode(rv, &cb, &refs));
  EXPECT_EQ(cb.raw, raw.raw);
  EXPECT_TRUE(cb.subject.empty());
  EXPECT_EQ(refs, 3u);
  ASSERT_TRUE(codec.decode(rv, &cb, &refs)) << "decoding twice reads it again";
  EXPECT_EQ(cb.raw, raw.raw);
  ASSERT_TRUE(codec.decode(cv, &cb, &refs));
  EXPECT_TRUE(cb.raw.empty());
  EXPECT_EQ(cb.html, c.html);

  core::Event e{core::from_unix_ms(77), core::MessageStatus::kSending, "451 later", 2,
                core::Channel::kViber};
  core::Event eb;
  ASSERT_TRUE(codec.decode(std::string(codec.encode(e)), &eb));
  EXPECT_EQ(eb.at, e.at);
  EXPECT_EQ(eb.status, e.status);
  EXPECT_EQ(eb.detail, e.detail);
  EXPECT_EQ(eb.attempt, e.attempt);
  EXPECT_EQ(eb.channel, e.channel);
  e.channel.reset();
  ASSERT_TRUE(codec.decode(std::string(codec.encode(e)), &eb));
  EXPECT_FALSE(eb.channel);
}

// ContentRecord is encoded by hand for speed; it must be byte for byte what
// the generated code writes, or readers of the format would disagree.
TEST(RecordCodecTest, HandEncodedContentMatchesTheGeneratedCode) {
  RecordCodec codec;
  const std::string big(300, 'b');  // a two-byte length varint
  const core::Content cases[] = {
      {},
      {"tpl", "", "", ""},
      {"", "s", big, "t"},
      {"t", "s", "h", std::string(70000, 'x')},
      {"tpl", "", "", "", 7, "", ""},
      {"tpl", "", "", "", 300, "preview", big},
      {"", "s", "h", "t", 0, "", "[[{\"text\":\"OK\",\"url\":\"https://x\"}]]"},
      {"", "", "", "", 0, "", "", "Subject: hi\r\n\r\nbody\r\n"},
      {"", "", "", "", 0, "", "", std::string(70000, 'r')},
      {"tpl", "s", big, "t", 300, "p", "[]", big}};
  for (const core::Content& c : cases) {
    for (uint64_t refs : {0ull, 1ull, 300ull, 1ull << 40}) {
      ::vestnik::spool::v1::ContentRecord pc;
      pc.set_template_id(c.template_id);
      pc.set_subject(c.subject);
      pc.set_html(c.html);
      pc.set_text(c.text);
      pc.set_refs(refs);
      pc.set_template_version(c.template_version);
      pc.set_preheader(c.preheader);
      pc.set_buttons_json(c.buttons_json);
      pc.set_raw(c.raw);
      const std::string want =
          std::string(1, static_cast<char>(kRecordVersion)) + pc.SerializeAsString();
      EXPECT_EQ(std::string(codec.encode(c, refs)), want) << "refs " << refs;
      core::Content back;
      uint64_t back_refs = 0;
      ASSERT_TRUE(codec.decode(want, &back, &back_refs));
      EXPECT_EQ(back.template_id, c.template_id);
      EXPECT_EQ(back.template_version, c.template_version);
      EXPECT_EQ(back.preheader, c.preheader);
      EXPECT_EQ(back.buttons_json, c.buttons_json);
      EXPECT_EQ(back.raw, c.raw);
      EXPECT_EQ(back_refs, refs);
    }
  }
}

// Text is stored as bytes: whatever was accepted reads back, valid UTF-8
// or not.
TEST(RecordCodecTest, NonUtf8TextRoundTrips) {
  RecordCodec codec;
  core::MessageRecord r = full_record();
  r.request.to.name = "\xff\xfe bad";
  core::MessageRecord back;
  ASSERT_TRUE(codec.decode(std::string(codec.encode(r)), &back));
  EXPECT_EQ(back.request.to.name, r.request.to.name);
  core::Event e{core::from_unix_ms(1), core::MessageStatus::kFailed, "\xc3\x28", 1, std::nullopt};
  core::Event eb;
  ASSERT_TRUE(codec.decode(std::string(codec.encode(e)), &eb));
  EXPECT_EQ(eb.detail, e.detail);
}

TEST(RecordCodecTest, AppendPacksValuesBackToBack) {
  RecordCodec codec;
  std::string blob = "prefix";
  const size_t n1 = codec.append(core::Content{"", "s", "h", "t"}, 1, &blob);
  const size_t n2 = codec.append(full_record(), &blob);
  EXPECT_EQ(blob.size(), 6 + n1 + n2);
  core::MessageRecord back;
  ASSERT_TRUE(codec.decode(std::string_view(blob).substr(6 + n1, n2), &back));
  expect_same(full_record(), back);
}

TEST(RecordCodecTest, RejectsUnknownVersionsAndGarbage) {
  RecordCodec codec;
  std::string v(codec.encode(full_record()));
  core::MessageRecord back;
  v[0] = 2;
  auto st = codec.decode(v, &back);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, core::Errc::kCorruption);
  EXPECT_FALSE(codec.decode("", &back));
  EXPECT_FALSE(codec.decode(std::string("\x01\xff\xff\xff", 4), &back));
  // A record whose id is not 16 bytes is refused, not truncated.
  core::Event e;
  EXPECT_FALSE(codec.decode(std::string("\x01\x10\x09", 3), &e)) << "status 9 is unknown";
}

TEST(RecordFormatTest, KeysSortNumerically) {
  const core::Id a = id_of(1);
  EXPECT_LT(due_key(1, 999, a).view(), due_key(1, 1000, a).view());
  EXPECT_LT(due_key(1, 1ll << 40, a).view(), due_key(2, 0, a).view()) << "bands first";
  EXPECT_LT(due_bound(1, 5).view(), due_key(1, 5, a).view());
  EXPECT_LT(due_key(1, 5, a).view(), due_bound(1, 6).view());
  EXPECT_LT(event_key(a, 255).view(), event_key(a, 256).view());
  EXPECT_LT(time_id_key(255, a).view(), time_id_key(256, a).view());
  DueKeyParts p;
  ASSERT_TRUE(parse_due_key(due_key(3, 123456789, a).view(), &p));
  EXPECT_EQ(p.priority, 3);
  EXPECT_EQ(p.due_ms, 123456789);
  EXPECT_EQ(p.id, a);
  int64_t ms = 0;
  core::Id id;
  ASSERT_TRUE(parse_time_id_key(time_id_key(42, a).view(), &ms, &id));
  EXPECT_EQ(ms, 42);
  EXPECT_EQ(id, a);
}

}  // namespace
}  // namespace queue::format
