// tests/smpp/sms_smpp_itest.cpp: SmppTransport against tests/fakes/fake_smsc.py
// on 127.0.0.1 — receipts, throttling, permanent and transient answers, a
// mid-window disconnect with reconnect, the window, UDH reassembly, enquire
// links and unbind, as the fake counted them in its stats file.
//
// Each test starts its own fake (stopped by PID in Peer's destructor) and
// runs the transport on an io_context thread. Every wait is bounded.
#include "transports/smpp/sms_smpp.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <set>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/mta/peers.h"

namespace transports::smpp {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// The fake SMSC: started with a script; its stats file read on demand.
class Fake {
 public:
  ~Fake() {
    peer_.stop();
    if (!dir_.empty()) {
      std::remove(script_.c_str());
      std::remove(stats_.c_str());
      rmdir(dir_.c_str());
    }
  }

  bool start(const std::string& script_json, std::vector<std::string> extra = {}) {
    char tmpl[] = "/tmp/vestnik-smsc-XXXXXX";
    if (!mkdtemp(tmpl)) return false;
    dir_ = tmpl;
    script_ = dir_ + "/script.json";
    stats_ = dir_ + "/stats.json";
    std::ofstream(script_) << script_json;
    std::vector<std::string> argv = {"python3", VESTNIK_FAKE_SMSC, "--script", script_, "--stats", stats_,
                                     "--system-id", "vestnik", "--password", "secret"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string rest, error;
    if (!peer_.start(argv, "READY ", 10s, &rest, &error)) {
      ADD_FAILURE() << "fake_smsc.py: " << error << "\n" << peer_.log_tail();
      return false;
    }
    port_ = static_cast<uint16_t>(std::stoi(rest));
    return true;
  }

  uint16_t port() const { return port_; }

  json::object stats() const {
    std::ifstream in(stats_);
    std::stringstream ss;
    ss << in.rdbuf();
    boost::system::error_code ec;
    json::value v = json::parse(ss.str(), ec);
    return !ec && v.is_object() ? v.as_object() : json::object{};
  }
  int64_t stat(const char* key) const {
    auto s = stats();
    auto* v = s.if_contains(key);
    return v && v->is_int64() ? v->as_int64() : -1;
  }
  // Polls the stats until `pred` holds, at most `timeout`.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds timeout = 10s) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred(stats())) return true;
      std::this_thread::sleep_for(20ms);
    }
    return pred(stats());
  }
  std::string log_tail() const { return peer_.log_tail(); }

 private:
  testing_support::Peer peer_;
  std::string dir_, script_, stats_;
  uint16_t port_ = 0;
};

// The transport on its own io_context thread, with receipts collected.
class Harness {
 public:
  Harness() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~Harness() {
    if (transport_) stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  void open(SmppOptions o) {
    auto t = SmppTransport::create(io_.get_executor(), std::move(o), [this](providers::Receipt r) {
      std::lock_guard lock(mu_);
      receipts_.push_back(std::move(r));
      cv_.notify_all();
    });
    ASSERT_TRUE(t) << t.error().to_string();
    transport_ = *t;
  }

  bool stop() {
    auto done = std::make_shared<std::promise<void>>();
    transport_->stop([done] { done->set_value(); });
    const bool ok = done->get_future().wait_for(10s) == std::future_status::ready;
    return ok;
  }

  // Sends one batch of (phone, text) and waits (bounded) for its outcomes.
  std::vector<Outcome> send(const std::vector<std::pair<std::string, std::string>>& msgs,
                            std::chrono::seconds limit = 30s) {
    records_.emplace_back(msgs.size());
    rendered_.emplace_back(msgs.size());
    auto& recs = records_.back();
    auto& rend = rendered_.back();
    std::vector<Delivery> batch;
    for (size_t i = 0; i < msgs.size(); ++i) {
      std::array<uint8_t, core::Id::kBytes> bytes{};
      const uint64_t n = ++counter_;
      for (int b = 0; b < 8; ++b) bytes[15 - b] = static_cast<uint8_t>(n >> (8 * b));
      recs[i].id = core::Id(bytes);
      recs[i].request.channels = {core::Channel::kSms};
      recs[i].request.to.phone = msgs[i].first;
      rend[i].channel = core::Channel::kSms;
      rend[i].text = msgs[i].second;
      Delivery d;
      d.record = &recs[i];
      d.rendered = &rend[i];
      batch.push_back(d);
    }
    auto p = std::make_shared<std::promise<std::vector<Outcome>>>();
    auto f = p->get_future();
    transport_->send(std::move(batch), [p](std::vector<Outcome> o) { p->set_value(std::move(o)); });
    if (f.wait_for(limit) != std::future_status::ready) {
      ADD_FAILURE() << "no outcomes within " << limit.count() << " s";
      return {};
    }
    return f.get();
  }

  // Waits (bounded) until `n` receipts arrived; returns them all.
  std::vector<providers::Receipt> receipts(size_t n, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, limit, [&] { return receipts_.size() >= n; });
    return receipts_;
  }

