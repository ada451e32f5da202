// transports/providers/codec.cpp: the shared reply convention (codec.h).
#include "transports/providers/codec.h"

#include <utility>

namespace transports::providers {
namespace {

std::string_view find_header(const std::vector<Header>& headers, std::string_view lower_name) {
  for (const Header& h : headers) {
    if (h.first == lower_name) return h.second;
  }
  return {};
}

}  // namespace

std::string_view HttpResponse::header(std::string_view lower_name) const noexcept {
  return find_header(headers, lower_name);
}

std::string_view CallbackRequest::header(std::string_view lower_name) const noexcept {
  return find_header(headers, lower_name);
}

std::string_view failure_class_name(FailureClass c) noexcept {
  switch (c) {
    case FailureClass::kNone: return "none";
    case FailureClass::kRetry: return "retry";
    case FailureClass::kRecipient: return "recipient";
    case FailureClass::kBadRequest: return "bad_request";
    case FailureClass::kConfig: return "config";
  }
  return "?";
}

std::string_view receipt_kind_name(ReceiptKind k) noexcept {
  switch (k) {
    case ReceiptKind::kDelivered: return "delivered";
    case ReceiptKind::kRead: return "read";
    case ReceiptKind::kFailed: return "failed";
    case ReceiptKind::kBlocked: return "blocked";
    case ReceiptKind::kUnblocked: return "unblocked";
    case ReceiptKind::kInbound: return "inbound";
  }
  return "?";
}

std::string clean_text(std::string_view text, size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max));
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(c < 0x20 || c == 0x7f ? ' ' : ch);
  }
  if (out.size() > max) {
    size_t cut = max;
    // Back up to the start of a UTF-8 sequence so none is split.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

SendResult accepted(core::Channel channel, std::string provider_ref) {
  SendResult r;
  r.outcome.kind = OutcomeKind::kDelivered;
  r.outcome.reply = {250, "2.0.0",
                     clean_text(std::string(core::channel_name(channel)) + " accepted" +
                                (provider_ref.empty() ? std::string() : " " + provider_ref))};
  r.failure = FailureClass::kNone;
  r.provider_ref = std::move(provider_ref);
  return r;
}

SendResult failure(FailureClass cls, bool rate_limited, bool blames_message, std::string text) {
  SendResult r;
  r.failure = cls;
  r.outcome.blames_message = blames_message;
  r.outcome.reply.text = clean_text(text);
  switch (cls) {
    case FailureClass::kNone:  // not a failure; treated as a provider error
    case FailureClass::kRetry:
      r.outcome.kind = OutcomeKind::kTransient;
      r.outcome.reply.code = 451;
      r.outcome.reply.enhanced = rate_limited ? "4.7.0" : "4.3.0";
      r.failure = FailureClass::kRetry;
      break;
    case FailureClass::kConfig:
      r.outcome.kind = OutcomeKind::kTransient;
      r.outcome.reply.code = 451;
      r.outcome.reply.enhanced = "4.3.5";
      r.outcome.blames_message = false;
      break;
    case FailureClass::kRecipient:
      // The codec says which: blocked (5.7.1, recipient_blocked) or
      // nonexistent (5.1.1); the default is nonexistent, and a codec that
      // knows the user blocked us sets recipient_blocked and 5.7.1.
      r.outcome.kind = OutcomeKind::kPermanent;
      r.outcome.reply.code = 550;
      r.outcome.reply.enhanced = "5.1.1";
      break;
    case FailureClass::kBadRequest:
      r.outcome.kind = OutcomeKind::kPermanent;
      r.outcome.reply.code = 554;
      r.outcome.reply.enhanced = "5.6.0";
      break;
  }
  return r;
}

}  // namespace transports::providers
