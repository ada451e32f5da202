// transports/email.cpp: see email.h.
//
// Shape of the work: send() groups a batch by recipient domain and asks the
// resolver; the answer (on an executor thread, never the engine's strand)
// composes the messages and queues one job per recipient at the domain's
// site. Sessions are coroutines, one strand each, that take jobs from their
// site's queue until it stays empty for idle_timeout or they reach
// max_messages_per_connection. A site's queue, session count and idle list
// sit under the site's mutex; nothing is held across an await.
#include "transports/email.h"
#include "transports/email_job.h"

#include <openssl/ssl.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <fmt/format.h>
#include <mutex>
#include <unordered_map>

#include "core/log.h"
#include "dkim/signing_table.h"
#include "mta/dns.h"
#include "mta/smtp_client.h"
#include "templating/render.h"
#include "templating/token.h"

namespace transports {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using email_detail::a_label_address;
using email_detail::lower_ascii;
using email_detail::BatchState;
using email_detail::Job;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr uint8_t kMaxRequeues = 3;
constexpr size_t kGroupScan = 1000;  // queue entries examined for recipients sharing content
constexpr size_t kJobsPerNewSession = 16;
// A site whose shared throttle group is at its connection limit elsewhere
// looks again this often.
constexpr std::chrono::milliseconds kLimitRecheck{250};
constexpr auto kBrokenTlsMemory = std::chrono::hours(1);

struct Idle {
  explicit Idle(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;  // touched only on its session's strand
};

struct Site {
  std::string key;
  core::TlsMode tls = core::TlsMode::kOpportunistic;
  std::mutex mu;
  std::vector<mta::Target> targets;  // GUARDED_BY(mu)
  std::deque<Job> queue;             // GUARDED_BY(mu)
  uint32_t sessions = 0;             // GUARDED_BY(mu): running session coroutines
  std::vector<std::shared_ptr<Idle>> idle;  // GUARDED_BY(mu)
  std::chrono::steady_clock::time_point plain_until{};  // GUARDED_BY(mu): TLS broken here
  // The throttle group's connection limits (transports/shaping.h); null:
  // smtp.max_connections and max_messages_per_connection. One rule per
  // site: a shared group's key or another group's rule is part of the site
  // key, so domains of one rule that share MX hosts share sessions.
  std::shared_ptr<ConnectionShaper> shaper;
  bool retry_armed = false;  // GUARDED_BY(mu): a timer will kick this site
};

bool domain_matches(std::string_view pattern, std::string_view domain) {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern[0] == '.')
    return domain.size() > pattern.size() && domain.ends_with(pattern);
  return pattern == domain;
}

// local@domain with the domain in its ASCII (A-label) form; whether the
// local part needs SMTPUTF8.
std::string ascii_address(std::string_view address, bool* utf8) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) {
    *utf8 = mta::has_8bit(address);
    return std::string(address);
  }
  std::string_view local = address.substr(0, at);
  std::string_view domain = address.substr(at + 1);
  *utf8 = mta::has_8bit(local);
  auto ascii = mta::to_ascii_domain(domain);
  return fmt::format("{}@{}", local, ascii ? *ascii : std::string(domain));
}

bool too_many_recipients(const mta::RecipientResult& r) {
  if (r.stage != mta::Stage::kRcpt) return false;
  if (r.reply.code == 452) return true;
  if (r.reply.code != 552) return false;
  if (r.reply.enhanced == "5.5.3") return true;
  return lower_ascii(r.reply.text).find("too many recipients") != std::string::npos;
}

Outcome outcome_for(const mta::RecipientResult& r, const std::shared_ptr<const PeerInfo>& peer) {
  Outcome o;
  o.reply = r.reply;
  o.peer = peer;
  const uint16_t code = r.reply.code;
  if (code >= 200 && code < 300) {
    o.kind = OutcomeKind::kDelivered;
  } else if (code >= 500 && code < 600 && !too_many_recipients(r)) {
    o.kind = OutcomeKind::kPermanent;
    o.blames_message = true;
  } else {
    o.kind = OutcomeKind::kTransient;
    // A 4xx about this recipient or this content is about the message; a
    // 421, a refused MAIL (our IP, our rate) or a lost connection is about
    // the peer.
    o.blames_message = code != 421 && code != 0 &&
                       (r.stage == mta::Stage::kRcpt || r.stage == mta::Stage::kDataEnd);
  }
  return o;
}

