// tests/engine/engine_content_test.cpp: content through the engine
// (issue #3): template versions fixed at submit, refusals at submit, and
// rendering before the transport (engine/engine.cpp, engine/dispatcher.cpp,
// engine/content_cache.cpp).
#include "engine_fixture.h"

namespace engine {
namespace {

class EngineContentTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    open([](std::string_view, uint32_t) -> std::optional<std::string> {
      return std::string("250 2.0.0 ok");
    });
  }

  core::Result<queue::StoredTemplate> put(std::string id, core::TemplateSource t) {
    std::promise<core::Result<queue::StoredTemplate>> p;
    auto f = p.get_future();
    engine_->put_template("school", std::move(id), std::move(t),
                          [&p](core::Result<queue::StoredTemplate> r) { p.set_value(std::move(r)); });
    return f.get();
  }
  core::Result<queue::StoredTemplate> remove(std::string id) {
    std::promise<core::Result<queue::StoredTemplate>> p;
    auto f = p.get_future();
    engine_->delete_template("school", std::move(id),
                             [&p](core::Result<queue::StoredTemplate> r) { p.set_value(std::move(r)); });
    return f.get();
  }
  static core::TemplateSource order_paid(std::string subject) {
    core::TemplateSource t;
    t.subject = std::move(subject);
    t.html = "<p>{{name}}, замовлення №{{order.id}} оплачено</p>";
    t.text = "{{name}}, замовлення №{{order.id}} оплачено";
    return t;
  }
  static core::MessageRequest templated(std::string address, std::string vars) {
    core::MessageRequest r = email_to(std::move(address));
    r.content = core::Content{};
    r.content.template_id = "order_paid";
    r.variables_json = std::move(vars);
    return r;
  }
};

TEST_F(EngineContentTest, TemplateVersionIsFixedAtSubmitAndRenderedAtDelivery) {
  auto v1 = put("order_paid", order_paid("Оплачено №{{order.id}}"));
  ASSERT_TRUE(v1.has_value()) << v1.error().to_string();
  EXPECT_EQ(v1->version, 1u);
  const core::Id id =
      submit_one(templated("anna@example.com", R"({"name":"Іван","order":{"id":1842}})"));
  EXPECT_EQ(view(id).content.template_version, 1u);

  // Editing the template after the message was accepted does not change it.
  auto v2 = put("order_paid", order_paid("CHANGED"));
  ASSERT_TRUE(v2.has_value());
  EXPECT_EQ(v2->version, 2u);

  engine_->TEST_poll();
  EXPECT_EQ(record(id).status, MessageStatus::kDelivered);
  auto calls = transport_->calls_for(id);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].subject, "Оплачено №1842");
  EXPECT_EQ(calls[0].text, "Іван, замовлення №1842 оплачено");
  EXPECT_EQ(calls[0].html, "<p>Іван, замовлення №1842 оплачено</p>");

  const core::Id later = submit_one(templated("bob@example.com", R"({"name":"Bob","order":{"id":7}})"));
  EXPECT_EQ(view(later).content.template_version, 2u);
  engine_->TEST_poll();
  auto later_calls = transport_->calls_for(later);
  ASSERT_EQ(later_calls.size(), 1u);
  EXPECT_EQ(later_calls[0].subject, "CHANGED");
}

