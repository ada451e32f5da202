// api/routes_suppressions.cpp: the suppression list (v1).
//
//   GET    /v1/suppressions?channel=&address=&category=&limit=&after=&tenant=
//            a tenant's entries in key order (channel, address, category),
//            a page at a time: {"suppressions":[...],"next":"<cursor>"}
//   POST   /v1/suppressions   {"suppressions":[{...}, ...]} or one {...}
//            -> {"added": n}
//   DELETE /v1/suppressions?channel=&address=&category=&tenant=
//            -> {"removed": n}; no category: every category of the address
//
// Tenants. Every entry belongs to a tenant. A sender key manages its own
// tenant's entries only: naming another tenant (tenant= in the query, or
// "tenant" in an entry) is refused with 403, so nothing is learnt about
// other tenants. An admin key manages any tenant's, and without tenant=
// its own principal's tenant, exactly as its enqueues belong to that
// tenant: an admin acting for tenant "shop" says so. Tenant ids are only
// checked for syntax, not against [[tenants]]: entries of a tenant removed
// from the config stay readable and removable.
//
// The query string is parsed as RFC 3986 query components with percent
// escapes; '+' is a plus sign, not a space (addresses hold '+': "+380...",
// "ivan+news@..."); a space is %20. Unknown or repeated parameters are
// refused, like unknown JSON fields everywhere in the API.
//
// JSON only, like the template and throttle endpoints: a Protobuf body
// gets 415 and answers are JSON whatever Accept says. Writes go through the
// engine (engine::Engine::suppress/unsuppress) and are answered once
// durable; reads come straight from the spool.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <map>

#include "api/bridge.h"
#include "api/draft.h"
#include "api/json_writer.h"
#include "api/request.h"
#include "api/response.h"
#include "api/routes.h"
#include "api/utf8.h"
#include "core/log.h"
#include "core/suppression.h"
#include "core/time_format.h"
#include "engine/engine.h"

