// tests/fuzz/whatsapp_twilio_fuzz.cpp: the WhatsApp and Twilio codecs
// (transports/providers/whatsapp.h, twilio.h) over arbitrary bytes.
//
// Input: byte 0 picks the entry point (mod 6), byte 1 the HTTP status of a
// send answer, the rest is the body (or query, or message text):
//   0 whatsapp_parse_send      3 twilio_parse_send
//   1 whatsapp_callback POST, signed by this target (so the parser is reached)
//   2 whatsapp_callback GET with the rest as query; the same bytes POSTed
//     with a wrong signature
//   4 twilio_callback, signed by this target
//   5 the request builders with the rest as text; twilio_callback unsigned
// Invariants: nothing throws or crashes; every SendResult is one row of
// codec.h's reply table (accepted with a ref, or 451/550/554 with the
// matching enhanced code, class and blame); reply text is at most 512
// bytes without controls; an unauthenticated callback is refused with no
// receipts; receipts have an event id of their provider, kFailed exactly
// when they carry a failure class, recipients in "+" form; a Twilio form
// body decodes back to the fields it was built from.
//
// Seed corpus: tests/fuzz/corpus/whatsapp_twilio/.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "transports/providers/twilio.h"
#include "transports/providers/whatsapp.h"

namespace {

using namespace transports::providers;
using transports::OutcomeKind;

constexpr unsigned kStatuses[] = {200, 201, 400, 401, 403, 404, 429, 500, 502, 503, 302, 422};

bool clean(std::string_view text) {
  if (text.size() > 512) return false;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

void check_send(const SendResult& r) {
  const auto& reply = r.outcome.reply;
  FUZZ_CHECK(clean(reply.text));
  FUZZ_CHECK(!r.outcome.peer);
  switch (r.failure) {
    case FailureClass::kNone:
      FUZZ_CHECK(r.outcome.kind == OutcomeKind::kDelivered);
      FUZZ_CHECK(reply.code == 250 && reply.enhanced == "2.0.0");
      FUZZ_CHECK(!r.provider_ref.empty());
      break;
    case FailureClass::kRetry:
      FUZZ_CHECK(r.outcome.kind == OutcomeKind::kTransient && reply.code == 451);
      FUZZ_CHECK(reply.enhanced == "4.7.0" || reply.enhanced == "4.3.0");
      break;
    case FailureClass::kConfig:
      FUZZ_CHECK(r.outcome.kind == OutcomeKind::kTransient && reply.code == 451);
      FUZZ_CHECK(reply.enhanced == "4.3.5" && !r.outcome.blames_message);
      break;
    case FailureClass::kRecipient:
      FUZZ_CHECK(r.outcome.kind == OutcomeKind::kPermanent && reply.code == 550);
      FUZZ_CHECK(reply.enhanced == "5.1.1" || reply.enhanced == "5.7.1");
      FUZZ_CHECK(r.outcome.blames_message);
      break;
    case FailureClass::kBadRequest:
      FUZZ_CHECK(r.outcome.kind == OutcomeKind::kPermanent && reply.code == 554);
      FUZZ_CHECK(reply.enhanced == "5.6.0" || reply.enhanced == "5.7.1");
      FUZZ_CHECK(r.outcome.blames_message);
      break;
  }
  if (r.failure != FailureClass::kNone) FUZZ_CHECK(r.provider_ref.empty());
  if (r.recipient_blocked) {
    FUZZ_CHECK(r.failure == FailureClass::kRecipient && reply.enhanced == "5.7.1");
  }
  if (r.needs_template) FUZZ_CHECK(r.failure == FailureClass::kBadRequest);
}

void check_callback(const CallbackResult& r, std::string_view prefix) {
  FUZZ_CHECK(r.status == 200 || r.status == 400 || r.status == 401 || r.status == 403 ||
             r.status == 405);
  if (r.status != 200) {
    FUZZ_CHECK(r.receipts.empty() && !r.error.empty());
    return;
  }
  for (const Receipt& rc : r.receipts) {
    FUZZ_CHECK(rc.event_id.starts_with(prefix));
    FUZZ_CHECK((rc.kind == ReceiptKind::kFailed) == (rc.failure != FailureClass::kNone));
    FUZZ_CHECK(rc.recipient.empty() || rc.recipient.starts_with("+"));
    FUZZ_CHECK(clean(rc.reply.text));
    if (rc.kind == ReceiptKind::kInbound) {
      FUZZ_CHECK(!rc.recipient.empty());
    } else {
      FUZZ_CHECK(!rc.provider_ref.empty());
    }
    if (rc.needs_template) FUZZ_CHECK(rc.failure == FailureClass::kBadRequest);
  }
}

std::string hub_signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  std::string out = "sha256=";
  char hex[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", mac[i]);
    out += hex;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Form decoding as twilio.h describes it, written again here: empty pairs
// are skipped, '+' is a space, a bad escape stays as it is.
std::vector<Header> decode_form(std::string_view body) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out.push_back(' ');
      } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
                 hex_value(s[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  };
  std::vector<Header> out;
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    out.emplace_back(decode(pair.substr(0, eq)),
                     eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1)));
  }
  return out;
}

