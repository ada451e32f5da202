// mta/smtp_client_dsn.cpp: the RFC 3461 (DSN) parameters the client adds
// to MAIL and RCPT when the peer offers DSN (see smtp_client.h).
//
// Why send them at all when every message already has a VERP return path:
// a DSN that quotes them (Original-Envelope-Id, Original-Recipient) is
// matched to its message even when the reporting MTA mangled or dropped
// the return path's token; the engine tries the VERP token first, then
// ENVID, then ORCPT (deliverability.md §2.1, §2.4).
#include "mta/smtp_client.h"

namespace mta {

namespace {

// RFC 3461 §4.4: ENVID is at most 100 characters once xtext-encoded.
constexpr size_t kMaxEnvid = 100;
// RFC 3461 §4.2: the ORCPT parameter's value is at most 500 characters.
constexpr size_t kMaxOrcpt = 500;

// Both values MUST be printable US-ASCII, white space included (§4.2,
// §4.4); anything else cannot be put in xtext faithfully for the DSN.
bool printable_ascii(std::string_view s) noexcept {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::string xtext(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    if (c >= '!' && c <= '~' && c != '+' && c != '=') {
      out += static_cast<char>(c);
    } else {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

std::string dsn_envid_param(std::string_view envid) {
  if (envid.empty() || !printable_ascii(envid)) return {};
  std::string v = xtext(envid);
  if (v.size() > kMaxEnvid) return {};
  return " ENVID=" + v;
}

std::string dsn_orcpt_param(std::string_view recipient) {
  if (recipient.empty() || !printable_ascii(recipient)) return {};
  std::string v = "rfc822;" + xtext(recipient);
  if (v.size() > kMaxOrcpt) return {};
  return " ORCPT=" + v;
}

}  // namespace mta
