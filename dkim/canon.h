// dkim/canon.h: DKIM canonicalization (RFC 6376 §3.4) and the header/body
// split it works on. Pure functions over bytes: no allocation beyond the
// output string, no OpenSSL, fuzzed by tests/fuzz/dkim_canon_fuzz.cpp.
//
// Everything here expects a message whose line ends are all CRLF. A message
// from outside may hold bare CRs or LFs; normalize_line_ends() turns each
// into CRLF exactly as mta::dot_stuff() does on the wire, so what is signed
// is what the peer receives.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace dkim {

enum class Canon : uint8_t { kSimple = 0, kRelaxed = 1 };

// "simple" / "relaxed".
std::string_view canon_name(Canon c) noexcept;

// One header field as it stands in the message.
struct HeaderField {
  std::string_view name;  // before the colon, trailing WSP removed; case as written
  std::string_view raw;   // the whole field: first line, continuation lines, final CRLF
};

struct SplitMessage {
  std::vector<HeaderField> fields;  // top to bottom
  std::string_view body;            // after the empty line; empty when there is none
};

// Splits a CRLF message into header fields and body. A header line that is
// neither a field ("name:") nor a continuation becomes a field with an
// empty name, which no h= list can select. The header ends at the first
// empty line; a message without one is all header.
SplitMessage split_message(std::string_view message);

// True when `s` has a CR not followed by LF, or an LF not preceded by CR,
// or does not end in CRLF (non-empty): the cases normalize_line_ends fixes.
bool needs_normalization(std::string_view s) noexcept;

// Appends `s` to `out` with every bare CR, bare LF and CRLF written as one
// CRLF, and a final CRLF added when `s` is non-empty and lacks one.
void normalize_line_ends(std::string_view s, std::string& out);

// Appends the canonical form of one header field. `raw` is the field as in
// HeaderField::raw (its final CRLF may be absent). Simple: the bytes
// unchanged. Relaxed: "name:value\r\n" with the name lowercased, the value
// unfolded, WSP runs collapsed to one SP and WSP around the colon and at
// the end removed. With `with_crlf` false nothing is added for the line
// end (the DKIM-Signature field itself is hashed without its CRLF).
void canonicalize_header(Canon c, std::string_view raw, std::string& out, bool with_crlf = true);

// Feeds the canonical form of `body` to `sink(const char*, size_t)` in
// pieces (no copy of the whole body). Simple: trailing empty lines reduced
// to one CRLF, an empty body becomes CRLF. Relaxed: WSP at line ends
// removed, WSP runs collapsed to one SP, trailing empty lines removed; an
// empty result stays empty. REQUIRES: CRLF line ends; a last line without
// CRLF is treated as if it had one.
template <class Sink>
void canonicalize_body(Canon c, std::string_view body, Sink&& sink);

// Convenience: the canonical body appended to `out`.
void canonicalize_body(Canon c, std::string_view body, std::string& out);

// ---------------------------------------------------------------------------
// Implementation of the template (kept here so the hash loop inlines the sink).

namespace detail {
inline bool is_wsp(char ch) noexcept { return ch == ' ' || ch == '\t'; }

// Where relaxed body canonicalization first changes the line `p[0..n)`
// (no line end in it, no WSP at its end): the first HTAB or pair of SPs,
// or n when it leaves the line as it is. 16 bytes at a time where SSE2 is
// there (canon.cpp).
size_t relaxed_first_change(const char* p, size_t n) noexcept;
}  // namespace detail

template <class Sink>
void canonicalize_body(Canon c, std::string_view body, Sink&& sink) {
  static constexpr char kCrlf[] = "\r\n";
  const char* const data = body.data();
  const size_t n = body.size();
  // Most lines of a composed body come out exactly as they went in: those
  // go to the sink as one span of the input [span_from, span_to), whole
  // runs of lines at a time, without a copy. Relaxed lines that change
  // (WSP to collapse or strip, a last line without CRLF) are rebuilt in
  // `buf`, handed to the sink when full. Order is kept by emptying the one
  // before adding to the other.
  size_t span_from = 0, span_to = 0;  // empty when equal
  char buf[1024];
  size_t used = 0;
  auto flush_buf = [&] {
    if (used) sink(static_cast<const char*>(buf), used);
    used = 0;
  };
  auto flush_span = [&] {
    if (span_to > span_from) sink(data + span_from, span_to - span_from);
    span_from = span_to = 0;
  };
  auto take = [&](size_t from, size_t to) {  // input bytes [from, to) unchanged
    flush_buf();
    if (span_to == span_from || span_to != from) {
      flush_span();
      span_from = from;
    }
    span_to = to;
  };
  auto put = [&](const char* p, size_t k) {
    flush_span();
    if (used + k > sizeof buf) {
      flush_buf();
      if (k > sizeof buf) {
        sink(p, k);
        return;
      }
    }
    std::memcpy(buf + used, p, k);
    used += k;
  };
  size_t pending_empty = 0;     // empty lines seen but not yet emitted
  size_t empty_from = 0;        // where the first of them starts
  bool empty_verbatim = true;   // each of them is exactly CRLF in the input
  bool emitted = false;
  size_t pos = 0;
  while (pos < n) {
    const size_t start = pos;
    size_t end = body.find("\r\n", pos);
    const bool has_crlf = end != std::string_view::npos;
    if (!has_crlf) end = n;
    pos = has_crlf ? end + 2 : n;
    size_t len = end - start;
    if (c == Canon::kRelaxed)
      while (len && detail::is_wsp(data[start + len - 1])) --len;  // WSP at the line end goes
    if (len == 0) {
      if (pending_empty++ == 0) {
        empty_from = start;
        empty_verbatim = true;
      }
      if (end != start) empty_verbatim = false;
      continue;
    }
    // Simple: every line stands as written. Relaxed: up to its first WSP
    // run to collapse (`change`), if any.
    const size_t change =
        c == Canon::kSimple || len != end - start ? 0 : detail::relaxed_first_change(data + start, len);
    const bool verbatim = has_crlf && (c == Canon::kSimple || change == len);
    if (pending_empty) {
      if (empty_verbatim) {
        take(empty_from, start);  // a run of CRLFs, contiguous with this line
      } else {
        for (; pending_empty; --pending_empty) put(kCrlf, 2);
      }
      pending_empty = 0;
    }
    emitted = true;
    if (verbatim) {
      take(start, pos);
      continue;
    }
    if (c == Canon::kSimple) {  // the last line, without CRLF
      take(start, end);
      put(kCrlf, 2);
      continue;
    }
    // Relaxed: each WSP run that is not a lone SP becomes one SP (the
    // line has no WSP at its end).
    const char* line = data + start;
    size_t i = 0;
    size_t k = len == end - start ? change : detail::relaxed_first_change(line, len);
    while (k < len) {
      if (k > i && line[k - 1] == ' ') --k;  // a lone SP before an HTAB starts the run
      put(line + i, k - i);
      put(" ", 1);
      while (detail::is_wsp(line[k])) ++k;  // a non-WSP byte ends the line
      i = k;
      k += detail::relaxed_first_change(line + k, len - k);
    }
    put(line + i, len - i);
    put(kCrlf, 2);
  }
  flush_span();
  flush_buf();
  if (!emitted && c == Canon::kSimple) sink(kCrlf, 2);
}

}  // namespace dkim
