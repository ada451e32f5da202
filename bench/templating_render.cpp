// bench/templating_render.cpp: render + compose of a personalised email, the
// per-message work of templating/ (issue #3: target >= 100,000 messages/s
// on one core), side by side with memcpy of the same output size, the
// physical limit of producing those bytes.
//
// The email: a ~5 KB HTML body and a text body with 10 variables and a loop
// over 5 lessons, a Cyrillic subject and display names, variables parsed from
// JSON text per message exactly as the engine does (each message carries its
// own variables).
//
//   ./build/bench/bench_templating --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one line)
//
// BM_RenderCompose reports msgs/s (items_per_second) and out_bytes;
// BM_MemcpyOutput copies out_bytes; the ratio of the two times is the
// number to watch (docs/benchmarks.md).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "core/message.h"
#include "templating/render.h"

namespace {

std::string html_template() {
  std::string h =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>{{school}}</title>"
      "<style>body{font-family:Arial,sans-serif;color:#222} .btn{background:#2b6cb0;"
      "color:#fff;padding:12px 20px;border-radius:6px;text-decoration:none}</style></head><body>"
      "<table width=\"100%\" cellpadding=\"0\" cellspacing=\"0\"><tr><td align=\"center\">"
      "<table width=\"600\"><tr><td><h1>Вітаємо, {{name}}!</h1>"
      "<p>Ваше замовлення №{{order.id}} від {{order.date}} оплачено. Сума: {{order.total}}.</p>"
      "<p>Викладач: {{teacher.name}} ({{teacher.email}})</p><table>";
  h += "{{#each order.items}}<tr><td>{{@number}}.</td><td><a href=\"{{url}}\">{{title}}</a></td>"
       "<td>{{price}}</td></tr>{{/each}}</table>";
  // Literal filler so the rendered HTML is about 5 KB, as a real
  // marketplace email with its footer, links and legal text is.
  for (int i = 0; i < 14; ++i) {
    h += "<p style=\"margin:0 0 12px 0;line-height:1.5\">Дякуємо, що навчаєтесь з нами. "
         "Thank you for learning with us: your lessons are available at any time in "
         "your account.</p>";
  }
  h += "<p><a class=\"btn\" href=\"{{account_url}}\">Перейти до навчання</a></p>"
       "<p style=\"font-size:12px;color:#888\">{{school}} · {{support}}</p>"
       "</td></tr></table></td></tr></table></body></html>";
  return h;
}

core::TemplateSource source() {
  core::TemplateSource s;
  s.subject = "{{name}}, замовлення №{{order.id}} оплачено";
  s.html = html_template();
  s.text =
      "Вітаємо, {{name}}!\n\nВаше замовлення №{{order.id}} від {{order.date}} оплачено. "
      "Сума: {{order.total}}.\nВикладач: {{teacher.name}} ({{teacher.email}})\n\n"
      "{{#each order.items}}{{@number}}. {{title}} — {{price}}\n   {{url}}\n{{/each}}\n"
      "Перейти до навчання: {{account_url}}\n\n{{school}} · {{support}}\n";
  s.preheader = "Квитанція №{{order.id}}";
  return s;
}

std::string variables(int n) {
  std::string v = R"({"name":"Іван )" + std::to_string(n) +
                  R"(","school":"Онлайн-школа","support":"support@school.example",)"
                  R"("account_url":"https://school.example/account",)"
                  R"("teacher":{"name":"Олена Коваль","email":"olena@school.example"},)"
                  R"("order":{"id":)" + std::to_string(1842 + n) +
                  R"(,"date":"23.11.2026","total":"4 950 ₴","items":[)";
  for (int i = 0; i < 5; ++i) {
    if (i) v += ",";
    v += R"({"title":"Урок )" + std::to_string(i + 1) +
         R"(: основи","price":"990 ₴","url":"https://school.example/l/)" + std::to_string(i) +
         R"("})";
  }
  v += "]}}";
  return v;
}

core::MessageRecord record() {
  core::MessageRecord r;
  r.tenant = "school";
  r.created_at = core::from_unix_ms(1'795'000'000'000);
  r.request.channels = {core::Channel::kEmail};
  r.request.to = core::Recipient{"ivan.petrenko@example.com", "Іван Петренко", "", "", "", "", ""};
  r.request.from = core::Sender{"school@mail.example.com", "Онлайн-школа"};
  r.request.category = "notifications";
  return r;
}

size_t g_out_bytes = 0;

void BM_RenderCompose(benchmark::State& state) {
  auto compiled = templating::CompiledContent::compile(source());
  if (!compiled) {
    state.SkipWithError(compiled.error().message.c_str());
    return;
  }
  const std::string vars = variables(7);
  core::MessageRecord rec = record();
  const core::EmailConfig cfg;
  const std::string key(32, 'k');
  std::string out;
  size_t bytes = 0;
  for (auto _ : state) {
    auto r = (*compiled)->render(core::Channel::kEmail, vars, rec.created_at);
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    out.clear();
    auto st = templating::compose_email(*r, rec, cfg, key, out);
    if (!st) {
      state.SkipWithError(st.error().message.c_str());
      return;
    }
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  g_out_bytes = out.size();
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["out_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_RenderCompose);

// Render alone (no MIME): the template language's share.
void BM_RenderOnly(benchmark::State& state) {
  auto compiled = templating::CompiledContent::compile(source());
  if (!compiled) {
    state.SkipWithError(compiled.error().message.c_str());
    return;
  }
  const std::string vars = variables(7);
  for (auto _ : state) {
    auto r = (*compiled)->render(core::Channel::kEmail, vars, core::TimePoint{});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderOnly);

// The physical limit: writing the same number of bytes with memcpy into a
// fresh buffer per message (as compose appends into a cleared string).
void BM_MemcpyOutput(benchmark::State& state) {
  const size_t n = g_out_bytes ? g_out_bytes : 12'000;
  const std::string src(n, 'x');
  std::string dst;
  for (auto _ : state) {
    dst.clear();
    dst.resize(n);
    std::memcpy(dst.data(), src.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["out_bytes"] = static_cast<double>(n);
}
BENCHMARK(BM_MemcpyOutput);

}  // namespace