constexpr std::string_view kSecret = "app-secret";
constexpr std::string_view kVerify = "verify-token";
constexpr std::string_view kToken = "auth-token";
const std::string kUrl = "https://hooks.example.com/v1/callbacks/sms?k=1";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > (1 << 16)) return 0;
  const unsigned selector = data[0] % 6;
  const unsigned status = kStatuses[data[1] % (sizeof kStatuses / sizeof kStatuses[0])];
  const std::string rest(reinterpret_cast<const char*>(data + 2), size - 2);

  switch (selector) {
    case 0:
    case 3: {
      HttpResponse resp;
      resp.status = status;
      resp.body = rest;
      check_send(selector == 0 ? whatsapp_parse_send(resp) : twilio_parse_send(resp));
      break;
    }
    case 1: {
      CallbackRequest req;
      req.method = "POST";
      req.body = rest;
      req.headers = {{"x-hub-signature-256", hub_signature(kSecret, rest)}};
      const CallbackResult r = whatsapp_callback(req, kSecret, kVerify);
      FUZZ_CHECK(r.status != 401);  // the signature is right
      check_callback(r, "whatsapp:");
      break;
    }
    case 2: {
      CallbackRequest req;
      req.method = "GET";
      const std::string target = "/wh?" + rest;
      req.target = target;
      CallbackResult r = whatsapp_callback(req, kSecret, kVerify);
      FUZZ_CHECK(r.status == 200 || r.status == 403);
      FUZZ_CHECK(r.receipts.empty());
      if (r.status == 200) FUZZ_CHECK(rest.find("hub.verify_token") != std::string::npos);
      req.method = "POST";
      req.body = rest;
      req.headers = {{"x-hub-signature-256", "sha256=" + std::string(64, '0')}};
      r = whatsapp_callback(req, kSecret, kVerify);
      FUZZ_CHECK(r.status == 401 && r.receipts.empty());
      break;
    }
    case 4: {
      CallbackRequest req;
      req.method = "POST";
      req.url = kUrl;
      req.body = rest;
      req.headers = {{"x-twilio-signature", twilio_signature(kToken, kUrl, decode_form(rest))}};
      const CallbackResult r = twilio_callback(req, kToken);
      FUZZ_CHECK(r.status == 200);  // signed as twilio.h says, so accepted
      FUZZ_CHECK(r.receipts.size() <= 1);
      check_callback(r, "twilio:");
      break;
    }
    case 5: {
      templating::Rendered rendered;
      rendered.text = rest;
      rendered.buttons = {{{rest.substr(0, 20), "", rest.substr(0, 64)}}};
      const HttpRequest wa =
          whatsapp_send_request("t", "1", rest, rendered, nullptr, rest, WhatsappOptions{});
      FUZZ_CHECK(wa.method == "POST" && wa.target == "/v21.0/1/messages");
      rendered.buttons.clear();
      const HttpRequest tw = twilio_send_request("AC1", "t", "+1", rest, rendered, rest, {});
      const std::vector<Header> fields = decode_form(tw.body);
      FUZZ_CHECK(fields.size() == (rest.empty() ? 3u : 4u));
      FUZZ_CHECK(fields[0] == Header("To", rest) && fields[1] == Header("From", "+1"));
      FUZZ_CHECK(fields[2] == Header("Body", rest));
      CallbackRequest req;
      req.method = "POST";
      req.url = kUrl;
      req.body = rest;
      req.headers = {{"x-twilio-signature", rest.substr(0, 28)}};
      const CallbackResult r = twilio_callback(req, kToken);
      if (r.status == 200) {
        // Only a correct signature passes; the fuzzer will not find one.
        FUZZ_CHECK(rest.substr(0, 28) == twilio_signature(kToken, kUrl, decode_form(rest)));
      }
      check_callback(r, "twilio:");
      break;
    }
    default:
      break;
  }
  return 0;
}
