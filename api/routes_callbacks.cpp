// api/routes_callbacks.cpp: POST|GET /v1/callbacks/{channel}/{account} —
// provider callbacks (Viber events, WhatsApp status webhooks and its GET
// verification, Twilio status callbacks, Telegram updates, VK Callback API).
//
// No API key: each provider authenticates itself the way it signs
// (engine/receipts.cpp checks it). The answer goes out after the receipts
// are durable, so a provider whose callback we could not store sends it
// again.
#include <string>

#include "api/bridge.h"
#include "api/response.h"
#include "api/routes.h"
#include "engine/engine.h"

namespace api {

boost::asio::awaitable<Response> provider_callback(Services& s, const Request& req) {
  const std::string_view param = req.param;
  const size_t slash = param.find('/');
  const std::string_view channel_name = param.substr(0, slash);
  const auto channel = core::parse_channel(channel_name);
  if (!channel || *channel == core::Channel::kEmail) {
    Response r;
    r.status = 404;
    r.content_type = kTextType;
    r.body = "no callbacks for channel \"" + std::string(channel_name) + "\"";
    co_return r;
  }
  engine::ProviderCallback cb;
  cb.channel = *channel;
  cb.account = std::string(param.substr(slash + 1));
  cb.method = req.method == boost::beast::http::verb::post ? "POST" : "GET";
  cb.target = std::string(req.target);
  cb.headers = req.headers;
  cb.body = std::string(req.body);
  auto answer = co_await await_callback<engine::CallbackAnswer>(
      [&s, &cb](std::function<void(engine::CallbackAnswer)> done) {
        s.engine.provider_callback(std::move(cb), std::move(done));
      },
      spool_deadline(s));
  Response r;
  if (!answer) {
    r.status = 503;
    r.content_type = kTextType;
    r.body = "try again later";
    co_return r;
  }
  r.status = answer->status;
  r.content_type = answer->content_type.starts_with("application/json") ? kJsonType : kTextType;
  r.body = std::move(answer->body);
  co_return r;
}

}  // namespace api
