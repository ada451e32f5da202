// core/rotating_log.h: an append-only file of text lines, written by one
// dedicated thread, rotated by size and age.
//
// Made for the accounting log (engine/accounting.h): callers are I/O threads
// that must never wait for a disk. append() only copies the line into an
// in-memory buffer under a mutex; the writer takes everything queued at
// once and hands it to the kernel with one write(2) per drain (a file
// rotation may split a drain in two). Under load the writer drains every
// batch_window without being woken, so append() makes no system call; an
// idle writer is woken by the first line of a burst. Lines are not
// fsynced one by one: this is a record for people and log shippers, not the
// durable state (that is the spool); the file is fsynced when it is rotated
// and when the log is closed.
//
// Memory is bounded: bytes queued plus bytes being written never exceed
// max_queued_bytes. A line that does not fit is dropped and counted, with a
// warning in the operational log at most once per drop_warn_interval, so a
// stuck or full disk loses accounting lines instead of stalling delivery.
//
// Rotation: before a write would take the file past max_bytes, or once the
// file is max_age old (counted from when this process opened it), the file
// is fsynced, renamed to "<path>.<UTC YYYYmmddTHHMMSS>" and a new file is
// opened; then only the `keep` newest rotated files are kept. Names always
// sort in rotation order: a second rotation within the same second gets
// ".1", ".2", ..., and so does one after the clock stepped back. An empty
// file is never rotated. A file never grows past max_bytes, except by a
// single line longer than that (it then gets a file of its own). reopen()
// is for external rotation (logrotate moves the file, then SIGHUP).
//
// Errors: open() returns the error when the file cannot be opened. Later I/O
// errors (a write, a rename, reopening) are logged (core/log.h, at most once
// per drop_warn_interval each) and never reach callers: lines that could not
// be written are counted in stats().lost_lines, and the writer tries to
// reopen the file at most once a second while it has none.
//
// Thread-safety: every method may be called from any thread, except that
// close() and the destructor must not race each other.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.h"
#include "core/result.h"

namespace core {

struct RotatingLogOptions {
  std::string path;  // the live file; rotated files are created beside it
  // Rotate before the file would grow past this many bytes; 0: never by size.
  uint64_t max_bytes = 256ull << 20;
  // Rotate once the file is this old; 0: never by age.
  Duration max_age{24LL * 3600 * 1000};
  // Rotated files kept (the oldest are deleted); 0 keeps none.
  uint32_t keep = 10;
  // Bound of bytes queued and being written; beyond it lines are dropped.
  uint64_t max_queued_bytes = 64ull << 20;
  // At most one warning per this interval about drops (and one about
  // write errors).
  std::chrono::steady_clock::duration drop_warn_interval = std::chrono::seconds(60);
  // While lines keep coming, the writer drains this often (or sooner when
  // a quarter of max_queued_bytes, at most 1 MiB, is waiting): the longest
  // a line waits in memory under load.
  std::chrono::steady_clock::duration batch_window = std::chrono::milliseconds(10);
  // How often an idle writer wakes up to check the file's age.
  std::chrono::steady_clock::duration idle_check = std::chrono::seconds(1);
  // Reads the time for max_age and for rotated file names. Must outlive the
  // log; null: the system clock.
  const Clock* clock = nullptr;
};

class RotatingLog {
 public:
  struct Stats {
    uint64_t appended_lines = 0;  // accepted by append()
    uint64_t written_lines = 0;   // handed to the kernel
    uint64_t dropped_lines = 0;   // refused: queue full, or appended after close()
    uint64_t lost_lines = 0;      // accepted, but a write or an open failed
    uint64_t rotations = 0;
  };

  // Opens (creates 0640, or appends to) options.path and starts the writer
  // thread. Errors: kInvalidArgument (field "path") for an empty path,
  // kIoError when the file cannot be opened.
  static Result<std::unique_ptr<RotatingLog>> open(RotatingLogOptions options);

  // Closes (see close()).
  ~RotatingLog();
  RotatingLog(const RotatingLog&) = delete;
  RotatingLog& operator=(const RotatingLog&) = delete;

  // Queues `line` plus a newline. Never blocks on I/O: a copy into memory
  // under a mutex held for no longer than that (plus a wake-up of the
  // writer when it is idle or the queue passes its high-water mark).
  // Returns false when the line was dropped (queue full or closed).
  // REQUIRES: `line` contains no '\n' (one line per call).
  bool append(std::string_view line);

  // Asks the writer to close and reopen the file at `path` (after logrotate
  // moved it). Returns at once; lines appended after this call go to the
  // new file.
  void reopen();

  // Waits until every line appended before the call has been written (or
  // counted as lost). Errors: kDeadlineExceeded at `deadline`; kIoError
  // when the writer's last write or open failed.
  Status flush(std::chrono::steady_clock::time_point deadline);

  // Writes what is queued, fsyncs and closes the file, joins the writer.
  // Later append() calls drop their line. Idempotent.
  void close();

  uint64_t dropped() const noexcept;  // stats().dropped_lines
  Stats stats() const;
  const std::string& path() const noexcept { return options_.path; }

  // Test hook: while paused the writer takes nothing from the queue (so the
  // queue bound can be reached); close() still drains.
  void TEST_pause_writer(bool paused);

 private:
  explicit RotatingLog(RotatingLogOptions options);

  void run_writer();
  void write_batch(const std::string& batch, uint64_t lines);
  size_t write_all(const char* p, size_t n);
  void rotate();
  void open_file(bool reopen);
  void ensure_file();
  void warn_io_error(std::string_view what, int err);

  const RotatingLogOptions options_;
  const Clock& clock_;
  const uint64_t high_water_;  // pending bytes that make a drain urgent

  mutable std::mutex mu_;
  std::condition_variable writer_cv_;  // the writer waits here for work
  std::condition_variable done_cv_;    // flush() waits here for the writer
  std::string pending_;                // GUARDED_BY(mu_): lines not yet taken by the writer
  uint64_t pending_lines_ = 0;         // GUARDED_BY(mu_)
  uint64_t writing_bytes_ = 0;         // GUARDED_BY(mu_): taken, write in progress
  uint64_t appended_bytes_ = 0;        // GUARDED_BY(mu_): total accepted, ever
  uint64_t done_bytes_ = 0;            // GUARDED_BY(mu_): total written or lost, ever
  bool reopen_requested_ = false;      // GUARDED_BY(mu_)
  bool closing_ = false;               // GUARDED_BY(mu_)
  bool paused_ = false;                // GUARDED_BY(mu_)
  bool writer_idle_ = false;           // GUARDED_BY(mu_): waiting for a first line
  bool urgent_ = false;                // GUARDED_BY(mu_): drain now (flush, reopen, high water)
  bool healthy_ = true;                // GUARDED_BY(mu_): the last write/open worked
  Stats stats_;                        // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_drop_warning_{};  // GUARDED_BY(mu_)

  // Writer-thread only (and open(), before the thread starts).
  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  TimePoint opened_at_{};
  std::chrono::steady_clock::time_point last_open_try_{};
  std::chrono::steady_clock::time_point last_error_warning_{};
  // Results of one drain, published into stats_/healthy_ under mu_.
  uint64_t w_written_ = 0;
  uint64_t w_lost_ = 0;
  uint64_t w_rotations_ = 0;
  bool w_healthy_ = true;

  std::mutex close_mu_;  // serialises close() callers
  std::thread writer_;
};

}  // namespace core
