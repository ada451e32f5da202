// tests/transports/sink_test.cpp: the sink transport's rules, latency and
// configuration errors (transports/sink.cpp).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transports/transport.h"

namespace transports {
namespace {

core::MessageRecord record_to(std::string email,
                              std::vector<core::Channel> channels = {core::Channel::kEmail},
                              uint32_t channel_index = 0) {
  core::MessageRecord r;
  r.request.channels = std::move(channels);
  r.request.to.email = std::move(email);
  r.channel_index = channel_index;
  return r;
}

// Sends one message synchronously (latency 0) and returns its outcome.
Outcome send_one(Transport& t, const core::MessageRecord& r, uint32_t attempt) {
  core::Content content;
  std::optional<std::vector<Outcome>> got;
  t.send({Delivery{&r, &content, attempt}}, [&](std::vector<Outcome> o) { got = std::move(o); });
  EXPECT_TRUE(got.has_value());
  EXPECT_EQ(got ? got->size() : 0u, 1u);
  return got && !got->empty() ? (*got)[0] : Outcome{};
}

core::SinkConfig rules_config() {
  core::SinkConfig c;
  c.enabled = true;
  c.channels = {core::Channel::kEmail, core::Channel::kTelegram};
  c.rules = {
      {"@bounce\\.example$", "550 5.1.1 no such user", 0},
      {"^flaky", "451 4.7.1 try later", 2},           // attempts 1 and 2 only
      {"^flaky", "552 5.2.2 mailbox full", 3},        // then attempt 3
      {"^42", "403 bot was blocked by the user", 0},  // a telegram chat id
  };
  c.default_reply = "250 2.0.0 accepted by sink";
  return c;
}

TEST(Sink, FirstMatchingRuleWinsElseDefault) {
  auto t = make_sink_transport(rules_config(), {});
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  Transport& sink = **t;

  Outcome o = send_one(sink, record_to("ann@bounce.example"), 1);
  EXPECT_EQ(o.kind, OutcomeKind::kPermanent);
  EXPECT_EQ(o.reply.code, 550);
  EXPECT_EQ(o.reply.enhanced, "5.1.1");
  EXPECT_EQ(o.reply.text, "no such user");

  o = send_one(sink, record_to("bob@example.com"), 1);
  EXPECT_EQ(o.kind, OutcomeKind::kDelivered);
  EXPECT_EQ(transports::reply_line(o.reply), "250 2.0.0 accepted by sink");

  // The pattern is searched, not matched whole.
  o = send_one(sink, record_to("x.bounce.example@bounce.example"), 1);
  EXPECT_EQ(o.kind, OutcomeKind::kPermanent);
}

TEST(Sink, FirstAttemptsLimitsARuleToEarlyAttempts) {
  auto t = make_sink_transport(rules_config(), {});
  ASSERT_TRUE(t.has_value());
  const core::MessageRecord r = record_to("flaky@example.com");
  EXPECT_EQ(send_one(**t, r, 1).reply.code, 451);
  EXPECT_EQ(send_one(**t, r, 2).reply.code, 451);
  EXPECT_EQ(send_one(**t, r, 3).reply.code, 552);  // falls through to the next rule
  EXPECT_EQ(send_one(**t, r, 4).reply.code, 250);  // and then to the default
}

TEST(Sink, MatchesTheAddressOfTheCurrentChannel) {
  auto t = make_sink_transport(rules_config(), {});
  ASSERT_TRUE(t.has_value());
  core::MessageRecord r =
      record_to("ok@example.com", {core::Channel::kEmail, core::Channel::kTelegram}, 1);
  r.request.to.telegram_chat_id = "4242";
  Outcome o = send_one(**t, r, 1);
  EXPECT_EQ(o.reply.code, 403);
  EXPECT_EQ(o.kind, OutcomeKind::kTransient);  // 4xx
  r.channel_index = 0;                         // on email the address is ok@example.com
  EXPECT_EQ(send_one(**t, r, 1).reply.code, 250);
}

TEST(Sink, BatchGetsOneOutcomePerMessageInOrder) {
  auto t = make_sink_transport(rules_config(), {});
  ASSERT_TRUE(t.has_value());
  const auto a = record_to("a@bounce.example");
  const auto b = record_to("b@example.com");
  const auto c = record_to("flaky@x");
  core::Content content;
  std::vector<Outcome> got;
  (*t)->send({{&a, &content, 1}, {&b, &content, 1}, {&c, &content, 1}},
             [&](std::vector<Outcome> o) { got = std::move(o); });
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].reply.code, 550);
  EXPECT_EQ(got[1].reply.code, 250);
  EXPECT_EQ(got[2].reply.code, 451);
}

TEST(Sink, ServesItsChannelsAndNamesDestinations) {
  auto t = make_sink_transport(rules_config(), {});
  ASSERT_TRUE(t.has_value());
  Transport& sink = **t;
  EXPECT_EQ(sink.name(), "sink");
  EXPECT_TRUE(sink.serves(core::Channel::kEmail));
  EXPECT_TRUE(sink.serves(core::Channel::kTelegram));
  EXPECT_FALSE(sink.serves(core::Channel::kSms));
  core::MessageRecord r =
      record_to("Ann@Example.COM", {core::Channel::kEmail, core::Channel::kTelegram});
  r.request.to.telegram_chat_id = "1";
  EXPECT_EQ(sink.destination(r, core::Channel::kEmail), "email:example.com");
  EXPECT_EQ(sink.destination(r, core::Channel::kTelegram), "telegram:default");
}

TEST(Sink, LatencyAnswersThroughTheScheduler) {
  core::SinkConfig c = rules_config();
  c.latency = core::Duration(250);
  std::vector<std::pair<core::Duration, std::function<void()>>> scheduled;
  auto t = make_sink_transport(c, [&](core::Duration d, std::function<void()> fn) {
    scheduled.emplace_back(d, std::move(fn));
  });
  ASSERT_TRUE(t.has_value());
  const auto r = record_to("ann@example.com");
  core::Content content;
  std::optional<std::vector<Outcome>> got;
  (*t)->send({{&r, &content, 1}}, [&](std::vector<Outcome> o) { got = std::move(o); });
  EXPECT_FALSE(got.has_value());
  ASSERT_EQ(scheduled.size(), 1u);
  EXPECT_EQ(scheduled[0].first, core::Duration(250));
  scheduled[0].second();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ((*got)[0].kind, OutcomeKind::kDelivered);
}

TEST(Sink, ConfigurationErrorsNameTheKey) {
  core::SinkConfig c = rules_config();
  c.rules[1].match = "([unclosed";
  auto t = make_sink_transport(c, {});
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(t.error().field, "transports.sink.rules[1].match");

  c = rules_config();
  c.rules[0].reply = "no code here";
  t = make_sink_transport(c, {});
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().field, "transports.sink.rules[0].reply");

  c = rules_config();
  c.default_reply = "354 go ahead";
  t = make_sink_transport(c, {});
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().field, "transports.sink.default_reply");

  c = rules_config();
  c.latency = core::Duration(10);
  t = make_sink_transport(c, {});  // no scheduler
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().field, "transports.sink.latency");
}

TEST(Sink, DefaultConfigDeliversEverything) {
  auto t = make_sink_transport(core::SinkConfig{}, {});
  ASSERT_TRUE(t.has_value());
  Outcome o = send_one(**t, record_to("anyone@anywhere.example"), 7);
  EXPECT_EQ(o.kind, OutcomeKind::kDelivered);
  EXPECT_EQ(o.reply.code, 250);
}

}  // namespace
}  // namespace transports
