// mta/smtp_server_session_tls.cpp: STARTTLS (RFC 3207) and AUTH PLAIN /
// LOGIN (RFC 4954, 4616) of a session.
//
// AUTH is offered and accepted only inside TLS: the passwords travel in
// base64, which is plain text. Failed attempts are counted; the third ends
// the session, so a client cannot try passwords at the speed of the line.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.h"
#include "mta/smtp_server_session.h"

namespace mta::server {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr unsigned kMaxAuthFailures = 3;

}  // namespace

asio::awaitable<bool> Session::starttls() {
  if (!shared_->tls) co_return protocol_error(502, "5.5.1", "Error: STARTTLS not available");
  if (tls_) co_return protocol_error(503, "5.5.1", "Error: TLS already active");
  if (tx_.active) co_return protocol_error(503, "5.5.1", "Error: MAIL transaction in progress");
  reply(220, "2.0.0", "Ready to start TLS");
  const SteadyTime deadline = after(cfg_.command_timeout);
  if (!co_await flush(deadline)) co_return false;
  // Whatever came after STARTTLS in plain text was sent before the
  // handshake and is not protected by it: a man in the middle may have
  // added it (CVE-2011-0411). Drop it unread.
  if (in_.size() > 0) {
    core::log::info("smtp input after STARTTLS discarded",
                    {{"client", ip_}, {"bytes", uint64_t{in_.size()}}});
    in_.consume(in_.size());
  }
  tls_.emplace(socket_, *shared_->tls);
  arm(deadline);
  auto [ec] = co_await tls_->async_handshake(ssl::stream_base::server, kNoThrow);
  disarm();
  if (ec) {
    core::log::info("smtp TLS handshake failed", {{"client", ip_}, {"error", ec.message()}});
    co_return false;
  }
  // RFC 3207 4.2: the client must forget what it knew, and so do we: a
  // new EHLO is required, and nothing said in plain text carries over.
  helo_.clear();
  esmtp_ = false;
  auth_user_.clear();
  auth_tenant_.clear();
  reset_transaction();
  co_return true;
}

// One step of a SASL exchange: the initial response when `initial` is set,
// else the answer to a 334 `challenge`, as sent (base64). kFailed: the
// exchange failed and the reply is given; kEnd: the session must end.
asio::awaitable<Session::Sasl> Session::sasl_step(std::string_view challenge,
                                                  const std::string* initial, std::string* text) {
  if (initial != nullptr) {
    *text = *initial;
  } else {
    reply(334, "", challenge);
    const Read r = co_await next_line();
    if (r == Read::kTooLong) {
      co_return protocol_error(500, "5.5.2", "Error: line too long") ? Sasl::kFailed : Sasl::kEnd;
    }
    if (r != Read::kOk) {
      co_await farewell(r);
      co_return Sasl::kEnd;
    }
    *text = line_;
  }
  if (*text == "*") {
    reply(501, "5.7.0", "Error: authentication aborted");
    co_return Sasl::kFailed;
  }
  co_return Sasl::kGot;
}

asio::awaitable<bool> Session::auth(const Command& c) {
  if (!shared_->policy->offers_auth()) {
    co_return protocol_error(503, "5.5.1", "Error: authentication not enabled");
  }
  if (!tls_) co_return protocol_error(530, "5.7.0", "Must issue a STARTTLS command first");
  if (!esmtp_) co_return protocol_error(503, "5.5.1", "Error: send EHLO first");
  if (!auth_user_.empty()) co_return protocol_error(503, "5.5.1", "Error: already authenticated");
  if (tx_.active) co_return protocol_error(503, "5.5.1", "Error: MAIL transaction in progress");

  // `c` views line_, which the next read overwrites: keep what we need.
  const AuthMechanism mechanism = c.mechanism;
  const std::optional<std::string> initial =
      c.has_initial_response ? std::optional<std::string>(c.initial_response) : std::nullopt;
  const std::string* first = initial ? &*initial : nullptr;

  std::string user, password, text;
  bool decoded = true;
  if (mechanism == AuthMechanism::kPlain) {
    const Sasl s = co_await sasl_step("", first, &text);
    if (s != Sasl::kGot) co_return s == Sasl::kFailed;
    auto creds = decode_sasl_plain(text);
    decoded = creds.has_value();
    // An authorization identity other than the user itself would mean
    // "act as someone else", which no listener user may do.
    if (creds && (creds->authzid.empty() || creds->authzid == creds->user)) {
      user = std::move(creds->user);
      password = std::move(creds->password);
    }
  } else {
    Sasl s = co_await sasl_step("VXNlcm5hbWU6", first, &text);  // "Username:"
    if (s != Sasl::kGot) co_return s == Sasl::kFailed;
    auto name = decode_base64(text);
    if (name) {
      user = std::move(*name);
      s = co_await sasl_step("UGFzc3dvcmQ6", nullptr, &text);  // "Password:"
      if (s != Sasl::kGot) co_return s == Sasl::kFailed;
      auto pass = decode_base64(text);
      if (pass) password = std::move(*pass);
      decoded = pass.has_value();
    } else {
      decoded = false;
    }
  }
  if (!decoded) co_return protocol_error(501, "5.5.2", "Error: cannot decode response");

  std::optional<std::string> tenant;
  if (!user.empty()) tenant = shared_->policy->authenticate(user, password);
  if (!tenant) {
    ++auth_failures_;
    core::log::info("smtp authentication failed",
                    {{"client", ip_}, {"failures", uint64_t{auth_failures_}}});
    reply(535, "5.7.8", "Error: authentication failed");
    if (auth_failures_ < kMaxAuthFailures) co_return true;
    reply(421, "4.7.0", shared_->hostname + " Error: too many authentication failures");
    co_return false;
  }
  auth_user_ = std::move(user);
  auth_tenant_ = std::move(*tenant);
  reply(235, "2.7.0", "Authentication successful");
  co_return true;
}

}  // namespace mta::server
