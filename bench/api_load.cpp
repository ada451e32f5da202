// bench/api_load.cpp: load driver for the HTTP API (end-to-end enqueue rate).
//
//   vestnik-api-load --port P --key K --mode batch  --connections 2  --batch 1000 --messages 1000000
//   vestnik-api-load --port P --key K --mode single --connections 64 --messages 200000
//
// Each connection is a keep-alive HTTP/1.1 client that posts as fast as the
// server answers (closed loop). Message bodies are ~1 KB of JSON, prebuilt,
// so the driver spends its CPU on sockets, not on formatting. Reports
// messages/s acknowledged, and when --pid is given the server's CPU time per
// message and peak RSS, read from /proc. Prints one JSON line with the figures.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8025";
  std::string key;
  std::string mode = "batch";
  int connections = 2;
  int batch = 1000;
  long messages = 100000;
  int size = 1024;
  int pid = 0;
  std::string send_at;  // e.g. far future: measure enqueue without delivery
};

std::string one_message(const Options& o, long n) {
  std::string filler(static_cast<size_t>(std::max(0, o.size - 330)), 'x');
  for (size_t i = 0; i < filler.size(); i += 61) filler[i] = ' ';
  std::string m = fmt::format(
      R"({{"channel":"email","to":{{"email":"student{}@example{}.com","name":"Student {}"}},)"
      R"("from":{{"email":"school@mail.example.com","name":"School"}},"category":"notifications",)"
      R"("subject":"Your order {} is paid","text":"Hello, your order {} is paid. {}")",
      n, n % 100, n, n, n, filler);
  if (!o.send_at.empty()) m += R"(,"send_at":")" + o.send_at + "\"";
  m += "}";
  return m;
}

struct Shared {
  Options opt;
  std::vector<std::string> bodies;  // prebuilt request bodies
  std::atomic<long> next{0};        // next body index to claim
  std::atomic<long> acked{0};
  std::atomic<long> refused{0};
  std::atomic<long> errors{0};
  long requests_total = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, Shared& s) : stream_(io), s_(s) {}

  void start(const tcp::resolver::results_type& eps) {
    stream_.async_connect(eps, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      if (ec) {
        std::cerr << "connect: " << ec.message() << "\n";
        self->s_.errors++;
        return;
      }
      self->stream_.socket().set_option(tcp::no_delay(true));
      self->next();
    });
  }

 private:
  void next() {
    long i = s_.next.fetch_add(1);
    if (i >= s_.requests_total) return;
    req_ = {};
    req_.method(http::verb::post);
    req_.target(s_.opt.mode == "batch" ? "/v1/messages:batch" : "/v1/messages");
    req_.version(11);
    req_.set(http::field::host, s_.opt.host);
    req_.set(http::field::authorization, "Bearer " + s_.opt.key);
    req_.set(http::field::content_type, "application/json");
    req_.body() = s_.bodies[static_cast<size_t>(i) % s_.bodies.size()];
    req_.prepare_payload();
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->fail("write", ec);
      self->res_ = {};
      self->parser_.emplace();
      self->parser_->body_limit(64 << 20);
      http::async_read(self->stream_, self->buf_, *self->parser_,
                       [self](beast::error_code ec, size_t) { self->on_read(ec); });
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) return fail("read", ec);
    auto& res = parser_->get();
    unsigned st = res.result_int();
    if (st == 200 || st == 202) {
      if (s_.opt.mode == "batch") {
        // Count acknowledged items without a full JSON parse: one "id" per item.
        const std::string& b = res.body();
        long n = 0;
        for (size_t p = b.find("\"id\""); p != std::string::npos; p = b.find("\"id\"", p + 4)) ++n;
        s_.acked += n;
        s_.refused += s_.opt.batch - n;
      } else {
        s_.acked++;
      }
    } else {
      s_.refused += s_.opt.mode == "batch" ? s_.opt.batch : 1;
      if (s_.refused < 5) std::cerr << "HTTP " << st << ": " << res.body().substr(0, 300) << "\n";
    }
    next();
  }

  void fail(const char* what, beast::error_code ec) {
    s_.errors++;
    std::cerr << what << ": " << ec.message() << "\n";
  }

  beast::tcp_stream stream_;
  Shared& s_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

struct ProcSample {
  double cpu_s = 0;
  long hwm_kb = 0;
};

ProcSample sample(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto rp = line.rfind(')');
  std::istringstream is(line.substr(rp + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && is >> f; ++i) {
    if (i == 14) utime = std::stol(f);
    if (i == 15) stime = std::stol(f);
  }
  s.cpu_s = double(utime + stime) / double(sysconf(_SC_CLK_TCK));
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_kb = std::stol(line.substr(6));
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Shared s;
  Options& o = s.opt;
  CLI::App cli{"vestnik API load driver"};
  cli.add_option("--host", o.host);
  cli.add_option("--port", o.port);
  cli.add_option("--key", o.key)->required();
  cli.add_option("--mode", o.mode)->check(CLI::IsMember({"batch", "single"}));
  cli.add_option("--connections", o.connections);
  cli.add_option("--batch", o.batch);
  cli.add_option("--messages", o.messages);
  cli.add_option("--size", o.size, "approximate bytes of JSON per message");
  cli.add_option("--pid", o.pid, "server pid, for CPU and RSS figures");
  cli.add_option("--send-at", o.send_at, "RFC 3339 send_at for every message");
  CLI11_PARSE(cli, argc, argv);

  // Prebuild a few distinct bodies; they are reused round-robin.
  int per_request = o.mode == "batch" ? o.batch : 1;
  s.requests_total = o.messages / per_request;
  for (int b = 0; b < 8; ++b) {
    if (o.mode == "batch") {
      std::string body = R"({"messages":[)";
      for (int i = 0; i < o.batch; ++i) body += (i ? "," : "") + one_message(o, long(b) * o.batch + i);
      body += "]}";
      s.bodies.push_back(std::move(body));
    } else {
      s.bodies.push_back(one_message(o, b));
    }
  }

  asio::io_context io(1);
  tcp::resolver resolver(io);
  auto eps = resolver.resolve(o.host, o.port);
  ProcSample before = sample(o.pid);
  struct rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < o.connections; ++c) std::make_shared<Connection>(io, s)->start(eps);
  io.run();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ProcSample after = sample(o.pid);
  struct rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  auto tv = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  double driver_cpu = tv(ru1.ru_utime) - tv(ru0.ru_utime) + tv(ru1.ru_stime) - tv(ru0.ru_stime);

  long acked = s.acked.load();
  double rate = acked / secs;
  double cpu_us = o.pid > 0 && acked > 0 ? (after.cpu_s - before.cpu_s) * 1e6 / double(acked) : 0;
  std::cout << fmt::format(
                   R"({{"mode":"{}","connections":{},"batch":{},"messages_acked":{},"refused":{},)"
                   R"("errors":{},"seconds":{:.3f},"msgs_per_s":{:.0f},"server_cpu_us_per_msg":{:.2f},)"
                   R"("server_peak_rss_mb":{:.1f},"driver_cpu_s":{:.2f}}})",
                   o.mode, o.connections, per_request, acked, s.refused.load(), s.errors.load(), secs,
                   rate, cpu_us, double(after.hwm_kb) / 1024.0, driver_cpu)
            << std::endl;
  return s.errors.load() == 0 && s.refused.load() == 0 ? 0 : 1;
}
