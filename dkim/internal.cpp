// dkim/internal.cpp: tag lists and the header hash (see internal.h).
#include "dkim/internal.h"

#include <openssl/evp.h>

namespace dkim::detail {
namespace {

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

const EVP_MD* sha256_md() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched ? fetched : EVP_sha256();  // kept for the life of the process
  }();
  return md;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, sha256_md(), nullptr); }
Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }
void Sha256::update(const void* p, size_t n) { EVP_DigestUpdate(ctx_, p, n); }
void Sha256::final(unsigned char (&out)[32]) {
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out, &len);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

std::optional<std::map<std::string, std::string>> parse_tags(std::string_view list) {
  std::map<std::string, std::string> tags;
  size_t pos = 0;
  for (;;) {
    size_t semi = list.find(';', pos);
    const bool last = semi == std::string_view::npos;
    if (last) semi = list.size();
    std::string_view spec = trim(list.substr(pos, semi - pos));
    if (!spec.empty()) {
      size_t eq = spec.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      std::string name(trim(spec.substr(0, eq)));
      if (name.empty() || tags.count(name)) return std::nullopt;
      tags.emplace(std::move(name), std::string(trim(spec.substr(eq + 1))));
    }
    if (last) break;
    pos = semi + 1;
  }
  return tags;
}

std::vector<std::string> parse_h(std::string_view h) {
  std::vector<std::string> names;
  size_t pos = 0;
  for (;;) {
    size_t c = h.find(':', pos);
    const bool last = c == std::string_view::npos;
    if (last) c = h.size();
    names.push_back(lower(trim(h.substr(pos, c - pos))));
    if (last) break;
    pos = c + 1;
  }
  return names;
}

std::string strip_b_value(std::string_view raw) {
  size_t colon = raw.find(':');
  if (colon == std::string_view::npos) return std::string(raw);
  std::string out(raw.substr(0, colon + 1));
  std::string_view rest = raw.substr(colon + 1);
  size_t pos = 0;
  for (;;) {
    size_t semi = rest.find(';', pos);
    const bool last = semi == std::string_view::npos;
    const size_t end = last ? rest.size() : semi;
    std::string_view spec = rest.substr(pos, end - pos);
    size_t eq = spec.find('=');
    if (eq != std::string_view::npos && trim(spec.substr(0, eq)) == "b") {
      out.append(spec.substr(0, eq + 1));
      // The field's own line end is not part of the value.
      if (last && spec.size() >= 2 && spec.substr(spec.size() - 2) == "\r\n") out.append("\r\n");
    } else {
      out.append(spec);
    }
    if (last) break;
    out.push_back(';');
    pos = end + 1;
  }
  return out;
}

void header_digest(const SplitMessage& m, const std::vector<std::string>& names, Canon c,
                   std::string_view sig_field, unsigned char (&out)[32]) {
  std::string input;
  input.reserve(2048);
  // A field is used at most once; walk bottom-up for each name.
  std::vector<bool> used(m.fields.size(), false);
  for (const auto& n : names) {
    for (size_t f = m.fields.size(); f-- > 0;) {
      if (used[f] || !iequals(m.fields[f].name, n)) continue;
      used[f] = true;
      canonicalize_header(c, m.fields[f].raw, input);
      break;
    }
  }
  canonicalize_header(c, sig_field, input, /*with_crlf=*/false);
  Sha256 h;
  h.update(input.data(), input.size());
  h.final(out);
}

}  // namespace dkim::detail
