// mta/dns_resolver.cpp: the Resolver of dns.h — routes, cache, coalescing,
// and the MX -> addresses sequence on top of AresLoop (dns_ares.h).
//
// Why a resolver thread rather than c-ares sockets driven by asio: c-ares
// 1.18.1 channels are not thread-safe and have no event thread, so all
// channel calls must be serialised anyway; on a thread of its own that is
// free, and the socket lifetimes stay entirely inside c-ares (asio
// descriptors would have to be released before c-ares closes them, with fd
// reuse races in between). It also stays the same whichever backend asio is
// built with (epoll or io_uring, issue #4). The cost is one mostly idle
// thread: cached answers — the common case — never reach it, because the
// cache is checked on the caller's thread under a mutex.
//
// Who runs what:
//   caller thread: IDN conversion, route match, cache hit -> post `done`.
//   loop thread:   cache miss -> one job per name (coalescing), c-ares
//                  queries, guard timers, cache fill, post `done`.
//   executor:      every `done`.
#include <ares.h>
#include <fmt/format.h>

#include <atomic>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <mutex>
#include <unordered_map>
#include <variant>

#include "mta/dns.h"
#include "mta/dns_ares.h"
#include "mta/dns_cache.h"
#include "mta/dns_policy.h"
#include "mta/dns_wire.h"

namespace mta {

namespace {

namespace asio = boost::asio;
using dns_policy::Outcome;

constexpr std::string_view kShutDown = "resolver shut down";

// Calls a user's `done` once, on the executor. Holds outstanding work from
// the call until `done` has run, so the context does not run out of work
// while a lookup is in flight.
template <class A>
class Completion {
 public:
  Completion(const asio::any_io_executor& ex, std::function<void(A)> done)
      : work_(asio::prefer(ex, asio::execution::outstanding_work.tracked)),
        done_(std::move(done)) {}

  void operator()(A answer) {
    asio::any_io_executor work = std::move(work_);
    asio::post(work, [done = std::move(done_), answer = std::move(answer), work]() mutable {
      done(std::move(answer));
    });
  }

 private:
  asio::any_io_executor work_;
  std::function<void(A)> done_;
};

// User input goes into error texts (and on into DSNs and logs): printable
// ASCII only, bounded.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 100)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 100) out += "...";
  return out;
}

struct Query {
  Outcome outcome;
  bool shut_down = false;
};

// One c-ares completion as an Outcome. c-ares has already turned the rcode
// into the status (NXDOMAIN -> ENOTFOUND, NOERROR without answers ->
// ENODATA) and retried SERVFAIL/REFUSED on the other servers.
Query classify(int status, std::span<const uint8_t> answer, uint16_t type) {
  Query q;
  switch (status) {
    case ARES_SUCCESS: {
      auto message = dns_wire::parse_message(answer);
      if (!message) {
        q.outcome.kind = Outcome::Kind::kTempFail;
        q.outcome.error = message.error().message;
        return q;
      }
      q.outcome = dns_policy::outcome_from_message(std::move(*message), type);
      return q;
    }
    case ARES_ENODATA:
      q.outcome.kind = Outcome::Kind::kNoData;
      return q;
    case ARES_ENOTFOUND:
      q.outcome.kind = Outcome::Kind::kNxDomain;
      return q;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      q.shut_down = true;
      q.outcome.error = std::string(kShutDown);
      break;
    case ARES_ETIMEOUT:
      q.outcome.error = "timed out";
      break;
    case ARES_ESERVFAIL:
      q.outcome.error = "SERVFAIL";
      break;
    case ARES_ECONNREFUSED:
      // c-ares 1.18 skips a server that answers SERVFAIL or REFUSED (and
      // tries the others, which we want), but then reports only this.
      q.outcome.error = "no server gave an answer (SERVFAIL, REFUSED or unreachable)";
      break;
    case ARES_EREFUSED:
      q.outcome.error = "REFUSED";
      break;
    default:
      q.outcome.error = ares_strerror(status);
      break;
  }
  q.outcome.kind = Outcome::Kind::kTempFail;
  return q;
}

using CacheValue = std::variant<MxAnswer, HostAnswer>;

}  // namespace

struct Resolver::Impl {
  using HostCont = std::function<void(const HostAnswer&)>;

