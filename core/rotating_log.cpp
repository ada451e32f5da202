// core/rotating_log.cpp: the writer thread behind RotatingLog.
//
// Two buffers change hands under mu_: callers append to pending_, the writer
// swaps it for its own (already written, cleared) buffer and writes outside
// the lock. In steady state nothing is allocated: the two buffers keep their
// capacity.
//
// Waking a thread is a system call (futex), about as costly as formatting a
// line, so the hot path avoids it: a writer that found work drains again
// after batch_window on its own, and callers wake it only when it is idle
// (the first line after a quiet spell) or when the queue passes its high
// water mark (a burst that should not wait for the window). Under load many
// lines thus go out in one write(2), and append() is a lock and a memcpy.
//
// Everything about the file (descriptor, size, age, rotation) belongs to the
// writer thread alone, so none of it needs a lock.
#include "core/rotating_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <utility>
#include <vector>

#include "core/log.h"

namespace core {
namespace {

using log::Field;
namespace fs = std::filesystem;

constexpr auto kReopenRetry = std::chrono::seconds(1);
// A burst can grow the buffers to max_queued_bytes; above this they are
// given back once written, so a rare burst does not pin memory for good.
constexpr size_t kKeepCapacity = 4u << 20;
// Queued bytes that make the writer drain before its batch window is over.
constexpr uint64_t kMaxHighWater = 1u << 20;

int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

// "20261124T090000": sorts as text in time order; no characters that need
// quoting in a shell.
std::string compact_utc(TimePoint t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{day};
  const int64_t s = (secs - day).count();
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), s / 3600,
                     s / 60 % 60, s % 60);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A rotated file: "<base>.YYYYmmddTHHMMSS" (n = 0) or "<base>.YYYYmmddTHHMMSS.n".
struct Rotated {
  std::string stamp;
  uint64_t n = 0;
  fs::path path;

  bool operator<(const Rotated& o) const { return std::tie(stamp, n) < std::tie(o.stamp, o.n); }
};

bool parse_rotated_name(std::string_view name, std::string_view base, Rotated* r) {
  if (name.size() < base.size() + 16 || !name.starts_with(base) || name[base.size()] != '.') {
    return false;
  }
  std::string_view rest = name.substr(base.size() + 1);
  const std::string_view ts = rest.substr(0, 15);
  if (!all_digits(ts.substr(0, 8)) || ts[8] != 'T' || !all_digits(ts.substr(9, 6))) return false;
  rest.remove_prefix(15);
  r->n = 0;
  if (!rest.empty()) {
    if (rest[0] != '.' || !all_digits(rest.substr(1)) || rest.size() > 10) return false;
    for (char c : rest.substr(1)) r->n = r->n * 10 + static_cast<uint64_t>(c - '0');
  }
  r->stamp = std::string(ts);
  return true;
}

// The rotated files of `live`, oldest first. Only names this class creates
// are listed; files an operator or logrotate put there are left alone.
std::vector<Rotated> list_rotated(const fs::path& live, std::error_code& ec) {
  const fs::path dir = live.parent_path().empty() ? fs::path(".") : live.parent_path();
  const std::string base = live.filename().string();
  std::vector<Rotated> found;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    Rotated r;
    if (parse_rotated_name(it->path().filename().string(), base, &r)) {
      r.path = it->path();
      found.push_back(std::move(r));
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

void fsync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);  // best effort: the rename is what matters, not its durability
  ::close(fd);
}

}  // namespace

Result<std::unique_ptr<RotatingLog>> RotatingLog::open(RotatingLogOptions options) {
  if (options.path.empty()) return invalid_argument("path", "must not be empty");
  std::unique_ptr<RotatingLog> log(new RotatingLog(std::move(options)));
  // Opened here, not by the writer, so a bad path is an error at startup
  // rather than a warning later.
  const int fd = open_append(log->options_.path);
  if (fd < 0) {
    return make_error(Errc::kIoError,
                      "cannot open " + log->options_.path + ": " + std::strerror(errno), "path");
  }
  log->fd_ = fd;
  struct stat st {};
  log->file_bytes_ = ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  log->opened_at_ = log->clock_.now();
  log->writer_ = std::thread([raw = log.get()] { raw->run_writer(); });
  return log;
}

RotatingLog::RotatingLog(RotatingLogOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : SystemClock::instance()),
      high_water_(
          std::max<uint64_t>(1, std::min<uint64_t>(options_.max_queued_bytes / 4, kMaxHighWater))) {
  // So that the first drop is reported at once.
  last_drop_warning_ = std::chrono::steady_clock::now() - options_.drop_warn_interval;
  last_error_warning_ = last_drop_warning_;
}

RotatingLog::~RotatingLog() { close(); }

