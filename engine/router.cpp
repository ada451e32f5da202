// engine/router.cpp: channel choice and destination of a new message.
#include "engine/router.h"

#include <utility>

namespace engine {

core::Result<Route> route(core::MessageRequest& request, const transports::Registry& registry) {
  for (size_t i = 0; i < request.channels.size(); ++i) {
    const core::Channel channel = request.channels[i];
    const std::string_view address = request.to.address_for(channel);
    if (address.empty()) continue;
    Route r;
    r.channel_index = static_cast<uint32_t>(i);
    const transports::Transport* t = registry.find(channel);
    if (t == nullptr) {
      r.destination = transports::default_destination(channel, address);
      return r;
    }
    // Transport::destination() reads a record; lend it the request by move
    // rather than copying the whole request (content included) per message.
    core::MessageRecord record;
    record.request = std::move(request);
    record.channel_index = r.channel_index;
    r.destination = t->destination(record, channel);
    request = std::move(record.request);
    return r;
  }
  return core::invalid_argument("channels", "the recipient has no address on any of the channels");
}

std::optional<Route> next_route(const core::MessageRecord& record,
                                const transports::Registry& registry) {
  const auto& channels = record.request.channels;
  for (size_t i = static_cast<size_t>(record.channel_index) + 1; i < channels.size(); ++i) {
    const core::Channel channel = channels[i];
    if (record.request.to.address_for(channel).empty()) continue;
    const transports::Transport* t = registry.find(channel);
    if (t == nullptr) continue;
    Route r;
    r.channel_index = static_cast<uint32_t>(i);
    r.destination = t->destination(record, channel);
    return r;
  }
  return std::nullopt;
}

}  // namespace engine
