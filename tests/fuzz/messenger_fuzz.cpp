// tests/fuzz/messenger_fuzz.cpp: the Telegram, Viber and VK codecs
// (transports/providers/{telegram,viber,vk}.h) over arbitrary provider
// answers and callbacks. The first byte selects the parser (% 7):
//   0-2  telegram/viber/vk parse_send; the second byte picks the HTTP status
//   3-5  telegram/viber/vk callback; the second byte's low bit sends a wrong
//        secret/signature (the rest is the body; Viber's is signed, VK's
//        secret is "s3cr3t" inside the body, as in the seed corpus)
//   6    telegram_send_request with the (ASCII-filtered) rest as chat id
// Invariants: no crash or exception; every SendResult follows codec.h's
// reply convention exactly (code, enhanced code, kind, blames_message per
// class; recipient_blocked only as 5.7.1; text one line, at most 512 bytes,
// starting with the channel; retry_after within a day; a Viber ref is
// digits only); a callback answers 200/400/401/403, has receipts only when
// 200 and authenticated, each with the channel, a "<channel>:" event id
// unique in the answer, a provider_ref for delivery facts and a recipient
// for the others; a send request's body is a JSON object whose chat_id
// gives back the chat id.
//
// Seed corpus: tests/fuzz/corpus/messenger/ (answers and callbacks from
// channels.md).
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "transports/providers/telegram.h"
#include "transports/providers/viber.h"
#include "transports/providers/vk.h"

