// core/config.h: the configuration schema of the whole daemon, as data.
//
// One struct per module, each field with its default, grouped into behaviour
// and performance settings (STYLE.md R13). load_config() reads TOML, rejects
// unknown keys and out-of-range values naming the key ("engine.max_active:
// must be between 1 and 10000000"), checks cross-field rules, and returns an
// immutable snapshot; a reload builds a new snapshot and swaps the
// shared_ptr. With no file at all the defaults below make a working daemon.
// Every key is documented in docs/configuration.md; keep them in step.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/message.h"

namespace core {

// [api]
struct ApiConfig {
  // behaviour
  std::string listen = "127.0.0.1:8025";  // host:port; [::1]:8025 for IPv6
  uint64_t max_body_bytes = 64ull << 20;  // larger bodies get 413
  uint32_t max_batch = 10000;             // messages per POST /v1/messages:batch
  bool metrics_require_auth = false;      // GET /metrics without a key
  // performance
  uint32_t threads = 0;           // I/O threads; 0 = number of cores
  Duration read_timeout{30'000};  // whole request, header to last body byte
  Duration idle_timeout{60'000};  // keep-alive connection with no request
  uint32_t max_connections = 4096;
};

// [spool]
struct SpoolConfig {
  // behaviour
  std::string path = "./var";                  // directory; created 0700 if missing
  Duration retention{7LL * 24 * 3600 * 1000};  // finished messages kept this long
  Duration lease_timeout{10LL * 60 * 1000};    // a lease older than this is reclaimed
  uint64_t min_free_bytes = 256ull << 20;      // refuse new messages (507) below this free space
  // performance
  uint64_t map_size_initial = 256ull << 20;
  uint64_t map_size_max = 1ull << 40;     // the map grows by doubling up to this
  uint32_t group_commit_max_ops = 50000;  // operations merged into one transaction
  Duration purge_interval{60'000};
};

// [retry]
struct RetryConfig {
  // Delay before retry 1, 2, ... after a transient failure. The number of
  // entries is the number of retries after the first attempt (4 by contract).
  std::vector<Duration> schedule = {Duration(5 * 60'000), Duration(15 * 60'000),
                                    Duration(60 * 60'000), Duration(4 * 60 * 60'000)};
  double jitter = 0.2;  // each delay is scaled by a random factor in [1-j, 1+j]
};

// [engine]
struct EngineConfig {
  // performance
  uint32_t max_active = 50000;                // messages leased and held in memory at once
  uint32_t max_ready_per_destination = 5000;  // beyond this, due messages wait
  Duration ready_full_delay{5'000};           // how far such messages are pushed back
  uint32_t default_concurrency = 16;          // in-flight sends per destination
  uint32_t batch_size = 100;                  // messages per Transport::send
  Duration poll_interval{200};                // due-index scan period when idle
  uint32_t lease_batch = 5000;                // messages leased per spool transaction
  // New mail that may go at once is leased in the transaction that stores
  // it (no separate lease transaction), while the dispatcher keeps up.
  bool direct_lease = true;
  // Status changes of fewer than batch_size messages are committed at most
  // once per this long (each commit is a sync): at low rates many small
  // commits would otherwise keep the spool's writer busy. 0: commit each
  // gathering at once. Delivery never waits for it.
  Duration apply_linger{5};
  // behaviour
  Duration shutdown_grace{30'000};  // wait this long for in-flight sends on stop
};

// [log]
struct LogConfig {
  std::string level = "info";  // debug | info | warn | error
  std::string file;            // empty: stderr
};

enum class Role : uint8_t { kSender = 1, kAdmin = 2 };

struct ApiKey {
  std::string key;  // the bearer token, >= 16 characters
  Role role = Role::kSender;
};

// [[tenants]]
struct TenantConfig {
  std::string id;  // [a-z0-9_-]{1,64}
  std::vector<ApiKey> keys;
};

// One rule of the sink transport: recipients whose address matches `match`
// (ECMAScript regex, searched) get `reply`; with first_attempts = N only
// attempts 1..N do, later attempts fall through to the next rule.
struct SinkRule {
  std::string match;
  std::string reply;            // "451 4.7.1 try later"; code decides the outcome
  uint32_t first_attempts = 0;  // 0: every attempt
};

// [transports.sink] — a delivery target that talks to nobody: answers by
// rule. For load tests and for trying the engine without real providers.
struct SinkConfig {
  bool enabled = false;
  std::vector<Channel> channels = {Channel::kEmail};  // channels it serves
  std::vector<SinkRule> rules;
  std::string default_reply = "250 2.0.0 accepted by sink";
  Duration latency{0};  // simulated time per send call
};

struct TransportsConfig {
  SinkConfig sink;
};

// [email] — how rendered email is composed (templating/render.h).
struct EmailConfig {
  // Message-ID right-hand side; empty: the From address's domain (which
  // keeps Message-ID aligned with the author domain).
  std::string message_id_domain;
  // Header carrying our message id in every email, so bounces and
  // complaints that quote the original can be matched (#7).
  std::string trace_header = "X-Vestnik-Id";
  // The last part of Feedback-ID (campaign:category:tenant:sender).
  std::string feedback_id_sender = "vestnik";
  // Categories that are bulk mail: they carry List-Unsubscribe and
  // List-Unsubscribe-Post (RFC 8058). Bulk priority counts as bulk too.
  std::vector<std::string> bulk_categories = {"marketing", "announcements", "newsletter",
                                              "promotions"};
  // Public base of the one-click unsubscribe endpoint; the token is
  // appended: "https://mail.example.com/u/" -> ".../u/<token>". Empty: no
  // https link (then only unsubscribe_mailto is offered).
  std::string unsubscribe_url;
  // Address for mailto unsubscribes ("unsubscribe@mail.example.com"); the
  // token goes into the subject. Empty: none.
  std::string unsubscribe_mailto;
  // Secret for unsubscribe and tracking tokens. Empty: a random key kept in
  // <spool.path>/token.key, created on first start.
  std::string token_secret;
  // Click and open tracking: off unless a URL base is set and the message's
  // category is listed ("*" = every category).
  std::string click_url;  // "https://mail.example.com/c/" + token
  std::string open_url;   // "https://mail.example.com/o/" + token
  std::vector<std::string> track_click_categories;
  std::vector<std::string> track_open_categories;
  // Longest SMS accepted, in segments.
  uint32_t max_sms_segments = 10;
};

// [dns] — the resolver behind MX lookups (mta/dns.h).
struct DnsConfig {
  // Name servers as "ip:port" ("127.0.0.1:5353", "[::1]:53"); empty: the
  // system's (/etc/resolv.conf).
  std::vector<std::string> servers;
  // performance
  Duration timeout{5'000};  // per try of one query
  uint32_t tries = 3;
  Duration min_ttl{30'000};        // answers are cached at least this long
  Duration max_ttl{3'600'000};     // and at most this long
  Duration negative_ttl{300'000};  // NXDOMAIN / null MX kept this long
  Duration tempfail_ttl{30'000};   // a failed lookup is not repeated sooner
  uint32_t cache_entries = 100'000;
};

// One entry of the static routing table ([[smtp.routes]], like Postfix's
// transport maps): mail for `domain` goes to host:port instead of the MX.
// "example.com" matches that domain only, ".example.com" its subdomains,
// "*" every domain (a smarthost).
struct SmtpRoute {
  std::string domain;
  std::string host;  // IP literal or DNS name (A/AAAA)
  uint16_t port = 25;
};

// One egress source address ([[smtp.sources]]): outbound sessions bind to
// `address` and introduce themselves as `ehlo_name` (its PTR name).
struct SmtpSource {
  std::string address;    // an IP literal of this machine
  std::string ehlo_name;  // empty: smtp.ehlo_name
  uint32_t max_connections = 0;  // sessions from this address at once, over all sites; 0: no own limit
};

enum class TlsMode : uint8_t {
  kDisabled = 0,       // never STARTTLS
  kOpportunistic = 1,  // STARTTLS when offered, no certificate check; plain if the handshake fails
  kRequire = 2,        // STARTTLS required and the certificate verified for the MX name
};

// [[smtp.tls_policies]]: `domain` matches as in SmtpRoute.
struct TlsPolicy {
  std::string domain;
  TlsMode mode = TlsMode::kOpportunistic;
};

// [smtp] — the outbound SMTP client (mta/smtp_client.h) and email transport.
struct SmtpConfig {
  // behaviour
  bool enabled = true;    // serve the email channel over SMTP
  std::string ehlo_name;  // empty: the machine's host name
  uint16_t port = 25;     // port of MX hosts (tests point it at a sink)
  // Envelope sender (MAIL FROM). Placeholders: {token} an opaque
  // HMAC-protected token of (tenant, message id) for bounce matching (#7),
  // {domain} the From address's domain, {tenant}. Empty: the From address.
  // "bounce-{token}@bounces.example.com" is VERP.
  std::string return_path;
  TlsMode tls = TlsMode::kOpportunistic;
  std::vector<TlsPolicy> tls_policies;
  std::string ca_file;  // PEM bundle for kRequire; empty: the system's
  std::vector<SmtpRoute> routes;
  // The egress pool: sessions take the sources in turn (skipping one at its
  // max_connections). Empty: the OS picks the source address.
  std::vector<SmtpSource> sources;
  // performance (throttle rules may lower these per destination)
  uint32_t max_connections = 10;               // per destination (MX set)
  uint32_t max_messages_per_connection = 100;  // then QUIT and reconnect
  uint32_t max_recipients_per_transaction = 50;
  // Send a message's content together with the next message's MAIL, RCPT
  // and DATA on the same connection (RFC 2920 §3.1; only with PIPELINING
  // and without CHUNKING): one round trip per message instead of two.
  bool pipeline_messages = true;
  Duration idle_timeout{5'000};  // an unused pooled connection is closed after this
  // Per-state timeouts (RFC 5321 4.5.3.2 where it sets them).
  Duration connect_timeout{30'000};
  Duration greeting_timeout{300'000};
  Duration ehlo_timeout{300'000};
  Duration tls_timeout{60'000};
  Duration mail_timeout{300'000};
  Duration rcpt_timeout{300'000};
  Duration data_timeout{120'000};        // DATA -> 354
  Duration data_block_timeout{180'000};  // each write of the content
  Duration data_done_timeout{600'000};   // final dot -> reply
  Duration rset_timeout{30'000};
  Duration quit_timeout{10'000};
};

// One SMTP AUTH account of the listener ([[listener.users]]).
struct ListenerUser {
  std::string name;
  std::string password;
  std::string tenant;  // mail it injects belongs to this tenant
};

// [listener] — the SMTP injection listener (mta/smtp_server.h).
struct ListenerConfig {
  // behaviour
  bool enabled = false;
  std::string listen = "127.0.0.1:2525";
  std::string hostname;  // banner and EHLO name; empty: the machine's host name
  // Clients in these networks may relay without AUTH, as `network_tenant`.
  std::vector<std::string> networks = {"127.0.0.0/8", "::1/128"};
  std::string network_tenant;  // empty: the first configured tenant, else "default"
  std::vector<ListenerUser> users;  // AUTH PLAIN/LOGIN, only over TLS
  std::string tls_cert;  // PEM; both empty: no STARTTLS
  std::string tls_key;
  uint64_t max_message_bytes = 50ull << 20;  // SIZE
  uint32_t max_recipients = 1000;            // per transaction
  bool pipelining = true;
  bool chunking = true;
  // performance
  uint32_t max_connections = 1000;
  uint32_t max_connections_per_ip = 100;
  Duration command_timeout{300'000};
  Duration data_timeout{600'000};
};

// [inbound] — what the SMTP listener receives from anyone (issue #7):
// delivery status notifications (bounces), complaint (ARF/JMRP) reports and
// mailto unsubscribes. Mail to any address at `domains`, or to one of
// `addresses`, is accepted from any client (the null sender included),
// stored durably before the 250, then parsed and matched to the message it
// is about. Every other recipient from a client that may not relay gets
// "550 5.7.1": the listener is never an open relay. The domain of the
// return path (smtp.return_path) and email.unsubscribe_mailto are added to
// these on load when they name a fixed domain, so VERP bounces and mailto
// unsubscribes work without repeating them here.
struct InboundConfig {
  std::vector<std::string> domains;    // lower case, no trailing dot
  std::vector<std::string> addresses;  // lower case
  // Reports waiting to be processed after a crash are taken this many at
  // a time; also the most processed in one spool transaction.
  uint32_t batch = 256;
};

// [bounces] — how refusals and reports turn into suppressions (issue #7).
struct BouncesConfig {
  // Classifier rules (mta/bounce/classify.h format); empty: the built-in
  // rules for Gmail, Yahoo, Outlook, mail.ru and Yandex replies.
  std::string rules_file;
  // Hard categories (bad-mailbox, bad-domain, inactive-mailbox) suppress
  // the address on the first bounce. Soft ones (quota-issues) suppress
  // after this many bounces of the address within soft_window.
  uint32_t soft_limit = 3;
  Duration soft_window{7LL * 24 * 3600 * 1000};
  // Messenger recipients who block the bot / unsubscribe on a channel are
  // suppressed on it (reason unsubscribed) until they come back.
  bool suppress_blocked = true;
};

// [accounting] — one JSON line per delivery attempt.
struct AccountingConfig {
  bool enabled = true;
  std::string file;  // empty: <spool.path>/accounting.jsonl
  uint64_t max_bytes = 256ull << 20;      // rotate when the file grows past this
  Duration max_age{24LL * 3600 * 1000};   // or when it is this old
  uint32_t keep = 10;                     // rotated files kept
};

// One key of a signing domain ([[dkim.domains]] keys = [{...}]).
struct DkimKey {
  std::string selector;   // s=; the TXT record is at <selector>._domainkey.<d>
  std::string key_file;   // PEM private key, RSA (>= 1024 bits) or Ed25519
  std::string algorithm;  // "rsa" | "ed25519" | empty: whatever the file holds
};

// [[dkim.domains]]: mail whose From domain is `domain` or a subdomain of it
// is signed with every key listed (dual signing: Ed25519 + RSA), with
// d=`signing_domain` (empty: `domain`). The most specific entry wins.
struct DkimDomain {
  std::string domain;
  std::string signing_domain;
  // true: a message that cannot be signed (its key did not load, the
  // signature failed) is never sent unsigned; it is deferred with the
  // reason, and fails after the retries. false: it goes unsigned, logged.
  bool required = true;
  std::vector<DkimKey> keys;
  // Empty: [dkim]'s.
  std::string header_canonicalization;
  std::string body_canonicalization;
  std::vector<std::string> headers;
  std::vector<std::string> oversign;
};

// [dkim] — DKIM signing of outgoing email (dkim/dkim.h).
struct DkimConfig {
  // behaviour
  std::string header_canonicalization = "relaxed";  // simple | relaxed
  std::string body_canonicalization = "relaxed";
  // Header fields signed when present (h= order); empty: the built-in list
  // (dkim::default_signed_headers with email.trace_header).
  std::vector<std::string> headers;
  // Listed once more than present (RFC 6376 §5.4.2); each must be in the
  // headers signed. Empty with `headers` empty: the built-in list.
  std::vector<std::string> oversign;
  Duration expire{0};         // x= = t= + this; 0: no x=; else > the retry schedule's span
  bool sign_injected = true;  // sign mail injected over SMTP too (as is, when its From domain has keys)
  std::vector<DkimDomain> domains;
  // performance
  uint32_t threads = 0;  // signing threads; 0 = number of cores
};

// A rate of events: `count` per `per` ("100/s", "10/min", "2000/h").
// count 0: unlimited.
struct Rate {
  uint32_t count = 0;
  Duration per{1'000};
  bool unlimited() const noexcept { return count == 0; }
  double per_second() const noexcept {
    return per.count() > 0 ? double(count) * 1000.0 / double(per.count()) : 0.0;
  }
  friend bool operator==(const Rate&, const Rate&) = default;
};

// "100/s" (also "N/sec"), "10/min" ("N/m"), "2000/h" ("N/hour"), N 1..10^9,
// or "unlimited" (count 0). Units are lower case; no spaces. nullopt on
// anything else. (The config reader also takes a bare TOML integer as N/s.)
std::optional<Rate> parse_rate(std::string_view s) noexcept;
// "unlimited", "100/s", "10/min", "2000/h"; a period other than 1s, 1m or
// 1h (never produced by parse_rate) as "N/<duration>", e.g. "5/90s".
std::string format_rate(const Rate& r);

// Limits of one throttle rule. An unset field is inherited: a rule's from
// [throttle.default], [throttle.default]'s connections and
// messages_per_connection from smtp.max_connections and
// smtp.max_messages_per_connection, its rates from "unlimited".
struct ThrottleLimits {
  std::optional<uint32_t> connections;              // concurrent connections, >= 1
  std::optional<uint32_t> messages_per_connection;  // then QUIT and reconnect, >= 1
  std::optional<Rate> rate;                         // messages started
  std::optional<uint32_t> burst;                    // messages at once above the rate; default: rate per second, at least 1
  std::optional<Rate> connection_rate;              // connections opened
  friend bool operator==(const ThrottleLimits&, const ThrottleLimits&) = default;
};

// [[throttle.rules]]: which destinations share which limits. A rule
// matches a destination by its domain (`domains`: "example.com" exactly,
// ".example.com" its subdomains; for messengers the account name), by the
// host name of its first MX (`mx_suffixes`: ".google.com" matches
// "gmail-smtp-in.l.google.com"), or by its channel alone (`channels`).
// Domain rules are tried first, then MX rules, each in file order; the
// first match wins; no match: [throttle.default], per destination.
struct ThrottleRule {
  std::string name;  // [a-z0-9_.-]{1,64}, unique; shown in the API and logs
  std::vector<std::string> domains;      // lower case, A-labels
  std::vector<std::string> mx_suffixes;  // lower case, start with '.'
  // Only destinations of these channels ("telegram:school" is channel
  // telegram, "domain" school: the account). Empty: every channel. A rule
  // with channels and neither domains nor mx_suffixes matches every
  // destination of its channels (a provider's limit per bot or token),
  // after the domain and MX rules.
  std::vector<Channel> channels;
  // true: every destination matching the rule shares one set of limits
  // (a provider: "5 connections to Google", whatever the domain); false:
  // each destination has its own. Default: true for a rule with
  // mx_suffixes, false otherwise.
  std::optional<bool> shared;
  ThrottleLimits limits;
};

enum class BackoffAction : uint8_t {
  kSuspend = 1,      // send nothing until the backoff ends
  kRate = 2,         // message rate lowered to `rate`
  kConnections = 3,  // at most `connections` connections
};

// [[throttle.backoff]]: a reply pattern that slows a destination down. The
// regex (ECMAScript, case-insensitive) is searched in "code enhanced text"
// of every reply a destination gives ("421 4.7.0 [TSS04] Messages from
// 192.0.2.1 temporarily deferred"). After `threshold` matches within
// `window` the action holds for `duration`; then the limits come back
// gradually (throttle.recovery_step).
struct BackoffRule {
  std::string name;  // unique, as ThrottleRule::name
  std::string match;
  BackoffAction action = BackoffAction::kSuspend;
  Rate rate;                    // kRate: the lowered rate (not unlimited)
  uint32_t connections = 1;     // kConnections, >= 1
  Duration duration{3'600'000};
  uint32_t threshold = 1;
  Duration window{3'600'000};
};

// [throttle] — per-destination shaping (engine/throttle.h).
struct ThrottleConfig {
  ThrottleLimits defaults;  // [throttle.default]
  std::vector<ThrottleRule> rules;
  std::vector<BackoffRule> backoff;
  // After a backoff ends, the lowered limit doubles every recovery_step
  // without a matching reply until it is back to the rule's limit.
  Duration recovery_step{300'000};
  // Append the built-in provider rules and backoff patterns (Google,
  // Yahoo, Microsoft, Apple, ...; deliverability.md §6) after the
  // configured ones (so configured rules win).
  bool builtin_rules = true;
};

// The built-in provider rules and backoff patterns (deliverability.md §6),
// parsed once from TOML text embedded in core/config_throttle.cpp. Only
// `rules` and `backoff` are filled; `defaults` is unset and builtin_rules
// false. Thread-safe. It would throw ConfigError only if the embedded text
// were bad, which the unit tests rule out.
const ThrottleConfig& builtin_throttle_rules();

// Reads a TOML document whose top level is the content of a [throttle]
// table (recovery_step, builtin_rules, [default], [[rules]], [[backoff]]),
// as load_config_string reads [throttle]: same checks, errors as
// ConfigError with keys prefixed "throttle." ("throttle.rules[2].rate:
// ..."). The result is complete like Config::throttle: [default]'s rate
// and connection_rate filled with their defaults when absent, and the
// built-in rules appended when builtin_rules is true. For reuse by the
// live API (PUT /v1/throttles).
ThrottleConfig parse_throttle_toml(std::string_view toml_text, const std::string& source);

// [http] — the shared HTTPS client of the messenger and SMS providers
// (transports/http_client.h).
struct HttpConfig {
  std::string ca_file;      // PEM bundle that verifies providers; empty: the system's
  bool verify_peer = true;  // false only in a lab: no certificate check at all
  Duration connect_timeout{10'000};
  Duration tls_timeout{10'000};
  Duration request_timeout{30'000};  // writing a request and reading the whole answer
  Duration idle_timeout{30'000};     // idle keep-alive connections close after this
  uint32_t max_connections_per_host = 256;
};

// One provider account: a Telegram bot ([[telegram.bots]]), a Viber public
// account ([[viber.accounts]]), a VK community ([[vk.communities]]), a
// WhatsApp business number ([[whatsapp.numbers]]) or a Twilio account
// ([[sms.twilio]]). A message goes through the first account of its
// channel whose tenants and categories include the message's (empty: all);
// its ready-queue destination is "<channel>:<name>", so throttle rules and
// pauses apply per account.
struct ChannelAccount {
  std::string name;  // [a-z0-9_.-]{1,64}, unique within the channel
  // The secret: a bot token, an auth token, a community or system-user
  // token. Either inline or from token_file (its first line, read when the
  // daemon starts; accounts are not reloaded by SIGHUP).
  std::string token;
  std::string token_file;
  std::vector<std::string> tenants;     // empty: every tenant
  std::vector<std::string> categories;  // empty: every category
  // Callbacks: Telegram's secret_token, VK's secret (and its confirmation
  // string). Viber signs with the token itself, WhatsApp with
  // whatsapp.app_secret, Twilio with the auth token.
  std::string webhook_secret;
  std::string confirmation;  // VK: the string its "confirmation" callback expects
  std::string sender_name;    // Viber: sender.name (required there, <= 28 characters)
  std::string sender_avatar;  // Viber: sender.avatar URL
  std::string phone_number_id;  // WhatsApp: the sending number's id
  // WhatsApp: the approved template sent outside the 24 h window (empty:
  // free-form only; a 131047 then falls back to the next channel).
  std::string template_name;
  std::string template_language = "en_US";
  std::vector<std::string> template_params;  // variable paths for the body's {{1}}, {{2}}, ...
  std::string account_sid;  // Twilio: AC...
  std::string from;         // Twilio: "+1555..." or a MessagingServiceSid "MG..."
};

// [[sms.smpp]]: one SMPP 3.4 bind (transceiver) to an SMSC. A message goes
// through the first bind, then the first [[sms.twilio]] account, whose
// tenants and categories include its own; the destination is
// "sms:<name>" (names are unique across both lists).
struct SmppBind {
  std::string name;  // as ChannelAccount::name
  std::vector<std::string> tenants;
  std::vector<std::string> categories;
  std::string host = "127.0.0.1";
  uint16_t port = 2775;
  std::string system_id;  // <= 15 octets
  std::string password;   // <= 8 octets; or password_file
  std::string password_file;
  std::string system_type;  // <= 12 octets
  std::string source_addr;  // sender id: digits or alphanumeric, <= 20 octets
  uint8_t source_ton = 5;   // 5 alphanumeric, 1 international
  uint8_t source_npi = 0;   // 0 unknown, 1 E.164
  bool delivery_receipts = true;  // registered_delivery 1
  uint32_t window = 10;           // unanswered submit_sm at a time
  double tps = 50;                // submits per second on this bind; 0: no cap
  Duration connect_timeout{10'000};
  Duration response_timeout{10'000};
  Duration enquire_link_interval{30'000};
};

// [telegram], [viber], [vk], [whatsapp] and the HTTP side of [sms].
struct ProviderConfig {
  std::string base_url;  // e.g. "https://api.telegram.org"; tests point it at a fake
  std::vector<ChannelAccount> accounts;
  // Telegram: at most one message per chat in this interval (the Bot API
  // FAQ: about 1 msg/s per chat). 0: no spacing.
  Duration per_recipient_interval{0};
  std::string api_version;  // VK "5.199"; WhatsApp "v21.0"
  std::string app_secret;    // WhatsApp: signs status webhooks (X-Hub-Signature-256)
  std::string verify_token;  // WhatsApp: the webhook verification GET's hub.verify_token
  // Twilio: the externally visible URL of POST /v1/callbacks/sms/<account>
  // without the account, e.g. "https://vestnik.example.com/v1/callbacks/sms/"
  // (Twilio signs the full URL); empty: no status callbacks requested.
  std::string status_callback_base;
  uint32_t validity_period_s = 0;  // Twilio ValidityPeriod; 0: Twilio's default
};

struct Config {
  ApiConfig api;
  SpoolConfig spool;
  RetryConfig retry;
  EngineConfig engine;
  LogConfig log;
  std::vector<TenantConfig> tenants;
  TransportsConfig transports;
  EmailConfig email;
  DnsConfig dns;
  SmtpConfig smtp;
  ListenerConfig listener;
  InboundConfig inbound;
  BouncesConfig bounces;
  AccountingConfig accounting;
  ThrottleConfig throttle;
  DkimConfig dkim;
  HttpConfig http;
  ProviderConfig telegram{.base_url = "https://api.telegram.org",
                          .per_recipient_interval = Duration(1'000)};
  ProviderConfig viber{.base_url = "https://chatapi.viber.com"};
  ProviderConfig vk{.base_url = "https://api.vk.com", .api_version = "5.199"};
  ProviderConfig whatsapp{.base_url = "https://graph.facebook.com", .api_version = "v21.0"};
  ProviderConfig sms{.base_url = "https://api.twilio.com"};  // [sms]: Twilio accounts in [[sms.twilio]]
  std::vector<SmppBind> smpp;                                 // [[sms.smpp]]
  std::string source;  // file it came from; empty = built-in defaults
};

// Thrown only while loading configuration (startup or reload).
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& key, const std::string& what)
      : std::runtime_error(key.empty() ? what : key + ": " + what), key_(key) {}
  const std::string& key() const noexcept { return key_; }

 private:
  std::string key_;
};

// REQUIRES: nothing. Throws ConfigError naming the key on any problem: the
// message starts with the dotted key ("engine.max_active: must be between 1
// and 10000000 (line 4)", "tenants[1].keys[0].role: unknown role ...").
// TOML syntax errors and unreadable files have no key; their message starts
// with "<source>:<line>:<column>: " or "<path>: cannot read: ".
// Unknown keys are refused at every level; absent keys keep their defaults.
std::shared_ptr<const Config> load_config_file(const std::string& path);
std::shared_ptr<const Config> load_config_string(std::string_view toml,
                                                 const std::string& source = "<string>");
// The built-in defaults (source empty). One shared snapshot.
std::shared_ptr<const Config> default_config();

// A listen address split up: "127.0.0.1:8025", "[::1]:8025",
// "localhost:8025". `host` has no brackets. Port 0 is accepted (the OS picks
// one). nullopt unless the host is an IPv4 literal, a bracketed IPv6 literal
// or a DNS name, and the port is 0..65535.
struct HostPort {
  std::string host;
  uint16_t port = 0;
  bool is_ipv6 = false;
};
std::optional<HostPort> parse_host_port(std::string_view s);

std::string_view role_name(Role r) noexcept;

}  // namespace core