bool RotatingLog::append(std::string_view line) {
  assert(line.find('\n') == std::string_view::npos);
  const uint64_t need = line.size() + 1;
  bool wake = false;
  bool warn = false;
  uint64_t dropped_total = 0;
  {
    std::lock_guard lock(mu_);
    if (closing_ || pending_.size() + writing_bytes_ + need > options_.max_queued_bytes) {
      dropped_total = ++stats_.dropped_lines;
      if (!closing_) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_drop_warning_ >= options_.drop_warn_interval) {
          last_drop_warning_ = now;
          warn = true;
        }
      }
    } else {
      const size_t before = pending_.size();
      pending_.append(line);
      pending_ += '\n';
      if (before < high_water_ && pending_.size() >= high_water_ && !urgent_) {
        urgent_ = true;
        wake = true;
      } else {
        wake = before == 0 && writer_idle_;
      }
      ++pending_lines_;
      appended_bytes_ += need;
      ++stats_.appended_lines;
    }
  }
  if (warn) {
    // Outside the lock: the operational log does its own write(2).
    log::warn("log queue full, lines dropped (the disk is slow or stuck)",
              {Field("path", options_.path), Field("dropped_total", dropped_total),
               Field("max_queued_bytes", options_.max_queued_bytes)});
  }
  if (wake) writer_cv_.notify_one();
  return dropped_total == 0;
}

void RotatingLog::reopen() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    reopen_requested_ = true;
    urgent_ = true;
  }
  writer_cv_.notify_one();
}

Status RotatingLog::flush(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  const uint64_t target = appended_bytes_;
  if (done_bytes_ < target && !urgent_) {
    urgent_ = true;  // do not wait for the batch window
    writer_cv_.notify_one();
  }
  if (!done_cv_.wait_until(lock, deadline, [&] { return done_bytes_ >= target; })) {
    return make_error(Errc::kDeadlineExceeded, "log writer did not catch up: " + options_.path);
  }
  if (!healthy_) return make_error(Errc::kIoError, "log file cannot be written: " + options_.path);
  return {};
}

void RotatingLog::close() {
  std::lock_guard close_lock(close_mu_);
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  writer_cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

uint64_t RotatingLog::dropped() const noexcept {
  std::lock_guard lock(mu_);
  return stats_.dropped_lines;
}

RotatingLog::Stats RotatingLog::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void RotatingLog::TEST_pause_writer(bool paused) {
  {
    std::lock_guard lock(mu_);
    paused_ = paused;
  }
  writer_cv_.notify_one();
}

// The writer's loop: wait (idle: for a first line; busy: for the batch
// window or an urgent request), take everything queued, write it outside
// the lock, report back, repeat. On close it keeps going until the queue is
// empty, then fsyncs and closes the file.
void RotatingLog::run_writer() {
  std::string batch;
  bool idle = true;
  std::unique_lock lock(mu_);
  for (;;) {
    if (idle) {
      writer_idle_ = true;
      writer_cv_.wait_for(lock, options_.idle_check,
                          [&] { return closing_ || (!paused_ && (urgent_ || !pending_.empty())); });
      writer_idle_ = false;
    } else {
      writer_cv_.wait_for(lock, options_.batch_window, [&] { return closing_ || urgent_; });
    }
    const bool closing = closing_;
    if (paused_ && !closing) {
      idle = true;
      continue;
    }
    urgent_ = false;
    const bool reopen = std::exchange(reopen_requested_, false);
    batch.swap(pending_);
    const uint64_t lines = std::exchange(pending_lines_, 0);
    writing_bytes_ = batch.size();
    lock.unlock();

    if (reopen) open_file(/*reopen=*/true);
    ensure_file();
    // Age is checked on every wake-up, idle ones included, so a quiet file
    // still rotates on time; an empty one is left alone.
    if (fd_ >= 0 && file_bytes_ > 0 && options_.max_age.count() > 0 &&
        clock_.now() - opened_at_ >= options_.max_age) {
      rotate();
    }
    if (!batch.empty()) write_batch(batch, lines);

    lock.lock();
    const uint64_t done_before = done_bytes_;
    done_bytes_ += batch.size();
    writing_bytes_ = 0;
    stats_.written_lines += w_written_;
    stats_.lost_lines += w_lost_;
    stats_.rotations += w_rotations_;
    w_written_ = w_lost_ = w_rotations_ = 0;
    healthy_ = w_healthy_;
    batch.clear();
    // Give a burst's memory back once the burst is over, not while it
    // lasts (re-growing a buffer line by line costs page faults).
    if (batch.capacity() > kKeepCapacity && pending_.size() < kKeepCapacity / 4) {
      batch.shrink_to_fit();
    }
    done_cv_.notify_all();
    if (closing && pending_.empty()) break;
    // Found nothing: the burst is over, wait to be woken. Found lines:
    // more are probably coming, drain again after the window.
    idle = done_bytes_ == done_before;
  }
  lock.unlock();
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

// Writes one drain, splitting it at line boundaries where the file must
// rotate so that no file grows past max_bytes.
void RotatingLog::write_batch(const std::string& b, uint64_t lines) {
  const uint64_t max = options_.max_bytes;
  size_t pos = 0;
  while (pos < b.size() && fd_ >= 0) {
    const char* p = b.data() + pos;
    size_t n = b.size() - pos;
    if (max > 0 && file_bytes_ + n > max) {
      const uint64_t room = max > file_bytes_ ? max - file_bytes_ : 0;
      size_t cut = 0;
      if (room > 0) {
        const void* nl = ::memrchr(p, '\n', std::min<uint64_t>(room, n));
        if (nl) cut = static_cast<size_t>(static_cast<const char*>(nl) - p) + 1;
      }
      if (cut == 0) {
        if (file_bytes_ > 0) {
          rotate();
          continue;
        }
        // One line longer than max_bytes: it gets a file of its own.
        const void* nl = std::memchr(p, '\n', n);
        cut = static_cast<size_t>(static_cast<const char*>(nl) - p) + 1;
      }
      n = cut;
    }
    const size_t w = write_all(p, n);
    file_bytes_ += w;
    if (w < n) break;
    pos += n;
  }
  // Whatever was not written is lost: counting its lines is cheap next to
  // the failure, and the common path never has to count.
  const uint64_t lost = pos < b.size() ? std::count(b.begin() + pos, b.end(), '\n') : 0;
  w_written_ += lines - lost;
  w_lost_ += lost;
  if (lost == 0) w_healthy_ = true;
}

// Writes all of [p, p+n) unless write(2) fails; returns the bytes written.
size_t RotatingLog::write_all(const char* p, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd_, p + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      warn_io_error("write", errno);
      w_healthy_ = false;
      break;
    }
    done += static_cast<size_t>(w);
  }
  return done;
}