  struct MxJob {
    std::string domain;
    std::vector<Completion<MxAnswer>> waiters;
    bool finished = false;
    uint64_t guard = 0;
    core::TimePoint mx_expires{};
    std::vector<dns_policy::ResolvedMx> resolved;
    size_t pending = 0;
  };
  struct HostJob {
    std::string name;
    std::vector<HostCont> conts;
    bool finished = false;
    uint64_t guard = 0;
    std::optional<Query> a, aaaa;
  };

  core::DnsConfig config;
  ResolverOptions options;
  dns_policy::RouteTable routes;
  asio::any_io_executor executor;
  const core::Clock& clock;
  std::unique_ptr<AresLoop> loop;
  std::chrono::milliseconds host_guard{0};
  std::chrono::milliseconds mx_guard{0};

  std::mutex mu;
  DnsCache<CacheValue> cache;  // GUARDED_BY(mu)
  std::mt19937_64 rng;         // GUARDED_BY(mu)
  std::mutex shutdown_mu;      // serialises shutdown()
  std::atomic<bool> shut_down{false};
  std::atomic<uint64_t> queries{0}, cache_hits{0}, coalesced{0};

  // Loop thread only: lookups in flight, by name.
  std::unordered_map<std::string, std::shared_ptr<MxJob>> mx_jobs;
  std::unordered_map<std::string, std::shared_ptr<HostJob>> host_jobs;

  Impl(const core::DnsConfig& c, ResolverOptions o, dns_policy::RouteTable r,
       asio::any_io_executor ex, const core::Clock& clk, std::unique_ptr<AresLoop> l)
      : config(c),
        options(o),
        routes(std::move(r)),
        executor(std::move(ex)),
        clock(clk),
        loop(std::move(l)),
        cache(c.cache_entries),
        rng(o.shuffle_seed != 0 ? o.shuffle_seed : std::random_device{}()) {
    if (options.lookup_deadline.count() > 0) {
      host_guard = mx_guard = options.lookup_deadline;
    } else {
      // Margins over c-ares' own worst case, so its timeouts fire first.
      host_guard = loop->query_budget() + std::chrono::seconds(1);
      mx_guard = 2 * loop->query_budget() + std::chrono::seconds(2);
    }
  }

  // ---- cache (any thread) ----

  template <class A>
  std::optional<A> cache_get(const std::string& key) {
    std::lock_guard lock(mu);
    auto v = cache.get(key, clock.now());
    if (!v) return std::nullopt;
    ++cache_hits;
    return std::get<A>(std::move(*v));
  }

  template <class A>
  void cache_put(const std::string& key, const A& answer) {
    if (shut_down.load()) return;  // answers made up by the shutdown are not facts
    std::lock_guard lock(mu);
    cache.put(key, CacheValue(answer), answer.expires, clock.now());
  }

  // The cache holds MX hosts in (preference, name) order; every answer
  // handed out gets its own shuffle of equal preferences.
  MxAnswer shuffled(MxAnswer a) {
    std::lock_guard lock(mu);
    dns_policy::shuffle_ties(a.hosts, rng);
    return a;
  }

  MxAnswer make_mx(MxKind kind, std::string domain, std::string error, core::TimePoint expires) {
    MxAnswer a;
    a.kind = kind;
    a.domain = std::move(domain);
    a.error = std::move(error);
    a.expires = expires;
    return a;
  }
  HostAnswer make_host(MxKind kind, std::string error, core::TimePoint expires) {
    HostAnswer h;
    h.kind = kind;
    h.error = std::move(error);
    h.expires = expires;
    return h;
  }

  // ---- entry points (any thread) ----

  void resolve_mx(std::string_view input, Completion<MxAnswer> done) {
    const auto now = clock.now();
    if (shut_down.load()) return done(make_mx(MxKind::kTempFail, "", std::string(kShutDown), now));
    auto domain = to_ascii_domain(input);
    if (!domain)
      return done(make_mx(MxKind::kNxDomain, "",
                          fmt::format("\"{}\" is not a valid domain name", printable(input)), now));
    if (const dns_policy::Route* route = routes.match(*domain))
      return route_mx(*domain, *route, std::move(done));
    if (auto hit = cache_get<MxAnswer>("mx:" + *domain)) return done(shuffled(std::move(*hit)));
    if (!loop->post([this, d = *domain, done]() mutable { start_mx(d, std::move(done)); }))
      done(make_mx(MxKind::kTempFail, *domain, std::string(kShutDown), now));
  }

