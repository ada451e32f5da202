// queue/record_format.h: every key and value layout of the spool, in one
// place (STYLE.md R5). queue/FORMAT.md explains them; keep the two in step.
//
// Private to queue/. Keys are built in fixed-size stack buffers so the
// writer's hot path allocates nothing for them. Integers in keys are
// big-endian so that memcmp order is numeric order. Values of the messages,
// content and events tables are one version byte followed by a serialized
// vestnik.spool.v1 protobuf message (proto/vestnik/spool/v1/records.proto);
// the other tables hold the fixed raw layouts documented below.
//
// Everything here is persisted: never change a layout in place. A new layout
// gets a new version byte (values) or a new format version (keys), and the
// code keeps reading the old one.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/id.h"
#include "core/message.h"
#include "core/result.h"

namespace queue::format {

// Stored in kMeta under kMetaFormatKey as 4 bytes big-endian. Bumped when a
// key layout or the meaning of a table changes; open() refuses a spool whose
// format is newer than this build's.
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr std::string_view kMetaFormatKey = "format";

// First byte of every protobuf value. Bumped when a value's encoding changes
// in a way protobuf's own compatibility rules do not cover.
inline constexpr uint8_t kRecordVersion = 1;

// ---- big-endian integers ---------------------------------------------------

inline void put_be64(char* p, uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}
inline uint64_t get_be64(const char* p) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline void put_be32(char* p, uint32_t v) noexcept {
  for (int i = 3; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}
inline uint32_t get_be32(const char* p) noexcept {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Times in keys are unix milliseconds. Negative times (before 1970) never
// occur for due/lease/finish times; they clamp to 0 so the key stays ordered.
inline uint64_t key_ms(int64_t ms) noexcept { return ms < 0 ? 0 : static_cast<uint64_t>(ms); }

// A key in a fixed-size buffer; view() is valid while the object lives.
template <size_t N>
struct FixedKey {
  std::array<char, N> b;
  std::string_view view() const noexcept { return {b.data(), N}; }
};

// ---- kMessages: id(16) -> version + MessageRecord -------------------------
inline std::string_view message_key(const core::Id& id) noexcept { return id.bytes(); }

// ---- kContent: content id(16) -> version + ContentRecord (with refs) ------
inline std::string_view content_key(const core::Id& id) noexcept { return id.bytes(); }

// ---- kDue: priority(1) due_ms(8 BE) id(16) -> destination (raw bytes) -----
// One band per priority; lease() scans band 1 (transactional) first.
inline constexpr size_t kDueKeyBytes = 1 + 8 + core::Id::kBytes;
using DueKey = FixedKey<kDueKeyBytes>;
inline DueKey due_key(uint8_t priority, int64_t due_ms, const core::Id& id) noexcept {
  DueKey k;
  k.b[0] = static_cast<char>(priority);
  put_be64(k.b.data() + 1, key_ms(due_ms));
  std::memcpy(k.b.data() + 9, id.bytes().data(), core::Id::kBytes);
  return k;
}
// The prefix priority(1) due_ms(8): a scan bound. Keys of the band with
// due_ms < `due_ms` sort before it.
using DueBound = FixedKey<9>;
inline DueBound due_bound(uint8_t priority, int64_t due_ms) noexcept {
  DueBound k;
  k.b[0] = static_cast<char>(priority);
  put_be64(k.b.data() + 1, key_ms(due_ms));
  return k;
}
struct DueKeyParts {
  uint8_t priority = 0;
  int64_t due_ms = 0;
  core::Id id;
};
inline bool parse_due_key(std::string_view k, DueKeyParts* out) noexcept {
  if (k.size() != kDueKeyBytes) return false;
  out->priority = static_cast<uint8_t>(k[0]);
  out->due_ms = static_cast<int64_t>(get_be64(k.data() + 1));
  out->id = core::Id::from_bytes(k.substr(9));
  return true;
}

// ---- kEvents: id(16) seq(4 BE) -> version + EventRecord --------------------
// seq counts from 0; MessageRecord.event_count is the next seq.
inline constexpr size_t kEventKeyBytes = core::Id::kBytes + 4;
using EventKey = FixedKey<kEventKeyBytes>;
inline EventKey event_key(const core::Id& id, uint32_t seq) noexcept {
  EventKey k;
  std::memcpy(k.b.data(), id.bytes().data(), core::Id::kBytes);
  put_be32(k.b.data() + core::Id::kBytes, seq);
  return k;
}

// ---- kLeases: lease_until_ms(8 BE) id(16) -> lease_gen(8 BE) ---------------
// ---- kFinished: finished_ms(8 BE) id(16) -> "" -----------------------------
// Both lead with a time so that "every entry older than T" is a prefix scan.
inline constexpr size_t kTimeIdKeyBytes = 8 + core::Id::kBytes;
using TimeIdKey = FixedKey<kTimeIdKeyBytes>;
inline TimeIdKey time_id_key(int64_t ms, const core::Id& id) noexcept {
  TimeIdKey k;
  put_be64(k.b.data(), key_ms(ms));
  std::memcpy(k.b.data() + 8, id.bytes().data(), core::Id::kBytes);
  return k;
}
using TimeBound = FixedKey<8>;
inline TimeBound time_bound(int64_t ms) noexcept {
  TimeBound k;
  put_be64(k.b.data(), key_ms(ms));
  return k;
}
inline bool parse_time_id_key(std::string_view k, int64_t* ms, core::Id* id) noexcept {
  if (k.size() != kTimeIdKeyBytes) return false;
  *ms = static_cast<int64_t>(get_be64(k.data()));
  *id = core::Id::from_bytes(k.substr(8));
  return true;
}
using Be64 = FixedKey<8>;
inline Be64 be64_value(uint64_t v) noexcept {
  Be64 k;
  put_be64(k.b.data(), v);
  return k;
}

// ---- kIdempotency: tenant '\0' key -> id(16) -------------------------------
// Tenant ids never contain NUL (config validates [a-z0-9_-]), so the pair is
// unambiguous. Writes into `out` to reuse its capacity.
inline void idempotency_key(std::string* out, std::string_view tenant, std::string_view key) {
  out->assign(tenant);
  out->push_back('\0');
  out->append(key);
}

// ---- kCounters: name -> int64 (8 BE, two's complement) ---------------------
//   "s" status(1)                 messages with that status
//   "d" status(1) destination     messages of that destination with that status
//   "leased"                      messages leased now (== entries of kLeases)
// Status bytes are core::MessageStatus values. A counter that reaches 0 is
// deleted, so the table only holds what counts() reports.
inline constexpr std::string_view kCounterLeased = "leased";
inline constexpr char kCounterStatusTag = 's';
inline constexpr char kCounterDestinationTag = 'd';

// ---- values of the protobuf-backed tables ----------------------------------

// Encodes and decodes the protobuf-backed values. Holds reusable protobuf
// objects and one output buffer so the writer's hot path does not allocate
// once capacities have warmed up.
//
// Thread-safety: none; one codec per thread (the writer owns one, readers
// make their own). Returned views point into the codec's buffer and are valid
// until the next encode call.
class RecordCodec {
 public:
  RecordCodec();
  ~RecordCodec();
  RecordCodec(const RecordCodec&) = delete;
  RecordCodec& operator=(const RecordCodec&) = delete;

  // The record's request.content is not stored here (see kContent).
  std::string_view encode(const core::MessageRecord& r);
  std::string_view encode(const core::Content& c, uint64_t refs);
  std::string_view encode(const core::Event& e);
  // The same, appended to `out` (version byte included); returns the number
  // of bytes appended. Lets a caller pack many values into one buffer.
  size_t append(const core::MessageRecord& r, std::string* out);
  size_t append(const core::Content& c, uint64_t refs, std::string* out);
  size_t append(const core::Event& e, std::string* out);

  // kCorruption when the version byte is unknown, the protobuf does not
  // parse, or a field is out of range (a wrong-length id, an unknown enum).
  core::Status decode(std::string_view value, core::MessageRecord* out);
  core::Status decode(std::string_view value, core::Content* out, uint64_t* refs);
  core::Status decode(std::string_view value, core::Event* out);

 private:
  struct Protos;
  std::unique_ptr<Protos> p_;
  std::string buf_;
};

}  // namespace queue::format
