// tests/mta/smtp_support_postfix.cpp: see smtp_support_postfix.h.
#include "smtp_support_postfix.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "peers.h"

namespace testing_support {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kPostfix = "/usr/sbin/postfix";
constexpr const char* kDirPrefix = "vestnik-postfix-";

// The internal services of master.cf (the smtpd listener line is added per
// instance). No `local`, no `smtp` client: this instance only receives.
constexpr const char* kMasterServices =
    "pickup     unix  n       -       n       60      1       pickup\n"
    "cleanup    unix  n       -       n       -       0       cleanup\n"
    "qmgr       unix  n       -       n       300     1       qmgr\n"
    "tlsmgr     unix  -       -       n       1000?   1       tlsmgr\n"
    "rewrite    unix  -       -       n       -       -       trivial-rewrite\n"
    "bounce     unix  -       -       n       -       0       bounce\n"
    "defer      unix  -       -       n       -       0       bounce\n"
    "trace      unix  -       -       n       -       0       bounce\n"
    "verify     unix  -       -       n       -       1       verify\n"
    "flush      unix  n       -       n       1000?   0       flush\n"
    "proxymap   unix  -       -       n       -       -       proxymap\n"
    "showq      unix  n       -       n       -       -       showq\n"
    "error      unix  -       -       n       -       -       error\n"
    "retry      unix  -       -       n       -       -       error\n"
    "discard    unix  -       -       n       -       -       discard\n"
    "anvil      unix  -       -       n       -       1       anvil\n"
    "scache     unix  -       -       n       -       1       scache\n"
    "postlog    unix-dgram n  -       n       -       1       postlogd\n";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool write_file(const std::string& path, const std::string& content, mode_t mode,
                std::string* error) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) {
      *error = "cannot write " + path;
      return false;
    }
  }
  if (chmod(path.c_str(), mode) != 0) {
    *error = "chmod " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::string tail(const std::string& s, size_t n) {
  return s.size() > n ? s.substr(s.size() - n) : s;
}

// Runs argv[0] (an absolute path) to completion within `timeout`, stdout and
// stderr appended to `log_path`, stdin /dev/null. Returns the exit status,
// or -1 if it could not run, died of a signal or was killed at the deadline.
int run_command(const std::vector<std::string>& argv, const std::string& log_path,
                std::chrono::milliseconds timeout) {
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return -1;
  }
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    // Postfix's master daemonizes from this child: it must not inherit the
    // test's sockets, epoll fds or pipes (a pipe held open by the master
    // would make a reader wait for EOF forever).
    close_range(3, ~0U, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return -1;
    if (Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct ProcStat {
  char state = '?';
  pid_t pgrp = -1;
  unsigned long long start_time = 0;  // clock ticks since boot: tells reused PIDs apart
};

// /proc/PID/stat after "(comm) ": state ppid pgrp session tty tpgid flags
// minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
// num_threads itrealvalue starttime ...
bool read_stat(pid_t pid, ProcStat* st) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = s.rfind(')');
  if (paren == std::string::npos) return false;
  std::istringstream in(s.substr(paren + 1));
  std::string field;
  std::vector<std::string> f;
  while (f.size() < 20 && in >> field) f.push_back(field);
  if (f.size() < 20) return false;
  st->state = f[0].empty() ? '?' : f[0][0];
  st->pgrp = static_cast<pid_t>(std::atol(f[2].c_str()));
  st->start_time = std::strtoull(f[19].c_str(), nullptr, 10);
  return true;
}

// The live (non-zombie) processes of process group `pgid`. The master calls
// setsid(), so its group is exactly the instance's processes; the kernel
// does not hand out a PID that is still some group's ID, so signalling
// -pgid while it has members cannot hit a stranger.
std::vector<pid_t> group_members(pid_t pgid) {
  std::vector<pid_t> out;
  if (pgid <= 1) return out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    ProcStat st;
    if (read_stat(static_cast<pid_t>(pid), &st) && st.pgrp == pgid && st.state != 'Z')
      out.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  return out;
}

bool wait_group_gone(pid_t pgid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!group_members(pgid).empty()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// Whether a TCP socket listens on 127.0.0.1:port, from /proc/net/tcp
// ("  0: 0100007F:1F90 00000000:0000 0A ..."; 0A is LISTEN). Looking
// instead of connecting keeps probe connections out of the maillog.
bool listening_on_loopback(uint16_t port) {
  char want[16];
  std::snprintf(want, sizeof want, "0100007F:%04X", port);
  std::istringstream in(read_file("/proc/net/tcp"));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, local, remote, state;
    if (f >> slot >> local >> remote >> state && local == want && state == "0A") return true;
  }
  return false;
}

pid_t read_master_pid(const std::string& dir) {
  std::string s = read_file(dir + "/spool/pid/master.pid");  // right-aligned: "     1234\n"
  long pid = std::strtol(s.c_str(), nullptr, 10);
  return pid > 1 ? static_cast<pid_t>(pid) : -1;
}

// Stops the instance in `dir` whose master is `master` (-1: unknown):
// Postfix's own way first (the master then stops its daemons), then the
// master's process group by signal.
void stop_processes(const std::string& dir, pid_t master) {
  if (std::filesystem::exists(dir + "/etc/main.cf"))
    run_command({kPostfix, "-c", dir + "/etc", "stop"}, dir + "/postfix.ctl.log", 30s);
  if (master <= 1) return;
  if (wait_group_gone(master, 10s)) return;
  kill(-master, SIGTERM);
  if (wait_group_gone(master, 3s)) return;
  kill(-master, SIGKILL);
  wait_group_gone(master, 2s);
}

std::string owner_line() {
  ProcStat st;
  read_stat(getpid(), &st);
  return std::to_string(getpid()) + " " + std::to_string(st.start_time) + "\n";
}

// An instance directory whose test process is gone (killed before its
// destructor ran) still has its master running as root on loopback: stop
// it, by the PID in its master.pid, once the master's working directory
// (the queue directory) proves the PID is still that master.
void stop_stale_instances() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/tmp", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kDirPrefix, 0) != 0 || !e.is_directory(ec)) continue;
    const std::string dir = e.path().string();
    std::istringstream owner(read_file(dir + "/owner"));
    long owner_pid = 0;
    unsigned long long owner_start = 0;
    if (!(owner >> owner_pid >> owner_start)) continue;  // being created right now, or not ours
    ProcStat st;
    if (read_stat(static_cast<pid_t>(owner_pid), &st) && st.start_time == owner_start) continue;
    pid_t master = read_master_pid(dir);
    if (master > 1) {
      std::error_code ec2;
      auto cwd = std::filesystem::read_symlink("/proc/" + std::to_string(master) + "/cwd", ec2);
      // Not that master any more (it exited, the PID was reused): nothing runs.
      if (!ec2 && cwd == std::filesystem::path(dir + "/spool")) stop_processes(dir, master);
    }
    std::filesystem::remove_all(dir, ec);
  }
}

}  // namespace

