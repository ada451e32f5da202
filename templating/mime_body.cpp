// templating/mime_body.cpp: body transfer encodings (RFC 2045 §6) and the
// choice between them.
//
// The hot path of compose(): a 5 KB HTML part and its text part are scanned
// once to choose an encoding (exactly while 7bit is still possible, sampled
// after) and once to encode. The loops work 16 bytes at a time with SSE2
// (the x86-64 baseline; scalar code elsewhere), base64 uses SSSE3 when the
// CPU has it (checked once at run time), and output goes through a stack
// buffer appended to the string in 8 KB pieces, never a push_back per byte.
// Measured with a timed loop (best of 50 batches, thread CPU time): about
// 3 us to compose a 5 KB HTML + 2.5 KB text message into 9-12 KB on a shared
// 2-core EPYC VM, some 40 times a memcpy of the output.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>  // SSSE3 base64, compiled per function and chosen at run time
#define VESTNIK_B64_SSSE3 1
#endif

#include "templating/mime.h"
#include "templating/mime_internal.h"

namespace templating {
namespace mime_detail {
namespace {

// RFC 5322 §2.1.1: lines SHOULD be at most 78 characters. A 7bit body is
// sent as it is, so we only choose 7bit when it already obeys that.
constexpr size_t k7bitMaxLine = 78;
// RFC 2045 §6.7 rule 5: encoded lines at most 76 characters, the soft-break
// '=' included.
constexpr size_t kQpMaxLine = 76;

// A byte QP may copy literally (rule 2): printable ASCII except '='. Space
// and tab are literal too except at the end of a line (rule 3), which the
// encoder checks itself after finding a run.
constexpr std::array<bool, 256> make_qp_safe() {
  std::array<bool, 256> t{};
  for (int c = 32; c <= 126; ++c) t[c] = c != '=';
  t['\t'] = true;
  return t;
}
constexpr auto kQpSafe = make_qp_safe();

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Two base64 characters for every 12-bit value: one lookup per half of a
// 3-byte group instead of four.
constexpr std::array<uint16_t, 4096> make_b64_pairs() {
  std::array<uint16_t, 4096> t{};
  for (int v = 0; v < 4096; ++v) {
    // Stored so that memcpy of the uint16_t writes hi char first on a
    // little-endian machine; static_assert-ed below via a runtime-free check.
    auto hi = static_cast<uint16_t>(static_cast<unsigned char>(kBase64[v >> 6]));
    auto lo = static_cast<uint16_t>(static_cast<unsigned char>(kBase64[v & 63]));
    t[v] = static_cast<uint16_t>(hi | (lo << 8));
  }
  return t;
}
constexpr auto kB64Pairs = make_b64_pairs();
static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big);

inline void put_pair(char* o, uint32_t v12) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(o, &kB64Pairs[v12], 2);
  } else {
    o[0] = kBase64[v12 >> 6];
    o[1] = kBase64[v12 & 63];
  }
}

// Encodes n (a multiple of 3) bytes into 4n/3 characters at o. `readable`
// says how many bytes from p may be read (>= n); with one spare byte a group
// is loaded as one big-endian word and stored as one 32-bit write.
inline void b64_block(const unsigned char* p, size_t n, char* o, size_t readable) {
  size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    for (; i + 4 <= readable && i < n; i += 3) {
      uint32_t w;
      std::memcpy(&w, p + i, 4);
      uint32_t v = __builtin_bswap32(w) >> 8;
      uint32_t q = uint32_t{kB64Pairs[v >> 12]} | (uint32_t{kB64Pairs[v & 0xFFF]} << 16);
      std::memcpy(o, &q, 4);
      o += 4;
    }
  }
  for (; i < n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    put_pair(o, v >> 12);
    put_pair(o + 2, v & 0xFFF);
    o += 4;
  }
}

// Encodes the last 1 or 2 bytes with padding.
inline void b64_tail(const unsigned char* p, size_t n, char* o) {
  uint32_t v = uint32_t{p[0]} << 16;
  if (n == 2) v |= uint32_t{p[1]} << 8;
  o[0] = kBase64[v >> 18];
  o[1] = kBase64[(v >> 12) & 63];
  o[2] = n == 2 ? kBase64[(v >> 6) & 63] : '=';
  o[3] = '=';
}

