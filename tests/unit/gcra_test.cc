// The pure GCRA decision: redis-cell's published table, the exact window bound
// burst + 1 + floor((W - 1) / T) as a property over random rates, request times and
// quantities, retry_after and reset_after as exact promises, high rates without
// rounding drift, and the header values.
#include "distkit/core/limiters/gcra.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "distkit/core/local/local_gcra.h"
#include "distkit/tests/support/manual_clock.h"

namespace distkit {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::int64_t kSecond = 1'000'000;

// Applies a decision to the stored TAT, as the Redis script and the local limiter do.
GcraDecision take(const GcraRate& rate, std::optional<GcraTat>& tat, std::int64_t now,
                  std::int64_t quantity) {
  GcraStep step = gcra_decide(rate, tat, now, quantity);
  if (step.store) tat = step.store;
  return step.decision;
}

TEST(Gcra, RedisCellsTable) {  // brandur/redis-cell it_rates_limits (seeds.md 4.1)
  const GcraRate rate{.permits = 1, .period = seconds(1), .burst = 4};
  ASSERT_TRUE(rate.validate().ok());
  std::optional<GcraTat> tat;
  const std::int64_t t0 = 1'700'000'000 * kSecond;
  GcraDecision d = take(rate, tat, t0, 6);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, 5);
  EXPECT_EQ(d.remaining, 5);
  EXPECT_EQ(d.reset_after, Duration(0));
  EXPECT_EQ(d.retry_after, kRetryNever) << "6 > limit: never";
  for (int i = 1; i <= 5; ++i) {
    d = take(rate, tat, t0, 1);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 5 - i);
    EXPECT_EQ(d.reset_after, seconds(i));
  }
  d = take(rate, tat, t0, 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, seconds(1));
  d = take(rate, tat, t0 + 3 * kSecond, 1);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2);
  EXPECT_EQ(d.reset_after, seconds(3));
  d = take(rate, tat, t0 + 3'100'000, 1);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
  EXPECT_EQ(d.reset_after, milliseconds(3900));
  const GcraStep peek = gcra_decide(rate, tat, t0 + 3'100'000, 0);
  EXPECT_TRUE(peek.decision.allowed) << "a peek";
  EXPECT_FALSE(peek.store.has_value()) << "a peek stores nothing";
  EXPECT_EQ(peek.decision.remaining, 1);
}

TEST(Gcra, BurstZeroAllowsOneThenWaitsAPeriod) {  // redis-cell e2e: 1 per 2 s, max_burst 0
  const GcraRate rate{.permits = 1, .period = seconds(2), .burst = 0};
  std::optional<GcraTat> tat;
  GcraDecision d = take(rate, tat, 0, 1);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.reset_after, seconds(2));
  d = take(rate, tat, 0, 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, seconds(2));
}

// Pacer truncated T = period_ms // permits to 0 for rates above 1000/s, which then
// allowed everything; redis_rate's float seconds drifted. Here 3 per microsecond is exact.
TEST(Gcra, HighRatesStayExact) {
  const GcraRate rate{.permits = 3'000'000, .period = seconds(1), .burst = 2};
  ASSERT_TRUE(rate.validate().ok());
  std::optional<GcraTat> tat;
  std::int64_t granted = 0;
  for (std::int64_t now = 0; now < 1000; ++now) {  // greedy: one at a time, as many as allowed
    while (take(rate, tat, now, 1).allowed)
      ++granted;
  }
  // W = 1000 us from the first grant: burst + 1 + floor((W - 1) / T), T = 1/3 us.
  EXPECT_EQ(granted, 3 + 999 * 3) << "the bound, exactly: no drift from rounding T";
  const GcraRate pacer_zero{.permits = 2000, .period = seconds(1), .burst = 0};
  std::optional<GcraTat> tat2;
  EXPECT_TRUE(take(pacer_zero, tat2, 0, 1).allowed);
  EXPECT_FALSE(take(pacer_zero, tat2, 0, 1).allowed) << "T = 500 us, not 0";
}