Outcome dns_outcome(const mta::MxAnswer& a, std::string_view domain) {
  Outcome o;
  switch (a.kind) {
    case mta::MxKind::kNullMx:
      o.kind = OutcomeKind::kPermanent;
      o.reply = {556, "5.1.10", fmt::format("{} accepts no mail (null MX)", domain)};
      break;
    case mta::MxKind::kNxDomain:
      o.kind = OutcomeKind::kPermanent;
      o.reply = {550, "5.1.2", fmt::format("{}: {}", domain, a.error.empty() ? "no such domain" : a.error)};
      break;
    default:
      o.kind = OutcomeKind::kTransient;
      o.blames_message = false;
      o.reply = {0, "4.4.3", fmt::format("DNS lookup for {} failed: {}", domain, a.error)};
      break;
  }
  return o;
}

}  // namespace

// The address with its domain in A-labels when the domain is an IDN and
// the local part is ASCII (ivan@школа.test -> ivan@xn--80atdl2c.test):
// the same mailbox, writable in plain RFC 5322 headers and sent without
// SMTPUTF8. Anything else is returned unchanged.
std::string email_detail::lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

std::string email_detail::a_label_address(const std::string& address) {
  const size_t at = address.rfind('@');
  if (at == std::string::npos || !mta::has_8bit(address) ||
      mta::has_8bit(std::string_view(address).substr(0, at)))
    return address;
  auto ascii = mta::to_ascii_domain(std::string_view(address).substr(at + 1));
  return ascii ? address.substr(0, at + 1) + *ascii : address;
}

std::string return_path(std::string_view format, const core::MessageRecord& record,
                        std::string_view token_key) {
  const std::string& from = record.request.from.email;
  if (format.empty()) return from;
  std::string out;
  out.reserve(format.size() + 64);
  size_t at = from.rfind('@');
  std::string_view from_domain = at == std::string::npos ? std::string_view{} : std::string_view(from).substr(at + 1);
  for (size_t i = 0; i < format.size();) {
    if (format.compare(i, 7, "{token}") == 0) {
      out += templating::seal_id_token(token_key, kReturnPathTokenKind, record.id);
      i += 7;
    } else if (format.compare(i, 8, "{domain}") == 0) {
      out += from_domain;
      i += 8;
    } else if (format.compare(i, 8, "{tenant}") == 0) {
      out += record.tenant;
      i += 8;
    } else {
      out.push_back(format[i++]);
    }
  }
  return out;
}

struct EmailTransport::Impl : std::enable_shared_from_this<Impl> {
  Impl(std::shared_ptr<const core::Config> cfg, std::shared_ptr<mta::Resolver> r,
       asio::any_io_executor e, std::string key)
      : config(std::move(cfg)),
        smtp(config->smtp),
        resolver(std::move(r)),
        ex(std::move(e)),
        token_key(std::move(key)),
        opportunistic(asio::ssl::context::tls_client),
        verifying(asio::ssl::context::tls_client) {}

  std::shared_ptr<const core::Config> config;
  const core::SmtpConfig& smtp;
  std::shared_ptr<mta::Resolver> resolver;
  asio::any_io_executor ex;
  std::string token_key;
  std::string ehlo_name;
  // The egress pool ([[smtp.sources]]); empty: the OS picks.
  struct Source {
    asio::ip::address address;
    std::string ehlo_name;
    uint32_t max_connections = 0;  // 0: no own limit
    std::atomic<uint32_t> open{0};
  };
  std::vector<std::unique_ptr<Source>> sources;
  std::atomic<size_t> next_source{0};

  // The next source in turn with a free connection (counted open), or null
  // when every one is at its limit. REQUIRES: sources not empty.
  Source* take_source() {
    const size_t n = sources.size();
    const size_t start = next_source.fetch_add(1);
    for (size_t i = 0; i < n; ++i) {
      Source& src = *sources[(start + i) % n];
      uint32_t open = src.open.load();
      while (src.max_connections == 0 || open < src.max_connections) {
        if (src.open.compare_exchange_weak(open, open + 1)) return &src;
      }
    }
    return nullptr;
  }
  asio::ssl::context opportunistic;
  asio::ssl::context verifying;

