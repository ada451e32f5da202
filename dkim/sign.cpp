// dkim/sign.cpp: the signer (RFC 6376 §3.5, §3.7, §5).
//
// Per message: split the header (string_views, no copy), hash the canonical
// body (unless the caller has it), build the signature field with an empty
// b= folded exactly as it will be sent, hash the selected header fields and
// that field, sign the digest, append b= folded at 78 columns. Folding
// inside the b= value is ignored by verifiers (they strip the whole value),
// so it can be done after signing; everything before it is final.
#include <openssl/evp.h>

#include <algorithm>
#include <cassert>
#include <string>

#include "dkim/dkim.h"
#include "dkim/internal.h"

namespace dkim {
namespace {

using detail::iequals;
using detail::lower;

constexpr size_t kFoldAt = 78;  // RFC 5322 §2.1.1 SHOULD

// A domain name in A-labels: LDH labels separated by dots.
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

bool valid_header_name(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n)
    if (c <= 32 || c >= 127 || c == ':') return false;
  return true;
}

// A header field text under construction, folded at kFoldAt columns.
struct Folder {
  std::string text;
  size_t col = 0;
  explicit Folder(std::string_view start) : text(start), col(start.size()) {}
  // Appends `token`, preceded by a space, or on a new line when it would
  // pass the fold column. Tokens longer than a line still go whole.
  void word(std::string_view token) {
    if (col + 1 + token.size() > kFoldAt) {
      text.append("\r\n ");
      col = 1;
    } else {
      text.push_back(' ');
      ++col;
    }
    text.append(token);
    col += token.size();
  }
  // Appends `token` with no space, folding first if it would pass the
  // column (only where FWS is allowed, e.g. around ':' in h=).
  void glued(std::string_view token) {
    if (col + token.size() > kFoldAt) {
      text.append("\r\n ");
      col = 1;
    }
    text.append(token);
    col += token.size();
  }
};

}  // namespace

std::vector<std::string> default_signed_headers(std::string_view trace_header) {
  std::vector<std::string> h = {"From",         "To",           "Cc",
                                "Subject",      "Date",         "Message-ID",
                                "Reply-To",     "MIME-Version", "Content-Type",
                                "Content-Transfer-Encoding",    "List-Unsubscribe",
                                "List-Unsubscribe-Post",        "Feedback-ID"};
  if (!trace_header.empty()) h.emplace_back(trace_header);
  return h;
}

std::vector<std::string> default_oversigned_headers() {
  return {"From", "Subject", "Date", "To", "List-Unsubscribe", "List-Unsubscribe-Post"};
}

bool is_unsignable_header(std::string_view name) noexcept {
  static constexpr std::string_view kNever[] = {"return-path", "received", "comments",  "keywords",
                                                "bcc",         "resent-bcc", "dkim-signature"};
  for (auto n : kNever)
    if (iequals(n, name)) return true;
  return false;
}

Signer::Signer(SignerOptions o, std::shared_ptr<const PrivateKey> k) : options_(std::move(o)), key_(std::move(k)) {}

core::Result<Signer> Signer::create(SignerOptions o, std::shared_ptr<const PrivateKey> key) {
  if (!key) return core::invalid_argument("key", "no key");
  if (!valid_domain(o.domain)) return core::invalid_argument("domain", "not a domain name in A-labels: '" + o.domain + "'");
  if (!valid_domain(o.selector)) return core::invalid_argument("selector", "not a valid selector: '" + o.selector + "'");
  if (!o.identity.empty()) {
    size_t at = o.identity.rfind('@');
    std::string_view idom = at == std::string::npos ? std::string_view() : std::string_view(o.identity).substr(at + 1);
    const bool within = iequals(idom, o.domain) ||
                        (idom.size() > o.domain.size() && idom[idom.size() - o.domain.size() - 1] == '.' &&
                         iequals(idom.substr(idom.size() - o.domain.size()), o.domain));
    if (at == std::string::npos || !within) {
      return core::invalid_argument("identity", "i= must be an address in d= or a subdomain of it (RFC 6376 §3.5)");
    }
  }
  if (o.expire_seconds < 0) return core::invalid_argument("expire", "must not be negative");
  bool from = false;
  for (size_t i = 0; i < o.headers.size(); ++i) {
    const std::string field = "headers[" + std::to_string(i) + "]";
    if (!valid_header_name(o.headers[i])) return core::invalid_argument(field, "not a header field name");
    if (is_unsignable_header(o.headers[i])) {
      return core::invalid_argument(field, o.headers[i] + " changes in transit and must not be signed");
    }
    for (size_t j = 0; j < i; ++j)
      if (iequals(o.headers[i], o.headers[j])) return core::invalid_argument(field, "listed twice: " + o.headers[i]);
    from = from || iequals(o.headers[i], "from");
  }
  if (!from) return core::invalid_argument("headers", "must include From (RFC 6376 §5.4)");
  Signer s(std::move(o), std::move(key));
  s.oversigned_.assign(s.options_.headers.size(), false);
  for (size_t i = 0; i < s.options_.oversign.size(); ++i) {
    const std::string& n = s.options_.oversign[i];
    auto it = std::find_if(s.options_.headers.begin(), s.options_.headers.end(),
                           [&](const std::string& h) { return iequals(h, n); });
    if (it == s.options_.headers.end()) {
      return core::invalid_argument("oversign[" + std::to_string(i) + "]", n + " is not in headers");
    }
    s.oversigned_[static_cast<size_t>(it - s.options_.headers.begin())] = true;
  }
  for (const auto& h : s.options_.headers) s.lower_headers_.push_back(lower(h));
  return s;
}

