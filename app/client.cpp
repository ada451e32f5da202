#include "app/client.h"

#include "core/config.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

core::Status parse_api_address(const std::string& address, ClientOptions* out) {
  std::string_view a = address;
  if (a.starts_with("http://")) a.remove_prefix(7);
  while (!a.empty() && a.back() == '/') a.remove_suffix(1);
  // The same host:port grammar as api.listen in the config.
  auto hp = core::parse_host_port(a);
  if (!hp) return core::invalid_argument("api", "'" + address + "' is not host:port or [v6]:port");
  // A server listening on the wildcard address is reached through loopback.
  out->host = hp->host == "0.0.0.0" ? "127.0.0.1" : hp->host == "::" ? "::1" : hp->host;
  out->port = std::to_string(hp->port);
  return {};
}

core::Result<HttpResponse> http_request(const ClientOptions& options, const std::string& method,
                                        const std::string& target, const std::string& body,
                                        const std::string& content_type) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(options.host, options.port, ec);
  auto fail = [&](const char* what) {
    return core::make_error(core::Errc::kUnavailable,
                            std::string(what) + " " + options.host + ":" + options.port + ": " +
                                ec.message());
  };
  if (ec) return fail("cannot resolve");
  stream.expires_after(options.timeout);
  stream.connect(endpoints, ec);
  if (ec) return fail("cannot connect to vestnik at");

  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, options.host);
  req.set(http::field::user_agent, "vestnik-cli");
  if (!options.key.empty()) req.set(http::field::authorization, "Bearer " + options.key);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.set(http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
  }
  http::write(stream, req, ec);
  if (ec) return fail("cannot send the request to");
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256ull << 20);
  http::read(stream, buffer, parser, ec);
  if (ec) return fail("no answer from");
  auto& res = parser.get();
  HttpResponse out;
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return out;
}

}  // namespace app