  // DKIM ([dkim]): the table in use (replaced on SIGHUP) and where
  // signing runs, off the I/O threads. Null table: nothing is signed.
  mutable std::mutex dkim_mu;
  std::shared_ptr<const dkim::SigningTable> dkim_table;  // GUARDED_BY(dkim_mu)
  asio::any_io_executor dkim_executor;                   // GUARDED_BY(dkim_mu)

  mutable std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<Site>> sites;  // GUARDED_BY(mu)
  std::atomic<bool> stopping{false};
  std::atomic<size_t> open_sessions{0};

  core::TlsMode tls_for(std::string_view domain) const {
    for (const auto& p : smtp.tls_policies)
      if (domain_matches(p.domain, domain)) return p.mode;
    return smtp.tls;
  }

  void send(std::vector<Delivery> batch, SendDone done) {
    if (batch.empty()) {
      done({});
      return;
    }
    auto state = std::make_shared<BatchState>();
    state->outcomes.resize(batch.size());
    state->remaining.store(batch.size());
    state->done = std::move(done);
    state->deliveries = std::move(batch);
    // Usually one domain (the destination is the domain); group anyway.
    std::vector<std::pair<std::string, std::vector<size_t>>> by_domain;
    for (size_t i = 0; i < state->deliveries.size(); ++i) {
      const std::string& to = state->deliveries[i].record->request.to.email;
      size_t at = to.rfind('@');
      std::string domain = lower_ascii(at == std::string::npos ? std::string_view{} : std::string_view(to).substr(at + 1));
      auto it = std::find_if(by_domain.begin(), by_domain.end(), [&](auto& p) { return p.first == domain; });
      if (it == by_domain.end()) {
        by_domain.emplace_back(std::move(domain), std::vector<size_t>{i});
      } else {
        it->second.push_back(i);
      }
    }
    for (auto& [domain, idx] : by_domain) {
      if (domain.empty()) {
        for (size_t i : idx) {
          Outcome o;
          o.kind = OutcomeKind::kPermanent;
          o.reply = {0, "5.1.3", "recipient address has no domain"};
          state->settle(i, std::move(o));
        }
        continue;
      }
      resolver->resolve_mx(domain, [self = shared_from_this(), state, domain, idx = std::move(idx)](
                                       mta::MxAnswer a) mutable {
        self->on_mx(std::move(a), state, domain, idx);
      });
    }
  }

