// tests/fuzz/inject_data_fuzz.cpp: the parser of injected SMTP data
// (engine::parse_injected_data) over arbitrary bytes. Invariants: it never
// crashes; what it accepts starts with the trace, keeps CRLF line ends and
// carries none of the control headers any more.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/inject.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  static const std::string kTrace = "Received: from fuzz (127.0.0.1)\r\n";
  auto r = engine::parse_injected_data(in, kTrace);
  if (!r) return 0;
  const std::string& out = r->data;
  if (out.compare(0, kTrace.size(), kTrace) != 0) std::abort();
  // The header section of the stored message has no control header left.
  size_t end = out.find("\r\n\r\n");
  std::string_view head = std::string_view(out).substr(0, end == std::string::npos ? out.size() : end);
  for (std::string_view h : {"\nX-Vestnik-Category:", "\nX-Vestnik-Campaign:", "\nX-Vestnik-Priority:",
                             "\nX-Vestnik-Idempotency-Key:"}) {
    if (head.find(h) != std::string_view::npos) std::abort();
  }
  return 0;
}
