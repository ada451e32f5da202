// transports/smpp/sms_channel.cpp: see sms_channel.h.
#include "transports/smpp/sms_channel.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "transports/messenger.h"
#include "transports/smpp/sms_smpp.h"

namespace transports::smpp {
namespace {

struct Route {
  std::string name;
  const std::vector<std::string>* tenants = nullptr;
  const std::vector<std::string>* categories = nullptr;
  std::shared_ptr<Transport> transport;
  std::shared_ptr<SmppTransport> smpp;  // set for binds
};

class Channel final : public SmsChannel {
 public:
  explicit Channel(core::Config config) : config_(std::move(config)) {}

  core::Status build(std::shared_ptr<HttpClient> http, boost::asio::any_io_executor ex,
                     std::function<void(providers::Receipt)> on_receipt) {
    for (size_t i = 0; i < config_.smpp.size(); ++i) {
      const core::SmppBind& b = config_.smpp[i];
      SmppOptions o;
      o.name = b.name;
      o.host = b.host;
      o.port = b.port;
      o.system_id = b.system_id;
      o.password = b.password;
      o.system_type = b.system_type;
      o.source_addr = b.source_addr;
      o.source_addr_ton = b.source_ton;
      o.source_addr_npi = b.source_npi;
      o.registered_delivery = b.delivery_receipts ? 0x01 : 0x00;
      o.window = b.window;
      o.tps = b.tps;
      o.connect_timeout = b.connect_timeout;
      o.bind_timeout = b.response_timeout;
      o.response_timeout = b.response_timeout;
      o.enquire_link_interval = b.enquire_link_interval;
      auto t = SmppTransport::create(ex, std::move(o), on_receipt);
      if (!t) {
        const std::string key = fmt::format("sms.smpp[{}]", i);
        return core::invalid_argument(key, key + ": " + t.error().message);
      }
      routes_.push_back({b.name, &b.tenants, &b.categories, *t, *t});
    }
    if (!config_.sms.accounts.empty()) {
      if (!http) return core::invalid_argument("sms.twilio", "sms.twilio: no HTTP client");
      auto t = make_provider_transport(core::Channel::kSms, config_.sms, "sms", http, ex);
      if (!t) return t.error();
      for (const core::ChannelAccount& a : config_.sms.accounts) {
        routes_.push_back({a.name, &a.tenants, &a.categories, *t, nullptr});
      }
    }
    return {};
  }

  std::string_view name() const noexcept override { return "sms"; }
  bool serves(core::Channel c) const noexcept override { return c == core::Channel::kSms; }

  std::string destination(const core::MessageRecord& r, core::Channel) const override {
    for (const Route& route : routes_) {
      if (account_serves(*route.tenants, *route.categories, r)) {
        return "sms:" + route.name;
      }
    }
    return "sms:none";
  }

  void send(std::vector<Delivery> batch, SendDone done) override {
    if (batch.empty()) {
      done({});
      return;
    }
    // One batch is one destination: "sms:<name>" names its route.
    const std::string& dest = batch.front().record->destination;
    const std::string_view name = std::string_view(dest).substr(dest.find(':') + 1);
    for (const Route& route : routes_) {
      if (route.name == name) {
        route.transport->send(std::move(batch), std::move(done));
        return;
      }
    }
    std::vector<Outcome> out(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      out[i].kind = OutcomeKind::kPermanent;
      out[i].reply = {554, "5.3.5",
                      fmt::format("sms: no SMPP bind or Twilio account is configured for tenant "
                                  "\"{}\", category \"{}\"",
                                  batch[i].record->tenant, batch[i].record->request.category)};
    }
    done(std::move(out));
  }

  void stop(std::function<void()> stopped) override {
    std::vector<std::shared_ptr<SmppTransport>> binds;
    for (const Route& r : routes_) {
      if (r.smpp) binds.push_back(r.smpp);
    }
    if (binds.empty()) {
      if (stopped) stopped();
      return;
    }
    auto left = std::make_shared<std::atomic<size_t>>(binds.size());
    auto cb = std::make_shared<std::function<void()>>(std::move(stopped));
    for (auto& b : binds) {
      b->stop([left, cb] {
        if (left->fetch_sub(1) == 1 && *cb) (*cb)();
      });
    }
  }

 private:
  const core::Config config_;  // routes point into it
  std::vector<Route> routes_;
};

}  // namespace

core::Result<std::shared_ptr<SmsChannel>> SmsChannel::create(
    const core::Config& config, std::shared_ptr<HttpClient> http,
    boost::asio::any_io_executor executor, std::function<void(providers::Receipt)> on_receipt) {
  auto c = std::make_shared<Channel>(config);
  if (auto st = c->build(std::move(http), std::move(executor), std::move(on_receipt)); !st) {
    return st.error();
  }
  return std::shared_ptr<SmsChannel>(std::move(c));
}

}  // namespace transports::smpp
