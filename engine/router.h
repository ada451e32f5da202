// engine/router.h: which channel and which ready queue a new message takes.
//
// Private to engine/. Pure functions over the request and the transport
// registry: no I/O, no locks, safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/message.h"
#include "core/result.h"
#include "transports/transport.h"

namespace engine {

struct Route {
  uint32_t channel_index = 0;  // into request.channels
  std::string destination;     // ready-queue key
};

// The first channel in request.channels for which request.to has an
// address; its destination comes from the transport serving it, or, when
// none is configured, transports::default_destination() (the message then
// waits in the queue until a transport exists). kInvalidArgument with field
// "channels" when no channel has an address.
// `request` is only borrowed: it is moved into a temporary record for the
// transport's destination() and moved back before returning.
core::Result<Route> route(core::MessageRequest& request, const transports::Registry& registry);

}  // namespace engine
