// tests/core/rotating_log_test.cpp: core/rotating_log.cpp — ordering under
// concurrency, rotation by size and age, keep limit, reopen, queue bound,
// close, I/O errors.
#include "core/rotating_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/time_format.h"

namespace core {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file in `dir`, by name.
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// "line-007-xxxxxxxxxxxxxxxxxxxxx": exactly `width` bytes.
std::string numbered(int i, size_t width = 30) {
  char head[16];
  std::snprintf(head, sizeof head, "line-%03d-", i);
  std::string s = head;
  s.resize(width, 'x');
  return s;
}

auto soon() { return std::chrono::steady_clock::now() + 30s; }

class RotatingLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vestnik_rotlog_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ / "acct.jsonl";
    clock_.set(*parse_rfc3339("2026-11-24T09:00:00Z"));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  RotatingLogOptions options() {
    RotatingLogOptions o;
    o.path = path_.string();
    o.max_bytes = 0;
    o.max_age = Duration(0);
    o.clock = &clock_;
    return o;
  }

  std::unique_ptr<RotatingLog> open_log(RotatingLogOptions o) {
    auto r = RotatingLog::open(std::move(o));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
    return r ? std::move(*r) : nullptr;
  }

  fs::path dir_;
  fs::path path_;
  ManualClock clock_;
};

TEST_F(RotatingLogTest, LinesFromManyThreadsArriveWholeAndInOrder) {
  auto log = open_log(options());
  ASSERT_TRUE(log);
  constexpr int kThreads = 4;
  constexpr int kLines = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kLines; ++i) {
        // Varying lengths, so torn or merged lines would show.
        std::string line = "t" + std::to_string(t) + " " + std::to_string(i) + " ";
        line.append(static_cast<size_t>(i % 97), static_cast<char>('a' + t));
        ASSERT_TRUE(log->append(line));
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(log->flush(soon()));

  const auto lines = read_lines(path_);
  ASSERT_EQ(lines.size(), size_t{kThreads * kLines});
  std::map<int, int> next;  // thread -> next expected i
  for (const std::string& line : lines) {
    int t = -1, i = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "t%d %d ", &t, &i), 2) << line;
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    ASSERT_EQ(i, next[t]) << "thread " << t << " out of order";
    ++next[t];
    const std::string tail = line.substr(line.rfind(' ') + 1);
    ASSERT_EQ(tail, std::string(static_cast<size_t>(i % 97), static_cast<char>('a' + t)));
  }
  const auto st = log->stats();
  EXPECT_EQ(st.appended_lines, uint64_t{kThreads * kLines});
  EXPECT_EQ(st.written_lines, uint64_t{kThreads * kLines});
  EXPECT_EQ(st.dropped_lines, 0u);
  EXPECT_EQ(st.lost_lines, 0u);
}

TEST_F(RotatingLogTest, AppendsToAnExistingFile) {
  { std::ofstream(path_) << "before\n"; }
  auto log = open_log(options());
  ASSERT_TRUE(log);
  log->append("after");
  log->close();
  EXPECT_EQ(read_all(path_), "before\nafter\n");
}

