// mta/smtp_command.h: what an SMTP client sends the listener, parsed
// without I/O (STYLE.md R8): command lines, mailbox syntax, the DATA and
// BDAT content, SASL PLAIN/LOGIN responses.
//
// Everything here is pure and thread-safe. parse_command() allocates
// nothing: the Command it returns holds views into the line it was given,
// so the line must outlive the Command. A refused line comes back as the
// exact reply the server sends (RFC 5321 codes, RFC 3463 enhanced codes),
// so the state machine never invents syntax errors of its own.
//
// Limits (RFC 5321 4.5.3.1): a command line is at most 512 octets with its
// CRLF (12288 for AUTH and its responses, RFC 4954 4), a local part 64, a
// domain 255, a path 256 with its angle brackets. Content lines may be
// longer than 1000 octets: we accept them, as Postfix does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mta {

inline constexpr size_t kMaxCommandLine = 512;   // octets, CRLF included
inline constexpr size_t kMaxAuthLine = 12288;    // AUTH command and SASL responses
inline constexpr size_t kMaxLocalPart = 64;
inline constexpr size_t kMaxDomain = 255;
inline constexpr size_t kMaxPath = 256;          // "<" local "@" domain ">"

enum class Verb : uint8_t {
  kUnknown = 0,
  kEhlo,
  kHelo,
  kMail,
  kRcpt,
  kData,
  kBdat,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  kExpn,
  kHelp,
  kStartTls,
  kAuth,
  // An HTTP request line (GET, POST, CONNECT, ...) sent to the SMTP port:
  // a cross-protocol attack or a confused client. Postfix hangs up on
  // these (smtpd_forbidden_commands); so does the listener.
  kForbidden,
};

enum class BodyType : uint8_t { kUnspecified = 0, k7Bit, k8BitMime };
enum class AuthMechanism : uint8_t { kPlain = 0, kLogin };

// One reply line as sent: "<code> <enhanced> <text>\r\n". The views point
// at static strings.
struct Reply {
  uint16_t code = 0;
  std::string_view enhanced;  // "5.5.4"
  std::string_view text;
  std::string to_string() const;  // with the CRLF
};

// A parsed command. Fields not used by the verb keep their defaults.
struct Command {
  Verb verb = Verb::kUnknown;
  // EHLO/HELO: the client's name (first word of the argument).
  std::string_view domain;
  // MAIL/RCPT: the address without angle brackets; empty for MAIL's null
  // reverse path "<>".
  std::string_view path;
  // NOOP/HELP/VRFY/EXPN: the rest of the line, trimmed.
  std::string_view argument;
  // MAIL parameters (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8).
  std::optional<uint64_t> size;  // saturates at UINT64_MAX
  BodyType body = BodyType::kUnspecified;
  bool smtputf8 = false;
  // BDAT (RFC 3030).
  uint64_t chunk_size = 0;
  bool last = false;
  // AUTH (RFC 4954). An initial response of "=" is present and empty.
  AuthMechanism mechanism = AuthMechanism::kPlain;
  bool has_initial_response = false;
  std::string_view initial_response;  // base64, not decoded
};

struct ParsedCommand {
  // On error, command.verb still names the verb when it was recognised
  // (the server must know a refused BDAT: its chunk cannot be skipped).
  Command command;
  Reply error;  // code 0: the line parsed
  bool ok() const noexcept { return error.code == 0; }
};

// What the parser must know about the session.
struct ParseContext {
  // The current transaction's MAIL FROM carried SMTPUTF8, so RCPT TO may
  // hold a UTF-8 address (RFC 6531 3.4).
  bool smtputf8 = false;
};

// Parses one command line, without its line ending. Verbs and parameter
// keywords are case-insensitive; spaces after the verb, after "FROM:" /
// "TO:" and at the end of the line are tolerated (clients send them).
// Source routes (<@a,@b:user@c>) are declined with 553, as RFC 5321
// 4.1.1.3 allows: the listener relays to the mailbox or not at all.
// MAIL parameters other than SIZE, BODY, SMTPUTF8 and AUTH (RFC 4954 5,
// accepted and ignored) get 555; RCPT takes none.
ParsedCommand parse_command(std::string_view line, const ParseContext& context = {}) noexcept;

