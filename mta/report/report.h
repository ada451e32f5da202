// mta/report/report.h: inbound reports (issue #7) parsed into one Report;
// the only public header of `vestnik_mta_report`.
//
// parse() turns one received RFC 5322 message (the bytes the listener
// accepted for a bounce or feedback address; CRLF or bare LF line ends)
// into a structured Report: an RFC 3464 DSN, an RFC 5965 ARF complaint
// (parsed leniently), a Microsoft JMRP legacy complaint, a non-standard text
// bounce (Exim, mail.ru, qmail, Postfix without DSN, Yandex), an automatic
// reply (RFC 3834 / out-of-office) or nothing we recognise (kUnknown).
//
// Contract:
//  - Pure: no I/O, no globals, no locale; safe to call from any thread at
//    once. The Report owns all its strings (nothing points into `message`).
//  - Never fails on content: any input with a header section gives a
//    Report. An error (kInvalidArgument, field "message") only when there is
//    no header section at all (empty input, binary garbage, no
//    "name: value" field before the first blank line) or the input is
//    larger than kMaxMessageBytes. No exception escapes.
//  - Bounded work on hostile input: MIME nesting depth <= kMaxDepth, at most
//    kMaxParts entities, at most kMaxRecipients recipients (DSN and text
//    bounce alike), header field values cut at kMaxFieldBytes; time is
//    linear in the input size times the (bounded) nesting depth.
//  - Strings are UTF-8 where the input said which charset it used (subjects
//    are RFC 2047-decoded: UTF-8, US-ASCII, ISO-8859-1, KOI8-R/U,
//    Windows-1251; encoded words in other charsets are kept as written).
//    Addresses are "bare": no display name, no <>, no "rfc822;".
//
// Precedence when a message looks like several kinds: feedback-report
// (kComplaint) > delivery-status (kDsn) > JMRP (kJmrp) > text bounce with
// strong evidence (X-Failed-Recipients, or a mailer-daemon/postmaster From
// with bounce wording) > automatic reply (kAutoReply) > kUnknown. A text
// bounce often carries Auto-Submitted: auto-replied; it stays a bounce.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mta::report {

// Never renumber: the processor may persist it with the stored report.
enum class Kind : uint8_t {
  kUnknown = 0,  // none of the below (a human's mail, spam, garbage with headers)
  kDsn,          // RFC 3464 multipart/report; report-type=delivery-status
  kTextBounce,   // non-standard bounce (Exim/mail.ru/qmail/Yandex text, X-Failed-Recipients)
  kAutoReply,    // out-of-office / vacation / Auto-Submitted: auto-replied (RFC 3834); never a bounce
  kComplaint,    // ARF (RFC 5965) multipart/report; report-type=feedback-report, lenient
  kJmrp,         // Microsoft JMRP legacy complaint (staff@hotmail.com, message/rfc822 attached)
};

// "unknown", "dsn", "text-bounce", "auto-reply", "complaint", "jmrp".
std::string_view kind_name(Kind kind) noexcept;

inline constexpr size_t kMaxMessageBytes = size_t{64} << 20;
inline constexpr int kMaxDepth = 8;             // MIME nesting levels below the top entity
inline constexpr size_t kMaxParts = 256;        // MIME entities looked at, in order
inline constexpr size_t kMaxRecipients = 1000;  // per report; the rest are dropped
inline constexpr size_t kMaxFieldBytes = 65536;  // one unfolded header field value

struct RecipientStatus {
  std::string final_recipient;     // bare address
  std::string original_recipient;  // ORCPT address (Original-Recipient), bare; may be empty
  std::string action;              // lower case: failed|delayed|delivered|relayed|expanded
                                   // ("failed" for text bounces, "delayed" for delay warnings)
  // RFC 3463 "5.1.1". In a DSN the Status field (its first token, if well
  // formed), else the enhanced code of the diagnostic. In a text bounce the
  // enhanced code near the address, else derived from the reply code
  // ("5.0.0" / "4.0.0"). Empty when nothing says.
  std::string status;
  uint16_t code = 0;               // SMTP reply code of the diagnostic (550), 0 if none
  // The reply after "smtp;" (any diagnostic type is accepted), unfolded,
  // one line, trimmed. A multi-line reply ("550-5.1.1 a 550-5.1.1 b
  // 550 5.1.1 c") is joined to one ("550 5.1.1 a b c"), so the classifier
  // sees "<code> <enhanced> <text>".
  std::string diagnostic;
  std::string remote_mta;          // "mx.example.com" without "dns;"
};

// Identifiers of the original message a report quotes (from the
// message/rfc822 or text/rfc822-headers part, or the quoted headers in a
// text bounce / JMRP attachment). Empty strings when absent.
struct OriginalRefs {
  std::string trace_id;           // value of ReportOptions::trace_header, trimmed
  std::string message_id;         // Message-ID with <>, as written
  std::string to;                 // bare address of the first To: mailbox
  std::string from;               // bare address of From:
  std::string return_path;        // bare address of Return-Path: if present
  std::string hotmail_recipient;  // X-HmXmrOriginalRecipient (JMRP), bare
};

struct Report {
  Kind kind = Kind::kUnknown;
  // DSN per-message fields.
  std::string reporting_mta;  // without "dns;"
  std::string envelope_id;    // Original-Envelope-Id, xtext-decoded (RFC 3461 §4)
  std::vector<RecipientStatus> recipients;  // DSN / text bounce; empty for the other kinds
  // Complaint (ARF/JMRP) fields.
  // Lower case: abuse|fraud|other|virus|not-spam|auth-failure|opt-out;
  // "abuse" for JMRP and for an ARF report that omits Feedback-Type.
  std::string feedback_type;
  // Original-Rcpt-To, bare, in order (may be several or none). For JMRP the
  // X-HmXmrOriginalRecipient of the attachment, when present.
  std::vector<std::string> original_rcpt_to;
  std::string original_mail_from;  // bare
  std::string source_ip;           // Source-IP (any case: "Source-Ip")
  std::string user_agent;
  std::string arrival_date;        // as written (ARF Arrival-Date / Received-Date)
  OriginalRefs original;           // of the attached original (all kinds)
  // The report itself.
  std::string from;            // bare address of the report's From:
  std::string subject;         // RFC 2047-decoded to UTF-8
  std::string auto_submitted;  // Auto-Submitted value (first token), lower case, if any
};

struct ReportOptions {
  std::string trace_header = "X-Vestnik-Id";  // case-insensitive name
};

// Parses one message; see the contract at the top of this file.
core::Result<Report> parse(std::string_view message, const ReportOptions& options = {});

}  // namespace mta::report