  void resolve_host(std::string_view input, Completion<HostAnswer> done) {
    const auto now = clock.now();
    if (shut_down.load()) return done(make_host(MxKind::kTempFail, std::string(kShutDown), now));
    if (auto literal = dns_policy::parse_ip_literal(input)) {
      HostAnswer h = make_host(MxKind::kOk, "", now + config.max_ttl);
      h.addresses.push_back(*literal);
      return done(std::move(h));
    }
    auto name = to_ascii_domain(input);
    if (!name)
      return done(make_host(MxKind::kNxDomain,
                            fmt::format("\"{}\" is not a valid host name", printable(input)), now));
    with_host(*name, [done](const HostAnswer& h) mutable { done(h); });
  }

  // `cont` runs on this thread (cache hit) or on the loop thread.
  void with_host(const std::string& name, HostCont cont) {
    if (auto hit = cache_get<HostAnswer>("host:" + name)) return cont(*hit);
    if (!loop->post([this, name, cont] { lookup_host(name, cont); }))
      cont(make_host(MxKind::kTempFail, std::string(kShutDown), clock.now()));
  }

  // A static route: an IP literal is the answer; a name is resolved (its
  // failures defer the mail: a smarthost that does not resolve is our
  // configuration's problem, not the recipient's).
  void route_mx(const std::string& domain, const dns_policy::Route& route,
                Completion<MxAnswer> done) {
    MxAnswer a = make_mx(MxKind::kOk, domain, "", clock.now() + config.max_ttl);
    a.from_route = true;
    if (route.literal) {
      a.hosts.push_back(MxHost{route.host, 0, route.port, {*route.literal}});
      return done(std::move(a));
    }
    with_host(route.host, [a, host = route.host, port = route.port, domain = route.domain,
                           done](const HostAnswer& h) mutable {
      a.expires = h.expires;
      if (h.kind == MxKind::kOk) {
        a.hosts.push_back(MxHost{host, 0, port, h.addresses});
      } else {
        a.kind = MxKind::kTempFail;
        a.error = fmt::format("static route {} -> {}: {}", domain, host, h.error);
      }
      done(std::move(a));
    });
  }

  // ---- loop thread ----

  void send(const std::string& name, uint16_t type, AresLoop::QueryDone done) {
    ++queries;
    loop->query(name, type, std::move(done));
  }

  void start_mx(const std::string& domain, Completion<MxAnswer> done) {
    // A lookup finished between the caller's cache check and now.
    if (auto hit = cache_get<MxAnswer>("mx:" + domain)) return done(shuffled(std::move(*hit)));
    auto& slot = mx_jobs[domain];
    if (slot) {
      ++coalesced;
      slot->waiters.push_back(std::move(done));
      return;
    }
    auto job = std::make_shared<MxJob>();
    slot = job;
    job->domain = domain;
    job->waiters.push_back(std::move(done));
    job->guard = loop->call_at(
        std::chrono::steady_clock::now() + mx_guard, [this, weak = std::weak_ptr(job)] {
          if (auto j = weak.lock(); j && !j->finished)
            complete_mx(j, make_mx(MxKind::kTempFail, j->domain, "DNS lookup timed out",
                                   clock.now() + config.tempfail_ttl));
        });
    send(domain, dns_wire::kTypeMx, [this, job](int status, std::span<const uint8_t> answer) {
      on_mx(job, classify(status, answer, dns_wire::kTypeMx));
    });
  }

