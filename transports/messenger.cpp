// transports/messenger.cpp: see messenger.h.
#include "transports/messenger.h"

#include "transports/conversation_window.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "core/log.h"
#include "transports/providers/telegram.h"
#include "transports/providers/twilio.h"
#include "transports/providers/viber.h"
#include "transports/providers/vk.h"
#include "transports/providers/whatsapp.h"

namespace transports {

namespace asio = boost::asio;
using providers::HttpRequest;
using providers::HttpResponse;
using providers::SendResult;
using Steady = std::chrono::steady_clock;

namespace {

// The value at a dotted path of the message's variables ("order.id"), as
// text: strings as they are, numbers and booleans as JSON writes them;
// empty when absent.
std::string variable_text(const boost::json::value& vars, std::string_view path) {
  const boost::json::value* v = &vars;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string_view part = path.substr(0, dot);
    const auto* obj = v->if_object();
    if (obj == nullptr) return {};
    const auto it = obj->find(part);
    if (it == obj->end()) return {};
    v = &it->value();
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  if (const auto* s = v->if_string()) return std::string(s->data(), s->size());
  if (v->is_null()) return {};
  return boost::json::serialize(*v);
}

Outcome no_answer(core::Channel channel, const core::Error& e) {
  Outcome o;
  o.kind = OutcomeKind::kTransient;
  o.blames_message = false;
  // No reply from the provider at all, as an SMTP connection failure:
  // code 0 (the accounting log writes null), 4.4.1 "no answer from host".
  o.reply = {0, e.code == core::Errc::kDeadlineExceeded ? "4.4.7" : "4.4.1",
             providers::clean_text(fmt::format("{}: {}", core::channel_name(channel), e.message))};
  return o;
}

struct BatchState {
  BatchState(size_t n, SendDone d) : outcomes(n), remaining(n), done(std::move(d)) {}
  std::vector<Outcome> outcomes;
  std::atomic<size_t> remaining;
  SendDone done;
  void finish(size_t i, Outcome o) {
    outcomes[i] = std::move(o);
    if (remaining.fetch_sub(1) == 1) done(std::move(outcomes));
  }
};

class ProviderTransport final : public Transport,
                                public std::enable_shared_from_this<ProviderTransport> {
 public:
  ProviderTransport(core::Channel channel, core::ProviderConfig config, BaseUrl base,
                    std::shared_ptr<HttpClient> http, asio::any_io_executor ex)
      : channel_(channel), config_(std::move(config)), base_(std::move(base)),
        http_(std::move(http)), ex_(std::move(ex)) {
    auto peer = std::make_shared<PeerInfo>();
    peer->host = base_.host;
    peer->tls = base_.tls ? "TLS" : "";
    peer_ = std::move(peer);
  }

  std::string_view name() const noexcept override { return core::channel_name(channel_); }
  bool serves(core::Channel c) const noexcept override { return c == channel_; }

  std::string destination(const core::MessageRecord& record, core::Channel) const override {
    const core::ChannelAccount* a = select(record);
    return fmt::format("{}:{}", core::channel_name(channel_), a ? a->name : "none");
  }

  void send(std::vector<Delivery> batch, SendDone done) override {
    if (batch.empty()) {
      done({});
      return;
    }
    auto state = std::make_shared<BatchState>(batch.size(), std::move(done));
    // The batch is ours until done: keep it alive with the state.
    auto deliveries = std::make_shared<std::vector<Delivery>>(std::move(batch));
    for (size_t i = 0; i < deliveries->size(); ++i) start(state, deliveries, i);
  }

 private:
  struct Call {
    std::shared_ptr<BatchState> state;
    std::shared_ptr<std::vector<Delivery>> deliveries;
    size_t index = 0;
    const core::ChannelAccount* account = nullptr;
    std::string address;
    bool migrated = false;   // Telegram: re-addressed once already
    bool templated = false;  // WhatsApp: sent as the template
    const Delivery& delivery() const { return (*deliveries)[index]; }
  };

  const core::ChannelAccount* select(const core::MessageRecord& r) const {
    for (const core::ChannelAccount& a : config_.accounts) {
      if (account_serves(a.tenants, a.categories, r)) return &a;
    }
    return nullptr;
  }

  void start(const std::shared_ptr<BatchState>& state,
             const std::shared_ptr<std::vector<Delivery>>& deliveries, size_t i) {
    const Delivery& d = (*deliveries)[i];
    Call call{state, deliveries, i, select(*d.record),
              std::string(d.record->request.to.address_for(channel_))};
    if (call.account == nullptr) {
      Outcome o;
      o.kind = OutcomeKind::kPermanent;
      o.blames_message = true;
      o.reply = {554, "5.3.5",
                 fmt::format("{}: no account is configured for tenant \"{}\", category \"{}\"",
                             core::channel_name(channel_), d.record->tenant,
                             d.record->request.category)};
      state->finish(i, std::move(o));
      return;
    }
    if (d.rendered == nullptr) {
      Outcome o;
      o.kind = OutcomeKind::kPermanent;
      o.reply = {554, "5.6.0", fmt::format("{}: nothing rendered", core::channel_name(channel_))};
      state->finish(i, std::move(o));
      return;
    }
    // WhatsApp outside the 24 h window: the approved template straight
    // away (conversation_window.h); free-form only while the user's last
    // message is recent.
    if (channel_ == core::Channel::kWhatsapp && !call.account->template_name.empty() &&
        !ConversationWindows::whatsapp().open(call.account->name, call.address,
                                              core::SystemClock::instance().now())) {
      call.templated = true;
    }
    const core::Duration wait = spacing(call);
    if (wait > core::Duration(0)) {
      auto timer = std::make_shared<asio::steady_timer>(ex_, wait);
      timer->async_wait([self = shared_from_this(), timer, call = std::move(call)](
                            boost::system::error_code) mutable { self->issue(std::move(call)); });
      return;
    }
    issue(std::move(call));
  }

  // Telegram's per-chat pace: how long this call must wait so that no chat
  // gets two messages within per_recipient_interval. Reserves its slot.
  core::Duration spacing(const Call& call) {
    const core::Duration interval = config_.per_recipient_interval;
    if (interval <= core::Duration(0)) return core::Duration(0);
    const auto now = Steady::now();
    std::lock_guard lock(pace_mu_);
    if (next_slot_.size() > 100'000) {
      std::erase_if(next_slot_, [now](const auto& kv) { return kv.second < now; });
    }
    auto& slot = next_slot_[call.account->name + '\0' + call.address];
    const Steady::time_point at = std::max(slot, now);
    slot = at + interval;
    return std::chrono::ceil<core::Duration>(at - now);
  }

  HttpRequest build(const Call& c) const {
    const Delivery& d = c.delivery();
    const core::ChannelAccount& a = *c.account;
    const templating::Rendered& r = *d.rendered;
    switch (channel_) {
      case core::Channel::kTelegram:
        return providers::telegram_send_request(a.token, c.address, r, {});
      case core::Channel::kViber:
        return providers::viber_send_request(a.token, c.address, r,
                                             {a.sender_name, a.sender_avatar, 1});
      case core::Channel::kVk:
        return providers::vk_send_request(a.token, c.address, r,
                                          providers::vk_random_id(d.record->id),
                                          {config_.api_version});
      case core::Channel::kWhatsapp: {
        providers::WhatsappOptions o;
        o.api_version = config_.api_version;
        if (c.templated) {
          providers::WhatsappTemplate t;
          t.name = a.template_name;
          t.language = a.template_language;
          boost::system::error_code ec;
          const boost::json::value vars = boost::json::parse(d.record->request.variables_json, ec);
          for (const std::string& p : a.template_params) {
            t.body_params.push_back(ec ? std::string() : variable_text(vars, p));
          }
          return providers::whatsapp_send_request(a.token, a.phone_number_id, c.address, r, &t,
                                                  d.record->id.to_string(), o);
        }
        return providers::whatsapp_send_request(a.token, a.phone_number_id, c.address, r,
                                                nullptr, d.record->id.to_string(), o);
      }
      case core::Channel::kSms: {
        providers::TwilioOptions o;
        o.validity_period_s = config_.validity_period_s;
        const std::string callback = config_.status_callback_base.empty()
                                         ? std::string()
                                         : config_.status_callback_base + a.name;
        return providers::twilio_send_request(a.account_sid, a.token, a.from, c.address, r,
                                              callback, o);
      }
      case core::Channel::kEmail:
        break;
    }
    return {};
  }

  SendResult parse(const Call& c, const HttpResponse& resp) const {
    switch (channel_) {
      case core::Channel::kTelegram: return providers::telegram_parse_send(resp, c.address);
      case core::Channel::kViber: return providers::viber_parse_send(resp);
      case core::Channel::kVk: return providers::vk_parse_send(resp);
      case core::Channel::kWhatsapp: return providers::whatsapp_parse_send(resp);
      case core::Channel::kSms: return providers::twilio_parse_send(resp);
      case core::Channel::kEmail: break;
    }
    return providers::failure(providers::FailureClass::kRetry, false, false, "no codec");
  }

  void issue(Call call) {
    HttpRequest req = build(call);
    http_->request(base_, std::move(req),
                   [self = shared_from_this(), call = std::move(call)](
                       core::Result<HttpResponse> r) mutable { self->answered(std::move(call), r); });
  }

  void answered(Call call, const core::Result<HttpResponse>& r) {
    if (!r) {
      call.state->finish(call.index, no_answer(channel_, r.error()));
      return;
    }
    SendResult sr = parse(call, *r);
    const core::MessageRecord& record = *call.delivery().record;
    if (!sr.migrate_to_chat_id.empty() && !call.migrated) {
      core::log::warn("telegram: the group became a supergroup; sending to its new chat id "
                      "(update the recipient's telegram_chat_id)",
                      {{"id", record.id.to_string()}, {"old_chat_id", call.address},
                       {"new_chat_id", sr.migrate_to_chat_id}});
      call.migrated = true;
      call.address = sr.migrate_to_chat_id;
      issue(std::move(call));
      return;
    }
    if (sr.needs_template && !call.templated && !call.account->template_name.empty()) {
      call.templated = true;
      issue(std::move(call));
      return;
    }
    if (sr.failure == providers::FailureClass::kConfig) {
      core::log::error("provider refused our credentials or account; check the configuration",
                       {{"channel", core::channel_name(channel_)},
                        {"account", call.account->name},
                        {"reply", reply_line(sr.outcome.reply)}});
    }
    sr.outcome.peer = peer_;
    // Kept with the message only where receipts will come for it (Viber,
    // WhatsApp, Twilio): Telegram and VK send none, so storing their ids
    // would cost a write per message for nothing (the reply text has it).
    if (sr.outcome.kind == OutcomeKind::kDelivered && channel_ != core::Channel::kTelegram &&
        channel_ != core::Channel::kVk) {
      sr.outcome.provider_ref = sr.provider_ref;
    }
    call.state->finish(call.index, std::move(sr.outcome));
  }

  const core::Channel channel_;
  const core::ProviderConfig config_;
  const BaseUrl base_;
  std::shared_ptr<HttpClient> http_;
  asio::any_io_executor ex_;
  std::shared_ptr<const PeerInfo> peer_;
  std::mutex pace_mu_;
  std::unordered_map<std::string, Steady::time_point> next_slot_;  // GUARDED_BY(pace_mu_)
};

struct ChannelEntry {
  core::Channel channel;
  const core::ProviderConfig* config;
  const char* key;
};

std::vector<ChannelEntry> entries(const core::Config& c) {
  return {{core::Channel::kTelegram, &c.telegram, "telegram"},
          {core::Channel::kViber, &c.viber, "viber"},
          {core::Channel::kVk, &c.vk, "vk"},
          {core::Channel::kWhatsapp, &c.whatsapp, "whatsapp"},
          {core::Channel::kSms, &c.sms, "sms"}};
}

}  // namespace

bool account_serves(const std::vector<std::string>& tenants,
                    const std::vector<std::string>& categories, const core::MessageRecord& record) {
  auto listed = [](const std::vector<std::string>& list, std::string_view v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  return listed(tenants, record.tenant) && listed(categories, record.request.category);
}

bool any_provider_configured(const core::Config& config) noexcept {
  const auto all = entries(config);
  return std::any_of(all.begin(), all.end(),
                     [](const ChannelEntry& e) { return !e.config->accounts.empty(); });
}

HttpClientOptions http_client_options(const core::HttpConfig& c) {
  HttpClientOptions o;
  o.ca_file = c.ca_file;
  o.verify_peer = c.verify_peer;
  o.connect_timeout = c.connect_timeout;
  o.tls_timeout = c.tls_timeout;
  o.request_timeout = c.request_timeout;
  o.idle_timeout = c.idle_timeout;
  o.max_connections_per_host = c.max_connections_per_host;
  return o;
}

core::Result<std::shared_ptr<Transport>> make_provider_transport(
    core::Channel channel, const core::ProviderConfig& config, std::string_view key,
    std::shared_ptr<HttpClient> http, asio::any_io_executor executor) {
  auto base = parse_base_url(config.base_url, std::string(key) + ".base_url");
  if (!base) return base.error();
  return std::shared_ptr<Transport>(std::make_shared<ProviderTransport>(
      channel, config, std::move(*base), std::move(http), std::move(executor)));
}

core::Result<std::vector<std::shared_ptr<Transport>>> make_provider_transports(
    const core::Config& config, std::shared_ptr<HttpClient> http, asio::any_io_executor executor) {
  std::vector<std::shared_ptr<Transport>> out;
  for (const ChannelEntry& e : entries(config)) {
    if (e.config->accounts.empty()) continue;
    if (e.channel == core::Channel::kSms && !config.smpp.empty()) continue;
    auto t = make_provider_transport(e.channel, *e.config, e.key, http, executor);
    if (!t) return t.error();
    out.push_back(std::move(*t));
  }
  return out;
}

}  // namespace transports
