// core/id.cpp: ULID-layout ids and their Crockford base32 text form.
#include "core/id.h"

#include <algorithm>
#include <cstring>

namespace core {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr int64_t kMaxMs = (int64_t{1} << 48) - 1;

// Crockford's decoding: case-insensitive, I and L are 1, O is 0; U and every
// other character are invalid (-1).
constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 32; ++i) {
    const auto c = static_cast<unsigned char>(kAlphabet[i]);
    t[c] = static_cast<int8_t>(i);
    if (c >= 'A' && c <= 'Z') t[c - 'A' + 'a'] = static_cast<int8_t>(i);
  }
  t['I'] = t['i'] = t['L'] = t['l'] = 1;
  t['O'] = t['o'] = 0;
  return t;
}
constexpr auto kDecode = make_decode_table();

uint64_t load_be64(const uint8_t* p) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

// The text is the 128-bit number in base 32, most significant digit first:
// 26 digits hold 130 bits, so the first digit carries only 3 bits (0..7).
std::optional<Id> Id::parse(std::string_view text) noexcept {
  if (text.size() != kTextLength) return std::nullopt;
  uint64_t hi = 0, lo = 0;  // the 128-bit value being built
  for (size_t i = 0; i < kTextLength; ++i) {
    const int8_t d = kDecode[static_cast<unsigned char>(text[i])];
    if (d < 0) return std::nullopt;
    if (i == 0 && d > 7) return std::nullopt;  // would not fit in 128 bits
    hi = (hi << 5) | (lo >> 59);
    lo = (lo << 5) | static_cast<uint64_t>(d);
  }
  std::array<uint8_t, kBytes> b;
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return Id(b);
}

Id Id::from_bytes(std::string_view raw) noexcept {
  std::array<uint8_t, kBytes> b{};
  std::memcpy(b.data(), raw.data(), std::min(raw.size(), kBytes));
  return Id(b);
}

std::string Id::to_string() const {
  uint64_t hi = load_be64(bytes_.data());
  uint64_t lo = load_be64(bytes_.data() + 8);
  std::string out(kTextLength, '0');
  for (size_t i = kTextLength; i-- > 0;) {
    out[i] = kAlphabet[lo & 31];
    lo = (lo >> 5) | (hi << 59);
    hi >>= 5;
  }
  return out;
}

int64_t Id::unix_ms() const noexcept {
  int64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | bytes_[i];
  return ms;
}

bool Id::is_nil() const noexcept {
  return std::all_of(bytes_.begin(), bytes_.end(), [](uint8_t b) { return b == 0; });
}

size_t IdHash::operator()(const Id& id) const noexcept {
  // The low 64 bits are mostly random already; folding in the time half and
  // one multiply keeps sequential ids of one millisecond well spread too.
  const auto* p = reinterpret_cast<const uint8_t*>(id.bytes().data());
  const uint64_t h = load_be64(p) * 0x9E3779B97F4A7C15ull ^ load_be64(p + 8);
  return static_cast<size_t>(h ^ (h >> 29));
}

IdGenerator::IdGenerator(const Clock& clock) : clock_(clock) {
  std::random_device rd;
  std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
  rng_.seed(seq);
}

Id IdGenerator::next() {
  const int64_t now = std::clamp<int64_t>(to_unix_ms(clock_.now()), 0, kMaxMs);
  std::lock_guard lock(mu_);
  bool fresh = now > last_ms_;
  if (!fresh) {
    // Same millisecond, or the clock stepped back: stay on last_ms_ and count
    // up, so every id is greater than the one before. If the 80-bit counter
    // wraps (2^80 ids in one millisecond, or a tiny random start plus a very
    // long clock stall) borrow the next millisecond rather than repeat.
    bool carry = true;
    for (size_t i = rnd_.size(); carry && i-- > 0;) carry = ++rnd_[i] == 0;
    if (carry) {
      last_ms_ = std::min(last_ms_ + 1, kMaxMs);
      fresh = true;
    }
  } else {
    last_ms_ = now;
  }
  if (fresh) {
    const uint64_t a = rng_(), b = rng_();
    for (int i = 0; i < 8; ++i) rnd_[i] = static_cast<uint8_t>(a >> (56 - 8 * i));
    rnd_[8] = static_cast<uint8_t>(b >> 8);
    rnd_[9] = static_cast<uint8_t>(b);
  }
  std::array<uint8_t, Id::kBytes> bytes;
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<uint8_t>(last_ms_ >> (40 - 8 * i));
  std::copy(rnd_.begin(), rnd_.end(), bytes.begin() + 6);
  return Id(bytes);
}

}  // namespace core
