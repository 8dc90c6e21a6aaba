// The sliding window (absolute strategy): the pure decision with trypema's defects as
// named tests (unbounded buckets, count-blind local admission), the bound as a
// property, the local limiter under threads, and the Redis script against the pure
// decision on every backend (simulator, redis-server, Redis Cluster).
#include "distkit/core/limiters/sliding_window.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "distkit/core/limiters/sliding_window_limiter.h"
#include "distkit/sim/world/rng.h"
#include "distkit/tests/support/backends.h"
#include "distkit/tests/support/manual_clock.h"
#include "distkit/tests/support/pinned_expiry.h"
#include "distkit/tests/support/status_matchers.h"

namespace distkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const SlidingWindowLimit kTenPerSecond{
    .limit = 10, .window = seconds(1), .bucket = milliseconds(100)};

TEST(SlidingWindow, AllowsUpToTheLimitThenSaysWhenToRetry) {
  std::deque<WindowBucket> b;
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(sliding_window_decide(b, kTenPerSecond, 1000 + i * 10, 1).allowed);
  EXPECT_EQ(b.size(), 1u) << "increments within a bucket coalesce";
  WindowDecision d = sliding_window_decide(b, kTenPerSecond, 1500, 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.total, 10);
  EXPECT_EQ(d.retry_after, milliseconds(501)) << "the bucket at 1000 expires after 2000";
  EXPECT_EQ(d.remaining_after_waiting, 10);
  EXPECT_FALSE(sliding_window_decide(b, kTenPerSecond, 2000, 1).allowed);
  EXPECT_TRUE(sliding_window_decide(b, kTenPerSecond, 2001, 1).allowed);
  EXPECT_EQ(sliding_window_decide(b, kTenPerSecond, 2001, 11).retry_after, kRetryNever);
}

// trypema B.11.4: its local provider admitted inc(5) at 9/10 and reached 14.
TEST(SlidingWindow, AdmissionCountsTheRequest) {
  std::deque<WindowBucket> b;
  EXPECT_TRUE(sliding_window_decide(b, kTenPerSecond, 0, 9).allowed);
  WindowDecision d = sliding_window_decide(b, kTenPerSecond, 1, 5);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.total, 9);
  EXPECT_EQ(d.remaining_after_waiting, 10);
}