// Output through a stack buffer: many small writes, one append per 8 KB.
class Sink {
 public:
  explicit Sink(std::string& out) : out_(out) {}
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  ~Sink() { flush(); }

  // Room for at least k more bytes at cursor().
  char* ensure(size_t k) {
    if (n_ + k > sizeof buf_) flush();
    return buf_ + n_;
  }
  void advance(size_t k) { n_ += k; }
  void put(char c) {
    ensure(1);
    buf_[n_++] = c;
  }
  void put(const char* s, size_t k) {
    if (k > sizeof buf_ / 2) {
      flush();
      out_.append(s, k);
      return;
    }
    std::memcpy(ensure(k), s, k);
    n_ += k;
  }
  void flush() {
    out_.append(buf_, n_);
    n_ = 0;
  }
  // Raw-pointer writing for the hot loops: take the cursor, write, commit.
  bool fits(const char* o, size_t k) const { return o + k <= buf_ + sizeof buf_; }
  void commit(char* o) { n_ = static_cast<size_t>(o - buf_); }

 private:
  std::string& out_;
  size_t n_ = 0;
  char buf_[8192];
};

inline bool is_break(unsigned char c) { return c == '\n' || c == '\r'; }

// The next '\r' or '\n' at or after p, or end. Lines are short (about 80
// bytes in text, a few hundred in HTML), so one inline SSE2 loop beats two
// memchr calls per line.
inline const unsigned char* find_break(const unsigned char* p, const unsigned char* end) {
#if defined(__SSE2__)
  const __m128i kLf = _mm_set1_epi8('\n'), kCr = _mm_set1_epi8('\r');
  while (end - p >= 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    unsigned m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, kLf), _mm_cmpeq_epi8(x, kCr))));
    if (m != 0) return p + std::countr_zero(m);
    p += 16;
  }
#endif
  while (p < end && !is_break(*p)) ++p;
  return p;
}