size_t count_lines(std::string_view log, std::initializer_list<std::string_view> parts) {
  return count_lines(log, std::vector<std::string_view>(parts));
}

size_t count_lines(std::string_view log, const std::vector<std::string_view>& parts) {
  size_t n = 0;
  while (!log.empty()) {
    size_t nl = log.find('\n');
    std::string_view line = log.substr(0, nl);
    bool all = true;
    for (auto p : parts) all = all && line.find(p) != std::string_view::npos;
    if (all) ++n;
    if (nl == std::string_view::npos) break;
    log.remove_prefix(nl + 1);
  }
  return n;
}

std::string PostfixInstance::unavailable_reason() {
  if (access(kPostfix, X_OK) != 0)
    return "Postfix is not installed (no executable /usr/sbin/postfix)";
  if (geteuid() != 0)
    return "Postfix's master(8) must be started by the super-user and this test runs as uid " +
           std::to_string(geteuid());
  if (!getpwnam("postfix")) return "no `postfix` user (mail_owner) on this system";
  if (!getgrnam("postdrop")) return "no `postdrop` group (setgid_group) on this system";
  return {};
}

PostfixInstance::~PostfixInstance() { stop(); }

bool PostfixInstance::start(const PostfixOptions& options, std::string* error) {
  stop_stale_instances();
  std::string tmpl = std::string("/tmp/") + kDirPrefix + "XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    *error = std::string("mkdtemp: ") + std::strerror(errno);
    return false;
  }
  dir_ = tmpl;
  // The daemons run as `postfix` and must traverse to the queue directory.
  if (chmod(dir_.c_str(), 0755) != 0) {
    *error = "chmod " + dir_ + ": " + std::strerror(errno);
    return false;
  }
  if (!write_file(dir_ + "/owner", owner_line(), 0644, error)) return false;
  if (!write_config(options, error)) return false;
  // pick_port() only knows the port was free a moment ago: another process
  // may take it before the master binds it, so try a few ports.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (try_start(error)) return true;
    if (error->find("Address already in use") == std::string::npos) return false;
    stop_processes(dir_, master_pid_);
    master_pid_ = -1;
  }
  return false;
}