  void on_mx(mta::MxAnswer a, const std::shared_ptr<BatchState>& state, const std::string& domain,
             const std::vector<size_t>& idx) {
    if (a.kind != mta::MxKind::kOk) {
      Outcome o = dns_outcome(a, domain);
      for (size_t i : idx) state->settle(i, o);
      return;
    }
    const core::TlsMode tls = tls_for(a.domain.empty() ? domain : a.domain);
    std::vector<mta::Target> targets;
    std::vector<std::string> names;
    for (const auto& h : a.hosts) {
      mta::Target t;
      t.host = h.name;
      const uint16_t port = h.port ? h.port : smtp.port;
      for (const auto& addr : h.addresses) t.endpoints.emplace_back(addr, port);
      names.push_back(fmt::format("{}:{}", h.name, port));
      targets.push_back(std::move(t));
    }
    std::sort(names.begin(), names.end());
    // The throttle rule is part of the site: its connection limits apply
    // to the site's sessions (a shared group counts across its sites).
    std::shared_ptr<ConnectionShaper> shaper;
    for (size_t i : idx)
      if (state->deliveries[i].shaping) shaper = state->deliveries[i].shaping;
    std::string key = fmt::format("{}|{}|", static_cast<int>(tls),
                                  !shaper ? std::string() : shaper->shared() ? shaper->name() : shaper->rule());
    for (const auto& n : names) key += n + ",";

    std::vector<Job> jobs;
    jobs.reserve(idx.size());
    for (size_t i : idx) {
      const Delivery& d = state->deliveries[i];
      Job j;
      j.batch = state;
      j.index = i;
      bool utf8_from = false, utf8_to = false;
      // Injected mail with the null sender (a DSN relayed through us) keeps
      // it: mail about mail must never bounce back (RFC 5321 4.5.5).
      const bool null_sender = !d.content->raw.empty() && d.record->request.from.email.empty();
      j.mail_from = null_sender ? std::string()
                                : ascii_address(return_path(smtp.return_path, *d.record, token_key), &utf8_from);
      j.rcpt = ascii_address(d.record->request.to.email, &utf8_to);
      j.smtputf8 = utf8_from || utf8_to;
      if (!d.content->raw.empty()) {
        j.data = d.content->raw;
        j.content_id = d.record->content_id;
        j.groupable = true;
        j.eight_bit = mta::has_8bit(j.data);
      } else if (d.rendered == nullptr) {
        Outcome o;
        o.kind = OutcomeKind::kPermanent;
        o.reply = {0, "5.6.0", "nothing to send: the message was not rendered"};
        state->settle(i, std::move(o));
        continue;
      } else {
        // IDN domains go into the headers as A-labels (rare: copy only then).
        const core::MessageRecord* record = d.record;
        std::optional<core::MessageRecord> a_labels;
        if (mta::has_8bit(record->request.to.email) || mta::has_8bit(record->request.from.email)) {
          a_labels = *record;
          a_labels->request.to.email = a_label_address(record->request.to.email);
          a_labels->request.from.email = a_label_address(record->request.from.email);
          record = &*a_labels;
        }
        core::Status st = templating::compose_email(*d.rendered, *record, config->email, token_key, j.owned);
        if (!st) {
          Outcome o;
          o.kind = OutcomeKind::kPermanent;
          o.reply = {0, "5.6.0", "cannot compose the message: " + st.error().to_string()};
          state->settle(i, std::move(o));
          continue;
        }
        j.data = j.owned;
      }
      jobs.push_back(std::move(j));
    }
    if (jobs.empty()) return;
    std::shared_ptr<const dkim::SigningTable> table;
    asio::any_io_executor signing;
    {
      std::lock_guard lock(dkim_mu);
      table = dkim_table;
      signing = dkim_executor;
    }
    bool sign = false;
    if (table) {
      for (Job& j : jobs) {
        if (j.groupable && !table->sign_injected()) continue;
        // Injected mail: the domain of its From field; composed mail: of
        // the sender address it was composed with (A-labels).
        std::string from = j.groupable ? dkim::from_domain(j.data) : email_detail::from_domain_of(*state->deliveries[j.index].record);
        j.dkim = from.empty() ? nullptr : table->find(from);
        sign = sign || j.dkim != nullptr;
      }
    }
    if (!sign) {
      enqueue(std::move(key), tls, std::move(shaper), std::move(targets), std::move(jobs));
      return;
    }
    // RSA signing costs about a millisecond a message: never on an I/O thread.
    asio::post(signing, [self = shared_from_this(), table, key = std::move(key), tls, shaper = std::move(shaper),
                         targets = std::move(targets), jobs = std::move(jobs)]() mutable {
      email_detail::sign_jobs(*table, jobs);
      if (!jobs.empty()) self->enqueue(std::move(key), tls, std::move(shaper), std::move(targets), std::move(jobs));
    });
  }

  void enqueue(std::string key, core::TlsMode tls, std::shared_ptr<ConnectionShaper> shaper,
               std::vector<mta::Target> targets, std::vector<Job> jobs) {
    if (stopping.load()) {
      Outcome o;
      o.kind = OutcomeKind::kTransient;
      o.blames_message = false;
      o.reply = mta::local_reply("4.3.2", "shutting down");
      for (Job& j : jobs) j.batch->settle(j.index, o);
      return;
    }
    std::shared_ptr<Site> site;
    {
      std::lock_guard lock(mu);
      auto& slot = sites[key];
      if (!slot) {
        slot = std::make_shared<Site>();
        slot->key = key;
        slot->tls = tls;
        slot->shaper = std::move(shaper);
      }
      site = slot;
    }
    size_t spawn = 0;
    {
      std::lock_guard lock(site->mu);
      site->targets = std::move(targets);
      for (auto& j : jobs) site->queue.push_back(std::move(j));
      spawn = kick(site);
    }
    for (size_t i = 0; i < spawn; ++i) spawn_session(site);
  }

