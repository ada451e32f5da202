// transports/smpp/sms_smpp.cpp: see sms_smpp.h.
//
// A batch fans out into one submit per part; the session calls back on its
// strand, so the per-message state and the receipt index are only touched
// there. The batch's countdown is atomic because a delivery refused before
// any I/O (no phone, empty text) is answered on the caller's thread.
#include "transports/smpp/sms_smpp.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <fmt/format.h>
#include <unordered_map>

#include "core/log.h"
#include "templating/render.h"
#include "transports/smpp/segments.h"

namespace transports::smpp {

namespace asio = boost::asio;
using providers::FailureClass;
using providers::SendResult;

namespace {

struct StatusClass {
  FailureClass cls = FailureClass::kRetry;
  bool rate_limited = false;
  bool blames_message = false;
};

// channels.md §5a's command_status table.
StatusClass status_class(uint32_t s) {
  switch (s) {
    case status::kThrottled:
    case status::kMsgQFul: return {FailureClass::kRetry, true, false};
    case status::kSysErr:
    case status::kInvBndSts:
    case status::kAlyBnd: return {FailureClass::kRetry, false, false};
    // Generic or application failures about this message: retried, but
    // the engine's retry cap applies and the destination is not backed off.
    case status::kSubmitFail:
    case status::kRxTAppn:
    case status::kUnknownErr: return {FailureClass::kRetry, false, true};
    case status::kInvDstAdr: return {FailureClass::kRecipient, false, true};
    case status::kInvMsgLen:
    case status::kInvCmdLen:
    case status::kInvCmdId:
    case 0x43:  // ESME_RINVESMCLASS
    case 0x50:  // ESME_RINVDSTTON
    case 0x51:  // ESME_RINVDSTNPI
    case 0x61:  // ESME_RINVSCHED
    case 0x62:  // ESME_RINVEXPIRY
    case status::kRxPAppn:
    case status::kRxRAppn:
    case 0xC0:
    case 0xC1:
    case 0xC2:
    case 0xC3:
    case 0xC4: return {FailureClass::kBadRequest, false, true};
    case status::kInvSrcAdr:
    case 0x48:  // ESME_RINVSRCTON
    case 0x49:  // ESME_RINVSRCNPI
    case status::kBindFail:
    case status::kInvPaswd:
    case status::kInvSysId: return {FailureClass::kConfig, false, false};
    default: return {FailureClass::kRetry, false, false};
  }
}

std::string status_text(uint32_t s) {
  std::string_view name = status_name(s);
  return name.empty() ? fmt::format("smpp status 0x{:02X}", s) : fmt::format("smpp status 0x{:02X} {}", s, name);
}

SendResult from_status(uint32_t s, std::string text) {
  const StatusClass c = status_class(s);
  return providers::failure(c.cls, c.rate_limited, c.blames_message, std::move(text));
}

// "+380671234567" -> "380671234567"; empty when not 1..20 digits.
std::string e164_digits(std::string_view phone) {
  if (!phone.empty() && phone.front() == '+') phone.remove_prefix(1);
  if (phone.empty() || phone.size() > 20) return {};
  for (char c : phone)
    if (c < '0' || c > '9') return {};
  return std::string(phone);
}

core::Status check_len(std::string_view field, const std::string& v, size_t max) {
  if (v.size() > max) return core::invalid_argument(std::string(field), fmt::format("{}: longer than {} octets", field, max));
  return {};
}

// One submitted message, for matching its receipts.
struct Tracked {
  std::string recipient;            // "+380..."
  std::string provider_ref;         // set once every part is accepted
  std::vector<bool> delivered;      // per part
  bool complete = false;
  bool finished = false;            // a final receipt was given
};

struct PartKey {
  std::shared_ptr<Tracked> tracked;
  size_t part = 0;
};

}  // namespace

SendResult classify_submit(const SubmitResult& r, std::string ids) {
  SendResult out;
  switch (r.kind) {
    case SubmitResult::Kind::kResponse:
      if (r.command_status == status::kOk) {
        out = providers::accepted(core::Channel::kSms, std::move(ids));
      } else {
        out = from_status(r.command_status, status_text(r.command_status));
      }
      break;
    case SubmitResult::Kind::kNoResponse:
      out = providers::failure(FailureClass::kRetry, false, false,
                               r.detail.empty() ? "smpp no response: outcome unknown" : r.detail);
      break;
    case SubmitResult::Kind::kNotSent:
      if (r.command_status != status::kOk) {
        out = from_status(r.command_status, r.detail.empty() ? status_text(r.command_status) : r.detail);
      } else {
        out = providers::failure(FailureClass::kRetry, false, false,
                                 r.detail.empty() ? "smpp not connected" : r.detail);
      }
      break;
  }
  out.outcome.peer = r.peer;
  if (out.outcome.kind == OutcomeKind::kDelivered) out.outcome.provider_ref = out.provider_ref;
  return out;
}

std::optional<providers::Receipt> receipt_from_dlr(const DeliveryReceipt& dlr) {
  providers::Receipt r;
  r.channel = core::Channel::kSms;
  r.provider_ref = dlr.message_id;
  const std::string text = providers::clean_text(
      fmt::format("smpp dlr {}{}", dlr.stat.empty() ? stat_word(dlr.state) : std::string_view(dlr.stat),
                  dlr.err.empty() ? std::string() : " err:" + dlr.err));
  switch (dlr.state) {
    case MessageState::kDelivered: r.kind = providers::ReceiptKind::kDelivered; break;
    case MessageState::kUndeliverable:
    case MessageState::kRejected: {
      // PERM_RCPT: which err codes mean "no such subscriber" is
      // SMSC-specific, so every UNDELIV/REJECTD is treated as one.
      r.kind = providers::ReceiptKind::kFailed;
      r.failure = FailureClass::kRecipient;
      r.reply = providers::failure(FailureClass::kRecipient, false, true, text).outcome.reply;
      break;
    }
    case MessageState::kExpired:
    case MessageState::kDeleted:
      // The validity period lapsed (the handset was off): worth another try.
      r.kind = providers::ReceiptKind::kFailed;
      r.failure = FailureClass::kRetry;
      r.reply = providers::failure(FailureClass::kRetry, false, true, text).outcome.reply;
      break;
    default: return std::nullopt;
  }
  if (dlr.done_date) r.at = *dlr.done_date;
  r.event_id = fmt::format("smpp:{}:{}", message_id_key(dlr.message_id), stat_word(dlr.state));
  return r;
}

struct SmppTransport::Impl : std::enable_shared_from_this<Impl> {
  SmppOptions opt;
  ReceiptHandler on_receipt;
  std::shared_ptr<Session> session;
  std::atomic<int64_t> last_config_log_ms{0};

