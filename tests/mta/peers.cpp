// tests/mta/peers.cpp: see peers.h.
#include "peers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace testing_support {

namespace {
using Clock = std::chrono::steady_clock;
}

Peer::~Peer() { stop(); }

bool Peer::start(const std::vector<std::string>& argv, const std::string& ready_prefix,
                 std::chrono::milliseconds timeout, std::string* ready_rest, std::string* error) {
  if (argv.empty()) {
    *error = "no command";
    return false;
  }
  char tmpl[] = "/tmp/vestnik-peer-XXXXXX";
  int log_fd = mkstemp(tmpl);
  if (log_fd < 0) {
    *error = "mkstemp failed";
    return false;
  }
  log_ = tmpl;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    close(log_fd);
    *error = "pipe failed";
    return false;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    close(pipefd[0]);
    close(pipefd[1]);
    *error = "fork failed";
    return false;
  }
  if (pid == 0) {
    setpgid(0, 0);
    dup2(pipefd[1], 1);
    dup2(log_fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  close(pipefd[1]);
  pid_ = pid;
  out_fd_ = pipefd[0];
  if (ready_prefix.empty()) return true;

  std::string buf;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{out_fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count())));
    if (r < 0) continue;
    if (r == 0) break;
    char chunk[512];
    ssize_t n = read(out_fd_, chunk, sizeof chunk);
    if (n <= 0) {
      *error = "peer exited before it was ready: " + log_tail();
      return false;
    }
    buf.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = buf.substr(start, nl - start);
      if (line.rfind(ready_prefix, 0) == 0) {
        std::string rest = line.substr(ready_prefix.size());
        while (!rest.empty() && (rest.back() == '\r' || rest.back() == ' ')) rest.pop_back();
        if (ready_rest) *ready_rest = rest;
        return true;
      }
    }
    buf.erase(0, start);
  }
  *error = "peer not ready within " + std::to_string(timeout.count()) + " ms: " + log_tail();
  return false;
}

void Peer::stop() {
  if (pid_ > 0) {
    kill(-pid_, SIGTERM);
    kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    bool reaped = false;
    while (Clock::now() < deadline) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || r < 0) {
        reaped = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!reaped) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  if (out_fd_ >= 0) {
    close(out_fd_);
    out_fd_ = -1;
  }
}

std::string Peer::log_tail() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > 2000) s = s.substr(s.size() - 2000);
  return s;
}

uint16_t pick_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    socklen_t len = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

bool wait_for_port(uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::vector<std::string> smtp_sink_argv(uint16_t port, std::vector<std::string> extra) {
  std::vector<std::string> argv = {"/usr/sbin/smtp-sink"};
  if (geteuid() == 0) {
    argv.push_back("-u");
    argv.push_back("nobody");
  }
  for (auto& e : extra) argv.push_back(std::move(e));
  argv.push_back("127.0.0.1:" + std::to_string(port));
  argv.push_back("256");
  return argv;
}

std::string test_data_dir() {
#ifdef VESTNIK_TEST_DATA
  return VESTNIK_TEST_DATA;
#else
  return "tests/mta/data";
#endif
}

bool start_script_server(Peer& peer, const std::string& script_path, std::string* port, std::string* error) {
  return peer.start({"/usr/bin/python3", test_data_dir() + "/smtp_script_server.py", script_path}, "READY ",
                    std::chrono::seconds(20), port, error);
}

std::string run_bounded(const std::vector<std::string>& argv, int* status, int timeout_s) {
  std::string cmd = "timeout " + std::to_string(timeout_s);
  for (const auto& a : argv) {
    cmd += " '";
    for (char c : a) cmd += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += "'";
  }
  cmd += " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

}  // namespace testing_support