bool PostfixInstance::write_config(const PostfixOptions& o, std::string* error) {
  const std::string etc = dir_ + "/etc", spool = dir_ + "/spool", data = dir_ + "/data";
  for (const auto& d : {etc, spool, data}) {
    if (mkdir(d.c_str(), 0755) != 0) {
      *error = "mkdir " + d + ": " + std::strerror(errno);
      return false;
    }
  }
  const passwd* pw = getpwnam("postfix");
  const group* postdrop = getgrnam("postdrop");
  if (!pw || !postdrop) {
    *error = "no postfix user or postdrop group";
    return false;
  }
  // data_directory holds master.lock and must belong to mail_owner.
  if (chown(data.c_str(), pw->pw_uid, pw->pw_gid) != 0 || chmod(data.c_str(), 0700) != 0) {
    *error = "chown " + data + ": " + std::strerror(errno);
    return false;
  }
  // The queue directories as post-install(1) creates them (postfix-files).
  // Creating them here and starting with `quick-start` skips postfix-script's
  // check-fatal/check-warn, which cost ~3 s of forks on this VM per start.
  struct QueueDir {
    const char* name;
    gid_t gid;
    mode_t mode;
  };
  const QueueDir queues[] = {{"active", 0, 0700},
                             {"bounce", 0, 0700},
                             {"corrupt", 0, 0700},
                             {"defer", 0, 0700},
                             {"deferred", 0, 0700},
                             {"flush", 0, 0700},
                             {"hold", 0, 0700},
                             {"incoming", 0, 0700},
                             {"private", 0, 0700},
                             {"saved", 0, 0700},
                             {"trace", 0, 0700},
                             {"maildrop", postdrop->gr_gid, 0730},
                             {"public", postdrop->gr_gid, 0710}};
  for (const auto& q : queues) {
    std::string p = spool + "/" + q.name;
    if (mkdir(p.c_str(), 0700) != 0 || chown(p.c_str(), pw->pw_uid, q.gid) != 0 ||
        chmod(p.c_str(), q.mode) != 0) {
      *error = "queue directory " + p + ": " + std::strerror(errno);
      return false;
    }
  }
  if (mkdir((spool + "/pid").c_str(), 0755) != 0) {
    *error = "mkdir " + spool + "/pid: " + std::strerror(errno);
    return false;
  }

  std::string cf = "# throwaway instance written by tests/mta/smtp_support_postfix.cpp\n";
  auto set = [&cf](std::string_view key, std::string_view value) {
    cf.append(key).append(" = ").append(value).append("\n");
  };
  set("compatibility_level", "3.6");
  set("queue_directory", spool);
  set("data_directory", data);
  set("mail_owner", "postfix");
  set("setgid_group", "postdrop");
  set("myhostname", "mx." + o.relay_domain);
  set("mydomain", o.relay_domain);
  set("myorigin", "$myhostname");
  // Loopback only; the one listener is the smtpd line in master.cf.
  set("inet_interfaces", "127.0.0.1");
  set("inet_protocols", "ipv4");
  set("mynetworks", "127.0.0.0/8");
  set("smtpd_relay_restrictions", "permit_mynetworks, reject");
  // Accept mail for the relay domain and drop it: nothing leaves the
  // machine, nothing is delivered locally, no DNS lookups.
  set("mydestination", "");
  set("relay_domains", o.relay_domain);
  set("relay_transport", "discard:");
  set("default_transport", "error:no destinations beyond " + o.relay_domain);
  set("local_transport", "error:local delivery disabled");
  set("local_recipient_maps", "");
  set("alias_maps", "");
  set("alias_database", "");
  set("biff", "no");
  set("append_dot_mydomain", "no");
  set("smtpd_banner", "$myhostname ESMTP");
  set("smtpd_peername_lookup", "no");
  set("smtp_dns_support_level", "disabled");
  set("smtputf8_enable", "yes");
  set("message_size_limit", std::to_string(o.message_size_limit));
  // No syslog here: postlogd writes this file.
  set("maillog_file", dir_ + "/maillog");
  set("maillog_file_prefixes", dir_);
  // Refuse every other domain at RCPT, even from mynetworks (which
  // smtpd_relay_restrictions lets relay): nothing is queued for elsewhere.
  std::string rcpt_restrictions = "reject_unauth_destination";
  if (!o.recipient_access.empty()) {
    std::string map;
    for (const auto& [k, v] : o.recipient_access) map += k + " " + v + "\n";
    if (!write_file(etc + "/recipient_access", map, 0644, error)) return false;
    rcpt_restrictions =
        "check_recipient_access texthash:" + etc + "/recipient_access, " + rcpt_restrictions;
  }
  set("smtpd_recipient_restrictions", rcpt_restrictions);
  if (!o.header_checks.empty()) {
    std::string map;
    for (const auto& [k, v] : o.header_checks) map += k + " " + v + "\n";
    if (!write_file(etc + "/header_checks", map, 0644, error)) return false;
    set("header_checks", "regexp:" + etc + "/header_checks");
  }
  if (!o.tls_cert_file.empty()) {
    // Copies: smtpd reads the key as root before dropping privileges, and
    // Postfix wants it readable by root only.
    const std::string cert = read_file(o.tls_cert_file), key = read_file(o.tls_key_file);
    if (cert.empty() || key.empty()) {
      *error = "cannot read " + o.tls_cert_file + " or " + o.tls_key_file;
      return false;
    }
    if (!write_file(etc + "/tls_cert.pem", cert, 0644, error) ||
        !write_file(etc + "/tls_key.pem", key, 0600, error))
      return false;
    set("smtpd_tls_security_level", "may");
    set("smtpd_tls_cert_file", etc + "/tls_cert.pem");
    set("smtpd_tls_key_file", etc + "/tls_key.pem");
    set("smtpd_tls_loglevel", "1");
    set("smtpd_tls_received_header", "yes");
  } else {
    set("smtpd_tls_security_level", "none");
  }
  return write_file(etc + "/main.cf", cf, 0644, error);
}

