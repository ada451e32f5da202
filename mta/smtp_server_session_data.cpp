// mta/smtp_server_session_data.cpp: the content of a transaction (DATA,
// BDAT) and its hand-over to the InjectSink.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>

#include "core/log.h"
#include "mta/smtp_server_session.h"

namespace mta::server {

namespace asio = boost::asio;

namespace {

// The text of a sink error as one safe reply line.
std::string reply_text(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  return out.empty() ? std::string("Error: message refused") : out;
}

}  // namespace

// The sink cannot be cancelled once called, so the deadline does not cancel
// it: it resumes the session with nullopt, and the late answer finds `done`
// set and is dropped. Both the timer and the posted answer run on the
// strand, so `done` needs no lock. The work guard keeps the io_context
// running while the only thing pending is the sink.
asio::awaitable<std::optional<InjectResult>> await_inject(InjectSink& sink, InjectedMessage message,
                                                          core::Duration deadline) {
  auto initiation = [](auto handler, InjectSink* sink, InjectedMessage message,
                       core::Duration deadline) {
    using Handler = decltype(handler);
    using Executor = decltype(asio::get_associated_executor(handler));
    struct State {
      State(Handler h, const Executor& ex)
          : handler(std::move(h)), executor(ex), work(asio::make_work_guard(ex)), timer(ex) {}
      void finish(std::optional<InjectResult> r) {
        if (done) return;
        done = true;
        timer.cancel();
        work.reset();
        std::move(handler)(std::move(r));
      }
      Handler handler;
      const Executor executor;  // immutable: read from the sink's thread
      asio::executor_work_guard<Executor> work;
      asio::steady_timer timer;
      bool done = false;
    };
    const Executor ex = asio::get_associated_executor(handler);
    auto state = std::make_shared<State>(std::move(handler), ex);
    state->timer.expires_after(deadline);
    state->timer.async_wait([state](boost::system::error_code ec) {
      if (!ec) state->finish(std::nullopt);
    });
    sink->inject(std::move(message), [state](InjectResult r) {
      asio::post(state->executor,
                 [state, r = std::move(r)]() mutable { state->finish(std::move(r)); });
    });
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::optional<InjectResult>)>(
      initiation, asio::use_awaitable, &sink, std::move(message), deadline);
}

// DATA: the content up to <CRLF>.<CRLF>, read to its end even when it will
// be refused (too large, bare line endings), so the session stays in step.
asio::awaitable<bool> Session::data() {
  reply(354, "", "End data with <CR><LF>.<CR><LF>");
  const SteadyTime deadline = after(cfg_.data_timeout);
  DataDecoder decoder(cfg_.max_message_bytes);
  tx_.data = received();
  for (;;) {
    const size_t used = decoder.feed(input(), tx_.data);
    in_.consume(used);
    if (decoder.done()) break;
    if (!co_await flush(deadline)) co_return false;
    const Read r = co_await read_some(deadline, true);
    if (r == Read::kOk) continue;
    co_await farewell(r == Read::kStopping ? Read::kClosed : r);
    co_return false;
  }
  in_.shrink_to_fit();  // back to command-sized reads
  if (decoder.bare_line_ending()) {
    reset_transaction();
    reply(550, "5.6.11", "Error: bare CR or LF in message content, use CRLF line endings");
    co_return true;
  }
  if (decoder.too_large()) {
    reset_transaction();
    reply(552, "5.3.4", "Error: message size exceeds fixed limit");
    co_return true;
  }
  co_await deliver();
  co_return true;
}

// BDAT (RFC 3030): the chunk is always read in full, whatever the answer,
// because its length is the only thing keeping the session in step.
asio::awaitable<bool> Session::bdat(const Command& c) {
  const bool take = cfg_.chunking && tx_.active && tx_.recipients() > 0;
  if (take && !tx_.bdat) {
    tx_.bdat = true;
    tx_.data = received();
  }
  const SteadyTime deadline = after(cfg_.data_timeout);
  uint64_t left = c.chunk_size;
  for (;;) {
    const std::string_view in = input();
    const size_t n = size_t(std::min<uint64_t>(left, in.size()));
    if (take && n > 0) {
      tx_.bdat_bytes += n;
      if (tx_.bdat_bytes <= cfg_.max_message_bytes) {
        tx_.data.append(in.data(), n);
        tx_.bdat_endings.feed(in.substr(0, n));
      }
    }
    in_.consume(n);
    left -= n;
    if (left == 0) break;
    if (!co_await flush(deadline)) co_return false;
    const Read r = co_await read_some(deadline, true);
    if (r == Read::kOk) continue;
    co_await farewell(r == Read::kStopping ? Read::kClosed : r);
    co_return false;
  }
  if (c.last) in_.shrink_to_fit();
  if (!cfg_.chunking) co_return protocol_error(502, "5.5.1", "Error: BDAT not available");
  if (!tx_.active) co_return protocol_error(503, "5.5.1", "Error: need MAIL command");
  if (tx_.recipients() == 0) co_return protocol_error(554, "5.5.1", "Error: no valid recipients");
  if (tx_.bdat_bytes > cfg_.max_message_bytes) {
    // The transaction is over: later chunks the client pipelined get 503.
    reset_transaction();
    reply(552, "5.3.4", "Error: message size exceeds fixed limit");
    co_return true;
  }
  if (!c.last) {
    reply(250, "2.0.0", "Ok: " + std::to_string(c.chunk_size) + " octets");
    co_return true;
  }
  if (tx_.bdat_endings.bare_line_ending()) {
    reset_transaction();
    reply(550, "5.6.11", "Error: bare CR or LF in message content, use CRLF line endings");
    co_return true;
  }
  co_await deliver();
  co_return true;
}

// Hands the message to the sink and answers the end of data with what it
// says. The transaction ends here whatever the answer. Relayed and inbound
// recipients go in one hand-over, so the client gets one answer for both
// (it cannot be told "stored for some recipients only" after the dot).
asio::awaitable<void> Session::deliver() {
  InjectedMessage m;
  m.tenant = std::move(tx_.tenant);
  m.mail_from = std::move(tx_.mail_from);
  m.rcpt_to = std::move(tx_.rcpt_to);
  m.inbound_rcpt = std::move(tx_.inbound_rcpt);
  m.data = std::move(tx_.data);
  m.client_ip = ip_;
  m.helo = helo_;
  m.auth_user = auth_user_;
  m.tls = tls_.has_value();
  m.smtputf8 = tx_.smtputf8;
  m.eight_bit = tx_.eight_bit;
  const size_t bytes = m.data.size();
  const size_t rcpts = m.rcpt_to.size();
  const size_t inbound = m.inbound_rcpt.size();
  const std::string tenant = m.tenant;
  reset_transaction();

  auto result = co_await await_inject(shared_->sink, std::move(m), cfg_.data_timeout);
  if (!result) {
    core::log::warn("smtp inject timed out", {{"client", ip_}, {"tenant", tenant}});
    reply(451, "4.3.0", "Error: timeout storing the message, try again later");
    co_return;
  }
  if (!*result) {
    const core::Error& e = result->error();
    if (e.code == core::Errc::kInvalidArgument) {
      core::log::info("smtp message refused", {{"client", ip_}, {"error", e.to_string()}});
      reply(550, "5.6.0", reply_text(e.message));
    } else {
      core::log::warn("smtp inject failed", {{"client", ip_}, {"error", e.to_string()}});
      reply(451, "4.3.0", "Error: temporary failure storing the message, try again later");
    }
    co_return;
  }
  const auto& ids = result->value();
  const std::string first = ids.empty() ? std::string() : ids.front().to_string();
  if (core::log::min_level() <= core::log::Level::kDebug) {
    core::log::debug("smtp message queued", {{"id", first},
                                             {"client", ip_},
                                             {"tenant", tenant},
                                             {"recipients", rcpts},
                                             {"inbound", inbound},
                                             {"bytes", bytes}});
  }
  reply(250, "2.0.0", ids.empty() ? std::string("Ok: queued") : "Ok: queued as " + first);
}

}  // namespace mta::server
