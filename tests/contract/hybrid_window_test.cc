// HybridSlidingWindowLimiter: grants within the local budget cost no round trip, one
// process never passes the limit, rejections are remembered, grants reach Redis within
// a sync interval, bad input is refused (on every backend); and, in the simulator, a
// process cut off from Redis grants at most its budget and commits everything once
// it is back. The bound across processes under generated faults is in
// gcra_simulation_test (TheHybridWindowBoundHoldsAcrossInstances).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "distkit/core/limiters/hybrid_window_limiter.h"
#include "distkit/core/limiters/sliding_window_limiter.h"
#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/sim/world/world.h"
#include "distkit/tests/support/backends.h"

namespace distkit {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

using HybridWindowTest = test_support::BackendTest;

using test_support::eventually;

// What Redis holds for `key` (a read through the plain Redis limiter).
Task<std::int64_t> redis_total(RedisConnection& redis, const std::string& prefix,
                               const std::string& key, const SlidingWindowLimit& limit) {
  SlidingWindowLimiter plain = *SlidingWindowLimiter::create(redis, {.prefix = prefix});
  Result<WindowDecision> d = co_await plain.inc(key, limit, 0);
  co_return d.ok() ? d->total : -1;
}

TEST_P(HybridWindowTest, GrantsWithinTheBudgetNeedNoRoundTrip) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto limiter = *HybridSlidingWindowLimiter::create(
        redis, executor, {.prefix = "hy", .budget_fraction = 0.1, .sync_interval = hours(1)});
    // A window longer than any run of the test (bazel times it out first): every grant
    // is still in it at the end, however slow the machine.
    const SlidingWindowLimit limit{.limit = 100, .window = minutes(15), .bucket = seconds(1)};
    EXPECT_EQ(limiter->budget(limit), 10);
    Result<WindowDecision> first = co_await limiter->inc("k", limit);
    EXPECT_TRUE(first.ok() && first->allowed && first->total == 1);
    EXPECT_EQ(limiter->redis_calls(), 1u);
    for (int i = 0; i < 10; ++i) {
      Result<std::optional<WindowDecision>> local = limiter->try_inc("k", limit);
      EXPECT_TRUE(local.ok() && local->has_value() && (*local)->allowed) << i;
    }
    EXPECT_EQ(limiter->redis_calls(), 1u) << "ten grants within the budget, no I/O";
    EXPECT_EQ(limiter->uncommitted(), 10);
    EXPECT_EQ(co_await redis_total(redis, "hy", "k", limit), 1);
    Result<std::optional<WindowDecision>> beyond = limiter->try_inc("k", limit);
    EXPECT_TRUE(beyond.ok() && !beyond->has_value()) << "the budget is spent: ask Redis";
    // The next one commits the ten and takes one, in one script.
    Result<WindowDecision> next = co_await limiter->inc("k", limit);
    EXPECT_TRUE(next.ok() && next->allowed && next->total == 12);
    EXPECT_EQ(limiter->redis_calls(), 2u);
    EXPECT_EQ(limiter->uncommitted(), 0);
    EXPECT_EQ(co_await redis_total(redis, "hy", "k", limit), 12);
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
  });
}

