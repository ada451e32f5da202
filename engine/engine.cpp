// engine/engine.cpp: the Engine facade: routing on submit, and forwarding to
// the dispatcher (dispatcher.h) for everything that runs on its strand.
//
// submit() does its routing on the caller's thread (pure work, no strand
// hop) and hands the routable items to the spool as one batch, so a batch
// request is one group-committed transaction. Items the router refused keep
// their place in the answer.
#include "engine/engine.h"

#include <optional>
#include <utility>

#include "core/log.h"
#include "engine/dispatcher.h"
#include "engine/feedback.h"
#include "engine/inbound.h"
#include "engine/receipts.h"
#include "engine/suppress.h"
#include "mta/bounce/classify.h"
#include "engine/router.h"
#include "engine/throttle.h"

namespace engine {

class Engine::Impl {
 public:
  Impl(std::shared_ptr<const core::Config> config, queue::Spool& spool,
       const transports::Registry& transports, const core::Clock& clock,
       boost::asio::any_io_executor executor, AccountingLog* accounting)
      : config_(config),
        executor_(executor),
        spool_(spool),
        transports_(transports),
        clock_(clock),
        contents_(std::make_shared<ContentCache>(spool, kCompiledTemplatesCached)),
        throttles_(make_throttles(*config_, clock)),
        classifier_(make_classifier(*config_)),
        dispatcher_(std::make_shared<Dispatcher>(std::move(config), spool, transports, clock,
                                                 std::move(executor), contents_, accounting,
                                                 throttles_.get())),
        inbound_(std::make_shared<InboundProcessor>(config_, spool_, clock_, executor_,
                                                    classifier_)) {
    set_bounce_classifier(classifier_);
  }

  Throttles& throttles() { return *throttles_; }

  void submit(std::string tenant, std::vector<core::MessageRequest> requests,
              std::vector<std::optional<uint32_t>> content_of,
              std::function<void(SubmitResult)> done);
  void put_template(std::string tenant, std::string id, core::TemplateSource source,
                    std::function<void(core::Result<queue::StoredTemplate>)> done);
  void delete_template(std::string tenant, std::string id,
                       std::function<void(core::Result<queue::StoredTemplate>)> done);
  core::Result<templating::Rendered> render(std::string_view tenant,
                                            const core::MessageRequest& request,
                                            core::Channel channel) const;

  Dispatcher& dispatcher() { return *dispatcher_; }
  InboundProcessor& inbound() { return *inbound_; }
  const core::Clock& clock() const { return clock_; }
  const std::shared_ptr<const core::Config>& config() const { return config_; }
  queue::Spool& spool() { return spool_; }
  const transports::Registry& registry() const { return transports_; }
  const boost::asio::any_io_executor& executor() const { return executor_; }

 private:
  // Template versions kept compiled; each is a few KB of program.
  static constexpr size_t kCompiledTemplatesCached = 4096;

  // Applies the content rules (engine.h) to `content`, which `request`
  // will be sent with on `channel`. `shared`: the content is an earlier
  // request's, already prepared; only what depends on this request runs
  // (its channels for raw content, its variables for a strict template).
  core::Status prepare_content(std::string_view tenant, core::Content& content,
                               const core::MessageRequest& request, core::Channel channel,
                               bool shared) const;

  std::shared_ptr<const core::Config> config_;
  boost::asio::any_io_executor executor_;
  queue::Spool& spool_;
  const transports::Registry& transports_;
  const core::Clock& clock_;
  std::shared_ptr<ContentCache> contents_;
  std::unique_ptr<Throttles> throttles_;
  std::shared_ptr<const mta::bounce::Classifier> classifier_;
  std::shared_ptr<Dispatcher> dispatcher_;
  std::shared_ptr<InboundProcessor> inbound_;

  // bounces.rules_file, checked when the config was loaded (serve.cpp);
  // should it fail to load now, classify with the built-in rules.
  static std::shared_ptr<const mta::bounce::Classifier> make_classifier(const core::Config& config) {
    if (config.bounces.rules_file.empty()) return mta::bounce::Classifier::defaults();
    auto c = mta::bounce::Classifier::load_file(config.bounces.rules_file);
    if (c) return *c;
    core::log::error("bounce rules not loaded; using the built-in rules",
                     {{"file", config.bounces.rules_file}, {"error", c.error().to_string()}});
    return mta::bounce::Classifier::defaults();
  }

