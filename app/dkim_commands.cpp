// app/dkim_commands.cpp: `vestnik dkim ...` (see dkim_commands.h).
#include "app/dkim_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "dkim/dkim.h"

namespace app {
namespace {

bool read_input(const std::string& file, std::string& out) {
  if (file == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "vestnik dkim: cannot read " << file << ": " << std::strerror(errno) << "\n";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// Writes `data` to `path` with mode 0600 via a temporary file and rename,
// so a crash never leaves a half-written key under the final name.
bool write_private(const std::string& path, const std::string& data, bool force) {
  struct stat st;
  if (!force && ::stat(path.c_str(), &st) == 0) {
    std::cerr << "vestnik dkim keygen: " << path << " exists (use --force to replace it)\n";
    return false;
  }
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "vestnik dkim keygen: cannot create " << tmp << ": " << std::strerror(errno) << "\n";
    return false;
  }
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) ok = false;
  if (!ok) {
    std::cerr << "vestnik dkim keygen: cannot write " << path << ": " << std::strerror(errno) << "\n";
    ::unlink(tmp.c_str());
  }
  return ok;
}

}  // namespace

int cmd_dkim_keygen(const DkimKeygenFlags& f) {
  auto alg = dkim::parse_algorithm(f.algorithm, "--algorithm");
  if (!alg) {
    std::cerr << "vestnik dkim keygen: " << alg.error().to_string() << "\n";
    return 2;
  }
  auto key = dkim::PrivateKey::generate(*alg, f.bits);
  if (!key) {
    std::cerr << "vestnik dkim keygen: " << key.error().to_string() << "\n";
    return 2;
  }
  if (!write_private(f.out, (*key)->pem(), f.force)) return 2;
  const std::string record = (*key)->dns_record();
  std::cerr << "wrote " << f.out << " (" << dkim::key_type_name(*alg) << ", " << (*key)->bits()
            << " bits); publish this TXT record at " << f.selector << "._domainkey." << f.domain << ":\n";
  std::cout << (record.size() > 255 ? dkim::quote_txt(record) : record) << "\n";
  return 0;
}

int cmd_dkim_sign(const DkimSignFlags& f) {
  auto key = dkim::PrivateKey::load_file(f.key, "--key");
  if (!key) {
    std::cerr << "vestnik dkim sign: " << key.error().to_string() << "\n";
    return 2;
  }
  if (!f.algorithm.empty()) {
    auto alg = dkim::parse_algorithm(f.algorithm, "--algorithm");
    if (!alg || *alg != (*key)->algorithm()) {
      std::cerr << "vestnik dkim sign: --algorithm " << f.algorithm << " does not match the key ("
                << dkim::key_type_name((*key)->algorithm()) << ")\n";
      return 2;
    }
  }
  dkim::SignerOptions o;
  o.domain = f.domain;
  o.selector = f.selector;
  const std::string& c = f.canonicalization;
  const size_t slash = c.find('/');
  auto canon = [](std::string_view s, dkim::Canon& out) {
    if (s == "simple") out = dkim::Canon::kSimple;
    else if (s == "relaxed") out = dkim::Canon::kRelaxed;
    else return false;
    return true;
  };
  // A single value means header canonicalization with a simple body (RFC 6376 §3.5 c=).
  o.body_canon = dkim::Canon::kSimple;
  if (!canon(std::string_view(c).substr(0, slash), o.header_canon) ||
      (slash != std::string::npos && !canon(std::string_view(c).substr(slash + 1), o.body_canon))) {
    std::cerr << "vestnik dkim sign: --canonicalization must be simple|relaxed[/simple|relaxed]\n";
    return 2;
  }
  o.headers = f.headers.empty() ? dkim::default_signed_headers("X-Vestnik-Id") : f.headers;
  if (f.headers.empty()) o.oversign = dkim::default_oversigned_headers();
  auto signer = dkim::Signer::create(o, *key);
  if (!signer) {
    std::cerr << "vestnik dkim sign: " << signer.error().to_string() << "\n";
    return 2;
  }
  std::string raw, msg;
  if (!read_input(f.file, raw)) return 2;
  dkim::normalize_line_ends(raw, msg);
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto field = signer->sign(msg, now);
  if (!field) {
    std::cerr << "vestnik dkim sign: " << field.error().to_string() << "\n";
    return 2;
  }
  std::cout << *field << msg << std::flush;
  return std::cout ? 0 : 2;
}

int cmd_dkim_verify(const DkimVerifyFlags& f) {
  std::vector<dkim::PublicKeyRecord> keys;
  for (const auto& t : f.txt) {
    auto k = dkim::parse_key_record(t);
    if (!k) {
      std::cerr << "vestnik dkim verify: --txt: " << k.error().to_string() << "\n";
      return 2;
    }
    keys.push_back(std::move(*k));
  }
  std::string raw, msg;
  if (!read_input(f.file, raw)) return 2;
  dkim::normalize_line_ends(raw, msg);
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto results = dkim::verify(msg, keys, now);
  if (results.empty()) {
    std::cout << "none: the message has no DKIM-Signature\n";
    return 1;
  }
  bool all = true;
  for (const auto& r : results) {
    std::cout << (r.pass ? "pass" : "fail") << " d=" << r.domain << " s=" << r.selector << " a=" << r.algorithm;
    if (!r.pass) std::cout << ": " << r.reason;
    std::cout << "\n";
    all = all && r.pass;
  }
  return all ? 0 : 1;
}

}  // namespace app
