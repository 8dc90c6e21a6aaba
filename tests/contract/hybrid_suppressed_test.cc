// HybridSuppressedLimiter: admissions within the local budget cost no round trip, past
// the hard limit it declines without I/O, shedding is drawn here against Redis's factor
// and every decision made here reaches Redis exactly once, bad input is refused (on
// every backend); and, in the simulator, a process cut off from Redis admits at most
// its budget and commits everything once it is back. The bound across processes under
// generated faults is in gcra_simulation_test (TheHybridSuppressedBoundHoldsAcrossInstances).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "distkit/core/limiters/hybrid_suppressed_limiter.h"
#include "distkit/core/limiters/suppressed_limiter.h"
#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/sim/world/world.h"
#include "distkit/tests/support/backends.h"

namespace distkit {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

using HybridSuppressedTest = test_support::BackendTest;

// What Redis holds for `key` (a read through the plain Redis limiter).
Task<SuppressedDecision> redis_view(RedisConnection& redis, Executor& executor,
                                    const std::string& prefix, const std::string& key,
                                    const SuppressedLimit& limit) {
  SuppressedLimiter plain =
      *SuppressedLimiter::create(redis, executor, {.prefix = prefix, .seed = 1});
  Result<SuppressedDecision> d = co_await plain.inc(key, limit, 0);
  if (!d.ok()) {
    ADD_FAILURE() << d.status();
    co_return SuppressedDecision{.observed = -1, .declined = -1};
  }
  co_return *d;
}

TEST_P(HybridSuppressedTest, AdmissionsWithinTheBudgetNeedNoRoundTrip) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto limiter = *HybridSuppressedLimiter::create(
        redis, executor,
        {.prefix = "hs", .budget_fraction = 0.1, .sync_interval = hours(1), .seed = 3});
    // A window longer than any run of the test (bazel times it out first): every request
    // is still in it at the end, however slow the machine.
    const SuppressedLimit limit{.soft_limit = 100,
                                .hard_limit = 200,
                                .window = minutes(15),
                                .bucket = seconds(1),
                                .factor_cache = seconds(10)};
    EXPECT_EQ(limiter->budget(limit), 20);
    Result<SuppressedDecision> first = co_await limiter->inc("k", limit);
    EXPECT_TRUE(first.ok() && first->allowed && first->observed == 1);
    EXPECT_EQ(limiter->redis_calls(), 1u);
    for (int i = 0; i < 20; ++i) {
      Result<std::optional<SuppressedDecision>> local = limiter->try_inc("k", limit);
      EXPECT_TRUE(local.ok() && local->has_value() && (*local)->allowed) << i;
    }
    EXPECT_EQ(limiter->redis_calls(), 1u) << "twenty admissions within the budget, no I/O";
    EXPECT_EQ(limiter->uncommitted(), 20);
    EXPECT_EQ((co_await redis_view(redis, executor, "hs", "k", limit)).observed, 1);
    Result<std::optional<SuppressedDecision>> beyond = limiter->try_inc("k", limit);
    EXPECT_TRUE(beyond.ok() && !beyond->has_value()) << "the budget is spent: ask Redis";
    // The next one commits the twenty and takes one, in one script.
    Result<SuppressedDecision> next = co_await limiter->inc("k", limit);
    EXPECT_TRUE(next.ok() && next->allowed && next->observed == 22 && next->declined == 0);
    EXPECT_EQ(limiter->redis_calls(), 2u);
    EXPECT_EQ(limiter->uncommitted(), 0);
    EXPECT_EQ((co_await redis_view(redis, executor, "hs", "k", limit)).observed, 22);
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
  });
}

