// dkim/signing_table.cpp: see signing_table.h.
#include "dkim/signing_table.h"

#include "dkim/internal.h"

namespace dkim {

core::Result<std::shared_ptr<const SigningTable>> SigningTable::build(const core::DkimConfig& c,
                                                                      std::string_view trace_header) {
  auto table = std::make_shared<SigningTable>();
  table->sign_injected_ = c.sign_injected;
  auto canon = [](const std::string& v, const std::string& fallback) {
    return (v.empty() ? fallback : v) == "simple" ? Canon::kSimple : Canon::kRelaxed;
  };
  // [dkim]'s options, with a domain's own lists and canonicalization
  // (when it has them) in their place.
  auto options_for = [&](const core::DkimDomain* d) {
    SignerOptions o;
    o.header_canon = canon(d ? d->header_canonicalization : "", c.header_canonicalization);
    o.body_canon = canon(d ? d->body_canonicalization : "", c.body_canonicalization);
    const bool own = d && !d->headers.empty();
    const auto& headers = own ? d->headers : c.headers;
    const auto& oversign = own ? d->oversign : (d && !d->oversign.empty() ? d->oversign : c.oversign);
    o.headers = headers.empty() ? default_signed_headers(trace_header) : headers;
    o.oversign = headers.empty() && oversign.empty() ? default_oversigned_headers() : oversign;
    o.expire_seconds = c.expire.count() / 1000;
    return o;
  };
  // Each set of options is checked once with a throwaway key, so an error
  // names dkim.headers[i] (or dkim.domains[n].headers[i]), not a key.
  auto probe_key = PrivateKey::generate(Algorithm::kEd25519Sha256);
  if (!probe_key) return probe_key.error();
  auto check = [&](SignerOptions probe, const std::string& prefix) -> core::Status {
    probe.domain = "example.com";
    probe.selector = "s";
    auto s = Signer::create(std::move(probe), *probe_key);
    if (s) return {};
    core::Error e = s.error();
    e.field = prefix + e.field;
    return e;
  };
  if (auto st = check(options_for(nullptr), "dkim."); !st) return st.error();
  for (size_t i = 0; i < c.domains.size(); ++i) {
    if (auto st = check(options_for(&c.domains[i]), "dkim.domains[" + std::to_string(i) + "]."); !st)
      return st.error();
  }
  for (size_t i = 0; i < c.domains.size(); ++i) {
    const core::DkimDomain& cd = c.domains[i];
    Domain d;
    d.domain = detail::lower(cd.domain);
    d.d = detail::lower(cd.signing_domain.empty() ? cd.domain : cd.signing_domain);
    d.required = cd.required;
    d.error.code = core::Errc::kOk;
    for (size_t k = 0; k < cd.keys.size(); ++k) {
      const std::string field = "dkim.domains[" + std::to_string(i) + "].keys[" + std::to_string(k) + "]";
      auto key = PrivateKey::load_file(cd.keys[k].key_file, field + ".key_file");
      if (key && !cd.keys[k].algorithm.empty()) {
        auto want = parse_algorithm(cd.keys[k].algorithm, field + ".algorithm");
        if (want && *want != (*key)->algorithm()) {
          key = core::invalid_argument(field + ".algorithm", cd.keys[k].key_file + " holds a " +
                                                                 std::string(key_type_name((*key)->algorithm())) +
                                                                 " key, not " + cd.keys[k].algorithm);
        }
      }
      if (!key) {
        d.error = key.error();
        d.signers.clear();
        break;
      }
      SignerOptions o = options_for(&cd);
      o.domain = d.d;
      o.selector = cd.keys[k].selector;
      auto signer = Signer::create(o, *key);
      if (!signer) {
        d.error = signer.error();
        d.error.field = field + "." + d.error.field;
        d.signers.clear();
        break;
      }
      d.signers.push_back(std::move(*signer));
    }
    table->domains_.push_back(std::move(d));
  }
  return std::shared_ptr<const SigningTable>(std::move(table));
}

const SigningTable::Domain* SigningTable::find(std::string_view from_domain) const noexcept {
  const Domain* best = nullptr;
  for (const auto& d : domains_) {
    const std::string& n = d.domain;
    const bool match =
        detail::iequals(from_domain, n) ||
        (from_domain.size() > n.size() && from_domain[from_domain.size() - n.size() - 1] == '.' &&
         detail::iequals(from_domain.substr(from_domain.size() - n.size()), n));
    if (match && (!best || n.size() > best->domain.size())) best = &d;
  }
  return best;
}

core::Result<std::string> SigningTable::sign(const Domain& d, std::string_view message, int64_t now,
                                             std::string_view body_hash) const {
  std::string bh;
  if (body_hash.empty()) {
    bh = d.signers.front().body_hash(split_message(message).body);
    body_hash = bh;
  }
  std::string fields;
  for (const Signer& s : d.signers) {
    auto f = s.sign(message, now, body_hash);
    if (!f) return f.error();
    fields += *f;
  }
  return fields;
}

std::vector<core::Error> SigningTable::problems() const {
  std::vector<core::Error> out;
  for (const auto& d : domains_)
    if (d.error.code != core::Errc::kOk) out.push_back(d.error);
  return out;
}

std::string from_domain(std::string_view message) {
  SplitMessage m = split_message(message);
  for (size_t f = m.fields.size(); f-- > 0;) {
    if (!detail::iequals(m.fields[f].name, "from")) continue;
    std::string_view v = m.fields[f].raw.substr(m.fields[f].name.size());
    // The address is in <...> when there is a display name; else the value.
    size_t lt = v.rfind('<');
    if (lt != std::string_view::npos) {
      size_t gt = v.find('>', lt);
      v = v.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
    }
    size_t at = v.rfind('@');
    if (at == std::string_view::npos) return {};
    std::string_view dom = v.substr(at + 1);
    size_t end = 0;
    while (end < dom.size() && dom[end] != '>' && dom[end] != ' ' && dom[end] != '\t' && dom[end] != '\r' &&
           dom[end] != '\n' && dom[end] != ';' && dom[end] != ',' && dom[end] != ')')
      ++end;
    return detail::lower(dom.substr(0, end));
  }
  return {};
}

}  // namespace dkim
