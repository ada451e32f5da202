// tests/transports/transport_test.cpp: reply classification, reply lines,
// destination keys and the registry (transports/transport.cpp).
#include "transports/transport.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace transports {
namespace {

struct ReplyCase {
  std::string line;
  OutcomeKind kind;
  uint16_t code;
  std::string enhanced;
  std::string text;
  bool blames_message = true;
};

TEST(OutcomeFromReply, Table) {
  const std::vector<ReplyCase> cases = {
      {"451 4.7.1 try later", OutcomeKind::kTransient, 451, "4.7.1", "try later"},
      {"250 ok", OutcomeKind::kDelivered, 250, "", "ok"},
      {"250 2.0.0 Ok: queued as 4BC1F2", OutcomeKind::kDelivered, 250, "2.0.0",
       "Ok: queued as 4BC1F2"},
      {"550 5.1.1 <x@example.com>: Recipient address rejected: User unknown",
       OutcomeKind::kPermanent, 550, "5.1.1",
       "<x@example.com>: Recipient address rejected: User unknown"},
      {"552 5.2.2 mailbox full", OutcomeKind::kPermanent, 552, "5.2.2", "mailbox full"},
      {"554 5.7.1 blocked by policy", OutcomeKind::kPermanent, 554, "5.7.1", "blocked by policy"},
      // Missing enhanced code: the whole rest is text.
      {"550 no such user here", OutcomeKind::kPermanent, 550, "", "no such user here"},
      // Enhanced code whose class differs from the basic code: text.
      {"451 5.1.1 odd server", OutcomeKind::kTransient, 451, "", "5.1.1 odd server"},
      {"550 4.2.2 odd server", OutcomeKind::kPermanent, 550, "", "4.2.2 odd server"},
      // Malformed enhanced codes: text.
      {"451 4.7 try later", OutcomeKind::kTransient, 451, "", "4.7 try later"},
      {"451 4.7.1234 x", OutcomeKind::kTransient, 451, "", "4.7.1234 x"},
      {"451 4..1 x", OutcomeKind::kTransient, 451, "", "4..1 x"},
      {"451 4.7.1.2 x", OutcomeKind::kTransient, 451, "", "4.7.1.2 x"},
      {"451 4.7000.1 x", OutcomeKind::kTransient, 451, "", "4.7000.1 x"},
      {"451 4.700.100 x", OutcomeKind::kTransient, 451, "4.700.100", "x"},
      {"250 2.1.5", OutcomeKind::kDelivered, 250, "2.1.5", ""},
      {"250 2.10.100 x", OutcomeKind::kDelivered, 250, "2.10.100", "x"},
      {"250", OutcomeKind::kDelivered, 250, "", ""},
      {"250-first line of many", OutcomeKind::kDelivered, 250, "", "first line of many"},
      {"421 4.4.2 closing connection", OutcomeKind::kTransient, 421, "4.4.2", "closing connection",
       false},
      {"354 go ahead", OutcomeKind::kTransient, 354, "", "go ahead"},
      // CR/LF removed.
      {"451 4.3.0 temporary\r\n", OutcomeKind::kTransient, 451, "4.3.0", "temporary"},
      // Text keeps its inner spacing verbatim.
      {"550 5.1.1 two  spaces", OutcomeKind::kPermanent, 550, "5.1.1", "two  spaces"},
      // Not a reply code at all: transient, code 0, whole line as text.
      {"connection reset by peer", OutcomeKind::kTransient, 0, "", "connection reset by peer"},
      {"", OutcomeKind::kTransient, 0, "", ""},
      {"25 short", OutcomeKind::kTransient, 0, "", "25 short"},
      {"2500 long", OutcomeKind::kTransient, 0, "", "2500 long"},
      {"650 6.0.0 x", OutcomeKind::kTransient, 0, "", "650 6.0.0 x"},
      {"199 x", OutcomeKind::kTransient, 0, "", "199 x"},
      {"260 x", OutcomeKind::kTransient, 0, "", "260 x"},  // second digit beyond 5
      {"25a x", OutcomeKind::kTransient, 0, "", "25a x"},
      {"250x", OutcomeKind::kTransient, 0, "", "250x"},
  };
  for (const ReplyCase& c : cases) {
    SCOPED_TRACE(c.line);
    const Outcome o = outcome_from_reply(c.line);
    EXPECT_EQ(o.kind, c.kind);
    EXPECT_EQ(o.reply.code, c.code);
    EXPECT_EQ(o.reply.enhanced, c.enhanced);
    EXPECT_EQ(o.reply.text, c.text);
    EXPECT_EQ(o.blames_message, c.blames_message);
    EXPECT_FALSE(o.retry_after.has_value());
  }
}

TEST(ReplyLine, JoinsThePresentParts) {
  EXPECT_EQ(reply_line({451, "4.7.1", "try later"}), "451 4.7.1 try later");
  EXPECT_EQ(reply_line({250, "", "ok"}), "250 ok");
  EXPECT_EQ(reply_line({250, "2.0.0", ""}), "250 2.0.0");
  EXPECT_EQ(reply_line({0, "", "connection refused"}), "connection refused");
  EXPECT_EQ(reply_line({}), "");
}

TEST(ReplyLine, RoundTripsWellFormedReplies) {
  for (const char* line : {"451 4.7.1 try later", "250 ok", "550 5.1.1 user unknown", "250"}) {
    EXPECT_EQ(reply_line(outcome_from_reply(line).reply), line);
  }
}

TEST(DefaultDestination, EmailUsesTheLowercasedDomain) {
  EXPECT_EQ(default_destination(core::Channel::kEmail, "Ann@GMail.COM"), "email:gmail.com");
  EXPECT_EQ(default_destination(core::Channel::kEmail, "a@b@Example.org"), "email:example.org");
  // IDN bytes are kept as they are.
  EXPECT_EQ(default_destination(core::Channel::kEmail, "a@Почта.рф"), "email:Почта.рф");
  EXPECT_EQ(default_destination(core::Channel::kEmail, "no-domain"), "email:default");
  EXPECT_EQ(default_destination(core::Channel::kEmail, "trailing@"), "email:default");
}

TEST(DefaultDestination, OtherChannelsUseDefault) {
  EXPECT_EQ(default_destination(core::Channel::kTelegram, "123456"), "telegram:default");
  EXPECT_EQ(default_destination(core::Channel::kSms, "+380671234567"), "sms:default");
  EXPECT_EQ(default_destination(core::Channel::kWhatsapp, "x@y"), "whatsapp:default");
}

class FixedTransport final : public Transport {
 public:
  FixedTransport(std::string name, std::vector<core::Channel> channels)
      : name_(std::move(name)), channels_(std::move(channels)) {}
  std::string_view name() const noexcept override { return name_; }
  bool serves(core::Channel c) const noexcept override {
    for (auto x : channels_) {
      if (x == c) return true;
    }
    return false;
  }
  std::string destination(const core::MessageRecord&, core::Channel c) const override {
    return std::string(core::channel_name(c)) + ":x";
  }
  void send(std::vector<Delivery> batch, SendDone done) override {
    done(std::vector<Outcome>(batch.size()));
  }

 private:
  std::string name_;
  std::vector<core::Channel> channels_;
};

TEST(Registry, FindsTheTransportServingAChannel) {
  Registry r;
  EXPECT_EQ(r.find(core::Channel::kEmail), nullptr);
  auto a = std::make_shared<FixedTransport>("a", std::vector{core::Channel::kEmail});
  auto b = std::make_shared<FixedTransport>(
      "b", std::vector{core::Channel::kEmail, core::Channel::kTelegram});
  r.add(a);
  r.add(b);
  EXPECT_EQ(r.find(core::Channel::kEmail), a.get());  // first added wins
  EXPECT_EQ(r.find(core::Channel::kTelegram), b.get());
  EXPECT_EQ(r.find(core::Channel::kSms), nullptr);
}

}  // namespace
}  // namespace transports
