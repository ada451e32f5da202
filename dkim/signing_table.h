// dkim/signing_table.h: which keys sign which mail, from [dkim] (core/config.h).
//
// Built once per configuration (at start, again on SIGHUP): every key file
// is read then, never per message. A domain whose key does not load stays
// in the table with its error, so its mail is held back ("required") or
// sent unsigned (not required) rather than the whole daemon refusing to
// start over one file; problems() lists them for the log.
//
// Thread-safety: immutable once built; share it with shared_ptr.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "dkim/dkim.h"

namespace dkim {

class SigningTable {
 public:
  struct Domain {
    std::string domain;   // the configured From domain (lowercase)
    std::string d;        // the signing domain (d=)
    bool required = true;
    std::vector<Signer> signers;  // one per key, in configured order
    core::Error error{core::Errc::kOk, {}, {}};  // set (code != kOk) when a key did not load
    bool usable() const noexcept { return error.code == core::Errc::kOk && !signers.empty(); }
  };

  // Errors (kInvalidArgument naming the dkim.* key): settings that would
  // make every signature wrong (headers without From, an unsignable
  // header, oversign not in headers), in [dkim] or in a domain's own
  // lists. Key files that do not load are not errors here; see
  // Domain::error.
  static core::Result<std::shared_ptr<const SigningTable>> build(const core::DkimConfig& config,
                                                                 std::string_view trace_header);

  // The entry for mail from `from_domain` (A-labels, any case): the
  // configured domain equal to it or, failing that, its closest parent.
  // nullptr: the domain is not signed.
  const Domain* find(std::string_view from_domain) const noexcept;

  // The DKIM-Signature fields for `message` (CRLF line ends), one per
  // signer, to be put above it in this order. The body hash is computed
  // once for all of them (one domain has one body canonicalization), or
  // taken from `body_hash` when the caller has it (an identical body sent
  // again).
  // REQUIRES: d.usable().
  core::Result<std::string> sign(const Domain& d, std::string_view message, int64_t now,
                                 std::string_view body_hash = {}) const;

  const std::vector<Domain>& domains() const noexcept { return domains_; }
  // One error per domain whose keys did not load.
  std::vector<core::Error> problems() const;
  bool sign_injected() const noexcept { return sign_injected_; }

 private:
  std::vector<Domain> domains_;
  bool sign_injected_ = true;
};

// The domain of the address in the message's From field (the last one, as
// verifiers pick it), lowercased; empty when there is none or it has no
// '@'. For mail injected as is.
std::string from_domain(std::string_view message);

}  // namespace dkim