std::string Signer::body_hash(std::string_view body) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  canonicalize_body(options_.body_canon, body, [ctx](const char* p, size_t n) { EVP_DigestUpdate(ctx, p, n); });
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return base64_encode(std::string_view(reinterpret_cast<char*>(md), len));
}

core::Result<std::string> Signer::sign(std::string_view message, int64_t now, std::string_view bh) const {
  assert(!needs_normalization(message));
  SplitMessage m = split_message(message);

  // h=: each configured name once per instance, plus once more when
  // oversigned.
  std::vector<std::string_view> names;
  std::vector<std::string> lower_names;
  names.reserve(lower_headers_.size() + 8);
  lower_names.reserve(lower_headers_.size() + 8);
  bool has_from = false;
  for (size_t i = 0; i < lower_headers_.size(); ++i) {
    size_t count = 0;
    for (const auto& field : m.fields) count += iequals(field.name, lower_headers_[i]) ? 1 : 0;
    if (count > 0 && lower_headers_[i] == "from") has_from = true;
    for (size_t k = 0; k < count + (oversigned_[i] ? 1 : 0); ++k) {
      names.push_back(options_.headers[i]);
      lower_names.push_back(lower_headers_[i]);
    }
  }
  if (!has_from) return core::invalid_argument("From", "the message has no From field to sign");

  std::string bh_owned;
  if (bh.empty()) {
    bh_owned = body_hash(m.body);
    bh = bh_owned;
  }

  Folder f("DKIM-Signature:");
  f.word("v=1;");
  f.word("a=" + std::string(algorithm_name(key_->algorithm())) + ";");
  f.word("c=" + std::string(canon_name(options_.header_canon)) + "/" + std::string(canon_name(options_.body_canon)) +
         ";");
  f.word("d=" + options_.domain + ";");
  if (!options_.identity.empty()) f.word("i=" + options_.identity + ";");
  f.word("s=" + options_.selector + ";");
  f.word("t=" + std::to_string(now) + ";");
  if (options_.expire_seconds > 0) f.word("x=" + std::to_string(now + options_.expire_seconds) + ";");
  for (size_t i = 0; i < names.size(); ++i) {
    std::string token = (i == 0 ? "h=" : "") + std::string(names[i]) + (i + 1 == names.size() ? ";" : ":");
    if (i == 0)
      f.word(token);
    else
      f.glued(token);
  }
  f.word("bh=" + std::string(bh) + ";");
  f.word("b=");

  unsigned char digest[32];
  detail::header_digest(m, lower_names, options_.header_canon, f.text, digest);
  auto sig = key_->sign_digest(digest);
  if (!sig) return sig.error();
  const std::string b = base64_encode(*sig);
  for (size_t i = 0; i < b.size();) {
    if (f.col >= kFoldAt) {
      f.text.append("\r\n ");
      f.col = 1;
    }
    const size_t take = std::min(b.size() - i, kFoldAt - f.col);
    f.text.append(b, i, take);
    f.col += take;
    i += take;
  }
  f.text.append("\r\n");
  return std::move(f.text);
}

core::Result<std::string> sign_field(const PrivateKey& key, std::string_view message, std::string_view field) {
  size_t colon = field.find(':');
  if (colon == std::string_view::npos || !iequals(field.substr(0, colon), "dkim-signature"))
    return core::invalid_argument("field", "not a DKIM-Signature field");
  auto tags = detail::parse_tags(field.substr(colon + 1));
  if (!tags || !tags->count("h") || !tags->count("b") || !(*tags)["b"].empty())
    return core::invalid_argument("field", "needs h= and an empty b=");
  Canon hc = Canon::kSimple;
  if (auto it = tags->find("c"); it != tags->end() && it->second.starts_with("relaxed")) hc = Canon::kRelaxed;
  unsigned char digest[32];
  detail::header_digest(split_message(message), detail::parse_h((*tags)["h"]), hc, field, digest);
  auto sig = key.sign_digest(digest);
  if (!sig) return sig.error();
  return base64_encode(*sig);
}

}  // namespace dkim