TEST_F(EngineContentTest, UnknownOrDeletedTemplateIsRefusedAtSubmit) {
  std::vector<core::MessageRequest> v;
  v.push_back(templated("anna@example.com", "{}"));
  SubmitResult r = submit(std::move(v));
  ASSERT_EQ(r.items.size(), 1u);
  ASSERT_FALSE(r.items[0].has_value());
  EXPECT_EQ(r.items[0].error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(r.items[0].error().field, "template_id");

  ASSERT_TRUE(put("order_paid", order_paid("s")));
  const core::Id queued = submit_one(templated("anna@example.com", R"({"name":"A"})"));
  ASSERT_TRUE(remove("order_paid"));
  std::vector<core::MessageRequest> again;
  again.push_back(templated("anna@example.com", "{}"));
  r = submit(std::move(again));
  ASSERT_FALSE(r.items[0].has_value());
  EXPECT_EQ(r.items[0].error().field, "template_id");
  // The message accepted before the delete still renders its version.
  engine_->TEST_poll();
  EXPECT_EQ(record(queued).status, MessageStatus::kDelivered);
}

TEST_F(EngineContentTest, TemplateThatDoesNotCompileIsNotStored) {
  core::TemplateSource t = order_paid("ok");
  t.html = "<p>\n{{#if paid}}paid</p>";
  auto r = put("broken", t);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
  EXPECT_EQ(r.error().field, "html");
  EXPECT_NE(r.error().message.find("line "), std::string::npos) << r.error().message;
  auto stored = spool_->get_template("school", "broken");
  ASSERT_TRUE(stored.has_value());
  EXPECT_FALSE(stored->has_value());
}

TEST_F(EngineContentTest, StrictTemplateRefusesMissingVariablesAtSubmit) {
  core::TemplateSource t = order_paid("s");
  t.strict = true;
  ASSERT_TRUE(put("order_paid", t));
  std::vector<core::MessageRequest> v;
  v.push_back(templated("anna@example.com", R"({"name":"Іван"})"));
  v.push_back(templated("bob@example.com", R"({"name":"Bob","order":{"id":1}})"));
  SubmitResult r = submit(std::move(v));
  ASSERT_EQ(r.items.size(), 2u);
  ASSERT_FALSE(r.items[0].has_value());
  EXPECT_EQ(r.items[0].error().field, "variables");
  EXPECT_NE(r.items[0].error().message.find("order.id"), std::string::npos)
      << r.items[0].error().message;
  EXPECT_TRUE(r.items[1].has_value());
}

TEST_F(EngineContentTest, InlineContentThatDoesNotCompileIsRefused) {
  core::MessageRequest m = email_to("anna@example.com");
  m.content.text = "Hello {{name";
  std::vector<core::MessageRequest> v;
  v.push_back(std::move(m));
  SubmitResult r = submit(std::move(v));
  ASSERT_FALSE(r.items[0].has_value());
  EXPECT_EQ(r.items[0].error().field, "text");
}

TEST_F(EngineContentTest, MissingVariablesOfALenientTemplateAreRecordedInTheEvent) {
  ASSERT_TRUE(put("order_paid", order_paid("Оплачено")));
  const core::Id id = submit_one(templated("anna@example.com", R"({"name":"Анна"})"));
  engine_->TEST_poll();
  const queue::MessageView v = view(id);
  EXPECT_EQ(v.record.status, MessageStatus::kDelivered);
  ASSERT_FALSE(v.events.empty());
  EXPECT_NE(v.events.back().detail.find("template: missing variables: order.id"), std::string::npos)
      << v.events.back().detail;
  auto calls = transport_->calls_for(id);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].text, "Анна, замовлення № оплачено");
}

TEST_F(EngineContentTest, ContentThatCannotBeSentOnItsChannelFailsWithoutReachingTheTransport) {
  core::MessageRequest m = email_to("");
  m.channels = {core::Channel::kSms};
  m.to.phone = "+380671234567";
  m.content.subject.clear();
  m.content.text = std::string(153 * 10 + 1, 'a');  // 11 parts; the limit is 10
  const core::Id id = submit_one(std::move(m));
  engine_->TEST_poll();
  const queue::MessageView v = view(id);
  EXPECT_EQ(v.record.status, MessageStatus::kFailed);
  EXPECT_EQ(v.record.attempts, 1u);
  ASSERT_FALSE(v.events.empty());
  EXPECT_NE(v.events.back().detail.find("render: sms: the message needs 11 segments"),
            std::string::npos)
      << v.events.back().detail;
  EXPECT_TRUE(transport_->calls_for(id).empty());
}

TEST_F(EngineContentTest, HtmlOnlyContentGetsADerivedTextPart) {
  core::MessageRequest m = email_to("anna@example.com");
  m.content.text.clear();
  m.content.html = R"(<p>Привіт, {{name}}!</p><p><a href="https://school.example/c/1">Курс</a></p>)";
  m.variables_json = R"({"name":"Оля"})";
  const core::Id id = submit_one(std::move(m));
  engine_->TEST_poll();
  auto calls = transport_->calls_for(id);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_NE(calls[0].text.find("Привіт, Оля!"), std::string::npos) << calls[0].text;
  EXPECT_NE(calls[0].text.find("Курс (https://school.example/c/1)"), std::string::npos)
      << calls[0].text;
}

}  // namespace
}  // namespace engine