  // A loaded config has compiled its backoff regexes already; should one
  // still fail here, run without backoff rules rather than not at all.
  static std::unique_ptr<Throttles> make_throttles(const core::Config& config,
                                                   const core::Clock& clock) {
    auto t = Throttles::create(config.throttle, config.smtp, clock);
    if (t) return std::move(*t);
    core::log::error("throttle rules refused; running without backoff rules",
                     {{"error", t.error().to_string()}});
    core::ThrottleConfig plain = config.throttle;
    plain.backoff.clear();
    return std::move(*Throttles::create(plain, config.smtp, clock));
  }
};

core::Status Engine::Impl::prepare_content(std::string_view tenant, core::Content& content,
                                           const core::MessageRequest& request,
                                           core::Channel channel, bool shared) const {
  if (!content.raw.empty()) {
    // Injected mail is sent as is: there is nothing to compile, and no
    // channel but email can carry it, including after a channel fallback.
    for (core::Channel c : request.channels) {
      if (c != core::Channel::kEmail) {
        return core::invalid_argument(
            "content.raw", "content.raw: raw email can only be sent on the email channel");
      }
    }
    if (!content.template_id.empty() || !content.subject.empty() || !content.html.empty() ||
        !content.text.empty() || !content.preheader.empty() || !content.buttons_json.empty()) {
      return core::invalid_argument("content.raw",
                                    "content.raw: raw email goes alone, without a template or "
                                    "other parts");
    }
    return {};
  }
  if (content.template_id.empty()) {
    if (shared) return {};  // compiled when its first request was checked
    // Inline parts are templates too: refuse now what could never render.
    // Text without a tag opener is literal and always compiles (the API
    // already checked its size and UTF-8), so the common literal message
    // skips the compile.
    auto has_tags = [](std::string_view part) {
      return part.find("{{") != std::string_view::npos;
    };
    if (!has_tags(content.subject) && !has_tags(content.html) && !has_tags(content.text) &&
        !has_tags(content.preheader) && content.buttons_json.empty()) {
      return {};
    }
    auto compiled = templating::CompiledContent::compile(content);
    if (!compiled) return compiled.error();
    return {};
  }
  CompiledPtr compiled;
  if (shared) {
    // The version was fixed when the first request was checked.
    auto c = contents_->for_message(tenant, content);
    if (!c) return c.error();
    compiled = std::move(*c);
  } else {
    auto cur = contents_->current(tenant, content.template_id);
    if (!cur) {
      if (cur.error().code == core::Errc::kNotFound) {
        return core::invalid_argument("template_id", "template_id: template '" + content.template_id + "' does not exist");
      }
      return cur.error();
    }
    content.template_version = cur->version;
    compiled = std::move(cur->compiled);
  }
  if (compiled->strict()) {
    const templating::RenderLimits limits{config_->email.max_sms_segments};
    auto r = compiled->render(channel, request.variables_json, clock_.now(), limits);
    if (!r && r.error().field == "variables") return r.error();
  }
  return {};
}

void Engine::Impl::put_template(std::string tenant, std::string id, core::TemplateSource source,
                                std::function<void(core::Result<queue::StoredTemplate>)> done) {
  auto compiled = templating::CompiledContent::compile(source);
  if (!compiled) {
    done(compiled.error());
    return;
  }
  spool_.put_template(tenant, std::move(id), std::move(source),
                      [contents = contents_, tenant, compiled = *compiled,
                       done = std::move(done)](core::Result<queue::StoredTemplate> r) {
                        if (r) contents->stored(tenant, *r, compiled);
                        done(std::move(r));
                      });
}

void Engine::Impl::delete_template(std::string tenant, std::string id,
                                   std::function<void(core::Result<queue::StoredTemplate>)> done) {
  spool_.delete_template(
      tenant, std::move(id),
      [contents = contents_, tenant, done = std::move(done)](core::Result<queue::StoredTemplate> r) {
        if (r) contents->stored(tenant, *r, nullptr);
        done(std::move(r));
      });
}

core::Result<templating::Rendered> Engine::Impl::render(std::string_view tenant,
                                                        const core::MessageRequest& request,
                                                        core::Channel channel) const {
  core::Content content = request.content;
  if (!content.template_id.empty() && content.template_version == 0) {
    auto cur = contents_->current(tenant, content.template_id);
    if (!cur) return cur.error();
    content.template_version = cur->version;
  }
  auto compiled = contents_->for_message(tenant, content);
  if (!compiled) return compiled.error();
  const templating::RenderLimits limits{config_->email.max_sms_segments};
  return (*compiled)->render(channel, request.variables_json, clock_.now(), limits);
}

void Engine::Impl::submit(std::string tenant, std::vector<core::MessageRequest> requests,
                          std::vector<std::optional<uint32_t>> content_of,
                          std::function<void(SubmitResult)> done) {
  const size_t n = requests.size();
  if (!content_of.empty() && content_of.size() != n) {
    SubmitResult out;
    for (size_t i = 0; i < n; ++i) {
      out.items.emplace_back(core::invalid_argument(
          "content_of", "content_of: needs one entry per request, or none"));
    }
    done(std::move(out));
    return;
  }
  const core::TimePoint now = clock_.now();
  std::vector<std::optional<core::Error>> refused(n);
  std::vector<queue::NewMessage> batch;
  batch.reserve(n);
  // Position in `batch` of each request stored, for content_of (which the
  // spool reads as batch positions); only filled when something is shared.
  std::vector<uint32_t> in_batch(content_of.empty() ? 0 : n);
  bool due_now = false;
  const ForbiddenCheck forbidden = forbidden_check(spool_, tenant);
  for (size_t i = 0; i < n; ++i) {
    core::MessageRequest& request = requests[i];
    // A sharer is checked against the content it will be sent with: that
    // of the first request of its chain, already prepared in `batch`.
    std::optional<uint32_t> owner;
    if (!content_of.empty() && content_of[i]) {
      const uint32_t j = *content_of[i];
      if (j >= i) {
        refused[i] = core::invalid_argument("content_of",
                                            "content_of: must name an earlier request");
        continue;
      }
      if (refused[j]) {
        refused[i] = core::invalid_argument(
            "content_of", "content_of: shares the content of request " + std::to_string(j) +
                              ", which was refused");
        continue;
      }
      const queue::NewMessage& first = batch[in_batch[j]];
      owner = first.content_of.value_or(in_batch[j]);
    }
    core::Result<Route> r = route(request, transports_, forbidden);
    if (!r) {
      refused[i] = std::move(r.error());
      continue;
    }
    core::Content& content = owner ? batch[*owner].request.content : request.content;
    if (auto st = prepare_content(tenant, content, request, request.channels[r->channel_index],
                                  owner.has_value());
        !st) {
      refused[i] = std::move(st.error());
      continue;
    }
    due_now = due_now || !request.send_at || *request.send_at <= now;
    queue::NewMessage m;
    m.request = std::move(request);
    m.channel_index = r->channel_index;
    m.destination = std::move(r->destination);
    m.content_of = owner;  // the spool refuses a sharer that carries content itself
    if (!r->forbidden.empty()) {
      m.initial_status = core::MessageStatus::kForbidden;
      m.detail = std::move(r->forbidden);
    }
    if (!in_batch.empty()) in_batch[i] = static_cast<uint32_t>(batch.size());
    batch.push_back(std::move(m));
  }

  auto merge = [n, refused = std::move(refused)](
                   std::vector<core::Result<queue::EnqueueOutcome>> stored) mutable {
    SubmitResult out;
    out.items.reserve(n);
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) {
      if (refused[i]) {
        out.items.emplace_back(std::move(*refused[i]));
      } else if (k < stored.size()) {
        out.items.push_back(std::move(stored[k++]));
      } else {
        out.items.emplace_back(
            core::make_error(core::Errc::kInternal, "the spool gave no result for this item"));
      }
    }
    return out;
  };

