// tests/queue/spool_templates_test.cpp: stored templates are versioned,
// never overwritten, per tenant, and survive a reopen of the LMDB spool.
#include "spool_fixture.h"

namespace queue::testing {
namespace {

core::TemplateSource source(std::string subject) {
  core::TemplateSource s;
  s.channel = core::Channel::kEmail;
  s.subject = std::move(subject);
  s.html = "<p>Вітаємо, {{name}}!</p>";
  s.text = "Вітаємо, {{name}}!";
  s.preheader = "pre";
  s.buttons_json = R"([{"text":"OK","url":"https://x.example"}])";
  s.strict = true;
  s.locale = "uk";
  s.time_zone = "Europe/Kyiv";
  return s;
}

TEST_F(SpoolTest, TemplatePutCreatesVersionsAndGetReturnsLatestOrAny) {
  auto v1 = spool_->put_template_sync("school", "order_paid", source("v1"));
  ASSERT_TRUE(v1.has_value()) << v1.error().to_string();
  EXPECT_EQ(v1->version, 1u);
  clock_.advance(core::Duration(1000));
  auto v2 = spool_->put_template_sync("school", "order_paid", source("v2"));
  ASSERT_TRUE(v2.has_value());
  EXPECT_EQ(v2->version, 2u);

  auto latest = spool_->get_template("school", "order_paid");
  ASSERT_TRUE(latest.has_value() && latest->has_value());
  EXPECT_EQ((*latest)->version, 2u);
  EXPECT_EQ((*latest)->id, "order_paid");
  EXPECT_EQ((*latest)->source.subject, "v2");
  EXPECT_EQ((*latest)->source.html, "<p>Вітаємо, {{name}}!</p>");
  EXPECT_EQ((*latest)->source.channel, core::Channel::kEmail);
  EXPECT_TRUE((*latest)->source.strict);
  EXPECT_EQ((*latest)->source.time_zone, "Europe/Kyiv");
  EXPECT_EQ((*latest)->source.buttons_json, source("").buttons_json);
  EXPECT_EQ((*latest)->created_at, v2->created_at);

  auto first = spool_->get_template("school", "order_paid", 1);
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_EQ((*first)->source.subject, "v1");
  auto none = spool_->get_template("school", "order_paid", 3);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
}

TEST_F(SpoolTest, TemplatesAreSeparatePerTenantAndId) {
  ASSERT_TRUE(spool_->put_template_sync("school", "a", source("school a")));
  ASSERT_TRUE(spool_->put_template_sync("school", "ab", source("school ab")));
  ASSERT_TRUE(spool_->put_template_sync("other", "a", source("other a")));
  auto a = spool_->get_template("school", "a");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->source.subject, "school a");
  EXPECT_EQ((*a)->version, 1u);  // "ab" is not a later version of "a"
  auto missing = spool_->get_template("nobody", "a");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());

  auto list = spool_->list_templates("school");
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "a");
  EXPECT_EQ((*list)[1].id, "ab");
  auto other = spool_->list_templates("other");
  ASSERT_TRUE(other.has_value());
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].source.subject, "other a");
}

TEST_F(SpoolTest, TemplateDeleteWritesATombstoneAndKeepsOldVersions) {
  ASSERT_TRUE(spool_->put_template_sync("school", "welcome", source("v1")));
  auto del = spool_->delete_template_sync("school", "welcome");
  ASSERT_TRUE(del.has_value());
  EXPECT_EQ(del->version, 2u);
  EXPECT_TRUE(del->deleted);

  auto latest = spool_->get_template("school", "welcome");
  ASSERT_TRUE(latest && *latest);
  EXPECT_TRUE((*latest)->deleted);
  auto v1 = spool_->get_template("school", "welcome", 1);
  ASSERT_TRUE(v1 && *v1);
  EXPECT_EQ((*v1)->source.subject, "v1");  // queued messages still render it
  auto list = spool_->list_templates("school");
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE(list->empty());

  auto again = spool_->delete_template_sync("school", "welcome");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, core::Errc::kNotFound);
  auto never = spool_->delete_template_sync("school", "never");
  ASSERT_FALSE(never.has_value());
  EXPECT_EQ(never.error().code, core::Errc::kNotFound);

  auto v3 = spool_->put_template_sync("school", "welcome", source("v3"));
  ASSERT_TRUE(v3.has_value());
  EXPECT_EQ(v3->version, 3u);
  EXPECT_FALSE(v3->deleted);
}

TEST_F(SpoolTest, ContentKeepsTheTemplateVersionAndMessengerParts) {
  NewMessage m = make_message();
  m.request.content = core::Content{"order_paid", "", "", "", 4, "preview", "[]"};
  const core::Id id = enqueue_one(std::move(m));
  auto v = spool_->get(id);
  ASSERT_TRUE(v && *v);
  EXPECT_EQ((*v)->content.template_id, "order_paid");
  EXPECT_EQ((*v)->content.template_version, 4u);
  EXPECT_EQ((*v)->content.preheader, "preview");
  EXPECT_EQ((*v)->content.buttons_json, "[]");
}

}  // namespace
}  // namespace queue::testing