void RotatingLog::rotate() {
  if (fd_ >= 0) {
    // Rotation is the moment a file becomes final: make it durable once.
    ::fsync(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  // The new name must sort after every existing one, or pruning would
  // take it for the oldest: a second rotation within one second gets ".1",
  // and a clock that stepped back reuses the newest stamp with the next n.
  std::error_code ec;
  std::vector<Rotated> rotated = list_rotated(options_.path, ec);
  Rotated next;
  next.stamp = compact_utc(clock_.now());
  if (!rotated.empty() && rotated.back().stamp >= next.stamp) {
    next.stamp = rotated.back().stamp;
    next.n = rotated.back().n + 1;
  }
  std::string target = options_.path + "." + next.stamp;
  if (next.n > 0) target += "." + std::to_string(next.n);
  const bool renamed = ::rename(options_.path.c_str(), target.c_str()) == 0;
  if (!renamed) warn_io_error("rename", errno);
  open_file(/*reopen=*/false);
  if (!renamed) {
    // Appending to the same file again: pretend it is new, or every
    // following write would retry the rename at once.
    file_bytes_ = 0;
    return;
  }
  ++w_rotations_;
  fsync_directory(fs::path(options_.path).parent_path());
  log::info("log rotated", {Field("path", options_.path), Field("to", target)});
  if (ec) {
    warn_io_error("list rotated files", ec.value());
    return;
  }
  // Keep the `keep` newest; the one just made is the newest of all.
  next.path = target;
  rotated.push_back(std::move(next));
  for (size_t i = 0; i + options_.keep < rotated.size(); ++i) {
    if (!fs::remove(rotated[i].path, ec) && ec) warn_io_error("delete rotated file", ec.value());
  }
}

void RotatingLog::open_file(bool reopen) {
  last_open_try_ = std::chrono::steady_clock::now();
  const int fd = open_append(options_.path);
  if (fd < 0) {
    warn_io_error(reopen ? "reopen" : "open", errno);
    // A failed reopen keeps the old descriptor (the file was moved, not
    // lost): lines keep flowing into it rather than into nowhere.
    if (fd_ < 0) w_healthy_ = false;
    return;
  }
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
  }
  fd_ = fd;
  struct stat st {};
  file_bytes_ = ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  opened_at_ = clock_.now();
  w_healthy_ = true;
}

void RotatingLog::ensure_file() {
  if (fd_ >= 0) return;
  if (std::chrono::steady_clock::now() - last_open_try_ < kReopenRetry) return;
  open_file(/*reopen=*/false);
}

void RotatingLog::warn_io_error(std::string_view what, int err) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_error_warning_ < options_.drop_warn_interval) return;
  last_error_warning_ = now;
  log::error("log file error",
             {Field("path", options_.path), Field("op", what), Field("error", std::strerror(err))});
}

}  // namespace core