  // Wakes idle sessions for the queued work and says how many new sessions
  // to start (each counted open with the site's throttle group). When the
  // group allows none and no session serves the site, a timer kicks it
  // again. REQUIRES: site.mu held.
  size_t kick(const std::shared_ptr<Site>& sp) {
    Site& site = *sp;
    size_t woken = 0;
    while (!site.idle.empty() && woken < site.queue.size()) {
      std::shared_ptr<Idle> idle = std::move(site.idle.back());
      site.idle.pop_back();
      asio::post(idle->timer.get_executor(), [idle] { idle->timer.cancel(); });
      ++woken;
    }
    size_t backlog = site.queue.size() > woken ? site.queue.size() - woken : 0;
    if (backlog == 0) return 0;
    size_t want = std::max<size_t>(1, (backlog + kJobsPerNewSession - 1) / kJobsPerNewSession);
    if (!site.shaper || !site.shaper->shared()) {
      const uint32_t limit = site.shaper ? site.shaper->max_connections() : smtp.max_connections;
      if (site.sessions >= limit) return 0;
      size_t n = std::min<size_t>(want, limit - site.sessions);
      site.sessions += static_cast<uint32_t>(n);
      return n;
    }
    size_t n = 0;
    core::Duration retry_in{0};
    const core::TimePoint now = core::SystemClock::instance().now();
    while (n < want && site.shaper->try_open(now, &retry_in)) ++n;
    site.sessions += static_cast<uint32_t>(n);
    if (site.sessions == 0 && !site.retry_armed) {
      // Nobody serves this site: ask again when the connection rate allows
      // (retry_in), or soon when the group is at its limit elsewhere.
      arm_retry(sp, retry_in.count() > 0 ? retry_in : core::Duration(kLimitRecheck));
    }
    return n;
  }

  // Kicks the site again after `delay`. REQUIRES: site.mu held.
  void arm_retry(const std::shared_ptr<Site>& sp, core::Duration delay) {
    sp->retry_armed = true;
    auto timer = std::make_shared<asio::steady_timer>(ex);
    timer->expires_after(delay);
    timer->async_wait([self = shared_from_this(), sp, timer](boost::system::error_code) {
      size_t spawn = 0;
      {
        std::lock_guard lock(sp->mu);
        sp->retry_armed = false;
        if (!sp->queue.empty() && !self->is_stopping()) spawn = self->kick(sp);
      }
      for (size_t i = 0; i < spawn; ++i) self->spawn_session(sp);
    });
  }

  // A session kick() counted could not start (every source address at its
  // limit): give its slot back and look again soon if nobody serves the site.
  void give_back(const std::shared_ptr<Site>& sp) {
    std::lock_guard lock(sp->mu);
    --sp->sessions;
    release_connection(*sp);
    if (sp->sessions == 0 && !sp->queue.empty() && !sp->retry_armed && !is_stopping())
      arm_retry(sp, core::Duration(kLimitRecheck));
  }

  // A session counted by kick() ended (or never opened).
  static void release_connection(Site& site) {
    if (site.shaper && site.shaper->shared()) site.shaper->closed();
  }

  uint32_t messages_per_connection(const Site& site) const {
    return site.shaper ? site.shaper->messages_per_connection() : smtp.max_messages_per_connection;
  }

  void spawn_session(const std::shared_ptr<Site>& site) {
    auto strand = asio::make_strand(ex);
    asio::co_spawn(strand, run_session(shared_from_this(), site, strand), asio::detached);
  }

  // A group of jobs for one transaction. REQUIRES: site.mu held, queue not empty.
  std::vector<Job> pop_group(Site& site) {
    std::vector<Job> group;
    group.push_back(std::move(site.queue.front()));
    site.queue.pop_front();
    const Job& first = group.front();
    if (first.groupable && smtp.max_recipients_per_transaction > 1) {
      size_t scanned = 0;
      for (auto it = site.queue.begin(); it != site.queue.end() && scanned < kGroupScan &&
                                         group.size() < smtp.max_recipients_per_transaction;
           ++scanned) {
        if (it->groupable && it->content_id == first.content_id && it->mail_from == first.mail_from) {
          group.push_back(std::move(*it));
          it = site.queue.erase(it);
        } else {
          ++it;
        }
      }
    }
    return group;
  }