  SmppTransport& transport() { return *transport_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::shared_ptr<SmppTransport> transport_;
  std::deque<std::vector<core::MessageRecord>> records_;
  std::deque<std::vector<templating::Rendered>> rendered_;
  uint64_t counter_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<providers::Receipt> receipts_;
};

SmppOptions options(uint16_t port) {
  SmppOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.system_id = "vestnik";
  o.password = "secret";
  o.source_addr = "Vestnik";
  o.window = 10;
  o.tps = 200;
  o.connect_timeout = 3s;
  o.bind_timeout = 3s;
  o.response_timeout = 3s;
  o.write_timeout = 3s;
  o.reconnect_min = 100ms;
  o.reconnect_max = 1s;
  o.throttle_pause = 100ms;
  o.throttle_pause_max = 400ms;
  o.queue_timeout = 10s;
  return o;
}

const char* kOkScript = R"({"default": {"action": "ok", "dlr": "DELIVRD", "dlr_delay_ms": 20}})";

TEST(SmppTransportIT, DeliveredWithReceiptsAndSegments) {
  Fake fake;
  ASSERT_TRUE(fake.start(kOkScript, {"--hex-ids", "--enquire-interval", "0.2", "--probe-unknown"}));
  Harness h;
  SmppOptions o = options(fake.port());
  o.enquire_link_interval = 200ms;
  h.open(o);

  const std::string long_gsm = repeat("a", 161);  // 2 parts
  const std::string long_ucs2 = repeat("ж", 135);  // 3 parts
  auto out = h.send({{"+380500000001", "Hello"}, {"+380500000002", long_gsm}, {"+380500000003", long_ucs2}});
  ASSERT_EQ(out.size(), 3u);
  for (const Outcome& o2 : out) {
    EXPECT_EQ(o2.kind, OutcomeKind::kDelivered) << o2.reply.text;
    EXPECT_EQ(o2.reply.code, 250);
    ASSERT_TRUE(o2.peer);
    EXPECT_EQ(o2.peer->ip, "127.0.0.1");
  }
  // provider_ref: the parts' ids (hex, as the fake gives them) joined by ','.
  const auto ref_of = [](const Outcome& o2) { return o2.reply.text.substr(std::string("sms accepted ").size()); };
  const std::string ref1 = ref_of(out[1]), ref2 = ref_of(out[2]);
  EXPECT_EQ(std::count(ref1.begin(), ref1.end(), ','), 1) << ref1;
  EXPECT_EQ(std::count(ref2.begin(), ref2.end(), ','), 2) << ref2;

  // One receipt per message, once every part is delivered; the DLRs carry
  // decimal ids, matched to the hex ones.
  auto rs = h.receipts(3);
  ASSERT_EQ(rs.size(), 3u);
  std::set<std::string> refs;
  for (const auto& r : rs) {
    EXPECT_EQ(r.kind, providers::ReceiptKind::kDelivered);
    EXPECT_EQ(r.channel, core::Channel::kSms);
    EXPECT_EQ(r.recipient.substr(0, 4), "+380");
    refs.insert(r.provider_ref);
  }
  EXPECT_EQ(refs, (std::set<std::string>{ref_of(out[0]), ref_of(out[1]), ref_of(out[2])}));

  // The fake reassembled the parts.
  ASSERT_TRUE(fake.wait_for([](const json::object& s) {
    auto* m = s.if_contains("messages");
    return m && m->as_array().size() == 3;
  }));
  std::map<std::string, int64_t> segments;
  std::map<std::string, std::string> texts;
  const json::object stats = fake.stats();
  for (const auto& m : stats.at("messages").as_array()) {
    segments[std::string(m.at("dest").as_string())] = m.at("segments").as_int64();
    texts[std::string(m.at("dest").as_string())] = std::string(m.at("text").as_string());
  }
  EXPECT_EQ(segments["380500000001"], 1);
  EXPECT_EQ(segments["380500000002"], 2);
  EXPECT_EQ(segments["380500000003"], 3);
  EXPECT_EQ(texts["380500000002"], long_gsm);
  EXPECT_EQ(texts["380500000003"], long_ucs2);
  EXPECT_EQ(fake.stat("submits"), 6);
  // Every DLR answered (the answer may trail the receipt we were given).
  EXPECT_TRUE(fake.wait_for([](const json::object& s) { return s.at("deliver_sm_resps").as_int64() == 6; }));

  // Both sides' enquire_links are answered.
  EXPECT_TRUE(fake.wait_for([](const json::object& s) {
    return s.at("enquire_links_received").as_int64() >= 2 && s.at("enquire_link_resps_received").as_int64() >= 2;
  })) << json::serialize(fake.stats());

  // An unknown command gets generic_nack.
  EXPECT_TRUE(fake.wait_for([](const json::object& s) { return s.at("generic_nacks_received").as_int64() == 1; }));

  // Stop unbinds.
  ASSERT_TRUE(h.stop());
  EXPECT_TRUE(fake.wait_for([](const json::object& s) { return s.at("unbinds").as_int64() == 1; }));
}

TEST(SmppTransportIT, WindowNeverExceeded) {
  Fake fake;
  ASSERT_TRUE(fake.start(R"({"default": {"action": "ok", "dlr": null}})",
                         {"--window", "4", "--resp-delay-ms", "50"}));
  Harness h;
  SmppOptions o = options(fake.port());
  o.window = 4;
  h.open(o);
  std::vector<std::pair<std::string, std::string>> msgs;
  for (int i = 0; i < 24; ++i) msgs.emplace_back("+38050000" + std::to_string(1000 + i), "window " + std::to_string(i));
  auto out = h.send(msgs);
  ASSERT_EQ(out.size(), msgs.size());
  for (const Outcome& x : out) EXPECT_EQ(x.kind, OutcomeKind::kDelivered) << x.reply.text;
  EXPECT_EQ(fake.stat("max_window"), 4);  // filled, never exceeded
  EXPECT_EQ(fake.stat("window_violations"), 0);
  EXPECT_EQ(h.transport().stats().max_outstanding.load(), 4u);
}

TEST(SmppTransportIT, ThrottledSlowsDownThenSucceeds) {
  Fake fake;
  ASSERT_TRUE(fake.start(R"({"default": {"action": "ok", "dlr": null}})", {"--tps", "10"}));
  Harness h;
  SmppOptions o = options(fake.port());
  o.tps = 100;  // ten times what the fake allows
  o.throttle_retries = 20;
  h.open(o);
  std::vector<std::pair<std::string, std::string>> msgs;
  for (int i = 0; i < 30; ++i) msgs.emplace_back("+38050000" + std::to_string(2000 + i), "tps " + std::to_string(i));
  auto out = h.send(msgs, 60s);
  ASSERT_EQ(out.size(), msgs.size());
  for (const Outcome& x : out) EXPECT_EQ(x.kind, OutcomeKind::kDelivered) << x.reply.text;
  const int64_t throttled = fake.stat("throttled");
  EXPECT_GT(throttled, 0);
  EXPECT_GT(h.transport().stats().throttled.load(), 0u);
  EXPECT_EQ(fake.stat("submits") - throttled, 30);
  // It slowed down instead of hammering: at 100/s for the ~2 s the fake
  // needs for 30 at 10/s it would have been refused ~170 times.
  RecordProperty("throttled", static_cast<int>(throttled));
  EXPECT_LT(throttled, 60);
}

TEST(SmppTransportIT, TpsCapPacesSubmits) {
  Fake fake;
  ASSERT_TRUE(fake.start(R"({"default": {"action": "ok", "dlr": null}})", {"--tps", "25"}));
  Harness h;
  SmppOptions o = options(fake.port());
  o.tps = 20;
  h.open(o);
  std::vector<std::pair<std::string, std::string>> msgs;
  for (int i = 0; i < 30; ++i) msgs.emplace_back("+38050000" + std::to_string(3000 + i), "paced " + std::to_string(i));
  auto out = h.send(msgs);
  ASSERT_EQ(out.size(), msgs.size());
  for (const Outcome& x : out) EXPECT_EQ(x.kind, OutcomeKind::kDelivered) << x.reply.text;
  // The peer is the clock: the fake refuses (and counts) every submit above
  // 25 in any second, so none refused means the 30 were paced, not sent in
  // one burst (unpaced, 30 submits on loopback take milliseconds).
  EXPECT_EQ(fake.stat("throttled"), 0);
}

TEST(SmppTransportIT, ThrottledWithoutRetriesIsTransientThenSucceeds) {
  Fake fake;
  ASSERT_TRUE(fake.start(R"({"destinations": {"380500000009": {"action": "throttle", "times": 1, "dlr": null}}})"));
  Harness h;
  SmppOptions o = options(fake.port());
  o.throttle_retries = 0;
  h.open(o);
  auto first = h.send({{"+380500000009", "hi"}});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].kind, OutcomeKind::kTransient);
  EXPECT_EQ(first[0].reply.code, 451);
  EXPECT_EQ(first[0].reply.enhanced, "4.7.0");
  EXPECT_EQ(first[0].reply.text, "smpp status 0x58 ESME_RTHROTTLED");
  EXPECT_FALSE(first[0].blames_message);
  auto again = h.send({{"+380500000009", "hi"}});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].kind, OutcomeKind::kDelivered) << again[0].reply.text;
}