  void on_mx(const std::shared_ptr<MxJob>& job, Query q) {
    if (job->finished) return;
    const auto now = clock.now();
    const std::string& d = job->domain;
    switch (q.outcome.kind) {
      case Outcome::Kind::kNxDomain:
        return complete_mx(job, make_mx(MxKind::kNxDomain, d, fmt::format("{}: no such domain", d),
                                        now + config.negative_ttl));
      case Outcome::Kind::kTempFail:
        return complete_mx(
            job, make_mx(MxKind::kTempFail, d,
                         q.shut_down ? std::string(kShutDown)
                                     : fmt::format("{}: MX lookup failed: {}", d, q.outcome.error),
                         now + config.tempfail_ttl));
      case Outcome::Kind::kNoData:
        // RFC 5321 §5.1: no MX records, so the domain itself is the host.
        return lookup_host(d, [this, job](const HostAnswer& h) { on_implicit(job, h); });
      case Outcome::Kind::kRecords:
        break;
    }
    dns_policy::MxPlan plan = dns_policy::plan_mx(q.outcome.records);
    if (plan.null_mx)
      return complete_mx(
          job, make_mx(MxKind::kNullMx, d, fmt::format("{} accepts no mail (null MX, RFC 7505)", d),
                       now + config.negative_ttl));
    if (plan.hosts.empty())
      return complete_mx(
          job, make_mx(MxKind::kTempFail, d,
                       fmt::format("{}: no MX record names a valid host ({})", d,
                                   printable(fmt::format("{}", fmt::join(plan.invalid, ", ")))),
                       now + config.tempfail_ttl));

    job->mx_expires = now + dns_policy::clamp_ttl(q.outcome.ttl, config);
    job->resolved.resize(plan.hosts.size());
    std::vector<size_t> lookups;
    for (size_t i = 0; i < plan.hosts.size(); ++i) {
      job->resolved[i].mx = plan.hosts[i];
      // Glue saves a round trip; a resolver that sends it for a host is
      // trusted to send all of the host's addresses it has.
      if (auto glue = dns_policy::glue_for(plan.hosts[i].name, q.outcome.records,
                                           options.address_order, now, config))
        job->resolved[i].answer = std::move(*glue);
      else
        lookups.push_back(i);
    }
    job->pending = lookups.size();
    if (lookups.empty()) return finish_mx(job);
    for (size_t i : lookups) {
      // Host answers may arrive synchronously (cache); `pending` is set first.
      lookup_host(job->resolved[i].mx.name, [this, job, i](const HostAnswer& h) {
        if (job->finished) return;
        job->resolved[i].answer = h;
        if (--job->pending == 0) finish_mx(job);
      });
    }
  }

  void finish_mx(const std::shared_ptr<MxJob>& job) {
    MxAnswer a = dns_policy::assemble_mx(job->domain, std::move(job->resolved), job->mx_expires);
    // The hosts' lookups were cut short by the shutdown, not by DNS.
    if (a.kind == MxKind::kTempFail && shut_down.load()) a.error = std::string(kShutDown);
    complete_mx(job, std::move(a));
  }

  void on_implicit(const std::shared_ptr<MxJob>& job, const HostAnswer& h) {
    if (job->finished) return;
    const auto now = clock.now();
    const std::string& d = job->domain;
    if (h.kind == MxKind::kOk) {
      MxAnswer a = make_mx(MxKind::kOk, d, "", std::min(h.expires, now + config.negative_ttl));
      a.implicit = true;
      a.hosts.push_back(MxHost{d, 0, 0, h.addresses});
      return complete_mx(job, std::move(a));
    }
    if (h.kind == MxKind::kNxDomain)
      return complete_mx(
          job, make_mx(MxKind::kNxDomain, d,
                       fmt::format("{}: no MX and no A/AAAA record ({})", d, h.error), h.expires));
    complete_mx(job, make_mx(MxKind::kTempFail, d,
                             shut_down.load() ? std::string(kShutDown)
                                              : fmt::format("{}: no MX record; {}", d, h.error),
                             h.expires));
  }

  void complete_mx(const std::shared_ptr<MxJob>& job, MxAnswer answer) {
    job->finished = true;
    loop->cancel(job->guard);
    if (auto it = mx_jobs.find(job->domain); it != mx_jobs.end() && it->second == job)
      mx_jobs.erase(it);
    cache_put("mx:" + job->domain, answer);
    for (auto& w : job->waiters) w(shuffled(answer));
    job->waiters.clear();
  }

