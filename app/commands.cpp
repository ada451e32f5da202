#include "app/commands.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/admin_key.h"
#include "app/client.h"
#include "core/config.h"

namespace app {
namespace {

namespace json = boost::json;

// Resolves where the server is and which key to present.
bool client_options(const ClientFlags& c, ClientOptions* out, bool need_key = true) {
  std::shared_ptr<const core::Config> config;
  try {
    config = c.config_path.empty() ? core::default_config() : core::load_config_file(c.config_path);
  } catch (const core::ConfigError& e) {
    std::cerr << "vestnik: " << e.what() << "\n";
    return false;
  }
  if (auto st = parse_api_address(c.api.empty() ? config->api.listen : c.api, out); !st) {
    std::cerr << "vestnik: " << st.error().to_string() << "\n";
    return false;
  }
  if (!c.key.empty()) {
    out->key = c.key;
  } else if (const char* env = std::getenv("VESTNIK_KEY"); env && *env) {
    out->key = env;
  } else if (need_key) {
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

core::Result<HttpResponse> call(const ClientFlags& c, const std::string& method,
                                const std::string& target, const std::string& body = {}) {
  ClientOptions o;
  if (!client_options(c, &o)) return core::make_error(core::Errc::kInvalidArgument, "");
  return http_request(o, method, target, body);
}

int transport_failure(const core::Error& e) {
  if (!e.message.empty()) std::cerr << "vestnik: " << e.message << "\n";
  return 2;
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
  auto r = call(c, "POST", target, body);
  if (!r) return transport_failure(r.error());
  if (r->status >= 300) return report_error(*r);
  if (c.json) {
    std::cout << r->body << "\n";
    return 0;
  }
  auto v = json::parse(r->body);
  if (target.ends_with(":batch")) {
    int refused = 0;
    for (auto& item : v.at("results").as_array()) {
      const auto& o = item.as_object();
      if (auto* e = o.if_contains("error")) {
        ++refused;
        std::cout << "refused  " << str(e->as_object().if_contains("message")) << "\n";
      } else {
        std::cout << str(o.if_contains("id")) << "  " << str(o.if_contains("status")) << "\n";
      }
    }
    return refused ? 1 : 0;
  }
  std::cout << str(v.as_object().if_contains("id")) << "  "
            << str(v.as_object().if_contains("status")) << "\n";
  return 0;
}

int cmd_status(const ClientFlags& c, const std::string& id) {
  auto r = call(c, "GET", "/v1/messages/" + id);
  if (!r) return transport_failure(r.error());
  if (r->status >= 300) return report_error(*r);
  if (c.json) {
    std::cout << r->body << "\n";
    return 0;
  }
  auto v = json::parse(r->body).as_object();
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
  if (auto* ev = v.if_contains("events"); ev && ev->is_array()) {
    std::cout << "events:\n";
    for (auto& e : ev->as_array()) {
      const auto& eo = e.as_object();
      std::cout << fmt::format("  {:<24}  {:<10}  {}\n", str(eo.if_contains("at")),
                               str(eo.if_contains("status")), str(eo.if_contains("detail")));
    }
  }
  return 0;
}

int cmd_cancel(const ClientFlags& c, const std::string& id) {
  auto r = call(c, "DELETE", "/v1/messages/" + id);
  if (!r) return transport_failure(r.error());
  if (r->status >= 300) return report_error(*r);
  std::cout << (c.json ? r->body : id + "  cancelled") << "\n";
  return 0;
}

int cmd_queue(const ClientFlags& c) {
  auto r = call(c, "GET", "/v1/queues");
  if (!r) return transport_failure(r.error());
  if (r->status >= 300) return report_error(*r);
  if (c.json) {
    std::cout << r->body << "\n";
    return 0;
  }
  auto v = json::parse(r->body).as_object();
  std::cout << "status      count\n";
  if (auto* t = v.if_contains("totals"); t && t->is_array()) {
    for (auto& s : t->as_array()) {
      std::cout << fmt::format("{:<10} {:>6}\n", str(s.as_object().if_contains("status")),
                               str(s.as_object().if_contains("count")));
    }
  }
  auto* d = v.if_contains("destinations");
  if (!d || !d->is_array() || d->as_array().empty()) return 0;
  std::cout << fmt::format("\n{:<40} {:>8} {:>8} {:>10} {:>7} {:>9}  other\n", "destination",
                           "queued", "sending", "in-flight", "ready", "delivered");
  for (auto& item : d->as_array()) {
    const auto& o = item.as_object();
    std::map<std::string, std::string> counts;
    if (auto* cs = o.if_contains("counts"); cs && cs->is_array()) {
      for (auto& s : cs->as_array()) {
        counts[str(s.as_object().if_contains("status"))] = str(s.as_object().if_contains("count"));
      }
    }
    std::string other;
    for (auto& [k, n] : counts) {
      if (k != "queued" && k != "sending" && k != "delivered") other += k + "=" + n + " ";
    }
    auto get = [&](const char* k) { return counts.count(k) ? counts[k] : std::string("0"); };
    std::cout << fmt::format("{:<40} {:>8} {:>8} {:>10} {:>7} {:>9}  {}\n",
                             str(o.if_contains("destination")), get("queued"), get("sending"),
                             str(o.if_contains("in_flight")), str(o.if_contains("ready")),
                             get("delivered"), other);
  }
  return 0;
}

int cmd_key_show(const ClientFlags& c) {
  std::shared_ptr<const core::Config> config;
  try {
    config = c.config_path.empty() ? core::default_config() : core::load_config_file(c.config_path);
  } catch (const core::ConfigError& e) {
    std::cerr << "vestnik: " << e.what() << "\n";
    return 2;
  }
  auto k = read_admin_key(config->spool.path);
  if (!k) {
    std::cerr << "vestnik: " << k.error().message << "\n";
    return 1;
  }
  std::cout << *k << "\n";
  return 0;
}

}  // namespace app
