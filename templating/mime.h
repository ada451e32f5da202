// templating/mime.h: RFC 5322 / MIME composition of one rendered email.
//
// compose() turns a rendered email (subject, text, HTML, preheader) and its
// addressing into the exact octets handed to SMTP and DKIM: CRLF line ends
// everywhere, no line over 998 octets, header lines folded at 78 whenever a
// fold point exists, non-ASCII header text as RFC 2047 encoded-words, bodies
// in the cheapest safe transfer encoding. The output is 7-bit clean, so it
// needs neither 8BITMIME nor SMTPUTF8 from the receiving server.
//
// Header injection is impossible by construction: every header value passes
// through one sanitiser that turns CR, LF, NUL and every other control
// character into a space, and invalid UTF-8 into U+FFFD, before it is
// encoded. Validation at the API still refuses such input with a 400; this
// is the second wall, not the first.
//
// Everything here is pure (no I/O, no clock, no randomness), thread-safe and
// deterministic: the same input gives the same bytes, which golden tests and
// DKIM depend on. Functions allocate only their results; compose() reserves
// its output once.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace templating {

struct Mailbox {
  std::string name;     // display name, UTF-8, may be empty
  std::string address;  // addr-spec (local@domain), ASCII; see is_valid_addr_spec
};

// RFC 2369 / RFC 8058. Either may be empty, not both. With an https_url the
// message also gets "List-Unsubscribe-Post: List-Unsubscribe=One-Click"; the
// URL must then identify recipient and list on its own (a sealed token).
struct ListUnsubscribe {
  std::string https_url;  // "https://..." (printable ASCII, no spaces, '<', '>' or ',')
  std::string mailto;     // "mailto:..." (same character rules)
};

struct EmailParts {
  std::string subject;    // UTF-8; leading and trailing whitespace is dropped
  std::string text;       // UTF-8; any of LF, CRLF, CR as line ends
  std::string html;       // UTF-8; any line ends
  std::string preheader;  // plain text; inserted hidden into the HTML (only with html)
};

struct ComposeOptions {
  Mailbox from;
  Mailbox to;
  std::optional<Mailbox> reply_to;
  std::string message_id;  // "<...@domain>", from make_message_id
  core::TimePoint date;    // Date header, rendered RFC 5322 in UTC ("+0000")
  // Message id for bounce/complaint matching; no header when trace_value is empty.
  std::string trace_header = "X-Vestnik-Id";
  std::string trace_value;
  std::string feedback_id;  // "campaign:category:tenant:sender"; empty: no header
  // Set for bulk categories: List-Unsubscribe, plus List-Unsubscribe-Post:
  // List-Unsubscribe=One-Click when https_url is set.
  std::optional<ListUnsubscribe> list_unsubscribe;
  // Names must be ftext (printable ASCII but ':') and at most 64 characters,
  // and may not repeat a header compose() writes itself (From, To, Subject,
  // Date, Message-ID, MIME-Version, Content-*, List-Unsubscribe*,
  // Feedback-ID, the trace header) nor be Bcc, Cc, Sender, Return-Path,
  // Received or DKIM-Signature. Values are sanitised and encoded like Subject.
  std::vector<std::pair<std::string, std::string>> extra_headers;
  // Makes the multipart boundary deterministic for tests; empty: derived from
  // message_id. Either way the boundary is a function of the input.
  std::string boundary_seed;
};

// "<unique@domain>". Characters outside RFC 5322 atext and '.' (and dots
// that would make an invalid dot-atom: leading, trailing, doubled) become
// '_', so the result always parses as a msg-id.
std::string make_message_id(std::string_view unique, std::string_view domain);

// Appends a complete RFC 5322 message (headers + body, CRLF everywhere, ends
// with CRLF) to `out`. text only -> text/plain; html only -> text/html; both
// -> multipart/alternative (text first); neither -> an empty text/plain.
// Header order: Date, From, To, Reply-To, Subject, Message-ID, MIME-Version,
// Content-Type, Content-Transfer-Encoding, trace, Feedback-ID,
// List-Unsubscribe, List-Unsubscribe-Post, extra headers.
// Errors (kInvalidArgument, `field` names the input): "from.address",
// "to.address", "reply_to.address" (not a valid ASCII addr-spec),
// "message_id" (empty or not "<x@y>" printable ASCII), "trace_header",
// "extra_headers[i].name", "list_unsubscribe", "list_unsubscribe.https_url",
// "list_unsubscribe.mailto". On error `out` is left as it was.
// Cost (hot path): one scan of each body to choose its encoding and one
// pass to encode, both 16 bytes at a time; `out` is reserved once; the only
// other allocation is a copy of the HTML when a preheader is inserted.
// About 3 us for a 5 KB HTML + 2.5 KB text message.
core::Status compose(const EmailParts& parts, const ComposeOptions& options, std::string& out);

