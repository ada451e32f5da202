// dkim/internal.h: pieces shared by the signer and the verifier.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/canon.h"

namespace dkim::detail {

// tag-list (RFC 6376 §3.2): "t=v; t=v", values trimmed of FWS. nullopt on
// a spec without '=' or a duplicate tag.
std::optional<std::map<std::string, std::string>> parse_tags(std::string_view list);

// The names of an h= value, lowercased and trimmed.
std::vector<std::string> parse_h(std::string_view h);

// The field with the value of its b= tag removed (§3.7), wherever b= stands.
std::string strip_b_value(std::string_view raw);

// SHA-256 of the header hash input (§3.7): for each of `names` (lowercase)
// the canonical last not-yet-used field of that name, then `sig_field`
// (b= value already empty) canonicalized without its CRLF.
void header_digest(const SplitMessage& m, const std::vector<std::string>& names, Canon c,
                   std::string_view sig_field, unsigned char (&out)[32]);

bool iequals(std::string_view a, std::string_view b) noexcept;
std::string lower(std::string_view s);

}  // namespace dkim::detail