TEST(SmppTransportIT, InvalidDestinationIsPermanent) {
  Fake fake;
  ASSERT_TRUE(fake.start(R"({"destinations": {"380500000004": {"action": "invalid_dest"}}})"));
  Harness h;
  h.open(options(fake.port()));
  auto out = h.send({{"+380500000004", "hi"}, {"not-a-phone", "hi"}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, OutcomeKind::kPermanent);
  EXPECT_EQ(out[0].reply.code, 550);
  EXPECT_EQ(out[0].reply.enhanced, "5.1.1");
  EXPECT_EQ(out[0].reply.text, "smpp status 0x0B ESME_RINVDSTADR");
  EXPECT_EQ(out[1].kind, OutcomeKind::kPermanent);  // refused before any I/O
}

TEST(SmppTransportIT, FailedReceipts) {
  Fake fake;
  ASSERT_TRUE(fake.start(R"({"destinations": {
      "380500000005": {"action": "ok", "dlr": "UNDELIV", "err": "001"},
      "380500000006": {"action": "ok", "dlr": "EXPIRED", "dlr_tlvs": false}}})"));
  Harness h;
  h.open(options(fake.port()));
  auto out = h.send({{"+380500000005", "a"}, {"+380500000006", "b"}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, OutcomeKind::kDelivered);
  EXPECT_EQ(out[1].kind, OutcomeKind::kDelivered);
  auto rs = h.receipts(2);
  ASSERT_EQ(rs.size(), 2u);
  for (const auto& r : rs) {
    EXPECT_EQ(r.kind, providers::ReceiptKind::kFailed);
    if (r.recipient == "+380500000005") {
      EXPECT_EQ(r.failure, providers::FailureClass::kRecipient);
      EXPECT_EQ(r.reply.code, 550);
      EXPECT_EQ(r.reply.text, "smpp dlr UNDELIV err:1");  // the TLV's code wins
    } else {
      EXPECT_EQ(r.recipient, "+380500000006");
      EXPECT_EQ(r.failure, providers::FailureClass::kRetry);  // text-only receipt
      EXPECT_EQ(r.reply.text, "smpp dlr EXPIRED err:000");
    }
  }
}

TEST(SmppTransportIT, MidWindowDisconnectThenReconnect) {
  Fake fake;
  ASSERT_TRUE(fake.start(R"({"default": {"action": "ok", "dlr": null},
      "destinations": {"380500000007": {"action": "disconnect", "after": 3, "dlr": null}}})",
                         {"--resp-delay-ms", "300"}));
  Harness h;
  h.open(options(fake.port()));
  std::vector<std::pair<std::string, std::string>> msgs;
  for (int i = 0; i < 6; ++i) msgs.emplace_back("+380500000007", "drop " + std::to_string(i));
  auto out = h.send(msgs);
  ASSERT_EQ(out.size(), 6u);
  int unknown = 0;
  for (const Outcome& x : out) {
    EXPECT_NE(x.kind, OutcomeKind::kPermanent) << x.reply.text;
    if (x.kind == OutcomeKind::kTransient) {
      ++unknown;
      EXPECT_NE(x.reply.text.find("outcome unknown"), std::string::npos) << x.reply.text;
      EXPECT_FALSE(x.blames_message);
    }
  }
  EXPECT_GE(unknown, 3);  // the third and later were in the window when it dropped
  // Reconnected and rebound by itself; the same messages now go through.
  EXPECT_TRUE(fake.wait_for([](const json::object& s) { return s.at("binds").as_int64() >= 2; }))
      << json::serialize(fake.stats());
  auto again = h.send(msgs);
  ASSERT_EQ(again.size(), 6u);
  for (const Outcome& x : again) EXPECT_EQ(x.kind, OutcomeKind::kDelivered) << x.reply.text;
  EXPECT_GE(h.transport().stats().binds.load(), 2u);
}

