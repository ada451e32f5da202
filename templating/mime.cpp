// templating/mime.cpp: compose(), the one entry point that writes a whole
// message. Validation first (so `out` is untouched on error), then headers,
// then the body parts.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "templating/mime.h"
#include "templating/mime_internal.h"

namespace templating {
namespace {

using namespace mime_detail;

bool iequals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != lower[i]) return false;
  }
  return true;
}

// Fields compose() writes itself, or that an extra header must never set
// (a second From breaks DMARC; Bcc would leak; the rest belong to the MTA).
bool is_reserved_header(std::string_view name) {
  static constexpr std::array<std::string_view, 16> kReserved = {
      "date",        "from",         "to",          "cc",
      "bcc",         "reply-to",     "subject",     "message-id",
      "mime-version", "list-unsubscribe", "list-unsubscribe-post", "feedback-id",
      "sender",      "return-path",  "received",    "dkim-signature"};
  for (std::string_view r : kReserved) {
    if (iequals(name, r)) return true;
  }
  return name.size() >= 8 && iequals(name.substr(0, 8), "content-");
}

// "<x@y>": printable ASCII, no spaces or angle brackets inside, one '@'
// with something on both sides. Long enough for any id we make.
bool is_valid_msg_id(std::string_view id) {
  if (id.size() < 5 || id.size() > 250 || id.front() != '<' || id.back() != '>') return false;
  std::string_view inner = id.substr(1, id.size() - 2);
  size_t at = inner.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == inner.size()) return false;
  if (inner.find('@', at + 1) != std::string_view::npos) return false;
  for (char c : inner) {
    auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || c == '<' || c == '>' || c == '"' || c == '\\') return false;
  }
  return true;
}

// A URI for List-Unsubscribe: scheme as given, then printable ASCII
// without the characters that would end or split the <...> list item.
bool is_list_uri(std::string_view uri, std::string_view scheme_lower) {
  if (uri.size() <= scheme_lower.size() || uri.size() > 900) return false;
  for (size_t i = 0; i < scheme_lower.size(); ++i) {
    if (ascii_lower(uri[i]) != scheme_lower[i]) return false;
  }
  static constexpr auto kAllowed = [] {
    std::array<bool, 256> t{};
    for (int c = 33; c <= 126; ++c) t[c] = c != '<' && c != '>' && c != ',' && c != '"';
    return t;
  }();
  bool ok = true;
  for (char c : uri) ok &= kAllowed[static_cast<unsigned char>(c)];
  return ok;
}

core::Status validate(const ComposeOptions& o) {
  if (!is_valid_addr_spec(o.from.address)) {
    return core::invalid_argument("from.address", "not a valid ASCII address (local@domain)");
  }
  if (!is_valid_addr_spec(o.to.address)) {
    return core::invalid_argument("to.address", "not a valid ASCII address (local@domain)");
  }
  if (o.reply_to && !is_valid_addr_spec(o.reply_to->address)) {
    return core::invalid_argument("reply_to.address", "not a valid ASCII address (local@domain)");
  }
  if (!is_valid_msg_id(o.message_id)) {
    return core::invalid_argument("message_id", "must be \"<unique@domain>\" (see make_message_id)");
  }
  if (!o.trace_value.empty() &&
      (!is_valid_field_name(o.trace_header) || is_reserved_header(o.trace_header))) {
    return core::invalid_argument("trace_header", "not a usable header field name");
  }
  if (o.list_unsubscribe) {
    const ListUnsubscribe& lu = *o.list_unsubscribe;
    if (lu.https_url.empty() && lu.mailto.empty()) {
      return core::invalid_argument("list_unsubscribe", "needs an https URL, a mailto URI or both");
    }
    if (!lu.https_url.empty() && !is_list_uri(lu.https_url, "https://")) {
      return core::invalid_argument("list_unsubscribe.https_url",
                                    "must be an https:// URL of printable ASCII without spaces, "
                                    "'<', '>', ',' or '\"'");
    }
    if (!lu.mailto.empty() && !is_list_uri(lu.mailto, "mailto:")) {
      return core::invalid_argument("list_unsubscribe.mailto",
                                    "must be a mailto: URI of printable ASCII without spaces, "
                                    "'<', '>', ',' or '\"'");
    }
  }
  for (size_t i = 0; i < o.extra_headers.size(); ++i) {
    std::string_view name = o.extra_headers[i].first;
    bool clash = !o.trace_value.empty() && name.size() == o.trace_header.size() && [&] {
      for (size_t k = 0; k < name.size(); ++k) {
        if (ascii_lower(name[k]) != ascii_lower(o.trace_header[k])) return false;
      }
      return true;
    }();
    if (!is_valid_field_name(name) || is_reserved_header(name) || clash) {
      return core::invalid_argument("extra_headers[" + std::to_string(i) + "].name",
                                    "not a usable header field name (ftext, at most 64 "
                                    "characters, not one compose() writes)");
    }
  }
  return {};
}

