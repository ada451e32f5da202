// engine/inject.cpp: mail injected over SMTP (engine/inject.h).
//
// Everything that can refuse a message runs before anything is stored, on
// the listener's thread: the envelope, the header section, the control
// headers. The data is copied once, into the stored form (the data
// without the control headers), and handed to the first recipient's
// request; the others share it in the spool, so a message to 50 recipients
// is written once, not 50 times.
#include "engine/inject.h"

#include <unistd.h>

#include <climits>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <utility>

#include "core/address.h"
#include "core/log.h"
#include "core/utf8.h"
#include "templating/mime.h"

namespace engine {

namespace {

constexpr size_t kMaxCategory = 64;
constexpr size_t kMaxCampaign = 256;
constexpr size_t kMaxIdempotencyKey = 255;

bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }
char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// A value for an error message, which becomes an SMTP reply: printable
// ASCII only, at most 64 bytes.
std::string quote(std::string_view v) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  for (size_t i = 0; i < v.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
  }
  if (v.size() > kMax) out.append("...");
  out.push_back('\'');
  return out;
}

core::Error bad(std::string field, std::string_view message) {
  std::string text = field + ": ";
  text.append(message);
  return core::invalid_argument(std::move(field), std::move(text));
}

core::Error bad_line(size_t line, std::string_view what) {
  return bad("data", "header line " + std::to_string(line) + " " + std::string(what));
}

// ftext: printable US-ASCII except ':' (RFC 5322 3.6.8).
bool valid_field_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

// The value of a control header: unfolded (RFC 5322 2.2.3: the CRLF
// before folding white space removed) and trimmed.
std::string unfold(std::string_view raw) {
  std::string v;
  v.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') {
      ++i;
      continue;
    }
    v.push_back(raw[i]);
  }
  size_t b = 0, e = v.size();
  while (b < e && is_wsp(v[b])) ++b;
  while (e > b && is_wsp(v[e - 1])) --e;
  return v.substr(b, e - b);
}

core::Status apply_control(size_t which, std::string value, InjectedContent& out) {
  const std::string name(kControlHeaders[which]);
  if (value.empty()) return bad(name, "empty");
  switch (which) {
    case 0:  // category: the API's rule
      if (value.size() > kMaxCategory) return bad(name, "longer than 64 bytes");
      for (unsigned char c : value) {
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.' || c == '-')) {
          return bad(name, quote(value) + " must match [a-z0-9_.-]{1,64}");
        }
      }
      out.category = std::move(value);
      return {};
    case 1:  // campaign: a tag value
      if (value.size() > kMaxCampaign) return bad(name, "longer than 256 bytes");
      if (!core::utf8::valid(value.data(), value.size())) return bad(name, "not valid UTF-8");
      for (unsigned char c : value) {
        if ((c < 0x20 && c != '\t') || c == 0x7F) {
          return bad(name, "must not contain control characters");
        }
      }
      out.campaign = std::move(value);
      return {};
    case 2: {  // priority
      std::string lower = value;
      for (char& c : lower) c = ascii_lower(c);
      auto p = core::parse_priority(lower);
      if (!p) return bad(name, quote(value) + " is not one of transactional, normal, bulk");
      out.priority = *p;
      return {};
    }
    default:  // idempotency key: the API's rule
      if (value.size() > kMaxIdempotencyKey) return bad(name, "longer than 255 bytes");
      for (unsigned char c : value) {
        if (c < 0x20 || c > 0x7E) return bad(name, "must be printable ASCII");
      }
      out.idempotency_key = std::move(value);
      return {};
  }
}

// The recipient's identity for duplicates and idempotency: the domain is
// case-insensitive (ASCII letters lowered), the local part is not.
std::string normalized(std::string_view address) {
  std::string out(address);
  const size_t at = out.rfind('@');
  for (size_t i = at == std::string::npos ? out.size() : at; i < out.size(); ++i) {
    out[i] = ascii_lower(out[i]);
  }
  return out;
}

