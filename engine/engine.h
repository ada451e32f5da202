// engine/engine.h: the delivery core; the public header of `engine`.
//
// The Engine routes new messages (channel choice, destination) into the
// spool, and runs the dispatcher: due messages are leased from the spool in
// batches, placed in one ready queue per destination, handed to the
// destination's transport within its concurrency limit, and every outcome is
// turned into a status change (delivered, retry later, failed) committed
// back to the spool in batches. One slow destination never blocks another.
//
// Threading: all dispatcher state lives on one strand of the io_context it
// is given. Public methods may be called from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/message.h"
#include "core/result.h"
#include "queue/queue.h"
#include "templating/render.h"
#include "transports/providers/codec.h"
#include "transports/transport.h"

namespace engine {

class AccountingLog;  // engine/accounting.h
class Throttles;      // engine/throttle.h

// The retry schedule as data (tested as data, STYLE.md R13). Immutable;
// safe to share between threads.
class RetryPolicy {
 public:
  explicit RetryPolicy(const core::RetryConfig& config);
  // Retries allowed after the first attempt (schedule length; 4 by default).
  uint32_t max_retries() const noexcept;
  // Delay before the next try after `attempts_made` attempts (1-based count
  // of attempts already made), jittered with `rng_unit` in [0,1): the
  // schedule's entry scaled by 1 - j + 2 j rng_unit, i.e. within [1-j, 1+j]
  // (j = config jitter, clamped to [0,1]). nullopt when no retry is left
  // (attempts_made > max_retries()).
  // REQUIRES: attempts_made >= 1.
  std::optional<core::Duration> delay_after(uint32_t attempts_made, double rng_unit) const;
  // The un-jittered schedule, for display and tests.
  std::vector<core::Duration> schedule() const;

 private:
  core::RetryConfig config_;
};

struct SubmitResult {
  std::vector<core::Result<queue::EnqueueOutcome>> items;  // one per request, in order
};

// Per-destination state, for GET /v1/queues and `vestnik queue`.
struct DestinationState {
  std::string destination;
  size_t ready = 0;      // leased, waiting for a send slot
  size_t in_flight = 0;  // messages inside transport sends
  uint32_t concurrency = 0;
};

// A provider's callback as the API received it (POST or GET
// /v1/callbacks/<channel>/<account>), for Engine::provider_callback.
struct ProviderCallback {
  core::Channel channel = core::Channel::kEmail;
  std::string account;  // the account name of the URL
  std::string method;   // "POST", "GET"
  std::string target;   // path and query as received
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
};
// What to answer the provider.
struct CallbackAnswer {
  unsigned status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

// The fields of a one-click unsubscribe token (templating::
// kUnsubscribeTokenKind): "u1", tenant, channel, address, category.
struct UnsubscribeToken {
  std::string tenant;
  std::string channel;
  std::string address;  // normalized (core::normalize_address)
  std::string category;
};

class Engine {
 public:
  // `spool`, `transports` and `clock` must outlive the Engine, and the
  // executor's execution context must outlive it too. Destroying an Engine
  // that was not stopped abandons what it holds: leased messages go back to
  // queued when the spool reclaims their expired leases. `accounting`, when
  // not null, gets one entry per attempt (delivered, deferred or failed,
  // abandoned sends included) and must outlive the Engine.
  Engine(std::shared_ptr<const core::Config> config, queue::Spool& spool,
         const transports::Registry& transports, const core::Clock& clock,
         boost::asio::any_io_executor executor, AccountingLog* accounting = nullptr);
  ~Engine();

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Chooses each message's channel (the first in request.channels the
  // recipient has an address for) and its destination (from the transport
  // serving that channel; "<channel>:<domain or default>" when none is
  // configured yet: such messages wait, they are not refused), then enqueues
  // durably. Items with no usable channel get kInvalidArgument naming
  // "channels" and keep their position in the result. `done` runs on the
  // spool's writer thread (see queue.h) once the batch is durable, or on the
  // calling thread, before submit() returns, when no item was routable.
  // When something became due now, the dispatcher is woken at once.
  void submit(std::string tenant, std::vector<core::MessageRequest> requests,
              std::function<void(SubmitResult)> done);
  // submit() for requests that share one content, stored once (the
  // recipients of one SMTP injection; queue::NewMessage::content_of):
  // content_of[i], when set, is the index of an earlier request whose
  // content request i uses; request i then carries no content itself
  // (else kInvalidArgument "content_of"). The content rules below apply to
  // each sharer on its own channel and with its own variables. A request
  // sharing the content of a refused one is refused with kInvalidArgument
  // "content_of". `content_of` is empty (nothing shared) or has one entry
  // per request (else every item is refused, field "content_of").
  void submit(std::string tenant, std::vector<core::MessageRequest> requests,
              std::vector<std::optional<uint32_t>> content_of,
              std::function<void(SubmitResult)> done);