TEST_P(HybridSuppressedTest, PastTheHardLimitItDeclinesHereAndCommitsTheDeclines) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto limiter = *HybridSuppressedLimiter::create(
        redis, executor,
        {.prefix = "hs", .budget_fraction = 1, .sync_interval = hours(1), .seed = 3});
    // soft == hard: a hard cut at 10, in a window longer than any run of the test.
    const SuppressedLimit limit{.soft_limit = 10,
                                .hard_limit = 10,
                                .window = minutes(15),
                                .bucket = seconds(1),
                                .factor_cache = seconds(10)};
    int allowed = 0, declined = 0;
    for (int i = 0; i < 30; ++i) {
      Result<SuppressedDecision> d = co_await limiter->inc("k", limit);
      EXPECT_TRUE(d.ok()) << d.status();
      if (!d.ok()) continue;
      ++(d->allowed ? allowed : declined);
      if (!d->allowed) {
        EXPECT_TRUE(d->suppressing && d->factor == 1);
      }
    }
    EXPECT_EQ(allowed, 10);
    EXPECT_EQ(declined, 20);
    EXPECT_EQ(limiter->redis_calls(), 1u) << "one view, then everything decided here";
    EXPECT_EQ(limiter->uncommitted(), 29);
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
    const SuppressedDecision in_redis = co_await redis_view(redis, executor, "hs", "k", limit);
    EXPECT_EQ(in_redis.observed, 30);
    EXPECT_EQ(in_redis.declined, 20);
    // Another process asks Redis: the window is full.
    auto other = *HybridSuppressedLimiter::create(redis, executor,
                                                  {.prefix = "hs", .sync_interval = hours(1)});
    Result<SuppressedDecision> d = co_await other->inc("k", limit);
    EXPECT_TRUE(d.ok() && !d->allowed);
    EXPECT_TRUE((co_await other->shutdown()).ok());
  });
}

TEST_P(HybridSuppressedTest, SheddingDecidedHereReachesRedisExactlyOnce) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    // No background sync: a sync after every 100 decisions instead, so the number of
    // round trips does not depend on how fast the loop runs.
    auto limiter = *HybridSuppressedLimiter::create(
        redis, executor,
        {.prefix = "hs", .budget_fraction = 0.1, .sync_interval = hours(1), .seed = 9});
    // A window (and factor cache) longer than any run of the test: every decision is
    // still in it at the end, and the view never expires, however slow the machine.
    // Past soft the factor is 1 - (50 / 900 s) / perceived rate, the perceived rate
    // being at least the 49 requests committed in the crossing call: in (0, 1), near 1.
    const SuppressedLimit limit{.soft_limit = 50,
                                .hard_limit = 500,
                                .window = minutes(15),
                                .bucket = seconds(1),
                                .factor_cache = minutes(15)};
    int allowed = 0, declined = 0, shed = 0;
    for (int i = 0; i < 2000; ++i) {
      if (i % 100 == 99) {
        EXPECT_TRUE((co_await limiter->sync()).ok());
      }
      Result<SuppressedDecision> d = co_await limiter->inc("k", limit);
      EXPECT_TRUE(d.ok()) << d.status();
      if (!d.ok()) continue;
      ++(d->allowed ? allowed : declined);
      if (d->suppressing && d->factor > 0 && d->factor < 1) ++shed;
      EXPECT_TRUE(d->factor >= 0 && d->factor <= 1);
    }
    EXPECT_GE(allowed, 50) << "everything up to soft";
    EXPECT_LE(allowed, 500) << "never past hard";
    EXPECT_GT(declined, 1000) << "a factor near 1 sheds most";
    EXPECT_GT(shed, 1000) << "shed with a factor in (0, 1), not cut";
    EXPECT_LT(limiter->redis_calls(), 200u) << "most decisions made here";
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
    EXPECT_EQ(limiter->uncommitted(), 0);
    const SuppressedDecision in_redis = co_await redis_view(redis, executor, "hs", "k", limit);
    EXPECT_EQ(in_redis.observed, 2000) << "every decision recorded once";
    EXPECT_EQ(in_redis.declined, declined);
  });
}