// "=_vestnik_" + 16 hex digits of FNV-1a-64 of the seed. Why it cannot occur
// inside any part: a quoted-printable part has '=' only as "=XX" (two
// upper-case hex digits) or as the soft break "=" CRLF, never "=_"; a base64
// part has '=' only as final padding followed by CRLF or the end; a 7bit part
// is only chosen when its text contains no "=_" at all (choose_encoding). So
// "--=_vestnik_..." can appear only where we put it. The hash only makes
// the boundary differ between messages, which helps nobody but readers.
struct Boundary {
  char text[26];
  std::string_view view() const { return {text, sizeof text}; }
};

Boundary make_boundary(std::string_view seed) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : seed) {
    h ^= c;
    h *= 1099511628211ull;
  }
  Boundary b;
  std::memcpy(b.text, "=_vestnik_", 10);
  for (int i = 25; i >= 10; --i) {
    b.text[i] = "0123456789abcdef"[h & 15];
    h >>= 4;
  }
  return b;
}

void append_part_headers(std::string& out, std::string_view subtype, TransferEncoding e) {
  out.append("Content-Type: text/");
  out.append(subtype);
  out.append("; charset=utf-8\r\nContent-Transfer-Encoding: ");
  out.append(encoding_name(e));
  out.append("\r\n");
}

}  // namespace

core::Status compose(const EmailParts& parts, const ComposeOptions& o, std::string& out) {
  if (auto st = validate(o); !st) return st;

  std::string_view text = parts.text;
  std::string_view html = parts.html;
  std::string html_with_preheader;
  if (!html.empty() && !parts.preheader.empty()) {
    html_with_preheader = insert_preheader(html, parts.preheader);
    html = html_with_preheader;
  }
  const bool multipart = !text.empty() && !html.empty();
  const bool html_only = text.empty() && !html.empty();
  // A single part is the whole body and must end with CRLF.
  const TransferEncoding text_enc = html_only ? TransferEncoding::k7bit : choose_encoding(text, !multipart);
  const TransferEncoding html_enc = html.empty() ? TransferEncoding::k7bit : choose_encoding(html, !multipart);

  size_t headers_size = 600 + 3 * (parts.subject.size() + o.from.name.size() + o.to.name.size()) +
                        o.from.address.size() + o.to.address.size() + o.message_id.size() +
                        o.trace_value.size() + o.feedback_id.size();
  if (o.reply_to) headers_size += 3 * o.reply_to->name.size() + o.reply_to->address.size() + 16;
  if (o.list_unsubscribe) headers_size += o.list_unsubscribe->https_url.size() + o.list_unsubscribe->mailto.size() + 64;
  for (const auto& [name, value] : o.extra_headers) headers_size += name.size() + 3 * value.size() + 8;
  out.reserve(out.size() + headers_size + encoded_size_bound(text, text_enc) +
              encoded_size_bound(html, html_enc) + 256);

  out.append("Date: ");
  append_rfc5322_date(out, std::chrono::floor<std::chrono::seconds>(o.date.time_since_epoch()).count());
  out.append("\r\n");
  append_mailbox(out, "From", o.from.name, o.from.address);
  append_mailbox(out, "To", o.to.name, o.to.address);
  if (o.reply_to) append_mailbox(out, "Reply-To", o.reply_to->name, o.reply_to->address);
  append_unstructured(out, "Subject", parts.subject);
  out.append("Message-ID: ");
  out.append(o.message_id);
  out.append("\r\nMIME-Version: 1.0\r\n");

  const Boundary boundary =
      make_boundary(o.boundary_seed.empty() ? std::string_view(o.message_id) : o.boundary_seed);
  if (multipart) {
    out.append("Content-Type: multipart/alternative;\r\n boundary=\"");
    out.append(boundary.view());
    out.append("\"\r\n");
  } else if (html_only) {
    append_part_headers(out, "html", html_enc);
  } else {
    append_part_headers(out, "plain", text_enc);
  }

  if (!o.trace_value.empty()) append_unstructured(out, o.trace_header, o.trace_value);
  if (!o.feedback_id.empty()) append_unstructured(out, "Feedback-ID", o.feedback_id);
  if (o.list_unsubscribe) {
    append_list_unsubscribe(out, o.list_unsubscribe->https_url, o.list_unsubscribe->mailto);
    if (!o.list_unsubscribe->https_url.empty()) {
      out.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    }
  }
  for (const auto& [name, value] : o.extra_headers) append_unstructured(out, name, value);
  out.append("\r\n");

  if (!multipart) {
    append_body(out, html_only ? html : text, html_only ? html_enc : text_enc, /*final_crlf=*/true);
    return {};
  }
  // Each delimiter is CRLF "--" boundary (RFC 2046 §5.1.1): the CRLF before
  // it belongs to the delimiter, not to the part, so a part that does not
  // end with a line break keeps not ending with one.
  out.append("--");
  out.append(boundary.view());
  out.append("\r\n");
  append_part_headers(out, "plain", text_enc);
  out.append("\r\n");
  append_body(out, text, text_enc, /*final_crlf=*/false);
  out.append("\r\n--");
  out.append(boundary.view());
  out.append("\r\n");
  append_part_headers(out, "html", html_enc);
  out.append("\r\n");
  append_body(out, html, html_enc, /*final_crlf=*/false);
  out.append("\r\n--");
  out.append(boundary.view());
  out.append("--\r\n");
  return {};
}

}  // namespace templating
