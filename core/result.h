// core/result.h: errors as values for every I/O path (STYLE.md R3).
//
// Result<T> is boost::system::result<T, core::Error>. An Error carries a
// machine-readable code, a human-readable message and, for input errors, the
// name of the offending field ("to.email", "retry.schedule[2]"). The API maps
// codes to HTTP statuses; the CLI prints the message. Nothing here throws
// except Result::value() on an error, which only tests and startup code use.
#pragma once

#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace core {

// Never renumber: codes are logged and may be persisted in events.
enum class Errc : int {
  kOk = 0,
  kInvalidArgument = 1,   // malformed input; `field` names it (HTTP 400)
  kNotFound = 2,          // (404)
  kConflict = 3,          // state does not allow the operation (409)
  kUnauthenticated = 4,   // (401)
  kPermissionDenied = 5,  // (403)
  kTooLarge = 6,          // (413)
  kRateLimited = 7,       // (429)
  kUnavailable = 8,       // shutting down, overloaded or unhealthy (503)
  kSpoolFull = 9,         // disk or map exhausted; nothing stored was harmed (507)
  kIoError = 10,          // the storage failed; the spool latches unhealthy
  kCorruption = 11,       // a stored record does not decode
  kInternal = 12,         // an invariant failed
  kDeadlineExceeded = 13,
};

std::string_view errc_name(Errc c) noexcept;  // "invalid_argument", ...

struct Error {
  Errc code = Errc::kInternal;
  std::string message;
  std::string field;  // empty unless the error is about one input field

  // True when trying again later may succeed (the spool was full, we were
  // shutting down); false when the same request will always fail.
  bool transient() const noexcept {
    return code == Errc::kUnavailable || code == Errc::kSpoolFull || code == Errc::kRateLimited ||
           code == Errc::kDeadlineExceeded || code == Errc::kIoError;
  }
  std::string to_string() const;  // "invalid_argument: to.email: ..." for logs and CLI
};

// What Result<T>::value() throws when it holds an error; what() is
// Error::to_string(). Only tests and startup code should ever see it.
class BadResultAccess : public std::runtime_error {
 public:
  explicit BadResultAccess(Error e);
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

// Required by boost::system::result::value() for a custom error type (found
// by argument-dependent lookup). Throws BadResultAccess.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;
// Result<void>, named as LevelDB names it. The delivery state of a message is
// core::MessageStatus (core/message.h).
using Status = Result<void>;

inline Error make_error(Errc code, std::string message, std::string field = {}) {
  return Error{code, std::move(message), std::move(field)};
}
inline Error invalid_argument(std::string field, std::string message) {
  return Error{Errc::kInvalidArgument, std::move(message), std::move(field)};
}

}  // namespace core