// trypema B.11.1-2: buckets were evicted only when over the limit, so a key below it
// grew a bucket per bucket interval forever (and its Lua unpack failed at ~8,000).
TEST(SlidingWindow, AKeyBelowItsLimitHoldsABoundedNumberOfBuckets) {
  const SlidingWindowLimit limit{.limit = 1000, .window = seconds(10), .bucket = milliseconds(100)};
  std::deque<WindowBucket> b;
  std::size_t most = 0;
  for (std::int64_t now = 0; now < 3'600'000; now += 150) {  // an hour, far below the limit
    ASSERT_TRUE(sliding_window_decide(b, limit, now, 1).allowed);
    most = std::max(most, b.size());
  }
  EXPECT_LE(most, 10'000u / 100 + 2);
  EXPECT_EQ(sliding_window_decide(b, limit, 3'600'000, 0).total, 66)
      << "the live total only: increments at 3,590,100 .. 3,599,850";
}

TEST(SlidingWindow, InvalidLimitsAreRejected) {
  EXPECT_FALSE((SlidingWindowLimit{.limit = -1}).validate().ok());
  EXPECT_FALSE(
      (SlidingWindowLimit{.limit = 1, .window = seconds(1), .bucket = seconds(2)}).validate().ok());
  EXPECT_FALSE((SlidingWindowLimit{.limit = 1, .window = seconds(10), .bucket = milliseconds(1)})
                   .validate()
                   .ok())
      << "10,000 buckets";
  EXPECT_FALSE((SlidingWindowLimit{.limit = 1, .window = Duration(1500000)}).validate().ok());
}

struct Step {
  std::int64_t advance_ms;
  std::int64_t count;
};

// In any interval of (window - bucket) ms at most `limit` are allowed; retry_after is
// exact (allowed then, not a millisecond before).
RC_GTEST_PROP(SlidingWindow, TheBoundHolds, ()) {
  const std::int64_t bucket = *rc::gen::inRange<std::int64_t>(1, 200);
  const SlidingWindowLimit limit{
      .limit = *rc::gen::inRange<std::int64_t>(0, 20),
      .window = milliseconds(bucket * *rc::gen::inRange<std::int64_t>(1, 20)),
      .bucket = milliseconds(bucket)};
  RC_PRE(limit.validate().ok());
  const auto steps = *rc::gen::container<std::vector<Step>>(
      rc::gen::build<Step>(rc::gen::set(&Step::advance_ms, rc::gen::inRange<std::int64_t>(0, 300)),
                           rc::gen::set(&Step::count, rc::gen::inRange<std::int64_t>(0, 4))));
  std::deque<WindowBucket> b;
  std::vector<std::pair<std::int64_t, std::int64_t>> grants;
  std::int64_t now = 1000;
  for (const Step& s : steps) {
    now += s.advance_ms;
    std::deque<WindowBucket> before = b;
    const WindowDecision d = sliding_window_decide(b, limit, now, s.count);
    if (d.allowed) {
      if (s.count > 0) grants.emplace_back(now, s.count);
    } else if (d.retry_after != kRetryNever) {
      const std::int64_t retry = std::chrono::duration_cast<milliseconds>(d.retry_after).count();
      std::deque<WindowBucket> later = before;
      RC_ASSERT(!sliding_window_decide(later, limit, now + retry - 1, s.count).allowed ||
                retry == 0);
      later = before;
      // Waiting frees the oldest bucket; other buckets may still block a big request.
      if (sliding_window_decide(later, limit, now + retry, 0).total + s.count <= limit.limit) {
        later = before;
        RC_ASSERT(sliding_window_decide(later, limit, now + retry, s.count).allowed);
      }
    }
  }
  const std::int64_t span = limit.window_ms() - limit.bucket_ms();
  for (std::size_t j = 0; j < grants.size(); ++j) {
    std::int64_t total = 0;
    for (std::size_t i = 0; i <= j; ++i) {
      if (grants[i].first >= grants[j].first - span) total += grants[i].second;
    }
    RC_ASSERT(total <= limit.limit);
  }
}

TEST(LocalSlidingWindow, ThreadsGetExactlyTheLimit) {
  test_support::ManualClock clock(seconds(5));
  LocalSlidingWindowLimiter limiter(clock);
  const SlidingWindowLimit limit{.limit = 1000, .window = seconds(10), .bucket = milliseconds(100)};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (limiter.inc("hot", limit)->allowed) ++allowed;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(allowed.load(), 1000);
  EXPECT_EQ(limiter.inc("hot", limit, 0)->total, 1000);
}

using SlidingWindowLimiterTest = test_support::BackendTest;

TEST_P(SlidingWindowLimiterTest, TheScriptAgreesWithThePureDecision) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    test_support::ManualClock clock;
    // Keys must not expire on the server's real clock while the test's clock stands.
    test_support::PinnedExpiryConnection pinned(redis, {&SlidingWindowLimiter::script()});
    SlidingWindowLimiter limiter =
        *SlidingWindowLimiter::create(pinned, {.prefix = "sw", .client_clock = &clock});
    sim::Rng rng(11);
    int checks = 0;
    for (int sequence = 0; sequence < 40; ++sequence) {
      const std::int64_t bucket = rng.between(1, 500);
      const SlidingWindowLimit limit{.limit = rng.between(0, 30),
                                     .window = milliseconds(bucket * rng.between(1, 30)),
                                     .bucket = milliseconds(bucket)};
      std::deque<WindowBucket> model;
      std::int64_t now = 1'700'000'000'000 + sequence;
      const std::string key = "s" + std::to_string(sequence);
      std::int64_t retry_ms = -1;  // the last rejection's retry_after: probe its edges
      for (int step = 0; step < 30; ++step) {
        if (retry_ms > 0 && rng.chance(0.6)) {
          now += retry_ms - rng.between(0, 1);
        } else {
          now += rng.chance(0.2) ? 0 : rng.between(0, rng.chance(0.1) ? 20'000 : 400);
        }
        clock.set(milliseconds(now));
        const std::int64_t count = rng.between(0, 4);
        // Some calls also commit grants made elsewhere (the hybrid limiter's sync).
        const std::int64_t committed = rng.chance(0.25) ? rng.between(1, 6) : 0;
        const WindowDecision want = sliding_window_decide(model, limit, now, count, committed);
        Result<WindowDecision> got = co_await limiter.commit_and_inc(key, limit, committed, count);
        if (!got.ok() || !(*got == want)) {
          ADD_FAILURE() << "sequence " << sequence << " step " << step
                        << ": model allowed=" << want.allowed << " total=" << want.total
                        << " retry=" << want.retry_after.count() << "; script "
                        << (got.ok() ? "allowed=" + std::to_string(got->allowed) +
                                           " total=" + std::to_string(got->total) +
                                           " retry=" + std::to_string(got->retry_after.count())
                                     : got.status().to_string());
          co_return;
        }
        // Written: the hash lives until its newest bucket leaves the window. Else the
        // hash holds what is still in the window (pinned: without a TTL), or is gone.
        const bool writes = committed > 0 || (want.allowed && count > 0);
        const std::int64_t want_ttl = writes ? model.back().start_ms + limit.window_ms() + 1 - now
                                             : (model.empty() ? -2 : -1);
        if (pinned.last_ttl_ms() != want_ttl) {
          ADD_FAILURE() << "sequence " << sequence << " step " << step
                        << ": the script left a TTL of " << pinned.last_ttl_ms().value_or(-3)
                        << " ms, the model says " << want_ttl;
          co_return;
        }
        retry_ms = !want.allowed && want.retry_after != kRetryNever
                       ? std::chrono::duration_cast<milliseconds>(want.retry_after).count()
                       : -1;
        ++checks;
      }
    }
    EXPECT_EQ(checks, 40 * 30);
  });
}