core::Status check_envelope(const mta::InjectedMessage& m, const core::ListenerConfig& config) {
  if (m.tenant.empty()) {
    // The listener always names one (listener.network_tenant or the user's):
    // this is our bug, not the client's; 451 lets it try again.
    return core::make_error(core::Errc::kInternal, "injected message without a tenant");
  }
  if (m.rcpt_to.empty()) return bad("rcpt_to", "no recipients");
  if (config.max_recipients > 0 && m.rcpt_to.size() > config.max_recipients) {
    return bad("rcpt_to", "more than " + std::to_string(config.max_recipients) + " recipients");
  }
  if (!m.mail_from.empty() && !is_valid_injected_address(m.mail_from, m.smtputf8)) {
    return bad("mail_from", quote(m.mail_from) + " is not a valid address");
  }
  for (const std::string& rcpt : m.rcpt_to) {
    if (!is_valid_injected_address(rcpt, m.smtputf8)) {
      return bad("rcpt_to", quote(rcpt) + " is not a valid address");
    }
  }
  if (config.max_message_bytes > 0 && m.data.size() > config.max_message_bytes) {
    return bad("data", "larger than " + std::to_string(config.max_message_bytes) + " bytes");
  }
  return {};
}

}  // namespace

bool is_valid_injected_address(std::string_view s, bool utf8) noexcept {
  return core::is_valid_mailbox(s, utf8);
}

// One pass over the header section, line by line. A field is its first
// line and the folded lines after it; it is complete when the next field
// (or the empty line) starts, which is when a control header is taken out.
core::Result<InjectedContent> parse_injected_data(std::string_view data, std::string_view trace) {
  if (data.empty()) return bad("data", "the message is empty");
  if (std::memchr(data.data(), '\0', data.size()) != nullptr) {
    return bad("data", "contains a NUL byte");
  }
  InjectedContent out;
  struct Range {
    size_t begin = 0, end = 0;
  };
  std::array<Range, kControlHeaders.size()> removed{};  // in data order
  size_t removed_n = 0;
  std::array<bool, kControlHeaders.size()> seen{};
  std::optional<size_t> control;  // the field being read is this control header
  bool in_field = false;
  size_t field_begin = 0, value_begin = 0;

  auto close_field = [&](size_t end) -> core::Status {
    if (!in_field || !control) return {};
    const size_t which = *control;
    if (seen[which]) return bad(std::string(kControlHeaders[which]), "given more than once");
    seen[which] = true;
    removed[removed_n++] = Range{field_begin, end};
    // The value runs to the CRLF that ends the field's last line.
    return apply_control(which, unfold(data.substr(value_begin, end - 2 - value_begin)), out);
  };

  size_t pos = 0;
  for (size_t line = 1;; ++line) {
    const size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) {
      return bad("data", "the header section does not end with an empty line");
    }
    if (nl == pos || data[nl - 1] != '\r') return bad_line(line, "ends with a bare LF, not CRLF");
    const std::string_view text = data.substr(pos, nl - 1 - pos);
    if (text.find('\r') != std::string_view::npos) return bad_line(line, "holds a bare CR");
    if (text.empty()) {
      if (!in_field) return bad("data", "no header fields before the empty line");
      if (auto st = close_field(pos); !st) return st.error();
      break;
    }
    if (is_wsp(text.front())) {
      if (!in_field) return bad_line(line, "starts with white space but no field precedes it");
    } else {
      if (auto st = close_field(pos); !st) return st.error();
      const size_t colon = text.find(':');
      std::string_view name = text.substr(0, colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);  // obs-optional
      if (colon == std::string_view::npos || !valid_field_name(name)) {
        return bad_line(line, "is not a header field (name: value): " + quote(text));
      }
      in_field = true;
      field_begin = pos;
      value_begin = pos + colon + 1;
      control.reset();
      for (size_t i = 0; i < kControlHeaders.size(); ++i) {
        if (iequals(name, kControlHeaders[i])) control = i;
      }
    }
    pos = nl + 1;
  }

  size_t kept = data.size();
  for (size_t i = 0; i < removed_n; ++i) kept -= removed[i].end - removed[i].begin;
  out.data.reserve(trace.size() + kept);
  out.data.append(trace);
  size_t from = 0;
  for (size_t i = 0; i < removed_n; ++i) {
    out.data.append(data.substr(from, removed[i].begin - from));
    from = removed[i].end;
  }
  out.data.append(data.substr(from));
  return out;
}

