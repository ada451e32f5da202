// tests/engine/engine_fixture.h: the Engine fixture shared by
// engine_test.cpp and engine_content_test.cpp: the in-memory spool, a
// ManualClock, a scripted transport, and an io_context on its own thread.
#pragma once

#include "engine/engine.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/id.h"
#include "queue/queue.h"
#include "transports/transport.h"

namespace engine {
namespace {

using core::Duration;
using core::MessageStatus;
using std::chrono::hours;
using std::chrono::minutes;

// Answers each message by a script of the recipient's address and the
// attempt number; an empty answer holds the whole batch until
// answer_held() is called (a transport that "never answers").
class ScriptedTransport final : public transports::Transport {
 public:
  using Script =
      std::function<std::optional<std::string>(std::string_view address, uint32_t attempt)>;

  ScriptedTransport(const core::Clock& clock, Script script)
      : clock_(clock), script_(std::move(script)) {}

  struct Call {
    core::Id id;
    uint32_t attempt = 0;
    core::TimePoint at;
    std::string destination;
    std::string subject, text, html;  // what the engine rendered for it
  };

  std::string_view name() const noexcept override { return "scripted"; }
  bool serves(core::Channel c) const noexcept override {
    return c == core::Channel::kEmail || c == core::Channel::kSms;
  }
  std::string destination(const core::MessageRecord& r, core::Channel c) const override {
    return transports::default_destination(c, r.request.to.address_for(c));
  }

  void send(std::vector<transports::Delivery> batch, transports::SendDone done) override {
    std::vector<transports::Outcome> outcomes;
    bool hold = false;
    {
      std::lock_guard lock(mu_);
      for (const auto& d : batch) {
        calls_.push_back({d.record->id, d.attempt, clock_.now(), d.record->destination,
                          d.rendered ? d.rendered->subject : "", d.rendered ? d.rendered->text : "",
                          d.rendered ? d.rendered->html : ""});
        // The address on the channel in use: the email, or the phone on
        // SMS (so that channel fallback can be scripted).
        auto reply = script_(d.record->request.to.address_for(d.record->channel()), d.attempt);
        if (!reply) hold = true;
        outcomes.push_back(transports::outcome_from_reply(reply.value_or("")));
      }
      if (hold) {
        held_.push_back({batch.size(), std::move(done)});
        return;
      }
    }
    done(std::move(outcomes));
  }

  // Answers every held batch with `reply` for each message.
  size_t answer_held(const std::string& reply) {
    std::vector<std::pair<size_t, transports::SendDone>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& [n, done] : held) {
      done(std::vector<transports::Outcome>(n, transports::outcome_from_reply(reply)));
    }
    return held.size();
  }

  std::vector<Call> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<Call> calls_for(const core::Id& id) const {
    std::vector<Call> out;
    for (const auto& c : calls()) {
      if (c.id == id) out.push_back(c);
    }
    return out;
  }
  size_t held() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }

 private:
  const core::Clock& clock_;
  Script script_;
  mutable std::mutex mu_;
  std::vector<Call> calls_;                                    // GUARDED_BY(mu_)
  std::vector<std::pair<size_t, transports::SendDone>> held_;  // GUARDED_BY(mu_)
};

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : ids_(clock_), work_(io_.get_executor()) {}

  void SetUp() override {
    auto c = std::make_shared<core::Config>(*core::default_config());
    c->retry.jitter = 0;                  // exact retry times
    c->engine.poll_interval = hours(24);  // tests step with TEST_poll
    c->engine.shutdown_grace = Duration(200);
    c->spool.min_free_bytes = 0;
    // New mail goes through the due index, as the tests below expect;
    // the direct-lease tests turn it on.
    c->engine.direct_lease = false;
    config_ = c;
    io_thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    engine_.reset();
    work_.reset();
    io_.stop();
    io_thread_.join();
  }

  // Builds the spool and the engine; call after adjusting config().
  void open(ScriptedTransport::Script script) {
    auto s = queue::Spool::open(config_->spool, queue::make_memory_store(), clock_, ids_);
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    spool_ = std::move(*s);
    transport_ = std::make_shared<ScriptedTransport>(clock_, std::move(script));
    registry_.add(transport_);
    engine_ = std::make_unique<Engine>(config_, *spool_, registry_, clock_, io_.get_executor());
  }

  core::Config& config() { return const_cast<core::Config&>(*config_); }

  static core::MessageRequest email_to(std::string address) {
    core::MessageRequest r;
    r.channels = {core::Channel::kEmail};
    r.to.email = std::move(address);
    r.from.email = "school@example.net";
    r.category = "notifications";
    r.content.subject = "Hello";
    r.content.text = "Hello there";
    r.variables_json = "{}";
    return r;
  }

  SubmitResult submit(std::vector<core::MessageRequest> requests) {
    std::promise<SubmitResult> p;
    auto f = p.get_future();
    engine_->submit("school", std::move(requests),
                    [&p](SubmitResult r) { p.set_value(std::move(r)); });
    return f.get();
  }

  core::Id submit_one(core::MessageRequest r) {
    std::vector<core::MessageRequest> v;
    v.push_back(std::move(r));
    SubmitResult res = submit(std::move(v));
    EXPECT_EQ(res.items.size(), 1u);
    EXPECT_TRUE(res.items[0].has_value()) << res.items[0].error().to_string();
    return res.items[0] ? res.items[0]->id : core::Id();
  }

  queue::MessageView view(const core::Id& id) {
    auto v = spool_->get(id);
    EXPECT_TRUE(v.has_value() && v->has_value());
    return v && *v ? **v : queue::MessageView{};
  }
  core::MessageRecord record(const core::Id& id) { return view(id).record; }

  core::Result<MessageStatus> cancel(const core::Id& id) {
    std::promise<core::Result<MessageStatus>> p;
    auto f = p.get_future();
    engine_->cancel(id, [&p](core::Result<MessageStatus> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  void stop() {
    std::promise<void> p;
    auto f = p.get_future();
    engine_->stop([&p] { p.set_value(); });
    ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  }

  const DestinationState* find_destination(const std::vector<DestinationState>& v,
                                           const std::string& name) {
    for (const auto& d : v) {
      if (d.destination == name) return &d;
    }
    return nullptr;
  }

  core::ManualClock clock_;
  core::IdGenerator ids_;
  std::shared_ptr<const core::Config> config_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread io_thread_;
  std::unique_ptr<queue::Spool> spool_;
  std::shared_ptr<ScriptedTransport> transport_;
  transports::Registry registry_;
  std::unique_ptr<Engine> engine_;
};

[[maybe_unused]] auto always(std::string reply) {
  return [reply](std::string_view, uint32_t) -> std::optional<std::string> { return reply; };
}

}  // namespace
}  // namespace engine