enum class MailboxCheck : uint8_t {
  kOk = 0,
  kBadSyntax,         // not local-part "@" (domain / address-literal)
  kLocalPartTooLong,  // > kMaxLocalPart octets
  kDomainTooLong,     // > kMaxDomain octets (or a label > 63)
  kNeedsSmtputf8,     // valid only as an internationalised address
};
// RFC 5321 4.1.2 Mailbox: a dot-atom or quoted-string local part, "@", and
// a domain (LDH labels) or an address literal ([192.0.2.1],
// [IPv6:2001:db8::1]). With `utf8`, RFC 6531's UTF-8 atoms, quoted text
// and U-labels are allowed too (well-formed UTF-8 only). A mailbox without
// a domain ("postmaster") is kBadSyntax: the listener relays and has no
// local mailboxes.
MailboxCheck check_mailbox(std::string_view mailbox, bool utf8) noexcept;

// RFC 4648 base64 with padding; no whitespace. nullopt on anything else.
std::optional<std::string> decode_base64(std::string_view text);
std::string encode_base64(std::string_view bytes);

// A SASL PLAIN message (RFC 4616): authzid NUL authcid NUL password.
struct PlainCredentials {
  std::string authzid;  // empty, or the identity to act as
  std::string user;     // authcid
  std::string password;
};
// Decodes the base64 response; nullopt if it is not base64 or not three
// NUL-separated fields with a non-empty user.
std::optional<PlainCredentials> decode_sasl_plain(std::string_view base64);

// The DATA content reader (RFC 5321 4.1.1.4, 4.5.2): removes dot-stuffing
// and finds the end of the data, which is ONLY <CRLF>.<CRLF>. A bare LF or
// bare CR never ends a line here, so "\n.\n", "\r\n.\n" and "\n.\r\n" are
// content, not the end: a client cannot smuggle a second message past an
// MTA that reads line endings differently ("SMTP smuggling", 2023). Such
// content is still read to the real end and flagged, and the server
// refuses the message (550 5.6.11).
//
// Input arrives in arbitrary pieces; the decoder keeps its state between
// feed() calls. Not thread-safe (one per transaction).
class DataDecoder {
 public:
  // Content beyond `max_bytes` is counted but not kept (too_large()).
  explicit DataDecoder(uint64_t max_bytes) noexcept : max_bytes_(max_bytes) {}

  // Appends the decoded content of `in` to `out` and returns the number of
  // bytes of `in` it consumed: all of them, or fewer once the terminating
  // ".\r\n" was consumed (done()). The content keeps its CRLF line endings,
  // including the one before the final dot. Hot path: no allocation beyond
  // growing `out`, runs of ordinary bytes copied at once.
  // REQUIRES: !done().
  size_t feed(std::string_view in, std::string& out);

  bool done() const noexcept { return state_ == State::kDone; }
  bool bare_line_ending() const noexcept { return bare_; }
  bool too_large() const noexcept { return size_ > max_bytes_; }
  uint64_t size() const noexcept { return size_; }  // decoded bytes, kept or not

 private:
  enum class State : uint8_t { kLineStart, kDot, kDotCr, kText, kCr, kDone };
  void emit(std::string& out, std::string_view bytes);

  uint64_t max_bytes_;
  uint64_t size_ = 0;
  State state_ = State::kLineStart;
  bool bare_ = false;
};

// BDAT content is taken as sent (no dot-stuffing), but the listener
// promises CRLF lines (mta/inject.h), so it watches for a bare CR or LF
// across chunk boundaries. Not thread-safe.
class LineEndingCheck {
 public:
  void feed(std::string_view chunk) noexcept;
  // After the last chunk: true if some CR or LF was not part of a CRLF.
  bool bare_line_ending() const noexcept { return bare_ || pending_cr_; }

 private:
  bool pending_cr_ = false;
  bool bare_ = false;
};

}  // namespace mta