Injector::Injector(Engine& engine, std::shared_ptr<const core::Config> config,
                   const core::Clock& clock)
    : engine_(engine),
      config_(std::move(config)),
      clock_(clock) {}

void Injector::inject(mta::InjectedMessage message, mta::InjectDone done) {
  if (!message.inbound_rcpt.empty()) {
    receive(std::move(message), std::move(done));
    return;
  }
  relay(std::move(message), std::move(done));
}

// Reports are stored as received: a DSN or a complaint is evidence, and
// whatever its form the processor (inbound.h) decides what it says. Then
// the relayed recipients of the same transaction, if any.
void Injector::receive(mta::InjectedMessage message, mta::InjectDone done) {
  queue::InboundReport report;
  report.mail_from = message.mail_from;
  report.rcpt_to = std::move(message.inbound_rcpt);
  report.client_ip = message.client_ip;
  report.helo = message.helo;
  if (message.rcpt_to.empty()) {
    report.data = std::move(message.data);
  } else {
    report.data = message.data;
  }
  engine_.receive_report(
      std::move(report), [this, message = std::move(message),
                          done = std::move(done)](core::Result<core::Id> id) mutable {
        if (!id) {
          done(id.error());
          return;
        }
        if (message.rcpt_to.empty()) {
          done(std::vector<core::Id>{*id});
          return;
        }
        message.inbound_rcpt.clear();
        relay(std::move(message),
              [id = *id, done = std::move(done)](core::Result<std::vector<core::Id>> ids) {
                if (ids) ids->push_back(id);
                done(std::move(ids));
              });
      });
}

void Injector::relay(mta::InjectedMessage message, mta::InjectDone done) {
  if (auto st = check_envelope(message, config_->listener); !st) {
    done(st.error());
    return;
  }
  auto content = parse_injected_data(message.data, {});
  if (!content) {
    done(content.error());
    return;
  }
  message.data = std::string();  // the stored copy is all we keep

  // One request per distinct recipient; slot[k] is the request of
  // rcpt_to[k], so duplicates get the same message id.
  std::vector<core::MessageRequest> requests;
  std::vector<std::optional<uint32_t>> content_of;
  std::vector<uint32_t> slot(message.rcpt_to.size());
  std::unordered_map<std::string, uint32_t> seen;
  requests.reserve(message.rcpt_to.size());
  for (size_t k = 0; k < message.rcpt_to.size(); ++k) {
    std::string key = normalized(message.rcpt_to[k]);
    const auto [it, inserted] = seen.try_emplace(key, static_cast<uint32_t>(requests.size()));
    slot[k] = it->second;
    if (!inserted) continue;
    core::MessageRequest& r = requests.emplace_back();
    if (!content->idempotency_key.empty()) {
      r.idempotency_key = content->idempotency_key;
      r.idempotency_key.push_back('\0');
      r.idempotency_key.append(key);
    }
    r.channels = {core::Channel::kEmail};
    r.to.email = std::move(message.rcpt_to[k]);
    r.from.email = message.mail_from;
    r.category = content->category;
    r.variables_json = "{}";
    r.priority = content->priority;
    if (!content->campaign.empty()) r.tags.push_back(core::Tag{"campaign", content->campaign});
    content_of.push_back(content_of.empty() ? std::nullopt : std::optional<uint32_t>(0));
  }
  requests.front().content.raw = std::move(content->data);
  if (requests.size() == 1) content_of.clear();

  engine_.submit(message.tenant, std::move(requests), std::move(content_of),
                 [slot = std::move(slot), tenant = message.tenant, client = message.client_ip,
                  done = std::move(done)](SubmitResult r) {
                   std::vector<core::Id> ids;
                   ids.reserve(slot.size());
                   for (uint32_t s : slot) {
                     if (s >= r.items.size()) {
                       done(core::make_error(core::Errc::kInternal,
                                             "the engine gave no result for a recipient"));
                       return;
                     }
                     if (!r.items[s]) {
                       done(r.items[s].error());
                       return;
                     }
                     ids.push_back(r.items[s]->id);
                   }
                   core::log::debug("message injected", {{"tenant", tenant},
                                                         {"client", client},
                                                         {"id", ids.front().to_string()},
                                                         {"recipients", ids.size()}});
                   done(std::move(ids));
                 });
}

}  // namespace engine
