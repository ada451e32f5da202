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
}  // namespace detail

template <class Sink>
void canonicalize_body(Canon c, std::string_view body, Sink&& sink) {
  static constexpr char kCrlf[] = "\r\n";
  size_t pending_empty = 0;  // empty lines seen but not yet emitted
  bool emitted = false;
  size_t pos = 0;
  const size_t n = body.size();
  // Relaxed lines are rebuilt in this buffer, handed to the sink when full
  // (simple lines go to the sink as they stand).
  char buf[1024];
  size_t used = 0;
  auto flush = [&] {
    if (used) sink(static_cast<const char*>(buf), used);
    used = 0;
  };
  auto put = [&](const char* p, size_t k) {
    if (used + k > sizeof buf) {
      flush();
      if (k > sizeof buf) {
        sink(p, k);
        return;
      }
    }
    std::memcpy(buf + used, p, k);
    used += k;
  };
  while (pos < n) {
    size_t end = body.find("\r\n", pos);
    size_t next = end == std::string_view::npos ? n : end + 2;
    if (end == std::string_view::npos) end = n;
    std::string_view line = body.substr(pos, end - pos);
    pos = next;
    if (c == Canon::kSimple) {
      if (line.empty()) {
        ++pending_empty;
        continue;
      }
      for (; pending_empty; --pending_empty) sink(kCrlf, 2);
      sink(line.data(), line.size());
      sink(kCrlf, 2);
      emitted = true;
      continue;
    }
    // Relaxed: drop trailing WSP, collapse inner runs.
    size_t len = line.size();
    while (len && detail::is_wsp(line[len - 1])) --len;
    if (len == 0) {
      ++pending_empty;
      continue;
    }
    for (; pending_empty; --pending_empty) put(kCrlf, 2);
    size_t i = 0;
    while (i < len) {
      size_t j = i;
      while (j < len && !detail::is_wsp(line[j])) ++j;
      put(line.data() + i, j - i);
      if (j == len) break;
      while (detail::is_wsp(line[j])) ++j;  // a non-WSP byte ends the line
      put(" ", 1);
      i = j;
    }
    put(kCrlf, 2);
    emitted = true;
  }
  flush();
  if (!emitted && c == Canon::kSimple) sink(kCrlf, 2);
}

}  // namespace dkim
