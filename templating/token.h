// templating/token.h: opaque, URL-safe, HMAC-protected tokens.
//
// A token carries a few short fields (tenant, recipient, category, a message
// id, a link index) through a URL that leaves our hands: the one-click
// unsubscribe link (RFC 8058 wants "an opaque hard-to-forge token"), click
// and open tracking, later VERP return paths. The fields are not secret
// (anyone can base64-decode them); they are authentic: nobody without the
// key can make a token that opens.
//
// Layout (frozen: tokens outlive deployments in mailboxes; a new layout gets
// a new version byte and open_token keeps reading the old one):
//   base64url, no padding, of
//   version (1 byte, 0x01) | fields joined by '\0' | tag
// where tag is the first 16 bytes of HMAC-SHA256(key, version | fields).
// 128 bits of tag is beyond online guessing; the full 32 bytes would only
// lengthen every link.
//
// Thread-safety: both functions may be called from any thread. Each thread
// caches the HMAC state of the last key it used, so a run of tokens under one
// key costs two SHA-256 compressions per 64 bytes of payload and no
// allocation in OpenSSL.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/id.h"
#include "core/result.h"

namespace templating {

inline constexpr unsigned char kTokenVersion = 1;
// open_token refuses longer input before decoding it (cheap DoS guard; the
// unsubscribe endpoint is unauthenticated). seal_token does not enforce it:
// keep fields short enough (about 1,500 bytes in all).
inline constexpr size_t kMaxTokenLength = 2048;
inline constexpr size_t kTokenTagBytes = 16;

// Returns the token (characters [A-Za-z0-9_-] only, safe in a URL path or
// query without escaping).
// REQUIRES: no field contains '\0' (asserted; the API refuses NUL in every
// field it accepts). An empty list seals like one empty field.
// REQUIRES: key is not empty (asserted). Use at least 32 random bytes.
std::string seal_token(std::string_view key, std::span<const std::string_view> fields);
inline std::string seal_token(std::string_view key, std::initializer_list<std::string_view> fields) {
  return seal_token(key, std::span<const std::string_view>(fields.begin(), fields.size()));
}

// Returns the fields sealed under `key`, in order. Errors are all
// kInvalidArgument with field "token" and a bland message: malformed base64,
// too long, too short, unknown version, or a tag that does not match
// (compared in constant time). The caller checks the number of fields it
// expects.
core::Result<std::vector<std::string>> open_token(std::string_view key, std::string_view token);

// A short token naming one message id, for the VERP return path, whose
// local part must fit in 64 octets (RFC 5321 4.5.3.1.1) and may be
// lower-cased on the way back: base32 (lower case, no padding) of
// id (16 bytes) | the first 10 bytes of HMAC-SHA256(key, kind '\0' id).
// 42 characters, so "bounce-" + token is 49. 80 bits of tag are beyond
// online guessing (each guess is one SMTP transaction). The tenant is not
// in it: the message id names it.
inline constexpr size_t kIdTokenTagBytes = 10;
inline constexpr size_t kIdTokenLength = 42;  // ceil(26 * 8 / 5)
std::string seal_id_token(std::string_view key, std::string_view kind, const core::Id& id);
// The id, when `token` was sealed under `key` for `kind` (either letter
// case); nullopt otherwise (compared in constant time).
std::optional<core::Id> open_id_token(std::string_view key, std::string_view kind,
                                      std::string_view token);

}  // namespace templating