// Length of the line break at p ("\r\n" is one break of two bytes).
inline size_t break_len(const unsigned char* p, const unsigned char* end) {
  return (p[0] == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
}

// What the encoding choice needs to know about a text, from one pass.
struct BodyStats {
  size_t bytes = 0;
  size_t high = 0;         // bytes >= 0x80
  size_t escapes = 0;      // bytes QP must escape (controls but tab/CR/LF, '=', DEL, high)
  size_t extra_crlf = 0;   // bare LF/CR that become two bytes
  size_t max_line = 0;
  bool bad_7bit = false;   // controls other than tab, CR, LF; DEL
  bool trailing_ws = false;
  bool from_line = false;  // a line starting "From "
  bool equals = false;     // any '=' (then we look for "=_")
  bool ends_with_break = false;
  bool sampled = false;    // 7bit was ruled out and the rest only estimated
};

// Per-line facts, called at each line break (and at the end of the text).
struct LineTracker {
  const unsigned char* text;
  size_t line_start = 0;
  size_t skip_lf_at = SIZE_MAX;  // the LF of a CRLF whose CR was seen

  void end_line(size_t pos, BodyStats& s) {
    size_t len = pos - line_start;
    s.max_line = std::max(s.max_line, len);
    if (len > 0) {
      unsigned char last = text[pos - 1];
      if (last == ' ' || last == '\t') s.trailing_ws = true;
      if (len >= 5 && std::memcmp(text + line_start, "From ", 5) == 0) s.from_line = true;
    }
  }
  void on_break(size_t pos, size_t n, BodyStats& s) {
    if (pos == skip_lf_at) {  // second half of CRLF
      line_start = pos + 1;
      return;
    }
    end_line(pos, s);
    if (text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n') {
      skip_lf_at = pos + 1;
    } else {
      ++s.extra_crlf;
    }
    line_start = pos + 1;
  }
};

#if defined(__SSE2__)
// Adds the SAD of 8-bit lane counters to a total.
inline size_t lane_sum(__m128i acc) {
  __m128i sad = _mm_sad_epu8(acc, _mm_setzero_si128());
  return static_cast<size_t>(_mm_cvtsi128_si32(sad) + _mm_extract_epi16(sad, 4));
}

// Once 7bit is ruled out, the rest of the text only feeds a size estimate
// (quoted-printable versus base64), so it is sampled: the first 256 bytes of
// every 1,024, scaled up. Deterministic, and a quarter of the work on the
// usual body, which rules 7bit out in its first line (Cyrillic text, or HTML
// with a line longer than 78).
void sample_rest(const unsigned char* p, size_t i, size_t n, BodyStats& s) {
  constexpr size_t kSample = 256, kStride = 1024;
  const __m128i k20 = _mm_set1_epi8(0x20), kEq = _mm_set1_epi8('='), kTab = _mm_set1_epi8('\t'),
                kDel = _mm_set1_epi8(0x7F), kLf = _mm_set1_epi8('\n'), kCr = _mm_set1_epi8('\r'),
                kZero = _mm_setzero_si128();
  const size_t start = i;
  size_t sampled = 0, high = 0, esc = 0, lf = 0, cr = 0;
  for (; i + 16 <= n; i += kStride) {
    size_t blocks = std::min(kSample, (n - i) / 16 * 16) / 16;
    __m128i acc_high = kZero, acc_esc = kZero, acc_lf = kZero, acc_cr = kZero;
    for (size_t b = 0; b < blocks; ++b) {
      __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 16 * b));
      __m128i low = _mm_cmplt_epi8(x, k20);
      __m128i is_lf = _mm_cmpeq_epi8(x, kLf), is_cr = _mm_cmpeq_epi8(x, kCr);
      __m128i plain_ws = _mm_or_si128(_mm_cmpeq_epi8(x, kTab), _mm_or_si128(is_lf, is_cr));
      acc_high = _mm_sub_epi8(acc_high, _mm_cmplt_epi8(x, kZero));
      acc_esc = _mm_sub_epi8(acc_esc, _mm_or_si128(_mm_andnot_si128(plain_ws, low),
                                                   _mm_or_si128(_mm_cmpeq_epi8(x, kEq), _mm_cmpeq_epi8(x, kDel))));
      acc_lf = _mm_sub_epi8(acc_lf, is_lf);
      acc_cr = _mm_sub_epi8(acc_cr, is_cr);
    }
    sampled += blocks * 16;
    high += lane_sum(acc_high);
    esc += lane_sum(acc_esc);
    lf += lane_sum(acc_lf);
    cr += lane_sum(acc_cr);
  }
  if (sampled == 0) return;
  const size_t rest = n - start;
  s.high += high * rest / sampled;
  s.escapes += esc * rest / sampled;
  s.extra_crlf += (lf > cr ? lf - cr : cr - lf) * rest / sampled;
}
#endif

