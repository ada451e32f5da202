// tests/fuzz/smtp_reply_fuzz.cpp: the SMTP reply parser and dot-stuffing
// over arbitrary bytes. Invariants: a complete reply consumes at least one
// line and no more than the input, its code is 200..599, and parse_ehlo
// accepts whatever parse_reply produced; dot_stuff output ends with the
// terminator and has no bare CR or LF.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mta/reply.h"
#include "mta/smtp_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view rest = in;
  for (int i = 0; i < 64 && !rest.empty(); ++i) {
    mta::Reply r;
    size_t used = 0;
    std::string err;
    mta::ParseState st = mta::parse_reply(rest, &r, &used, &err);
    if (st != mta::ParseState::kComplete) break;
    if (used == 0 || used > rest.size() || r.code < 200 || r.code > 599 || r.lines.empty()) std::abort();
    (void)mta::parse_ehlo(r);
    (void)r.text();
    rest.remove_prefix(used);
  }
  std::string out;
  mta::dot_stuff(in, &out);
  if (out.size() < 3 || out.compare(out.size() - 3, 3, ".\r\n") != 0) std::abort();
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\r' && (i + 1 >= out.size() || out[i + 1] != '\n')) std::abort();
    if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r')) std::abort();
  }
  return 0;
}
