// app/main.cpp: the `vestnik` command line. Wiring only (CLI11 -> app/*).
#include <CLI/CLI.hpp>

#include <iostream>

#include "app/commands.h"
#include "app/dkim_commands.h"
#include "app/serve.h"

int main(int argc, char** argv) {
  CLI::App cli{"vestnik — email and notification delivery engine"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", "vestnik 0.1.0");

  app::ServeOptions serve_opts;
  auto* serve = cli.add_subcommand("serve", "run the daemon (API, spool, dispatcher)");
  serve->add_option("-c,--config", serve_opts.config_path, "TOML config file (default: none)")
      ->check(CLI::ExistingFile);

  app::ClientFlags client;
  auto add_client_flags = [&client](CLI::App* sub) {
    sub->add_option("-c,--config", client.config_path, "config file, to find the API and spool")
        ->check(CLI::ExistingFile);
    sub->add_option("--api", client.api, "API address host:port (default: api.listen)");
    sub->add_option("--key", client.key, "API key (default: $VESTNIK_KEY, then the spool's admin.key)");
    sub->add_flag("--json", client.json, "print the API's JSON answer");
  };

  app::SendFlags send_flags;
  auto* send = cli.add_subcommand("send", "enqueue a message (from flags or a JSON file)");
  add_client_flags(send);
  send->add_option("-f,--file", send_flags.file, "JSON: a message, or {\"messages\": [...]}")
      ->check(CLI::ExistingFile);
  send->add_option("--to", send_flags.to_email, "recipient e-mail address");
  send->add_option("--to-name", send_flags.to_name, "recipient display name");
  send->add_option("--telegram", send_flags.telegram, "recipient Telegram chat id");
  send->add_option("--phone", send_flags.phone, "recipient phone (E.164) for SMS");
  send->add_option("--vk", send_flags.vk, "recipient VK peer id");
  send->add_option("--viber", send_flags.viber, "recipient Viber id");
  send->add_option("--whatsapp", send_flags.whatsapp, "recipient WhatsApp number (E.164)");
  send->add_option("--channel", send_flags.channels, "channel, in order of preference (repeatable)");
  send->add_option("--from", send_flags.from_email, "sender e-mail address");
  send->add_option("--from-name", send_flags.from_name, "sender display name");
  send->add_option("--subject", send_flags.subject, "subject");
  send->add_option("--text", send_flags.text, "plain-text body");
  send->add_option("--html", send_flags.html, "HTML body");
  send->add_option("--template", send_flags.template_id, "stored template id");
  send->add_option("--var", send_flags.vars, "template variable name=value (repeatable)");
  send->add_option("--category", send_flags.category, "subscription category");
  send->add_option("--priority", send_flags.priority, "transactional | normal | bulk");
  send->add_option("--send-at", send_flags.send_at, "RFC 3339 time to send at");
  send->add_option("--expires-at", send_flags.expires_at, "RFC 3339 time after which not to send");
  send->add_option("--idempotency-key", send_flags.idempotency_key, "idempotency key");

  std::string id;
  auto* status = cli.add_subcommand("status", "show a message's status and events");
  add_client_flags(status);
  status->add_option("id", id, "message id")->required();

  auto* cancel = cli.add_subcommand("cancel", "cancel a queued message");
  add_client_flags(cancel);
  cancel->add_option("id", id, "message id")->required();

  auto* queue = cli.add_subcommand("queue", "counts per status and destination");
  add_client_flags(queue);

  // `vestnik throttle` alone shows; the others change the live state until
  // the next restart or reload. The connection flags are accepted before
  // and after the verb.
  auto* throttle = cli.add_subcommand("throttle", "delivery throttles: show, set, pause, resume");
  add_client_flags(throttle);
  throttle->require_subcommand(0, 1);
  auto* throttle_show = throttle->add_subcommand(
      "show", "groups with effective vs rule limits, open connections, backoffs; pauses (default)");
  add_client_flags(throttle_show);
  std::string throttle_file;
  auto* throttle_set = throttle->add_subcommand(
      "set", "replace the live rules with FILE until the next restart or reload");
  add_client_flags(throttle_set);
  throttle_set->add_option("file", throttle_file, "TOML: the content of a [throttle] table")
      ->required()
      ->check(CLI::ExistingFile);
  std::string throttle_key, throttle_for, throttle_reason;
  auto* throttle_pause =
      throttle->add_subcommand("pause", "stop sending to a destination or a throttle group");
  add_client_flags(throttle_pause);
  throttle_pause->add_option("key", throttle_key, "destination (email:gmail.com) or group (google)")
      ->required();
  throttle_pause->add_option("--for", throttle_for,
                             "how long, e.g. 90m or 2h (default: until resumed)");
  throttle_pause->add_option("--reason", throttle_reason, "why (shown by `vestnik throttle`)");
  auto* throttle_resume = throttle->add_subcommand("resume", "lift a pause");
  add_client_flags(throttle_resume);
  throttle_resume->add_option("key", throttle_key, "the paused destination or group")->required();

  // `vestnik suppress list|add|remove`: the suppression list of a tenant
  // (the key's own; --tenant for another, with an admin key).
  app::SuppressFlags suppress_flags;
  auto* suppress = cli.add_subcommand("suppress", "the suppression list: list, add, remove");
  add_client_flags(suppress);
  suppress->require_subcommand(1);
  auto* suppress_list = suppress->add_subcommand("list", "entries as a table (every page)");
  add_client_flags(suppress_list);
  suppress_list->add_option("--tenant", suppress_flags.tenant, "another tenant's (admin key)");
  suppress_list->add_option("--channel", suppress_flags.channel, "only this channel (or *)");
  suppress_list->add_option("--address", suppress_flags.address, "only this address");
  suppress_list->add_option("--category", suppress_flags.category, "only this category (or *)");
  auto* suppress_add = suppress->add_subcommand("add", "stop sending to an address");
  add_client_flags(suppress_add);
  suppress_add->add_option("--channel", suppress_flags.channel, "email, telegram, ... or * (all)")
      ->required();
  suppress_add->add_option("--address", suppress_flags.address, "the address on that channel")
      ->required();
  suppress_add->add_option("--category", suppress_flags.category,
                           "subscription category (default: * — every category)");
  suppress_add->add_option("--reason", suppress_flags.reason,
                           "manual (default) | unsubscribed | hard_bounce | complaint");
  suppress_add->add_option("--detail", suppress_flags.detail, "a note kept with the entry");
  suppress_add->add_option("--tenant", suppress_flags.tenant, "another tenant's (admin key)");
  auto* suppress_remove = suppress->add_subcommand("remove", "allow sending to an address again");
  add_client_flags(suppress_remove);
  suppress_remove->add_option("--channel", suppress_flags.channel, "email, telegram, ... or *")
      ->required();
  suppress_remove->add_option("--address", suppress_flags.address, "the address")->required();
  suppress_remove->add_option("--category", suppress_flags.category,
                              "only this category (default: every category)");
  suppress_remove->add_option("--tenant", suppress_flags.tenant, "another tenant's (admin key)");

  auto* key = cli.add_subcommand("key", "API keys");
  key->require_subcommand(1);
  auto* key_show = key->add_subcommand("show", "print the generated admin key");
  key_show->add_option("-c,--config", client.config_path, "config file, to find the spool")
      ->check(CLI::ExistingFile);

  auto* dkim_cmd = cli.add_subcommand("dkim", "DKIM keys, signing and verification (offline)");
  dkim_cmd->require_subcommand(1);
  app::DkimKeygenFlags keygen_flags;
  auto* dkim_keygen = dkim_cmd->add_subcommand("keygen", "make a key; print its DNS TXT record");
  dkim_keygen->add_option("--domain", keygen_flags.domain, "signing domain (d=)")->required();
  dkim_keygen->add_option("--selector", keygen_flags.selector, "selector (s=)")->required();
  dkim_keygen->add_option("--algorithm", keygen_flags.algorithm, "rsa | ed25519 (default rsa)");
  dkim_keygen->add_option("--bits", keygen_flags.bits, "RSA key size, 1024..4096 (default 2048)");
  dkim_keygen->add_option("--out", keygen_flags.out, "private key file to write (mode 0600)")->required();
  dkim_keygen->add_flag("--force", keygen_flags.force, "replace an existing file");
  app::DkimSignFlags sign_flags;
  auto* dkim_sign = dkim_cmd->add_subcommand("sign", "print FILE signed (signature field first)");
  dkim_sign->add_option("--key", sign_flags.key, "private key PEM")->required()->check(CLI::ExistingFile);
  dkim_sign->add_option("--domain", sign_flags.domain, "signing domain (d=)")->required();
  dkim_sign->add_option("--selector", sign_flags.selector, "selector (s=)")->required();
  dkim_sign->add_option("--algorithm", sign_flags.algorithm, "rsa | ed25519 (default: the key's)");
  dkim_sign->add_option("--canonicalization", sign_flags.canonicalization,
                        "header/body: simple|relaxed (default relaxed/relaxed)");
  dkim_sign->add_option("--header", sign_flags.headers, "header to sign (repeatable; default: the built-in list)");
  dkim_sign->add_option("file", sign_flags.file, "message file, - for stdin")->required();
  app::DkimVerifyFlags verify_flags;
  auto* dkim_verify = dkim_cmd->add_subcommand("verify", "verify FILE's signatures against given keys");
  dkim_verify->add_option("--txt", verify_flags.txt, "DNS TXT record value (repeatable)")->required();
  dkim_verify->add_option("file", verify_flags.file, "message file, - for stdin")->required();

  CLI11_PARSE(cli, argc, argv);

  if (dkim_keygen->parsed()) return app::cmd_dkim_keygen(keygen_flags);
  if (dkim_sign->parsed()) return app::cmd_dkim_sign(sign_flags);
  if (dkim_verify->parsed()) return app::cmd_dkim_verify(verify_flags);

  if (serve->parsed()) return app::serve(serve_opts);
  if (send->parsed()) return app::cmd_send(client, send_flags);
  if (status->parsed()) return app::cmd_status(client, id);
  if (cancel->parsed()) return app::cmd_cancel(client, id);
  if (queue->parsed()) return app::cmd_queue(client);
  if (throttle_set->parsed()) return app::cmd_throttle_set(client, throttle_file);
  if (throttle_pause->parsed()) {
    return app::cmd_throttle_pause(client, throttle_key, throttle_for, throttle_reason);
  }
  if (throttle_resume->parsed()) return app::cmd_throttle_resume(client, throttle_key);
  if (throttle->parsed()) return app::cmd_throttle_show(client);
  if (suppress_list->parsed()) return app::cmd_suppress_list(client, suppress_flags);
  if (suppress_add->parsed()) return app::cmd_suppress_add(client, suppress_flags);
  if (suppress_remove->parsed()) return app::cmd_suppress_remove(client, suppress_flags);
  if (key_show->parsed()) return app::cmd_key_show(client);
  return 2;
}
