// core/address.h: the syntax of an email address (RFC 5321 Mailbox, with
// RFC 6531 UTF-8) as vestnik accepts it — from the API and from SMTP
// injection alike, so both refuse the same addresses.
#pragma once

#include <string_view>

namespace core {

// local@domain: a dot-string or quoted local part of at most 64 bytes, '@',
// a domain of at least two labels (letters, digits, hyphens, no hyphen at
// either end, at most 63 bytes each; the last not all digits: an IP address
// in disguise; no address literal), at most 255 bytes; 254 bytes in all.
// Non-ASCII (well-formed UTF-8, in the local part and as U-labels) only when
// `utf8` is true. Pure; no allocation.
bool is_valid_mailbox(std::string_view address, bool utf8) noexcept;

}  // namespace core
