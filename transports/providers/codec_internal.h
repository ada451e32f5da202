// transports/providers/codec_internal.h: helpers the provider codecs
// (telegram.cpp, viber.cpp, vk.cpp, whatsapp.cpp, twilio.cpp) share.
// Private to vestnik_providers: not part of codec.h's contract.
//
// Every function is pure, thread-safe and never throws; each accepts any
// bytes, since what it reads comes from outside. Only helpers whose copies
// behaved identically live here; a codec whose variant differs (WhatsApp's
// integer(), which also reads digit strings; VK's form names, which are not
// escaped; Viber's HMAC, which passes an empty key through as it is) keeps
// its own.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "transports/providers/codec.h"

namespace transports::providers::detail {

// ---- JSON access (any document shape; null in, null/empty out) ------------

// The member `key` of `v` when `v` is an object that has it; else null.
// The pointer lives as long as the document.
const boost::json::value* member(const boost::json::value* v, std::string_view key) noexcept;

// `v`'s text when it is a JSON string; else empty. Views into the document.
std::string_view as_string(const boost::json::value* v) noexcept;

// `v` when it is a JSON integer that fits int64_t; else none. Strings and
// doubles are not integers here.
std::optional<int64_t> as_int64(const boost::json::value* v) noexcept;

// `body` parsed as one JSON document; none when it is not valid JSON.
std::optional<boost::json::value> parse_json(std::string_view body);

// ---- times -------------------------------------------------------------------

// A provider's Unix time in seconds (or milliseconds) as a TimePoint; the
// epoch (TimePoint{}) when absent, negative or after 2200-01-01T00:00:00Z,
// which bounds hostile values well inside the nanosecond system_clock.
core::TimePoint from_unix_seconds(std::optional<int64_t> s) noexcept;
core::TimePoint from_unix_millis(std::optional<int64_t> ms) noexcept;

// ---- secrets -----------------------------------------------------------------

// a == b, taking time that depends only on the lengths (a secret's length
// is no secret). Two empty strings are equal.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

enum class Digest { kSha1, kSha256 };

// HMAC-<digest>(key, data) into `out`. An empty key or data is a valid
// input (OpenSSL never sees a null pointer for either). False when OpenSSL
// fails or the MAC is not exactly out.size() bytes; `out` is then
// unspecified.
// REQUIRES: out.size() is at most EVP_MAX_MD_SIZE (64).
bool hmac(Digest digest, std::string_view key, std::string_view data, std::span<unsigned char> out);

// ---- hex and percent-encoding ------------------------------------------------

// The value of one hex digit (either case); -1 for any other byte.
int hex_value(char c) noexcept;

// Lower-case hex of the n bytes at data (2n characters).
std::string hex_lower(const unsigned char* data, size_t n);

// Appends s percent-encoded: RFC 3986 unreserved bytes stay, every other
// byte (a space too, UTF-8 byte by byte) becomes %XX with upper-case hex,
// so '+' or '&' can never be misread in a form or a path.
void append_percent_encoded(std::string& out, std::string_view s);

// Appends "name=value" (both percent-encoded), after a '&' unless out is
// empty: one application/x-www-form-urlencoded field.
void append_form_field(std::string& out, std::string_view name, std::string_view value);

// One application/x-www-form-urlencoded name or value decoded: '+' is a
// space, %XX (either case) a byte; a '%' without two hex digits stays as it
// is.
std::string form_decode(std::string_view s);

// ---- failures ----------------------------------------------------------------

// failure(kRecipient, not rate limited, blames the message) with `enhanced`
// (5.1.1: no such recipient; 5.7.1: not allowed to deliver there).
SendResult recipient_failure(std::string_view enhanced, std::string text);

// What one provider error code means, in the terms of failure() plus the
// fields failure() leaves to the codec (WhatsApp and Twilio tables).
struct ErrorClass {
  FailureClass cls = FailureClass::kRetry;
  bool rate_limited = false;
  bool blames_message = false;
  std::string_view enhanced;  // overrides failure()'s default when not empty
  bool recipient_blocked = false;
  bool needs_template = false;
};

inline constexpr ErrorClass kRateLimited{FailureClass::kRetry, true, false, {}, false, false};
inline constexpr ErrorClass kProviderError{FailureClass::kRetry, false, false, {}, false, false};
inline constexpr ErrorClass kConfig{FailureClass::kConfig, false, false, {}, false, false};
inline constexpr ErrorClass kBadRequest{FailureClass::kBadRequest, false, true, {}, false, false};

// The SendResult `c` describes, with `text` as the reply text.
SendResult make_failure(const ErrorClass& c, std::string text);

}  // namespace transports::providers::detail
