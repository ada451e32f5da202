// core/id.h: time-ordered 128-bit ids (ULID layout).
//
// 48 bits of Unix milliseconds, then 80 bits that are random for the first id
// of a millisecond and incremented for the following ones, so ids from one
// generator sort in creation order. The binary form (16 bytes, big-endian) is
// the spool key: keys of new messages land at the end of the B-tree. The text
// form is 26 characters of Crockford base32, also sortable.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace core {

class Id {
 public:
  static constexpr size_t kBytes = 16;
  static constexpr size_t kTextLength = 26;

  Id() noexcept : bytes_{} {}
  explicit Id(const std::array<uint8_t, kBytes>& b) noexcept : bytes_(b) {}

  // Parses the 26-character text form (case-insensitive; I/L read as 1, O as 0).
  // Refuses other lengths, other characters and values above 2^128-1 (a
  // first character beyond '7').
  static std::optional<Id> parse(std::string_view text) noexcept;
  // REQUIRES: raw.size() == kBytes.
  static Id from_bytes(std::string_view raw) noexcept;

  std::string to_string() const;  // 26 characters, uppercase
  std::string_view bytes() const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()), kBytes};
  }
  int64_t unix_ms() const noexcept;
  bool is_nil() const noexcept;

  friend auto operator<=>(const Id&, const Id&) = default;

 private:
  std::array<uint8_t, kBytes> bytes_;
};

struct IdHash {
  size_t operator()(const Id& id) const noexcept;
};

// Thread-safe; monotonic per generator even if the clock steps back (ids then
// keep the last millisecond and count up). Seeded from std::random_device, so
// two generators, or two processes, do not repeat each other's ids.
class IdGenerator {
 public:
  explicit IdGenerator(const Clock& clock);
  Id next();

 private:
  const Clock& clock_;
  std::mutex mu_;
  int64_t last_ms_ = -1;           // GUARDED_BY(mu_); -1: no id made yet
  std::array<uint8_t, 10> rnd_{};  // GUARDED_BY(mu_)
  std::mt19937_64 rng_;            // GUARDED_BY(mu_)
};

}  // namespace core
