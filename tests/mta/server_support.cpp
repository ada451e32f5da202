// tests/mta/server_support.cpp: see server_support.h.
#include "server_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <future>

#include "peers.h"

namespace testing_support {

using SteadyClock = std::chrono::steady_clock;

// ---- FakeSink ----

void FakeSink::set_mode(Mode m) {
  std::lock_guard lock(mu_);
  mode_ = m;
}

void FakeSink::inject(mta::InjectedMessage message, mta::InjectDone done) {
  Mode mode;
  std::vector<core::Id> ids;
  {
    std::lock_guard lock(mu_);
    mode = mode_;
    if (mode == Mode::kAccept) {
      for (size_t i = 0; i < message.rcpt_to.size(); ++i) ids.push_back(gen_.next());
      if (!message.inbound_rcpt.empty()) ids.push_back(gen_.next());
      ids_.insert(ids_.end(), ids.begin(), ids.end());
    }
    messages_.push_back(std::move(message));
    if (mode == Mode::kHold) held_.push_back(std::move(done));
  }
  cv_.notify_all();
  switch (mode) {
    case Mode::kAccept:
      done(std::move(ids));
      break;
    case Mode::kInvalid:
      done(core::invalid_argument("content", "content refused by test"));
      break;
    case Mode::kUnavailable:
      done(core::make_error(core::Errc::kUnavailable, "spool unhealthy"));
      break;
    case Mode::kHold:
      break;
  }
}

void FakeSink::release() {
  std::vector<mta::InjectDone> held;
  {
    std::lock_guard lock(mu_);
    held.swap(held_);
  }
  for (auto& done : held) {
    std::vector<core::Id> ids{gen_.next()};
    {
      std::lock_guard lock(mu_);
      ids_.push_back(ids.front());
    }
    done(std::move(ids));
  }
}

size_t FakeSink::count() {
  std::lock_guard lock(mu_);
  return messages_.size();
}

std::vector<mta::InjectedMessage> FakeSink::messages() {
  std::lock_guard lock(mu_);
  return messages_;
}

std::vector<core::Id> FakeSink::ids() {
  std::lock_guard lock(mu_);
  return ids_;
}

bool FakeSink::wait_for(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
}

// ---- configs ----

core::ListenerConfig test_config() {
  core::ListenerConfig c;
  c.enabled = true;
  c.listen = "127.0.0.1:0";
  c.hostname = "mx.test";
  c.network_tenant = "acme";
  c.command_timeout = std::chrono::seconds(30);
  c.data_timeout = std::chrono::seconds(30);
  return c;
}

core::ListenerConfig tls_config() {
  core::ListenerConfig c = test_config();
  c.tls_cert = test_data_dir() + "/server_cert.pem";
  c.tls_key = test_data_dir() + "/server_key.pem";
  c.users.push_back({"u", "p", "globex"});
  return c;
}

// ---- TestServer ----

TestServer::TestServer(const core::ListenerConfig& config, FakeSink& sink,
                       const core::InboundConfig& inbound)
    : work_(boost::asio::make_work_guard(io_)),
      server_(std::make_unique<mta::SmtpServer>(config, inbound, sink, io_.get_executor())) {
  auto ep = server_->start();
  if (!ep) {
    error_ = ep.error().to_string();
  } else {
    port_ = ep->port();
  }
  for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
}

bool TestServer::stop(std::chrono::milliseconds grace, std::chrono::milliseconds wait) {
  auto drained = std::make_shared<std::promise<void>>();
  auto f = drained->get_future();
  server_->stop(grace, [drained] { drained->set_value(); });
  return f.wait_for(wait) == std::future_status::ready;
}

TestServer::~TestServer() {
  stop(std::chrono::milliseconds(0), std::chrono::seconds(10));
  work_.reset();
  io_.stop();
  for (auto& t : threads_) t.join();
  server_.reset();
}

// ---- RawClient ----

RawClient::RawClient(std::chrono::milliseconds timeout) : timeout_(timeout) {}

RawClient::~RawClient() { close(); }

void RawClient::close() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (ctx_ != nullptr) {
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  buf_.clear();
}

bool RawClient::connect(uint16_t port, const std::string& ip) {
  close();
  const bool v6 = ip.find(':') != std::string::npos;
  fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  timeval tv{};
  tv.tv_sec = timeout_.count() / 1000;
  tv.tv_usec = (timeout_.count() % 1000) * 1000;
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip.c_str(), &a.sin6_addr);
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) {
    close();
    return false;
  }
  return true;
}

