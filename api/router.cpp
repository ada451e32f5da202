// api/router.cpp: method + path -> route, bearer key -> principal.
//
// The route table is small and fixed, so matching is a few comparisons
// rather than a general router. Authentication happens after routing and
// before the body is read: a request without a valid key is refused
// without reading (or buffering) its body.
#include <boost/asio/awaitable.hpp>

#include "api/metrics.h"
#include "api/response.h"
#include "api/routes.h"

namespace api {

namespace http = boost::beast::http;

std::string_view route_name(RouteId id) noexcept {
  switch (id) {
    case RouteId::kProviderCallback:
      return "provider_callback";
    case RouteId::kSendMessage:
      return "send_message";
    case RouteId::kSendBatch:
      return "send_batch";
    case RouteId::kGetMessage:
      return "get_message";
    case RouteId::kCancelMessage:
      return "cancel_message";
    case RouteId::kHealthz:
      return "healthz";
    case RouteId::kMetrics:
      return "metrics";
    case RouteId::kQueues:
      return "queues";
    case RouteId::kPutTemplate:
      return "put_template";
    case RouteId::kGetTemplate:
      return "get_template";
    case RouteId::kDeleteTemplate:
      return "delete_template";
    case RouteId::kListTemplates:
      return "list_templates";
    case RouteId::kPreviewMessage:
      return "preview_message";
    case RouteId::kGetThrottles:
      return "get_throttles";
    case RouteId::kPutThrottles:
      return "put_throttles";
    case RouteId::kPauseDestination:
      return "pause_destination";
    case RouteId::kResumeDestination:
      return "resume_destination";
    case RouteId::kListSuppressions:
      return "list_suppressions";
    case RouteId::kAddSuppressions:
      return "add_suppressions";
    case RouteId::kDeleteSuppressions:
      return "delete_suppressions";
    case RouteId::kUnsubscribePage:
      return "unsubscribe_page";
    case RouteId::kUnsubscribe:
      return "unsubscribe";
  }
  return "unknown";
}

ApiMetrics& ApiMetrics::get() {
  static ApiMetrics* m = [] {
    auto* x = new ApiMetrics;
    auto& r = core::metrics::Registry::global();
    for (size_t i = 0; i < kRouteCount; ++i) {
      x->requests[i] = r.counter("vestnik_api_requests_total", "HTTP API requests by endpoint.",
                                 "route", route_name(RouteId(i)), kRouteCount);
    }
    constexpr std::string_view kResp = "HTTP API responses by status class.";
    x->responses_2xx = r.counter("vestnik_api_responses_total", kResp, "class", "2xx", 3);
    x->responses_4xx = r.counter("vestnik_api_responses_total", kResp, "class", "4xx", 3);
    x->responses_5xx = r.counter("vestnik_api_responses_total", kResp, "class", "5xx", 3);
    x->messages_accepted = r.counter("vestnik_api_messages_accepted_total",
                                     "Messages acknowledged as durably queued by the API.");
    x->messages_rejected =
        r.counter("vestnik_api_messages_rejected_total", "Messages refused by API validation.");
    x->connections = r.gauge("vestnik_api_connections", "Open HTTP API connections.");
    x->connections_refused = r.counter("vestnik_api_connections_refused_total",
                                       "Connections refused because max_connections was reached.");
    x->request_seconds = r.histogram(
        "vestnik_api_request_seconds", "HTTP API request time, head received to response sent.",
        {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    return x;
  }();
  return *m;
}

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Response not_found(Format f) {
  return error_response(core::Errc::kNotFound, "no such endpoint", f);
}

Response method_not_allowed(std::string_view allow, Format f) {
  Response r = http_error(405, "method_not_allowed",
                          "method not allowed; allowed: " + std::string(allow), f);
  r.allow = allow;
  return r;
}

bool is_get(http::verb m) noexcept { return m == http::verb::get || m == http::verb::head; }

constexpr std::string_view kGetAllow = "GET, HEAD";

std::variant<Route, Response> get_only(RouteId id, http::verb m, Format f) {
  if (is_get(m)) return Route{id, {}};
  return method_not_allowed(kGetAllow, f);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
}

}  // namespace

bool split_target(std::string_view target, std::string* path, std::string_view* query) {
  if (target.empty() || target.front() != '/') return false;
  const size_t q = target.find('?');
  std::string_view raw = target.substr(0, q);
  *query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  path->clear();
  path->reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      path->push_back(raw[i]);
      continue;
    }
    if (i + 2 >= raw.size()) return false;
    const int hi = hex_value(raw[i + 1]);
    const int lo = hex_value(raw[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    path->push_back(char(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::variant<Route, Response> match_route(http::verb m, std::string_view path, Format f) {
  constexpr std::string_view kMessages = "/v1/messages";
  if (path.starts_with(kMessages)) {
    const std::string_view rest = path.substr(kMessages.size());
    if (rest.empty() || rest == ":batch" || rest == ":preview") {
      if (m != http::verb::post) return method_not_allowed("POST", f);
      return Route{rest.empty()         ? RouteId::kSendMessage
                   : rest == ":batch" ? RouteId::kSendBatch
                                      : RouteId::kPreviewMessage,
                   {}};
    }
    if (rest.front() == '/' && rest.size() > 1 && rest.find('/', 1) == std::string_view::npos) {
      const std::string_view id = rest.substr(1);
      if (is_get(m)) return Route{RouteId::kGetMessage, id};
      if (m == http::verb::delete_) return Route{RouteId::kCancelMessage, id};
      return method_not_allowed("GET, HEAD, DELETE", f);
    }
    return not_found(f);
  }
  constexpr std::string_view kTemplates = "/v1/templates";
  if (path.starts_with(kTemplates)) {
    const std::string_view rest = path.substr(kTemplates.size());
    if (rest.empty()) return get_only(RouteId::kListTemplates, m, f);
    if (rest.front() == '/' && rest.size() > 1 && rest.find('/', 1) == std::string_view::npos) {
      const std::string_view id = rest.substr(1);
      if (is_get(m)) return Route{RouteId::kGetTemplate, id};
      if (m == http::verb::put) return Route{RouteId::kPutTemplate, id};
      if (m == http::verb::delete_) return Route{RouteId::kDeleteTemplate, id};
      return method_not_allowed("GET, HEAD, PUT, DELETE", f);
    }
    return not_found(f);
  }
  if (path == "/healthz") return get_only(RouteId::kHealthz, m, f);
  if (path == "/metrics") return get_only(RouteId::kMetrics, m, f);
  if (path == "/v1/queues") return get_only(RouteId::kQueues, m, f);
  if (path == "/v1/suppressions") {
    if (is_get(m)) return Route{RouteId::kListSuppressions, {}};
    if (m == http::verb::post) return Route{RouteId::kAddSuppressions, {}};
    if (m == http::verb::delete_) return Route{RouteId::kDeleteSuppressions, {}};
    return method_not_allowed("GET, HEAD, POST, DELETE", f);
  }
  // /u/{token}: the one-click unsubscribe link of every bulk email. The
  // token is checked by the handler, which answers a forged one with its
  // own 404 page.
  constexpr std::string_view kUnsubscribePrefix = "/u/";
  if (path.starts_with(kUnsubscribePrefix)) {
    const std::string_view token = path.substr(kUnsubscribePrefix.size());
    if (token.empty() || token.find('/') != std::string_view::npos) return not_found(f);
    if (is_get(m)) return Route{RouteId::kUnsubscribePage, token};
    if (m == http::verb::post) return Route{RouteId::kUnsubscribe, token};
    return method_not_allowed("GET, HEAD, POST", f);
  }
  if (path == "/v1/throttles") {
    if (is_get(m)) return Route{RouteId::kGetThrottles, {}};
    if (m == http::verb::put) return Route{RouteId::kPutThrottles, {}};
    return method_not_allowed("GET, HEAD, PUT", f);
  }
  // /v1/destinations/{key}:pause|:resume. The key itself holds ':'
  // ("email:gmail.com", sent as is or as %3A), so the verb is what follows
  // the last one. The key is checked by the handler, which can name it in
  // a 400 (empty, or holding '/', which may have arrived as %2F).
  // /v1/callbacks/{channel}/{account}: the channel and the account are
  // checked by the handler (404 for ones not configured).
  constexpr std::string_view kCallbacks = "/v1/callbacks/";
  if (path.starts_with(kCallbacks)) {
    const std::string_view rest = path.substr(kCallbacks.size());
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size() ||
        rest.find('/', slash + 1) != std::string_view::npos) {
      return not_found(f);
    }
    if (m != http::verb::post && !is_get(m)) return method_not_allowed("GET, HEAD, POST", f);
    return Route{RouteId::kProviderCallback, rest};
  }
  constexpr std::string_view kDestinations = "/v1/destinations/";
  if (path.starts_with(kDestinations)) {
    const std::string_view rest = path.substr(kDestinations.size());
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return not_found(f);
    const std::string_view verb = rest.substr(colon + 1);
    if (verb != "pause" && verb != "resume") return not_found(f);
    if (m != http::verb::post) return method_not_allowed("POST", f);
    return Route{verb == "pause" ? RouteId::kPauseDestination : RouteId::kResumeDestination,
                 rest.substr(0, colon)};
  }
  return not_found(f);
}

std::optional<Response> authorize(const Services& s, RouteId route, std::string_view authorization,
                                  Format f, const Principal** out) {
  *out = nullptr;
  bool admin_only = false;
  switch (route) {
    case RouteId::kHealthz:
    case RouteId::kProviderCallback:  // authenticated by the provider's signature
    case RouteId::kUnsubscribePage:   // the token is the credential (RFC 8058:
    case RouteId::kUnsubscribe:       // no cookies, no auth)
      return std::nullopt;
    case RouteId::kMetrics:
      if (!s.config->api.metrics_require_auth) return std::nullopt;
      admin_only = true;
      break;
    case RouteId::kQueues:
    case RouteId::kGetThrottles:
    case RouteId::kPutThrottles:
    case RouteId::kPauseDestination:
    case RouteId::kResumeDestination:
      admin_only = true;
      break;
    default:
      break;
  }

  // "Bearer" SP token (RFC 6750 2.1); the scheme is case-insensitive.
  std::string_view token;
  bool presented = false;
  if (authorization.size() > 7 && iequals(authorization.substr(0, 6), "bearer") &&
      authorization[6] == ' ') {
    token = authorization.substr(7);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    presented = !token.empty();
  } else {
    presented = !authorization.empty();
  }
  const Principal* p = presented ? s.keys->find(token) : nullptr;
  if (p == nullptr) {
    Response r = error_response(core::Errc::kUnauthenticated,
                                presented ? "invalid bearer key"
                                          : "missing bearer key "
                                            "(Authorization: Bearer <key>)",
                                f);
    r.challenge = true;
    r.invalid_token = presented;
    return r;
  }
  if (admin_only && p->role != core::Role::kAdmin) {
    return error_response(core::Errc::kPermissionDenied, "this endpoint needs an admin key", f);
  }
  *out = p;
  return std::nullopt;
}

boost::asio::awaitable<Response> handle(Services& s, Route route, const Request& req) {
  switch (route.id) {
    case RouteId::kSendMessage:
      co_return co_await send_message(s, req);
    case RouteId::kSendBatch:
      co_return co_await send_batch(s, req);
    case RouteId::kGetMessage:
      co_return get_message(s, req);
    case RouteId::kCancelMessage:
      co_return co_await cancel_message(s, req);
    case RouteId::kHealthz:
      co_return healthz(s, req);
    case RouteId::kMetrics:
      co_return metrics(s, req);
    case RouteId::kQueues:
      co_return queues(s, req);
    case RouteId::kPutTemplate:
      co_return co_await put_template(s, req);
    case RouteId::kGetTemplate:
      co_return get_template(s, req);
    case RouteId::kDeleteTemplate:
      co_return co_await delete_template(s, req);
    case RouteId::kListTemplates:
      co_return list_templates(s, req);
    case RouteId::kPreviewMessage:
      co_return preview_message(s, req);
    case RouteId::kGetThrottles:
      co_return get_throttles(s, req);
    case RouteId::kPutThrottles:
      co_return put_throttles(s, req);
    case RouteId::kPauseDestination:
      co_return pause_destination(s, req);
    case RouteId::kResumeDestination:
      co_return resume_destination(s, req);
    case RouteId::kProviderCallback:
      co_return co_await provider_callback(s, req);
    case RouteId::kListSuppressions:
      co_return list_suppressions(s, req);
    case RouteId::kAddSuppressions: {
      // Not "co_return co_await" (a GCC 12 coroutine pitfall): a named result.
      Response r = co_await add_suppressions(s, req);
      co_return r;
    }
    case RouteId::kDeleteSuppressions: {
      Response r = co_await delete_suppressions(s, req);
      co_return r;
    }
    case RouteId::kUnsubscribePage:
      co_return unsubscribe_page(s, req);
    case RouteId::kUnsubscribe: {
      Response r = co_await unsubscribe(s, req);
      co_return r;
    }
  }
  co_return not_found(req.reply_format);
}

}  // namespace api
