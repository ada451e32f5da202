// tests/core/metrics_test.cpp: core/metrics.cpp — exposition format, bounds.
#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace core::metrics {
namespace {

TEST(MetricsTest, RendersCountersAndGauges) {
  Registry r;
  Counter* c = r.counter("vestnik_messages_total", "Messages accepted.");
  c->inc();
  c->inc(41);
  Gauge* g = r.gauge("vestnik_active", "Messages in flight.\nSecond line \\ here.");
  g->set(10);
  g->add(-13);
  EXPECT_EQ(r.render(),
            "# HELP vestnik_active Messages in flight.\\nSecond line \\\\ here.\n"
            "# TYPE vestnik_active gauge\n"
            "vestnik_active -3\n"
            "# HELP vestnik_messages_total Messages accepted.\n"
            "# TYPE vestnik_messages_total counter\n"
            "vestnik_messages_total 42\n");
}

TEST(MetricsTest, SameNameSameMetric) {
  Registry r;
  EXPECT_EQ(r.counter("a_total", "x"), r.counter("a_total", "y"));
  EXPECT_EQ(r.counter("b_total", "x", "domain", "gmail.com"),
            r.counter("b_total", "x", "domain", "gmail.com"));
  EXPECT_NE(r.counter("b_total", "x", "domain", "gmail.com"),
            r.counter("b_total", "x", "domain", "mail.ru"));
}

TEST(MetricsTest, RendersLabelledFamiliesEscapedAndSorted) {
  Registry r;
  r.counter("sent_total", "Sent.", "domain", "mail.ru")->inc(2);
  r.counter("sent_total", "Sent.", "domain", "gmail.com")->inc(3);
  r.gauge("depth", "Depth.", "tenant", "a\"b\\c\nd")->set(1);
  EXPECT_EQ(r.render(),
            "# HELP depth Depth.\n"
            "# TYPE depth gauge\n"
            "depth{tenant=\"a\\\"b\\\\c\\nd\"} 1\n"
            "# HELP sent_total Sent.\n"
            "# TYPE sent_total counter\n"
            "sent_total{domain=\"gmail.com\"} 3\n"
            "sent_total{domain=\"mail.ru\"} 2\n");
}

TEST(MetricsTest, LabelValuesBeyondTheBoundShareOther) {
  Registry r;
  Counter* a = r.counter("c_total", "C.", "domain", "a", 2);
  Counter* b = r.counter("c_total", "C.", "domain", "b", 2);
  Counter* c = r.counter("c_total", "C.", "domain", "c", 2);
  Counter* d = r.counter("c_total", "C.", "domain", "d", 2);
  EXPECT_NE(a, b);
  EXPECT_EQ(c, d);                                             // both "_other"
  EXPECT_EQ(r.counter("c_total", "C.", "domain", "a", 2), a);  // known values keep theirs
  a->inc();
  c->inc();
  d->inc();
  EXPECT_EQ(r.render(),
            "# HELP c_total C.\n"
            "# TYPE c_total counter\n"
            "c_total{domain=\"_other\"} 2\n"
            "c_total{domain=\"a\"} 1\n"
            "c_total{domain=\"b\"} 0\n");
}

TEST(MetricsTest, RendersHistograms) {
  Registry r;
  Histogram* h = r.histogram("latency_seconds", "Send latency.", {0.5, 0.1, 1, 0.1});
  EXPECT_EQ(h->bounds(), (std::vector<double>{0.1, 0.5, 1}));  // sorted, de-duplicated
  h->observe(0.05);
  h->observe(0.1);  // on the bound: counts as le="0.1"
  h->observe(0.3);
  h->observe(7);
  EXPECT_EQ(r.render(),
            "# HELP latency_seconds Send latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"0.1\"} 2\n"
            "latency_seconds_bucket{le=\"0.5\"} 3\n"
            "latency_seconds_bucket{le=\"1\"} 3\n"
            "latency_seconds_bucket{le=\"+Inf\"} 4\n"
            "latency_seconds_sum 7.45\n"
            "latency_seconds_count 4\n");
}

TEST(MetricsTest, HistogramSnapshotAndOddValues) {
  Histogram h({1, 10});
  h.observe(-2);            // below every bound
  h.observe(std::nan(""));  // counted in +Inf, not summed
  h.observe(10);
  std::vector<uint64_t> cumulative;
  double sum;
  uint64_t count;
  h.snapshot(&cumulative, &sum, &count);
  EXPECT_EQ(cumulative, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(count, 3u);
  EXPECT_DOUBLE_EQ(sum, 8);
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  Registry r;
  Counter* c = r.counter("n_total", "N.");
  Histogram* h = r.histogram("h", "H.", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50'000; ++i) {
        c->inc();
        h->observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 200'000u);
  std::vector<uint64_t> cumulative;
  double sum;
  uint64_t count;
  h->snapshot(&cumulative, &sum, &count);
  EXPECT_EQ(count, 200'000u);
  EXPECT_DOUBLE_EQ(sum, 100'000);
}

TEST(MetricsTest, GlobalRegistryIsOne) { EXPECT_EQ(&Registry::global(), &Registry::global()); }

TEST(MetricsDeathTest, KindMismatchAborts) {
  Registry r;
  r.counter("x_total", "X.");
  EXPECT_DEATH(r.gauge("x_total", "X."), "different kinds");
  EXPECT_DEATH(r.counter("x_total", "X.", "k", "v"), "without a label");
  EXPECT_DEATH(r.counter("bad name", "X."), "invalid metric name");
}

}  // namespace
}  // namespace core::metrics