// The scan. With SSE2, 16 bytes per step: a signed compare with 0x20
// catches controls and high bytes at once; counts accumulate per byte lane
// (subtracting -1 masks) and are summed with SAD before a lane can
// overflow; line breaks come out of a movemask and are handled bit by bit.
// Exact while the text could still go as 7bit, sampled after (sample_rest).
BodyStats scan(std::string_view text) {
  BodyStats s;
  const size_t n = text.size();
  s.bytes = n;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  LineTracker lines{p};
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i k20 = _mm_set1_epi8(0x20), kEq = _mm_set1_epi8('='), kTab = _mm_set1_epi8('\t'),
                kDel = _mm_set1_epi8(0x7F), kLf = _mm_set1_epi8('\n'), kCr = _mm_set1_epi8('\r'),
                kZero = _mm_setzero_si128();
  while (n - i >= 16) {
    size_t blocks = std::min<size_t>((n - i) / 16, 16);  // 256 bytes, then check
    __m128i acc_high = kZero, acc_esc = kZero;
    unsigned bad = 0, eq_any = 0;
    for (size_t b = 0; b < blocks; ++b, i += 16) {
      __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      __m128i high = _mm_cmplt_epi8(x, kZero);
      __m128i low = _mm_cmplt_epi8(x, k20);  // controls and high
      __m128i eq = _mm_cmpeq_epi8(x, kEq);
      __m128i del = _mm_cmpeq_epi8(x, kDel);
      __m128i brk = _mm_or_si128(_mm_cmpeq_epi8(x, kLf), _mm_cmpeq_epi8(x, kCr));
      __m128i plain_ws = _mm_or_si128(_mm_cmpeq_epi8(x, kTab), brk);
      __m128i esc = _mm_or_si128(_mm_andnot_si128(plain_ws, low), _mm_or_si128(eq, del));
      __m128i ctrl = _mm_or_si128(_mm_andnot_si128(_mm_or_si128(high, plain_ws), low), del);
      acc_high = _mm_sub_epi8(acc_high, high);
      acc_esc = _mm_sub_epi8(acc_esc, esc);
      bad |= static_cast<unsigned>(_mm_movemask_epi8(ctrl));
      eq_any |= static_cast<unsigned>(_mm_movemask_epi8(eq));
      for (unsigned m = static_cast<unsigned>(_mm_movemask_epi8(brk)); m != 0; m &= m - 1) {
        lines.on_break(i + static_cast<size_t>(std::countr_zero(m)), n, s);
      }
    }
    s.high += lane_sum(acc_high);
    s.escapes += lane_sum(acc_esc);
    s.bad_7bit |= bad != 0;
    s.equals |= eq_any != 0;
    s.max_line = std::max(s.max_line, i - std::min(i, lines.line_start));  // the open line so far
    if (s.high > 0 || s.bad_7bit || s.trailing_ws || s.from_line || s.max_line > k7bitMaxLine) {
      s.sampled = true;
      sample_rest(p, i, n, s);
      return s;  // ends_with_break only matters for 7bit
    }
  }
#endif
  for (; i < n; ++i) {
    unsigned char c = p[i];
    if (c >= 0x80) {
      ++s.high;
      ++s.escapes;
    } else if (is_break(c)) {
      lines.on_break(i, n, s);
    } else if (c < 0x20 || c == 0x7F) {
      if (c != '\t') {
        ++s.escapes;
        s.bad_7bit = true;
      }
    } else if (c == '=') {
      ++s.escapes;
      s.equals = true;
    }
  }
  if (lines.line_start < n) {
    lines.end_line(n, s);
  } else if (n > 0) {
    s.ends_with_break = true;
  }
  return s;
}

size_t qp_estimate(const BodyStats& s) {
  size_t body = s.bytes + 2 * s.escapes + s.extra_crlf;
  return body + body / (kQpMaxLine - 1) * 3;
}
size_t base64_estimate(const BodyStats& s) {
  size_t chars = (s.bytes + s.extra_crlf + 2) / 3 * 4;
  return chars + (chars / 76 + 1) * 2;
}

// ---- 7bit: the text with its line ends made CRLF ----

void append_7bit(Sink& sink, std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char* br = find_break(p, end);
    sink.put(reinterpret_cast<const char*>(p), static_cast<size_t>(br - p));
    if (br == end) break;
    sink.put("\r\n", 2);
    p = br + break_len(br, end);
  }
}

// ---- quoted-printable ----