  // Content rules applied by submit(), per message, after routing:
  //  - template_id names a live template of the tenant (else
  //    kInvalidArgument, field "template_id"); the message keeps the version
  //    current now (content.template_version), so a later edit never changes
  //    a message already accepted;
  //  - a strict template must render on the chosen channel without a missing
  //    variable (else kInvalidArgument, field "variables", naming them);
  //  - inline content must compile (else kInvalidArgument naming the part,
  //    "line L, column C: reason");
  //  - raw content (email injected over SMTP) goes alone, without template
  //    or other parts, and only on the email channel: every channel of the
  //    request must be email (else kInvalidArgument, field "content.raw").
  //    It is never compiled nor rendered: the transport sends it as is.

  // Templates (PUT/DELETE /v1/templates/{id}). put_template compiles every
  // part first: one that does not compile is refused (kInvalidArgument
  // naming the part, with line and column) and nothing is stored; `done`
  // then runs before put_template returns. Otherwise `done` runs on the
  // spool's writer thread once the new version is durable.
  // delete_template: kNotFound when there is no live template.
  void put_template(std::string tenant, std::string id, core::TemplateSource source,
                    std::function<void(core::Result<queue::StoredTemplate>)> done);
  void delete_template(std::string tenant, std::string id,
                       std::function<void(core::Result<queue::StoredTemplate>)> done);

  // Renders `request` (its template or inline content, with its variables)
  // for `channel` as delivery would, storing nothing: for previews. A
  // template is taken at `template_version` if that is set in the request's
  // content, else at its current version. Thread-safe.
  core::Result<templating::Rendered> render(std::string_view tenant,
                                            const core::MessageRequest& request,
                                            core::Channel channel) const;

  // Cancels a message that is queued or waiting for a retry (see
  // Spool::cancel). A message leased by this engine but still waiting in a
  // ready queue (not yet handed to a transport) is taken out and cancelled
  // too; one inside a transport send gets kConflict. `done` runs on the
  // spool's writer thread or the engine's strand.
  void cancel(const core::Id& id, std::function<void(core::Result<core::MessageStatus>)> done);

  // A provider callback: authenticated exactly as the provider signs it
  // (transports/providers/), its receipts applied durably (Spool::
  // apply_receipts; a failure after acceptance falls back to the message's
  // next channel when it has one), then answered: 200 after the commit
  // (the provider retries anything else), 401/403 when the signature or
  // secret is wrong, 404 for an unknown channel or account, 503 when the
  // spool cannot commit. Blocks, unblocks and inbound messages are logged
  // (suppressions per channel come with issue #7). `done` runs on the
  // spool's writer thread or the caller's.
  void provider_callback(ProviderCallback callback, std::function<void(CallbackAnswer)> done);
  // Receipts a transport reports by itself (SMPP delivery receipts), applied
  // as provider_callback applies them. `done` may be empty.
  void apply_receipts(std::vector<transports::providers::Receipt> receipts,
                      std::function<void(core::Result<queue::ReceiptStats>)> done = {});