TEST(SmppTransportIT, NoResponseIsTransientUnknown) {
  Fake fake;
  ASSERT_TRUE(fake.start(R"({"destinations": {"380500000008": {"action": "hang"}}})"));
  Harness h;
  SmppOptions o = options(fake.port());
  o.response_timeout = 500ms;
  h.open(o);
  auto out = h.send({{"+380500000008", "hang"}, {"+380500000001", "fine"}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, OutcomeKind::kTransient);
  EXPECT_NE(out[0].reply.text.find("outcome unknown"), std::string::npos) << out[0].reply.text;
  EXPECT_EQ(out[1].kind, OutcomeKind::kDelivered);
}

TEST(SmppTransportIT, RefusedBindIsConfig) {
  Fake fake;
  ASSERT_TRUE(fake.start(kOkScript));
  Harness h;
  SmppOptions o = options(fake.port());
  o.password = "wrong";
  h.open(o);
  auto out = h.send({{"+380500000001", "hi"}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, OutcomeKind::kTransient);
  EXPECT_EQ(out[0].reply.enhanced, "4.3.5");
  EXPECT_NE(out[0].reply.text.find("ESME_RINVPASWD"), std::string::npos) << out[0].reply.text;
}

TEST(SmppTransportIT, NothingListeningFailsQueuedQuickly) {
  const uint16_t port = testing_support::pick_port();
  Harness h;
  h.open(options(port));
  const auto t0 = std::chrono::steady_clock::now();
  auto out = h.send({{"+380500000001", "hi"}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, OutcomeKind::kTransient);
  EXPECT_FALSE(out[0].blames_message);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

}  // namespace
}  // namespace transports::smpp
