// bench/api_parse.cpp: the API's per-message CPU cost outside the spool —
// parsing and validating request bodies (api/request.h) and writing the
// batch answer. The batch API's target (100,000 messages/s on two cores
// together with the spool) leaves a few microseconds per message here.
//
//   bench_api_parse --benchmark_counters_tabular=true
//
// Counters: "msgs/s" per core; the inverse is the cost per message.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "api/request.h"
#include "core/clock.h"

namespace {

// ~1 KB of JSON per message, the shape bench/api_load.cpp posts.
std::string one_message(int n, size_t size = 1024) {
  std::string filler(size > 420 ? size - 420 : 0, 'x');
  for (size_t i = 0; i < filler.size(); i += 61) filler[i] = ' ';
  const std::string s = std::to_string(n);
  return R"({"idempotency_key":"order-)" + s + R"(-paid","channels":["email"],)" +
         R"("to":{"email":"student)" + s + R"(@example.com","name":"Студент )" + s + R"("},)" +
         R"("from":{"email":"school@mail.example.com","name":"Онлайн-школа"},)" +
         R"("category":"notifications","subject":"Your order )" + s + R"( is paid",)" +
         R"("text":"Hello, your order )" + s + " is paid. " + filler + R"(",)" +
         R"("variables":{"order":{"id":)" + s + R"(,"total":"990 ₴"}},)" +
         R"("priority":"transactional","tags":{"campaign":"autumn"}})";
}

api::ParseOptions options() {
  api::ParseOptions o;
  o.now = core::SystemClock::instance().now();
  o.max_batch = 10000;
  return o;
}

void BM_ParseMessageJson(benchmark::State& state) {
  const std::string body = one_message(1842);
  const auto opt = options();
  for (auto _ : state) {
    auto r = api::parse_message_json(body, opt);
    benchmark::DoNotOptimize(r);
  }
  state.counters["msgs/s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(int64_t(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseMessageJson);

void BM_ParseBatchJson(benchmark::State& state) {
  const int n = int(state.range(0));
  std::string body = R"({"messages":[)";
  for (int i = 0; i < n; ++i) {
    if (i) body += ',';
    body += one_message(i);
  }
  body += "]}";
  const auto opt = options();
  for (auto _ : state) {
    auto r = api::parse_batch_json(body, opt);
    if (!r || r->size() != size_t(n) || !r->front()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(r);
  }
  state.counters["msgs/s"] =
      benchmark::Counter(double(state.iterations()) * n, benchmark::Counter::kIsRate);
  state.SetBytesProcessed(int64_t(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseBatchJson)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_ValidateEmail(benchmark::State& state) {
  const std::string a = "student.number-1842+tag@mail.example-school.com";
  for (auto _ : state) benchmark::DoNotOptimize(api::is_valid_email(a));
}
BENCHMARK(BM_ValidateEmail);

}  // namespace