  // On the session's strand only.
  std::unordered_map<std::string, PartKey> by_id;
  std::deque<std::pair<std::vector<std::string>, std::shared_ptr<Tracked>>> order;

  struct Batch {
    std::vector<Outcome> outcomes;
    std::atomic<size_t> remaining{0};
    SendDone done;
    void finish_one() {
      if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) done(std::move(outcomes));
    }
  };

  struct Message {
    std::shared_ptr<Batch> batch;
    size_t index = 0;
    std::vector<SubmitResult> parts;
    size_t remaining = 0;
    std::shared_ptr<Tracked> tracked;
  };

  void log_config(const std::string& text) {
    const int64_t now = core::to_unix_ms(std::chrono::system_clock::now());
    int64_t last = last_config_log_ms.load(std::memory_order_relaxed);
    if (now - last < 60'000) return;
    if (!last_config_log_ms.compare_exchange_strong(last, now)) return;
    core::log::error("smpp: account or sender problem; every SMS will fail until fixed",
                     {{"host", opt.host}, {"system_id", opt.system_id}, {"reply", text}});
  }

  void remember(const std::shared_ptr<Tracked>& t, size_t part, const std::string& id) {
    std::vector<std::string> keys = message_id_keys(id);
    // The id as given wins over a converted form another id may share.
    by_id[keys.front()] = PartKey{t, part};
    for (size_t i = 1; i < keys.size(); ++i) by_id.try_emplace(keys[i], PartKey{t, part});
    order.emplace_back(std::move(keys), t);
    while (order.size() > opt.max_tracked) {
      for (const std::string& k : order.front().first) {
        auto it = by_id.find(k);
        if (it != by_id.end() && it->second.tracked == order.front().second) by_id.erase(it);
      }
      order.pop_front();
    }
  }

  void part_done(const std::shared_ptr<Message>& m, size_t part, SubmitResult r) {
    if (r.kind == SubmitResult::Kind::kResponse && r.command_status == status::kOk && !r.message_id.empty())
      remember(m->tracked, part, r.message_id);
    m->parts[part] = std::move(r);
    if (--m->remaining > 0) return;

    const size_t n = m->parts.size();
    size_t ok = 0;
    const SubmitResult* worst = nullptr;
    SendResult worst_result;
    for (const SubmitResult& p : m->parts) {
      if (p.kind == SubmitResult::Kind::kResponse && p.command_status == status::kOk) {
        ++ok;
        continue;
      }
      SendResult sr = classify_submit(p);
      if (!worst || (sr.outcome.kind == OutcomeKind::kPermanent &&
                     worst_result.outcome.kind != OutcomeKind::kPermanent)) {
        worst = &p;
        worst_result = std::move(sr);
      }
    }
    Outcome out;
    if (!worst) {
      std::string ids;
      for (const SubmitResult& p : m->parts) {
        if (!ids.empty()) ids += ',';
        ids += p.message_id;
      }
      m->tracked->provider_ref = ids;
      m->tracked->complete = true;
      out = classify_submit(m->parts.front(), std::move(ids)).outcome;
    } else {
      if (ok > 0)
        worst_result.outcome.reply.text =
            providers::clean_text(fmt::format("{} ({} of {} parts accepted)", worst_result.outcome.reply.text, ok, n));
      if (worst_result.failure == FailureClass::kConfig) log_config(worst_result.outcome.reply.text);
      out = std::move(worst_result.outcome);
    }
    m->batch->outcomes[m->index] = std::move(out);
    m->batch->finish_one();
  }

  void on_deliver(const ShortMessage& sm) {
    if (!is_receipt(sm)) {
      core::log::debug("smpp: mobile-originated message ignored", {{"host", opt.host}});
      return;
    }
    auto dlr = parse_receipt(sm);
    if (!dlr) {
      core::log::warn("smpp: unreadable delivery receipt", {{"host", opt.host}, {"error", dlr.error().message}});
      return;
    }
    std::optional<providers::Receipt> rec = receipt_from_dlr(*dlr);
    if (!rec) return;
    const PartKey* found = nullptr;
    for (const std::string& k : message_id_keys(dlr->message_id)) {
      auto it = by_id.find(k);
      if (it != by_id.end()) {
        found = &it->second;
        break;
      }
    }
    if (found) {
      Tracked& t = *found->tracked;
      if (t.finished) return;  // a duplicate, or a part after the verdict
      rec->recipient = t.recipient;
      if (rec->kind == providers::ReceiptKind::kDelivered) {
        if (found->part < t.delivered.size()) t.delivered[found->part] = true;
        // A long SMS is delivered when every part is.
        if (!t.complete || !std::all_of(t.delivered.begin(), t.delivered.end(), [](bool b) { return b; }))
          return;
      }
      if (t.complete) rec->provider_ref = t.provider_ref;
      t.finished = true;
    } else {
      const std::string digits = e164_digits(sm.source_addr);
      if (!digits.empty()) rec->recipient = "+" + digits;
    }
    if (on_receipt) on_receipt(std::move(*rec));
  }

  void send_one(const std::shared_ptr<Batch>& batch, size_t index, const Delivery& d) {
    auto refuse = [&](SendResult r) {
      batch->outcomes[index] = std::move(r.outcome);
      batch->finish_one();
    };
    if (!d.record || !d.rendered)
      return refuse(providers::failure(FailureClass::kBadRequest, false, true, "sms nothing rendered"));
    const std::string digits = e164_digits(d.record->request.to.phone);
    if (digits.empty())
      return refuse(providers::failure(FailureClass::kRecipient, false, true,
                                       "sms not an E.164 phone number: " + d.record->request.to.phone));
    const std::string id = d.record->id.to_string();
    auto payloads = sms_payloads(d.rendered->text, concat_ref(id));
    if (!payloads) return refuse(providers::failure(FailureClass::kBadRequest, false, true, payloads.error().message));

    auto m = std::make_shared<Message>();
    m->batch = batch;
    m->index = index;
    m->parts.resize(payloads->parts.size());
    m->remaining = payloads->parts.size();
    m->tracked = std::make_shared<Tracked>();
    m->tracked->recipient = "+" + digits;
    m->tracked->delivered.assign(payloads->parts.size(), false);
    auto self = shared_from_this();
    for (size_t i = 0; i < payloads->parts.size(); ++i) {
      ShortMessage sm;
      sm.service_type = opt.service_type;
      sm.source_addr_ton = opt.source_addr_ton;
      sm.source_addr_npi = opt.source_addr_npi;
      sm.source_addr = opt.source_addr;
      sm.dest_addr_ton = 1;  // international
      sm.dest_addr_npi = 1;  // E.164
      sm.destination_addr = digits;
      sm.esm_class = payloads->esm_class;
      sm.registered_delivery = opt.registered_delivery;
      sm.data_coding = payloads->data_coding;
      sm.short_message = std::move(payloads->parts[i]);
      session->submit(std::move(sm), [self, m, i](SubmitResult r) { self->part_done(m, i, std::move(r)); });
    }
  }
};

core::Result<std::shared_ptr<SmppTransport>> SmppTransport::create(asio::any_io_executor executor,
                                                                   SmppOptions options, ReceiptHandler on_receipt) {
  for (auto st : {check_len("system_id", options.system_id, 15), check_len("password", options.password, 8),
                  check_len("system_type", options.system_type, 12),
                  check_len("address_range", options.address_range, 40),
                  check_len("source_addr", options.source_addr, 20),
                  check_len("service_type", options.service_type, 5)}) {
    if (!st) return st.error();
  }
  if (options.window == 0) return core::invalid_argument("window", "window: must be at least 1");
  if (!(options.tps >= 0)) return core::invalid_argument("tps", "tps: must not be negative");
  if (options.max_tracked == 0) options.max_tracked = 1;

  auto impl = std::make_shared<Impl>();
  impl->opt = std::move(options);
  impl->on_receipt = std::move(on_receipt);
  std::weak_ptr<Impl> weak = impl;
  impl->session = Session::create(std::move(executor), impl->opt, [weak](const ShortMessage& sm) {
    if (auto i = weak.lock()) i->on_deliver(sm);
  });
  impl->session->start();
  return std::shared_ptr<SmppTransport>(new SmppTransport(std::move(impl)));
}

SmppTransport::SmppTransport(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

SmppTransport::~SmppTransport() { impl_->session->stop(); }

std::string SmppTransport::destination(const core::MessageRecord&, core::Channel) const {
  return "sms:" + impl_->opt.name;
}

void SmppTransport::send(std::vector<Delivery> batch, SendDone done) {
  if (batch.empty()) {
    done({});
    return;
  }
  auto b = std::make_shared<Impl::Batch>();
  b->outcomes.resize(batch.size());
  b->remaining.store(batch.size());
  b->done = std::move(done);
  for (size_t i = 0; i < batch.size(); ++i) impl_->send_one(b, i, batch[i]);
}

void SmppTransport::stop(std::function<void()> stopped) { impl_->session->stop(std::move(stopped)); }

const SessionStats& SmppTransport::stats() const noexcept { return impl_->session->stats(); }

}  // namespace transports::smpp
