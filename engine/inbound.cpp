// engine/inbound.cpp: reports matched to messages and applied (inbound.h).
#include "engine/inbound.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/log.h"
#include "core/metrics.h"
#include "engine/feedback.h"
#include "engine/suppress.h"
#include "mta/bounce/classify.h"
#include "mta/report/report.h"
#include "templating/token.h"
#include "transports/email.h"
#include "transports/transport.h"

namespace engine {

namespace {

using Kind = queue::Feedback::Kind;
namespace report = mta::report;

struct InboundMetrics {
  core::metrics::Counter* received;
  core::metrics::Counter* matched;
  core::metrics::Counter* unmatched;
  core::metrics::Counter* failed;
  static const InboundMetrics& get() {
    static const InboundMetrics m = [] {
      auto& r = core::metrics::Registry::global();
      InboundMetrics x;
      x.received = r.counter("vestnik_inbound_reports_total",
                             "Reports (DSN, ARF, unsubscribe mail) the listener accepted");
      x.matched = r.counter("vestnik_inbound_matched_total",
                            "Reports tied to one of our messages or a valid unsubscribe token");
      x.unmatched = r.counter("vestnik_inbound_unmatched_total",
                              "Reports about nothing we sent (auto-replies, spam, forged ids)");
      x.failed = r.counter("vestnik_inbound_failed_total",
                           "Report processing that could not be stored (retried)");
      return x;
    }();
    return m;
  }
};

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The VERP token in `rcpt` under the return-path format
// ("bounce-{token}@bounces.example.com"), or empty.
std::string_view verp_token(std::string_view format, std::string_view rcpt) {
  const size_t t = format.find("{token}");
  const size_t at_f = format.rfind('@');
  const size_t at_r = rcpt.rfind('@');
  if (t == std::string_view::npos || at_f == std::string_view::npos || t > at_f ||
      at_r == std::string_view::npos) {
    return {};
  }
  const std::string_view prefix = format.substr(0, t);
  const std::string_view suffix = format.substr(t + 7, at_f - t - 7);
  const std::string_view local = rcpt.substr(0, at_r);
  if (prefix.find('{') != std::string_view::npos || suffix.find('{') != std::string_view::npos)
    return {};  // other placeholders in the local part: no fixed frame to cut
  if (local.size() <= prefix.size() + suffix.size() || !iequals(local.substr(0, prefix.size()), prefix) ||
      !iequals(local.substr(local.size() - suffix.size()), suffix)) {
    return {};
  }
  return local.substr(prefix.size(), local.size() - prefix.size() - suffix.size());
}

// "<01JF...@mail.example.com>" -> the id before '@'.
std::optional<core::Id> id_of_message_id(std::string_view mid) {
  if (!mid.empty() && mid.front() == '<') mid.remove_prefix(1);
  const size_t at = mid.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  return core::Id::parse(mid.substr(0, at));
}

std::optional<core::Id> parse_id(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '<')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '>')) s.remove_suffix(1);
  return core::Id::parse(s);
}

// "550 5.1.1 <a@b>... User unknown" with code 550 and status 5.1.1 -> the
// words after them, so the reply line does not repeat them.
std::string reply_text(std::string_view diagnostic, uint16_t code, std::string_view status) {
  std::string_view d = diagnostic;
  if (code != 0) {
    const std::string c = std::to_string(code);
    if (d.substr(0, c.size()) == c && (d.size() == c.size() || d[c.size()] == ' ' || d[c.size()] == '-')) {
      d.remove_prefix(std::min(d.size(), c.size() + 1));
    }
  }
  while (!d.empty() && d.front() == ' ') d.remove_prefix(1);
  if (!status.empty() && d.substr(0, status.size()) == status) {
    d.remove_prefix(status.size());
    while (!d.empty() && d.front() == ' ') d.remove_prefix(1);
  }
  return std::string(d.substr(0, 900));
}

// A code for a status alone ("5.1.1" -> 550, "4.2.2" -> 450), as a DSN
// without Diagnostic-Code leaves us.
uint16_t code_for(std::string_view status) {
  if (status.empty()) return 0;
  return status[0] == '5' ? 550 : status[0] == '4' ? 450 : 0;
}

