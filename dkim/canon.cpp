// dkim/canon.cpp: header/body split and canonicalization (see canon.h).
#include "dkim/canon.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dkim {

using detail::is_wsp;

size_t detail::relaxed_first_change(const char* p, size_t n) noexcept {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i sp = _mm_set1_epi8(' ');
  for (; i + 17 <= n; i += 16) {  // bytes i..i+15, each with the one after it
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    const __m128i hit =
        _mm_or_si128(_mm_cmpeq_epi8(a, tab), _mm_and_si128(_mm_cmpeq_epi8(a, sp), _mm_cmpeq_epi8(b, sp)));
    if (const int mask = _mm_movemask_epi8(hit)) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  for (; i < n; ++i)
    if (p[i] == '\t' || (p[i] == ' ' && i + 1 < n && p[i + 1] == ' ')) return i;
  return n;
}

namespace {

bool is_fws_byte(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Where relaxed header canonicalization first changes `p[0..n)` (a field
// value after its leading WSP): the first HTAB, CR or LF, or SP followed by
// one of them or by SP or ending the text; n when there is none.
size_t header_first_run(const char* p, size_t n) noexcept {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i sp = _mm_set1_epi8(' ');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  for (; i + 17 <= n; i += 16) {  // bytes i..i+15, each with the one after it
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    const __m128i a_sp = _mm_cmpeq_epi8(a, sp);
    const __m128i a_other = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(a, tab), _mm_cmpeq_epi8(a, cr)),
                                         _mm_cmpeq_epi8(a, lf));
    const __m128i b_fws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, sp), _mm_cmpeq_epi8(b, tab)),
                                       _mm_or_si128(_mm_cmpeq_epi8(b, cr), _mm_cmpeq_epi8(b, lf)));
    const __m128i hit = _mm_or_si128(a_other, _mm_and_si128(a_sp, b_fws));
    if (const int mask = _mm_movemask_epi8(hit)) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  for (; i < n; ++i) {
    if (p[i] == ' ' ? i + 1 == n || is_fws_byte(p[i + 1]) : is_fws_byte(p[i])) return i;
  }
  return n;
}

}  // namespace

std::string_view canon_name(Canon c) noexcept { return c == Canon::kSimple ? "simple" : "relaxed"; }

SplitMessage split_message(std::string_view m) {
  SplitMessage out;
  out.fields.reserve(24);
  size_t pos = 0;
  const size_t n = m.size();
  while (pos < n) {
    if (m.compare(pos, 2, "\r\n") == 0) {  // the empty line
      out.body = m.substr(pos + 2);
      return out;
    }
    const size_t start = pos;
    // The field runs to the end of the first line that is not followed by a
    // continuation (a line starting with SP or HTAB).
    for (;;) {
      size_t eol = m.find("\r\n", pos);
      if (eol == std::string_view::npos) {
        pos = n;
        break;
      }
      pos = eol + 2;
      if (pos >= n || !is_wsp(m[pos])) break;
    }
    std::string_view raw = m.substr(start, pos - start);
    std::string_view name;
    size_t colon = raw.find(':');
    size_t eol = raw.find("\r\n");
    if (colon != std::string_view::npos && (eol == std::string_view::npos || colon < eol)) {
      name = raw.substr(0, colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    }
    out.fields.push_back({name, raw});
  }
  return out;
}

bool needs_normalization(std::string_view s) noexcept {
  const size_t n = s.size();
  if (n == 0) return false;
  if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n') return true;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '\r') {
      if (i + 1 >= n || s[i + 1] != '\n') return true;
      ++i;
    } else if (s[i] == '\n') {
      return true;
    }
  }
  return false;
}

void normalize_line_ends(std::string_view s, std::string& out) {
  out.reserve(out.size() + s.size() + s.size() / 32 + 2);
  const size_t n = s.size();
  size_t i = 0;
  bool line_open = false;
  while (i < n) {
    size_t stop = s.find_first_of("\r\n", i);
    if (stop == std::string_view::npos) stop = n;
    out.append(s.data() + i, stop - i);
    line_open = stop > i;
    i = stop;
    if (i >= n) break;
    i += (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
    out.append("\r\n");
    line_open = false;
  }
  if (line_open) out.append("\r\n");
}

void canonicalize_header(Canon c, std::string_view raw, std::string& out, bool with_crlf) {
  if (c == Canon::kSimple) {
    if (!with_crlf && raw.size() >= 2 && raw.substr(raw.size() - 2) == "\r\n") raw.remove_suffix(2);
    out.append(raw);
    return;
  }
  size_t colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  const size_t at = out.size();
  out.append(name);
  for (size_t i = at; i < out.size(); ++i)
    if (out[i] >= 'A' && out[i] <= 'Z') out[i] = static_cast<char>(out[i] + 32);
  out.push_back(':');
  if (colon != std::string_view::npos) {
    // Unfold (drop CR and LF), collapse WSP runs, trim both ends. Text up
    // to the next run of WSP, CR and LF that is not a lone SP between two
    // other bytes is appended whole.
    const char* p = raw.data();
    const size_t n = raw.size();
    size_t i = colon + 1;
    while (i < n && is_fws_byte(p[i])) ++i;  // leading FWS goes
    while (i < n) {
      size_t k = i + header_first_run(p + i, n - i);
      out.append(p + i, k - i);
      bool wsp = false;
      for (; k < n && is_fws_byte(p[k]); ++k) wsp = wsp || is_wsp(p[k]);
      if (k == n) break;  // trailing FWS goes
      if (wsp) out.push_back(' ');
      i = k;
    }
  }
  if (with_crlf) out.append("\r\n");
}

void canonicalize_body(Canon c, std::string_view body, std::string& out) {
  canonicalize_body(c, body, [&out](const char* p, size_t n) { out.append(p, n); });
}

}  // namespace dkim
