// transports/smpp/sms_channel.h: the SMS channel when SMPP binds are
// configured — every [[sms.smpp]] bind and the [[sms.twilio]] accounts
// behind one Transport.
//
// A message goes through the first bind, then the first Twilio account,
// whose tenants and categories include its own (empty lists: all), in file
// order; its destination is "sms:<name>", so each bind or account has its
// own throttle, backoff and pause. A message nothing serves fails on SMS at
// once (554 5.3.5) and falls back to its next channel.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>

#include "core/config.h"
#include "core/result.h"
#include "transports/http_client.h"
#include "transports/providers/codec.h"
#include "transports/transport.h"

namespace transports::smpp {

class SmsChannel : public Transport {
 public:
  // Delivery receipts of every bind go to `on_receipt` (may be empty).
  // `http` may be null when no Twilio account is configured. Errors name
  // the key ("sms.smpp[1].system_id: ...").
  static core::Result<std::shared_ptr<SmsChannel>> create(
      const core::Config& config, std::shared_ptr<HttpClient> http,
      boost::asio::any_io_executor executor,
      std::function<void(providers::Receipt)> on_receipt);

  // Unbinds every SMPP session; `stopped` is called once all are down.
  virtual void stop(std::function<void()> stopped) = 0;
};

}  // namespace transports::smpp
