#include "server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace testing_support {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "vestnik-test-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  if (!p) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string test_tenants_toml() {
  return std::string(R"(
[[tenants]]
id = "market"
[[tenants.keys]]
key = ")") + ServerProcess::kKey + R"("
role = "sender"

[[tenants]]
id = "ops"
[[tenants.keys]]
key = ")" + ServerProcess::kAdminKey + R"("
role = "admin"

[[tenants]]
id = "other"
[[tenants.keys]]
key = ")" + ServerProcess::kOtherKey + R"("
role = "sender"
)";
}

std::string fast_sink_toml(const std::string& channels) {
  return R"(
[retry]
schedule = ["1s", "1s", "1s", "1s"]
jitter = 0.0

[engine]
poll_interval = "50ms"

[transports.sink]
enabled = true
channels = )" + channels + R"(
default_reply = "250 2.0.0 ok"
)";
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

ServerProcess::ServerProcess(std::string dir, std::string extra_toml) : dir_(std::move(dir)) {
  std::ofstream out(config_path());
  out << "[api]\nlisten = \"127.0.0.1:0\"\n\n[spool]\npath = \"" << dir_ << "/spool\"\n\n"
      << "[log]\nlevel = \"info\"\n\n"
      << extra_toml << "\n";
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) kill9();
}

std::string ServerProcess::log_text() const {
  std::ifstream in(dir_ + "/server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ServerProcess::start(std::string* error) {
  const char* bin = std::getenv("VESTNIK_BIN");
  if (!bin) {
    *error = "VESTNIK_BIN is not set (run the test through ctest)";
    return false;
  }
  // Each start appends to the same log; remember where this start begins.
  std::string log_path = dir_ + "/server.log";
  size_t offset = log_text().size();
  ++starts_;
  pid_t pid = ::fork();
  if (pid < 0) {
    *error = "fork failed";
    return false;
  }
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::string cfg = config_path();
    ::execl(bin, bin, "serve", "--config", cfg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  static const std::regex kServing(R"("msg":"vestnik serving".*"port":(\d+))");
  bool up = wait_until(
      [&] {
        std::string text = log_text();
        if (text.size() <= offset) return false;
        std::smatch m;
        std::string tail = text.substr(offset);
        if (std::regex_search(tail, m, kServing)) {
          port_ = static_cast<uint16_t>(std::stoi(m[1]));
          return true;
        }
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) pid_ = -1;
        return pid_ < 0;
      },
      std::chrono::seconds(30));
  if (!up || pid_ < 0 || port_ == 0) {
    *error = "server did not start; log:\n" + log_text().substr(offset);
    if (pid_ > 0) kill9();
    return false;
  }
  return true;
}

int ServerProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  bool exited = wait_until(
      [&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, grace);
  if (!exited) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::optional<app::HttpResponse> ServerProcess::request(const std::string& method,
                                                        const std::string& target,
                                                        const std::string& body,
                                                        const std::string& key) const {
  app::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = std::to_string(port_);
  o.key = key;
  o.timeout = std::chrono::seconds(30);
  auto r = app::http_request(o, method, target, body);
  if (!r) return std::nullopt;
  return *r;
}

std::string ServerProcess::status_of(const std::string& id, boost::json::object* full) const {
  auto r = request("GET", "/v1/messages/" + id);
  if (!r || r->status != 200) return {};
  boost::system::error_code ec;
  auto v = boost::json::parse(r->body, ec);
  if (ec || !v.is_object()) return {};
  if (full) *full = v.as_object();
  auto* s = v.as_object().if_contains("status");
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

}  // namespace testing_support