// A request refused for passing the hard limit comes back with factor 1; that is not
// Redis's shedding factor, so a smaller request in the shedding zone is left to Redis
// rather than declined here with it.
TEST_P(HybridSuppressedTest, AHardLimitRefusalIsNotTakenForTheFactor) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    const SuppressedLimit limit{.soft_limit = 10,
                                .hard_limit = 20,
                                .window = minutes(15),
                                .bucket = seconds(1),
                                .factor_cache = seconds(10)};
    SuppressedLimiter plain =
        *SuppressedLimiter::create(redis, executor, {.prefix = "hs", .seed = 1});
    Result<SuppressedDecision> fill = co_await plain.inc_with_draw("f", limit, 19, 0.0);
    EXPECT_TRUE(fill.ok() && fill->allowed) << "19 admitted: a factor below 1, draw 0";
    auto limiter = *HybridSuppressedLimiter::create(
        redis, executor,
        {.prefix = "hs", .budget_fraction = 1, .sync_interval = hours(1), .seed = 3});
    Result<SuppressedDecision> two = co_await limiter->inc("f", limit, 2);
    EXPECT_TRUE(two.ok() && !two->allowed && two->factor == 1) << "19 + 2 passes hard";
    EXPECT_EQ(limiter->redis_calls(), 1u);
    Result<std::optional<SuppressedDecision>> one = limiter->try_inc("f", limit, 1);
    EXPECT_TRUE(one.ok() && !one->has_value()) << "19 + 1 is Redis's to draw";
    Result<SuppressedDecision> asked = co_await limiter->inc("f", limit, 1);
    EXPECT_TRUE(asked.ok() && asked->factor < 1) << "drawn against Redis's factor";
    EXPECT_EQ(limiter->redis_calls(), 2u);
    Result<std::optional<SuppressedDecision>> three = limiter->try_inc("f", limit, 3);
    EXPECT_TRUE(three.ok() && three->has_value() && !(*three)->allowed)
        << "past hard: still declined here";
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
  });
}

TEST_P(HybridSuppressedTest, BadInputIsRefused) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    for (double fraction : {0.0, -1.0, 1.5, std::nan("")}) {
      EXPECT_EQ(HybridSuppressedLimiter::create(redis, executor,
                                                {.prefix = "hs", .budget_fraction = fraction})
                    .status()
                    .code(),
                StatusCode::kInvalidArgument)
          << fraction;
    }
    EXPECT_EQ(HybridSuppressedLimiter::create(redis, executor, {.prefix = "a:b"}).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(HybridSuppressedLimiter::create(redis, executor,
                                              {.prefix = "hs", .sync_interval = Duration(0)})
                  .status()
                  .code(),
              StatusCode::kInvalidArgument);
    { auto dropped = *HybridSuppressedLimiter::create(redis, executor, {.prefix = "hs"}); }
    auto limiter = *HybridSuppressedLimiter::create(redis, executor, {.prefix = "hs"});
    const SuppressedLimit limit{.soft_limit = 5, .hard_limit = 10};
    EXPECT_EQ((co_await limiter->inc("", limit)).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((co_await limiter->inc("k", limit, -1)).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ((co_await limiter->inc("k", SuppressedLimit{.soft_limit = 5, .hard_limit = 4}))
                  .status()
                  .code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(limiter->try_inc("k", SuppressedLimit{.soft_limit = -1}).status().code(),
              StatusCode::kInvalidArgument);
    // Too large a count is refused with a live view too, before anything is recorded.
    EXPECT_TRUE((co_await limiter->inc("k", limit)).ok());
    EXPECT_EQ(limiter->try_inc("k", limit, std::int64_t{1} << 53).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(
        limiter->try_inc("k", limit, std::numeric_limits<std::int64_t>::max()).status().code(),
        StatusCode::kInvalidArgument);
    EXPECT_EQ(limiter->uncommitted(), 0);
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
  });
}

// More keys than one pipeline holds: each chunk is taken when it goes out and settled
// when answered; every request decided here reaches Redis once.
TEST_P(HybridSuppressedTest, ManyKeysSyncInChunks) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    auto limiter = *HybridSuppressedLimiter::create(
        redis, executor,
        {.prefix = "hs", .budget_fraction = 0.5, .sync_interval = hours(1), .seed = 3});
    const SuppressedLimit limit{.soft_limit = 100,
                                .hard_limit = 100,
                                .window = minutes(15),
                                .bucket = seconds(1),
                                .factor_cache = seconds(30)};
    for (int k = 0; k < 600; ++k) {
      const std::string key = "m" + std::to_string(k);
      EXPECT_TRUE((co_await limiter->inc(key, limit)).ok());
      Result<std::optional<SuppressedDecision>> local = limiter->try_inc(key, limit, 2);
      EXPECT_TRUE(local.ok() && local->has_value() && (*local)->allowed);
    }
    EXPECT_EQ(limiter->uncommitted(), 1200);
    const std::uint64_t before = limiter->redis_calls();
    EXPECT_TRUE((co_await limiter->sync()).ok());
    EXPECT_EQ(limiter->redis_calls() - before, 3u) << "600 keys in pipelines of 256";
    EXPECT_EQ(limiter->uncommitted(), 0);
    for (const char* key : {"m0", "m300", "m599"})
      EXPECT_EQ((co_await redis_view(redis, executor, "hs", key, limit)).observed, 3) << key;
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
  });
}

DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(HybridSuppressedTest);

// One process, Redis unreachable from 1 s to 2 s: it admits at most its budget while
// cut off (then reports the failure), and once Redis is back every decision is
// committed at least once (a commit whose reply was lost is sent again).
TEST(HybridSuppressedSimulation, CutOffFromRedisItAdmitsAtMostItsBudget) {
  sim::World world({.seed = 5});
  const NodeId redis = world.add_redis_server("redis", std::make_unique<sim::InMemoryRedis>());
  const SuppressedLimit limit{
      .soft_limit = 400, .hard_limit = 400, .window = seconds(10), .bucket = seconds(1)};
  std::int64_t admitted_while_down = 0, admitted = 0, decided = 0, failures = 0;
  SuppressedDecision final_view;
  bool done = false;
  const NodeId app = world.add_instance("app", [&](sim::NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(
        redis, {.request_timeout = milliseconds(50), .connect_timeout = milliseconds(50)});
    auto limiter = *HybridSuppressedLimiter::create(
        *conn, node.executor(),
        {.prefix = "cut", .budget_fraction = 0.05, .sync_interval = milliseconds(10), .seed = 2});
    for (int i = 0; i < 300; ++i) {
      const bool down = world.now() >= seconds(1) && world.now() < seconds(2);
      Result<SuppressedDecision> d = co_await limiter->inc("k", limit);
      if (!d.ok()) ++failures;
      if (d.ok()) ++decided;
      if (d.ok() && d->allowed) {
        ++admitted;
        if (down) ++admitted_while_down;
      }
      co_await sleep_for(node.executor(), milliseconds(10));
    }
    EXPECT_TRUE((co_await limiter->shutdown()).ok());
    final_view = co_await redis_view(*conn, node.executor(), "cut", "k", limit);
    done = true;
  });
  world.schedule(seconds(1), [&] { world.partition(app, redis); });
  world.schedule(seconds(2), [&] { world.heal(app, redis); });
  ASSERT_TRUE(world.run_until([&] { return done; }, seconds(60)));
  EXPECT_LE(admitted_while_down, 20) << "budget max(1, 400 x 0.05) = 20";
  EXPECT_GT(failures, 10) << "beyond the budget it reports Redis's absence";
  EXPECT_GT(admitted, 150);
  EXPECT_GE(final_view.observed, decided) << "nothing decided here is lost to Redis";
  const std::int64_t admitted_in_redis = final_view.observed - final_view.declined;
  EXPECT_GE(admitted_in_redis, admitted);
  EXPECT_LE(admitted_in_redis, admitted + 20) << "at most the commits sent twice";
}

}  // namespace
}  // namespace distkit