namespace api {

namespace {

namespace json = boost::json;

constexpr size_t kDefaultPage = 100;
constexpr size_t kMaxPage = 1000;
constexpr size_t kMaxEntries = 10'000;  // per POST
constexpr size_t kMaxDetailBytes = 1024;
constexpr size_t kMaxTenantBytes = 64;

Response json_only() {
  return http_error(415, "unsupported_media_type",
                    "this endpoint takes and gives JSON (application/json)", Format::kJson);
}

core::Error spool_timeout() {
  return core::make_error(core::Errc::kUnavailable,
                          "timed out waiting for the spool; the outcome is unknown: "
                          "send the same request again (it is idempotent)");
}

// ---- the query string ------------------------------------------------------

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in`; '+' stays '+'. False on a bad escape or a NUL.
bool percent_decode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

using Params = std::map<std::string, std::string, std::less<>>;

// name=value pairs of `query`, each name one of `allowed`, at most once.
// An empty value is "not given" (the parameter is left out of the map).
core::Result<Params> parse_query(std::string_view query,
                                 std::initializer_list<std::string_view> allowed) {
  Params out;
  std::string name, value;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (!percent_decode(pair.substr(0, eq), &name) || !utf8::valid(name.data(), name.size())) {
      return detail::field_error("", "query: a parameter name is not validly percent-encoded");
    }
    bool known = false;
    std::string list;
    for (std::string_view a : allowed) {
      known = known || a == name;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    if (!known) {
      // The name is echoed as the field only when it is printable.
      return detail::field_error(is_header_safe(name) ? name : std::string(),
                                 "unknown query parameter (this endpoint takes " + list + ")");
    }
    if (eq == std::string_view::npos || !percent_decode(pair.substr(eq + 1), &value)) {
      return detail::field_error(name, "expected " + name + "=<percent-encoded value>");
    }
    if (!utf8::valid(value.data(), value.size())) {
      return detail::field_error(name, "not valid UTF-8");
    }
    if (out.contains(name)) return detail::field_error(name, "given more than once");
    if (!value.empty()) out.emplace(name, value);
  }
  return out;
}

std::string_view param(const Params& p, std::string_view name) {
  auto it = p.find(name);
  return it == p.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view trim(std::string_view s) noexcept {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

// ---- tenants ---------------------------------------------------------------

bool valid_tenant_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxTenantBytes) return false;
  for (const char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

// The tenant a request acts for: `asked` (tenant= or an entry's "tenant")
// if the key may act for it, else the key's own.
core::Result<std::string> acting_tenant(const Principal& p, std::string_view asked,
                                        const std::string& field) {
  if (asked.empty() || asked == p.tenant) return p.tenant;
  if (!valid_tenant_id(asked)) {
    return detail::field_error(
        field, detail::quote_value(asked) + " is not a tenant id ([a-z0-9_-]{1,64})");
  }
  if (p.role != core::Role::kAdmin) {
    return core::Error{core::Errc::kPermissionDenied,
                       field + ": a sender key manages only its own tenant's suppressions", field};
  }
  return std::string(asked);
}

// ---- the paging cursor -------------------------------------------------------

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (const char ch : in) {
    acc = (acc << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64Url[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kBase64Url[(acc << (6 - bits)) & 0x3F]);
  return out;
}

bool unbase64url(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return bits < 6;  // a lone trailing character is not base64
}

// The cursor names the last entry shown: base64url of channel \0 address
// \0 category. It is opaque to clients but not secret (it repeats what the
// page showed), and it is checked like any input.
std::string cursor_of(const core::Suppression& s) {
  std::string raw = s.channel;
  raw.push_back('\0');
  raw += s.address;
  raw.push_back('\0');
  raw += s.category;
  return base64url(raw);
}

core::Result<core::Suppression> parse_cursor(std::string_view cursor) {
  auto bad = [] {
    return detail::field_error("after", "not a cursor from a previous page's \"next\"");
  };
  std::string raw;
  if (cursor.size() > 1024 || !unbase64url(cursor, &raw)) return bad();
  const size_t a = raw.find('\0');
  const size_t b = a == std::string::npos ? a : raw.find('\0', a + 1);
  if (b == std::string::npos || raw.find('\0', b + 1) != std::string::npos) return bad();
  core::Suppression s;
  s.channel = raw.substr(0, a);
  s.address = raw.substr(a + 1, b - a - 1);
  s.category = raw.substr(b + 1);
  if (!core::check_suppression_fields(s.channel, s.address, s.category) ||
      !utf8::valid(s.address.data(), s.address.size())) {
    return bad();
  }
  return s;
}

// ---- field checks ------------------------------------------------------------

// The filters of GET and DELETE, each optional here: the fields' own rules
// (core::check_suppression_fields) with the absent ones stood in for.
core::Status check_filters(std::string_view channel, std::string_view address,
                           std::string_view category) {
  return core::check_suppression_fields(channel.empty() ? core::kAnyChannel : channel,
                                        address.empty() ? std::string_view("-") : address,
                                        category.empty() ? core::kAnyCategory : category);
}

// An address given for an entry, on its channel: the channel's own syntax
// where the API has one (as POST /v1/messages checks "to"), so that a typo
// does not become an entry nothing ever matches.
core::Status check_address_syntax(std::string_view channel, std::string_view address,
                                  const std::string& field) {
  bool ok = true;
  if (channel == "email") {
    ok = is_valid_email(address);
  } else if (channel == "sms" || channel == "whatsapp") {
    ok = is_e164(core::normalize_address(channel, address));
  } else if (channel == "telegram") {
    ok = is_telegram_chat_id(address);
  }
  if (!ok) {
    return detail::field_error(field, detail::quote_value(address) + " is not a valid " +
                                          std::string(channel) + " address");
  }
  return {};
}

// One entry of a POST body. `path` is "suppressions[i]." or "" (a single
// object).
core::Result<core::Suppression> parse_entry(const json::value& v, const Principal& p,
                                            const std::string& path) {
  if (!v.is_object()) {
    return detail::field_error(path.empty() ? "" : path.substr(0, path.size() - 1),
                               "expected a JSON object");
  }
  core::Suppression s;
  std::string_view tenant, channel, address, category, reason, text;
  for (const auto& [k, val] : v.as_object()) {
    const std::string_view key(k.data(), k.size());
    const std::string field = path + std::string(key);
    std::string_view* slot = key == "tenant"     ? &tenant
                             : key == "channel"  ? &channel
                             : key == "address"  ? &address
                             : key == "category" ? &category
                             : key == "reason"   ? &reason
                             : key == "detail"   ? &text
                                                 : nullptr;
    if (slot == nullptr) return detail::field_error(field, "unknown field");
    if (val.is_null()) continue;
    if (!val.is_string()) return detail::field_error(field, "expected a string");
    *slot = std::string_view(val.as_string());
  }

  auto tenant_ok = acting_tenant(p, tenant, path + "tenant");
  if (!tenant_ok) return std::move(tenant_ok).error();
  s.tenant = std::move(*tenant_ok);
  if (channel.empty()) {
    return detail::field_error(path + "channel",
                               "required: email, telegram, viber, vk, whatsapp, sms or \"*\"");
  }
  address = trim(address);  // as normalize_address will
  if (address.empty()) return detail::field_error(path + "address", "required");
  if (category.empty()) category = core::kAnyCategory;
  if (auto st = core::check_suppression_fields(channel, address, category); !st) {
    core::Error e = st.error();
    e.field = path + e.field;
    e.message = path + e.message;
    return e;
  }
  if (auto st = check_address_syntax(channel, address, path + "address"); !st) {
    return std::move(st).error();
  }
  s.channel.assign(channel);
  s.address.assign(address);
  s.category.assign(category);
  if (!reason.empty()) {
    const auto r = core::parse_suppression_reason(reason);
    if (!r) {
      return detail::field_error(path + "reason", detail::quote_value(reason) +
                                                      " is not one of unsubscribed, hard_bounce, "
                                                      "complaint, manual");
    }
    s.reason = *r;
  }
  if (auto st = detail::check_text(path + "detail", text, kMaxDetailBytes,
                                   detail::TextKind::kHeader, /*utf8_checked=*/true);
      !st) {
    return std::move(st).error();
  }
  s.detail.assign(text);
  return s;
}

// The body of POST: {"suppressions": [...]} or one entry object.
core::Result<std::vector<core::Suppression>> parse_entries(std::string_view body,
                                                           const Principal& p) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return detail::field_error("", "invalid JSON: " + ec.message());
  if (!doc.is_object()) return detail::field_error("", "expected a JSON object");
  std::vector<core::Suppression> out;
  const json::object& o = doc.as_object();
  const json::value* list = o.if_contains("suppressions");
  if (list == nullptr) {
    auto one = parse_entry(doc, p, "");
    if (!one) return std::move(one).error();
    out.push_back(std::move(*one));
    return out;
  }
  for (const auto& [k, v] : o) {
    if (k != "suppressions") {
      return detail::field_error(std::string(k), "unknown field (next to \"suppressions\")");
    }
  }
  if (!list->is_array()) return detail::field_error("suppressions", "expected an array");
  const json::array& a = list->as_array();
  if (a.empty()) return detail::field_error("suppressions", "empty: nothing to add");
  if (a.size() > kMaxEntries) {
    return core::Error{core::Errc::kTooLarge,
                       "suppressions: " + std::to_string(a.size()) + " entries; at most " +
                           std::to_string(kMaxEntries) + " per request",
                       "suppressions"};
  }
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    auto one = parse_entry(a[i], p, "suppressions[" + std::to_string(i) + "].");
    if (!one) return std::move(one).error();
    out.push_back(std::move(*one));
  }
  return out;
}

void write_entry(JsonWriter& w, const core::Suppression& s) {
  w.begin_object();
  w.member("tenant", s.tenant);
  w.member("channel", s.channel);
  w.member("address", s.address);
  w.member("category", s.category);
  w.member("reason", core::suppression_reason_name(s.reason));
  w.member("created_at", core::format_rfc3339(s.created_at));
  w.member("detail", s.detail);
  if (s.message_id) w.member("message_id", s.message_id->to_string());
  w.end_object();
}

Response count_response(std::string_view key, uint64_t n) {
  Response r;
  JsonWriter w(r.body);
  w.begin_object();
  w.member(key, n);
  w.end_object();
  return r;
}

}  // namespace

Response list_suppressions(Services& s, const Request& req) {
  auto params =
      parse_query(req.query, {"tenant", "channel", "address", "category", "limit", "after"});
  if (!params) return error_response(params.error(), Format::kJson);
  auto tenant = acting_tenant(*req.principal, param(*params, "tenant"), "tenant");
  if (!tenant) return error_response(tenant.error(), Format::kJson);

  queue::SuppressionQuery q;
  q.tenant = std::move(*tenant);
  q.channel = param(*params, "channel");
  q.address = param(*params, "address");
  q.category = param(*params, "category");
  if (auto st = check_filters(q.channel, q.address, q.category); !st) {
    return error_response(st.error(), Format::kJson);
  }
  size_t limit = kDefaultPage;
  if (const std::string_view l = param(*params, "limit"); !l.empty()) {
    size_t n = 0;
    bool ok = l.size() <= 4;
    for (const char c : l) ok = ok && c >= '0' && c <= '9';
    if (ok) {
      for (const char c : l) n = n * 10 + static_cast<size_t>(c - '0');
    }
    if (!ok || n < 1 || n > kMaxPage) {
      return error_response(
          detail::field_error("limit", "expected a number from 1 to " + std::to_string(kMaxPage)),
          Format::kJson);
    }
    limit = n;
  }
  if (const std::string_view a = param(*params, "after"); !a.empty()) {
    auto after = parse_cursor(a);
    if (!after) return error_response(after.error(), Format::kJson);
    after->tenant = q.tenant;
    q.after = std::move(*after);
  }
  // One entry more than the page tells whether another page follows, so
  // the last page carries no "next" (and no client asks for an empty one).
  q.limit = limit + 1;
  auto entries = s.engine.list_suppressions(std::move(q));
  if (!entries) return error_response(entries.error(), Format::kJson);
  const bool more = entries->size() > limit;
  if (more) entries->resize(limit);

  Response r;
  r.body.reserve(32 + entries->size() * 192);
  JsonWriter w(r.body);
  w.begin_object();
  w.key("suppressions");
  w.begin_array();
  for (const core::Suppression& e : *entries) write_entry(w, e);
  w.end_array();
  if (more) w.member("next", cursor_of(entries->back()));
  w.end_object();
  return r;
}

boost::asio::awaitable<Response> add_suppressions(Services& s, const Request& req) {
  if (req.body_format == Format::kProtobuf) co_return json_only();
  if (!req.query.empty()) {
    co_return error_response(
        detail::field_error("", "POST /v1/suppressions takes no query parameters"), Format::kJson);
  }
  auto entries = parse_entries(req.body, *req.principal);
  if (!entries) co_return error_response(entries.error(), Format::kJson);
  const size_t n = entries->size();
  std::vector<core::Suppression>& list = *entries;
  auto answer = co_await await_callback<core::Status>(
      [&s, &list](std::function<void(core::Status)> done) {
        s.engine.suppress(std::move(list), std::move(done));
      },
      spool_deadline(s));
  if (!answer) co_return error_response(spool_timeout(), Format::kJson);
  if (!*answer) co_return error_response(answer->error(), Format::kJson);
  core::log::info("api: suppressions added",
                  {{"tenant", std::string_view(req.principal->tenant)}, {"count", uint64_t{n}}});
  co_return count_response("added", n);
}

boost::asio::awaitable<Response> delete_suppressions(Services& s, const Request& req) {
  auto params = parse_query(req.query, {"tenant", "channel", "address", "category"});
  if (!params) co_return error_response(params.error(), Format::kJson);
  auto tenant = acting_tenant(*req.principal, param(*params, "tenant"), "tenant");
  if (!tenant) co_return error_response(tenant.error(), Format::kJson);
  core::Suppression which;
  which.tenant = std::move(*tenant);
  which.channel = param(*params, "channel");
  which.address = param(*params, "address");
  which.category = param(*params, "category");  // empty: every category
  if (which.channel.empty()) {
    co_return error_response(
        detail::field_error("channel",
                            "required: email, telegram, viber, vk, whatsapp, sms or \"*\""),
        Format::kJson);
  }
  if (which.address.empty()) {
    co_return error_response(detail::field_error("address", "required"), Format::kJson);
  }
  if (auto st = check_filters(which.channel, which.address, which.category); !st) {
    co_return error_response(st.error(), Format::kJson);
  }
  auto answer = co_await await_callback<core::Result<size_t>>(
      [&s, &which](std::function<void(core::Result<size_t>)> done) {
        s.engine.unsuppress(std::move(which), std::move(done));
      },
      spool_deadline(s));
  if (!answer) co_return error_response(spool_timeout(), Format::kJson);
  if (!*answer) co_return error_response(answer->error(), Format::kJson);
  const size_t removed = **answer;
  core::log::info("api: suppressions removed", {{"tenant", std::string_view(req.principal->tenant)},
                                                {"count", uint64_t{removed}}});
  co_return count_response("removed", removed);
}

}  // namespace api
