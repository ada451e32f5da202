// transports/shaping.h: the connection side of a destination's throttle.
//
// engine/ decides how fast a destination may go (engine/throttle.h: rules,
// rates, backoff). The message rate it enforces itself, before a send; the
// connection limits only a transport that holds connections can keep, so
// the engine hands each batch a ConnectionShaper (Delivery::shaping) and
// the transport asks it before opening a connection and tells it when one
// closes. Defined here, in the lower layer, so transports never depend on
// engine/ (ARCHITECTURE.md: lower layers learn about higher ones only
// through interfaces they define).
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.h"

namespace transports {

class ConnectionShaper {
 public:
  virtual ~ConnectionShaper() = default;

  // Name of the throttle group ("google", "default:email:example.com"),
  // for logs. Stable for the object's life.
  virtual const std::string& name() const noexcept = 0;
  // The rule the group follows ("google", "default").
  virtual std::string rule() const = 0;
  // A shared group (a provider: one set of limits over every destination
  // it matches) counts connections itself, through try_open()/closed(),
  // across all the sites it spans. For other groups the limits apply per
  // site (the set of MX hosts, as KumoMTA and PowerMTA apply them), and the
  // transport counts: max_connections() there at once.
  virtual bool shared() const = 0;
  virtual uint32_t max_connections() const = 0;

  // Shared groups: may a new connection open now? When true it is counted as open until
  // closed() is called. When false, *retry_in says when the connection
  // rate allows the next one, or is zero when the group is at its
  // connection limit (ask again when one of its connections closes) or
  // suspended. Thread-safe.
  virtual bool try_open(core::TimePoint now, core::Duration* retry_in) = 0;
  // A connection counted by try_open() closed. Thread-safe.
  virtual void closed() = 0;

  // How many messages one connection may carry before QUIT, now (a backoff
  // may lower it). Thread-safe.
  virtual uint32_t messages_per_connection() const = 0;
};

}  // namespace transports