  static asio::awaitable<std::vector<Job>> take_work(std::shared_ptr<Impl> self, std::shared_ptr<Site> site,
                                                     asio::any_io_executor strand) {
    for (;;) {
      std::shared_ptr<Idle> idle;
      {
        std::lock_guard lock(site->mu);
        if (!site->queue.empty()) co_return self->pop_group(*site);
        if (self->is_stopping()) co_return std::vector<Job>{};
        idle = std::make_shared<Idle>(strand);
        site->idle.push_back(idle);
      }
      idle->timer.expires_after(self->smtp.idle_timeout);
      auto [ec] = co_await idle->timer.async_wait(kTuple);
      std::lock_guard lock(site->mu);
      auto it = std::find(site->idle.begin(), site->idle.end(), idle);
      if (it != site->idle.end()) site->idle.erase(it);
      if (!site->queue.empty() && !self->is_stopping()) co_return self->pop_group(*site);
      if (!ec || self->is_stopping()) co_return std::vector<Job>{};
      // Woken, but another session took the work first: wait again.
    }
  }

  bool is_stopping() const { return stopping.load(); }

  // The next transaction's jobs if the site has work queued now; never
  // waits.
  std::vector<Job> try_take_work(Site& site) {
    std::lock_guard lock(site.mu);
    if (site.queue.empty() || is_stopping()) return {};
    return pop_group(site);
  }

  // Answers the jobs of one transaction with its result. Recipients refused
  // only for "too many recipients" while others were accepted go back to
  // the front of the site's queue for another transaction.
  static void settle(Site& site, std::vector<Job>& jobs, const mta::TransactionResult& res,
                     const std::shared_ptr<PeerInfo>& peer) {
    bool any_accepted = false;
    size_t past_rcpt = 0;  // recipients whose fate the end of data decided
    for (const auto& r : res.recipients) {
      any_accepted = any_accepted || r.stage == mta::Stage::kDataEnd;
      if (r.stage == mta::Stage::kData || r.stage == mta::Stage::kDataEnd) ++past_rcpt;
    }
    std::vector<Job> again;
    for (size_t i = 0; i < jobs.size(); ++i) {
      const mta::RecipientResult& r = res.recipients[i];
      if (too_many_recipients(r) && any_accepted && jobs[i].requeued < kMaxRequeues) {
        ++jobs[i].requeued;
        again.push_back(std::move(jobs[i]));
        continue;
      }
      Outcome o = outcome_for(r, peer);
      o.recipient_specific = r.stage == mta::Stage::kRcpt ||
                             ((r.stage == mta::Stage::kData || r.stage == mta::Stage::kDataEnd) &&
                              past_rcpt == 1);
      jobs[i].batch->settle(jobs[i].index, std::move(o));
    }
    if (!again.empty()) {
      std::lock_guard lock(site.mu);
      for (auto it = again.rbegin(); it != again.rend(); ++it) site.queue.push_front(std::move(*it));
    }
  }

