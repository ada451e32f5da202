// mta/dns_wire.h: a pure parser of DNS response messages (RFC 1035 §4),
// private to the dns part of mta/.
//
// c-ares sends the queries and handles retries, TCP fallback and server
// rotation; its typed parsers (ares_parse_mx_reply) drop the TTLs and the
// additional section, which we need for caching and MX glue, so the answer
// bytes are decoded here. No I/O; bounds-checked; fuzzed by
// tests/fuzz/dns_fuzz.cpp.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace mta::dns_wire {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kClassIn = 1;

inline constexpr uint8_t kRcodeNoError = 0;
inline constexpr uint8_t kRcodeServFail = 2;
inline constexpr uint8_t kRcodeNxDomain = 3;

enum class Section : uint8_t { kAnswer = 0, kAuthority = 1, kAdditional = 2 };

// One resource record. Names are lowercase ASCII without the trailing dot
// ("" is the root); a label octet that is not a printable ASCII character
// other than '.' and '\' appears as "\DDD" (decimal, as in zone files), so
// such a name can never pass a host-name check by accident.
struct Record {
  Section section = Section::kAnswer;
  std::string owner;
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;  // seconds; a TTL with the top bit set is 0 (RFC 2181 §8)
  // Decoded RDATA for the types we use; other types keep only the header.
  uint16_t preference = 0;           // MX
  std::string target;                // MX exchange, CNAME target
  boost::asio::ip::address address;  // A, AAAA
  uint32_t soa_minimum = 0;          // SOA MINIMUM (RFC 2308 negative TTL)
};

struct Message {
  uint16_t id = 0;
  bool response = false;
  bool truncated = false;
  uint8_t rcode = 0;
  std::vector<Record> records;  // answer, then authority, then additional
};

// Decodes a whole DNS message. Errors (kInvalidArgument): truncated input,
// a name longer than 255 octets, a compression pointer that does not point
// strictly backwards, RDATA that does not match its type's layout (A not 4
// octets, AAAA not 16, an MX name running past its RDATA).
core::Result<Message> parse_message(std::span<const uint8_t> bytes);

}  // namespace mta::dns_wire
