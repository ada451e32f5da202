// transports/messenger.h: the messenger and HTTP SMS transports — Telegram,
// Viber, VK, WhatsApp and Twilio SMS — on the shared HTTPS client.
//
// One Transport per channel with at least one configured account
// (core::ChannelAccount). A message goes through the first account whose
// tenants and categories include its own; its destination is
// "<channel>:<account>", so throttle rules, backoff and pauses apply per
// bot, token or number. A message no account serves fails on this channel
// at once (554 5.3.5, so channel fallback moves it on).
//
// Each delivery of a batch is one provider call, all of a batch in flight
// at once (the engine's per-destination concurrency and rate bound them);
// the codec (transports/providers/) builds the request and classifies the
// answer by the one reply convention of codec.h. Channel rules the engine
// cannot know are kept here:
//  - Telegram: at most one message per chat per telegram.per_chat_interval
//    (the Bot API's ~1 msg/s per chat): a second message to a chat waits;
//    a group upgraded to a supergroup (migrate_to_chat_id) is re-addressed
//    once, and the log says which chat id to update.
//  - VK: random_id derived from the message id, so a retry of a request
//    that did reach VK creates no second message.
//  - WhatsApp: free-form only inside the 24 h customer window (the user
//    wrote to the number within 24 hours, as its webhooks told us:
//    conversation_window.h); outside it the account's approved template
//    when one is configured. A 131047 (the window closed after all) is
//    sent again at once as the template, else it fails on the channel
//    (and falls back).
//  - Twilio: StatusCallback = sms.status_callback_base + account name.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "transports/http_client.h"
#include "transports/transport.h"

namespace transports {

// The transports `config` enables, in channel order; empty when no provider
// has an account. SMS is left out when [[sms.smpp]] binds are configured:
// then transports/smpp/sms_channel.h serves the channel, with the Twilio
// accounts behind it. Errors: kInvalidArgument naming the key (a base_url
// that does not parse).
core::Result<std::vector<std::shared_ptr<Transport>>> make_provider_transports(
    const core::Config& config, std::shared_ptr<HttpClient> http,
    boost::asio::any_io_executor executor);

// One provider's transport: `channel` served through the accounts of
// `config` (telegram, viber, vk, whatsapp or the Twilio side of sms).
core::Result<std::shared_ptr<Transport>> make_provider_transport(
    core::Channel channel, const core::ProviderConfig& config, std::string_view key,
    std::shared_ptr<HttpClient> http, boost::asio::any_io_executor executor);

// Whether an account with these lists serves `record`: its tenant and its
// category are listed (an empty list serves all). The one selection rule of
// every provider account and SMPP bind.
bool account_serves(const std::vector<std::string>& tenants,
                    const std::vector<std::string>& categories, const core::MessageRecord& record);

// Whether any of the providers has an account (so an HTTP client is needed).
bool any_provider_configured(const core::Config& config) noexcept;

// The HTTP client options of [http].
HttpClientOptions http_client_options(const core::HttpConfig& c);

}  // namespace transports
