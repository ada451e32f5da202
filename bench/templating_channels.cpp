// bench/templating_channels.cpp: the per-channel text rules on the render
// path (templating/channels.h): html_to_text() and telegram_html() on a
// 5 KB marketplace email, sms_info()/sms_segments() on an SMS.
//
// Target: >= 300 MB/s of HTML for html_to_text() and telegram_html()
// (single pass, no regex, no per-character allocation).
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "templating/channels.h"

namespace {

// The order-paid email of tests/templating/testdata/channels, inlined in
// spirit: layout tables, a hidden preheader, a table of lessons, links,
// entities and Cyrillic text; repeated to 5 KB.
std::string email_html() {
  const std::string block =
      "<tr><td style=\"padding:0 24px;font-family:Arial,sans-serif\">"
      "<h1 style=\"font-size:22px\">Іване, ваше замовлення №1842 оплачено</h1>"
      "<p>Дякуємо за покупку! Оплата на суму <b>1&nbsp;250&nbsp;&#8372;</b> надійшла о 14:05, "
      "12&nbsp;травня.</p><table class=\"lessons\" width=\"100%\" cellpadding=\"8\">"
      "<tr><td>Англійська для початківців &mdash; урок&nbsp;1</td><td>13.05</td>"
      "<td align=\"right\">250&nbsp;грн</td></tr></table>"
      "<p>Викладачка: <strong>Олена Коваль</strong><br>Посилання з&rsquo;явиться за 15 хвилин.</p>"
      "<a href=\"https://osvita.example.ua/my/lessons?order=1842&amp;utm_source=email\" "
      "style=\"color:#fff;padding:12px 20px;display:inline-block\">Перейти до уроків&nbsp;&rarr;</a>"
      "</td></tr>\n";
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Замовлення</title>"
      "<style>body{margin:0}</style></head><body>"
      "<div style=\"display:none;max-height:0;overflow:hidden\">Дякуємо за оплату!&zwnj;&nbsp;</div>"
      "<table role=\"presentation\" width=\"100%\">";
  while (html.size() < 5000) html += block;
  html += "</table></body></html>";
  return html;
}

void BM_HtmlToText(benchmark::State& state) {
  const std::string html = email_html();
  for (auto _ : state) {
    std::string t = templating::html_to_text(html);
    benchmark::DoNotOptimize(t.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * html.size()));
}
BENCHMARK(BM_HtmlToText);

void BM_TelegramHtml(benchmark::State& state) {
  const std::string html = email_html();
  for (auto _ : state) {
    std::string t = templating::telegram_html(html);
    benchmark::DoNotOptimize(t.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * html.size()));
}
BENCHMARK(BM_TelegramHtml);

// Telegram-style input (no document tags): whitespace kept as written.
void BM_TelegramHtmlTemplate(benchmark::State& state) {
  std::string html;
  while (html.size() < 5000) {
    html += "<b>Замовлення №1842</b> оплачено ✅\nСума: <i>1 250 ₴</i>\n"
            "<a href=\"https://osvita.example.ua/my?o=1842&amp;x=1\">Мої уроки</a>\n";
  }
  for (auto _ : state) {
    std::string t = templating::telegram_html(html);
    benchmark::DoNotOptimize(t.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * html.size()));
}
BENCHMARK(BM_TelegramHtmlTemplate);

void BM_TelegramLength(benchmark::State& state) {
  const std::string tg = templating::telegram_html(email_html());
  for (auto _ : state) benchmark::DoNotOptimize(templating::telegram_length(tg));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * tg.size()));
}
BENCHMARK(BM_TelegramLength);

void BM_SmsSegments(benchmark::State& state) {
  const std::string sms =
      "Іване, ваше замовлення №1842 оплачено: 1 250 грн. Урок 13.05 о 18:00. "
      "Посилання: https://osvita.example.ua/l/1842";
  for (auto _ : state) {
    benchmark::DoNotOptimize(templating::sms_info(sms));
    auto parts = templating::sms_segments(sms);
    benchmark::DoNotOptimize(parts.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * sms.size()));
}
BENCHMARK(BM_SmsSegments);

}  // namespace
