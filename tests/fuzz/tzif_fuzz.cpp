// tests/fuzz/tzif_fuzz.cpp: fuzz target for the TZif reader and POSIX TZ
// rules behind the template `date` filter (templating/tz.h).
//
// Any bytes either parse into a Zone or are refused; never a read outside
// the input, a crash or a hang. A parsed zone answers at any instant with
// an offset RFC 8536 allows; the whole input read as a TZ string either
// parses or is refused.
//
// Seed corpus: tests/fuzz/corpus/tzif/ (real tzdata files, slim and fat).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "templating/tz.h"
#include "fuzz_check.h"

namespace {

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto bytes = std::as_bytes(std::span<const uint8_t>(data, size));
  if (auto zone = templating::lang::Zone::parse(bytes)) {
    for (int64_t t : {INT64_MIN, int64_t(-1) << 40, int64_t(-1), int64_t(0), int64_t(1795428000),
                      int64_t(4118126400), int64_t(1) << 40, INT64_MAX}) {
      auto l = zone->at(t);
      // Footer offsets reach +-24h plus an hour of daylight time.
      FUZZ_CHECK(l.utc_offset > -26 * 3600 && l.utc_offset < 26 * 3600);
    }
  }
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto tz = templating::lang::parse_posix_tz(text)) {
    FUZZ_CHECK(tz->std_abbr.size() >= 3);
  }
  return 0;
}