// 30-byte lines (31 with the newline) and max_bytes 100: three lines per
// file, however the writer happens to batch them.
TEST_F(RotatingLogTest, RotatesBySizeNamesFilesAndKeepsTheNewest) {
  { std::ofstream(dir_ / "acct.jsonl.old") << "an operator's file\n"; }
  auto o = options();
  o.max_bytes = 100;
  o.keep = 3;
  auto log = open_log(o);
  ASSERT_TRUE(log);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->append(numbered(i)));
  ASSERT_TRUE(log->flush(soon()));

  // Six rotations within one (manual) second: the stamp, then .1 ... .5;
  // only the three newest are kept.
  EXPECT_EQ(log->stats().rotations, 6u);
  EXPECT_EQ(names_in(dir_),
            (std::vector<std::string>{"acct.jsonl", "acct.jsonl.20261124T090000.3",
                                      "acct.jsonl.20261124T090000.4",
                                      "acct.jsonl.20261124T090000.5", "acct.jsonl.old"}));
  EXPECT_EQ(read_lines(dir_ / "acct.jsonl.20261124T090000.3"),
            (std::vector<std::string>{numbered(9), numbered(10), numbered(11)}));
  EXPECT_EQ(read_lines(dir_ / "acct.jsonl.20261124T090000.5"),
            (std::vector<std::string>{numbered(15), numbered(16), numbered(17)}));
  EXPECT_EQ(read_lines(path_), (std::vector<std::string>{numbered(18), numbered(19)}));

  // A later second gets its own stamp, and the oldest (.3) goes.
  clock_.advance(Duration(61'000));
  for (int i = 20; i < 22; ++i) ASSERT_TRUE(log->append(numbered(i)));
  ASSERT_TRUE(log->flush(soon()));
  EXPECT_EQ(names_in(dir_),
            (std::vector<std::string>{"acct.jsonl", "acct.jsonl.20261124T090000.4",
                                      "acct.jsonl.20261124T090000.5", "acct.jsonl.20261124T090101",
                                      "acct.jsonl.old"}));
  EXPECT_EQ(read_lines(dir_ / "acct.jsonl.20261124T090101"),
            (std::vector<std::string>{numbered(18), numbered(19), numbered(20)}));
  EXPECT_EQ(read_lines(path_), (std::vector<std::string>{numbered(21)}));
  for (const auto& name : names_in(dir_)) {
    if (name != "acct.jsonl.old") {
      EXPECT_LE(fs::file_size(dir_ / name), 100u) << name;
    }
  }
}

TEST_F(RotatingLogTest, ALineLongerThanMaxBytesGetsAFileOfItsOwn) {
  auto o = options();
  o.max_bytes = 100;
  auto log = open_log(o);
  ASSERT_TRUE(log);
  log->append(numbered(1));
  log->append(numbered(2, 250));
  log->append(numbered(3));
  ASSERT_TRUE(log->flush(soon()));
  EXPECT_EQ(read_lines(dir_ / "acct.jsonl.20261124T090000"),
            (std::vector<std::string>{numbered(1)}));
  EXPECT_EQ(read_lines(dir_ / "acct.jsonl.20261124T090000.1"),
            (std::vector<std::string>{numbered(2, 250)}));
  EXPECT_EQ(read_lines(path_), (std::vector<std::string>{numbered(3)}));
}

TEST_F(RotatingLogTest, KeepZeroDeletesEveryRotatedFile) {
  auto o = options();
  o.max_bytes = 100;
  o.keep = 0;
  auto log = open_log(o);
  ASSERT_TRUE(log);
  for (int i = 0; i < 7; ++i) log->append(numbered(i));
  ASSERT_TRUE(log->flush(soon()));
  EXPECT_EQ(log->stats().rotations, 2u);
  EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"acct.jsonl"}));
  EXPECT_EQ(read_lines(path_), (std::vector<std::string>{numbered(6)}));
}

// Pruning deletes by name order, so a clock that stepped back must not
// give the newest file an older name.
TEST_F(RotatingLogTest, RotatedNamesKeepOrderWhenTheClockStepsBack) {
  auto o = options();
  o.max_bytes = 40;  // one 30-byte line per file
  o.keep = 2;
  auto log = open_log(o);
  ASSERT_TRUE(log);
  log->append(numbered(0));
  log->append(numbered(1));
  ASSERT_TRUE(log->flush(soon()));
  clock_.set(*parse_rfc3339("2026-11-24T08:00:00Z"));
  log->append(numbered(2));
  log->append(numbered(3));
  ASSERT_TRUE(log->flush(soon()));
  EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"acct.jsonl", "acct.jsonl.20261124T090000.1",
                                                      "acct.jsonl.20261124T090000.2"}));
  EXPECT_EQ(read_lines(dir_ / "acct.jsonl.20261124T090000.2"),
            (std::vector<std::string>{numbered(2)}));
}

