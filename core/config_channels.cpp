// core/config_channels.cpp: [http] and the messenger and SMS providers
// ([telegram], [viber], [vk], [whatsapp], [sms]) of issue #6.
//
// Token files are read here, when the config loads: a missing or empty one
// fails the load (or the SIGHUP reload, which then keeps the running
// config) with its key, rather than every message of the channel later.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/config_read.h"

namespace core::config_detail {
namespace {

bool valid_account_name(std::string_view v) {
  return !v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

bool has_controls(std::string_view v) {
  return std::any_of(v.begin(), v.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

void check_base_url(const std::string& key, const toml::node& n, const std::string& url) {
  if (!(url.starts_with("https://") || url.starts_with("http://"))) {
    fail(key, n, "must start with https:// or http://");
  }
  const std::string_view rest = std::string_view(url).substr(url.find("//") + 2);
  if (rest.empty() || rest.front() == '/' || rest.find_first_of("?#@ ") != std::string_view::npos ||
      has_controls(url)) {
    fail(key, n, "must be scheme://host[:port][/path] without a query, fragment or user info");
  }
}

std::string read_token_file(const std::string& key, const toml::node& n, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(key, n, fmt::format("cannot read \"{}\"", path));
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  if (line.empty()) fail(key, n, fmt::format("\"{}\" holds no token on its first line", path));
  return line;
}

// Which keys an account table of each channel may have, beyond the common
// name/token/token_file/tenants/categories.
enum class Kind { kTelegram, kViber, kVk, kWhatsapp, kTwilio };

void read_account(Section& a, ChannelAccount& acc, Kind kind,
                  const std::vector<TenantConfig>& tenants) {
  acc.name = a.required_str("name");
  if (!valid_account_name(acc.name)) {
    fail(a.key("name"), *a.get("name"), "must be 1-64 of a-z 0-9 _ - .");
  }
  a.str("token", &acc.token);
  if (const auto* n = a.get("token_file")) {
    acc.token_file = read_string(a.key("token_file"), *n);
    if (!acc.token.empty()) fail(a.key("token_file"), *n, "give token or token_file, not both");
    acc.token = read_token_file(a.key("token_file"), *n, acc.token_file);
  }
  if (acc.token.empty()) {
    throw ConfigError(a.key("token"), "is required (or token_file)" + where(a.node()));
  }
  if (has_controls(acc.token)) fail(a.key("token"), a.node(), "must not contain control characters");
  if (const auto* n = a.get("tenants")) {
    read_strings(a, "tenants", &acc.tenants, 1000);
    for (size_t i = 0; i < acc.tenants.size(); ++i) {
      const std::string& t = acc.tenants[i];
      const bool known = tenants.empty() ? t == "default"
                                         : std::any_of(tenants.begin(), tenants.end(),
                                                       [&](const TenantConfig& x) { return x.id == t; });
      if (!known) fail(indexed(a.key("tenants"), i), *n, fmt::format("unknown tenant \"{}\"", t));
    }
  }
  if (a.get("categories")) read_strings(a, "categories", &acc.categories, 1000);
  switch (kind) {
    case Kind::kTelegram:
      a.str("webhook_secret", &acc.webhook_secret);
      // Telegram allows 1-256 of A-Z a-z 0-9 _ - in secret_token.
      if (!acc.webhook_secret.empty() &&
          (acc.webhook_secret.size() > 256 ||
           !std::all_of(acc.webhook_secret.begin(), acc.webhook_secret.end(), [](char c) {
             return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
           }))) {
        fail(a.key("webhook_secret"), *a.get("webhook_secret"),
             "must be 1-256 of A-Z a-z 0-9 _ - (Telegram's secret_token)");
      }
      break;
    case Kind::kViber:
      acc.sender_name = a.required_str("sender_name");
      if (acc.sender_name.empty() || acc.sender_name.size() > 28 * 4) {
        fail(a.key("sender_name"), *a.get("sender_name"), "must be 1-28 characters");
      }
      a.str("sender_avatar", &acc.sender_avatar);
      break;
    case Kind::kVk:
      a.str("webhook_secret", &acc.webhook_secret);
      a.str("confirmation", &acc.confirmation);
      break;
    case Kind::kWhatsapp:
      acc.phone_number_id = a.required_str("phone_number_id");
      if (acc.phone_number_id.empty() ||
          !std::all_of(acc.phone_number_id.begin(), acc.phone_number_id.end(),
                       [](char c) { return c >= '0' && c <= '9'; })) {
        fail(a.key("phone_number_id"), *a.get("phone_number_id"), "must be digits");
      }
      a.str("template_name", &acc.template_name);
      a.str("template_language", &acc.template_language);
      if (a.get("template_params")) read_strings(a, "template_params", &acc.template_params, 100);
      break;
    case Kind::kTwilio:
      acc.account_sid = a.required_str("account_sid");
      if (!acc.account_sid.starts_with("AC")) {
        fail(a.key("account_sid"), *a.get("account_sid"), "must start with AC");
      }
      acc.from = a.required_str("from");
      if (!(acc.from.starts_with("+") || acc.from.starts_with("MG"))) {
        fail(a.key("from"), *a.get("from"),
             "must be an E.164 number (+...) or a MessagingServiceSid (MG...)");
      }
      break;
  }
}

void read_provider(Section& s, ProviderConfig& c, Kind kind, std::string_view accounts_key,
                   const std::vector<TenantConfig>& tenants) {
  if (const auto* n = s.get("base_url")) {
    c.base_url = read_string(s.key("base_url"), *n);
    check_base_url(s.key("base_url"), *n, c.base_url);
  }
  if (kind == Kind::kTelegram) {
    s.duration("per_chat_interval", &c.per_recipient_interval, Duration(0), Duration(3'600'000));
  }
  if (kind == Kind::kVk || kind == Kind::kWhatsapp) s.str("api_version", &c.api_version);
  if (kind == Kind::kWhatsapp) {
    s.str("app_secret", &c.app_secret);
    s.str("verify_token", &c.verify_token);
  }
  if (kind == Kind::kTwilio) {
    s.str("status_callback_base", &c.status_callback_base);
    s.integer("validity_period", &c.validity_period_s, 0, 36'000);
  }
  if (const auto* n = s.get(accounts_key)) {
    c.accounts.clear();
    for_each_table(s.key(accounts_key), *n, 1000, [&](Section& a, size_t) {
      ChannelAccount acc;
      read_account(a, acc, kind, tenants);
      for (const ChannelAccount& other : c.accounts) {
        if (other.name == acc.name) {
          fail(a.key("name"), *a.get("name"), fmt::format("duplicate name \"{}\"", acc.name));
        }
      }
      c.accounts.push_back(std::move(acc));
    });
  }
}

void read_smpp(Section& b, SmppBind& bind, const std::vector<TenantConfig>& tenants) {
  bind.name = b.required_str("name");
  if (!valid_account_name(bind.name)) {
    fail(b.key("name"), *b.get("name"), "must be 1-64 of a-z 0-9 _ - .");
  }
  if (const auto* n = b.get("tenants")) {
    read_strings(b, "tenants", &bind.tenants, 1000);
    for (size_t i = 0; i < bind.tenants.size(); ++i) {
      const std::string& t = bind.tenants[i];
      const bool known = tenants.empty() ? t == "default"
                                         : std::any_of(tenants.begin(), tenants.end(),
                                                       [&](const TenantConfig& x) { return x.id == t; });
      if (!known) fail(indexed(b.key("tenants"), i), *n, fmt::format("unknown tenant \"{}\"", t));
    }
  }
  if (b.get("categories")) read_strings(b, "categories", &bind.categories, 1000);
  bind.host = b.required_str("host");
  if (bind.host.empty() || has_controls(bind.host)) fail(b.key("host"), *b.get("host"), "must be a host name or address");
  b.integer("port", &bind.port, 1, 65535);
  bind.system_id = b.required_str("system_id");
  if (bind.system_id.size() > 15) fail(b.key("system_id"), *b.get("system_id"), "at most 15 octets (SMPP 3.4)");
  b.str("password", &bind.password);
  if (const auto* n = b.get("password_file")) {
    bind.password_file = read_string(b.key("password_file"), *n);
    if (!bind.password.empty()) fail(b.key("password_file"), *n, "give password or password_file, not both");
    bind.password = read_token_file(b.key("password_file"), *n, bind.password_file);
  }
  if (bind.password.size() > 8) fail(b.key("password"), b.node(), "at most 8 octets (SMPP 3.4)");
  b.str("system_type", &bind.system_type);
  if (bind.system_type.size() > 12) fail(b.key("system_type"), *b.get("system_type"), "at most 12 octets (SMPP 3.4)");
  b.str("source_addr", &bind.source_addr);
  if (bind.source_addr.size() > 20) fail(b.key("source_addr"), *b.get("source_addr"), "at most 20 octets (SMPP 3.4)");
  b.integer("source_ton", &bind.source_ton, 0, 6);
  b.integer("source_npi", &bind.source_npi, 0, 18);
  b.boolean("delivery_receipts", &bind.delivery_receipts);
  b.integer("window", &bind.window, 1, 1000);
  b.number("tps", &bind.tps, 0, 100'000);
  const Duration hour(3'600'000);
  b.duration("connect_timeout", &bind.connect_timeout, Duration(100), hour);
  b.duration("response_timeout", &bind.response_timeout, Duration(100), hour);
  b.duration("enquire_link_interval", &bind.enquire_link_interval, Duration(1'000), hour);
}

}  // namespace

void read_http(Section& s, HttpConfig& c) {
  s.str("ca_file", &c.ca_file);
  s.boolean("verify_peer", &c.verify_peer);
  const Duration max = Duration(3'600'000);
  s.duration("connect_timeout", &c.connect_timeout, Duration(100), max);
  s.duration("tls_timeout", &c.tls_timeout, Duration(100), max);
  s.duration("request_timeout", &c.request_timeout, Duration(100), max);
  s.duration("idle_timeout", &c.idle_timeout, Duration(1'000), max);
  s.integer("max_connections_per_host", &c.max_connections_per_host, 1, 10'000);
}

void read_channels(const toml::table& root, Section& top, Config& config) {
  (void)root;
  const auto each = [&](std::string_view name, ProviderConfig& c, Kind kind,
                        std::string_view accounts) {
    if (const toml::table* t = top.table(name)) {
      Section s(*t, std::string(name));
      read_provider(s, c, kind, accounts, config.tenants);
      s.finish();
    }
  };
  each("telegram", config.telegram, Kind::kTelegram, "bots");
  each("viber", config.viber, Kind::kViber, "accounts");
  each("vk", config.vk, Kind::kVk, "communities");
  each("whatsapp", config.whatsapp, Kind::kWhatsapp, "numbers");
  if (const toml::table* t = top.table("sms")) {
    Section s(*t, "sms");
    read_provider(s, config.sms, Kind::kTwilio, "twilio", config.tenants);
    if (const auto* n = s.get("smpp")) {
      config.smpp.clear();
      for_each_table(s.key("smpp"), *n, 100, [&](Section& b, size_t) {
        SmppBind bind;
        read_smpp(b, bind, config.tenants);
        const bool taken =
            std::any_of(config.smpp.begin(), config.smpp.end(),
                        [&](const SmppBind& x) { return x.name == bind.name; }) ||
            std::any_of(config.sms.accounts.begin(), config.sms.accounts.end(),
                        [&](const ChannelAccount& x) { return x.name == bind.name; });
        if (taken) {
          fail(b.key("name"), *b.get("name"),
               fmt::format("duplicate name \"{}\" (names are unique across [[sms.smpp]] and "
                           "[[sms.twilio]])",
                           bind.name));
        }
        config.smpp.push_back(std::move(bind));
      });
    }
    s.finish();
  }
}

}  // namespace core::config_detail
