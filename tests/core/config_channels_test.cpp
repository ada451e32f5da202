// tests/core/config_channels_test.cpp: core/config_channels.cpp — [http] and
// the messenger and SMS providers: defaults, a full file, token files, and
// every validation rule naming its key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/config.h"

namespace core {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string load_error(const std::string& toml) {
  try {
    load_config_string(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigChannels, DefaultsServeNoProviderAndKnowTheRealEndpoints) {
  const auto c = default_config();
  EXPECT_TRUE(c->telegram.accounts.empty());
  EXPECT_EQ(c->telegram.base_url, "https://api.telegram.org");
  EXPECT_EQ(c->telegram.per_recipient_interval, 1000ms);
  EXPECT_EQ(c->viber.base_url, "https://chatapi.viber.com");
  EXPECT_EQ(c->vk.api_version, "5.199");
  EXPECT_EQ(c->whatsapp.base_url, "https://graph.facebook.com");
  EXPECT_EQ(c->whatsapp.api_version, "v21.0");
  EXPECT_EQ(c->sms.base_url, "https://api.twilio.com");
  EXPECT_TRUE(c->http.verify_peer);
  EXPECT_EQ(c->http.request_timeout, 30'000ms);
}

TEST(ConfigChannels, AFullFileReadsEveryKey) {
  const fs::path token = fs::temp_directory_path() /
                         ("vestnik_config_channels_" + std::to_string(::getpid()) + ".token");
  std::ofstream(token) << "123456:FROMFILE\nsecond line ignored\n";
  const auto c = load_config_string(R"(
[http]
ca_file = "/etc/ssl/certs/ca-certificates.crt"
verify_peer = false
connect_timeout = "2s"
tls_timeout = "3s"
request_timeout = "4s"
idle_timeout = "5s"
max_connections_per_host = 7

[telegram]
base_url = "https://127.0.0.1:8443/tg"
per_chat_interval = "0s"
[[telegram.bots]]
name = "school"
token_file = ")" + token.string() + R"("
categories = ["notifications"]
webhook_secret = "s3cr3t_-"
[[telegram.bots]]
name = "news"
token = "654321:INLINE"

[[viber.accounts]]
name = "main"
token = "viber-token"
sender_name = "School"
sender_avatar = "https://example.com/a.png"

[vk]
api_version = "5.131"
[[vk.communities]]
name = "club"
token = "vk1.a.x"
webhook_secret = "vs"
confirmation = "abc123"

[whatsapp]
app_secret = "as"
verify_token = "vt"
[[whatsapp.numbers]]
name = "main"
token = "EAAG"
phone_number_id = "106540352242922"
template_name = "order_update"
template_language = "uk"
template_params = ["order.id", "name"]

[sms]
status_callback_base = "https://vestnik.example.com/v1/callbacks/sms/"
validity_period = 3600
[[sms.twilio]]
name = "us"
account_sid = "AC0123"
token = "tok"
from = "MG0123"
)");
  fs::remove(token);
  EXPECT_FALSE(c->http.verify_peer);
  EXPECT_EQ(c->http.tls_timeout, 3000ms);
  EXPECT_EQ(c->http.max_connections_per_host, 7u);
  ASSERT_EQ(c->telegram.accounts.size(), 2u);
  EXPECT_EQ(c->telegram.accounts[0].token, "123456:FROMFILE");
  EXPECT_EQ(c->telegram.accounts[0].categories, std::vector<std::string>{"notifications"});
  EXPECT_EQ(c->telegram.accounts[1].token, "654321:INLINE");
  EXPECT_EQ(c->telegram.per_recipient_interval, 0ms);
  EXPECT_EQ(c->telegram.base_url, "https://127.0.0.1:8443/tg");
  EXPECT_EQ(c->viber.accounts.at(0).sender_name, "School");
  EXPECT_EQ(c->vk.api_version, "5.131");
  EXPECT_EQ(c->vk.accounts.at(0).confirmation, "abc123");
  EXPECT_EQ(c->whatsapp.accounts.at(0).template_params.size(), 2u);
  EXPECT_EQ(c->whatsapp.app_secret, "as");
  EXPECT_EQ(c->sms.accounts.at(0).from, "MG0123");
  EXPECT_EQ(c->sms.validity_period_s, 3600u);
}

TEST(ConfigChannels, EveryRefusalNamesItsKey) {
  auto starts = [](const std::string& toml, const std::string& prefix) {
    const std::string e = load_error(toml);
    EXPECT_EQ(e.rfind(prefix, 0), 0u) << "got: " << e;
  };
  starts("[telegram]\nbase_url = \"ftp://x\"\n", "telegram.base_url:");
  starts("[telegram]\nbase_url = \"https://x/?q=1\"\n", "telegram.base_url:");
  starts("[[telegram.bots]]\ntoken = \"t\"\n", "telegram.bots[0].name:");
  starts("[[telegram.bots]]\nname = \"Bad Name\"\ntoken = \"t\"\n", "telegram.bots[0].name:");
  starts("[[telegram.bots]]\nname = \"a\"\n", "telegram.bots[0].token:");
  starts("[[telegram.bots]]\nname = \"a\"\ntoken = \"t\"\ntoken_file = \"/nonexistent/x\"\n",
         "telegram.bots[0].token_file:");
  starts("[[telegram.bots]]\nname = \"a\"\ntoken_file = \"/nonexistent/x\"\n",
         "telegram.bots[0].token_file:");
  starts("[[telegram.bots]]\nname = \"a\"\ntoken = \"t\"\n[[telegram.bots]]\nname = \"a\"\ntoken = \"u\"\n",
         "telegram.bots[1].name:");
  starts("[[telegram.bots]]\nname = \"a\"\ntoken = \"t\"\ntenants = [\"nobody\"]\n",
         "telegram.bots[0].tenants[0]:");
  starts("[[telegram.bots]]\nname = \"a\"\ntoken = \"t\"\nwebhook_secret = \"has space\"\n",
         "telegram.bots[0].webhook_secret:");
  starts("[[telegram.bots]]\nname = \"a\"\ntoken = \"t\"\nsender_name = \"x\"\n",
         "telegram.bots[0].sender_name:");  // a Viber key: unknown here
  starts("[[viber.accounts]]\nname = \"a\"\ntoken = \"t\"\n", "viber.accounts[0].sender_name:");
  starts("[[whatsapp.numbers]]\nname = \"a\"\ntoken = \"t\"\nphone_number_id = \"12a\"\n",
         "whatsapp.numbers[0].phone_number_id:");
  starts("[[sms.twilio]]\nname = \"a\"\ntoken = \"t\"\naccount_sid = \"XX\"\nfrom = \"+1\"\n",
         "sms.twilio[0].account_sid:");
  starts("[[sms.twilio]]\nname = \"a\"\ntoken = \"t\"\naccount_sid = \"AC1\"\nfrom = \"15551\"\n",
         "sms.twilio[0].from:");
  starts("[sms]\nvalidity_period = 40000\n", "sms.validity_period:");
  starts("[http]\nrequest_timeout = \"1ms\"\n", "http.request_timeout:");
  starts("[http]\nmax_connections_per_host = 0\n", "http.max_connections_per_host:");
  starts("[http]\nbogus = 1\n", "http.bogus:");
  starts("[viber]\nper_chat_interval = \"1s\"\n", "viber.per_chat_interval:");
}

}  // namespace
}  // namespace core
