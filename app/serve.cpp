#include "app/serve.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "api/api.h"
#include "app/admin_key.h"
#include "core/config.h"
#include "core/id.h"
#include "core/log.h"
#include "dkim/signing_table.h"
#include "engine/accounting.h"
#include "engine/engine.h"
#include "engine/inject.h"
#include "engine/throttle.h"
#include "mta/bounce/classify.h"
#include "mta/dns.h"
#include "mta/smtp_server.h"
#include "queue/queue.h"
#include "transports/email.h"
#include "transports/messenger.h"
#include "transports/smpp/sms_channel.h"
#include "transports/transport.h"

namespace app {
namespace {

namespace asio = boost::asio;

std::shared_ptr<const core::Config> load(const ServeOptions& options) {
  try {
    return options.config_path.empty() ? core::default_config()
                                       : core::load_config_file(options.config_path);
  } catch (const core::ConfigError& e) {
    core::log::fatal("configuration refused", {{"error", e.what()}, {"file", options.config_path}});
  }
}

}  // namespace

int serve(const ServeOptions& options) {
  auto config = load(options);
  core::log::Level level = core::log::Level::kInfo;
  core::log::parse_level(config->log.level, &level);
  if (!core::log::configure(level, config->log.file)) {
    core::log::warn("cannot open log file; logging to stderr", {{"file", config->log.file}});
  }

  // Keys: the configured tenants, or the generated admin key of a config-less start.
  std::shared_ptr<api::KeyRing> keys;
  try {
    keys = std::make_shared<api::KeyRing>(config->tenants);
  } catch (const core::ConfigError& e) {
    core::log::fatal("configuration refused", {{"error", e.what()}});
  }
  if (config->tenants.empty()) {
    auto admin = ensure_admin_key(config->spool.path);
    if (!admin) core::log::fatal("cannot prepare the admin key", {{"error", admin.error().to_string()}});
    keys->add(admin->key, api::Principal{kDefaultTenant, core::Role::kAdmin});
    if (admin->created) {
      // Printed once, on the start that created it; `vestnik key show` reads it later.
      core::log::info("created admin key (shown once; `vestnik key show` prints it again)",
                      {{"tenant", kDefaultTenant}, {"key", admin->key},
                       {"file", config->spool.path + "/" + kAdminKeyFile}});
    } else {
      core::log::info("using the admin key from the spool directory",
                      {{"tenant", kDefaultTenant}, {"file", config->spool.path + "/" + kAdminKeyFile}});
    }
  }

  // The token secret (unsubscribe and tracking links) must outlive restarts,
  // or links in mail already sent would stop working.
  if (config->email.token_secret.empty()) {
    auto token = ensure_key_file(config->spool.path, kTokenKeyFile);
    if (!token) core::log::fatal("cannot prepare the token key", {{"error", token.error().to_string()}});
    auto copy = std::make_shared<core::Config>(*config);
    copy->email.token_secret = token->key;
    config = std::move(copy);
  }

  const core::Clock& clock = core::SystemClock::instance();
  core::IdGenerator ids(clock);

  std::error_code ec;
  std::filesystem::create_directories(config->spool.path, ec);
  auto store = queue::open_lmdb_store(queue::LmdbOptions{
      config->spool.path, config->spool.map_size_initial, config->spool.map_size_max});
  if (!store) core::log::fatal("cannot open the spool", {{"error", store.error().to_string()}});
  auto spool = queue::Spool::open(config->spool, std::move(*store), clock, ids);
  if (!spool) core::log::fatal("cannot open the spool", {{"error", spool.error().to_string()}});

  unsigned threads = config->api.threads ? config->api.threads
                                         : std::max(1u, std::thread::hardware_concurrency());
  asio::io_context io(static_cast<int>(threads));
  auto work = asio::make_work_guard(io);

  transports::Registry registry;
  if (config->transports.sink.enabled) {
    auto sink = transports::make_sink_transport(
        config->transports.sink, [&io](core::Duration d, std::function<void()> fn) {
          auto timer = std::make_shared<asio::steady_timer>(io, d);
          timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code) { fn(); });
        });
    if (!sink) core::log::fatal("cannot build the sink transport", {{"error", sink.error().to_string()}});
    registry.add(*sink);
  }

  // Email over SMTP: MX resolution (or static routes) and the SMTP client.
  // A sink configured for email was added first and takes precedence.
  std::shared_ptr<mta::Resolver> resolver;
  std::shared_ptr<transports::EmailTransport> email;
  if (config->smtp.enabled) {
    auto r = mta::Resolver::create(config->dns, config->smtp.routes, io.get_executor(), clock);
    if (!r) core::log::fatal("cannot start the DNS resolver", {{"error", r.error().to_string()}});
    resolver = *r;
    auto t = transports::EmailTransport::create(config, resolver, io.get_executor(),
                                                config->email.token_secret);
    if (!t) core::log::fatal("cannot build the email transport", {{"error", t.error().to_string()}});
    email = *t;
    registry.add(email);
  }

  // Messengers and HTTP SMS (Telegram, Viber, VK, WhatsApp, Twilio) share
  // one HTTPS client; each channel with an account gets its transport.
  std::shared_ptr<transports::HttpClient> http;
  std::shared_ptr<transports::smpp::SmsChannel> sms;
  // SMPP delivery receipts go to the engine, which exists only further down.
  std::atomic<engine::Engine*> receipts_to{nullptr};
  if (transports::any_provider_configured(*config)) {
    auto h = transports::HttpClient::create(io.get_executor(),
                                            transports::http_client_options(config->http));
    if (!h) core::log::fatal("cannot start the HTTP client", {{"error", h.error().to_string()}});
    http = *h;
    auto ts = transports::make_provider_transports(*config, http, io.get_executor());
    if (!ts) core::log::fatal("cannot build the provider transports", {{"error", ts.error().to_string()}});
    for (auto& t : *ts) {
      core::log::info("transport ready", {{"channel", t->name()}});
      registry.add(std::move(t));
    }
  }
  // SMS over SMPP binds (with the Twilio accounts, if any, behind them).
  if (!config->smpp.empty()) {
    auto s = transports::smpp::SmsChannel::create(
        *config, http, io.get_executor(), [&receipts_to](transports::providers::Receipt r) {
          engine::Engine* e = receipts_to.load();
          if (e == nullptr) {
            core::log::warn("sms: delivery receipt before the engine started; dropped",
                            {{"ref", r.provider_ref}});
            return;
          }
          std::vector<transports::providers::Receipt> one;
          one.push_back(std::move(r));
          e->apply_receipts(std::move(one));
        });
    if (!s) core::log::fatal("cannot build the SMS transport", {{"error", s.error().to_string()}});
    sms = *s;
    core::log::info("transport ready", {{"channel", "sms"}, {"smpp_binds", config->smpp.size()}});
    registry.add(sms);
  }

  // DKIM: keys are read here (and again on SIGHUP), signing runs on its own
  // threads so an RSA signature never holds up an I/O thread. A key that
  // does not load is logged and holds back its domain's mail (or lets it go
  // unsigned, when not required); settings that would break every
  // signature stop the start.
  std::unique_ptr<asio::thread_pool> signing_pool;
  auto log_dkim = [](const dkim::SigningTable& table, const char* when) {
    for (const auto& p : table.problems())
      core::log::error("dkim: a signing key is unusable", {{"when", when}, {"error", p.to_string()}});
    for (const auto& d : table.domains())
      if (d.usable())
        core::log::info("dkim: signing", {{"when", when}, {"domain", d.domain}, {"d", d.d}, {"keys", d.signers.size()}});
  };
  if (email) {
    auto table = dkim::SigningTable::build(config->dkim, config->email.trace_header);
    if (!table) core::log::fatal("cannot set up DKIM signing", {{"error", table.error().to_string()}});
    log_dkim(**table, "start");
    const unsigned n = config->dkim.threads ? config->dkim.threads : std::max(1u, std::thread::hardware_concurrency());
    signing_pool = std::make_unique<asio::thread_pool>(n);
    email->set_dkim(*table, signing_pool->get_executor());
  }

  // One JSON line per delivery attempt; a log that cannot be opened is a
  // configuration error, not something to discover later.
  auto accounting = engine::AccountingLog::open(config->accounting, config->spool.path, clock);
  if (!accounting) {
    core::log::fatal("cannot open the accounting log", {{"error", accounting.error().to_string()}});
  }

  // Bounce rules are data an operator edits: a rule that does not compile
  // stops the start here, with its place, rather than misclassifying later.
  if (!config->bounces.rules_file.empty()) {
    auto rules = mta::bounce::Classifier::load_file(config->bounces.rules_file);
    if (!rules) {
      core::log::fatal("cannot load the bounce rules", {{"file", config->bounces.rules_file},
                                                       {"error", rules.error().to_string()}});
    }
  }

  engine::Engine engine(config, **spool, registry, clock, io.get_executor(), accounting->get());
  receipts_to.store(&engine);
  api::Server server(config, engine, **spool, keys, io);
  if (auto st = server.start(); !st) {
    core::log::fatal("cannot start the API", {{"error", st.error().to_string()}});
  }

  // SMTP injection: services that speak SMTP hand mail to the listener,
  // which answers 250 once the Injector has it durable in the spool.
  std::unique_ptr<engine::Injector> injector;
  std::unique_ptr<mta::SmtpServer> listener;
  if (config->listener.enabled) {
    injector = std::make_unique<engine::Injector>(engine, config, clock);
    core::ListenerConfig lc = config->listener;
    if (lc.network_tenant.empty()) lc.network_tenant = kDefaultTenant;
    listener = std::make_unique<mta::SmtpServer>(lc, config->inbound, *injector, io.get_executor(), clock);
    auto bound = listener->start();
    if (!bound) core::log::fatal("cannot start the SMTP listener", {{"error", bound.error().to_string()}});
    core::log::info("SMTP listener accepting",
                    {{"listen", bound->address().to_string() + ":" + std::to_string(bound->port())},
                     {"tenant_for_networks", lc.network_tenant}});
  }
  engine.start();
  core::log::info("vestnik serving",
                  {{"listen", config->api.listen}, {"port", server.port()},
                   {"spool", config->spool.path}, {"threads", threads},
                   {"accounting", (*accounting)->path()},
                   {"config", config->source.empty() ? std::string("<defaults>") : config->source}});

  // Graceful stop: stop accepting, let the engine finish or release its
  // leases, then let io.run() return once nothing is left to do.
  std::atomic<bool> stopping{false};
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::signal_set hup(io, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](boost::system::error_code e, int) {
      if (e) return;
      core::log::reopen();
      (*accounting)->reopen();
      core::log::info("SIGHUP: logs reopened");
      // Throttle rules are live: re-read them from the file (the rest of the
      // file needs a restart). Mail in flight is untouched; groups keep
      // their state. A file that does not load changes nothing.
      if (!options.config_path.empty()) {
        try {
          auto fresh = core::load_config_file(options.config_path);
          // DKIM keys and domains are live too: a new table replaces the
          // old one only if its settings are sound.
          if (email && signing_pool) {
            auto table = dkim::SigningTable::build(fresh->dkim, config->email.trace_header);
            if (!table) {
              core::log::error("SIGHUP: DKIM settings refused; the old ones stay",
                               {{"error", table.error().to_string()}});
            } else {
              log_dkim(**table, "reload");
              email->set_dkim(*table, signing_pool->get_executor());
            }
          }
          if (auto st = engine.throttles().replace(fresh->throttle, fresh->smtp); !st) {
            core::log::error("SIGHUP: throttle rules refused; the old ones stay",
                             {{"error", st.error().to_string()}});
          } else {
            core::log::info("SIGHUP: throttle rules reloaded",
                            {{"file", options.config_path}, {"rules", fresh->throttle.rules.size()},
                             {"backoff_rules", fresh->throttle.backoff.size()}});
          }
        } catch (const core::ConfigError& e) {
          core::log::error("SIGHUP: configuration refused; nothing changed",
                           {{"error", e.what()}, {"file", options.config_path}});
        }
      }
      wait_hup();
    });
  };
  wait_hup();
  signals.async_wait([&](boost::system::error_code e, int signo) {
    if (e || stopping.exchange(true)) return;
    core::log::info("stopping", {{"signal", signo}});
    // Order matters: the API and the listener first drain (a message
    // already durable still gets its 202 or 250), then the engine releases
    // its leases, then the io_context may end.
    auto inputs_left = std::make_shared<std::atomic<int>>(listener ? 2 : 1);
    auto input_drained = [&, inputs_left] {
      if (inputs_left->fetch_sub(1) != 1) return;
      engine.stop([&] {
        // Sessions say QUIT; lookups in flight complete as "shut down".
        if (email) email->shutdown();
        if (http) http->shutdown();
        if (resolver) resolver->shutdown();
        auto finish = [&] {
          hup.cancel();
          work.reset();
          io.stop();
        };
        // SMPP binds say unbind first (each bounded by its response timeout).
        if (sms) {
          sms->stop([&io, finish] { asio::post(io, finish); });
        } else {
          finish();
        }
      });
    };
    if (listener) listener->stop(config->engine.shutdown_grace, input_drained);
    server.stop(input_drained);
  });

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  if (signing_pool) signing_pool->join();
  // Every attempt is decided by now: write the last accounting lines.
  (*accounting)->close();
  core::log::info("stopped");
  return 0;
}

}  // namespace app