// Quoted-printable, written through a raw cursor. The common case is a run
// of literal bytes: with SSE2 one step classifies 16 input bytes (signed
// compares: 31 < c < 127 excludes controls, DEL and every byte >= 0x80 at
// once; '=' excluded, tab let in), stores all 16 to the output and advances
// by however many were literal and fit the line; the bytes past that point
// are overwritten by what follows. Escapes, soft and hard breaks are the
// slow path.
void append_qp(Sink& sink, std::string_view text) {
  constexpr size_t kWindow = 96;  // the most one step writes: 4 blocks + a 16-byte store
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  char* o = sink.ensure(kWindow);
  size_t col = 0;  // characters on the current encoded line
#if defined(__SSE2__)
  const __m128i k31 = _mm_set1_epi8(31), k127 = _mm_set1_epi8(127), kEq = _mm_set1_epi8('='),
                kTab = _mm_set1_epi8('\t');
#endif
  while (p < end) {
    if (!sink.fits(o, kWindow)) {
      sink.commit(o);
      o = sink.ensure(kWindow);
    }
#if defined(__SSE2__)
    // Whole blocks of 16 literal bytes that fit the line (at most four per
    // line), not ending in whitespace (which might end the line) and not
    // starting a line with '.' or 'F': straight copies.
    while (col + 16 <= kQpMaxLine - 1 && end - p >= 16) {
      __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      __m128i ok = _mm_or_si128(
          _mm_andnot_si128(_mm_cmpeq_epi8(x, kEq),
                           _mm_and_si128(_mm_cmpgt_epi8(x, k31), _mm_cmplt_epi8(x, k127))),
          _mm_cmpeq_epi8(x, kTab));
      if (_mm_movemask_epi8(ok) != 0xFFFF || p[15] == ' ' || p[15] == '\t' ||
          (col == 0 && (p[0] == '.' || p[0] == 'F'))) {
        break;
      }
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), x);
      o += 16;
      p += 16;
      col += 16;
    }
    if (p == end) break;
#endif
    unsigned char c = *p;
    if (is_break(c)) {
      o[0] = '\r';
      o[1] = '\n';
      o += 2;
      col = 0;
      p += break_len(p, end);
      continue;
    }
    const bool special_start =
        col == 0 && (c == '.' || (c == 'F' && end - p >= 5 && std::memcmp(p, "From ", 5) == 0));
    if (kQpSafe[c] && !special_start) {
      const size_t avail = static_cast<size_t>(end - p);
      size_t n;  // literal bytes starting at p, at most 16
      bool stored = false;
#if defined(__SSE2__)
      if (avail >= 16) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i ok = _mm_or_si128(
            _mm_andnot_si128(_mm_cmpeq_epi8(x, kEq),
                             _mm_and_si128(_mm_cmpgt_epi8(x, k31), _mm_cmplt_epi8(x, k127))),
            _mm_cmpeq_epi8(x, kTab));
        n = static_cast<size_t>(std::countr_one(static_cast<unsigned>(_mm_movemask_epi8(ok))));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o), x);
        stored = true;
      } else
#endif
      {
        size_t lim = std::min<size_t>(avail, 16);
        n = 1;
        while (n < lim && kQpSafe[p[n]]) ++n;
      }
      bool reaches_eol = p + n == end || is_break(p[n]);
      if (reaches_eol && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
        --n;  // the last whitespace before a line end is escaped below
        reaches_eol = false;
      }
      if (n > 0) {
        // A literal may fill the line to 76 only if the (hard) line ends
        // right after it, else to 75, leaving room for the soft break '='.
        size_t take = (reaches_eol && col + n <= kQpMaxLine) ? n : std::min(n, kQpMaxLine - 1 - col);
        if (take == 0) {
          std::memcpy(o, "=\r\n", 3);
          o += 3;
          col = 0;
          continue;
        }
        if (!stored) std::memcpy(o, p, take);
        o += take;
        col += take;
        p += take;
        continue;
      }
    }
    const bool last_on_line = p + 1 == end || is_break(p[1]);
    const bool literal = (c == ' ' || c == '\t') && !last_on_line;
    const size_t t = literal ? 1 : 3;
    if (col + t > (last_on_line ? kQpMaxLine : kQpMaxLine - 1)) {
      std::memcpy(o, "=\r\n", 3);
      o += 3;
      col = 0;
      continue;  // re-decide at the start of the new line ('.' rule)
    }
    if (literal) {
      *o++ = static_cast<char>(c);
    } else {
      o[0] = '=';
      o[1] = kHexUpper[c >> 4];
      o[2] = kHexUpper[c & 15];
      o += 3;
    }
    col += t;
    ++p;
  }
  sink.commit(o);
}

// ---- base64 ----

constexpr size_t kB64LineBytes = 57;  // 76 characters