// trypema B.11.1 and B.11.6 on Redis: a key far below its limit for an hour keeps a
// bounded hash, and the hash has a TTL (trypema's bucket keys had none).
TEST_P(SlidingWindowLimiterTest, KeysStayBoundedAndExpire) {
  backend_->run([](RedisConnection& redis, Executor&) -> Task<void> {
    test_support::ManualClock clock;
    test_support::PinnedExpiryConnection pinned(redis, {&SlidingWindowLimiter::script()});
    SlidingWindowLimiter limiter =
        *SlidingWindowLimiter::create(pinned, {.prefix = "bounded", .client_clock = &clock});
    const SlidingWindowLimit limit{
        .limit = 1000, .window = seconds(10), .bucket = milliseconds(100)};
    std::int64_t most = 0;
    for (std::int64_t now = 0; now < 3'600'000; now += 1500) {
      clock.set(milliseconds(1'700'000'000'000 + now));
      EXPECT_TRUE((value_or_failure(co_await limiter.inc("k", limit))).allowed);
      EXPECT_EQ(pinned.last_ttl_ms(), 10'001) << "the hash expires with its newest bucket";
      if (now % 60'000 == 0) {
        Result<RedisReply> len = co_await redis.command("HLEN", limiter.redis_key("k"));
        most = std::max(most, len.ok() && len->is_integer() ? len->integer_value() : -1);
      }
    }
    EXPECT_GT(most, 0);
    EXPECT_LE(most, 102);
    Result<WindowDecision> bad = co_await limiter.inc("k", SlidingWindowLimit{.limit = -1});
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  });
}

DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(SlidingWindowLimiterTest);

}  // namespace
}  // namespace distkit
