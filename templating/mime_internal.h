// templating/mime_internal.h: pieces shared by the mime_*.cpp files. Private
// to templating/ (not installed, not included by other modules).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace templating::mime_detail {

// ---- headers (mime_header.cpp) ----

// The header sanitiser (the injection wall, see mime.h): controls (C0, DEL,
// C1) become ' ', invalid UTF-8 becomes U+FFFD. Returns `in` itself when it
// is already clean (the common case: no copy), else a view of `scratch`.
std::string_view sanitize_header_text(std::string_view in, std::string& scratch);

// Appends "Name: value\r\n" for an unstructured field (see encode_header_value).
void append_unstructured(std::string& out, std::string_view name, std::string_view value);
// Appends "Name: mailbox\r\n" (see encode_mailbox).
void append_mailbox(std::string& out, std::string_view name, std::string_view display_name,
                    std::string_view address);
// Appends "List-Unsubscribe: <https>, <mailto>\r\n" (either may be empty, not
// both; both validated by the caller), folded between the URIs.
void append_list_unsubscribe(std::string& out, std::string_view https_url, std::string_view mailto);
// Appends "Tue, 24 Nov 2026 09:00:00 +0000".
void append_rfc5322_date(std::string& out, long long unix_seconds);

// ftext (RFC 5322 §3.6.8: printable ASCII except ':'), 1..64 characters.
bool is_valid_field_name(std::string_view name) noexcept;

// ---- bodies (mime_body.cpp) ----

enum class TransferEncoding { k7bit, kQuotedPrintable, kBase64 };

inline std::string_view encoding_name(TransferEncoding e) {
  switch (e) {
    case TransferEncoding::k7bit: return "7bit";
    case TransferEncoding::kQuotedPrintable: return "quoted-printable";
    case TransferEncoding::kBase64: return "base64";
  }
  return "7bit";
}

// Picks the encoding for a text body. `must_end_with_newline` is set for the
// body of a single-part message, which must end with CRLF: then 7bit is only
// chosen when the text already ends with a line break (a QP body can end
// with a soft break and so round-trip exactly).
TransferEncoding choose_encoding(std::string_view text, bool must_end_with_newline) noexcept;

// An upper bound of the encoded size (for reserve()).
size_t encoded_size_bound(std::string_view text, TransferEncoding e) noexcept;

// Appends `text` encoded with `e`, line ends converted to CRLF. The output
// ends with CRLF exactly when it must be followed by nothing (single part,
// `final_crlf`), else it does not necessarily end with CRLF and the caller
// appends "\r\n--boundary".
void append_body(std::string& out, std::string_view text, TransferEncoding e, bool final_crlf);

// ---- shared ----

inline constexpr char kHexUpper[] = "0123456789ABCDEF";

inline char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

}  // namespace templating::mime_detail