namespace {

using namespace transports::providers;

constexpr unsigned kStatuses[] = {200, 400, 401, 403, 404, 409, 429, 500, 502, 504, 201, 0};

bool all_digits(std::string_view s) {
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void check_send(const SendResult& r, std::string_view channel) {
  const core::Reply& reply = r.outcome.reply;
  FUZZ_CHECK(reply.text.size() <= 512);
  FUZZ_CHECK(reply.text.find_first_of("\r\n") == std::string::npos);
  FUZZ_CHECK(reply.text.starts_with(std::string(channel) + " "));
  FUZZ_CHECK(!r.recipient_blocked || (r.failure == FailureClass::kRecipient && reply.enhanced == "5.7.1"));
  FUZZ_CHECK(r.migrate_to_chat_id.empty() || r.failure == FailureClass::kRetry);
  if (r.outcome.retry_after) {
    FUZZ_CHECK(r.outcome.retry_after->count() >= 0);
    FUZZ_CHECK(*r.outcome.retry_after <= std::chrono::hours(24));
  }
  switch (r.failure) {
    case FailureClass::kNone:
      FUZZ_CHECK(r.outcome.kind == transports::OutcomeKind::kDelivered);
      FUZZ_CHECK(reply.code == 250 && reply.enhanced == "2.0.0");
      break;
    case FailureClass::kRetry:
      FUZZ_CHECK(r.outcome.kind == transports::OutcomeKind::kTransient);
      FUZZ_CHECK(reply.code == 451 && (reply.enhanced == "4.7.0" || reply.enhanced == "4.3.0"));
      FUZZ_CHECK(r.provider_ref.empty());
      break;
    case FailureClass::kConfig:
      FUZZ_CHECK(r.outcome.kind == transports::OutcomeKind::kTransient);
      FUZZ_CHECK(reply.code == 451 && reply.enhanced == "4.3.5" && !r.outcome.blames_message);
      break;
    case FailureClass::kRecipient:
      FUZZ_CHECK(r.outcome.kind == transports::OutcomeKind::kPermanent);
      FUZZ_CHECK(reply.code == 550 && (reply.enhanced == "5.1.1" || reply.enhanced == "5.7.1"));
      FUZZ_CHECK(r.outcome.blames_message);
      break;
    case FailureClass::kBadRequest:
      FUZZ_CHECK(r.outcome.kind == transports::OutcomeKind::kPermanent);
      FUZZ_CHECK(reply.code == 554 && reply.enhanced == "5.6.0" && r.outcome.blames_message);
      break;
  }
  if (r.failure != FailureClass::kNone) FUZZ_CHECK(r.provider_ref.empty());
}

void check_callback(const CallbackResult& r, core::Channel channel, bool authentic) {
  FUZZ_CHECK(r.status == 200 || r.status == 400 || r.status == 401 || r.status == 403);
  if (!authentic) FUZZ_CHECK(r.status == 401 || r.status == 403 || r.status == 400);
  if (r.status != 200) {
    FUZZ_CHECK(r.receipts.empty());
    FUZZ_CHECK(!r.error.empty());
    return;
  }
  const std::string prefix = std::string(core::channel_name(channel)) + ":";
  std::set<std::string> ids;
  for (const Receipt& x : r.receipts) {
    FUZZ_CHECK(x.channel == channel);
    FUZZ_CHECK(x.event_id.starts_with(prefix));
    FUZZ_CHECK(ids.insert(x.event_id).second);
    switch (x.kind) {
      case ReceiptKind::kDelivered:
      case ReceiptKind::kRead:
      case ReceiptKind::kFailed:
        FUZZ_CHECK(!x.provider_ref.empty());
        if (channel == core::Channel::kViber) FUZZ_CHECK(all_digits(x.provider_ref));
        break;
      case ReceiptKind::kBlocked:
      case ReceiptKind::kUnblocked:
      case ReceiptKind::kInbound:
        FUZZ_CHECK(!x.recipient.empty());
        break;
    }
    FUZZ_CHECK(x.at.time_since_epoch().count() >= 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 1 << 16) return 0;
  const unsigned selector = data[0] % 7;
  const uint8_t knob = data[1];
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

  HttpResponse resp;
  resp.status = kStatuses[knob % std::size(kStatuses)];
  resp.body = std::string(body);
  CallbackRequest req;
  req.method = "POST";
  req.body = body;
  const bool wrong = (knob & 1) != 0;

  switch (selector) {
    case 0:
      check_send(telegram_parse_send(resp, "-1001234567890"), "telegram");
      break;
    case 1: {
      const SendResult r = viber_parse_send(resp);
      check_send(r, "viber");
      FUZZ_CHECK(all_digits(r.provider_ref));
      break;
    }
    case 2:
      check_send(vk_parse_send(resp), "vk");
      break;
    case 3:
      req.headers.emplace_back("x-telegram-bot-api-secret-token", wrong ? "s3cr3x" : "s3cr3t");
      check_callback(telegram_callback(req, "s3cr3t"), core::Channel::kTelegram, !wrong);
      break;
    case 4:
      req.headers.emplace_back("x-viber-content-signature", viber_signature(wrong ? "other" : "tok", body));
      check_callback(viber_callback(req, "tok"), core::Channel::kViber, !wrong);
      break;
    case 5: {
      const CallbackResult r = vk_callback(req, wrong ? "s3cr3x" : "s3cr3t", "conf1rm");
      check_callback(r, core::Channel::kVk, true);
      FUZZ_CHECK(r.status != 200 || r.body == "ok" || r.body == "conf1rm");
      break;
    }
    case 6: {
      std::string chat_id;
      for (const char c : body) {
        if (c >= 0x20 && c < 0x7f) chat_id.push_back(c);
      }
      templating::Rendered rendered;
      rendered.html = chat_id;
      rendered.buttons = {{{"b", "", chat_id.substr(0, 64)}}};
      const HttpRequest http = telegram_send_request("t", chat_id, rendered, {});
      boost::system::error_code ec;
      const boost::json::value v = boost::json::parse(http.body, ec);
      FUZZ_CHECK(!ec && v.is_object());
      const boost::json::value& id = v.as_object().at("chat_id");
      FUZZ_CHECK(id.is_int64() ? std::to_string(id.as_int64()) == chat_id
                               : id.is_string() && id.as_string() == chat_id);
      break;
    }
  }
  return 0;
}
