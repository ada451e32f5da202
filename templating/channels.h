// templating/channels.h: per-channel text rules — the text part of an email
// derived from its HTML, the Telegram Bot API HTML subset, SMS encodings and
// segments, and the channel-neutral buttons model.
//
// Every function here is pure: no I/O, no shared state, safe to call from any
// thread. Inputs are UTF-8; an ill-formed UTF-8 sequence never reaches an
// output and never splits one: it becomes U+FFFD (the text functions, the SMS
// functions) or an error (the buttons). Nothing throws; the HTML functions
// accept any bytes at all (broken HTML is the normal case, not an error).
//
// Cost rules (render path, once per message and channel): html_to_text() and
// telegram_html() are one pass over the input with no regex and no per-char
// allocation; the output is reserved once (bench/templating_channels.cpp).
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/message.h"
#include "core/result.h"

namespace templating {

// ---------------------------------------------------------------------------
// Email: the text/plain part derived from the HTML part.
//
// Block elements (p, div, h1-h6, tr, table, ul, ol, blockquote, hr, pre and
// the HTML5 sectioning elements) become line breaks; p, h1-h6, blockquote,
// pre, hr, table and outermost lists are paragraphs, separated by one empty
// line. <br> is one newline. <li> is a "- " item (nested lists indent by two
// spaces per level); table cells of one row are separated by a space.
// <a href="u">t</a> becomes "t (u)", or just "u" when t is empty or names
// the same address (scheme and a trailing slash aside); mailto: addresses are
// shown without the scheme; javascript:, vbscript:, data: and "#fragment"
// links keep their text only; spaces and controls inside a URL are
// percent-encoded so that it stays one word. <img alt="x"> is "x". <head> content, <style>,
// <script>, <title>, <template>, comments and elements hidden with
// display:none / visibility:hidden / the hidden attribute (the preheader)
// are dropped. Entities are decoded (the HTML 4 named set plus &apos; and
// numeric references; &#128;-&#159; as Windows-1252, as browsers do).
// Whitespace collapses, except inside <pre>; U+00A0 and the Unicode line
// and paragraph separators count as whitespace;
// invisible padding (U+200B, U+200C, U+2060, U+FEFF, U+034F, soft hyphen)
// is dropped; control characters other than newline and tab are dropped.
// The result has no leading or trailing blank lines, no trailing spaces on
// any line, at most one empty line in a row, LF line ends, no final newline,
// and is well-formed UTF-8.
std::string html_to_text(std::string_view html);

// ---------------------------------------------------------------------------
// Telegram (Bot API sendMessage, parse_mode "HTML").
//
// Telegram refuses the whole message for one unsupported tag or attribute,
// one unclosed tag or one bare '&' ("can't parse entities"), so this builds
// the output from a closed set rather than filtering the input; the output
// is also stable: telegram_html(telegram_html(x)) == telegram_html(x).
//
// Keeps only what the Bot API accepts: b/strong, i/em, u/ins,
// s/strike/del (written as b, i, u, s), a href (http, https, tg and mailto
// only; other links keep their text), code, pre (with an optional first
// <code class="language-x">), blockquote (and blockquote expandable),
// tg-spoiler and span class="tg-spoiler" (written as tg-spoiler). No other
// attribute survives. Nesting follows the Bot API rules: nothing inside
// code/pre, no code/pre inside b/i/u/s/tg-spoiler/a, no link in a link, no
// blockquote in a blockquote or a link; a tag that would break them is dropped
// keeping its text. Tags are balanced (what is open is closed, stray closing
// tags are dropped), and empty elements are left out.
//
// Every other element is removed keeping its text, with the layout rules of
// html_to_text(): p/div/br/li/tr/h1-h6/... become line breaks ("- " for li),
// and <script>, <style>, <head> content, comments and hidden elements are
// dropped. Whitespace: Telegram shows the text's own spaces and newlines, so
// an input written for Telegram (no p, div, br, li, ul, ol, table, tr, td,
// th, h1-h6, hr, html, body or head tag) keeps its whitespace as written; an
// input that has any of them is document HTML (an email body), whose
// whitespace collapses as a browser would — except inside <pre>.
// Text is escaped: entities in the input are decoded first, then only
// &lt; &gt; &amp; (text) and &quot; (in href) are emitted. Leading and
// trailing whitespace is removed. The result is what goes into
// sendMessage.text; it may be longer than kTelegramMaxLength (check with
// telegram_length()) and may be empty.
std::string telegram_html(std::string_view html);
// Plain text -> safe HTML-mode text: & < > escaped, nothing else changed
// (ill-formed UTF-8 -> U+FFFD, NUL dropped).
std::string telegram_escape(std::string_view text);
// Length as Telegram counts it: UTF-16 code units of the text after entity
// parsing (tags removed; &lt; &gt; &amp; &quot; and numeric references
// decoded). An emoji outside the BMP counts 2.
size_t telegram_length(std::string_view telegram_html_text);
inline constexpr size_t kTelegramMaxLength = 4096;

// ---------------------------------------------------------------------------
// SMS (3GPP TS 23.038 GSM 7-bit default alphabet, or UCS-2 / UTF-16BE).

enum class SmsEncoding : uint8_t { kGsm7 = 0, kUcs2 = 1 };

struct SmsInfo {
  SmsEncoding encoding = SmsEncoding::kGsm7;
  size_t units = 0;        // GSM-7 septets (extension chars count 2) or UTF-16 code units
  size_t segments = 0;     // 0 for empty text; 160/153 (GSM-7), 70/67 (UCS-2)
  size_t per_segment = 0;  // 160/153/70/67 as applicable (160 for empty text)
};

inline constexpr size_t kGsm7Single = 160;  // septets in one SMS (140 octets packed)
inline constexpr size_t kGsm7Part = 153;    // per part with a 6-octet UDH (7 septets)
inline constexpr size_t kUcs2Single = 70;   // UTF-16 units in one SMS
inline constexpr size_t kUcs2Part = 67;     // per part with a 6-octet UDH

// GSM-7 when every character is in the TS 23.038 default alphabet or its
// extension table (^ { } \ [ ~ ] | € and form feed, 2 septets each), else
// UCS-2. Exact segment count: a concatenated part never ends in the middle
// of an escape pair (GSM-7) or a surrogate pair (UCS-2); such a character
// moves whole to the next part, so e.g. 152 plain + 1 extension character
// fill one part only to 152 septets. Ill-formed UTF-8 counts as U+FFFD
// (which is UCS-2). Cost: one pass, no allocation.
SmsInfo sms_info(std::string_view utf8);
// The text split into the parts a sender submits, in order, as UTF-8 (each
// part then goes through gsm7_encode() or ucs2_encode()). Consistent with
// sms_info(): size() == segments, every part fits per_segment units, and the
// parts concatenate back to the input (with ill-formed UTF-8 as U+FFFD).
// Empty text gives no parts; text that fits one SMS gives one part.
std::vector<std::string> sms_segments(std::string_view utf8);
// GSM-7 unpacked septets (0x00-0x7F, an extension char as 0x1B x) for SMPP
// data_coding 0. REQUIRES: sms_info(utf8).encoding == SmsEncoding::kGsm7
// (asserted; in release builds any other character becomes '?').
std::string gsm7_encode(std::string_view utf8);
// UTF-16BE (a non-BMP character as a surrogate pair) for data_coding 8.
std::string ucs2_encode(std::string_view utf8);

// ---------------------------------------------------------------------------
// Buttons: channel-neutral rows of buttons; each transport (#6) maps them to
// its keyboard (Telegram inline_keyboard, Viber keyboard, VK inline keyboard,
// WhatsApp interactive buttons).

struct Button {
  std::string text;     // label, 1..64 characters (code points), no control characters
  std::string url;      // http(s) URL; or
  std::string payload;  // callback data (1..64 bytes, Telegram callback_data); exactly one of url/payload
};
using ButtonRows = std::vector<std::vector<Button>>;

// The channel-neutral limits parse_buttons() applies. 10 rows is the most
// any of our channels documents (VK's keyboard) and 8 a row is the most
// Telegram shows in one row (Viber's grid is 6 wide, VK takes 5); more
// cannot be shown anywhere, so it is refused when the content is accepted,
// not when it is sent. button_limits() narrows them per channel.
inline constexpr size_t kMaxButtonRows = 10;
inline constexpr size_t kMaxButtonsPerRow = 8;
inline constexpr size_t kMaxButtonText = 64;     // code points
inline constexpr size_t kMaxButtonPayload = 64;  // bytes (Telegram callback_data)
inline constexpr size_t kMaxButtonUrl = 2048;    // bytes

// Parses [[{"text":..,"url":..}, ...], ...] or a flat [{...}, ...] (one
// button per row; the two forms may mix: an object is a row of one).
// Validates what can be known before rendering: the shape, known keys only
// (text, url, payload; null counts as absent), text 1..64 characters of
// well-formed UTF-8 without control characters, exactly one of url/payload,
// url "http://" or "https://" plus a host and no control characters (it may
// still hold template placeholders), payload 1..64 bytes, and the neutral
// limits above. Errors are kInvalidArgument whose field is the JSON path and
// whose message starts with it: "buttons[1][0].url: must be an http or https
// URL" (flat form: "buttons[3].text: ..."). An empty array is no buttons.
core::Result<ButtonRows> parse_buttons(const boost::json::value& json,
                                       std::string_view field = "buttons");

struct ButtonLimits {
  size_t max_rows = 0;
  size_t max_per_row = 0;
  size_t max_total = 0;
  size_t max_text = 0;        // code points
  size_t max_url = 0;         // URL buttons in one message
  bool mix_url_and_payload = false;  // URL and payload buttons in one message
};
// What `channel` can show (channels.md; "[?]" there marks unconfirmed
// figures). Email and SMS carry no buttons: every limit is 0.
ButtonLimits button_limits(core::Channel channel);
// Checks rendered rows against everything parse_buttons() checks (but with
// the final URL: no spaces either) and against button_limits(channel).
// Fields use the nested form ("buttons[0][2].text"). No rows is always OK.
core::Status check_buttons(const ButtonRows& rows, core::Channel channel,
                           std::string_view field = "buttons");

}  // namespace templating
