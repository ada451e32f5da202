// mta/report/report.cpp: parse(): one received message -> one Report.
//
// The order of the checks is the order of trust. A report-type or a
// message/feedback-report / message/delivery-status part is machine-written
// and says what it is, so it decides first (some MTAs put the status part
// in multipart/mixed; we accept it wherever it is). JMRP has a fixed sender
// and subject. Only then do we read words: a text bounce needs hard
// evidence (X-Failed-Recipients, or a mailer-daemon sender that says the
// mail failed), because an out-of-office reply that mentions "delivery"
// must not suppress a live recipient; an automatic reply is never a bounce.
#include <exception>
#include <utility>

#include "mta/report/report_internal.h"

namespace mta::report {

std::string_view kind_name(Kind kind) noexcept {
  switch (kind) {
    case Kind::kUnknown: return "unknown";
    case Kind::kDsn: return "dsn";
    case Kind::kTextBounce: return "text-bounce";
    case Kind::kAutoReply: return "auto-reply";
    case Kind::kComplaint: return "complaint";
    case Kind::kJmrp: return "jmrp";
  }
  return "unknown";
}

namespace {

using namespace detail;

// Wording checks read the start of the text only: bounce and auto-reply
// prose is at the top, and the lists are long.
constexpr size_t kWordingScanBytes = 64 * 1024;
constexpr size_t kTextScanBytes = 256 * 1024;

bool is_type(const Part& p, std::initializer_list<std::string_view> types) {
  for (const std::string_view t : types) {
    if (p.content_type.type == t) return true;
  }
  return false;
}

bool is_original(const Part& p) {
  return is_type(p, {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers",
                     "message/rfc822-headers"});
}

std::string first_token_lower(std::string_view value) {
  value = trim(value);
  size_t end = 0;
  while (end < value.size() && value[end] != ' ' && value[end] != '\t' && value[end] != ';' && value[end] != '(') {
    ++end;
  }
  return lower(value.substr(0, end));
}

std::string message_id_of(std::string_view value) {
  value = trim(value);
  const size_t open = value.find('<');
  const size_t close = open == std::string_view::npos ? open : value.find('>', open);
  if (close != std::string_view::npos) return std::string(value.substr(open, close - open + 1));
  return std::string(value);
}

// "dns; mx.example.com. (2a00:1450::1a, the server for ...)" -> "mx.example.com".
std::string host_of(std::string_view value) {
  std::string host = strip_type(value);
  const size_t end = host.find_first_of(" \t(");
  if (end != std::string::npos) host.resize(end);
  while (!host.empty() && host.back() == '.') host.pop_back();
  return host;
}

// Crude but bounded: HTML-only bounces (some Exchange NDRs) read as text.
std::string html_to_text(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  for (size_t i = 0; i < html.size(); ++i) {
    if (html[i] != '<') {
      out.push_back(html[i]);
      continue;
    }
    const size_t close = html.find('>', i);
    if (close == std::string_view::npos) break;
    const std::string_view tag = html.substr(i + 1, close - i - 1);
    if (istarts_with(tag, "br") || istarts_with(tag, "/p") || istarts_with(tag, "/div") ||
        istarts_with(tag, "/tr") || istarts_with(tag, "p") || istarts_with(tag, "/h")) {
      out.push_back('\n');
    }
    i = close;
  }
  return out;
}

OriginalRefs refs_of(const HeaderBlock& h, const ReportOptions& options) {
  OriginalRefs o;
  o.trace_id = std::string(trim(h.get_or_empty(options.trace_header)));
  o.message_id = message_id_of(h.get_or_empty("Message-ID"));
  o.to = first_mailbox(h.get_or_empty("To"));
  o.from = first_mailbox(h.get_or_empty("From"));
  o.return_path = bare_address(h.get_or_empty("Return-Path"));
  o.hotmail_recipient = bare_address(h.get_or_empty("X-HmXmrOriginalRecipient"));
  return o;
}

// The value of a "Name: value" line anywhere in `text` (line start, after
// optional whitespace or '>' quoting), or "".
std::string find_quoted_field(std::string_view text, std::string_view name) {
  size_t from = 0;
  while (true) {
    const size_t at = ifind(text, name, from);
    if (at == std::string_view::npos) return {};
    from = at + name.size();
    size_t b = at;
    while (b > 0 && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '>')) --b;
    if (b > 0 && text[b - 1] != '\n') continue;
    size_t c = at + name.size();
    while (c < text.size() && (text[c] == ' ' || text[c] == '\t')) ++c;
    if (c >= text.size() || text[c] != ':') continue;
    size_t pos = c + 1;
    return std::string(trim(next_line(text, pos)));
  }
}

// Per-message and per-recipient blocks of every delivery-status part.
void read_dsn(const Mime& mime, Report& r) {
  for (const Part& p : mime.leaves) {
    if (!is_type(p, {"message/delivery-status", "message/global-delivery-status"})) continue;
    const std::string_view body = p.body;
    size_t pos = 0;
    while (pos < body.size() && r.recipients.size() < kMaxRecipients) {
      HeaderBlock b;
      const size_t used = parse_header_block(body.substr(pos), b);
      if (used == 0) {  // a line that is no field: skip it
        next_line(body, pos);
        continue;
      }
      pos += used;
      if (b.fields.empty()) continue;
      if (const std::string* v = b.get("Reporting-MTA"); v && r.reporting_mta.empty()) {
        r.reporting_mta = host_of(*v);
      }
      if (const std::string* v = b.get("Original-Envelope-Id"); v && r.envelope_id.empty()) {
        r.envelope_id = xtext_decode(trim(*v));
      }
      if (const std::string* v = b.get("Arrival-Date"); v && r.arrival_date.empty()) r.arrival_date = *v;

      const std::string* final_v = b.get("Final-Recipient");
      const std::string* orig_v = b.get("Original-Recipient");
      if (!final_v && !orig_v) continue;
      RecipientStatus rs;
      const auto address = [](const std::string* v) {
        if (!v) return std::string();
        std::string a = bare_address(*v);
        return a.empty() ? strip_type(*v) : a;
      };
      rs.final_recipient = address(final_v);
      rs.original_recipient = address(orig_v);
      if (rs.final_recipient.empty()) rs.final_recipient = rs.original_recipient;
      if (rs.final_recipient.empty()) continue;
      rs.status = clean_status(b.get_or_empty("Status"));
      if (const std::string* v = b.get("Diagnostic-Code")) {
        rs.diagnostic = join_multiline_reply(strip_type(*v));
        if (rs.diagnostic.size() > 1000) rs.diagnostic.resize(1000);
        rs.code = leading_reply_code(rs.diagnostic);
      }
      if (rs.status.empty()) rs.status = find_enhanced_status(rs.diagnostic);
      if (rs.status.empty() && rs.code != 0) rs.status = rs.code >= 500 ? "5.0.0" : rs.code >= 400 ? "4.0.0" : "2.0.0";
      rs.action = first_token_lower(b.get_or_empty("Action"));
      if (rs.action.empty() && !rs.status.empty()) {
        rs.action = rs.status[0] == '5' ? "failed" : rs.status[0] == '4' ? "delayed" : "delivered";
      }
      rs.remote_mta = host_of(b.get_or_empty("Remote-MTA"));
      r.recipients.push_back(std::move(rs));
    }
  }
}

void read_arf(const Mime& mime, Report& r) {
  for (const Part& p : mime.leaves) {
    if (!is_type(p, {"message/feedback-report"})) continue;
    const std::string_view body = p.body;
    size_t pos = 0;
    // One block by the RFC; a stray blank line must not hide the rest.
    while (pos < body.size()) {
      HeaderBlock b;
      const size_t used = parse_header_block(body.substr(pos), b);
      if (used == 0) {
        next_line(body, pos);
        continue;
      }
      pos += used;
      for (const Field& f : b.fields) {
        const std::string_view n = f.name;
        if (iequals(n, "Feedback-Type") && r.feedback_type.empty()) {
          r.feedback_type = first_token_lower(f.value);
        } else if (iequals(n, "User-Agent") && r.user_agent.empty()) {
          r.user_agent = f.value;
        } else if (iequals(n, "Original-Mail-From") && r.original_mail_from.empty()) {
          r.original_mail_from = bare_address(f.value);
        } else if (iequals(n, "Original-Rcpt-To") && r.original_rcpt_to.size() < kMaxRecipients) {
          std::string a = bare_address(f.value);
          if (!a.empty()) r.original_rcpt_to.push_back(std::move(a));
        } else if ((iequals(n, "Arrival-Date") || iequals(n, "Received-Date")) && r.arrival_date.empty()) {
          r.arrival_date = f.value;
        } else if (iequals(n, "Reporting-MTA") && r.reporting_mta.empty()) {
          r.reporting_mta = host_of(f.value);
        } else if (iequals(n, "Source-IP") && r.source_ip.empty()) {
          r.source_ip = first_token_lower(f.value);
        } else if (iequals(n, "Original-Envelope-Id") && r.envelope_id.empty()) {
          r.envelope_id = f.value;
        }
      }
    }
    break;  // one feedback report per message
  }
  if (r.feedback_type.empty()) r.feedback_type = "abuse";
}

// The report's own words: every text leaf that is not the quoted original,
// HTML only when there is no plain text, cut at kTextScanBytes.
std::string own_text(const Mime& mime) {
  std::string plain;
  std::string html;
  for (const Part& p : mime.leaves) {
    if (is_original(p) || p.text.empty()) continue;
    std::string& to = p.content_type.type == "text/html" ? html : plain;
    if (to.size() >= kTextScanBytes) continue;
    if (!to.empty()) to += "\n\n";
    to.append(p.text, 0, kTextScanBytes - to.size());
  }
  if (plain.empty() && !html.empty()) return html_to_text(html);
  return plain;
}

bool auto_reply_evidence(const HeaderBlock& h, const Report& r) {
  if (!r.auto_submitted.empty() && r.auto_submitted != "no") return true;
  if (h.get("X-Autoreply") || h.get("X-Autorespond") || h.get("X-Autoresponder")) return true;
  const std::string precedence = first_token_lower(h.get_or_empty("Precedence"));
  if (precedence == "auto_reply" || precedence == "auto-reply") return true;
  return has_auto_reply_subject(r.subject);
}

Report parse_checked(const ReportOptions& options, const Mime& mime) {
  const HeaderBlock& h = mime.headers;
  Report r;
  r.from = first_mailbox(h.get_or_empty("From"));
  r.subject = decode_2047(h.get_or_empty("Subject"));
  r.auto_submitted = first_token_lower(h.get_or_empty("Auto-Submitted"));

  bool feedback = false;
  bool dsn = false;
  for (const std::string& t : mime.report_types) {
    feedback = feedback || t == "feedback-report";
    dsn = dsn || t == "delivery-status";
  }
  const Part* original = nullptr;
  for (const Part& p : mime.leaves) {
    feedback = feedback || is_type(p, {"message/feedback-report"});
    dsn = dsn || is_type(p, {"message/delivery-status", "message/global-delivery-status"});
    if (!original && is_original(p)) original = &p;
  }
  const std::string text = own_text(mime);

  // The original: an attached part, else headers quoted in the text.
  if (original) {
    HeaderBlock oh;
    parse_header_block(original->body, oh);
    r.original = refs_of(oh, options);
  } else if (const size_t at = quoted_original_offset(text); at != std::string_view::npos) {
    HeaderBlock oh;
    parse_header_block(std::string_view(text).substr(at), oh);
    r.original = refs_of(oh, options);
  }
  if (r.original.trace_id.empty() && !options.trace_header.empty()) {
    for (const Part& p : mime.leaves) {
      r.original.trace_id = find_quoted_field(p.text.empty() ? p.body : p.text, options.trace_header);
      if (!r.original.trace_id.empty()) break;
    }
  }
  // An automatic reply quotes nothing but answers our Message-ID.
  if (r.original.message_id.empty()) r.original.message_id = message_id_of(h.get_or_empty("In-Reply-To"));

  const std::vector<std::string> failed = [&] {
    std::vector<std::string> all;
    for (const Field& f : h.fields) {
      if (!iequals(f.name, "X-Failed-Recipients")) continue;
      for (std::string& a : address_list(f.value)) {
        if (all.size() < kMaxRecipients) all.push_back(std::move(a));
      }
    }
    return all;
  }();
  const std::string_view head = std::string_view(text).substr(0, kWordingScanBytes);
  const bool delayed = has_delay_wording(r.subject);

  if (feedback) {
    r.kind = Kind::kComplaint;
    read_arf(mime, r);
    return r;
  }
  if (dsn) {
    r.kind = Kind::kDsn;
    read_dsn(mime, r);
    // A status part we could not read: the text may still name them.
    if (r.recipients.empty()) r.recipients = text_bounce_recipients(failed, text, delayed);
    return r;
  }
  const bool jmrp_sender = iequals(r.from, "staff@hotmail.com");
  const bool jmrp_subject = istarts_with(trim(r.subject), "complaint about message from");
  if ((jmrp_sender || jmrp_subject) && original && original->content_type.type != "text/rfc822-headers") {
    r.kind = Kind::kJmrp;
    r.feedback_type = "abuse";
    if (!r.original.hotmail_recipient.empty()) r.original_rcpt_to.push_back(r.original.hotmail_recipient);
    if (jmrp_subject) {
      const std::string_view rest = trim(trim(r.subject).substr(std::string_view("complaint about message from").size()));
      r.source_ip = first_token_lower(rest);
    }
    return r;
  }
  const bool daemon = is_daemon_sender(h.get_or_empty("From"));
  const bool words = has_bounce_wording(r.subject) || has_bounce_wording(head);
  const bool null_sender = trim(h.get_or_empty("Return-Path")) == "<>";
  if (!failed.empty() || (daemon && words)) {
    r.kind = Kind::kTextBounce;
  } else if (auto_reply_evidence(h, r)) {
    r.kind = Kind::kAutoReply;
    return r;
  } else if (null_sender && has_bounce_wording(r.subject)) {
    r.kind = Kind::kTextBounce;
  } else {
    return r;  // kUnknown
  }
  r.recipients = text_bounce_recipients(failed, text, delayed);
  return r;
}

}  // namespace

core::Result<Report> parse(std::string_view message, const ReportOptions& options) {
  if (message.size() > kMaxMessageBytes) {
    return core::invalid_argument("message", "larger than 64 MiB");
  }
  try {
    Mime mime = parse_mime(message);
    if (mime.headers.fields.empty()) {
      return core::invalid_argument("message", "no header section (no \"name: value\" field before the body)");
    }
    return parse_checked(options, mime);
  } catch (const std::exception& e) {
    // Only allocation can throw here; the caller keeps the raw message.
    return core::make_error(core::Errc::kInternal, std::string("report parse failed: ") + e.what(), "message");
  }
}

}  // namespace mta::report