  if (batch.empty()) {
    done(merge({}));
    return;
  }
  // New mail due now goes straight to the dispatcher when it keeps up
  // (DirectLease); what it does not take waits in the due index, and only
  // then is a wake (a lease transaction) needed. `leased` runs before the
  // enqueue's callback, on the same thread.
  queue::DirectLease direct = dispatcher_->direct_lease();
  auto taken = std::make_shared<size_t>(0);
  if (direct.leased) {
    direct.leased = [inner = std::move(direct.leased), taken](std::vector<queue::Leased> items,
                                                              size_t admitted) mutable {
      *taken = items.size();
      inner(std::move(items), admitted);
    };
  }
  spool_.enqueue(std::move(tenant), std::move(batch),
                 [merge = std::move(merge), done = std::move(done), due_now, taken,
                  weak = std::weak_ptr<Dispatcher>(dispatcher_)](
                     std::vector<core::Result<queue::EnqueueOutcome>> stored) mutable {
                   size_t stored_new = 0;
                   for (const auto& s : stored) {
                     if (s && !s->duplicate && s->status == core::MessageStatus::kQueued)
                       ++stored_new;
                   }
                   if (due_now && stored_new > *taken) {
                     if (auto d = weak.lock()) d->wake();
                   }
                   done(merge(std::move(stored)));
                 },
                 std::move(direct));
}

