// api/bridge.h: awaiting a callback-style spool/engine operation from a
// connection coroutine, with a deadline (private to api/).
//
// The engine and the spool complete on the spool's writer thread. That
// thread must not run our code beyond a post (queue.h: callbacks are short),
// so the completion is posted to the executor of the awaiting coroutine —
// the connection's strand — and the coroutine resumes there. A work guard
// keeps the io_context from running out of work (and run() from returning)
// while the only thing pending is a spool commit.
//
// Every wait has a deadline (STYLE.md R7). The spool cannot cancel a commit
// once submitted, so a deadline does not cancel the operation: it resumes
// the coroutine with nullopt, and the late completion, when it comes, is
// dropped. Both the timer and the posted completion run on the strand, so
// `done` needs no lock: whichever runs first wins.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace api {

// co_await await_callback<T>([&](std::function<void(T)> done) { op(..., done); }, deadline)
// `start` is called once, on the awaiting strand; `done` may be called from
// any thread (or inside `start`), at most once. Returns nullopt if `done`
// was not called within `deadline`.
template <class T, class Start>
boost::asio::awaitable<std::optional<T>> await_callback(Start start,
                                                        std::chrono::milliseconds deadline) {
  auto initiation = [](auto handler, Start start, std::chrono::milliseconds deadline) {
    using Handler = decltype(handler);
    using Executor = decltype(boost::asio::get_associated_executor(handler));
    struct State {
      State(Handler h, const Executor& ex)
          : handler(std::move(h)),
            executor(ex),
            work(boost::asio::make_work_guard(ex)),
            timer(ex) {}
      // Runs on the strand only.
      void finish(std::optional<T> value) {
        if (done) return;
        done = true;
        timer.cancel();
        work.reset();
        std::move(handler)(std::move(value));
      }
      Handler handler;
      const Executor executor;  // immutable: read from the completing thread
      boost::asio::executor_work_guard<Executor> work;
      boost::asio::steady_timer timer;
      bool done = false;
    };
    const Executor ex = boost::asio::get_associated_executor(handler);
    auto state = std::make_shared<State>(std::move(handler), ex);
    state->timer.expires_after(deadline);
    state->timer.async_wait([state](boost::system::error_code ec) {
      if (!ec) state->finish(std::nullopt);
    });
    // std::function needs a copyable target; the handler is move-only, so
    // the callback holds the shared state.
    start(std::function<void(T)>([state](T value) {
      boost::asio::post(state->executor, [state, value = std::move(value)]() mutable {
        state->finish(std::move(value));
      });
    }));
  };
  co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                 void(std::optional<T>)>(
      initiation, boost::asio::use_awaitable, std::move(start), deadline);
}

}  // namespace api
