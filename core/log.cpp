// core/log.cpp: the operational log as JSON lines.
//
// A line is built in a private buffer and handed to the kernel with a single
// write(2) on an O_APPEND descriptor, so concurrent writers (threads, or a
// second process on the same file) never interleave within a line. The only
// shared state is the descriptor: writers hold it shared, reopen() and
// configure() swap it exclusively, so a descriptor is never closed while a
// write on it is in flight.
#include "core/log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <shared_mutex>

#include "core/clock.h"
#include "core/time_format.h"
#include "core/utf8.h"

namespace core::log {
namespace {

struct Sink {
  std::shared_mutex mu;
  int fd = STDERR_FILENO;  // GUARDED_BY(mu)
  std::string path;        // GUARDED_BY(mu); empty: stderr
};

Sink& sink() {
  // Never destroyed: threads may still log while static destructors run.
  static Sink* s = new Sink;
  return *s;
}

std::atomic<Level> g_min_level{Level::kInfo};

int open_log_file(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

// Writes the whole buffer. A short write (disk full, a signal) continues
// where it stopped; the line may then interleave, which beats losing it.
void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a failing log
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Length of the valid UTF-8 sequence at s[i...], or 0 if it is not one
// (overlong forms, surrogates and values above U+10FFFF are invalid).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  return core::utf8::sequence_length(reinterpret_cast<const unsigned char*>(s.data()) + i,
                                     s.size() - i);
}

void append_value(std::string& out, const Field::Value& v) {
  std::visit(
      [&out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          out += '"';
          append_json_escaped(out, x);
          out += '"';
        } else if constexpr (std::is_same_v<T, bool>) {
          out += x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          // JSON has no NaN or infinity.
          if (std::isfinite(x)) {
            fmt::format_to(std::back_inserter(out), "{}", x);
          } else {
            out += "null";
          }
        } else {
          fmt::format_to(std::back_inserter(out), "{}", x);
        }
      },
      v);
}

}  // namespace

std::string_view level_name(Level l) noexcept {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kFatal:
      return "fatal";
  }
  return "unknown";
}

bool parse_level(std::string_view s, Level* out) noexcept {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kFatal}) {
    if (level_name(l) == s) {
      *out = l;
      return true;
    }
  }
  return false;
}

bool configure(Level min_level, const std::string& path) {
  g_min_level.store(min_level, std::memory_order_relaxed);
  int fd = STDERR_FILENO;
  if (!path.empty()) {
    fd = open_log_file(path);
    if (fd < 0) return false;
  }
  Sink& s = sink();
  std::unique_lock lock(s.mu);
  if (s.fd != STDERR_FILENO) ::close(s.fd);
  s.fd = fd;
  s.path = fd == STDERR_FILENO ? std::string() : path;
  return true;
}

Level min_level() noexcept { return g_min_level.load(std::memory_order_relaxed); }

void reopen() {
  Sink& s = sink();
  std::string path;
  {
    std::shared_lock lock(s.mu);
    path = s.path;
  }
  if (path.empty()) return;
  // Open before taking the lock: writers are held only for the swap. If the
  // new file cannot be opened, keep writing to the old one (now renamed)
  // rather than lose lines.
  const int fd = open_log_file(path);
  if (fd < 0) return;
  std::unique_lock lock(s.mu);
  if (s.path != path) {  // configure() raced us; its choice wins
    ::close(fd);
    return;
  }
  if (s.fd != STDERR_FILENO) ::close(s.fd);
  s.fd = fd;
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (level < min_level() && level != Level::kFatal) return;
  std::string line;
  line.reserve(128 + msg.size() + 32 * fields.size());
  line += "{\"ts\":\"";
  line += format_rfc3339(SystemClock::instance().now());
  line += "\",\"level\":\"";
  line += level_name(level);
  line += "\",\"msg\":\"";
  append_json_escaped(line, msg);
  line += '"';
  for (const Field& f : fields) {
    line += ",\"";
    append_json_escaped(line, f.key);
    line += "\":";
    append_value(line, f.value);
  }
  line += "}\n";
  Sink& s = sink();
  std::shared_lock lock(s.mu);
  write_all(s.fd, line.data(), line.size());
}

void fatal(std::string_view m, std::initializer_list<Field> f) {
  write(Level::kFatal, m, f);
  // _Exit, not exit: other threads are still running, and static destructors
  // under their feet would turn a clean fatal into a crash. The log line is
  // already in the kernel; flush stdio for CLI output.
  std::fflush(nullptr);
  std::_Exit(1);
}

void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Peer-supplied text (SMTP replies, provider errors) may be any bytes;
      // an invalid sequence would make the whole line invalid JSON, so it
      // becomes U+FFFD.
      const size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

}  // namespace core::log