// Whether `r` names `address`: its recipient statuses when it has any
// (a DSN says whom it is about), else the complaint's Original-Rcpt-To,
// else the quoted original's To / X-HmXmrOriginalRecipient.
bool names(const report::Report& r, std::string_view address) {
  if (!r.recipients.empty()) {
    for (const auto& rs : r.recipients) {
      if (iequals(rs.final_recipient, address) || iequals(rs.original_recipient, address)) return true;
    }
    return false;
  }
  if (!r.original_rcpt_to.empty()) {
    for (const auto& a : r.original_rcpt_to) {
      if (iequals(a, address)) return true;
    }
    return false;
  }
  return iequals(r.original.to, address) || iequals(r.original.hotmail_recipient, address);
}

bool names_anyone(const report::Report& r) {
  return !r.recipients.empty() || !r.original_rcpt_to.empty() || !r.original.to.empty() ||
         !r.original.hotmail_recipient.empty();
}

// The recipient status of `r` about `address` (or the first), if any.
const report::RecipientStatus* status_for(const report::Report& r, std::string_view address) {
  for (const auto& rs : r.recipients) {
    if (iequals(rs.final_recipient, address) || iequals(rs.original_recipient, address)) return &rs;
  }
  return r.recipients.empty() ? nullptr : &r.recipients.front();
}

void plan_unsubscribe(const queue::InboundReport& in, const report::Report& r,
                      const core::Config& config, core::TimePoint now, ReportPlan& plan) {
  plan.kind = "unsubscribe";
  // The mailto URI puts "unsubscribe <token>" in the subject; mail clients
  // may prefix it ("Re: ", "Fwd: ") but keep the words.
  std::string_view subject = r.subject;
  size_t end = subject.size();
  while (end > 0 && (subject[end - 1] == ' ' || subject[end - 1] == '\t')) --end;
  size_t start = end;
  while (start > 0 && subject[start - 1] != ' ' && subject[start - 1] != '\t') --start;
  auto token = open_unsubscribe_token(config.email.token_secret, subject.substr(start, end - start));
  if (!token) {
    plan.outcome = "mailto unsubscribe without a valid token in the subject (from " +
                   (r.from.empty() ? in.mail_from : r.from) + ")";
    return;
  }
  queue::Feedback f;
  f.kind = Kind::kSuppress;
  f.suppression.tenant = token->tenant;
  f.suppression.channel = token->channel;
  f.suppression.address = token->address;
  f.suppression.category = token->category;
  f.suppression.reason = core::SuppressionReason::kUnsubscribed;
  f.suppression.created_at = now;
  f.suppression.detail = "mailto";
  plan.feedback.push_back(std::move(f));
  plan.matched = true;
  plan.outcome = "unsubscribed " + token->address + " from " + token->category + " (" +
                 token->tenant + ", mailto)";
}

}  // namespace

