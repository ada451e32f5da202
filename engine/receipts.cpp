// engine/receipts.cpp: see receipts.h.
#include "engine/receipts.h"

#include "transports/conversation_window.h"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include "core/log.h"
#include "core/metrics.h"
#include "engine/feedback.h"
#include "engine/router.h"
#include "transports/providers/telegram.h"
#include "transports/providers/twilio.h"
#include "transports/providers/viber.h"
#include "transports/providers/vk.h"
#include "transports/providers/whatsapp.h"

namespace engine {

namespace pv = transports::providers;

namespace {

const core::ChannelAccount* find_account(const core::ProviderConfig& c, std::string_view name) {
  for (const core::ChannelAccount& a : c.accounts) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

pv::CallbackResult not_found(std::string why) {
  pv::CallbackResult r;
  r.status = 404;
  r.body = "not found";
  r.error = std::move(why);
  return r;
}

struct ReceiptMetrics {
  core::metrics::Counter* applied;
  core::metrics::Counter* ignored;
  core::metrics::Counter* refused;
  core::metrics::Counter* subscription;
  static const ReceiptMetrics& get() {
    static const ReceiptMetrics m = [] {
      auto& r = core::metrics::Registry::global();
      ReceiptMetrics x{};
      x.applied = r.counter("vestnik_receipts_applied_total",
                            "Provider receipts (callbacks, SMPP delivery receipts) that moved a "
                            "message forward.");
      x.ignored = r.counter("vestnik_receipts_ignored_total",
                            "Provider receipts about no message we know, or not moving it "
                            "forward (duplicates, out of order).");
      x.refused = r.counter("vestnik_callbacks_refused_total",
                            "Provider callbacks refused: bad signature or secret, malformed, "
                            "unknown account.");
      x.subscription = r.counter("vestnik_receipts_subscription_total",
                                 "Blocks, unblocks and inbound messages reported by providers.");
      return x;
    }();
    return m;
  }
};

}  // namespace

pv::CallbackResult parse_callback(const core::Config& config, const ProviderCallback& cb) {
  pv::CallbackRequest req;
  req.method = cb.method;
  req.target = cb.target;
  req.headers = cb.headers;
  req.body = cb.body;
  switch (cb.channel) {
    case core::Channel::kTelegram: {
      const core::ChannelAccount* a = find_account(config.telegram, cb.account);
      if (!a) return not_found("unknown telegram bot \"" + cb.account + "\"");
      return pv::telegram_callback(req, a->webhook_secret);
    }
    case core::Channel::kViber: {
      const core::ChannelAccount* a = find_account(config.viber, cb.account);
      if (!a) return not_found("unknown viber account \"" + cb.account + "\"");
      return pv::viber_callback(req, a->token);
    }
    case core::Channel::kVk: {
      const core::ChannelAccount* a = find_account(config.vk, cb.account);
      if (!a) return not_found("unknown vk community \"" + cb.account + "\"");
      return pv::vk_callback(req, a->webhook_secret, a->confirmation);
    }
    case core::Channel::kWhatsapp: {
      const core::ChannelAccount* a = find_account(config.whatsapp, cb.account);
      if (!a) return not_found("unknown whatsapp number \"" + cb.account + "\"");
      return pv::whatsapp_callback(req, config.whatsapp.app_secret, config.whatsapp.verify_token);
    }
    case core::Channel::kSms: {
      const core::ChannelAccount* a = find_account(config.sms, cb.account);
      if (!a) return not_found("unknown twilio account \"" + cb.account + "\"");
      // Twilio signs the URL it called: the configured public base + name,
      // with the query as received.
      const size_t q = cb.target.find('?');
      req.url = config.sms.status_callback_base + a->name +
                (q == std::string::npos ? std::string() : cb.target.substr(q));
      return pv::twilio_callback(req, a->token);
    }
    case core::Channel::kEmail:
      break;
  }
  return not_found("no callbacks on this channel");
}

std::optional<queue::ReceiptUpdate> to_update(const pv::Receipt& r) {
  if (r.provider_ref.empty()) return std::nullopt;
  queue::ReceiptUpdate u;
  u.channel = r.channel;
  u.provider_ref = r.provider_ref;
  switch (r.kind) {
    case pv::ReceiptKind::kDelivered:
      u.kind = queue::ReceiptUpdate::Kind::kDelivered;
      u.detail = std::string(core::channel_name(r.channel)) + ": delivered to the recipient's device";
      return u;
    case pv::ReceiptKind::kRead:
      u.kind = queue::ReceiptUpdate::Kind::kRead;
      u.detail = std::string(core::channel_name(r.channel)) + ": read by the recipient";
      return u;
    case pv::ReceiptKind::kFailed: {
      u.kind = queue::ReceiptUpdate::Kind::kFailed;
      core::Reply reply = r.reply;
      if (reply.code == 0 && reply.enhanced.empty()) {
        reply = {550, "5.0.0", std::string(core::channel_name(r.channel)) + ": failed after acceptance"};
      }
      u.detail = transports::reply_line(reply);
      u.bounce = core::Bounce{std::string(bounce_category(reply)), reply};
      return u;
    }
    case pv::ReceiptKind::kBlocked:
    case pv::ReceiptKind::kUnblocked:
    case pv::ReceiptKind::kInbound:
      break;
  }
  return std::nullopt;
}

void apply_receipts(queue::Spool& spool, const transports::Registry& registry,
                    boost::asio::any_io_executor executor, std::vector<pv::Receipt> receipts,
                    std::function<void(core::Result<queue::ReceiptStats>)> done, int attempt) {
  constexpr int kTries = 6;
  std::vector<queue::ReceiptUpdate> updates;
  std::vector<pv::Receipt> later;
  updates.reserve(receipts.size());
  for (pv::Receipt& r : receipts) {
    if (r.kind == pv::ReceiptKind::kBlocked || r.kind == pv::ReceiptKind::kUnblocked ||
        r.kind == pv::ReceiptKind::kInbound) {
      ReceiptMetrics::get().subscription->inc();
      core::log::info("provider: recipient subscription event",
                      {{"channel", core::channel_name(r.channel)},
                       {"kind", pv::receipt_kind_name(r.kind)},
                       {"recipient", r.recipient}});
      continue;
    }
    auto u = to_update(r);
    if (!u) continue;
    auto rec = spool.find_by_ref(r.channel, r.provider_ref);
    if (rec && !*rec) {
      if (attempt + 1 < kTries) {
        later.push_back(std::move(r));
      } else {
        ReceiptMetrics::get().ignored->inc();
      }
      continue;
    }
    if (u->kind == queue::ReceiptUpdate::Kind::kFailed && rec && *rec) {
      // A failure after acceptance falls back like a refusal would have.
      const core::MessageRecord& m = **rec;
      if (auto next = next_route(m, registry)) {
        u->fallback_channel_index = next->channel_index;
        u->from_channel_index = m.channel_index;
        u->fallback_destination = next->destination;
        u->detail = std::string(core::channel_name(r.channel)) + " failed: " + u->detail +
                    "; next channel " +
                    std::string(core::channel_name(m.request.channels[next->channel_index]));
      }
    }
    updates.push_back(std::move(*u));
  }
  if (!later.empty()) {
    auto timer = std::make_shared<boost::asio::steady_timer>(
        executor, std::chrono::milliseconds(250) * (1 << attempt));
    timer->async_wait([&spool, &registry, executor, timer, later = std::move(later),
                       attempt](boost::system::error_code ec) mutable {
      if (ec) return;
      apply_receipts(spool, registry, executor, std::move(later), {}, attempt + 1);
    });
  }
  if (updates.empty()) {
    if (done) done(queue::ReceiptStats{});
    return;
  }
  spool.apply_receipts(std::move(updates),
                       [done = std::move(done)](core::Result<queue::ReceiptStats> r) {
                         if (r) {
                           ReceiptMetrics::get().applied->inc(r->applied);
                           ReceiptMetrics::get().ignored->inc(r->ignored);
                         } else {
                           core::log::error("provider receipts not stored",
                                            {{"error", r.error().to_string()}});
                         }
                         if (done) done(std::move(r));
                       });
}

namespace {

const core::ProviderConfig* provider_config(const core::Config& config, core::Channel channel) {
  switch (channel) {
    case core::Channel::kTelegram:
      return &config.telegram;
    case core::Channel::kViber:
      return &config.viber;
    case core::Channel::kVk:
      return &config.vk;
    case core::Channel::kWhatsapp:
      return &config.whatsapp;
    case core::Channel::kSms:
      return &config.sms;
    case core::Channel::kEmail:
      break;
  }
  return nullptr;
}

}  // namespace

std::vector<queue::Feedback> subscription_feedback(const core::Config& config,
                                                   const ProviderCallback& cb,
                                                   const std::vector<pv::Receipt>& receipts,
                                                   core::TimePoint now) {
  std::vector<queue::Feedback> out;
  if (!config.bounces.suppress_blocked) return out;
  const core::ProviderConfig* pc = provider_config(config, cb.channel);
  const core::ChannelAccount* account = pc ? find_account(*pc, cb.account) : nullptr;
  if (account == nullptr) return out;
  // The account's tenants, or every tenant when it serves them all.
  std::vector<std::string> tenants = account->tenants;
  if (tenants.empty()) {
    for (const auto& t : config.tenants) tenants.push_back(t.id);
    if (tenants.empty()) tenants.push_back("default");
  }
  for (const pv::Receipt& r : receipts) {
    if ((r.kind != pv::ReceiptKind::kBlocked && r.kind != pv::ReceiptKind::kUnblocked) ||
        r.recipient.empty()) {
      continue;
    }
    const std::string channel(core::channel_name(r.channel));
    for (const std::string& tenant : tenants) {
      queue::Feedback f;
      f.suppression.tenant = tenant;
      f.suppression.channel = channel;
      f.suppression.address = core::normalize_address(channel, r.recipient);
      f.suppression.reason = core::SuppressionReason::kUnsubscribed;
      if (r.kind == pv::ReceiptKind::kBlocked) {
        f.kind = queue::Feedback::Kind::kSuppress;
        f.suppression.category = std::string(core::kAnyCategory);
        f.suppression.created_at = now;
        f.suppression.detail = channel + ": the recipient blocked " + cb.account;
      } else {
        // Back again: only what the block put there goes; a manual entry,
        // a complaint or a hard bounce stays.
        f.kind = queue::Feedback::Kind::kUnsuppress;
        f.only_reason = core::SuppressionReason::kUnsubscribed;
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

void provider_callback(const core::Config& config, queue::Spool& spool,
                       const transports::Registry& registry, boost::asio::any_io_executor executor,
                       ProviderCallback cb, std::function<void(CallbackAnswer)> done) {
  pv::CallbackResult res = parse_callback(config, cb);
  CallbackAnswer answer;
  answer.status = res.status;
  answer.content_type = res.content_type.empty() ? "text/plain" : res.content_type;
  answer.body = res.body;
  if (res.status != 200) {
    ReceiptMetrics::get().refused->inc();
    core::log::warn("provider callback refused",
                    {{"channel", core::channel_name(cb.channel)},
                     {"account", cb.account},
                     {"status", uint64_t{res.status}},
                     {"error", res.error}});
    done(std::move(answer));
    return;
  }
  // The user wrote to our number: WhatsApp's 24 h window opens (or stays
  // open) for free-form messages (transports/conversation_window.h).
  const core::TimePoint now = core::SystemClock::instance().now();
  for (const pv::Receipt& r : res.receipts) {
    if (r.kind == pv::ReceiptKind::kInbound && r.channel == core::Channel::kWhatsapp &&
        !r.recipient.empty()) {
      transports::ConversationWindows::whatsapp().note_inbound(
          cb.account, r.recipient, r.at == core::TimePoint{} || r.at > now ? now : r.at);
    }
  }
  // Blocks and unblocks first (a durable suppression change), then the
  // receipts; the provider gets its 200 only when both are stored.
  std::vector<queue::Feedback> subs = subscription_feedback(config, cb, res.receipts, now);
  auto receipts = std::make_shared<std::vector<pv::Receipt>>(std::move(res.receipts));
  auto then = [&spool, &registry, executor, receipts, answer,
               done = std::move(done)](bool stored) mutable {
    if (!stored) {
      done(CallbackAnswer{503, "text/plain", "try again later"});
      return;
    }
    apply_receipts(spool, registry, std::move(executor), std::move(*receipts),
                   [answer, done = std::move(done)](core::Result<queue::ReceiptStats> r) mutable {
                     if (!r) {
                       // Not stored: the provider will send it again.
                       answer = CallbackAnswer{503, "text/plain", "try again later"};
                     }
                     done(std::move(answer));
                   });
  };
  if (subs.empty()) {
    then(true);
    return;
  }
  spool.apply_feedback(std::move(subs),
                       [then = std::move(then)](
                           core::Result<std::vector<queue::FeedbackOutcome>> r) mutable {
                         if (!r) {
                           core::log::error("provider block/unblock not stored",
                                            {{"error", r.error().to_string()}});
                         }
                         then(r.has_value());
                       });
}

}  // namespace engine
