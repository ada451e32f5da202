#include "app/admin_key.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace app {
namespace {

std::string base64url(const unsigned char* p, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::string key_path(const std::string& dir, const char* name = kAdminKeyFile) {
  return dir + "/" + name;
}

}  // namespace

core::Result<std::string> read_key_file(const std::string& spool_dir, const char* name) {
  std::ifstream in(key_path(spool_dir, name));
  if (!in) {
    return core::make_error(core::Errc::kNotFound,
                            "no key at " + key_path(spool_dir, name) +
                                " (start `vestnik serve` once, or pass --key)");
  }
  std::string key;
  std::getline(in, key);
  if (key.size() < 16) {
    return core::make_error(core::Errc::kCorruption,
                            key_path(spool_dir, name) + ": key is too short");
  }
  return key;
}

core::Result<std::string> read_admin_key(const std::string& spool_dir) {
  return read_key_file(spool_dir, kAdminKeyFile);
}

core::Result<AdminKey> ensure_key_file(const std::string& spool_dir, const char* name) {
  if (auto existing = read_key_file(spool_dir, name)) return AdminKey{*existing, false};
  if (::mkdir(spool_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return core::make_error(core::Errc::kIoError,
                            "cannot create spool directory " + spool_dir + ": " + std::strerror(errno));
  }
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    return core::make_error(core::Errc::kInternal, "no randomness for a key");
  }
  std::string key = base64url(raw, sizeof raw);
  const std::string path = key_path(spool_dir, name);
  // Write to a temporary name and rename, so a crash never leaves half a key.
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return core::make_error(core::Errc::kIoError, "cannot write " + tmp + ": " + std::strerror(errno));
  }
  std::string line = key + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return core::make_error(core::Errc::kIoError, "cannot store " + path + ": " + std::strerror(errno));
  }
  return AdminKey{key, true};
}

core::Result<AdminKey> ensure_admin_key(const std::string& spool_dir) {
  return ensure_key_file(spool_dir, kAdminKeyFile);
}

}  // namespace app
