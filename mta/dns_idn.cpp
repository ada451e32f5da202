// mta/dns_idn.cpp: to_ascii_domain (dns.h), IDNA via libidn2.
#include <idn2.h>

#include <algorithm>
#include <memory>
#include <string>

#include "mta/dns.h"
#include "mta/dns_policy.h"

namespace mta {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_ace_prefix(std::string_view label) {
  return label.size() >= 4 && lower(label[0]) == 'x' && lower(label[1]) == 'n' && label[2] == '-' &&
         label[3] == '-';
}

// An "xn--" label must decode: a name that cannot be shown to a user as
// Unicode is not one the sender meant.
bool valid_ace_label(const std::string& label) {
  char* out = nullptr;
  const int rc = idn2_to_unicode_8z8z(label.c_str(), &out, 0);
  std::unique_ptr<char, decltype(&idn2_free)> guard(out, &idn2_free);
  if (rc != IDN2_OK) return false;
  // And it must be what IDNA2008 would produce for that Unicode (no
  // uppercase, no disallowed code points hidden in punycode).
  char* back = nullptr;
  const int rc2 = idn2_to_ascii_8z(out, &back, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
  std::unique_ptr<char, decltype(&idn2_free)> guard2(back, &idn2_free);
  return rc2 == IDN2_OK && label == back;
}

}  // namespace

std::optional<std::string> to_ascii_domain(std::string_view utf8_domain) {
  if (!utf8_domain.empty() && utf8_domain.back() == '.') utf8_domain.remove_suffix(1);
  if (utf8_domain.empty() || utf8_domain.size() > 1024) return std::nullopt;
  if (utf8_domain.find('\0') != std::string_view::npos) return std::nullopt;

  const bool ascii = std::all_of(utf8_domain.begin(), utf8_domain.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  std::string out;
  if (ascii) {
    // ASCII names skip IDNA processing on purpose: UTS #46 would refuse
    // labels such as "ab--cd" that DNS holds and mail hosts use, and with
    // its STD3 rules it silently deletes '_' and ' ' instead of refusing.
    out.reserve(utf8_domain.size());
    for (char c : utf8_domain) out.push_back(lower(c));
  } else {
    char* converted = nullptr;
    const int rc = idn2_to_ascii_8z(std::string(utf8_domain).c_str(), &converted,
                                    IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    std::unique_ptr<char, decltype(&idn2_free)> guard(converted, &idn2_free);
    if (rc != IDN2_OK || converted == nullptr) return std::nullopt;
    out = converted;
    for (char& c : out) c = lower(c);
  }
  if (!out.empty() && out.back() == '.') return std::nullopt;  // "a.." or a mapped full stop
  if (!dns_policy::is_host_name(out)) return std::nullopt;
  for (size_t start = 0; start < out.size();) {
    size_t end = out.find('.', start);
    if (end == std::string::npos) end = out.size();
    const std::string label = out.substr(start, end - start);
    if (starts_with_ace_prefix(label) && !valid_ace_label(label)) return std::nullopt;
    start = end + 1;
  }
  return out;
}

}  // namespace mta