TEST(Gcra, InvalidRatesAreRejected) {
  EXPECT_FALSE((GcraRate{.permits = 0}).validate().ok());
  EXPECT_FALSE((GcraRate{.permits = 1, .burst = -1}).validate().ok());
  EXPECT_FALSE((GcraRate{.permits = 1, .period = Duration(1500)}).validate().ok())
      << "1.5 us is not whole microseconds";
  EXPECT_FALSE((GcraRate{.permits = 1, .period = Duration(0)}).validate().ok());
  EXPECT_FALSE((GcraRate{.permits = 1, .period = std::chrono::hours(24 * 365), .burst = 100'000})
                   .validate()
                   .ok())
      << "beyond exact doubles";
}

TEST(Gcra, HeadersRoundUp) {
  const GcraRate rate{.permits = 10, .period = seconds(1), .burst = 9};
  std::optional<GcraTat> tat;
  GcraDecision d = take(rate, tat, 0, 3);
  RateLimitHeaders h = rate_limit_headers(d);
  EXPECT_EQ(h.rate_limit, "limit=10, remaining=7, reset=1") << "300 ms rounds up to 1 s";
  EXPECT_EQ(h.retry_after, "");
  d = take(rate, tat, 0, 8);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, milliseconds(100));
  EXPECT_EQ(rate_limit_headers(d).retry_after, "1");
}

TEST(LocalGcra, KeepsTatsPerRateAndIsAllOrNothing) {
  test_support::ManualClock clock(seconds(100));
  LocalGcraLimiter limiter(clock);
  const std::vector<GcraRate> rates = {{.permits = 10, .period = seconds(1), .burst = 9},
                                       {.permits = 3, .period = seconds(60), .burst = 2}};
  std::vector<std::optional<GcraTat>> tats(2);
  std::int64_t now = 5 * kSecond;
  for (int i = 0; i < 40; ++i) {
    now += (i % 3) * 70'000;
    const std::int64_t quantity = i % 4;
    const GcraSteps want = gcra_decide_all(rates, tats, now, quantity);
    Result<GcraVerdict> got = limiter.check_all_at("k", rates, quantity, now);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(*got, want.verdict) << "step " << i;
    for (std::size_t r = 0; r < 2; ++r) {
      if (want.stores[r]) tats[r] = want.stores[r];
    }
  }
  EXPECT_TRUE(limiter.check("other", rates[0]).ok());
  EXPECT_EQ(limiter.check("k", GcraRate{.permits = 0}).status().code(),
            StatusCode::kInvalidArgument);
}

// The exactly-N race: many threads on one key, no refill in the test's time: exactly
// burst + 1 granted, none lost or doubled.
TEST(LocalGcra, ConcurrentChecksGrantExactlyTheBurst) {
  test_support::ManualClock clock(seconds(100));
  LocalGcraLimiter limiter(clock);
  const GcraRate rate{.permits = 1, .period = std::chrono::hours(1), .burst = 999};
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (limiter.check("hot", rate)->allowed) ++granted;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(granted.load(), 1000);
}

TEST(LocalGcra, ForgetsKeysBackAtFullCapacityAndThenRefuses) {
  test_support::ManualClock clock(seconds(100));
  LocalGcraLimiter limiter(clock, /*max_keys=*/64);  // one key per shard
  const GcraRate rate{.permits = 1, .period = seconds(1), .burst = 0};
  int refused = 0;
  for (int i = 0; i < 1000; ++i) {
    Result<GcraVerdict> v = limiter.check_all_at("k" + std::to_string(i), {rate}, 1, 0);
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), StatusCode::kResourceExhausted);
      ++refused;
    }
  }
  EXPECT_GT(refused, 0) << "a full shard refuses new keys while theirs are limited";
  // Two seconds later every TAT has passed: keys are forgotten and new ones fit.
  EXPECT_TRUE(limiter.check_all_at("fresh-key", {rate}, 1, 2 * kSecond).ok());
}

struct Request {
  std::int64_t advance_us;
  std::int64_t quantity;
};

// In any window of W microseconds at most burst + 1 + floor((W - 1) / T) permits are
// granted; retry_after is exact (allowed then, not a microsecond before); a peek
// changes nothing.
RC_GTEST_PROP(Gcra, WindowBoundAndExactRetry, ()) {
  const GcraRate rate{.permits = *rc::gen::inRange<std::int64_t>(1, 5000),
                      .period = microseconds(*rc::gen::inRange<std::int64_t>(1, 5'000'000)),
                      .burst = *rc::gen::inRange<std::int64_t>(0, 8)};
  RC_PRE(rate.validate().ok());
  const auto requests = *rc::gen::container<std::vector<Request>>(rc::gen::build<Request>(
      rc::gen::set(&Request::advance_us, rc::gen::inRange<std::int64_t>(0, 200'000)),
      rc::gen::set(&Request::quantity, rc::gen::inRange<std::int64_t>(0, 4))));
  std::optional<GcraTat> tat;
  std::int64_t now = 1'000'000;
  std::vector<std::pair<std::int64_t, std::int64_t>> grants;  // (time, quantity)
  for (const Request& r : requests) {
    now += r.advance_us;
    const GcraDecision d = take(rate, tat, now, r.quantity);
    RC_ASSERT(d.limit == rate.burst + 1);
    RC_ASSERT(d.remaining >= 0 && d.remaining <= d.limit);
    if (d.allowed) {
      RC_ASSERT(d.retry_after == Duration(0));
      if (r.quantity > 0) grants.emplace_back(now, r.quantity);
    } else if (d.retry_after != kRetryNever) {
      const std::int64_t retry_us = std::chrono::duration_cast<microseconds>(d.retry_after).count();
      RC_ASSERT(gcra_decide(rate, tat, now + retry_us, r.quantity).decision.allowed);
      if (retry_us > 0)
        RC_ASSERT(!gcra_decide(rate, tat, now + retry_us - 1, r.quantity).decision.allowed);
    } else {
      RC_ASSERT(r.quantity > rate.burst + 1);
    }
  }
  // Every window starting at a grant (the worst windows start at one).
  for (std::size_t i = 0; i < grants.size(); ++i) {
    std::int64_t total = 0;
    for (std::size_t j = i; j < grants.size(); ++j) {
      total += grants[j].second;
      const __int128 w = grants[j].first - grants[i].first + 1;  // window [t_i, t_j]
      const __int128 bound = rate.burst + 1 + (w - 1) * rate.permits / rate.period_us();
      RC_ASSERT(__int128{total} <= bound);
    }
  }
}

}  // namespace
}  // namespace distkit
