// tests/fuzz/api_request_fuzz.cpp: fuzz target for api/request.h — the
// JSON (and binary Protobuf) message parsers, single and batch.
//
// Any input must produce either a validated request or an error; never a
// crash, a hang or a request that breaks a rule. The invariants below are
// the validation contract seen from outside: a request that comes out is
// safe to store and to put into headers, and an error names its field
// safely (no CR/LF, valid UTF-8, "field: message" shape).
//
// Seed corpus: tests/fuzz/corpus/api_request/.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "api/request.h"
#include "core/time_format.h"
#include "fuzz_check.h"

namespace {

const core::TimePoint kNow = core::from_unix_ms(1'795'000'000'000);  // 2026-11-18
constexpr uint32_t kMaxBatch = 64;

bool header_text(std::string_view s) { return api::is_valid_utf8(s) && api::is_header_safe(s); }

void check_error(const core::Error& e) {
  FUZZ_CHECK(e.code == core::Errc::kInvalidArgument || e.code == core::Errc::kTooLarge);
  FUZZ_CHECK(!e.message.empty());
  FUZZ_CHECK(header_text(e.message));
  FUZZ_CHECK(header_text(e.field));
  if (!e.field.empty()) FUZZ_CHECK(e.message.rfind(e.field + ": ", 0) == 0);
}

void check_request(const core::MessageRequest& r) {
  // Channels: 1..6, no duplicates, and the recipient is reachable on one.
  FUZZ_CHECK(!r.channels.empty() && r.channels.size() <= api::Limits::kChannels);
  bool reachable = false;
  for (size_t i = 0; i < r.channels.size(); ++i) {
    for (size_t j = i + 1; j < r.channels.size(); ++j) FUZZ_CHECK(r.channels[i] != r.channels[j]);
    if (!r.to.address_for(r.channels[i]).empty()) reachable = true;
  }
  FUZZ_CHECK(reachable);

  // Addresses have their syntax.
  FUZZ_CHECK(r.to.email.empty() || api::is_valid_email(r.to.email));
  FUZZ_CHECK(r.from.email.empty() || api::is_valid_email(r.from.email));
  FUZZ_CHECK(r.to.phone.empty() || api::is_e164(r.to.phone));
  FUZZ_CHECK(r.to.whatsapp.empty() || api::is_e164(r.to.whatsapp));
  FUZZ_CHECK(r.to.telegram_chat_id.empty() || api::is_telegram_chat_id(r.to.telegram_chat_id));

  // Everything that may reach a header is single-line UTF-8.
  for (std::string_view s : {std::string_view(r.to.email), std::string_view(r.to.name),
                             std::string_view(r.to.telegram_chat_id), std::string_view(r.to.phone),
                             std::string_view(r.to.vk_peer_id), std::string_view(r.to.viber_id),
                             std::string_view(r.to.whatsapp), std::string_view(r.from.email),
                             std::string_view(r.from.name), std::string_view(r.content.subject),
                             std::string_view(r.content.template_id),
                             std::string_view(r.idempotency_key), std::string_view(r.category)}) {
    FUZZ_CHECK(header_text(s));
  }
  FUZZ_CHECK(!r.category.empty() && r.category.size() <= api::Limits::kCategory);
  FUZZ_CHECK(r.to.name.size() <= api::Limits::kName);
  FUZZ_CHECK(r.content.subject.size() <= api::Limits::kSubject);
  FUZZ_CHECK(r.idempotency_key.size() <= api::Limits::kIdempotencyKey);
  FUZZ_CHECK(r.tags.size() <= api::Limits::kTags);
  for (const auto& t : r.tags) FUZZ_CHECK(header_text(t.key) && header_text(t.value));

  // Bodies: valid UTF-8, no NUL.
  for (std::string_view s : {std::string_view(r.content.html), std::string_view(r.content.text)}) {
    FUZZ_CHECK(api::is_valid_utf8(s));
    FUZZ_CHECK(s.find('\0') == std::string_view::npos);
  }

  // Content: a template or inline parts, not both, not neither.
  const bool has_inline =
      !r.content.subject.empty() || !r.content.html.empty() || !r.content.text.empty();
  FUZZ_CHECK(r.content.template_id.empty() != !has_inline);

  // Variables: a compact JSON object within the size limit.
  FUZZ_CHECK(r.variables_json.size() <= api::Limits::kVariablesBytes);
  boost::system::error_code ec;
  auto v = boost::json::parse(r.variables_json, ec);
  FUZZ_CHECK(!ec && v.is_object());

  // Times.
  if (r.expires_at) FUZZ_CHECK(*r.expires_at > kNow);
  if (r.send_at && r.expires_at) FUZZ_CHECK(*r.expires_at > *r.send_at);
  if (r.send_at) FUZZ_CHECK(*r.send_at <= kNow + api::kMaxScheduleAhead);
}

void check(const core::Result<core::MessageRequest>& r) {
  if (r) {
    check_request(*r);
  } else {
    check_error(r.error());
  }
}

void check_batch(const core::Result<api::BatchItems>& b) {
  if (!b) {
    check_error(b.error());
    return;
  }
  FUZZ_CHECK(!b->empty() && b->size() <= kMaxBatch);
  for (const auto& item : *b) check(item);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  api::ParseOptions options;
  options.now = kNow;
  options.max_batch = kMaxBatch;

  check(api::parse_message_json(body, options));
  check_batch(api::parse_batch_json(body, options));
  // The same bytes as Protobuf: mostly garbage, which is the point.
  check(api::parse_message_proto(body, options));
  check_batch(api::parse_batch_proto(body, options));

  // A JSON value also parses when wrapped as a one-item batch, with the
  // same verdict and the same error field.
  boost::system::error_code ec;
  boost::json::parse(body, ec);
  if (!ec && size < 100000) {
    std::string wrapped = "{\"messages\":[";
    wrapped.append(body);
    wrapped.append("]}");
    auto single = api::parse_message_json(body, options);
    auto batch = api::parse_batch_json(wrapped, options);
    if (batch && batch->size() == 1) {
      FUZZ_CHECK(bool((*batch)[0]) == bool(single));
      if (!single) FUZZ_CHECK((*batch)[0].error().field == single.error().field);
    }
  }
  return 0;
}