// ---- Building blocks, public for tests and for DKIM (#5) ----

// The value of an unstructured header field (Subject, X-...), as it follows
// "Name: ": sanitised, folded at 78 where possible (lines joined by CRLF +
// one space; no trailing CRLF), with RFC 2047 encoded-words (UTF-8, B or Q,
// whichever is shorter, each at most 75 characters, never splitting a UTF-8
// sequence) for words that are not ASCII, that look like encoded-words, or
// that are too long to fold (runs of them become one run of encoded-words,
// spaces inside). No line exceeds 78 octets (76 when it holds an
// encoded-word, RFC 2047 §2), the first counted as if "Name: " preceded it,
// unless the name alone leaves no room. Leading and trailing whitespace is
// dropped; everything else decodes back exactly under RFC 2047 §6.2.
// Note: Python's email (policy.default, before CPython gh-128110 was fixed)
// inserts a space between adjacent encoded-words in display names, so a
// long non-ASCII display name reads back there with extra spaces; mail
// clients follow the RFC.
std::string encode_header_value(std::string_view header_name, std::string_view utf8_value);

// A mailbox as it follows "Name: ": the display name as atoms, a
// quoted-string (ASCII with specials) or encoded-words (non-ASCII or long),
// then "<addr>"; the bare address when the name is empty. Folded like
// encode_header_value. REQUIRES: is_valid_addr_spec(m.address) (compose
// checks; here an invalid address is still sanitised, not validated).
std::string encode_mailbox(std::string_view header_name, const Mailbox& m);

// dot-atom local part (at most 64) '@' domain (LDH labels or an [address
// literal], at most 253), printable ASCII only.
bool is_valid_addr_spec(std::string_view address) noexcept;

// "Tue, 24 Nov 2026 09:00:00 +0000".
std::string format_rfc5322_date(core::TimePoint t);

// RFC 2045 §6.7 quoted-printable, appended to `out`. Line ends in `in` (LF,
// CRLF or CR) become hard CRLF breaks; encoded lines are at most 76
// characters including the soft-break '='; escapes are never split; trailing
// space/tab before a line end, '.' at the start of a line and the 'F' of
// "From " at the start of a line are escaped (safe through SMTP dot-stuffing
// bugs and mbox ">From" munging, which would break DKIM). Does not add a
// final line break that `in` lacks.
void quoted_printable(std::string_view in, std::string& out);

// Converts the 8-bit bodies of a message (CRLF line ends) to 7-bit: every
// leaf entity (text/*, application/*, ...) whose body has bytes >= 0x80 and
// whose Content-Transfer-Encoding is absent, 7bit, 8bit or binary is
// re-encoded quoted-printable and its CTE field replaced (MIME-Version
// added at the top when missing). Multiparts are followed (delimiters,
// preamble and epilogue kept byte for byte); message/* and already encoded
// bodies are left alone. Header fields are never touched (8-bit headers
// need SMTPUTF8, not this). Returns false, with `out` untouched, when
// nothing changed. For a peer without 8BITMIME (RFC 6152), and before DKIM
// signing so that the signed bytes are the ones that travel. Pure.
bool downgrade_8bit_body(std::string_view message, std::string& out);

// Base64 of `in` exactly as given (no line-end conversion), appended to
// `out` in lines of 76 characters, each ending with CRLF (so empty input
// appends nothing).
void base64_lines(std::string_view in, std::string& out);

// ---- HTML helpers; tracking is off by default, the caller decides ----

// Rewrites the href of every <a> whose URL is http:// or https:// (after
// decoding HTML character references) to make_url(original url), escaped for
// the attribute. Leaves alone mailto:, tel:, #anchors, relative links and
// links marked with a data-vestnik-notrack attribute; when make_url returns
// an empty string the link is kept as it was (the caller returns "" for the
// unsubscribe URL). Tags are found by a small tolerant scanner (quotes
// respected), not a full HTML parser.
std::string rewrite_links(std::string_view html,
                          const std::function<std::string(std::string_view url)>& make_url);

// Appends a 1x1 open-tracking <img> just before the last </body>, or at the
// end when there is none. The URL is attribute-escaped.
std::string add_open_pixel(std::string_view html, std::string_view pixel_url);

// Inserts the preheader (HTML-escaped) as a hidden <span> right after the
// opening <body ...> tag, or at the start when there is none. compose()
// calls it when EmailParts::preheader is set.
std::string insert_preheader(std::string_view html, std::string_view preheader);

}  // namespace templating