ReportPlan plan_report(const queue::InboundReport& in, const core::Config& config,
                       const mta::bounce::Classifier& classifier, const MessageLookup& lookup,
                       core::TimePoint now) {
  ReportPlan plan;
  report::ReportOptions options;
  options.trace_header = config.email.trace_header;
  auto parsed = report::parse(in.data, options);
  if (!parsed) {
    plan.kind = "garbage";
    plan.outcome = "not a message: " + parsed.error().message;
    return plan;
  }
  const report::Report& r = *parsed;
  plan.kind = std::string(report::kind_name(r.kind));

  // 1. The envelope recipient: a mailto unsubscribe, or a VERP token.
  std::optional<core::Id> id;
  bool trusted = false;
  bool quoted_original = false;  // the id came from the quoted original
  const std::string mailto = config.email.unsubscribe_mailto;
  for (const std::string& rcpt : in.rcpt_to) {
    if (!mailto.empty() && iequals(rcpt, mailto) && r.kind != report::Kind::kDsn &&
        r.kind != report::Kind::kTextBounce && r.kind != report::Kind::kAutoReply) {
      plan_unsubscribe(in, r, config, now, plan);
      return plan;
    }
    const std::string_view token = verp_token(config.smtp.return_path, rcpt);
    if (token.empty()) continue;
    id = templating::open_id_token(config.email.token_secret, transports::kReturnPathTokenKind,
                                   token);
    if (id) {
      trusted = true;
      break;
    }
  }
  if (r.kind == report::Kind::kAutoReply || r.kind == report::Kind::kUnknown) {
    plan.outcome = r.kind == report::Kind::kAutoReply ? "auto-reply: not a bounce"
                                                     : "not a report we understand";
    return plan;
  }
  // 2-4. Ids the report quotes (not authenticated).
  if (!id && !r.envelope_id.empty()) id = parse_id(r.envelope_id);
  if (!id && !r.original.trace_id.empty()) {
    id = parse_id(r.original.trace_id);
    quoted_original = id.has_value();
  }
  if (!id && !r.original.message_id.empty()) {
    id = id_of_message_id(r.original.message_id);
    quoted_original = id.has_value();
  }
  if (!id) {
    plan.outcome = "names none of our messages";
    return plan;
  }
  std::optional<core::MessageRecord> record = lookup(*id);
  if (!record) {
    plan.outcome = "message " + id->to_string() + " is unknown (purged?)";
    return plan;
  }
  const std::string& address = record->request.to.email;
  if (!trusted && names_anyone(r) && !names(r, address)) {
    plan.outcome = "message " + id->to_string() + " found, but the report names another recipient";
    return plan;
  }
  if (!trusted && !names_anyone(r) && !quoted_original) {
    plan.outcome = "message " + id->to_string() + " named by ENVID alone, without a recipient";
    return plan;
  }
  if (address.empty()) {
    plan.outcome = "message " + id->to_string() + " has no email recipient";
    return plan;
  }
  plan.matched = true;
  const std::string via = trusted ? "VERP" : "quoted id";
  queue::Feedback f;
  f.id = record->id;

  if (r.kind == report::Kind::kComplaint || r.kind == report::Kind::kJmrp) {
    const std::string type = r.feedback_type.empty() ? "abuse" : r.feedback_type;
    if (type == "not-spam") {
      f.kind = Kind::kNote;
      f.detail = "feedback report: marked not spam";
      plan.feedback.push_back(std::move(f));
      plan.outcome = "not-spam report for " + record->id.to_string();
      return plan;
    }
    std::string who = !r.user_agent.empty() ? r.user_agent : !r.reporting_mta.empty() ? r.reporting_mta : r.from;
    f.kind = Kind::kComplained;
    f.detail = "complaint (" + type + ")" + (who.empty() ? std::string() : " from " + who);
    plan.feedback.push_back(f);
    queue::Feedback s;
    s.kind = Kind::kSuppress;
    s.suppression = suppression_of(*record, core::Channel::kEmail, core::kAnyCategory,
                                   core::SuppressionReason::kComplaint, f.detail, now);
    plan.feedback.push_back(std::move(s));
    plan.outcome = "complaint about " + record->id.to_string() + " (" + via + "); " + address +
                   " suppressed";
    return plan;
  }

  // A DSN or a text bounce.
  const report::RecipientStatus* rs = status_for(r, address);
  if (rs == nullptr) {
    plan.matched = false;
    plan.outcome = "bounce for " + record->id.to_string() + " without a recipient status";
    return plan;
  }
  core::Reply reply;
  reply.enhanced = rs->status;
  reply.code = rs->code != 0 ? rs->code : code_for(rs->status);
  reply.text = reply_text(rs->diagnostic, rs->code, rs->status);
  if (reply.text.empty()) reply.text = rs->action;
  const std::string line = transports::reply_line(reply);
  const std::string by = rs->remote_mta.empty() ? r.reporting_mta : rs->remote_mta;
  const std::string action = rs->action.empty() ? "failed" : rs->action;
  if (action != "failed") {
    f.kind = Kind::kNote;
    f.detail = "DSN " + action + ": " + line + (by.empty() ? std::string() : " (" + by + ")");
    plan.feedback.push_back(std::move(f));
    plan.outcome = "DSN " + action + " for " + record->id.to_string();
    return plan;
  }
  const mta::bounce::Category category = classifier.classify(reply.code, reply.enhanced, reply.text);
  const std::string category_name(mta::bounce::category_name(category));
  f.kind = Kind::kBounced;
  f.detail = "bounced after delivery: " + line + (by.empty() ? std::string() : " (" + by + ")");
  f.bounce = core::Bounce{category_name, reply};
  plan.feedback.push_back(std::move(f));
  if (auto s = suppression_for_refusal(*record, core::Channel::kEmail, reply, category_name,
                                       config.bounces, now)) {
    plan.feedback.push_back(std::move(*s));
  }
  plan.outcome = "bounce (" + category_name + ") for " + record->id.to_string() + " (" + via + ")";
  return plan;
}

// ---- the processor ----------------------------------------------------------

InboundProcessor::InboundProcessor(std::shared_ptr<const core::Config> config, queue::Spool& spool,
                                   const core::Clock& clock, boost::asio::any_io_executor executor,
                                   std::shared_ptr<const mta::bounce::Classifier> classifier)
    : config_(std::move(config)),
      spool_(spool),
      clock_(clock),
      executor_(std::move(executor)),
      classifier_(std::move(classifier)) {}