TEST_F(RotatingLogTest, RotatesByAgeFromOpening) {
  auto o = options();
  o.max_age = Duration(3'600'000);
  auto log = open_log(o);
  ASSERT_TRUE(log);
  log->append("a");
  ASSERT_TRUE(log->flush(soon()));
  clock_.advance(Duration(30 * 60'000));
  log->append("b");
  ASSERT_TRUE(log->flush(soon()));
  EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"acct.jsonl"}));

  clock_.advance(Duration(31 * 60'000));  // 61 minutes after opening
  log->append("c");
  ASSERT_TRUE(log->flush(soon()));
  EXPECT_EQ(read_lines(dir_ / "acct.jsonl.20261124T100100"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(read_lines(path_), (std::vector<std::string>{"c"}));
  EXPECT_EQ(log->stats().rotations, 1u);

  // The new file's age counts from its own opening: 30 more minutes are
  // not enough.
  clock_.advance(Duration(30 * 60'000));
  log->append("d");
  ASSERT_TRUE(log->flush(soon()));
  EXPECT_EQ(read_lines(path_), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(log->stats().rotations, 1u);
}

TEST_F(RotatingLogTest, ReopenFollowsAnExternalRename) {
  auto log = open_log(options());
  ASSERT_TRUE(log);
  log->append("a");
  ASSERT_TRUE(log->flush(soon()));
  fs::rename(path_, dir_ / "acct.jsonl.1");  // what logrotate does
  log->append("b");                          // still goes to the moved file
  ASSERT_TRUE(log->flush(soon()));
  log->reopen();
  log->append("c");
  ASSERT_TRUE(log->flush(soon()));
  EXPECT_EQ(read_lines(dir_ / "acct.jsonl.1"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(read_lines(path_), (std::vector<std::string>{"c"}));
}

TEST_F(RotatingLogTest, FullQueueDropsCountsAndWarnsOnce) {
  const fs::path oplog = dir_ / "ops.log";
  ASSERT_TRUE(log::configure(log::Level::kInfo, oplog.string()));
  auto o = options();
  o.max_queued_bytes = 100;  // three 31-byte lines
  auto log = open_log(o);
  ASSERT_TRUE(log);
  log->TEST_pause_writer(true);
  EXPECT_TRUE(log->append(numbered(0)));
  EXPECT_TRUE(log->append(numbered(1)));
  EXPECT_TRUE(log->append(numbered(2)));
  EXPECT_FALSE(log->append(numbered(3)));
  EXPECT_FALSE(log->append(numbered(4)));
  EXPECT_TRUE(log->append("short"));  // 6 bytes still fit
  EXPECT_EQ(log->dropped(), 2u);
  // A paused writer cannot catch up: flush gives up at its deadline.
  const auto r = log->flush(std::chrono::steady_clock::now() + 10ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kDeadlineExceeded);

  log->TEST_pause_writer(false);
  ASSERT_TRUE(log->flush(soon()));
  EXPECT_TRUE(log->append(numbered(5)));  // room again
  ASSERT_TRUE(log->flush(soon()));
  EXPECT_EQ(read_lines(path_), (std::vector<std::string>{numbered(0), numbered(1), numbered(2),
                                                         "short", numbered(5)}));
  const auto st = log->stats();
  EXPECT_EQ(st.appended_lines, 5u);
  EXPECT_EQ(st.written_lines, 5u);
  EXPECT_EQ(st.dropped_lines, 2u);

  log::configure(log::Level::kInfo);
  const auto ops = read_lines(oplog);
  const auto warnings = std::count_if(ops.begin(), ops.end(), [](const std::string& l) {
    return l.find("lines dropped") != std::string::npos;
  });
  EXPECT_EQ(warnings, 1) << "two drops within the interval make one warning";
}

TEST_F(RotatingLogTest, CloseDrainsEvenAPausedWriterAndLaterLinesAreDropped) {
  auto log = open_log(options());
  ASSERT_TRUE(log);
  log->TEST_pause_writer(true);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log->append(numbered(i)));
  log->close();
  const auto lines = read_lines(path_);
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines.front(), numbered(0));
  EXPECT_EQ(lines.back(), numbered(99));
  EXPECT_FALSE(log->append("late"));
  EXPECT_EQ(log->dropped(), 1u);
  EXPECT_TRUE(log->flush(soon()));
  log->close();  // idempotent
  EXPECT_EQ(read_lines(path_).size(), 100u);
}

TEST_F(RotatingLogTest, OpenErrorsAreValues) {
  auto o = options();
  o.path = (dir_ / "missing-dir" / "acct.jsonl").string();
  auto r = RotatingLog::open(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kIoError);
  EXPECT_NE(r.error().message.find("missing-dir"), std::string::npos);

  o.path.clear();
  r = RotatingLog::open(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().field, "path");
}

// /dev/full accepts the open and fails every write with ENOSPC.
TEST_F(RotatingLogTest, WriteErrorsAreCountedNotThrown) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const fs::path oplog = dir_ / "ops.log";
  ASSERT_TRUE(log::configure(log::Level::kInfo, oplog.string()));
  auto o = options();
  o.path = "/dev/full";
  auto log = open_log(o);
  ASSERT_TRUE(log);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(log->append(numbered(i)));
  const auto r = log->flush(soon());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kIoError);
  log->close();
  log::configure(log::Level::kInfo);
  const auto st = log->stats();
  EXPECT_EQ(st.appended_lines, 3u);
  EXPECT_EQ(st.written_lines, 0u);
  EXPECT_EQ(st.lost_lines, 3u);
  const std::string ops = read_all(oplog);
  EXPECT_NE(ops.find("\"op\":\"write\""), std::string::npos) << ops;
}

}  // namespace
}  // namespace core