bool RawClient::send(std::string_view bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    long n;
    if (ssl_ != nullptr) {
      n = SSL_write(ssl_, bytes.data() + off, int(bytes.size() - off));
    } else {
      n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    }
    if (n <= 0) return false;
    off += size_t(n);
  }
  return true;
}

long RawClient::recv_some(char* p, size_t n) {
  if (fd_ < 0) return -1;
  if (ssl_ != nullptr) return SSL_read(ssl_, p, int(n));
  return ::recv(fd_, p, n, 0);
}

std::string RawClient::read_some() {
  char tmp[65536];
  const long n = recv_some(tmp, sizeof tmp);
  if (n <= 0) return {};
  return std::string(tmp, size_t(n));
}

std::string RawClient::reply() {
  // Bounded: each recv waits at most timeout_, and a reply is at most a
  // few KB; 1000 reads of nothing new means something is wrong.
  for (int reads = 0; reads < 1000; ++reads) {
    size_t start = 0;
    for (;;) {
      const size_t eol = buf_.find("\r\n", start);
      if (eol == std::string::npos) break;
      const std::string_view line(buf_.data() + start, eol - start);
      if (line.size() < 4 || line[3] == ' ') {
        std::string r = buf_.substr(0, eol + 2);
        buf_.erase(0, eol + 2);
        return r;
      }
      start = eol + 2;
    }
    const std::string more = read_some();
    if (more.empty()) return {};
    buf_ += more;
  }
  return {};
}

int RawClient::code(const std::string& reply) {
  if (reply.size() < 3) return 0;
  return std::atoi(reply.substr(0, 3).c_str());
}

std::string RawClient::command(std::string_view line) {
  if (!send(std::string(line) + "\r\n")) return {};
  return reply();
}

bool RawClient::closed() {
  char tmp[4096];
  for (int reads = 0; reads < 1000; ++reads) {
    errno = 0;
    const long n = recv_some(tmp, sizeof tmp);
    if (n > 0) continue;
    if (ssl_ == nullptr) return n == 0 || errno == ECONNRESET;  // EAGAIN: a timeout
    // TLS: a clean close_notify, or an EOF without one (how the listener
    // ends its sessions), or a reset; WANT_READ / EAGAIN is a timeout.
    const int err = SSL_get_error(ssl_, int(n));
    if (err == SSL_ERROR_WANT_READ) return false;
    if (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    return true;
  }
  return false;
}

bool RawClient::start_tls() {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) return false;
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // the test cert is self-signed
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  if (SSL_connect(ssl_) != 1) return false;
  return true;
}

// ---- child processes ----

int run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                std::string* output) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  ::close(pipefd[1]);
  const auto deadline = SteadyClock::now() + timeout;
  bool killed = false;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    const int r = poll(&p, 1, int(std::min<long>(left.count(), 1000)));
    if (r > 0) {
      const ssize_t n = read(pipefd[0], buf, sizeof buf);
      if (n <= 0) break;  // EOF: the child closed its output (exited)
      if (output != nullptr) output->append(buf, size_t(n));
    }
  }
  ::close(pipefd[0]);
  int status = 0;
  // After EOF or SIGKILL the child is gone or going: bounded wait.
  for (int i = 0; i < 500; ++i) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (i == 499) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (killed || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace testing_support
