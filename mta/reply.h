// mta/reply.h: SMTP replies (RFC 5321 §4.2) and EHLO capabilities, parsed.
//
// Pure functions over bytes; no I/O, no allocation beyond the result. The
// client (smtp_client.h) feeds them whatever arrived on the socket; they are
// fuzzed (tests/fuzz/smtp_reply_fuzz.cpp).
//
//   "250-mx.example.com at your service\r\n250-PIPELINING\r\n250 SIZE 35882577\r\n"
//   -> Reply{250, "", {"mx.example.com at your service", "PIPELINING", "SIZE 35882577"}}
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/message.h"

namespace mta {

// One complete reply: all its lines share the code.
struct Reply {
  uint16_t code = 0;             // 200..599
  std::string enhanced;          // RFC 3463 "5.1.1" from the first line; empty if none
  std::vector<std::string> lines;  // text of each line, code (and enhanced code) removed

  int klass() const noexcept { return code / 100; }  // 2, 3, 4 or 5
  // The text of all lines joined by a space, for events and logs.
  std::string text() const;
  // {code, enhanced, text()}.
  core::Reply to_core() const;
};

enum class ParseState : uint8_t {
  kComplete,   // *reply holds a reply; *consumed bytes of the input were used
  kNeedMore,   // no complete reply yet; nothing consumed
  kMalformed,  // the peer violated the syntax; *error says how (the connection is unusable)
};

// Limits that bound what a hostile peer can make us hold.
inline constexpr size_t kMaxReplyLine = 4096;  // RFC 5321 says 512; servers exceed it
inline constexpr size_t kMaxReplyLines = 256;

// Parses the first reply at the front of `in`. A line is
// <3 digits>[SP | "-"]<text><CRLF>; "-" continues the reply, which ends
// with a line whose fourth character is a space (or that has no fourth
// character). Every line must carry the same code, 200..599. A bare LF ends
// a line too (lenient: some servers send them); a CR alone is text. The
// enhanced code is taken from the first line when it has the form
// class.subject.detail with the class equal to the code's first digit, and
// removed from every line that repeats it.
ParseState parse_reply(std::string_view in, Reply* reply, size_t* consumed, std::string* error);

// What a server offered in its EHLO reply.
struct Capabilities {
  bool esmtp = false;  // the EHLO was answered with 250 (else HELO was used)
  bool pipelining = false;
  bool size = false;
  uint64_t max_size = 0;  // 0 with size: no fixed limit
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  bool enhanced_status_codes = false;
  bool starttls = false;
  bool chunking = false;
  bool dsn = false;
  std::vector<std::string> auth;  // mechanisms, upper case
};

// Reads the keywords of a 250 EHLO reply (lines after the first), case
// insensitively, ignoring unknown ones. "SIZE" with a value that is not a
// number leaves max_size 0.
Capabilities parse_ehlo(const Reply& reply);

}  // namespace mta
