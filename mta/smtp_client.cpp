// mta/smtp_client.cpp: see smtp_client.h.
//
// One coroutine drives a session at a time. The stream is an SSL stream
// over a Beast tcp_stream from the start; before STARTTLS we read and write
// its next layer directly. Beast's tcp_stream carries the deadlines: each
// state sets expires_after() once and every read or write of that state
// counts against it, so a peer that trickles one byte a minute still hits
// the deadline of the state.
#include "mta/smtp_client.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <array>
#include <cstring>
#include <tuple>
#include <fmt/format.h>

namespace mta {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxBuffered = 64 * 1024;  // unparsed reply bytes we hold at most
constexpr size_t kWriteChunk = 256 * 1024;  // data_block_timeout applies per chunk

std::string endpoint_text(const tcp::endpoint& ep) {
  std::string a = ep.address().to_string();
  if (ep.address().is_v6()) a = "[" + a + "]";
  return fmt::format("{}:{}", a, ep.port());
}

bool needs_utf8(std::string_view s) noexcept { return has_8bit(s); }

}  // namespace

core::Reply local_reply(std::string enhanced, std::string text) {
  return core::Reply{0, std::move(enhanced), std::move(text)};
}

bool has_8bit(std::string_view s) noexcept {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

void dot_stuff(std::string_view data, std::string* out) {
  out->reserve(out->size() + data.size() + data.size() / 64 + 8);
  bool line_start = true;
  size_t i = 0;
  const size_t n = data.size();
  while (i < n) {
    if (line_start && data[i] == '.') out->push_back('.');
    // Copy up to the next CR or LF in one go.
    const char* p = data.data() + i;
    size_t left = n - i;
    const void* cr = std::memchr(p, '\r', left);
    const void* lf = std::memchr(p, '\n', left);
    size_t stop = left;
    if (cr) stop = static_cast<size_t>(static_cast<const char*>(cr) - p);
    if (lf) stop = std::min(stop, static_cast<size_t>(static_cast<const char*>(lf) - p));
    out->append(p, stop);
    i += stop;
    if (i >= n) {
      line_start = false;
      break;
    }
    // A line end: CRLF, or a bare CR or LF, each becomes one CRLF.
    if (data[i] == '\r' && i + 1 < n && data[i + 1] == '\n') {
      i += 2;
    } else {
      i += 1;
    }
    out->append("\r\n");
    line_start = true;
  }
  if (!line_start) out->append("\r\n");
  out->append(".\r\n");
}

class SmtpSession::Impl {
 public:
  Impl(asio::any_io_executor ex, const SessionOptions& opt)
      : options_(opt), cfg_(*opt.config), stream_(beast::tcp_stream(ex), ctx_for(opt)) {}

  static asio::ssl::context& ctx_for(const SessionOptions& opt) {
    if (opt.tls == core::TlsMode::kRequire && opt.verifying) return *opt.verifying;
    if (opt.opportunistic) return *opt.opportunistic;
    // A session that never does TLS still needs a context for the stream
    // type; one process-wide context that is never used for a handshake.
    static asio::ssl::context unused(asio::ssl::context::tls_client);
    return unused;
  }

  tcp::socket& socket() { return stream_.next_layer().socket(); }

  // --- I/O with deadlines -------------------------------------------------

  // Reads one reply within `timeout`. On failure the session is lost and
  // *fail describes it.
  asio::awaitable<bool> read_reply(Reply* out, core::Duration timeout, const char* state,
                                   core::Reply* fail) {
    stream_.next_layer().expires_after(timeout);
    for (;;) {
      size_t consumed = 0;
      std::string error;
      std::string_view pending(rbuf_.data() + rpos_, rbuf_.size() - rpos_);
      ParseState ps = parse_reply(pending, out, &consumed, &error);
      if (ps == ParseState::kComplete) {
        rpos_ += consumed;
        if (rpos_ == rbuf_.size()) {
          rbuf_.clear();
          rpos_ = 0;
        }
        co_return true;
      }
      if (ps == ParseState::kMalformed) {
        lost_ = true;
        *fail = local_reply("4.5.0", fmt::format("protocol error from {} {}: {}", info_.host, state, error));
        close();
        co_return false;
      }
      if (rpos_ > 0) {
        rbuf_.erase(0, rpos_);
        rpos_ = 0;
      }
      if (rbuf_.size() > kMaxBuffered) {
        lost_ = true;
        *fail = local_reply("4.5.0", fmt::format("reply from {} {} too long", info_.host, state));
        close();
        co_return false;
      }
      size_t old = rbuf_.size();
      rbuf_.resize(old + kReadChunk);
      auto buf = asio::buffer(rbuf_.data() + old, kReadChunk);
      boost::system::error_code ec;
      size_t n = 0;
      if (tls_) {
        std::tie(ec, n) = co_await stream_.async_read_some(buf, kTuple);
      } else {
        std::tie(ec, n) = co_await stream_.next_layer().async_read_some(buf, kTuple);
      }
      rbuf_.resize(old + n);
      if (ec) {
        lost_ = true;
        *fail = io_failure(ec, state);
        close();
        co_return false;
      }
    }
  }

  template <typename Buffers>
  asio::awaitable<bool> write(const Buffers& buffers, core::Duration timeout, const char* state,
                              core::Reply* fail) {
    stream_.next_layer().expires_after(timeout);
    boost::system::error_code ec;
    size_t n = 0;
    if (tls_) {
      std::tie(ec, n) = co_await asio::async_write(stream_, buffers, kTuple);
    } else {
      std::tie(ec, n) = co_await asio::async_write(stream_.next_layer(), buffers, kTuple);
    }
    (void)n;
    if (ec) {
      lost_ = true;
      *fail = io_failure(ec, state);
      close();
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<bool> write_data(std::string_view data, core::Duration timeout,
                                   core::Reply* fail) {
    while (!data.empty()) {
      size_t n = std::min(data.size(), kWriteChunk);
      if (!co_await write(asio::buffer(data.data(), n), timeout, "sending the message", fail))
        co_return false;
      data.remove_prefix(n);
    }
    co_return true;
  }

  core::Reply io_failure(const boost::system::error_code& ec, const char* state) const {
    if (ec == beast::error::timeout)
      return local_reply("4.4.2", fmt::format("timeout {} with {}[{}]", state, info_.host, info_.ip));
    return local_reply("4.4.2", fmt::format("connection with {}[{}] lost {}: {}", info_.host,
                                            info_.ip, state, ec.message()));
  }

  void close() noexcept {
    boost::system::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
    lost_ = true;
  }

  // --- opening ----------------------------------------------------------

  asio::awaitable<bool> connect(const Target& target, OpenFailure* failure) {
    info_.host = target.host;
    std::string errors;
    for (const tcp::endpoint& ep : target.endpoints) {
      boost::system::error_code ec;
      if (socket().is_open()) socket().close(ec);
      socket().open(ep.protocol(), ec);
      if (!ec && options_.source) {
        if (options_.source->is_v4() == ep.address().is_v4()) {
          socket().bind(tcp::endpoint(*options_.source, 0), ec);
        }
      }
      if (ec) {
        errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", endpoint_text(ep), ec.message());
        continue;
      }
      stream_.next_layer().expires_after(cfg_.connect_timeout);
      auto [cec] = co_await stream_.next_layer().async_connect(ep, kTuple);
      if (!cec) {
        info_.ip = ep.address().to_string();
        boost::system::error_code lec;
        auto local = socket().local_endpoint(lec);
        if (!lec) info_.source_ip = local.address().to_string();
        socket().set_option(tcp::no_delay(true), lec);
        co_return true;
      }
      errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", endpoint_text(ep),
                            cec == beast::error::timeout ? "timed out" : cec.message());
    }
    if (target.endpoints.empty()) errors = "no address";
    failure->reply = local_reply("4.4.1", fmt::format("connect to {} failed: {}", target.host, errors));
    co_return false;
  }

  asio::awaitable<bool> ehlo(OpenFailure* failure) {
    std::string cmd = fmt::format("EHLO {}\r\n", options_.ehlo_name);
    Reply r;
    if (!co_await write(asio::buffer(cmd), cfg_.ehlo_timeout, "sending EHLO", &failure->reply))
      co_return false;
    if (!co_await read_reply(&r, cfg_.ehlo_timeout, "after EHLO", &failure->reply)) co_return false;
    if (r.code == 250) {
      caps_ = parse_ehlo(r);
      co_return true;
    }
    if (r.code == 421 || r.klass() == 4) {
      failure->reply = r.to_core();
      co_return false;
    }
    // EHLO refused (500/502): an old server; HELO, no extensions.
    cmd = fmt::format("HELO {}\r\n", options_.ehlo_name);
    if (!co_await write(asio::buffer(cmd), cfg_.ehlo_timeout, "sending HELO", &failure->reply))
      co_return false;
    if (!co_await read_reply(&r, cfg_.ehlo_timeout, "after HELO", &failure->reply)) co_return false;
    if (r.code != 250) {
      failure->reply = r.to_core();
      failure->refused = r.klass() == 5;
      co_return false;
    }
    caps_ = Capabilities{};
    co_return true;
  }

  asio::awaitable<bool> starttls(const std::string& host, OpenFailure* failure) {
    static constexpr std::string_view kCmd = "STARTTLS\r\n";
    Reply r;
    if (!co_await write(asio::buffer(kCmd), cfg_.tls_timeout, "sending STARTTLS", &failure->reply))
      co_return false;
    if (!co_await read_reply(&r, cfg_.tls_timeout, "after STARTTLS", &failure->reply))
      co_return false;
    if (r.code != 220) {
      failure->reply = r.to_core();
      failure->tls_failed = true;
      co_return false;
    }
    if (rpos_ != rbuf_.size()) {
      // Bytes after the 220 were sent in plain text before the handshake:
      // an injection attempt (CVE-2011-0411 class). Never read them as TLS.
      failure->reply = local_reply("4.7.5", fmt::format("{} sent data after 220 to STARTTLS", host));
      close();
      co_return false;
    }
    rbuf_.clear();
    rpos_ = 0;
    SSL* ssl = stream_.native_handle();
    // SNI, and the name to verify when the context verifies.
    SSL_set_tlsext_host_name(ssl, host.c_str());
    if (options_.tls == core::TlsMode::kRequire) {
      // OpenSSL checks the name as part of chain verification, so a
      // mismatch fails like any bad certificate (a proper alert to the
      // peer, the reason in SSL_get_verify_result).
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl, host.c_str());
    }
    stream_.next_layer().expires_after(cfg_.tls_timeout);
    auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (ec) {
      failure->tls_failed = true;
      std::string why = ec == beast::error::timeout ? std::string("timed out") : ec.message();
      if (const long v = SSL_get_verify_result(ssl); v != X509_V_OK && ec != beast::error::timeout)
        why += fmt::format(" ({})", X509_verify_cert_error_string(v));
      failure->reply = local_reply("4.7.5", fmt::format("TLS handshake with {}[{}] failed: {}", host, info_.ip, why));
      close();
      co_return false;
    }
    tls_ = true;
    info_.tls_version = SSL_get_version(ssl);
    if (const char* c = SSL_get_cipher_name(ssl)) info_.tls_cipher = c;
    co_return true;
  }

  asio::awaitable<bool> open(const Target& target, bool allow_tls, OpenFailure* failure) {
    if (!co_await connect(target, failure)) co_return false;
    Reply r;
    if (!co_await read_reply(&r, cfg_.greeting_timeout, "waiting for the greeting", &failure->reply))
      co_return false;
    if (r.code != 220) {
      failure->reply = r.to_core();
      failure->refused = r.klass() == 5;
      co_await quit();
      co_return false;
    }
    if (!co_await ehlo(failure)) {
      if (!lost_) co_await quit();
      co_return false;
    }
    const core::TlsMode mode = options_.tls;
    if (mode == core::TlsMode::kRequire && !caps_.starttls) {
      failure->reply = local_reply("4.7.10", fmt::format("{} does not offer STARTTLS and TLS is required", target.host));
      co_await quit();
      co_return false;
    }
    if (mode != core::TlsMode::kDisabled && allow_tls && caps_.starttls) {
      if (!co_await starttls(target.host, failure)) {
        if (!lost_) co_await quit();
        co_return false;
      }
      // RFC 3207: forget what the server said before TLS, ask again.
      caps_ = Capabilities{};
      if (!co_await ehlo(failure)) {
        if (!lost_) co_await quit();
        co_return false;
      }
    }
    co_return true;
  }

  // --- transactions -------------------------------------------------------

  std::string mail_command(const Transaction& t, size_t size) const {
    std::string cmd = fmt::format("MAIL FROM:<{}>", t.mail_from);
    if (caps_.size) cmd += fmt::format(" SIZE={}", size);
    if (t.eight_bit && caps_.eight_bit_mime) cmd += " BODY=8BITMIME";
    if (t.smtputf8 && caps_.smtputf8) cmd += " SMTPUTF8";
    if (caps_.dsn) cmd += dsn_envid_param(t.envid);
    cmd += "\r\n";
    return cmd;
  }

  // ORCPT goes with every RCPT to a DSN peer, envid or not: a DSN for the
  // recipient then names the address we sent to, whatever the peer
  // rewrote it to.
  void append_rcpt(std::string_view rcpt, std::string* out) const {
    *out += "RCPT TO:<";
    *out += rcpt;
    *out += '>';
    if (caps_.dsn) *out += dsn_orcpt_param(rcpt);
    *out += "\r\n";
  }

  void fail_rest(TransactionResult& res, size_t from, const core::Reply& reply, Stage stage) {
    for (size_t i = from; i < res.recipients.size(); ++i) res.recipients[i] = {reply, stage};
  }

  // A transaction whose content waits for the next transaction's commands
  // (pipelining across messages). Deciding it needs only the replies so
  // far and the reply to its final dot.
  struct Staged {
    TransactionResult res;  // recipients refused at MAIL or RCPT are set
    std::vector<Reply> rcpt;
    Reply mail;
  };

  bool can_stage() const noexcept {
    return cfg_.pipeline_messages && caps_.pipelining && !caps_.chunking;
  }

  // Decides the staged transaction with the reply to its final dot. No
  // RSET whatever the reply: the end of the content ends the transaction
  // (RFC 5321 §4.1.1.4), and the next MAIL may already be on its way.
  TransactionResult finish_staged(const Reply& end) {
    Staged s = std::move(*staged_);
    staged_.reset();
    TransactionResult res = std::move(s.res);
    for (size_t i = 0; i < res.recipients.size(); ++i) {
      if (s.mail.code == 250 && (s.rcpt[i].code == 250 || s.rcpt[i].code == 251))
        res.recipients[i] = {end.to_core(), Stage::kDataEnd};
    }
    if (end.code == 421) {
      res.connection_lost = true;
      close();
    } else if (end.klass() == 2) {
      ++transactions_;
    }
    return res;
  }

  // The staged transaction when the connection failed before its reply.
  TransactionResult fail_staged(const core::Reply& fail) {
    Staged s = std::move(*staged_);
    staged_.reset();
    TransactionResult res = std::move(s.res);
    fail_accepted(res, s.rcpt, s.mail, fail, Stage::kConnection);
    res.connection_lost = true;
    return res;
  }

  asio::awaitable<std::optional<TransactionResult>> flush_staged() {
    if (!staged_) co_return std::nullopt;
    core::Reply fail;
    if (lost_) co_return fail_staged(local_reply("4.4.2", "session already closed"));
    Reply end;
    if (!co_await write_data(stuffed_, cfg_.data_block_timeout, &fail) ||
        !co_await read_reply(&end, cfg_.data_done_timeout, "after the final dot", &fail)) {
      co_return fail_staged(fail);
    }
    co_return finish_staged(end);
  }

  asio::awaitable<TransactionResult> send(const Transaction& t) {
    std::optional<TransactionResult> previous;  // none: nothing is staged (REQUIRES)
    std::optional<TransactionResult> res = co_await transact(t, false, &previous);
    co_return std::move(*res);
  }

  // One transaction (see SmtpSession::send_pipelined): its result, or
  // nullopt when `may_stage` let its content stay staged. A transaction
  // staged before is written and decided first, into *previous.
  asio::awaitable<std::optional<TransactionResult>> transact(
      const Transaction& t, bool may_stage, std::optional<TransactionResult>* previous) {
    TransactionResult res;
    const size_t n = t.rcpt_to.size();
    res.recipients.resize(n);
    if (lost_) {
      if (staged_) *previous = fail_staged(local_reply("4.4.2", "session already closed"));
      fail_rest(res, 0, local_reply("4.4.2", "session already closed"), Stage::kConnection);
      res.connection_lost = true;
      co_return res;
    }
    bool utf8 = t.smtputf8 || needs_utf8(t.mail_from);
    for (const auto& r : t.rcpt_to) utf8 = utf8 || needs_utf8(r);
    if (utf8 && !caps_.smtputf8) {
      fail_rest(res, 0, core::Reply{553, "5.6.7", fmt::format("{} does not support SMTPUTF8, which this message needs", info_.host)}, Stage::kMail);
      co_return res;
    }
    Transaction tx = t;
    tx.smtputf8 = utf8;
    const bool chunking = caps_.chunking;
    // The size SIZE= announces: what goes on the wire for the content.
    size_t wire_size = t.data.size();
    if (caps_.size && caps_.max_size && wire_size > caps_.max_size) {
      fail_rest(res, 0, core::Reply{552, "5.3.4", fmt::format("message of {} octets exceeds the {} octet limit of {}", wire_size, caps_.max_size, info_.host)}, Stage::kMail);
      co_return res;
    }

    const bool hold = may_stage && can_stage();
    if (staged_ && !hold) {
      // Nothing to pipeline the staged content with: send it on its own.
      *previous = co_await flush_staged();
      if (lost_) {
        fail_rest(res, 0, local_reply("4.4.2", "session already closed"), Stage::kConnection);
        res.connection_lost = true;
        co_return res;
      }
    }

    // Commands of one pipelined group: MAIL, RCPT..., DATA or BDAT.
    cmd_.clear();
    cmd_ += mail_command(tx, wire_size);
    const bool pipelined = caps_.pipelining;
    core::Reply fail;
    Reply r;
    std::vector<Reply> rcpt(n);
    Reply mail;
    if (pipelined) {
      for (const auto& a : tx.rcpt_to) append_rcpt(a, &cmd_);
      if (chunking) {
        cmd_ += fmt::format("BDAT {} LAST\r\n", t.data.size());
        std::array<asio::const_buffer, 2> bufs{asio::buffer(cmd_), asio::buffer(t.data.data(), t.data.size())};
        if (!co_await write(bufs, cfg_.data_block_timeout, "sending the transaction", &fail)) {
          fail_rest(res, 0, fail, Stage::kConnection);
          res.connection_lost = true;
          co_return res;
        }
      } else {
        cmd_ += "DATA\r\n";
        bool sent = false;
        if (!staged_) {
          sent = co_await write(asio::buffer(cmd_), cfg_.mail_timeout, "sending MAIL", &fail);
        } else if (stuffed_.size() <= kWriteChunk) {
          // The staged content is the first "command" of this group.
          std::array<asio::const_buffer, 2> bufs{asio::buffer(stuffed_), asio::buffer(cmd_)};
          sent = co_await write(bufs, cfg_.data_block_timeout, "sending the message", &fail);
        } else {
          sent = co_await write_data(stuffed_, cfg_.data_block_timeout, &fail) &&
                 co_await write(asio::buffer(cmd_), cfg_.mail_timeout, "sending MAIL", &fail);
        }
        if (sent && staged_) {
          Reply end;
          if (!co_await read_reply(&end, cfg_.data_done_timeout, "after the final dot", &fail)) {
            sent = false;
          } else {
            *previous = finish_staged(end);
            if (end.code == 421) {
              // The peer closed after the staged message: this one was
              // never looked at.
              fail_rest(res, 0, end.to_core(), Stage::kConnection);
              res.connection_lost = true;
              co_return res;
            }
          }
        }
        if (!sent) {
          if (staged_) *previous = fail_staged(fail);
          fail_rest(res, 0, fail, Stage::kConnection);
          res.connection_lost = true;
          co_return res;
        }
      }
      if (!co_await read_reply(&mail, cfg_.mail_timeout, "after MAIL", &fail)) {
        fail_rest(res, 0, fail, Stage::kConnection);
        res.connection_lost = true;
        co_return res;
      }
      for (size_t i = 0; i < n; ++i) {
        if (!co_await read_reply(&rcpt[i], cfg_.rcpt_timeout, "after RCPT", &fail)) {
          fail_rest(res, 0, fail, Stage::kConnection);
          res.connection_lost = true;
          co_return res;
        }
      }
    } else {
      if (!co_await write(asio::buffer(cmd_), cfg_.mail_timeout, "sending MAIL", &fail) ||
          !co_await read_reply(&mail, cfg_.mail_timeout, "after MAIL", &fail)) {
        fail_rest(res, 0, fail, Stage::kConnection);
        res.connection_lost = true;
        co_return res;
      }
      if (mail.code != 250) {
        fail_rest(res, 0, mail.to_core(), Stage::kMail);
        co_await after_failed(mail, res);
        co_return res;
      }
      for (size_t i = 0; i < n; ++i) {
        cmd_.clear();
        append_rcpt(tx.rcpt_to[i], &cmd_);
        if (!co_await write(asio::buffer(cmd_), cfg_.rcpt_timeout, "sending RCPT", &fail) ||
            !co_await read_reply(&rcpt[i], cfg_.rcpt_timeout, "after RCPT", &fail)) {
          fail_rest(res, 0, fail, Stage::kConnection);
          res.connection_lost = true;
          co_return res;
        }
        if (rcpt[i].code == 421) break;
      }
    }

    if (mail.code == 421) {
      fail_rest(res, 0, mail.to_core(), Stage::kConnection);
      res.connection_lost = true;
      close();
      co_return res;
    }
    for (size_t i = 0; i < n; ++i) {
      if (rcpt[i].code != 421) continue;
      // The server is closing: nobody in this transaction is decided.
      for (size_t j = 0; j < n; ++j) {
        if (rcpt[j].code == 0 || rcpt[j].code == 250 || rcpt[j].code == 251 || j == i)
          res.recipients[j] = {rcpt[i].to_core(), Stage::kConnection};
        else
          res.recipients[j] = {rcpt[j].to_core(), Stage::kRcpt};
      }
      res.connection_lost = true;
      close();
      co_return res;
    }
    size_t accepted = 0;
    bool content_sent = false;
    for (size_t i = 0; i < n; ++i) {
      if (mail.code != 250) {
        res.recipients[i] = {mail.to_core(), Stage::kMail};
      } else if (rcpt[i].code != 250 && rcpt[i].code != 251) {
        res.recipients[i] = {rcpt[i].to_core(), Stage::kRcpt};
      } else {
        ++accepted;
      }
    }

    // The content.
    Reply data_reply;
    if (pipelined) {
      // The DATA/BDAT reply was pipelined: read it now.
      const core::Duration t1 = chunking ? cfg_.data_done_timeout : cfg_.data_timeout;
      if (!co_await read_reply(&data_reply, t1, chunking ? "after BDAT" : "after DATA", &fail)) {
        fail_accepted(res, rcpt, mail, fail, Stage::kConnection);
        res.connection_lost = true;
        co_return res;
      }
      content_sent = chunking;
      if (!chunking && data_reply.code == 354) {
        if (accepted == 0 || mail.code != 250) {
          // A server that says 354 with nobody to deliver to: send an empty
          // message end and discard the answer (RFC 2920 §3.1).
          static constexpr std::string_view kDot = ".\r\n";
          Reply ignored;
          if (!co_await write(asio::buffer(kDot), cfg_.data_block_timeout, "ending DATA", &fail) ||
              !co_await read_reply(&ignored, cfg_.data_done_timeout, "after the final dot", &fail)) {
            res.connection_lost = true;
          }
          co_return res;
        }
        if (hold) {
          // Held back until the next transaction's commands (or flush).
          stuffed_.clear();
          dot_stuff(t.data, &stuffed_);
          staged_ = Staged{std::move(res), std::move(rcpt), mail};
          co_return std::nullopt;
        }
        if (!co_await send_content(t.data, &data_reply, &fail)) {
          fail_accepted(res, rcpt, mail, fail, Stage::kConnection);
          res.connection_lost = true;
          co_return res;
        }
        content_sent = true;
      }
    } else {
      if (accepted == 0 || mail.code != 250) {
        co_await after_failed(mail, res);
        co_return res;
      }
      if (chunking) {
        cmd_ = fmt::format("BDAT {} LAST\r\n", t.data.size());
        std::array<asio::const_buffer, 2> bufs{asio::buffer(cmd_), asio::buffer(t.data.data(), t.data.size())};
        if (!co_await write(bufs, cfg_.data_block_timeout, "sending BDAT", &fail) ||
            !co_await read_reply(&data_reply, cfg_.data_done_timeout, "after BDAT", &fail)) {
          fail_accepted(res, rcpt, mail, fail, Stage::kConnection);
          res.connection_lost = true;
          co_return res;
        }
        content_sent = true;
      } else {
        static constexpr std::string_view kData = "DATA\r\n";
        if (!co_await write(asio::buffer(kData), cfg_.data_timeout, "sending DATA", &fail) ||
            !co_await read_reply(&data_reply, cfg_.data_timeout, "after DATA", &fail)) {
          fail_accepted(res, rcpt, mail, fail, Stage::kConnection);
          res.connection_lost = true;
          co_return res;
        }
        if (data_reply.code == 354) {
          if (!co_await send_content(t.data, &data_reply, &fail)) {
            fail_accepted(res, rcpt, mail, fail, Stage::kConnection);
            res.connection_lost = true;
            co_return res;
          }
          content_sent = true;
        }
      }
    }
    if (accepted == 0 || mail.code != 250) {
      co_await after_failed(mail, res);
      co_return res;
    }
    // Only a reply to the end of the content decides the message; a
    // refused DATA command is about the transaction.
    const Stage stage = content_sent ? Stage::kDataEnd : Stage::kData;
    for (size_t i = 0; i < n; ++i) {
      if (rcpt[i].code == 250 || rcpt[i].code == 251) res.recipients[i] = {data_reply.to_core(), stage};
    }
    if (data_reply.code == 421) {
      res.connection_lost = true;
      close();
    } else if (data_reply.klass() == 2) {
      ++transactions_;
    } else {
      co_await reset(res);
    }
    co_return res;
  }

  // Recipients accepted at RCPT whose fate the content phase would have
  // decided, when that phase failed on the connection.
  void fail_accepted(TransactionResult& res, const std::vector<Reply>& rcpt, const Reply& mail,
                     const core::Reply& reply, Stage stage) {
    for (size_t i = 0; i < res.recipients.size(); ++i) {
      if (mail.code == 250 && (rcpt[i].code == 250 || rcpt[i].code == 251))
        res.recipients[i] = {reply, stage};
    }
  }

  asio::awaitable<bool> send_content(std::string_view data, Reply* reply, core::Reply* fail) {
    stuffed_.clear();
    dot_stuff(data, &stuffed_);
    if (!co_await write_data(stuffed_, cfg_.data_block_timeout, fail)) co_return false;
    const bool ok = co_await read_reply(reply, cfg_.data_done_timeout, "after the final dot", fail);
    co_return ok;
  }

  asio::awaitable<void> after_failed(const Reply& mail, TransactionResult& res) {
    if (mail.code == 421) {
      res.connection_lost = true;
      close();
      co_return;
    }
    co_await reset(res);
  }

  asio::awaitable<void> reset(TransactionResult& res) {
    if (lost_) {
      res.connection_lost = true;
      co_return;
    }
    static constexpr std::string_view kRset = "RSET\r\n";
    core::Reply fail;
    Reply r;
    if (!co_await write(asio::buffer(kRset), cfg_.rset_timeout, "sending RSET", &fail) ||
        !co_await read_reply(&r, cfg_.rset_timeout, "after RSET", &fail) || r.code != 250) {
      close();
      res.connection_lost = true;
    }
  }

  asio::awaitable<void> quit() {
    if (lost_) co_return;
    if (staged_) {
      // The peer waits for content nobody will send (a caller's bug):
      // leave without QUIT so that it discards the transaction.
      close();
      co_return;
    }
    static constexpr std::string_view kQuit = "QUIT\r\n";
    core::Reply fail;
    Reply r;
    if (co_await write(asio::buffer(kQuit), cfg_.quit_timeout, "sending QUIT", &fail)) {
      co_await read_reply(&r, cfg_.quit_timeout, "after QUIT", &fail);
    }
    // No TLS close_notify round trip: the peer closes after QUIT anyway,
    // and waiting for it would only add a deadline to every session's end.
    close();
  }

  const SessionOptions options_;
  const core::SmtpConfig& cfg_;
  asio::ssl::stream<beast::tcp_stream> stream_;
  bool tls_ = false;
  bool lost_ = false;
  Capabilities caps_;
  SessionInfo info_;
  uint32_t transactions_ = 0;
  std::string rbuf_;
  size_t rpos_ = 0;
  std::string cmd_;
  std::string stuffed_;  // the content being sent, or the staged content
  std::optional<Staged> staged_;
};

SmtpSession::SmtpSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SmtpSession::~SmtpSession() = default;

asio::awaitable<SmtpSession::Opened> SmtpSession::open(asio::any_io_executor executor,
                                                       const Target& target,
                                                       const SessionOptions& options,
                                                       bool allow_tls) {
  auto impl = std::make_unique<Impl>(executor, options);
  Opened out;
  if (co_await impl->open(target, allow_tls, &out.failure)) {
    out.session.reset(new SmtpSession(std::move(impl)));
  } else {
    impl->close();
  }
  co_return out;
}

asio::awaitable<TransactionResult> SmtpSession::send(const Transaction& t) { return impl_->send(t); }
asio::awaitable<SmtpSession::Sent> SmtpSession::send_pipelined(const Transaction& t) {
  Sent out;
  out.current = co_await impl_->transact(t, true, &out.previous);
  co_return out;
}
asio::awaitable<std::optional<TransactionResult>> SmtpSession::flush() {
  return impl_->flush_staged();
}
bool SmtpSession::staged() const noexcept { return impl_->staged_.has_value(); }
asio::awaitable<void> SmtpSession::quit() { return impl_->quit(); }
void SmtpSession::close() noexcept { impl_->close(); }
bool SmtpSession::usable() const noexcept { return !impl_->lost_; }
const Capabilities& SmtpSession::capabilities() const noexcept { return impl_->caps_; }
const SessionInfo& SmtpSession::info() const noexcept { return impl_->info_; }
uint32_t SmtpSession::transactions() const noexcept { return impl_->transactions_; }

}  // namespace mta