  void lookup_host(const std::string& name, HostCont cont) {
    if (auto hit = cache_get<HostAnswer>("host:" + name)) return cont(*hit);
    auto& slot = host_jobs[name];
    if (slot) {
      ++coalesced;
      slot->conts.push_back(std::move(cont));
      return;
    }
    auto job = std::make_shared<HostJob>();
    slot = job;
    job->name = name;
    job->conts.push_back(std::move(cont));
    job->guard = loop->call_at(
        std::chrono::steady_clock::now() + host_guard, [this, weak = std::weak_ptr(job)] {
          if (auto j = weak.lock(); j && !j->finished)
            complete_host(j, make_host(MxKind::kTempFail, j->name + ": address lookup timed out",
                                       clock.now() + config.tempfail_ttl));
        });
    send(name, dns_wire::kTypeA, [this, job](int status, std::span<const uint8_t> answer) {
      job->a = classify(status, answer, dns_wire::kTypeA);
      on_host_part(job);
    });
    send(name, dns_wire::kTypeAaaa, [this, job](int status, std::span<const uint8_t> answer) {
      job->aaaa = classify(status, answer, dns_wire::kTypeAaaa);
      on_host_part(job);
    });
  }

  void on_host_part(const std::shared_ptr<HostJob>& job) {
    if (job->finished || !job->a || !job->aaaa) return;
    HostAnswer h = dns_policy::assemble_host(job->name, job->a->outcome, job->aaaa->outcome,
                                             options.address_order, clock.now(), config);
    if (h.kind == MxKind::kTempFail && (job->a->shut_down || job->aaaa->shut_down))
      h.error = std::string(kShutDown);
    complete_host(job, std::move(h));
  }

  void complete_host(const std::shared_ptr<HostJob>& job, const HostAnswer& h) {
    job->finished = true;
    loop->cancel(job->guard);
    if (auto it = host_jobs.find(job->name); it != host_jobs.end() && it->second == job)
      host_jobs.erase(it);
    cache_put("host:" + job->name, h);
    for (auto& c : job->conts) c(h);
    job->conts.clear();
  }

  void shutdown() {
    std::lock_guard lock(shutdown_mu);
    shut_down.store(true);
    loop->stop();
    // The loop has joined, so its maps are ours now. Every job completed
    // when c-ares reported ARES_EDESTRUCTION; this only guards that claim.
    auto mx = std::move(mx_jobs);
    for (auto& [d, job] : mx)
      if (!job->finished)
        complete_mx(job, make_mx(MxKind::kTempFail, d, std::string(kShutDown), clock.now()));
    auto hosts = std::move(host_jobs);
    for (auto& [n, job] : hosts)
      if (!job->finished)
        complete_host(job, make_host(MxKind::kTempFail, std::string(kShutDown), clock.now()));
  }
};

std::string_view mx_kind_name(MxKind kind) noexcept {
  switch (kind) {
    case MxKind::kOk:
      return "ok";
    case MxKind::kNullMx:
      return "null_mx";
    case MxKind::kNxDomain:
      return "nxdomain";
    case MxKind::kTempFail:
      return "tempfail";
  }
  return "unknown";
}

core::Result<std::shared_ptr<Resolver>> Resolver::create(const core::DnsConfig& config,
                                                         const std::vector<core::SmtpRoute>& routes,
                                                         asio::any_io_executor executor,
                                                         const core::Clock& clock,
                                                         ResolverOptions options) {
  auto table = dns_policy::RouteTable::build(routes);
  if (!table) return table.error();
  auto loop = AresLoop::start(config);
  if (!loop) return loop.error();
  auto impl = std::make_unique<Impl>(config, options, std::move(*table), std::move(executor), clock,
                                     std::move(*loop));
  return std::shared_ptr<Resolver>(new Resolver(std::move(impl)));
}

Resolver::Resolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Resolver::~Resolver() { shutdown(); }

void Resolver::resolve_mx(std::string_view domain, std::function<void(MxAnswer)> done) {
  impl_->resolve_mx(domain, Completion<MxAnswer>(impl_->executor, std::move(done)));
}

void Resolver::resolve_host(std::string_view host, std::function<void(HostAnswer)> done) {
  impl_->resolve_host(host, Completion<HostAnswer>(impl_->executor, std::move(done)));
}

void Resolver::shutdown() { impl_->shutdown(); }

Resolver::Stats Resolver::stats() const {
  return Stats{impl_->queries.load(), impl_->cache_hits.load(), impl_->coalesced.load()};
}

}  // namespace mta
