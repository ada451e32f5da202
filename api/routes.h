// api/routes.h: what the HTTP session hands to the endpoint handlers, and
// the handlers themselves (private to api/).
//
// The session (session.cpp) owns sockets, parsing, deadlines and keep-alive;
// the router (router.cpp) maps a method and path to a RouteId and checks the
// key; handlers (routes_*.cpp, one file per endpoint group) turn a Request
// into a Response and never see Beast. Handlers run on the connection's
// strand; the ones that wait for the spool co_await (bridge.h) and never
// block the thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/api.h"
#include "api/request.h"
#include "core/clock.h"
#include "core/config.h"

namespace api {

// Everything a handler may use. The references outlive every session
// (Server's REQUIRES).
struct Services {
  std::shared_ptr<const core::Config> config;
  engine::Engine& engine;
  queue::Spool& spool;
  std::shared_ptr<const KeyRing> keys;
  const core::Clock& clock;
};

enum class Format : uint8_t { kJson, kProtobuf };

inline constexpr std::string_view kJsonType = "application/json";
inline constexpr std::string_view kProtobufType = "application/x-protobuf";
inline constexpr std::string_view kTextType = "text/plain; charset=utf-8";
inline constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
// The unsubscribe pages (routes_unsubscribe.cpp). The session adds a
// Content-Security-Policy that allows no script, no external resource and
// no framing to every answer of this type.
inline constexpr std::string_view kHtmlType = "text/html; charset=utf-8";

// Bodies of the public POST /u/{token} are a form field or two (RFC 8058:
// "List-Unsubscribe=One-Click"); anything longer is refused with 413
// whatever api.max_body_bytes allows the keyed endpoints.
inline constexpr size_t kMaxPublicFormBytes = 8 * 1024;

struct Request {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string_view path;   // percent-decoded, without the query
  std::string_view query;  // after '?', raw
  std::string_view param;  // the {id} of /v1/messages/{id}, the {key} of /v1/destinations/{key}
  std::string_view body;
  std::string_view content_type;  // the request's Content-Type header, as sent
  Format body_format = Format::kJson;
  Format reply_format = Format::kJson;
  const Principal* principal = nullptr;  // set on routes that need a key
  // kProviderCallback only (providers sign what they send): the target as
  // received and every header, names in lower case.
  std::string_view target;
  std::vector<std::pair<std::string, std::string>> headers;
  // The Accept-Language header, as sent (the unsubscribe pages' language).
  std::string_view accept_language;
};

struct Response {
  unsigned status = 200;
  std::string_view content_type = kJsonType;  // static strings only
  std::string body;
  std::string_view allow;  // with 405
  // 401: add "WWW-Authenticate: Bearer" (with error="invalid_token" when a
  // key was presented but not recognised).
  bool challenge = false;
  bool invalid_token = false;
};

enum class RouteId : uint8_t {
  kSendMessage,         // POST /v1/messages
  kSendBatch,           // POST /v1/messages:batch
  kGetMessage,          // GET /v1/messages/{id}
  kCancelMessage,       // DELETE /v1/messages/{id}
  kHealthz,             // GET /healthz
  kMetrics,             // GET /metrics
  kQueues,              // GET /v1/queues
  kPutTemplate,         // PUT /v1/templates/{id}
  kGetTemplate,         // GET /v1/templates/{id}
  kDeleteTemplate,      // DELETE /v1/templates/{id}
  kListTemplates,       // GET /v1/templates
  kPreviewMessage,      // POST /v1/messages:preview
  kGetThrottles,        // GET /v1/throttles
  kPutThrottles,        // PUT /v1/throttles
  kPauseDestination,    // POST /v1/destinations/{key}:pause
  kResumeDestination,   // POST /v1/destinations/{key}:resume
  kProviderCallback,    // POST|GET /v1/callbacks/{channel}/{account}
  kListSuppressions,    // GET /v1/suppressions
  kAddSuppressions,     // POST /v1/suppressions
  kDeleteSuppressions,  // DELETE /v1/suppressions
  kUnsubscribePage,     // GET /u/{token}
  kUnsubscribe,         // POST /u/{token}
};
inline constexpr size_t kRouteCount = 22;
std::string_view route_name(RouteId id) noexcept;  // for metrics labels

struct Route {
  RouteId id;
  std::string_view param;
};

// Splits `target` into the percent-decoded path (into `*path`) and the raw
// query. False when the target is not origin-form ("/...") or holds a bad
// or NUL escape.
bool split_target(std::string_view target, std::string* path, std::string_view* query);

// Finds the route of `method` `path` (HEAD is served as GET). On a miss
// returns the ready 404, or 405 with Allow.
std::variant<Route, Response> match_route(boost::beast::http::verb method, std::string_view path,
                                          Format reply_format);

// Authenticates and authorises `authorization` (the header's value) for
// `route`; on success stores the principal in `*out` (nullptr on public
// routes) and returns nullopt, otherwise the 401/403 response.
std::optional<Response> authorize(const Services& s, RouteId route, std::string_view authorization,
                                  Format reply_format, const Principal** out);

// Runs the handler of `route`.
boost::asio::awaitable<Response> handle(Services& s, Route route, const Request& req);

// routes_messages.cpp
// How long a handler waits for the spool (api.read_timeout).
std::chrono::milliseconds spool_deadline(const Services& s);
// Message parsing options for a request arriving now.
ParseOptions parse_options(const Services& s);
boost::asio::awaitable<Response> send_message(Services& s, const Request& req);
boost::asio::awaitable<Response> send_batch(Services& s, const Request& req);
Response get_message(Services& s, const Request& req);
boost::asio::awaitable<Response> cancel_message(Services& s, const Request& req);

// routes_templates.cpp
boost::asio::awaitable<Response> put_template(Services& s, const Request& req);
Response get_template(Services& s, const Request& req);
boost::asio::awaitable<Response> delete_template(Services& s, const Request& req);
Response list_templates(Services& s, const Request& req);
Response preview_message(Services& s, const Request& req);

// routes_ops.cpp
Response healthz(Services& s, const Request& req);
Response metrics(Services& s, const Request& req);
Response queues(Services& s, const Request& req);

// routes_callbacks.cpp
boost::asio::awaitable<Response> provider_callback(Services& s, const Request& req);

// routes_throttles.cpp
Response get_throttles(Services& s, const Request& req);
Response put_throttles(Services& s, const Request& req);
Response pause_destination(Services& s, const Request& req);
Response resume_destination(Services& s, const Request& req);

// routes_suppressions.cpp
Response list_suppressions(Services& s, const Request& req);
boost::asio::awaitable<Response> add_suppressions(Services& s, const Request& req);
boost::asio::awaitable<Response> delete_suppressions(Services& s, const Request& req);

// routes_unsubscribe.cpp (public: the token is the credential)
Response unsubscribe_page(Services& s, const Request& req);
boost::asio::awaitable<Response> unsubscribe(Services& s, const Request& req);

}  // namespace api