TEST_P(HybridWindowTest, OneProcessNeverPassesTheLimitAndRemembersTheRejection) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto limiter = *HybridSlidingWindowLimiter::create(
        redis, executor, {.prefix = "hy", .budget_fraction = 0.2, .sync_interval = hours(1)});
    // A window longer than any run of the test (bazel times it out first): every grant
    // is still in it at the end, however slow the machine.
    const SlidingWindowLimit limit{.limit = 25, .window = minutes(15), .bucket = seconds(1)};
    int allowed = 0;
    Duration retry{0};
    for (int i = 0; i < 200; ++i) {
      Result<WindowDecision> d = co_await limiter->inc("k", limit);
      EXPECT_TRUE(d.ok()) << d.status();
      if (d.ok() && d->allowed) ++allowed;
      if (d.ok() && !d->allowed) retry = d->retry_after;
    }
    EXPECT_EQ(allowed, 25);
    EXPECT_GT(retry, minutes(10)) << "about a window: until the first grant leaves it";
    EXPECT_LE(retry, minutes(15) + milliseconds(1));
    // Each round trip leaves a budget of 5: 25 grants in about 5, then one rejection
    // that is remembered for the other 174 calls.
    EXPECT_LE(limiter->redis_calls(), 8u);
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
    EXPECT_EQ(co_await redis_total(redis, "hy", "k", limit), 25);
    // A smaller limit is not judged by the allowance of the larger one.
    auto other = *HybridSlidingWindowLimiter::create(
        redis, executor, {.prefix = "hy", .budget_fraction = 1, .sync_interval = hours(1)});
    Result<WindowDecision> d = co_await other->inc("k", limit);
    EXPECT_TRUE(d.ok() && !d->allowed) << "the window is full in Redis, whoever asks";
    EXPECT_TRUE((co_await other->shutdown()).ok());
  });
}

TEST_P(HybridWindowTest, GrantsReachRedisWithinASyncInterval) {
  const bool virtual_time = GetParam() == "sim";
  backend_->run([virtual_time](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto limiter = *HybridSlidingWindowLimiter::create(
        redis, executor,
        {.prefix = "hy", .budget_fraction = 0.5, .sync_interval = milliseconds(20)});
    const SlidingWindowLimit limit{.limit = 1000, .window = minutes(15), .bucket = seconds(1)};
    std::int64_t granted = 0;
    for (int i = 0; i < 300; ++i) {
      Result<WindowDecision> d = co_await limiter->inc(i % 2 == 0 ? "a" : "b", limit, 2);
      if (d.ok() && d->allowed) granted += 2;
    }
    EXPECT_EQ(granted, 600);
    // The sync task commits them by itself (nothing here calls sync()): wait until Redis
    // acknowledged them. Only in virtual time is how soon a property of the code.
    const MonoTime start = executor.clock().now();
    EXPECT_TRUE(co_await eventually(executor, [&] { return limiter->uncommitted() == 0; }))
        << limiter->uncommitted() << " grants never committed";
    if (virtual_time) {
      EXPECT_LE(executor.clock().now() - start, milliseconds(200)) << "within a few intervals";
    }
    EXPECT_EQ(co_await redis_total(redis, "hy", "a", limit), 300);
    EXPECT_EQ(co_await redis_total(redis, "hy", "b", limit), 300);
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
  });
}

TEST_P(HybridWindowTest, BadInputIsRefused) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    for (double fraction : {0.0, -1.0, 1.5, std::nan("")}) {
      EXPECT_EQ(HybridSlidingWindowLimiter::create(redis, executor,
                                                   {.prefix = "hy", .budget_fraction = fraction})
                    .status()
                    .code(),
                StatusCode::kInvalidArgument)
          << fraction;
    }
    EXPECT_EQ(
        HybridSlidingWindowLimiter::create(redis, executor, {.prefix = "a:b"}).status().code(),
        StatusCode::kInvalidArgument);
    EXPECT_EQ(HybridSlidingWindowLimiter::create(redis, executor,
                                                 {.prefix = "hy", .sync_interval = Duration(0)})
                  .status()
                  .code(),
              StatusCode::kInvalidArgument);
    {
      // Destroyed at once, without shutdown(): its sync loop already sleeps on a timer
      // that the destructor cancels (a posted start used to resume a freed frame).
      auto dropped = *HybridSlidingWindowLimiter::create(redis, executor, {.prefix = "hy"});
    }
    auto limiter = *HybridSlidingWindowLimiter::create(redis, executor, {.prefix = "hy"});
    const SlidingWindowLimit limit{.limit = 10, .window = seconds(1), .bucket = milliseconds(100)};
    EXPECT_EQ((co_await limiter->inc("", limit)).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((co_await limiter->inc("k", limit, -1)).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ((co_await limiter->inc("k", SlidingWindowLimit{.limit = -1})).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(limiter->uncommitted(), 0);
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
  });
}