  static asio::awaitable<void> run_session(std::shared_ptr<Impl> self, std::shared_ptr<Site> site,
                                           asio::any_io_executor strand) {
    std::vector<mta::Target> targets;
    bool allow_tls = true;
    {
      std::lock_guard lock(site->mu);
      targets = site->targets;
      allow_tls = std::chrono::steady_clock::now() >= site->plain_until;
    }
    mta::SessionOptions opts;
    opts.ehlo_name = self->ehlo_name;
    // An egress source: its address and its own EHLO name.
    Source* source = nullptr;
    if (!self->sources.empty()) {
      source = self->take_source();
      if (source == nullptr) {
        self->give_back(site);
        co_return;
      }
      opts.source = source->address;
      if (!source->ehlo_name.empty()) opts.ehlo_name = source->ehlo_name;
    }
    // Gives the source's connection back however the session ends.
    struct SourceGuard {
      Source* s;
      ~SourceGuard() {
        if (s) s->open.fetch_sub(1);
      }
    } source_guard{source};
    opts.tls = site->tls;
    opts.opportunistic = &self->opportunistic;
    opts.verifying = &self->verifying;
    opts.config = &self->smtp;

    std::unique_ptr<mta::SmtpSession> session;
    mta::OpenFailure last;
    last.reply = mta::local_reply("4.4.1", "no host to connect to");
    for (const mta::Target& target : targets) {
      if (self->is_stopping()) break;
      auto opened = co_await mta::SmtpSession::open(strand, target, opts, allow_tls);
      if (!opened.session && opened.failure.tls_failed && allow_tls &&
          site->tls == core::TlsMode::kOpportunistic) {
        // Opportunistic TLS failed: this peer gets plain text for a while.
        core::log::warn("STARTTLS failed; retrying in plain text",
                        {{"host", target.host}, {"reply", reply_line(opened.failure.reply)}});
        {
          std::lock_guard lock(site->mu);
          site->plain_until = std::chrono::steady_clock::now() + kBrokenTlsMemory;
        }
        allow_tls = false;
        opened = co_await mta::SmtpSession::open(strand, target, opts, false);
      }
      if (opened.session) {
        session = std::move(opened.session);
        break;
      }
      last = opened.failure;
    }
    if (!session) {
      self->open_failed(*site, last);
      co_return;
    }
    self->open_sessions.fetch_add(1);
    auto peer = std::make_shared<PeerInfo>();
    {
      const mta::SessionInfo& in = session->info();
      peer->host = in.host;
      peer->ip = in.ip;
      peer->source_ip = in.source_ip;
      peer->tls = in.tls_version;
      peer->tls_cipher = in.tls_cipher;
    }
    std::vector<std::string> rcpts;
    uint32_t messages = 0;
    const uint32_t max_messages = self->messages_per_connection(*site);
    // The jobs of the transaction whose content the session holds back
    // until the next transaction's commands (SmtpSession::send_pipelined).
    std::vector<Job> staged;
    while (session->usable() && messages < max_messages) {
      std::vector<Job> jobs;
      if (session->staged()) {
        // Pipeline only what is ready now: the peer waits for the content.
        jobs = self->try_take_work(*site);
        if (jobs.empty()) {
          std::optional<mta::TransactionResult> res = co_await session->flush();
          if (res) settle(*site, staged, *res, peer);
          staged.clear();
          continue;
        }
      } else {
        jobs = co_await take_work(self, site, strand);
        if (jobs.empty()) break;
      }
      rcpts.clear();
      bool utf8 = false;
      for (const Job& j : jobs) {
        rcpts.push_back(j.rcpt);
        utf8 = utf8 || j.smtputf8;
      }
      // ENVID (RFC 3461, sent only to peers offering DSN) names the
      // transaction's first message: recipients grouped into one
      // transaction share the content but each has a message id of its
      // own, so an echoed ENVID alone does not say which one a DSN is
      // about. The engine matches a DSN by the return path's VERP token
      // and by the ORCPT recipient too (the client sends ORCPT with each
      // RCPT to such peers).
      const std::string envid =
          jobs.front().batch->deliveries[jobs.front().index].record->id.to_string();
      mta::Transaction tx;
      tx.mail_from = jobs.front().mail_from;
      tx.rcpt_to = rcpts;
      tx.data = jobs.front().data;
      tx.eight_bit = jobs.front().eight_bit;
      tx.smtputf8 = utf8;
      tx.envid = envid;
      mta::SmtpSession::Sent sent = co_await session->send_pipelined(tx);
      ++messages;
      if (sent.previous) {
        settle(*site, staged, *sent.previous, peer);
        staged.clear();
      }
      if (sent.current) {
        settle(*site, jobs, *sent.current, peer);
      } else {
        staged = std::move(jobs);
      }
    }
    if (session->staged()) {
      std::optional<mta::TransactionResult> res = co_await session->flush();
      if (res) settle(*site, staged, *res, peer);
    }
    if (session->usable()) co_await session->quit();
    self->open_sessions.fetch_sub(1);
    self->session_ended(site);
  }

  // No session could be opened. If it was the site's only one, nobody will
  // serve its queue: answer it with the failure (transient; the engine
  // retries on its schedule).
  void open_failed(Site& site, const mta::OpenFailure& failure) {
    std::deque<Job> orphans;
    {
      std::lock_guard lock(site.mu);
      --site.sessions;
      release_connection(site);
      if (site.sessions == 0) orphans.swap(site.queue);
    }
    if (!orphans.empty()) {
      core::log::info("cannot open an SMTP session",
                      {{"site", site.key}, {"reply", reply_line(failure.reply)}, {"messages", orphans.size()}});
    }
    Outcome o;
    o.kind = OutcomeKind::kTransient;
    o.blames_message = false;
    o.reply = failure.reply;
    for (Job& j : orphans) j.batch->settle(j.index, o);
  }

  void session_ended(const std::shared_ptr<Site>& site) {
    size_t spawn = 0;
    {
      std::lock_guard lock(site->mu);
      --site->sessions;
      release_connection(*site);
      if (!site->queue.empty() && !is_stopping()) spawn = kick(site);
    }
    for (size_t i = 0; i < spawn; ++i) spawn_session(site);
  }