Engine::Engine(std::shared_ptr<const core::Config> config, queue::Spool& spool,
               const transports::Registry& transports, const core::Clock& clock,
               boost::asio::any_io_executor executor, AccountingLog* accounting)
    : impl_(std::make_shared<Impl>(std::move(config), spool, transports, clock,
                                   std::move(executor), accounting)) {}

Engine::~Engine() = default;

Throttles& Engine::throttles() { return impl_->throttles(); }

void Engine::submit(std::string tenant, std::vector<core::MessageRequest> requests,
                    std::function<void(SubmitResult)> done) {
  impl_->submit(std::move(tenant), std::move(requests), {}, std::move(done));
}

void Engine::submit(std::string tenant, std::vector<core::MessageRequest> requests,
                    std::vector<std::optional<uint32_t>> content_of,
                    std::function<void(SubmitResult)> done) {
  impl_->submit(std::move(tenant), std::move(requests), std::move(content_of), std::move(done));
}

void Engine::put_template(std::string tenant, std::string id, core::TemplateSource source,
                          std::function<void(core::Result<queue::StoredTemplate>)> done) {
  impl_->put_template(std::move(tenant), std::move(id), std::move(source), std::move(done));
}

void Engine::delete_template(std::string tenant, std::string id,
                             std::function<void(core::Result<queue::StoredTemplate>)> done) {
  impl_->delete_template(std::move(tenant), std::move(id), std::move(done));
}

core::Result<templating::Rendered> Engine::render(std::string_view tenant,
                                                  const core::MessageRequest& request,
                                                  core::Channel channel) const {
  return impl_->render(tenant, request, channel);
}

void Engine::cancel(const core::Id& id,
                    std::function<void(core::Result<core::MessageStatus>)> done) {
  impl_->dispatcher().cancel(id, std::move(done));
}

void Engine::provider_callback(ProviderCallback callback,
                               std::function<void(CallbackAnswer)> done) {
  engine::provider_callback(*impl_->config(), impl_->spool(), impl_->registry(),
                            impl_->executor(), std::move(callback), std::move(done));
}

void Engine::apply_receipts(std::vector<transports::providers::Receipt> receipts,
                            std::function<void(core::Result<queue::ReceiptStats>)> done) {
  engine::apply_receipts(impl_->spool(), impl_->registry(), impl_->executor(), std::move(receipts),
                         std::move(done));
}