  // ---- suppressions, unsubscribes and reports (issue #7) ----------------
  // Adds suppressions (the API, the CLI). Each entry's fields are checked
  // (core::check_suppression_fields: kInvalidArgument naming the field and
  // the entry's index, "suppressions[2].channel"), its address normalized
  // and created_at set to now when unset; nothing is stored if any entry
  // is refused. Messages of a suppressed recipient already queued become
  // forbidden when their turn to be sent comes (the dispatcher checks every
  // message before sending). `done` runs once the entries are durable.
  void suppress(std::vector<core::Suppression> entries, std::function<void(core::Status)> done);
  // Removes the entries of `which`.tenant/channel/address (address
  // normalized here); which.category empty: every category. `done` gets
  // how many were removed.
  void unsuppress(core::Suppression which, std::function<void(core::Result<size_t>)> done);
  // The entries of a tenant (Spool::list_suppressions; q.address is
  // normalized here).
  core::Result<std::vector<core::Suppression>> list_suppressions(queue::SuppressionQuery q) const;
  // Opens a one-click unsubscribe token (GET /u/{token} shows what it would
  // do). kInvalidArgument, field "token", for a forged or foreign token.
  core::Result<UnsubscribeToken> read_unsubscribe(std::string_view token) const;
  // Unsubscribes the token's recipient from its category on its channel
  // (reason unsubscribed; `how` goes into the detail: "one-click", "page",
  // "mailto"). Idempotent. `done` runs once durable.
  void unsubscribe(std::string_view token, std::string how,
                   std::function<void(core::Result<UnsubscribeToken>)> done);
  // A report the SMTP listener accepted for an [inbound] address: stored
  // durably (`done` gets its id), then parsed, matched to the message it is
  // about and applied (bounce, complaint, unsubscribe) off the caller's
  // thread. Reports left by a crash are processed at start().
  void receive_report(queue::InboundReport report, std::function<void(core::Result<core::Id>)> done);

  // Starts the dispatcher loop and the lease-reclaim and purge timers.
  // Idempotent; ignored after stop().
  void start();
  // Graceful stop: no new leases and no new sends; messages waiting in ready
  // queues are released back to queued at once; waits up to shutdown_grace
  // for in-flight sends, releases whatever is still leased back to queued
  // (due now, not counted as an attempt), commits, then calls `done` (on the
  // engine's strand). Outcomes arriving later are ignored. Calling stop()
  // again queues another `done` for the same completion.
  void stop(std::function<void()> done);

  // Runs dispatcher steps now, without waiting for the poll timer, until the
  // engine is quiet: repeats "step, then wait until every spool operation
  // in progress has completed and its result was taken in" while a step
  // made progress (leased, dispatched, took outcomes or flushed) or work is
  // still under way (an answer posted but not taken in, a decision not yet
  // committed), at most 64 times. Outcomes a transport gives inside send()
  // (or before TEST_poll is called) are thus committed
  // before TEST_poll returns, which makes tests with a ManualClock
  // deterministic. Works with or without start().
  // REQUIRES: the executor is run by another thread (or this call is made
  // from inside the engine's strand, where it runs a single step).
  void TEST_poll();
  // The dispatcher would lease new mail as it is stored right now
  // (engine.direct_lease's gate is open). Any thread.
  bool TEST_direct_lease_open() const;

  // The destinations' throttles (engine/throttle.h), built from
  // config->throttle: live tuning, pauses, state. Thread-safe; lives as
  // long as the Engine.
  Throttles& throttles();

  // Thread-safe snapshot of the ready queues, refreshed on every poll tick
  // (so at most engine.poll_interval old), by TEST_poll and at stop.
  std::vector<DestinationState> destinations() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace engine