  void shutdown() {
    std::vector<std::shared_ptr<Site>> all;
    {
      std::lock_guard lock(mu);
      stopping.store(true);
      for (auto& [k, s] : sites) all.push_back(s);
    }
    Outcome o;
    o.kind = OutcomeKind::kTransient;
    o.blames_message = false;
    o.reply = mta::local_reply("4.3.2", "shutting down");
    for (auto& site : all) {
      std::deque<Job> orphans;
      {
        std::lock_guard lock(site->mu);
        orphans.swap(site->queue);
        for (auto& idle : site->idle) asio::post(idle->timer.get_executor(), [idle] { idle->timer.cancel(); });
        site->idle.clear();
      }
      for (Job& j : orphans) j.batch->settle(j.index, o);
    }
  }
};

core::Result<std::shared_ptr<EmailTransport>> EmailTransport::create(
    std::shared_ptr<const core::Config> config, std::shared_ptr<mta::Resolver> resolver,
    asio::any_io_executor executor, std::string token_key) {
  auto impl = std::make_shared<Impl>(config, std::move(resolver), std::move(executor), std::move(token_key));
  impl->ehlo_name = config->smtp.ehlo_name;
  if (impl->ehlo_name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0 && host[0]) impl->ehlo_name = host;
    else impl->ehlo_name = "localhost";
  }
  for (size_t i = 0; i < config->smtp.sources.size(); ++i) {
    const core::SmtpSource& src = config->smtp.sources[i];
    auto s = std::make_unique<Impl::Source>();
    boost::system::error_code aec;
    s->address = asio::ip::make_address(src.address, aec);
    if (aec) {
      return core::invalid_argument("smtp.sources[" + std::to_string(i) + "].address",
                                    "not an IP address: " + src.address);
    }
    s->ehlo_name = src.ehlo_name;
    s->max_connections = src.max_connections;
    impl->sources.push_back(std::move(s));
  }
  for (asio::ssl::context* ctx : {&impl->opportunistic, &impl->verifying}) {
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
  }
  impl->opportunistic.set_verify_mode(asio::ssl::verify_none);
  boost::system::error_code ec;
  if (config->smtp.ca_file.empty()) {
    impl->verifying.set_default_verify_paths(ec);
  } else {
    impl->verifying.load_verify_file(config->smtp.ca_file, ec);
  }
  if (ec) return core::invalid_argument("smtp.ca_file", "cannot load CA certificates: " + ec.message());
  impl->verifying.set_verify_mode(asio::ssl::verify_peer);
  return std::shared_ptr<EmailTransport>(new EmailTransport(std::move(impl)));
}

EmailTransport::EmailTransport(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
EmailTransport::~EmailTransport() { impl_->shutdown(); }

std::string EmailTransport::destination(const core::MessageRecord& record, core::Channel channel) const {
  return default_destination(channel, record.request.to.address_for(channel));
}

void EmailTransport::send(std::vector<Delivery> batch, SendDone done) {
  impl_->send(std::move(batch), std::move(done));
}

void EmailTransport::first_hop(std::string_view destination, std::function<void(std::string)> done) {
  const size_t colon = destination.find(':');
  const std::string domain = lower_ascii(colon == std::string_view::npos ? destination : destination.substr(colon + 1));
  if (domain.empty() || domain == "default") {
    done(std::string());
    return;
  }
  impl_->resolver->resolve_mx(domain, [done = std::move(done)](mta::MxAnswer a) {
    std::string host;
    if (a.kind == mta::MxKind::kOk && !a.hosts.empty()) {
      host = lower_ascii(a.hosts.front().name);
      if (!host.empty() && host.back() == '.') host.pop_back();
    }
    done(std::move(host));
  });
}

void EmailTransport::shutdown() { impl_->shutdown(); }

void EmailTransport::set_dkim(std::shared_ptr<const dkim::SigningTable> table, asio::any_io_executor signing) {
  std::lock_guard lock(impl_->dkim_mu);
  impl_->dkim_table = table && !table->domains().empty() ? std::move(table) : nullptr;
  impl_->dkim_executor = signing ? std::move(signing) : impl_->ex;
}

size_t EmailTransport::open_sessions() const { return impl_->open_sessions.load(); }

}  // namespace transports