#if defined(VESTNIK_B64_SSSE3)
// 48 bytes -> 64 characters, 12 bytes per step: the well-known pshufb
// method (W. Mula and D. Lemire, "Faster Base64 Encoding and Decoding using
// AVX2 Instructions", 2018): spread 3 bytes over a 32-bit lane, cut the four
// 6-bit indices out with two multiplies, map indices to ASCII with one
// pshufb of per-range offsets. Reads 16 bytes and writes 16 characters per
// step of 12 bytes: callers guarantee the readable bytes and output room.
__attribute__((target("ssse3"))) inline __m128i b64_12_ssse3(__m128i in, __m128i spread, __m128i offsets) {
  in = _mm_shuffle_epi8(in, spread);
  __m128i t0 = _mm_mulhi_epu16(_mm_and_si128(in, _mm_set1_epi32(0x0fc0fc00)), _mm_set1_epi32(0x04000040));
  __m128i t1 = _mm_mullo_epi16(_mm_and_si128(in, _mm_set1_epi32(0x003f03f0)), _mm_set1_epi32(0x01000010));
  __m128i idx = _mm_or_si128(t0, t1);  // one 6-bit index per byte
  // 0..25 -> 13 ('A'), 26..51 -> 0, 52..61 -> 1..10, 62 -> 11, 63 -> 12.
  __m128i sel = _mm_subs_epu8(idx, _mm_set1_epi8(51));
  sel = _mm_or_si128(sel, _mm_and_si128(_mm_cmpgt_epi8(_mm_set1_epi8(26), idx), _mm_set1_epi8(13)));
  return _mm_add_epi8(_mm_shuffle_epi8(offsets, sel), idx);
}

// Whole 57-byte lines (76 characters + CRLF) from p; returns the bytes
// consumed. One function so the constants stay in registers.
__attribute__((target("ssse3"))) size_t b64_lines_ssse3(Sink& sink, const unsigned char* p, size_t n) {
  const __m128i spread = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
  const __m128i offsets = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                        '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62,
                                        '/' - 63, 'A', 0, 0);
  const size_t lines = n / kB64LineBytes;
  for (size_t l = 0; l < lines; ++l) {
    const unsigned char* in = p + l * kB64LineBytes;
    const size_t readable = n - l * kB64LineBytes;
    char* o = sink.ensure(80);
    for (int k = 0; k < 4; ++k) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 16 * k),
                       b64_12_ssse3(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 12 * k)), spread, offsets));
    }
    if (readable >= 64) {
      // Bytes 48..59 -> characters 64..79; the 4 past 76 (from the next
      // line's bytes) are overwritten by CRLF and the next line.
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 64),
                       b64_12_ssse3(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 48)), spread, offsets));
    } else {
      b64_block(in + 48, 9, o + 64, readable - 48);
    }
    o[76] = '\r';
    o[77] = '\n';
    sink.advance(78);
  }
  return lines * kB64LineBytes;
}

bool have_ssse3() {
  static const bool kHave = __builtin_cpu_supports("ssse3");
  return kHave;
}
#endif

// Encodes whole 57-byte lines from p; returns the bytes consumed (a multiple of 57).
size_t b64_lines(Sink& sink, const unsigned char* p, size_t n) {
  size_t lines = n / kB64LineBytes;
#if defined(VESTNIK_B64_SSSE3)
  if (have_ssse3()) return b64_lines_ssse3(sink, p, n);
#endif
  for (size_t l = 0; l < lines; ++l) {
    char* o = sink.ensure(78);
    b64_block(p + l * kB64LineBytes, kB64LineBytes, o, n - l * kB64LineBytes);
    o[76] = '\r';
    o[77] = '\n';
    sink.advance(78);
  }
  return lines * kB64LineBytes;
}

void b64_last_line(Sink& sink, const unsigned char* p, size_t n) {
  if (n == 0) return;
  char* o = sink.ensure(78);
  size_t whole = n / 3 * 3;
  b64_block(p, whole, o, n);
  size_t k = whole / 3 * 4;
  if (n > whole) {
    b64_tail(p + whole, n - whole, o + k);
    k += 4;
  }
  o[k] = '\r';
  o[k + 1] = '\n';
  sink.advance(k + 2);
}