InboundProcessor::Stats InboundProcessor::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void InboundProcessor::receive(queue::InboundReport report,
                               std::function<void(core::Result<core::Id>)> done) {
  report.received_at = clock_.now();
  // One copy stays with us for processing once the report is durable (the
  // spool assigns the id), so nothing is read back from the store.
  auto kept = std::make_shared<queue::InboundReport>(report);
  queue::Feedback store;
  store.kind = Kind::kInboundStore;
  store.inbound = std::move(report);
  spool_.apply_feedback(
      {std::move(store)},
      [self = shared_from_this(), kept, done = std::move(done)](
          core::Result<std::vector<queue::FeedbackOutcome>> r) {
        if (!r || r->empty()) {
          done(r ? core::Result<core::Id>(core::make_error(core::Errc::kInternal, "no outcome"))
                 : core::Result<core::Id>(r.error()));
          return;
        }
        kept->id = r->front().id;
        {
          std::lock_guard lock(self->mu_);
          ++self->stats_.received;
        }
        InboundMetrics::get().received->inc();
        done(kept->id);
        // Off the spool's writer thread: parsing is CPU work.
        boost::asio::post(self->executor_, [self, kept] {
          std::vector<queue::InboundReport> one;
          one.push_back(std::move(*kept));
          self->process(std::move(one), 0);
        });
      });
}

void InboundProcessor::recover() {
  auto pending = spool_.pending_inbound(config_->inbound.batch);
  if (!pending) {
    core::log::error("inbound reports cannot be read", {{"error", pending.error().to_string()}});
    return;
  }
  if (pending->empty()) return;
  core::log::info("processing inbound reports left by the previous run",
                  {{"count", uint64_t{pending->size()}}});
  boost::asio::post(executor_, [self = shared_from_this(), reports = std::move(*pending)]() mutable {
    self->process(std::move(reports), 0);
  });
}

void InboundProcessor::process(std::vector<queue::InboundReport> reports, int attempt) {
  const core::TimePoint now = clock_.now();
  const MessageLookup lookup = [this](const core::Id& id) -> std::optional<core::MessageRecord> {
    auto v = spool_.get(id, false);
    if (!v || !*v) return std::nullopt;
    return std::move((*v)->record);
  };
  std::vector<queue::Feedback> items;
  uint64_t matched = 0, unmatched = 0;
  for (const queue::InboundReport& in : reports) {
    ReportPlan plan = plan_report(in, *config_, *classifier_, lookup, now);
    (plan.matched ? matched : unmatched) += 1;
    core::log::info("inbound report", {{"id", in.id.to_string()},
                                       {"kind", plan.kind},
                                       {"from", in.mail_from},
                                       {"client", in.client_ip},
                                       {"outcome", plan.outcome}});
    for (auto& f : plan.feedback) items.push_back(std::move(f));
    queue::Feedback done;
    done.kind = Kind::kInboundDone;
    done.id = in.id;
    items.push_back(std::move(done));
  }
  const size_t count = reports.size();
  spool_.apply_feedback(
      std::move(items),
      [self = shared_from_this(), reports = std::move(reports), attempt, matched, unmatched,
       count](core::Result<std::vector<queue::FeedbackOutcome>> r) mutable {
        if (r) {
          std::lock_guard lock(self->mu_);
          self->stats_.processed += count;
          self->stats_.matched += matched;
          self->stats_.unmatched += unmatched;
          InboundMetrics::get().matched->inc(matched);
          InboundMetrics::get().unmatched->inc(unmatched);
          return;
        }
        {
          std::lock_guard lock(self->mu_);
          ++self->stats_.failed;
        }
        InboundMetrics::get().failed->inc();
        core::log::error("inbound reports not applied; kept for a retry",
                         {{"count", uint64_t{count}}, {"error", r.error().to_string()}});
        // They stay stored: retried a few times now, else at the next start.
        if (attempt >= 4) return;
        auto timer = std::make_shared<boost::asio::steady_timer>(
            self->executor_, std::chrono::seconds(1) * (1 << attempt));
        timer->async_wait([self, timer, reports = std::move(reports),
                           attempt](boost::system::error_code ec) mutable {
          if (!ec) self->process(std::move(reports), attempt + 1);
        });
      });
}

}  // namespace engine
