// core/config_dkim.cpp: [dkim] and [[dkim.domains]] (issue #5). The key
// files are only named here; dkim::SigningTable loads them (at start and on
// SIGHUP) and reports a bad one with its key ("dkim.domains[0].keys[1]").
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/config_read.h"

namespace core::config_detail {
namespace {

void read_canon(Section& s, std::string_view k, std::string* out) {
  if (const auto* n = s.get(k)) {
    *out = read_string(s.key(k), *n);
    if (*out != "simple" && *out != "relaxed") fail(s.key(k), *n, "must be \"simple\" or \"relaxed\"");
  }
}

bool valid_selector(std::string_view v) {
  // Selectors are DNS labels (RFC 6376 §3.1), possibly several: "2026.s1".
  return valid_host_name(v) || (!v.empty() && v.size() <= 63 && std::all_of(v.begin(), v.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
         }));
}

void read_header_names(Section& s, std::string_view k, std::vector<std::string>* out) {
  const auto* n = s.get(k);
  if (!n) return;
  read_strings(s, k, out, 100);
  for (size_t i = 0; i < out->size(); ++i) {
    if (!valid_header_name((*out)[i])) fail(indexed(s.key(k), i), *n, "must be a header name (printable ASCII, no ':' or spaces)");
  }
}

}  // namespace

void read_dkim(Section& s, DkimConfig& c, const RetryConfig& retry) {
  read_canon(s, "header_canonicalization", &c.header_canonicalization);
  read_canon(s, "body_canonicalization", &c.body_canonicalization);
  read_header_names(s, "headers", &c.headers);
  read_header_names(s, "oversign", &c.oversign);
  if (const auto* n = s.get("expire")) {
    c.expire = read_duration(s.key("expire"), *n, Duration(0), Duration(3650LL * 24 * 3600 * 1000));
    // A retried message is signed again at each attempt, but a receiver
    // may verify long after (forwarding, a slow mailbox): x= must outlast
    // the whole retry span plus a day (deliverability.md §1.3).
    int64_t span = 0;
    for (Duration d : retry.schedule) span += d.count();
    span = static_cast<int64_t>(std::ceil(static_cast<double>(span) * (1.0 + retry.jitter))) + 24LL * 3600 * 1000;
    if (c.expire.count() != 0 && c.expire.count() <= span) {
      fail(s.key("expire"), *n,
           fmt::format("must exceed the retry schedule's span plus a day ({}s), or be 0 for no x=", span / 1000));
    }
  }
  s.boolean("sign_injected", &c.sign_injected);
  s.integer("threads", &c.threads, 0, 256);
  if (const auto* n = s.get("domains")) {
    c.domains.clear();
    for_each_table(s.key("domains"), *n, 10'000, [&](Section& d, size_t) {
      DkimDomain dom;
      // Domains compare without case; keep them lowercase from here on.
      auto lower = [](std::string v) {
        for (char& ch : v)
          if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
        return v;
      };
      dom.domain = lower(d.required_str("domain"));
      if (!valid_host_name(dom.domain)) fail(d.key("domain"), *d.get("domain"), "must be a domain name in A-labels");
      d.str("signing_domain", &dom.signing_domain);
      dom.signing_domain = lower(std::move(dom.signing_domain));
      if (!dom.signing_domain.empty()) {
        // d= must be the From domain or a parent of it for DMARC alignment.
        const std::string& f = dom.domain;
        const std::string& p = dom.signing_domain;
        const bool parent = f == p || (f.size() > p.size() && f.compare(f.size() - p.size(), p.size(), p) == 0 &&
                                       f[f.size() - p.size() - 1] == '.');
        if (!valid_host_name(p) || !parent) {
          fail(d.key("signing_domain"), *d.get("signing_domain"),
               "must be the domain or a parent of it (DMARC alignment)");
        }
      }
      d.boolean("required", &dom.required);
      read_canon(d, "header_canonicalization", &dom.header_canonicalization);
      read_canon(d, "body_canonicalization", &dom.body_canonicalization);
      read_header_names(d, "headers", &dom.headers);
      read_header_names(d, "oversign", &dom.oversign);
      const auto* kn = d.get("keys");
      if (!kn) throw ConfigError(d.key("keys"), "is required: at least one key" + where(d.node()));
      for_each_table(d.key("keys"), *kn, 8, [&](Section& k, size_t) {
        DkimKey key;
        key.selector = k.required_str("selector");
        if (!valid_selector(key.selector)) fail(k.key("selector"), *k.get("selector"), "must be a DNS label");
        key.key_file = k.required_str("key_file");
        if (key.key_file.empty()) fail(k.key("key_file"), *k.get("key_file"), "must name a PEM file");
        k.str("algorithm", &key.algorithm);
        if (!key.algorithm.empty() && key.algorithm != "rsa" && key.algorithm != "ed25519")
          fail(k.key("algorithm"), *k.get("algorithm"), "must be \"rsa\" or \"ed25519\"");
        dom.keys.push_back(std::move(key));
      });
      if (dom.keys.empty()) fail(d.key("keys"), *kn, "at least one key");
      for (const auto& other : c.domains)
        if (other.domain == dom.domain) fail(d.key("domain"), *d.get("domain"), "listed twice: " + dom.domain);
      c.domains.push_back(std::move(dom));
    });
  }
}

}  // namespace core::config_detail
