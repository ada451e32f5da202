// engine/router.cpp: channel choice and destination of a new message.
#include "engine/router.h"

#include <utility>

namespace engine {

namespace {

std::string destination_for(core::MessageRequest& request, const transports::Registry& registry,
                            uint32_t index) {
  const core::Channel channel = request.channels[index];
  const transports::Transport* t = registry.find(channel);
  if (t == nullptr) return transports::default_destination(channel, request.to.address_for(channel));
  // Transport::destination() reads a record; lend it the request by move
  // rather than copying the whole request (content included) per message.
  core::MessageRecord record;
  record.request = std::move(request);
  record.channel_index = index;
  std::string d = t->destination(record, channel);
  request = std::move(record.request);
  return d;
}

}  // namespace

core::Result<Route> route(core::MessageRequest& request, const transports::Registry& registry,
                          const ForbiddenCheck& forbidden) {
  std::optional<Route> first_forbidden;
  for (size_t i = 0; i < request.channels.size(); ++i) {
    const core::Channel channel = request.channels[i];
    if (request.to.address_for(channel).empty()) continue;
    if (forbidden) {
      if (auto why = forbidden(request, channel)) {
        if (!first_forbidden) {
          first_forbidden.emplace();
          first_forbidden->channel_index = static_cast<uint32_t>(i);
          first_forbidden->forbidden = std::move(*why);
        }
        continue;
      }
    }
    Route r;
    r.channel_index = static_cast<uint32_t>(i);
    r.destination = destination_for(request, registry, r.channel_index);
    return r;
  }
  if (first_forbidden) {
    first_forbidden->destination = destination_for(request, registry, first_forbidden->channel_index);
    return std::move(*first_forbidden);
  }
  return core::invalid_argument("channels", "the recipient has no address on any of the channels");
}

std::optional<Route> next_route(const core::MessageRecord& record,
                                const transports::Registry& registry,
                                const ForbiddenCheck& forbidden) {
  const auto& channels = record.request.channels;
  for (size_t i = static_cast<size_t>(record.channel_index) + 1; i < channels.size(); ++i) {
    const core::Channel channel = channels[i];
    if (record.request.to.address_for(channel).empty()) continue;
    const transports::Transport* t = registry.find(channel);
    if (t == nullptr) continue;
    if (forbidden && forbidden(record.request, channel)) continue;
    Route r;
    r.channel_index = static_cast<uint32_t>(i);
    r.destination = t->destination(record, channel);
    return r;
  }
  return std::nullopt;
}

}  // namespace engine
