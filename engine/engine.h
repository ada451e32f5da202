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

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/message.h"
#include "core/result.h"
#include "queue/queue.h"
#include "transports/transport.h"

namespace engine {

// The retry schedule as data (tested as data, STYLE.md R13).
class RetryPolicy {
 public:
  explicit RetryPolicy(const core::RetryConfig& config);
  // Retries allowed after the first attempt (schedule length; 4 by default).
  uint32_t max_retries() const noexcept;
  // Delay before the next try after `attempts_made` attempts (1-based count
  // of attempts already made), jittered with `rng_unit` in [0,1); nullopt
  // when no retry is left.
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
  size_t ready = 0;       // leased, waiting for a send slot
  size_t in_flight = 0;   // messages inside transport sends
  uint32_t concurrency = 0;
};

class Engine {
 public:
  // `spool`, `transports` and `clock` must outlive the Engine.
  Engine(std::shared_ptr<const core::Config> config, queue::Spool& spool,
         const transports::Registry& transports, const core::Clock& clock,
         boost::asio::any_io_executor executor);
  ~Engine();

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Chooses each message's channel (the first in request.channels the
  // recipient has an address for) and its destination (from the transport
  // serving that channel; "<channel>:<domain or default>" when none is
  // configured yet: such messages wait, they are not refused), then enqueues
  // durably. Items with no usable channel get kInvalidArgument naming
  // "channels". `done` runs on the spool's writer thread (see queue.h) once
  // the batch is durable.
  void submit(std::string tenant, std::vector<core::MessageRequest> requests,
              std::function<void(SubmitResult)> done);

  // Cancels a queued message (see Spool::cancel).
  void cancel(const core::Id& id, std::function<void(core::Result<core::Status>)> done);

  // Starts the dispatcher loop.
  void start();
  // Graceful stop: no new leases; waits up to shutdown_grace for in-flight
  // sends, releases everything still leased back to queued, commits, then
  // calls `done` (on the engine's strand).
  void stop(std::function<void()> done);

  // Runs one dispatcher step now (lease, dispatch, flush results) without
  // waiting for the poll timer. For tests with a ManualClock.
  void TEST_poll();

  std::vector<DestinationState> destinations() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace engine
