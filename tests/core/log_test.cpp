// tests/core/log_test.cpp: core/log.cpp — line format, escaping, reopen.
#include "core/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>
#include <vector>

namespace core::log {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Each test logs into its own file and goes back to stderr at info after.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() /
            ("vestnik_log_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log");
    fs::remove(path_);
    ASSERT_TRUE(configure(Level::kDebug, path_.string()));
  }
  void TearDown() override {
    configure(Level::kInfo);
    fs::remove(path_);
    fs::remove(path_.string() + ".1");
  }
  fs::path path_;
};

// Strips the variable "ts" so lines compare exactly.
std::string without_ts(const std::string& line) {
  const std::string prefix = "{\"ts\":\"";
  EXPECT_TRUE(line.starts_with(prefix)) << line;
  const size_t end = line.find('"', prefix.size());
  EXPECT_EQ(end - prefix.size(), 24u) << line;  // 2026-11-23T15:04:05.123Z
  return "{" + line.substr(end + 2);
}

TEST_F(LogTest, WritesOneJsonObjectPerLine) {
  info("spool opened", {{"path", "/var/spool"}, {"records", 42}, {"ok", true}});
  warn("lease expired", {{"id", std::string("01J")}, {"delta", -5}, {"big", uint64_t{1} << 63}});
  error("ratio", {{"x", 0.25},
                  {"nan", std::nan("")},
                  {"inf", std::numeric_limits<double>::infinity()},
                  {"y", 1e21}});
  const auto lines = read_lines(path_);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(without_ts(lines[0]),
            R"({"level":"info","msg":"spool opened","path":"/var/spool","records":42,"ok":true})");
  EXPECT_EQ(
      without_ts(lines[1]),
      R"({"level":"warn","msg":"lease expired","id":"01J","delta":-5,"big":9223372036854775808})");
  EXPECT_EQ(without_ts(lines[2]),
            R"({"level":"error","msg":"ratio","x":0.25,"nan":null,"inf":null,"y":1e+21})");
}

TEST_F(LogTest, FiltersBelowTheMinimumLevel) {
  configure(Level::kWarn, path_.string());
  EXPECT_EQ(min_level(), Level::kWarn);
  debug("no");
  info("no");
  warn("yes");
  error("yes");
  const auto lines = read_lines(path_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"level\":\"warn\""), std::string::npos);
}

TEST_F(LogTest, EscapesMessagesKeysAndValues) {
  info("line\nbreak \"quoted\" back\\slash", {{"k\"ey", "tab\there\x01"}});
  const auto lines = read_lines(path_);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(
      without_ts(lines[0]),
      R"({"level":"info","msg":"line\nbreak \"quoted\" back\\slash","k\"ey":"tab\there\u0001"})");
}

TEST_F(LogTest, ReopenFollowsLogrotate) {
  info("before");
  fs::rename(path_, path_.string() + ".1");
  info("still old file");
  reopen();
  info("after");
  EXPECT_EQ(read_lines(path_.string() + ".1").size(), 2u);
  const auto lines = read_lines(path_);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"msg\":\"after\""), std::string::npos);
}

TEST_F(LogTest, ConcurrentLinesDoNotInterleave) {
  std::vector<std::thread> threads;
  const std::string payload(300, 'x');
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) info("concurrent", {{"t", t}, {"i", i}, {"p", payload}});
    });
  }
  for (auto& t : threads) t.join();
  const auto lines = read_lines(path_);
  ASSERT_EQ(lines.size(), 2000u);
  for (const auto& l : lines) {
    ASSERT_TRUE(l.starts_with("{\"ts\":") && l.ends_with(payload + "\"}")) << l;
  }
}

TEST_F(LogTest, UnopenableFileKeepsTheOldSink) {
  EXPECT_FALSE(configure(Level::kInfo, "/nonexistent/dir/x.log"));
  info("still here");
  EXPECT_EQ(read_lines(path_).size(), 1u);
}

TEST(LogDeathTest, FatalLogsAndExitsOne) {
  EXPECT_EXIT(fatal("cannot open spool", {{"path", "/x"}}), ::testing::ExitedWithCode(1),
              "\"level\":\"fatal\",\"msg\":\"cannot open spool\",\"path\":\"/x\"");
}

TEST(LogLevelTest, NamesRoundTrip) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kFatal}) {
    Level parsed;
    ASSERT_TRUE(parse_level(level_name(l), &parsed));
    EXPECT_EQ(parsed, l);
  }
  Level parsed;
  EXPECT_FALSE(parse_level("warning", &parsed));
  EXPECT_FALSE(parse_level("INFO", &parsed));
}

TEST(JsonEscapeTest, Table) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"plain", "plain"},
      {"\"\\", "\\\"\\\\"},
      {"\n\r\t\b\f", "\\n\\r\\t\\b\\f"},
      {std::string_view("\x00\x1f\x7f", 3), "\\u0000\\u001f\\u007f"},
      {"Іван Петренко ₴ 😀", "Іван Петренко ₴ 😀"},  // valid UTF-8 passes through
      {"a\xff"
       "b",
       "a\\ufffdb"},                                         // invalid byte
      {"\xc3", "\\ufffd"},                                   // truncated sequence
      {"\xc0\xaf", "\\ufffd\\ufffd"},                        // overlong '/'
      {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},             // surrogate
      {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"},  // above U+10FFFF
  };
  for (const auto& [in, want] : cases) {
    std::string out;
    append_json_escaped(out, in);
    EXPECT_EQ(out, want) << in;
  }
}

}  // namespace
}  // namespace core::log
