// transports/email_dkim.cpp: DKIM signing of the email transport's jobs,
// on the signing pool (see email_job.h, dkim/signing_table.h).
#include <atomic>
#include <chrono>
#include <unordered_map>

#include "core/log.h"
#include "core/metrics.h"
#include "mta/smtp_client.h"
#include "templating/mime.h"
#include "transports/email_job.h"

namespace transports::email_detail {
namespace {

struct DkimMetrics {
  core::metrics::Counter* signed_;
  core::metrics::Counter* held;
  core::metrics::Counter* unsigned_;
  static const DkimMetrics& get() {
    static const DkimMetrics m = [] {
      auto& r = core::metrics::Registry::global();
      return DkimMetrics{
          r.counter("vestnik_dkim_signed_total", "Email messages DKIM-signed (a dual-signed message counts once)."),
          r.counter("vestnik_dkim_held_total",
                    "Delivery attempts deferred because a domain that requires DKIM could not sign "
                    "(unusable key, signing failure); see the log for the reason."),
          r.counter("vestnik_dkim_unsigned_total",
                    "Messages sent unsigned because their domain's key was unusable and the domain "
                    "does not require signing.")};
    }();
    return m;
  }
};

}  // namespace

std::string from_domain_of(const core::MessageRecord& r) {
  const std::string& from = r.request.from.email;
  size_t at = from.rfind('@');
  if (at == std::string::npos) return {};
  if (!mta::has_8bit(std::string_view(from).substr(at + 1))) return lower_ascii(std::string_view(from).substr(at + 1));
  const std::string a = a_label_address(from);
  return lower_ascii(std::string_view(a).substr(a.rfind('@') + 1));
}

void sign_jobs(const dkim::SigningTable& table, std::vector<Job>& jobs) {
  const DkimMetrics& metrics = DkimMetrics::get();
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<Job> kept;
  kept.reserve(jobs.size());
  struct Signed {
    std::string data;
    bool eight_bit;
  };
  std::unordered_map<const void*, Signed> signed_content;  // injected content -> its signed copy
  for (Job& j : jobs) {
    const dkim::SigningTable::Domain* d = j.dkim;
    j.dkim = nullptr;
    if (!d) {
      kept.push_back(std::move(j));
      continue;
    }
    core::Error problem = d->error;
    if (d->usable()) {
      auto it = j.groupable ? signed_content.find(j.data.data()) : signed_content.end();
      if (it != signed_content.end()) {
        j.owned = it->second.data;
        j.data = j.owned;
        j.eight_bit = it->second.eight_bit;
        metrics.signed_->inc();
        kept.push_back(std::move(j));
        continue;
      }
      std::string normalized;
      std::string_view msg = j.data;
      // Composed mail is CRLF by construction; injected mail may not be.
      if (j.groupable && dkim::needs_normalization(msg)) {
        dkim::normalize_line_ends(msg, normalized);
        msg = normalized;
      }
      // 8-bit bodies go quoted-printable before signing, so the signed
      // bytes reach a peer without 8BITMIME unchanged (RFC 6152; a relay
      // converting them later would break the signature).
      if (j.eight_bit) {
        std::string seven;
        if (templating::downgrade_8bit_body(msg, seven)) {
          normalized = std::move(seven);
          msg = normalized;
          j.eight_bit = mta::has_8bit(msg);
        }
      }
      auto fields = table.sign(*d, msg, now);
      if (fields) {
        std::string out;
        out.reserve(fields->size() + msg.size());
        out.append(*fields).append(msg);
        if (j.groupable) signed_content.emplace(j.data.data(), Signed{out, j.eight_bit});
        metrics.signed_->inc();
        j.owned = std::move(out);
        j.data = j.owned;
        kept.push_back(std::move(j));
        continue;
      }
      problem = fields.error();
    }
    if (!d->required) {
      // Once a minute at most: a broken key would otherwise log per message.
      static std::atomic<int64_t> last_warned{0};
      int64_t prev = last_warned.load();
      if (now - prev >= 60 && last_warned.compare_exchange_strong(prev, now)) {
        core::log::warn("dkim: sending unsigned (the domain does not require signing)",
                        {{"domain", d->domain}, {"error", problem.to_string()}});
      }
      metrics.unsigned_->inc();
      kept.push_back(std::move(j));
      continue;
    }
    metrics.held->inc();
    // Local configuration, not the message or the peer: retried on the
    // retry schedule, so fixing the key and sending SIGHUP saves it.
    Outcome o;
    o.kind = OutcomeKind::kTransient;
    o.blames_message = true;
    o.reply = mta::local_reply("4.3.5", "DKIM signing required for " + d->domain + " failed: " + problem.to_string());
    j.batch->settle(j.index, std::move(o));
  }
  jobs = std::move(kept);
}


}  // namespace transports::email_detail
