// core/result.cpp: names of error codes and the one place Result throws.
#include "core/result.h"

namespace core {

std::string_view errc_name(Errc c) noexcept {
  switch (c) {
    case Errc::kOk:
      return "ok";
    case Errc::kInvalidArgument:
      return "invalid_argument";
    case Errc::kNotFound:
      return "not_found";
    case Errc::kConflict:
      return "conflict";
    case Errc::kUnauthenticated:
      return "unauthenticated";
    case Errc::kPermissionDenied:
      return "permission_denied";
    case Errc::kTooLarge:
      return "too_large";
    case Errc::kRateLimited:
      return "rate_limited";
    case Errc::kUnavailable:
      return "unavailable";
    case Errc::kSpoolFull:
      return "spool_full";
    case Errc::kIoError:
      return "io_error";
    case Errc::kCorruption:
      return "corruption";
    case Errc::kInternal:
      return "internal";
    case Errc::kDeadlineExceeded:
      return "deadline_exceeded";
  }
  // A code read back from an old event that this build does not know.
  return "unknown";
}

std::string Error::to_string() const {
  std::string out(errc_name(code));
  // Messages meant for API clients often already start with the field
  // ("to.email: 'ivan@' is not a valid address"); do not say it twice.
  const bool message_names_field = !field.empty() && message.size() > field.size() &&
                                   message.compare(0, field.size(), field) == 0 &&
                                   message[field.size()] == ':';
  if (!field.empty() && !message_names_field) {
    out += ": ";
    out += field;
  }
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

BadResultAccess::BadResultAccess(Error e)
    : std::runtime_error(e.to_string()), error_(std::move(e)) {}

void throw_exception_from_error(const Error& e, const boost::source_location& /*loc*/) {
  throw BadResultAccess(e);
}

}  // namespace core
