// app/admin_key.h: the admin key of a config-less start.
//
// `vestnik serve` with no tenants configured creates one admin key on first
// start, stores it 0600 in the spool directory and logs it once; later starts
// reuse it, and `vestnik key show` prints it. So the README walk-through
// works without writing a config, and nothing ever listens unauthenticated.
#pragma once

#include <string>

#include "core/result.h"

namespace app {

inline constexpr const char* kAdminKeyFile = "admin.key";
// The secret of unsubscribe and tracking tokens when [email] token_secret
// is not set: created once, so links in mail already sent stay valid.
inline constexpr const char* kTokenKeyFile = "token.key";
inline constexpr const char* kDefaultTenant = "default";

struct AdminKey {
  std::string key;
  bool created = false;  // true when this call generated it
};

// Reads <spool_dir>/admin.key, creating the directory (0700) and the key
// (32 random bytes, base64url, mode 0600) when missing.
core::Result<AdminKey> ensure_admin_key(const std::string& spool_dir);
// Reads it without creating anything.
core::Result<std::string> read_admin_key(const std::string& spool_dir);
// The same for any key file in the spool directory.
core::Result<AdminKey> ensure_key_file(const std::string& spool_dir, const char* name);

}  // namespace app