void Engine::suppress(std::vector<core::Suppression> entries,
                      std::function<void(core::Status)> done) {
  std::vector<queue::Feedback> items;
  items.reserve(entries.size());
  const core::TimePoint now = impl_->clock().now();
  for (size_t i = 0; i < entries.size(); ++i) {
    core::Suppression& s = entries[i];
    if (auto st = core::check_suppression_fields(s.channel, s.address, s.category); !st) {
      core::Error e = st.error();
      const std::string prefix = "suppressions[" + std::to_string(i) + "].";
      e.field = prefix + e.field;
      e.message = prefix + e.message;
      done(e);
      return;
    }
    s.address = core::normalize_address(s.channel, s.address);
    if (s.created_at == core::TimePoint{}) s.created_at = now;
    queue::Feedback f;
    f.kind = queue::Feedback::Kind::kSuppress;
    f.suppression = std::move(s);
    items.push_back(std::move(f));
  }
  impl_->spool().apply_feedback(
      std::move(items),
      [done = std::move(done)](core::Result<std::vector<queue::FeedbackOutcome>> r) {
        if (!r) {
          done(r.error());
        } else {
          done(core::Status{});
        }
      });
}

void Engine::unsuppress(core::Suppression which, std::function<void(core::Result<size_t>)> done) {
  const std::string_view category = which.category.empty() ? core::kAnyCategory : which.category;
  if (auto st = core::check_suppression_fields(which.channel, which.address, category); !st) {
    done(st.error());
    return;
  }
  which.address = core::normalize_address(which.channel, which.address);
  queue::Feedback f;
  f.kind = queue::Feedback::Kind::kUnsuppress;
  f.suppression = std::move(which);
  impl_->spool().apply_feedback(
      {std::move(f)}, [done = std::move(done)](core::Result<std::vector<queue::FeedbackOutcome>> r) {
        if (!r) {
          done(r.error());
        } else {
          done(r->empty() ? size_t{0} : r->front().removed);
        }
      });
}

core::Result<std::vector<core::Suppression>> Engine::list_suppressions(
    queue::SuppressionQuery q) const {
  if (!q.address.empty()) {
    q.address = core::normalize_address(q.channel.empty() ? std::string_view("email") : q.channel,
                                        q.address);
  }
  return impl_->spool().list_suppressions(q);
}

core::Result<UnsubscribeToken> Engine::read_unsubscribe(std::string_view token) const {
  return open_unsubscribe_token(impl_->config()->email.token_secret, token);
}

void Engine::unsubscribe(std::string_view token, std::string how,
                         std::function<void(core::Result<UnsubscribeToken>)> done) {
  auto t = read_unsubscribe(token);
  if (!t) {
    done(t.error());
    return;
  }
  queue::Feedback f;
  f.kind = queue::Feedback::Kind::kSuppress;
  f.suppression.tenant = t->tenant;
  f.suppression.channel = t->channel;
  f.suppression.address = t->address;
  f.suppression.category = t->category;
  f.suppression.reason = core::SuppressionReason::kUnsubscribed;
  f.suppression.created_at = impl_->clock().now();
  f.suppression.detail = std::move(how);
  core::log::info("unsubscribed", {{"tenant", t->tenant},
                                   {"channel", t->channel},
                                   {"category", t->category},
                                   {"how", f.suppression.detail}});
  impl_->spool().apply_feedback(
      {std::move(f)}, [t = std::move(*t), done = std::move(done)](
                          core::Result<std::vector<queue::FeedbackOutcome>> r) mutable {
        if (!r) {
          done(r.error());
        } else {
          done(std::move(t));
        }
      });
}

void Engine::receive_report(queue::InboundReport report,
                            std::function<void(core::Result<core::Id>)> done) {
  impl_->inbound().receive(std::move(report), std::move(done));
}

void Engine::start() {
  impl_->dispatcher().start();
  impl_->inbound().recover();
}

void Engine::stop(std::function<void()> done) { impl_->dispatcher().stop(std::move(done)); }

void Engine::TEST_poll() { impl_->dispatcher().TEST_poll(); }
bool Engine::TEST_direct_lease_open() const { return impl_->dispatcher().TEST_direct_lease_open(); }

std::vector<DestinationState> Engine::destinations() const {
  return impl_->dispatcher().destinations();
}

}  // namespace engine
