// Crash test: clients enqueue continuously over HTTP while the server is
// killed with SIGKILL at random moments; after each restart, every id that
// was acknowledged (202/200) must still exist, and in the end every one must
// reach a final status. Durable before acknowledged, or this test fails.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "core/message.h"
#include "server_process.h"

namespace {

using testing_support::ServerProcess;
using testing_support::TempDir;
using testing_support::wait_until;
namespace json = boost::json;

const std::string kToml = testing_support::fast_sink_toml(R"(["email"])") + R"(

[[transports.sink.rules]]
match = "^defer-once"
reply = "451 4.3.0 try again"
first_attempts = 1
)";

constexpr int kRounds = 6;
constexpr int kClients = 4;

std::string message(int client, int n) {
  std::string local = (n % 5 == 0 ? "defer-once-" : "user-") + std::to_string(client) + "-" +
                      std::to_string(n);
  return R"({"channel":"email","to":{"email":")" + local +
         R"(@example.com"},"subject":"s","text":"t"})";
}

TEST(CrashTest, AcknowledgedMessagesSurviveKill9) {
  TempDir dir;
  ServerProcess server(dir.path(), testing_support::test_tenants_toml() + kToml);
  std::mutex mu;
  std::set<std::string> acked;  // GUARDED_BY(mu)
  std::mt19937 rng(12345);
  size_t verified_after_restart = 0;

  for (int round = 0; round < kRounds; ++round) {
    std::string err;
    ASSERT_TRUE(server.start(&err)) << err;

    // Everything acknowledged before this crash must be here after it.
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& id : acked) {
        ASSERT_NE(server.status_of(id), "") << "acknowledged id " << id << " lost in round " << round;
        ++verified_after_restart;
      }
    }

    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        // Bounded: at most 100000 requests per client per round.
        for (int n = 0; n < 100000 && !stop.load(); ++n) {
          bool batch = n % 4 == 3;
          std::string body, target = "/v1/messages";
          if (batch) {
            target = "/v1/messages:batch";
            body = R"({"messages":[)";
            for (int i = 0; i < 20; ++i) body += (i ? "," : "") + message(c, n * 100 + i);
            body += "]}";
          } else {
            body = message(c, n * 100);
          }
          auto r = server.request("POST", target, body);
          if (!r) continue;  // the server died mid-request: not acknowledged
          if (r->status != 200 && r->status != 202) continue;
          boost::system::error_code ec;
          auto v = json::parse(r->body, ec);
          if (ec) continue;
          std::lock_guard<std::mutex> lock(mu);
          if (batch) {
            for (auto& item : v.at("results").as_array()) {
              if (auto* id = item.as_object().if_contains("id")) acked.insert(std::string(id->as_string()));
            }
          } else {
            acked.insert(std::string(v.at("id").as_string()));
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 1500)(rng)));
    server.kill9();
    stop = true;
    for (auto& t : clients) t.join();
  }

  std::string err;
  ASSERT_TRUE(server.start(&err)) << err;
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu);
    ids.assign(acked.begin(), acked.end());
  }
  ASSERT_GT(ids.size(), 100u) << "the clients should have enqueued something";

  size_t lost = 0, not_final = 0;
  for (const auto& id : ids) {
    std::string status;
    bool final = wait_until(
        [&] {
          status = server.status_of(id);
          auto s = core::parse_status(status);
          return status.empty() || (s && core::is_final(*s));
        },
        std::chrono::seconds(60));
    if (status.empty()) {
      ++lost;
    } else if (!final) {
      ++not_final;
    }
  }
  std::printf("crash test: %d rounds, %zu acknowledged, %zu re-verified after restarts, lost %zu, "
              "not final %zu\n",
              kRounds, ids.size(), verified_after_restart, lost, not_final);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(not_final, 0u);
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
