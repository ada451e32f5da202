// tests/core/config_test.cpp: core/config.cpp — defaults, good and bad input.
#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace core {
namespace {

using namespace std::chrono_literals;

std::string source_dir() {
  if (const char* env = std::getenv("VESTNIK_SOURCE_DIR"); env && *env) return env;
  return VESTNIK_SOURCE_DIR;
}

// The message of the ConfigError that loading `toml` throws, or "" if none.
std::string load_error(std::string_view toml) {
  try {
    load_config_string(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigTest, EmptyFileGivesTheDefaults) {
  const auto c = load_config_string("");
  const auto d = default_config();
  EXPECT_EQ(c->api.listen, "127.0.0.1:8025");
  EXPECT_EQ(c->api.max_body_bytes, 64ull << 20);
  EXPECT_EQ(c->api.max_batch, 10000u);
  EXPECT_EQ(c->api.threads, 0u);
  EXPECT_EQ(c->spool.path, "./var");
  EXPECT_EQ(c->spool.retention, Duration(7 * 24h));
  EXPECT_EQ(c->retry.schedule, (std::vector<Duration>{5min, 15min, 1h, 4h}));
  EXPECT_DOUBLE_EQ(c->retry.jitter, 0.2);
  EXPECT_EQ(c->engine.max_active, 50000u);
  EXPECT_TRUE(c->engine.direct_lease);
  EXPECT_EQ(c->log.level, "info");
  EXPECT_TRUE(c->tenants.empty());
  EXPECT_FALSE(c->transports.sink.enabled);
  EXPECT_EQ(c->transports.sink.channels, std::vector<Channel>{Channel::kEmail});
  EXPECT_EQ(c->source, "<string>");
  EXPECT_EQ(d->source, "");
  EXPECT_EQ(d->api.listen, c->api.listen);
  EXPECT_EQ(d->retry.schedule, c->retry.schedule);
  EXPECT_EQ(default_config(), d);  // one shared snapshot
}

TEST(ConfigTest, ReadsEveryKind) {
  const auto c = load_config_string(R"(
[api]
listen = "[::1]:9000"
max_body_bytes = "1MiB"
max_batch = 500
metrics_require_auth = true
threads = 4
read_timeout = "10s"
idle_timeout = "2m"
max_connections = 100

[spool]
path = "/tmp/spool"
retention = "1d"
lease_timeout = "5m"
min_free_bytes = 1048576
map_size_initial = "64MiB"
map_size_max = "1GiB"
group_commit_max_ops = 1000
purge_interval = "30s"

[retry]
schedule = ["1s", "1m30s"]
jitter = 0

[engine]
max_active = 10
max_ready_per_destination = 5
ready_full_delay = "1s"
default_concurrency = 2
batch_size = 3
poll_interval = "50ms"
lease_batch = 7
direct_lease = false
shutdown_grace = "0s"

[log]
level = "debug"
file = "/tmp/vestnik.log"

[[tenants]]
id = "school-1"
keys = [{ key = "0123456789abcdef", role = "admin" }, { key = "fedcba9876543210" }]

[[tenants]]
id = "shop_2"

[transports.sink]
enabled = true
channels = ["email", "sms"]
default_reply = "250 ok"
latency = "5ms"

[[transports.sink.rules]]
match = "^defer"
reply = "451 4.7.1 try again later"
first_attempts = 2
)");
  EXPECT_EQ(c->api.listen, "[::1]:9000");
  EXPECT_EQ(c->api.max_body_bytes, 1u << 20);
  EXPECT_EQ(c->api.max_batch, 500u);
  EXPECT_TRUE(c->api.metrics_require_auth);
  EXPECT_EQ(c->api.threads, 4u);
  EXPECT_EQ(c->api.read_timeout, Duration(10s));
  EXPECT_EQ(c->api.idle_timeout, Duration(2min));
  EXPECT_EQ(c->api.max_connections, 100u);
  EXPECT_EQ(c->spool.path, "/tmp/spool");
  EXPECT_EQ(c->spool.retention, Duration(24h));
  EXPECT_EQ(c->spool.lease_timeout, Duration(5min));
  EXPECT_EQ(c->spool.min_free_bytes, 1u << 20);
  EXPECT_EQ(c->spool.map_size_initial, 64u << 20);
  EXPECT_EQ(c->spool.map_size_max, 1u << 30);
  EXPECT_EQ(c->spool.group_commit_max_ops, 1000u);
  EXPECT_EQ(c->spool.purge_interval, Duration(30s));
  EXPECT_EQ(c->retry.schedule, (std::vector<Duration>{1s, 90s}));
  EXPECT_EQ(c->retry.jitter, 0.0);
  EXPECT_EQ(c->engine.max_active, 10u);
  EXPECT_EQ(c->engine.max_ready_per_destination, 5u);
  EXPECT_EQ(c->engine.ready_full_delay, Duration(1s));
  EXPECT_EQ(c->engine.default_concurrency, 2u);
  EXPECT_EQ(c->engine.batch_size, 3u);
  EXPECT_EQ(c->engine.poll_interval, Duration(50ms));
  EXPECT_EQ(c->engine.lease_batch, 7u);
  EXPECT_FALSE(c->engine.direct_lease);
  EXPECT_EQ(c->engine.shutdown_grace, Duration(0));
  EXPECT_EQ(c->log.level, "debug");
  EXPECT_EQ(c->log.file, "/tmp/vestnik.log");
  ASSERT_EQ(c->tenants.size(), 2u);
  EXPECT_EQ(c->tenants[0].id, "school-1");
  ASSERT_EQ(c->tenants[0].keys.size(), 2u);
  EXPECT_EQ(c->tenants[0].keys[0].key, "0123456789abcdef");
  EXPECT_EQ(c->tenants[0].keys[0].role, Role::kAdmin);
  EXPECT_EQ(c->tenants[0].keys[1].role, Role::kSender);
  EXPECT_EQ(c->tenants[1].id, "shop_2");
  EXPECT_TRUE(c->tenants[1].keys.empty());
  const auto& sink = c->transports.sink;
  EXPECT_TRUE(sink.enabled);
  EXPECT_EQ(sink.channels, (std::vector<Channel>{Channel::kEmail, Channel::kSms}));
  EXPECT_EQ(sink.default_reply, "250 ok");
  EXPECT_EQ(sink.latency, Duration(5ms));
  ASSERT_EQ(sink.rules.size(), 1u);
  EXPECT_EQ(sink.rules[0].match, "^defer");
  EXPECT_EQ(sink.rules[0].reply, "451 4.7.1 try again later");
  EXPECT_EQ(sink.rules[0].first_attempts, 2u);
}

TEST(ConfigTest, AcceptsBoundaryValues) {
  for (std::string_view good : {
           "api.threads = 0",
           "api.threads = 256",
           "api.max_batch = 1",
           "api.max_batch = 10000",
           "api.max_body_bytes = \"1KiB\"",
           "api.max_body_bytes = \"1GiB\"",
           "api.listen = \"0.0.0.0:0\"",
           "api.listen = \"localhost:65535\"",
           "api.listen = \"[::]:8025\"",
           "api.listen = \"mx-1.example.com:25\"",
           "engine.max_active = 10000000",
           "retry.schedule = []",
           "retry.jitter = 0.9",
           "retry.schedule = [\"100ms\", \"30d\"]",
           "spool.map_size_initial = \"1TiB\"",
           "spool.retention = \"0s\"",
           "transports.sink.rules = []",
           "[transports.sink]\ndefault_reply = \"599\"",
       }) {
    EXPECT_EQ(load_error(good), "") << good;
  }
}

struct BadCase {
  std::string_view toml;
  std::string_view key;   // the message must start with "<key>: "
  std::string_view what;  // and contain this
};

TEST(ConfigTest, RejectsBadInputNamingTheKey) {
  const BadCase cases[] = {
      // unknown keys, at every level
      {"bogus = 1", "bogus", "unknown key"},
      {"[engine]\nmax_actve = 5", "engine.max_actve", "unknown key"},
      {"[api]\nthreds = 5", "api.threds", "unknown key"},
      {"[transports.sink]\nenable = true", "transports.sink.enable", "unknown key"},
      {"[transports.smtp]\nenabled = true", "transports.smtp", "unknown key"},
      {"[[tenants]]\nid = \"a\"\nname = \"x\"", "tenants[0].name", "unknown key"},
      {"[[tenants]]\nid = \"a\"\n[[tenants.keys]]\nkey = \"0123456789abcdef\"\nrol = \"admin\"",
       "tenants[0].keys[0].rol", "unknown key"},
      {"[[transports.sink.rules]]\nmatch = \"x\"\nreply = \"250\"\nfirst = 1",
       "transports.sink.rules[0].first", "unknown key"},
      {"[email]\nunsubscribe = \"x\"", "email.unsubscribe", "unknown key"},
      // [email]
      {"email.unsubscribe_url = \"ftp://x/u/\"", "email.unsubscribe_url", "must start with https://"},
      {"email.click_url = \"x\"", "email.click_url", "must start with https://"},
      {"email.unsubscribe_mailto = \"nobody\"", "email.unsubscribe_mailto", "an email address"},
      {"email.token_secret = \"short\"", "email.token_secret", "at least 32"},
      {"email.trace_header = \"X Bad\"", "email.trace_header", "header name"},
      {"email.trace_header = \"X-A:b\"", "email.trace_header", "header name"},
      {"email.feedback_id_sender = \"a:b\"", "email.feedback_id_sender", "must not contain ':'"},
      {"email.bulk_categories = \"marketing\"", "email.bulk_categories", "expected an array"},
      {"email.bulk_categories = [\"\"]", "email.bulk_categories[0]", "must not be empty"},
      {"email.track_open_categories = [1]", "email.track_open_categories[0]", "expected a string"},
      {"email.max_sms_segments = 0", "email.max_sms_segments", "between 1 and 255"},
      // wrong types
      {"api = 5", "api", "expected a table"},
      {"api.threads = \"4\"", "api.threads", "expected an integer"},
      {"api.threads = 4.0", "api.threads", "expected an integer"},
      {"api.listen = 8025", "api.listen", "expected a string"},
      {"api.metrics_require_auth = \"yes\"", "api.metrics_require_auth", "expected a boolean"},
      {"api.read_timeout = 30", "api.read_timeout", "expected a duration"},
      {"api.max_body_bytes = true", "api.max_body_bytes", "expected a size"},
      {"retry.schedule = \"5m\"", "retry.schedule", "expected an array"},
      {"retry.schedule = [\"5m\", 60]", "retry.schedule[1]", "expected a duration"},
      {"retry.jitter = \"0.1\"", "retry.jitter", "expected a number"},
      {"[tenants]\nid = \"a\"", "tenants", "expected an array of tables"},
      {"tenants = [1]", "tenants", "expected an array of tables"},
      // malformed values
      {"api.read_timeout = \"30\"", "api.read_timeout", "not a duration"},
      {"api.read_timeout = \"1.5s\"", "api.read_timeout", "not a duration"},
      {"api.max_body_bytes = \"64 MiB\"", "api.max_body_bytes", "not a size"},
      {"api.max_body_bytes = -1", "api.max_body_bytes", "must not be negative"},
      {"api.listen = \"localhost\"", "api.listen", "not host:port"},
      {"api.listen = \"::1:8025\"", "api.listen", "not host:port"},
      {"api.listen = \"[::1]\"", "api.listen", "not host:port"},
      {"api.listen = \"[nope]:80\"", "api.listen", "not host:port"},
      {"api.listen = \"1.2.3.256:80\"", "api.listen", "not host:port"},
      {"api.listen = \"host:65536\"", "api.listen", "not host:port"},
      {"api.listen = \"host:\"", "api.listen", "not host:port"},
      {"api.listen = \":80\"", "api.listen", "not host:port"},
      {"api.listen = \"bad_host:80\"", "api.listen", "not host:port"},
      {"spool.path = \"\"", "spool.path", "must not be empty"},
      {"log.level = \"verbose\"", "log.level", "unknown level"},
      {"log.level = \"fatal\"", "log.level", "unknown level"},
      {"log.level = \"INFO\"", "log.level", "unknown level"},
      // ranges, with the range in the message
      {"api.threads = 257", "api.threads", "must be between 0 and 256"},
      {"api.threads = -1", "api.threads", "must be between 0 and 256"},
      {"api.max_batch = 0", "api.max_batch", "must be between 1 and 10000"},
      {"api.max_batch = 10001", "api.max_batch", "must be between 1 and 10000"},
      {"api.max_body_bytes = 1023", "api.max_body_bytes", "must be between 1KiB and 1GiB"},
      {"api.max_body_bytes = \"2GiB\"", "api.max_body_bytes", "must be between 1KiB and 1GiB"},
      {"api.read_timeout = \"2h\"", "api.read_timeout", "must be between 100ms and 1h"},
      {"api.max_connections = 0", "api.max_connections", "must be between 1 and 1000000"},
      {"engine.max_active = 0", "engine.max_active", "must be between 1 and 10000000"},
      {"engine.max_active = 10000001", "engine.max_active", "must be between 1 and 10000000"},
      {"engine.batch_size = 0", "engine.batch_size", "must be between 1 and 10000"},
      {"engine.poll_interval = \"0s\"", "engine.poll_interval", "must be between 1ms and 1m"},
      {"engine.shutdown_grace = \"2h\"", "engine.shutdown_grace", "must be between 0s and 1h"},
      {"retry.jitter = 0.95", "retry.jitter", "must be between 0 and 0.9"},
      {"retry.jitter = -0.1", "retry.jitter", "must be between 0 and 0.9"},
      {"retry.jitter = nan", "retry.jitter", "must be between 0 and 0.9"},
      {"retry.schedule = [\"5m\", \"50ms\"]", "retry.schedule[1]", "must be between 100ms and 30d"},
      {"retry.schedule = [\"31d\"]", "retry.schedule[0]", "must be between 100ms and 30d"},
      {"retry.schedule = [\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\","
       "\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\",\"1s\"]",
       "retry.schedule", "at most 16 entries"},
      {"spool.map_size_initial = \"512KiB\"", "spool.map_size_initial",
       "must be between 1MiB and 1TiB"},
      {"[spool]\nmap_size_max = \"1GiB\"\nmap_size_initial = \"2GiB\"", "spool.map_size_initial",
       "must be between 1MiB and 1GiB"},
      {"spool.map_size_max = \"128TiB\"", "spool.map_size_max", "must be between 1MiB and 64TiB"},
      {"spool.lease_timeout = \"0s\"", "spool.lease_timeout", "must be between 1s and 7d"},
      {"transports.sink.latency = \"2m\"", "transports.sink.latency", "must be between 0s and 1m"},
      // tenants
      {"[[tenants]]\nkeys = []", "tenants[0].id", "is required"},
      {"[[tenants]]\nid = \"School\"", "tenants[0].id", "a-z, 0-9"},
      {"[[tenants]]\nid = \"\"", "tenants[0].id", "a-z, 0-9"},
      {"[[tenants]]\nid = \"a.b\"", "tenants[0].id", "a-z, 0-9"},
      {"[[tenants]]\nid = \"a\"\n[[tenants]]\nid = \"b\"\n[[tenants]]\nid = \"a\"", "tenants[2].id",
       "duplicate tenant id \"a\""},
      {"[[tenants]]\nid = \"a\"\nkeys = [{key = \"short\"}]", "tenants[0].keys[0].key",
       "16 to 256 characters"},
      {"[[tenants]]\nid = \"a\"\nkeys = [{key = \"0123456789 abcdef\"}]", "tenants[0].keys[0].key",
       "printable ASCII"},
      {"[[tenants]]\nid = \"a\"\nkeys = [{role = \"admin\"}]", "tenants[0].keys[0].key",
       "is required"},
      {"[[tenants]]\nid = \"a\"\nkeys = [{key = \"0123456789abcdef\", role = \"root\"}]",
       "tenants[0].keys[0].role", "unknown role \"root\""},
      {"[[tenants]]\nid = \"a\"\nkeys = [{key = \"0123456789abcdef\"}]\n"
       "[[tenants]]\nid = \"b\"\nkeys = [{key = \"0123456789abcdef\"}]",
       "tenants[1].keys[0].key", "duplicate key (already used by tenant \"a\")"},
      // sink
      {"transports.sink.channels = [\"email\", \"fax\"]", "transports.sink.channels[1]",
       "unknown channel \"fax\""},
      {"transports.sink.channels = [\"Email\"]", "transports.sink.channels[0]", "unknown channel"},
      {"transports.sink.channels = []", "transports.sink.channels", "at least one channel"},
      {"transports.sink.channels = [\"sms\", \"sms\"]", "transports.sink.channels[1]",
       "duplicate channel"},
      {"transports.sink.default_reply = \"ok\"", "transports.sink.default_reply",
       "reply code 200..599"},
      {"transports.sink.default_reply = \"199 hm\"", "transports.sink.default_reply",
       "reply code 200..599"},
      {"transports.sink.default_reply = \"600 hm\"", "transports.sink.default_reply",
       "reply code 200..599"},
      {"transports.sink.default_reply = \"2500 hm\"", "transports.sink.default_reply",
       "reply code 200..599"},
      {"transports.sink.default_reply = \"250 a\\r\\nb\"", "transports.sink.default_reply",
       "one line"},
      {"[[transports.sink.rules]]\nmatch = \"(unclosed\"\nreply = \"550 no\"",
       "transports.sink.rules[0].match", "invalid regular expression"},
      {"[[transports.sink.rules]]\nmatch = \"x\"\nreply = \"550 no\"\n"
       "[[transports.sink.rules]]\nmatch = \"[z-a]\"\nreply = \"550 no\"",
       "transports.sink.rules[1].match", "invalid regular expression"},
      {"[[transports.sink.rules]]\nreply = \"550 no\"", "transports.sink.rules[0].match",
       "is required"},
      {"[[transports.sink.rules]]\nmatch = \"x\"", "transports.sink.rules[0].reply", "is required"},
      {"[[transports.sink.rules]]\nmatch = \"x\"\nreply = \"no\"", "transports.sink.rules[0].reply",
       "reply code"},
      {"[[transports.sink.rules]]\nmatch = \"x\"\nreply = \"550\"\nfirst_attempts = -1",
       "transports.sink.rules[0].first_attempts", "must be between 0 and 1000"},
  };
  for (const auto& c : cases) {
    const std::string err = load_error(c.toml);
    EXPECT_TRUE(err.starts_with(std::string(c.key) + ": ")) << c.toml << "\n  => " << err;
    EXPECT_NE(err.find(c.what), std::string::npos) << c.toml << "\n  => " << err;
  }
}

TEST(ConfigTest, ReadsTheEmailSection) {
  auto c = load_config_string(
      "[email]\nmessage_id_domain = \"mail.school.example\"\ntrace_header = \"X-School-Id\"\n"
      "feedback_id_sender = \"school\"\nbulk_categories = [\"news\"]\n"
      "unsubscribe_url = \"https://mail.school.example/u/\"\n"
      "unsubscribe_mailto = \"unsub@mail.school.example\"\n"
      "token_secret = \"0123456789abcdef0123456789abcdef\"\n"
      "click_url = \"https://mail.school.example/c/\"\nopen_url = \"https://mail.school.example/o/\"\n"
      "track_click_categories = [\"*\"]\ntrack_open_categories = [\"news\"]\nmax_sms_segments = 3\n");
  EXPECT_EQ(c->email.message_id_domain, "mail.school.example");
  EXPECT_EQ(c->email.trace_header, "X-School-Id");
  EXPECT_EQ(c->email.feedback_id_sender, "school");
  EXPECT_EQ(c->email.bulk_categories, std::vector<std::string>{"news"});
  EXPECT_EQ(c->email.unsubscribe_url, "https://mail.school.example/u/");
  EXPECT_EQ(c->email.unsubscribe_mailto, "unsub@mail.school.example");
  EXPECT_EQ(c->email.token_secret.size(), 32u);
  EXPECT_EQ(c->email.track_click_categories, std::vector<std::string>{"*"});
  EXPECT_EQ(c->email.track_open_categories, std::vector<std::string>{"news"});
  EXPECT_EQ(c->email.max_sms_segments, 3u);
  const auto d = default_config();
  EXPECT_EQ(d->email.trace_header, "X-Vestnik-Id");
  EXPECT_TRUE(d->email.unsubscribe_url.empty());
  EXPECT_EQ(d->email.bulk_categories.size(), 4u);
}

TEST(ConfigTest, ErrorsCarryKeyAndLine) {
  try {
    load_config_string("[api]\nthreads = 4\n\nmax_batch = 0\n");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "api.max_batch");
    EXPECT_STREQ(e.what(), "api.max_batch: must be between 1 and 10000 (line 4)");
  }
}

TEST(ConfigTest, SecretsAreNotEchoed) {
  const std::string err = load_error(
      "[[tenants]]\nid = \"a\"\nkeys = [{key = \"s3cret-s3cret-s3cret\"}, "
      "{key = \"s3cret-s3cret-s3cret\"}]");
  EXPECT_NE(err, "");
  EXPECT_EQ(err.find("s3cret"), std::string::npos) << err;
}

TEST(ConfigTest, SyntaxErrorsGiveLineAndColumn) {
  try {
    load_config_string("[api]\nthreads = 4\nlisten = \"127.0.0.1:80\n", "test.toml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "");
    EXPECT_TRUE(std::string(e.what()).starts_with("test.toml:3:")) << e.what();
  }
  // A key given twice is a TOML error too.
  EXPECT_TRUE(load_error("[api]\nthreads = 1\nthreads = 2").starts_with("<string>:3:"));
}

TEST(ConfigTest, FileErrorsNameThePath) {
  try {
    load_config_file("/nonexistent/vestnik.toml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("/nonexistent/vestnik.toml: cannot read"))
        << e.what();
  }
  const auto path = std::filesystem::temp_directory_path() / "vestnik_config_test.toml";
  std::ofstream(path) << "[engine]\nmax_active = 0\n";
  try {
    load_config_file(path.string());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "engine.max_active");
  }
  std::ofstream(path) << "[engine]\nmax_active = 7\n";
  const auto c = load_config_file(path.string());
  EXPECT_EQ(c->engine.max_active, 7u);
  EXPECT_EQ(c->source, path.string());
  std::filesystem::remove(path);
}

TEST(ConfigTest, ExampleFilesLoad) {
  const auto main = load_config_file(source_dir() + "/examples/vestnik.toml");
  EXPECT_FALSE(main->tenants.empty());
  const auto sink = load_config_file(source_dir() + "/examples/sink.toml");
  EXPECT_TRUE(sink->transports.sink.enabled);
  ASSERT_GE(sink->transports.sink.rules.size(), 2u);
  EXPECT_EQ(sink->transports.sink.rules[0].match, "^defer");
  EXPECT_EQ(sink->transports.sink.rules[0].first_attempts, 2u);
  EXPECT_EQ(sink->transports.sink.rules[1].match, "^bounce");
}

// docs/configuration.md shows a complete file; it must stay loadable.
TEST(ConfigTest, DocumentedExampleLoads) {
  std::ifstream in(source_dir() + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const size_t start = doc.rfind("```toml\n");
  ASSERT_NE(start, std::string::npos);
  const size_t end = doc.find("```", start + 8);
  ASSERT_NE(end, std::string::npos);
  const auto c = load_config_string(doc.substr(start + 8, end - start - 8), "configuration.md");
  EXPECT_EQ(c->tenants.size(), 2u);
}

TEST(ConfigTest, ParsesHostPort) {
  auto hp = parse_host_port("[2001:db8::1]:443");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "2001:db8::1");
  EXPECT_EQ(hp->port, 443);
  EXPECT_TRUE(hp->is_ipv6);
  hp = parse_host_port("127.0.0.1:8025");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 8025);
  EXPECT_FALSE(hp->is_ipv6);
  EXPECT_FALSE(parse_host_port("127.0.0.1:+80"));
  EXPECT_FALSE(parse_host_port("127.0.0.1:123456"));
  EXPECT_FALSE(parse_host_port("-host:80"));
}

TEST(ConfigTest, RoleNames) {
  EXPECT_EQ(role_name(Role::kSender), "sender");
  EXPECT_EQ(role_name(Role::kAdmin), "admin");
}

}  // namespace
}  // namespace core
