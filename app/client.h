// app/client.h: a small blocking HTTP/1.1 client for the CLI commands, which
// talk to a running `vestnik serve` exactly as any other API client does.
#pragma once

#include <chrono>
#include <string>

#include "core/result.h"

namespace app {

struct HttpResponse {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

struct ClientOptions {
  std::string host = "127.0.0.1";
  std::string port = "8025";
  std::string key;                          // bearer key
  std::chrono::milliseconds timeout{30'000};  // connect + request + response
};

// "127.0.0.1:8025", "[::1]:8025", "http://host:port" -> host and port.
core::Status parse_api_address(const std::string& address, ClientOptions* out);

// One request on a fresh connection. Transport failures are errors; HTTP
// error statuses are responses.
core::Result<HttpResponse> http_request(const ClientOptions& options, const std::string& method,
                                        const std::string& target, const std::string& body = {},
                                        const std::string& content_type = "application/json");

}  // namespace app
