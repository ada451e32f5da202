// app/commands.h: the client-side CLI commands (send, status, queue,
// throttle, suppress, key).
// Each talks to a running server through the HTTP API and prints a readable
// answer; --json prints the API's JSON as is. Return value: exit status
// (0 ok, 1 refused by the server, 2 usage or connection error).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace app {

struct ClientFlags {
  std::string config_path;  // to find api.listen and spool.path
  std::string api;          // host:port; default from the config
  std::string key;          // default: $VESTNIK_KEY, then <spool>/admin.key
  bool json = false;
};

struct SendFlags {
  std::string file;  // a message object, or {"messages": [...]}, in JSON
  std::string to_email, to_name, telegram, phone, vk, viber, whatsapp;
  std::vector<std::string> channels;
  std::string from_email, from_name;
  std::string subject, text, html, template_id, category, priority, send_at, expires_at;
  std::string idempotency_key;
  std::vector<std::string> vars;  // name=value
};

int cmd_send(const ClientFlags& c, const SendFlags& s);
int cmd_status(const ClientFlags& c, const std::string& id);
int cmd_cancel(const ClientFlags& c, const std::string& id);
int cmd_queue(const ClientFlags& c);

// `vestnik throttle`: GET /v1/throttles as tables (groups, then pauses).
int cmd_throttle_show(const ClientFlags& c);
// `vestnik throttle set FILE`: PUT /v1/throttles with the file (TOML, the
// content of a [throttle] table).
int cmd_throttle_set(const ClientFlags& c, const std::string& file);
// `vestnik throttle pause KEY [--for 1h] [--reason TEXT]`; empty
// `duration`: until resumed; empty `reason`: the server's default.
int cmd_throttle_pause(const ClientFlags& c, const std::string& key, const std::string& duration,
                       const std::string& reason);
// `vestnik throttle resume KEY`.
int cmd_throttle_resume(const ClientFlags& c, const std::string& key);

// `vestnik suppress list|add|remove`: the suppression list through
// /v1/suppressions. Empty fields are not sent (the server's defaults and
// the key's own tenant apply).
struct SuppressFlags {
  std::string tenant;  // admin keys only: another tenant's list
  std::string channel, address, category;
  std::string reason, detail;  // add only
};
// A table (tenant, channel, address, category, reason, since, detail) of
// every entry matching the filters, following "next" for at most
// kMaxSuppressPages pages of 1,000; --json prints them as one
// {"suppressions": [...]} (with "next" when cut short).
inline constexpr int kMaxSuppressPages = 100;
int cmd_suppress_list(const ClientFlags& c, const SuppressFlags& s);
// POST one entry; prints "added".
int cmd_suppress_add(const ClientFlags& c, const SuppressFlags& s);
// DELETE the entries of channel + address (every category unless
// --category); prints how many were removed (0 is not an error).
int cmd_suppress_remove(const ClientFlags& c, const SuppressFlags& s);

int cmd_key_show(const ClientFlags& c);

}  // namespace app
