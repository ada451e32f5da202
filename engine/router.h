// engine/router.h: which channel and which ready queue a new message takes.
//
// Private to engine/. Pure functions over the request and the transport
// registry: no I/O, no locks, safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/message.h"
#include "core/result.h"
#include "transports/transport.h"

namespace engine {

struct Route {
  uint32_t channel_index = 0;  // into request.channels
  std::string destination;     // ready-queue key
  // Not empty: the recipient may not receive on any channel it has an
  // address for; why (the first channel's suppression). The message is
  // stored forbidden on the first such channel.
  std::string forbidden;
};

// Why the recipient may not receive on `channel` (a suppression, in words),
// or nullopt. Called from the router on the caller's thread.
using ForbiddenCheck = std::function<std::optional<std::string>(const core::MessageRequest& request,
                                                                core::Channel channel)>;

// The first channel in request.channels for which request.to has an
// address; its destination comes from the transport serving it, or, when
// none is configured, transports::default_destination() (the message then
// waits in the queue until a transport exists). kInvalidArgument with field
// "channels" when no channel has an address. With `forbidden`, channels on
// which the recipient is suppressed are passed over; when every channel
// with an address is, the route is the first of them with
// Route::forbidden set.
// `request` is only borrowed: it is moved into a temporary record for the
// transport's destination() and moved back before returning.
core::Result<Route> route(core::MessageRequest& request, const transports::Registry& registry,
                          const ForbiddenCheck& forbidden = {});

// Channel fallback: the first channel after record.channel_index for which
// the recipient has an address and a transport is configured (a channel
// nobody serves would only make the message wait), with the destination
// that transport gives. nullopt when there is none. With `forbidden`,
// channels on which the recipient is suppressed are passed over too.
std::optional<Route> next_route(const core::MessageRecord& record,
                                const transports::Registry& registry,
                                const ForbiddenCheck& forbidden = {});

}  // namespace engine