bool PostfixInstance::try_start(std::string* error) {
  const std::string etc = dir_ + "/etc", ctl_log = dir_ + "/postfix.ctl.log";
  port_ = pick_port();
  if (port_ == 0) {
    *error = "no free port";
    return false;
  }
  // Own master.cf: one listener on loopback, no port 25, chroot = n
  // throughout (a chroot needs copies of /etc files in the queue directory).
  std::string master_cf =
      "# service type  private unpriv  chroot  wakeup  maxproc command + args\n";
  master_cf += "127.0.0.1:" + std::to_string(port_) + " inet n - n - - smtpd\n";
  master_cf += kMasterServices;
  if (!write_file(etc + "/master.cf", master_cf, 0644, error) ||
      !write_file(dir_ + "/spool/quick-start", "", 0644, error))
    return false;
  invoked_ = true;
  // `postfix start` returns once the master reports its initialisation
  // (master -w), so the listener is bound when it succeeds. Without a tty
  // and syslog, failures show only in the maillog: quote it.
  int rc = run_command({kPostfix, "-c", etc, "start"}, ctl_log, 60s);
  master_pid_ = read_master_pid(dir_);
  if (rc != 0) {
    *error = "postfix start failed (exit " + std::to_string(rc) +
             "): " + tail(read_file(ctl_log), 1000) + "\nmaillog: " + tail(maillog(), 2000);
    return false;
  }
  if (master_pid_ <= 1 || group_members(master_pid_).empty()) {
    *error = "postfix started but no master is running: " + tail(maillog(), 2000);
    return false;
  }
  // The master binds its listeners before it reports success; check anyway.
  if (!listening_on_loopback(port_)) {
    *error = "postfix is not listening on 127.0.0.1:" + std::to_string(port_) + ": " +
             tail(maillog(), 2000);
    return false;
  }
  return true;
}

void PostfixInstance::stop() {
  if (dir_.empty()) return;
  if (invoked_) {
    pid_t master = master_pid_ > 1 ? master_pid_ : read_master_pid(dir_);
    stop_processes(dir_, master);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  dir_.clear();
  master_pid_ = -1;
  invoked_ = false;
}

std::string PostfixInstance::maillog() const {
  return dir_.empty() ? std::string() : read_file(dir_ + "/maillog");
}

bool PostfixInstance::wait_for_log(const std::function<bool(const std::string&)>& done,
                                   std::chrono::milliseconds timeout, std::string* log) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    *log = maillog();
    if (done(*log)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace testing_support
