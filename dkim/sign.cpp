// dkim/sign.cpp: the signer (RFC 6376 §3.5, §3.7, §5).
//
// Per message: split the header (string_views, no copy), hash the canonical
// body (unless the caller has it), build the signature field with an empty
// b= folded exactly as it will be sent, hash the selected header fields and
// that field, sign the digest, append b= folded at 78 columns. Folding
// inside the b= value is ignored by verifiers (they strip the whole value),
// so it can be done after signing; everything before it is final.
#include <algorithm>
#include <cassert>
#include <charconv>
#include <initializer_list>
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
  explicit Folder(std::string_view start, size_t reserve) : col(start.size()) {
    text.reserve(reserve);
    text.append(start);
  }
  // Appends the token made of `parts`, preceded by a space, or on a new
  // line when it would pass the fold column. Tokens longer than a line
  // still go whole.
  void word(std::initializer_list<std::string_view> parts) {
    const size_t size = length(parts);
    if (col + 1 + size > kFoldAt) {
      text.append("\r\n ");
      col = 1;
    } else {
      text.push_back(' ');
      ++col;
    }
    append(parts, size);
  }
  // Appends the token with no space, folding first if it would pass the
  // column (only where FWS is allowed, e.g. around ':' in h=).
  void glued(std::initializer_list<std::string_view> parts) {
    const size_t size = length(parts);
    if (col + size > kFoldAt) {
      text.append("\r\n ");
      col = 1;
    }
    append(parts, size);
  }

 private:
  static size_t length(std::initializer_list<std::string_view> parts) {
    size_t n = 0;
    for (auto p : parts) n += p.size();
    return n;
  }
  void append(std::initializer_list<std::string_view> parts, size_t size) {
    for (auto p : parts) text.append(p);
    col += size;
  }
};

// `v` in decimal, written into `buf`.
std::string_view decimal(int64_t v, char (&buf)[24]) {
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes hold any int64_t
  return {buf, static_cast<size_t>(end - buf)};
}

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
  detail::Sha256 h;
  canonicalize_body(options_.body_canon, body, [&h](const char* p, size_t n) { h.update(p, n); });
  unsigned char md[32];
  h.final(md);
  return base64_encode(std::string_view(reinterpret_cast<char*>(md), sizeof md));
}

core::Result<std::string> Signer::sign(std::string_view message, int64_t now, std::string_view bh) const {
  assert(!needs_normalization(message));
  SplitMessage m = split_message(message);

  // The header hash input (§3.7), built while h= is counted: for each
  // configured name, its fields bottom-up (h= lists a name once per
  // instance, and a verifier takes instances from the bottom), then the
  // signature field below. Configured names are distinct (create()), so no
  // field is taken twice.
  std::string input;
  input.reserve(message.size() - m.body.size() + 1024);
  std::vector<uint32_t> count(lower_headers_.size(), 0);
  size_t n_names = 0;
  bool has_from = false;
  for (size_t i = 0; i < lower_headers_.size(); ++i) {
    for (size_t f = m.fields.size(); f-- > 0;) {
      if (!iequals(m.fields[f].name, lower_headers_[i])) continue;
      canonicalize_header(options_.header_canon, m.fields[f].raw, input);
      ++count[i];
    }
    if (count[i] > 0 && lower_headers_[i] == "from") has_from = true;
    n_names += count[i] + (oversigned_[i] ? 1 : 0);
  }
  if (!has_from) return core::invalid_argument("From", "the message has no From field to sign");

  std::string bh_owned;
  if (bh.empty()) {
    bh_owned = body_hash(m.body);
    bh = bh_owned;
  }

  // The field: tags, h= (≈ 25 bytes a name), bh= and b= with its folds.
  Folder f("DKIM-Signature:", 256 + n_names * 26 + bh.size() + key_->bits() / 4);
  char t[24], x[24];
  f.word({"v=1;"});
  f.word({"a=", algorithm_name(key_->algorithm()), ";"});
  f.word({"c=", canon_name(options_.header_canon), "/", canon_name(options_.body_canon), ";"});
  f.word({"d=", options_.domain, ";"});
  if (!options_.identity.empty()) f.word({"i=", options_.identity, ";"});
  f.word({"s=", options_.selector, ";"});
  f.word({"t=", decimal(now, t), ";"});
  if (options_.expire_seconds > 0) f.word({"x=", decimal(now + options_.expire_seconds, x), ";"});
  // h=: each configured name once per instance, plus once more when
  // oversigned.
  size_t listed = 0;
  for (size_t i = 0; i < lower_headers_.size(); ++i) {
    for (size_t k = 0; k < count[i] + (oversigned_[i] ? 1 : 0); ++k, ++listed) {
      const std::string_view sep = listed + 1 == n_names ? ";" : ":";
      if (listed == 0)
        f.word({"h=", options_.headers[i], sep});
      else
        f.glued({options_.headers[i], sep});
    }
  }
  f.word({"bh=", bh, ";"});
  f.word({"b="});

  canonicalize_header(options_.header_canon, f.text, input, /*with_crlf=*/false);
  unsigned char digest[32];
  detail::Sha256 h;
  h.update(input.data(), input.size());
  h.final(digest);
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
