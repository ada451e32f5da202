// engine/retry_policy.cpp: the retry schedule as data.
//
// A transient failure after attempt k (1-based) waits schedule[k-1], scaled
// by a random factor in [1-j, 1+j] so that messages that failed together
// (a destination's outage) do not all come back in the same second. The
// schedule's length is the number of retries: with the default four entries
// a message is tried at most five times. The configuration was validated at
// load; the clamps here only keep the arithmetic safe.
#include <algorithm>
#include <cassert>
#include <cmath>

#include "engine/engine.h"

namespace engine {

RetryPolicy::RetryPolicy(const core::RetryConfig& config) : config_(config) {
  config_.jitter = std::clamp(config_.jitter, 0.0, 1.0);
  if (std::isnan(config_.jitter)) config_.jitter = 0.0;
}

uint32_t RetryPolicy::max_retries() const noexcept {
  return static_cast<uint32_t>(config_.schedule.size());
}

std::optional<core::Duration> RetryPolicy::delay_after(uint32_t attempts_made,
                                                       double rng_unit) const {
  assert(attempts_made >= 1);
  if (attempts_made == 0) attempts_made = 1;
  if (attempts_made > max_retries()) return std::nullopt;
  const core::Duration base = std::max(config_.schedule[attempts_made - 1], core::Duration(0));
  if (!(rng_unit >= 0.0)) rng_unit = 0.0;  // also catches NaN
  rng_unit = std::min(rng_unit, 1.0);
  const double j = config_.jitter;
  const double factor = 1.0 - j + 2.0 * j * rng_unit;
  const double ms = std::round(static_cast<double>(base.count()) * factor);
  return core::Duration(static_cast<core::Duration::rep>(ms));
}

std::vector<core::Duration> RetryPolicy::schedule() const { return config_.schedule; }

}  // namespace engine