// Base64 of the text in canonical form (line ends as CRLF, RFC 2046 §4.1.1),
// normalised through a staging buffer so no copy of the whole text is made.
void append_base64_text(Sink& sink, std::string_view text) {
  unsigned char stage[kB64LineBytes * 64];
  size_t fill = 0;
  auto drain = [&](bool final) {
    size_t used = b64_lines(sink, stage, fill);
    if (final) {
      b64_last_line(sink, stage + used, fill - used);
      fill = 0;
    } else {
      std::memmove(stage, stage + used, fill - used);
      fill -= used;
    }
  };
  auto stage_bytes = [&](const unsigned char* s, size_t n) {
    while (n > 0) {
      size_t k = std::min(n, sizeof stage - fill);
      std::memcpy(stage + fill, s, k);
      fill += k;
      s += k;
      n -= k;
      if (fill == sizeof stage) drain(false);
    }
  };
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  static constexpr unsigned char kCrlf[2] = {'\r', '\n'};
  while (p < end) {
    const unsigned char* br = find_break(p, end);
    stage_bytes(p, static_cast<size_t>(br - p));
    if (br == end) break;
    stage_bytes(kCrlf, 2);
    p = br + break_len(br, end);
  }
  drain(true);
}

}  // namespace

TransferEncoding choose_encoding(std::string_view text, bool must_end_with_newline) noexcept {
  if (text.empty()) return TransferEncoding::k7bit;
  BodyStats s = scan(text);
  // 7bit only when the text is already a valid, tidy 7bit body. "=_" is
  // excluded so the multipart boundary (which starts "=_") can never occur
  // in a part; see compose().
  if (!s.sampled && s.high == 0 && !s.bad_7bit && s.max_line <= k7bitMaxLine && !s.trailing_ws && !s.from_line &&
      (!must_end_with_newline || s.ends_with_break) &&
      !(s.equals && text.find("=_") != std::string_view::npos)) {
    return TransferEncoding::k7bit;
  }
  return qp_estimate(s) <= base64_estimate(s) ? TransferEncoding::kQuotedPrintable
                                              : TransferEncoding::kBase64;
}

size_t encoded_size_bound(std::string_view text, TransferEncoding e) noexcept {
  size_t n = text.size();
  switch (e) {
    case TransferEncoding::k7bit: return 2 * n;
    case TransferEncoding::kQuotedPrintable: return 3 * n + (3 * n / (kQpMaxLine - 1) + 1) * 3 + 3;
    case TransferEncoding::kBase64: return (2 * n + 2) / 3 * 4 + ((2 * n + 2) / 3 * 4 / 76 + 1) * 2;
  }
  return 3 * n;
}

void append_body(std::string& out, std::string_view text, TransferEncoding e, bool final_crlf) {
  {
    Sink sink(out);
    switch (e) {
      case TransferEncoding::k7bit:
        append_7bit(sink, text);
        break;
      case TransferEncoding::kQuotedPrintable:
        append_qp(sink, text);
        break;
      case TransferEncoding::kBase64:
        append_base64_text(sink, text);
        break;
    }
  }
  if (text.empty()) return;
  bool ends_crlf = out.size() >= 2 && out[out.size() - 2] == '\r' && out.back() == '\n';
  if (final_crlf) {
    // QP output ends with CRLF only when the text ends with a line break (it
    // never ends with a soft break). Otherwise a final soft break makes the
    // body end with CRLF and still decode to the exact text; choose_encoding
    // never picks 7bit for such a text when final_crlf is needed.
    if (!ends_crlf) out.append(e == TransferEncoding::kQuotedPrintable ? "=\r\n" : "\r\n");
  } else if (e == TransferEncoding::kBase64 && ends_crlf) {
    out.resize(out.size() - 2);  // the delimiter brings its own CRLF
  }
}

}  // namespace mime_detail

void quoted_printable(std::string_view in, std::string& out) {
  mime_detail::Sink sink(out);
  mime_detail::append_qp(sink, in);
}

void base64_lines(std::string_view in, std::string& out) {
  mime_detail::Sink sink(out);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t used = mime_detail::b64_lines(sink, p, in.size());
  mime_detail::b64_last_line(sink, p + used, in.size() - used);
}

}  // namespace templating
