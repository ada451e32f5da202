// mta/report/report_internal.h: the pieces parse() is built from; private
// to vestnik_mta_report (and its unit test, which includes it to pin the
// helpers). Everything here is pure and allocation-bounded by its input.
//
//   mime.cpp         header blocks, Content-Type, transfer decodings, the
//                    bounded MIME walk, address helpers
//   charset.cpp      KOI8-R/U, Windows-1251, Latin-1 -> UTF-8; RFC 2047; xtext
//   report.cpp       parse(): classification, DSN and ARF/JMRP fields, originals
//   text_bounce.cpp  recipients and diagnostics from bounce text; wording lists
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mta/report/report.h"

namespace mta::report::detail {

// ---- strings -------------------------------------------------------------

std::string_view trim(std::string_view s) noexcept;
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;
// ASCII case-insensitive search; npos when absent. Non-ASCII bytes compare
// exactly, which is what UTF-8 needles want.
size_t ifind(std::string_view hay, std::string_view needle, size_t from = 0) noexcept;
inline bool icontains(std::string_view hay, std::string_view needle) noexcept {
  return ifind(hay, needle) != std::string_view::npos;
}
std::string lower(std::string_view s);

// The next line of `text` from `pos` (without its CR LF or LF); advances
// pos past the line end. REQUIRES: pos < text.size().
std::string_view next_line(std::string_view text, size_t& pos) noexcept;

// ---- header blocks -------------------------------------------------------

struct Field {
  std::string name;   // as written
  std::string value;  // unfolded (each fold becomes one space), trimmed, <= kMaxFieldBytes
};

struct HeaderBlock {
  std::vector<Field> fields;
  // The first field of that name (case-insensitive), or nullptr.
  const std::string* get(std::string_view name) const noexcept;
  std::string_view get_or_empty(std::string_view name) const noexcept;
};

// Reads the header block at the start of `text`: fields until a blank (or
// whitespace-only) line, the end, or a line that is neither a field nor a
// continuation (the "missing blank line" case: that line starts the body).
// Returns the offset where the body starts. At most 1024 fields are kept.
size_t parse_header_block(std::string_view text, HeaderBlock& out);

// ---- MIME ----------------------------------------------------------------

struct ContentType {
  std::string type = "text/plain";  // lower case "type/subtype"
  std::string boundary;
  std::string charset;      // lower case
  std::string report_type;  // lower case
};
ContentType parse_content_type(std::string_view value);

struct Part {
  ContentType content_type;
  std::string body;  // after Content-Transfer-Encoding
  std::string text;  // text/* only: body converted to UTF-8
  int depth = 0;
};

struct Mime {
  HeaderBlock headers;                    // of the message itself
  std::vector<Part> leaves;               // in document order
  std::vector<std::string> report_types;  // of every multipart/report seen
  size_t entities = 0;                    // counted against kMaxParts
};

// Parses `message` (headers already known to exist) into its leaves.
// Multiparts below kMaxDepth are split; deeper ones and entities past
// kMaxParts are dropped. message/rfc822 stays a leaf (the quoted original).
Mime parse_mime(std::string_view message);

std::string decode_base64(std::string_view in);
std::string decode_quoted_printable(std::string_view in);

// ---- addresses -----------------------------------------------------------

// "Name <a@b>", "rfc822; a@b", "<a@b> (comment)" -> "a@b"; "" when none.
std::string bare_address(std::string_view value);
// The first mailbox of an address list ("A <a@b>, c@d" -> "a@b").
std::string first_mailbox(std::string_view value);
// Splits an address list at commas outside quotes, comments and <>.
std::vector<std::string> address_list(std::string_view value);
// "dns; mx.example.com" -> "mx.example.com" (text after the first ';').
std::string strip_type(std::string_view value);

// ---- charsets ------------------------------------------------------------

// Bytes in `charset` (lower case name) as UTF-8. Unknown or UTF-8/ASCII
// charsets: the bytes as they are, ill-formed sequences made U+FFFD.
std::string to_utf8(std::string_view bytes, std::string_view charset);
bool known_charset(std::string_view charset) noexcept;
// RFC 2047 encoded words in an unstructured field -> UTF-8. Words in an
// unknown charset are kept as written.
std::string decode_2047(std::string_view value);
// RFC 3461 §4 xtext: "+2B" -> '+'; malformed escapes are kept.
std::string xtext_decode(std::string_view in);

// ---- SMTP replies and bounce text ---------------------------------------

// "550 5.1.1 ..." -> 550; 0 when `text` does not start with a reply code.
uint16_t leading_reply_code(std::string_view text) noexcept;
// The first well-formed RFC 3463 code in `text` ("5.1.1"), or "".
std::string find_enhanced_status(std::string_view text);
// First token of a Status field if it is a well-formed enhanced code.
std::string clean_status(std::string_view value);
// Joins a multi-line reply written on one line: "550-5.1.1 a 550-5.1.1 b
// 550 5.1.1 c" -> "550 5.1.1 a b c". Other text is returned unchanged.
std::string join_multiline_reply(std::string_view text);

// Evidence from the wording of a report (subject and body text, UTF-8).
bool is_daemon_sender(std::string_view from_value) noexcept;  // mailer-daemon, postmaster...
bool has_bounce_wording(std::string_view text) noexcept;
bool has_delay_wording(std::string_view text) noexcept;
bool has_auto_reply_subject(std::string_view subject) noexcept;

// Recipients of a text bounce: from X-Failed-Recipients when given (each
// paired with the diagnostic found near it in `text`), else from the lines
// of `text` that name a recipient. `delayed` makes them "delayed".
std::vector<RecipientStatus> text_bounce_recipients(const std::vector<std::string>& failed,
                                                    std::string_view text, bool delayed);
// Where a text bounce quotes the original inline ("------ This is a copy of
// the message, including all the headers. ------" and the like): the text
// from the first header line after the marker; npos when there is none.
size_t quoted_original_offset(std::string_view text) noexcept;

}  // namespace mta::report::detail
