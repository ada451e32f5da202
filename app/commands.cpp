#include "app/commands.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <optional>
#include <fstream>
#include <set>
#include <iostream>
#include <sstream>

#include "app/admin_key.h"
#include "app/client.h"
#include "core/config.h"

namespace app {
namespace {

namespace json = boost::json;

// The config the CLI reads for api.listen and spool.path; nullptr (after
// saying why) when it does not load.
std::shared_ptr<const core::Config> load_config(const ClientFlags& c) {
  try {
    return c.config_path.empty() ? core::default_config() : core::load_config_file(c.config_path);
  } catch (const core::ConfigError& e) {
    std::cerr << "vestnik: " << e.what() << "\n";
    return nullptr;
  }
}

// Resolves where the server is and which key to present.
bool client_options(const ClientFlags& c, ClientOptions* out) {
  auto config = load_config(c);
  if (!config) return false;
  if (auto st = parse_api_address(c.api.empty() ? config->api.listen : c.api, out); !st) {
    std::cerr << "vestnik: " << st.error().to_string() << "\n";
    return false;
  }
  if (!c.key.empty()) {
    out->key = c.key;
  } else if (const char* env = std::getenv("VESTNIK_KEY"); env && *env) {
    out->key = env;
  } else {
    auto k = read_admin_key(config->spool.path);
    if (!k) {
      std::cerr << "vestnik: " << k.error().message << "\n";
      return false;
    }
    out->key = *k;
  }
  return true;
}

// Prints the server's error object readably; returns the exit status.
int report_error(const HttpResponse& r) {
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (!ec && v.is_object() && v.as_object().contains("error")) {
    const auto& e = v.at("error").as_object();
    std::cerr << "vestnik: " << r.status << " ";
    if (auto* m = e.if_contains("message"); m && m->is_string()) std::cerr << m->as_string().c_str();
    std::cerr << "\n";
  } else {
    std::cerr << "vestnik: HTTP " << r.status << ": " << r.body << "\n";
  }
  return 1;
}

std::string str(const json::value* v) {
  if (!v) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_null()) return {};
  return json::serialize(*v);
}

// One API call for a command: on success returns the answer's JSON object
// (and prints it as is with --json, setting *exit to 0 with nothing left to
// do); otherwise reports why and sets *exit to the command's exit status.
// The server's answer is parsed defensively: a body that is not a JSON
// object is an error, never an exception.
std::optional<json::object> fetch(const ClientFlags& c, const std::string& method,
                                  const std::string& target, int* exit,
                                  const std::string& body = {},
                                  const std::string& content_type = "application/json") {
  *exit = 2;
  ClientOptions o;
  if (!client_options(c, &o)) return std::nullopt;
  auto r = http_request(o, method, target, body, content_type);
  if (!r) {
    std::cerr << "vestnik: " << r.error().message << "\n";
    return std::nullopt;
  }
  if (r->status >= 300) {
    *exit = report_error(*r);
    return std::nullopt;
  }
  if (c.json) {
    std::cout << r->body << "\n";
    *exit = 0;
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec || !v.is_object()) {
    std::cerr << "vestnik: the server's answer is not a JSON object: " << r->body.substr(0, 200)
              << "\n";
    return std::nullopt;
  }
  *exit = 0;
  return std::move(v.as_object());
}

// The array under `key`, or an empty one.
const json::array& array_at(const json::object& o, const char* key) {
  static const json::array kEmpty;
  auto* v = o.if_contains(key);
  return v && v->is_array() ? v->as_array() : kEmpty;
}


// A path segment for the URL: everything but RFC 3986 unreserved
// characters is percent-encoded (the ':' of "email:gmail.com" too, and the
// bytes of an IDN domain).
std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

// The object under `key`, or nullptr.
const json::object* object_at(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

bool bool_at(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

}  // namespace

int cmd_send(const ClientFlags& c, const SendFlags& s) {
  std::string body;
  std::string target = "/v1/messages";
  if (!s.file.empty()) {
    std::ifstream in(s.file);
    if (!in) {
      std::cerr << "vestnik: cannot read " << s.file << "\n";
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    body = ss.str();
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) {
      std::cerr << "vestnik: " << s.file << ": not a JSON object\n";
      return 2;
    }
    if (v.as_object().contains("messages")) target = "/v1/messages:batch";
  } else {
    json::object m, to, from;
    auto put = [](json::object& o, const char* k, const std::string& v) {
      if (!v.empty()) o[k] = v;
    };
    put(to, "email", s.to_email);
    put(to, "name", s.to_name);
    put(to, "telegram_chat_id", s.telegram);
    put(to, "phone", s.phone);
    put(to, "vk_peer_id", s.vk);
    put(to, "viber_id", s.viber);
    put(to, "whatsapp", s.whatsapp);
    put(from, "email", s.from_email);
    put(from, "name", s.from_name);
    m["to"] = to;
    if (!from.empty()) m["from"] = from;
    // Without --channel, use every channel the recipient was given an
    // address for, e-mail first (the marketplace's default).
    std::vector<std::string> channels = s.channels;
    if (channels.empty()) {
      const std::pair<const char*, const std::string*> known[] = {
          {"email", &s.to_email}, {"telegram", &s.telegram}, {"viber", &s.viber},
          {"vk", &s.vk},          {"whatsapp", &s.whatsapp}, {"sms", &s.phone}};
      for (auto& [name, addr] : known) {
        if (!addr->empty()) channels.emplace_back(name);
      }
    }
    if (!channels.empty()) {
      json::array ch;
      for (auto& x : channels) ch.emplace_back(x);
      m["channels"] = ch;
    }
    put(m, "subject", s.subject);
    put(m, "text", s.text);
    put(m, "html", s.html);
    put(m, "template_id", s.template_id);
    put(m, "category", s.category);
    put(m, "priority", s.priority);
    put(m, "send_at", s.send_at);
    put(m, "expires_at", s.expires_at);
    put(m, "idempotency_key", s.idempotency_key);
    if (!s.vars.empty()) {
      json::object vars;
      for (auto& kv : s.vars) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
          std::cerr << "vestnik: --var " << kv << ": expected name=value\n";
          return 2;
        }
        vars[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      m["variables"] = vars;
    }
    body = json::serialize(m);
  }
  int exit = 0;
  auto v = fetch(c, "POST", target, &exit, body);
  if (!v) return exit;
  if (target.ends_with(":batch")) {
    int refused = 0;
    for (auto& item : array_at(*v, "results")) {
      if (!item.is_object()) continue;
      const auto& o = item.as_object();
      if (auto* e = o.if_contains("error"); e && e->is_object()) {
        ++refused;
        std::cout << "refused  " << str(e->as_object().if_contains("message")) << "\n";
      } else {
        std::cout << str(o.if_contains("id")) << "  " << str(o.if_contains("status")) << "\n";
      }
    }
    return refused ? 1 : 0;
  }
  std::cout << str(v->if_contains("id")) << "  " << str(v->if_contains("status")) << "\n";
  return 0;
}

int cmd_status(const ClientFlags& c, const std::string& id) {
  int exit = 0;
  auto got = fetch(c, "GET", "/v1/messages/" + id, &exit);
  if (!got) return exit;
  const json::object& v = *got;
  std::cout << fmt::format("id           {}\nstatus       {}\nchannel      {}\nto           {}\n"
                           "attempts     {}\ndestination  {}\n",
                           str(v.if_contains("id")), str(v.if_contains("status")),
                           str(v.if_contains("channel")), str(v.if_contains("to")),
                           str(v.if_contains("attempts")), str(v.if_contains("destination")));
  if (auto* n = v.if_contains("next_attempt_at"); n && !str(n).empty()) {
    std::cout << "next attempt " << str(n) << "\n";
  }
  if (auto* b = v.if_contains("bounce"); b && b->is_object()) {
    const auto& bo = b->as_object();
    std::cout << fmt::format("bounce       {} {} {} {}\n", str(bo.if_contains("category")),
                             str(bo.if_contains("code")), str(bo.if_contains("enhanced")),
                             str(bo.if_contains("text")));
  }
  if (!array_at(v, "events").empty()) std::cout << "events:\n";
  for (auto& e : array_at(v, "events")) {
    if (!e.is_object()) continue;
    const auto& eo = e.as_object();
    std::cout << fmt::format("  {:<24}  {:<10}  {}\n", str(eo.if_contains("at")),
                             str(eo.if_contains("status")), str(eo.if_contains("detail")));
  }
  return 0;
}

int cmd_cancel(const ClientFlags& c, const std::string& id) {
  int exit = 0;
  auto v = fetch(c, "DELETE", "/v1/messages/" + id, &exit);
  if (!v) return exit;
  std::cout << id << "  " << str(v->if_contains("status")) << "\n";
  return 0;
}

int cmd_queue(const ClientFlags& c) {
  int exit = 0;
  auto got = fetch(c, "GET", "/v1/queues", &exit);
  if (!got) return exit;
  const json::object& v = *got;
  // The answer's objects are read defensively: a field of the wrong type
  // prints as empty instead of aborting the command.
  auto field = [](const json::value& item, const char* key) {
    return item.is_object() ? str(item.as_object().if_contains(key)) : std::string();
  };
  std::cout << "status      count\n";
  for (auto& s : array_at(v, "totals")) {
    std::cout << fmt::format("{:<10} {:>6}\n", field(s, "status"), field(s, "count"));
  }
  const json::array& destinations = array_at(v, "destinations");
  if (destinations.empty()) return 0;
  std::cout << fmt::format("\n{:<40} {:>8} {:>8} {:>10} {:>7} {:>9}  other\n", "destination",
                           "queued", "sending", "in-flight", "ready", "delivered");
  for (auto& item : destinations) {
    if (!item.is_object()) continue;
    std::map<std::string, std::string> counts;
    for (auto& s : array_at(item.as_object(), "counts")) counts[field(s, "status")] = field(s, "count");
    std::string other;
    for (auto& [k, n] : counts) {
      if (k != "queued" && k != "sending" && k != "delivered") other += k + "=" + n + " ";
    }
    auto get = [&](const char* k) { return counts.count(k) ? counts[k] : std::string("0"); };
    std::cout << fmt::format("{:<40} {:>8} {:>8} {:>10} {:>7} {:>9}  {}\n",
                             field(item, "destination"), get("queued"), get("sending"),
                             field(item, "in_flight"), field(item, "ready"), get("delivered"), other);
  }
  return 0;
}

int cmd_throttle_show(const ClientFlags& c) {
  int exit = 0;
  auto got = fetch(c, "GET", "/v1/throttles", &exit);
  if (!got) return exit;
  const json::object& v = *got;
  std::cout << "rules generation " << str(v.if_contains("generation")) << "\n";

  // One cell per limit: the effective value, followed by the rule's in
  // parentheses when a backoff has lowered it.
  auto cell = [](const json::object* effective, const json::object* rule, const char* key) {
    const std::string e = effective ? str(effective->if_contains(key)) : std::string();
    const std::string r = rule ? str(rule->if_contains(key)) : std::string();
    return e == r || r.empty() ? e : e + " (" + r + ")";
  };
  // A pause of a destination does not suspend its group (the group's
  // other destinations still send), so it is shown here from the pauses.
  std::set<std::string> paused;
  for (auto& p : array_at(v, "pauses")) {
    if (p.is_object()) paused.insert(str(p.as_object().if_contains("key")));
  }
  const json::array& groups = array_at(v, "groups");
  if (groups.empty()) {
    std::cout << "\nno groups yet (a group appears with the first message for its destinations)\n";
  } else {
    std::cout << "\nlimits are effective now; (the rule's) where a backoff lowered them\n";
    std::cout << fmt::format("{:<36} {:<16} {:>5} {:<12} {:<20} {:<16} {:>9}  {}\n", "group",
                             "rule", "open", "connections", "rate", "connection rate",
                             "msgs/conn", "state");
  }
  for (auto& item : groups) {
    if (!item.is_object()) continue;
    const json::object& g = item.as_object();
    const json::object* limits = object_at(g, "limits");
    const json::object* effective = object_at(g, "effective");
    const json::object* backoff = object_at(g, "backoff");
    size_t paused_destinations = 0;
    for (auto& d : array_at(g, "destinations")) paused_destinations += paused.count(str(&d));
    std::string state = "ok";
    if (bool_at(g, "suspended")) {
      state = "suspended";
    } else if (paused_destinations > 0) {
      state = paused_destinations == array_at(g, "destinations").size() ? "paused" : "partly paused";
    } else if (backoff) {
      state = bool_at(*backoff, "recovering") ? "recovering" : "backoff";
    }
    std::cout << fmt::format("{:<36} {:<16} {:>5} {:<12} {:<20} {:<16} {:>9}  {}\n",
                             str(g.if_contains("key")), str(g.if_contains("rule")),
                             str(g.if_contains("connections_open")),
                             cell(effective, limits, "connections"),
                             cell(effective, limits, "rate"),
                             cell(effective, limits, "connection_rate"),
                             cell(effective, limits, "messages_per_connection"), state);
    if (bool_at(g, "shared")) {
      std::string list;
      for (auto& d : array_at(g, "destinations")) list += (list.empty() ? "" : ", ") + str(&d);
      const std::string count = str(g.if_contains("destination_count"));
      std::cout << "    destinations (" << count << "): " << (list.empty() ? "none yet" : list);
      if (array_at(g, "destinations").size() < std::strtoull(count.c_str(), nullptr, 10)) {
        std::cout << ", ...";
      }
      std::cout << "\n";
    }
    if (backoff) {
      std::cout << fmt::format("    backoff {} ({}) since {} until {}{}\n      reply: {}\n",
                               str(backoff->if_contains("rule")),
                               str(backoff->if_contains("action")),
                               str(backoff->if_contains("since")),
                               str(backoff->if_contains("until")),
                               bool_at(*backoff, "recovering") ? ", recovering" : "",
                               str(backoff->if_contains("reply")));
    }
  }

  const json::array& pauses = array_at(v, "pauses");
  if (pauses.empty()) {
    std::cout << "\nno pauses\n";
    return 0;
  }
  std::cout << fmt::format("\n{:<36} {:<26} {:<26} {}\n", "paused", "until", "since", "reason");
  for (auto& item : pauses) {
    if (!item.is_object()) continue;
    const json::object& p = item.as_object();
    std::string until = str(p.if_contains("until"));
    if (until.empty()) until = "resumed";
    std::cout << fmt::format("{:<36} {:<26} {:<26} {}\n", str(p.if_contains("key")), until,
                             str(p.if_contains("since")), str(p.if_contains("reason")));
  }
  return 0;
}

int cmd_throttle_set(const ClientFlags& c, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "vestnik: cannot read " << file << "\n";
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  int exit = 0;
  auto v = fetch(c, "PUT", "/v1/throttles", &exit, ss.str(), "application/toml");
  if (!v) return exit;
  const json::object* rules = object_at(*v, "rules");
  std::cout << fmt::format(
      "rules replaced (generation {}): {} rules, {} backoff rules; in force until the next "
      "restart or reload\n",
      str(v->if_contains("generation")), rules ? array_at(*rules, "rules").size() : 0,
      rules ? array_at(*rules, "backoff").size() : 0);
  return 0;
}

int cmd_throttle_pause(const ClientFlags& c, const std::string& key, const std::string& duration,
                       const std::string& reason) {
  json::object body;
  if (!duration.empty()) body["duration"] = duration;
  if (!reason.empty()) body["reason"] = reason;
  int exit = 0;
  auto v = fetch(c, "POST", "/v1/destinations/" + percent_encode(key) + ":pause", &exit,
                 json::serialize(body));
  if (!v) return exit;
  std::string until = str(v->if_contains("until"));
  std::cout << fmt::format("{} paused until {} ({})\n", str(v->if_contains("key")),
                           until.empty() ? "resumed" : until, str(v->if_contains("reason")));
  return 0;
}

int cmd_throttle_resume(const ClientFlags& c, const std::string& key) {
  int exit = 0;
  auto v = fetch(c, "POST", "/v1/destinations/" + percent_encode(key) + ":resume", &exit);
  if (!v) return exit;
  std::cout << str(v->if_contains("key")) << "  " << str(v->if_contains("status")) << "\n";
  return 0;
}

namespace {

// "&name=value" for each non-empty value, percent-encoded ('+' too: the
// API reads it literally, but encoding it is never wrong).
std::string query_of(std::initializer_list<std::pair<const char*, const std::string*>> params) {
  std::string q;
  for (const auto& [name, value] : params) {
    if (value->empty()) continue;
    q += q.empty() ? "?" : "&";
    q += name;
    q += "=";
    q += percent_encode(*value);
  }
  return q;
}

// "2026-11-24T09:00:00.000Z" -> "2026-11-24 09:00:00Z": the table's "since".
std::string since(std::string t) {
  if (t.size() > 10 && t[10] == 'T') t[10] = ' ';
  if (const size_t dot = t.find('.'); dot != std::string::npos) {
    const size_t end = t.find_first_not_of("0123456789", dot + 1);
    t.erase(dot, end == std::string::npos ? std::string::npos : end - dot);
  }
  return t;
}

}  // namespace

int cmd_suppress_list(const ClientFlags& c, const SuppressFlags& s) {
  // The pages are fetched as JSON whatever --json says; --json prints them
  // joined at the end.
  ClientFlags quiet = c;
  quiet.json = false;
  const std::string limit = "1000";
  const std::string base = "/v1/suppressions" + query_of({{"tenant", &s.tenant},
                                                          {"channel", &s.channel},
                                                          {"address", &s.address},
                                                          {"category", &s.category},
                                                          {"limit", &limit}});
  json::array all;
  std::string next;
  for (int page = 0; page < kMaxSuppressPages; ++page) {
    const std::string target = next.empty() ? base : base + "&after=" + percent_encode(next);
    int exit = 0;
    auto v = fetch(quiet, "GET", target, &exit);
    if (!v) return exit;
    for (auto& e : array_at(*v, "suppressions")) all.push_back(e);
    next = str(v->if_contains("next"));
    if (next.empty()) break;
  }
  if (c.json) {
    json::object out;
    out["suppressions"] = std::move(all);
    if (!next.empty()) out["next"] = next;
    std::cout << json::serialize(out) << "\n";
    return 0;
  }
  if (all.empty()) {
    std::cout << "no suppressions\n";
    return 0;
  }
  const char* keys[] = {"tenant", "channel", "address", "category",
                        "reason", "created_at", "detail"};
  std::vector<std::array<std::string, 7>> rows;
  rows.push_back({"tenant", "channel", "address", "category", "reason", "since", "detail"});
  for (auto& item : all) {
    if (!item.is_object()) continue;
    std::array<std::string, 7> row;
    for (size_t i = 0; i < row.size(); ++i) row[i] = str(item.as_object().if_contains(keys[i]));
    row[5] = since(row[5]);
    rows.push_back(std::move(row));
  }
  // Columns as wide as their widest cell (capped: a long address is shown
  // whole, the columns after it just shift), the last one unpadded.
  std::array<size_t, 7> width{};
  for (const auto& row : rows) {
    for (size_t i = 0; i + 1 < row.size(); ++i) {
      width[i] = std::max(width[i], std::min<size_t>(row[i].size(), 40));
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(width[i] > row[i].size() ? width[i] - row[i].size() + 2 : 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
  if (!next.empty()) {
    std::cout << "... more than " << all.size()
              << " entries: narrow the list with --channel, --address or --category\n";
  }
  return 0;
}

int cmd_suppress_add(const ClientFlags& c, const SuppressFlags& s) {
  json::object entry;
  auto put = [&entry](const char* k, const std::string& v) {
    if (!v.empty()) entry[k] = v;
  };
  put("tenant", s.tenant);
  put("channel", s.channel);
  put("address", s.address);
  put("category", s.category);
  put("reason", s.reason);
  put("detail", s.detail);
  int exit = 0;
  auto v = fetch(c, "POST", "/v1/suppressions", &exit, json::serialize(entry));
  if (!v) return exit;
  std::cout << fmt::format("suppressed {} on {} ({}, {})\n", s.address, s.channel,
                           s.category.empty() ? "every category" : "category " + s.category,
                           s.reason.empty() ? "manual" : s.reason);
  return 0;
}

int cmd_suppress_remove(const ClientFlags& c, const SuppressFlags& s) {
  int exit = 0;
  auto v = fetch(c, "DELETE",
                 "/v1/suppressions" + query_of({{"tenant", &s.tenant},
                                                {"channel", &s.channel},
                                                {"address", &s.address},
                                                {"category", &s.category}}),
                 &exit);
  if (!v) return exit;
  const std::string removed = str(v->if_contains("removed"));
  if (removed == "0") {
    std::cout << "no entry matched: nothing removed\n";
  } else {
    std::cout << "removed " << removed << (removed == "1" ? " entry\n" : " entries\n");
  }
  return 0;
}

int cmd_key_show(const ClientFlags& c) {
  auto config = load_config(c);
  if (!config) return 2;
  auto k = read_admin_key(config->spool.path);
  if (!k) {
    std::cerr << "vestnik: " << k.error().message << "\n";
    return 1;
  }
  std::cout << *k << "\n";
  return 0;
}

}  // namespace app
