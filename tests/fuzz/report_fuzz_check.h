// tests/fuzz/report_fuzz_check.h: what every mta::report::Report promises,
// whatever the input — the invariants dsn_fuzz and arf_fuzz both check.
#pragma once

#include <string>
#include <string_view>

#include "core/utf8.h"
#include "fuzz_check.h"
#include "mta/report/report.h"

namespace report_fuzz {

using mta::report::Kind;
using mta::report::Report;

inline bool well_formed_status(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  size_t i = 2;
  for (int group = 0; group < 2; ++group) {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || i - start > 3) return false;
    if (group == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// What every Report promises, whatever the input.
inline void check_report(const Report& r) {
  FUZZ_CHECK(static_cast<unsigned>(r.kind) <= static_cast<unsigned>(Kind::kJmrp));
  FUZZ_CHECK(r.recipients.size() <= mta::report::kMaxRecipients);
  FUZZ_CHECK(r.original_rcpt_to.size() <= mta::report::kMaxRecipients);
  FUZZ_CHECK(core::utf8::valid(r.subject.data(), r.subject.size()));
  switch (r.kind) {
    case Kind::kComplaint:
    case Kind::kJmrp:
      FUZZ_CHECK(r.recipients.empty());
      FUZZ_CHECK(!r.feedback_type.empty());
      break;
    case Kind::kDsn:
    case Kind::kTextBounce:
      FUZZ_CHECK(r.feedback_type.empty());
      break;
    case Kind::kAutoReply:
    case Kind::kUnknown:
      FUZZ_CHECK(r.recipients.empty() && r.feedback_type.empty() && r.original_rcpt_to.empty());
      break;
  }
  for (const mta::report::RecipientStatus& x : r.recipients) {
    FUZZ_CHECK(!x.final_recipient.empty());
    FUZZ_CHECK(x.final_recipient.find_first_of("\r\n") == std::string::npos);
    FUZZ_CHECK(x.status.empty() || well_formed_status(x.status));
    FUZZ_CHECK(x.code == 0 || (x.code >= 200 && x.code <= 599));
    FUZZ_CHECK(x.diagnostic.size() <= 1000);
    FUZZ_CHECK(x.diagnostic.find_first_of("\r\n") == std::string::npos);
    if (r.kind == Kind::kTextBounce) FUZZ_CHECK(x.action == "failed" || x.action == "delayed");
  }
}

// The unframed input: a Report, or invalid_argument on "message".
inline void check_report_result(const core::Result<Report>& r) {
  if (!r.has_value()) {
    FUZZ_CHECK(r.error().code == core::Errc::kInvalidArgument && r.error().field == "message");
    return;
  }
  check_report(*r);
}

}  // namespace report_fuzz
