// tests/fuzz/dkim_canon_fuzz.cpp: DKIM canonicalization (dkim/canon.h) and
// the parsing half of the verifier over arbitrary bytes. Invariants:
//  - normalize_line_ends output has no bare CR or LF, ends with CRLF when
//    not empty, and needs_normalization() is false for it; a second
//    normalization changes nothing; needs_normalization(in) is false
//    exactly when normalizing leaves the input as it was.
//  - split_message's fields and body tile the message exactly, top to
//    bottom, each field ending with CRLF (but the last one when there is no
//    body); a field's name is a prefix of it, without ':' or CRLF.
//  - relaxed body output has no HTAB, no " \r\n", no empty trailing line,
//    and is empty or ends with CRLF; simple body output ends with CRLF and
//    has no trailing "\r\n\r\n" (unless it is exactly CRLF); the sink and
//    string forms agree; canonicalizing relaxed output again is a no-op.
//  - relaxed header output is "name:value\r\n" with a lowercase name, no
//    HTAB, no CR/LF inside and no WSP around the colon or at the end;
//    simple header output is the field unchanged.
//  - dkim::verify with no keys and dkim::parse_key_record never crash (or
//    throw), and verify never passes without a key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dkim/canon.h"
#include "dkim/dkim.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool no_bare_cr_lf(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  return true;
}

void check_body(std::string_view body) {
  using dkim::Canon;
  for (Canon c : {Canon::kSimple, Canon::kRelaxed}) {
    std::string out;
    dkim::canonicalize_body(c, body, out);
    std::string pieces;
    dkim::canonicalize_body(c, body, [&pieces](const char* p, size_t n) { pieces.append(p, n); });
    check(pieces == out);
    if (c == Canon::kRelaxed) {
      check(out.find('\t') == std::string::npos);
      check(out.find(" \r\n") == std::string::npos);
      check(out.find("  ") == std::string::npos);
      check(out.empty() || out.ends_with("\r\n"));
      check(!out.ends_with("\r\n\r\n") && out != "\r\n");
      // Relaxed output is a fixed point when its lines are CRLF-clean.
      if (no_bare_cr_lf(out)) {
        std::string again;
        dkim::canonicalize_body(c, out, again);
        check(again == out);
      }
    } else {
      check(out.ends_with("\r\n"));
      check(out == "\r\n" || !out.ends_with("\r\n\r\n"));
      // Simple canonicalization keeps every byte but trailing empty lines
      // and adds at most a final CRLF.
      check(out.size() <= body.size() + 2);
    }
  }
}

void check_header(std::string_view raw) {
  using dkim::Canon;
  for (bool with_crlf : {true, false}) {
    std::string simple;
    dkim::canonicalize_header(Canon::kSimple, raw, simple, with_crlf);
    if (with_crlf) {
      check(simple == raw);
    } else {
      check(simple == (raw.ends_with("\r\n") ? raw.substr(0, raw.size() - 2) : raw));
    }
    std::string relaxed;
    dkim::canonicalize_header(Canon::kRelaxed, raw, relaxed, with_crlf);
    std::string_view v = relaxed;
    if (with_crlf) {
      check(v.ends_with("\r\n"));
      v.remove_suffix(2);
    }
    // Only a field proper ("name:" on its first line) has a name to check;
    // a line without a colon is all name and keeps what it holds.
    const size_t raw_colon = raw.find(':');
    if (raw_colon == std::string_view::npos || raw.find_first_of("\r\n") < raw_colon) continue;
    check(v.find('\r') == std::string_view::npos && v.find('\n') == std::string_view::npos);
    const size_t colon = v.find(':');
    check(colon != std::string_view::npos);
    for (size_t i = 0; i < colon; ++i) check(!(v[i] >= 'A' && v[i] <= 'Z'));
    std::string_view value = v.substr(colon + 1);
    check(value.find('\t') == std::string_view::npos);
    check(value.find("  ") == std::string_view::npos);
    check(!value.starts_with(" ") && !value.ends_with(" "));
    check(colon == 0 || (v[colon - 1] != ' ' && v[colon - 1] != '\t'));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // Line ends.
  std::string norm;
  dkim::normalize_line_ends(in, norm);
  check(no_bare_cr_lf(norm));
  check(norm.empty() == in.empty());
  check(norm.empty() || norm.ends_with("\r\n"));
  check(!dkim::needs_normalization(norm));
  check(dkim::needs_normalization(in) == (norm != in));
  std::string twice;
  dkim::normalize_line_ends(norm, twice);
  check(twice == norm);

  // The split tiles the message.
  dkim::SplitMessage m = dkim::split_message(norm);
  size_t pos = 0;
  for (const auto& f : m.fields) {
    check(f.raw.data() == norm.data() + pos);
    check(!f.raw.empty());
    check(f.raw.ends_with("\r\n"));  // norm ends with CRLF, so every field does
    check(f.name.size() < f.raw.size());
    check(f.raw.substr(0, f.name.size()) == f.name);
    check(f.name.find(':') == std::string_view::npos && f.name.find("\r\n") == std::string_view::npos);
    pos += f.raw.size();
    check_header(f.raw);
  }
  if (pos < norm.size()) {
    check(norm.compare(pos, 2, "\r\n") == 0);
    check(m.body.data() == norm.data() + pos + 2 && m.body.size() == norm.size() - pos - 2);
  } else {
    check(m.body.empty());
  }
  check_body(m.body);
  // Raw input too: split and canonicalize must cope with bare CR/LF.
  dkim::SplitMessage raw = dkim::split_message(in);
  for (const auto& f : raw.fields) check_header(f.raw);
  check_header(in);
  check_body(in);

  // The verifier's parsing: no keys, so nothing may pass; must not throw.
  for (const auto& v : dkim::verify(norm, {}, 1'700'000'000)) check(!v.pass && !v.reason.empty());
  (void)dkim::parse_key_record(in);
  (void)dkim::base64_decode(in);
  return 0;
}