// More keys than one pipeline holds: each chunk is taken when it goes out and settled
// when answered; every grant reaches Redis once.
TEST_P(HybridWindowTest, ManyKeysSyncInChunks) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto limiter = *HybridSlidingWindowLimiter::create(
        redis, executor, {.prefix = "hy", .budget_fraction = 0.5, .sync_interval = hours(1)});
    const SlidingWindowLimit limit{.limit = 100, .window = minutes(15), .bucket = seconds(1)};
    for (int k = 0; k < 600; ++k) {
      const std::string key = "m" + std::to_string(k);
      EXPECT_TRUE((co_await limiter->inc(key, limit)).ok());
      Result<std::optional<WindowDecision>> local = limiter->try_inc(key, limit, 2);
      EXPECT_TRUE(local.ok() && local->has_value() && (*local)->allowed);
    }
    EXPECT_EQ(limiter->uncommitted(), 1200);
    const std::uint64_t before = limiter->redis_calls();
    EXPECT_TRUE((co_await limiter->sync()).ok());
    EXPECT_EQ(limiter->redis_calls() - before, 3u) << "600 keys in pipelines of 256";
    EXPECT_EQ(limiter->uncommitted(), 0);
    for (const char* key : {"m0", "m300", "m599"})
      EXPECT_EQ(co_await redis_total(redis, "hy", key, limit), 3) << key;
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
  });
}

DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(HybridWindowTest);

// One process, Redis unreachable from 1 s to 2 s: it grants at most its budget while
// cut off (then reports the failure), and once Redis is back every grant is committed
// exactly once or more (a commit whose reply was lost is sent again: counting twice
// only ever under-admits).
TEST(HybridWindowSimulation, CutOffFromRedisItGrantsAtMostItsBudget) {
  sim::World world({.seed = 5});
  const NodeId redis = world.add_redis_server("redis", std::make_unique<sim::InMemoryRedis>());
  const SlidingWindowLimit limit{.limit = 400, .window = seconds(10), .bucket = seconds(1)};
  std::int64_t granted_while_down = 0, granted = 0, failures = 0, final_total = -1;
  bool done = false;
  const NodeId app = world.add_instance("app", [&](sim::NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(
        redis, {.request_timeout = milliseconds(50), .connect_timeout = milliseconds(50)});
    auto limiter = *HybridSlidingWindowLimiter::create(
        *conn, node.executor(),
        {.prefix = "cut", .budget_fraction = 0.05, .sync_interval = milliseconds(10)});
    for (int i = 0; i < 300; ++i) {
      const bool down = world.now() >= seconds(1) && world.now() < seconds(2);
      Result<WindowDecision> d = co_await limiter->inc("k", limit);
      if (!d.ok()) ++failures;
      if (d.ok() && d->allowed) {
        ++granted;
        if (down) ++granted_while_down;
      }
      co_await sleep_for(node.executor(), milliseconds(10));
    }
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
    final_total = co_await redis_total(*conn, "cut", "k", limit);
    done = true;
  });
  world.schedule(seconds(1), [&] { world.partition(app, redis); });
  world.schedule(seconds(2), [&] { world.heal(app, redis); });
  ASSERT_TRUE(world.run_until([&] { return done; }, seconds(60)));
  EXPECT_LE(granted_while_down, 20) << "budget max(1, 400 x 0.05) = 20";
  EXPECT_GT(failures, 10) << "beyond the budget it reports Redis's absence";
  EXPECT_GT(granted, 150);
  EXPECT_GE(final_total, granted) << "nothing granted is lost to Redis";
  EXPECT_LE(final_total, granted + 20) << "at most the commits sent twice";
}

}  // namespace
}  // namespace distkit
