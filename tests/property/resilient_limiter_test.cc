// The failure policy of the Redis limiters (GCRA, sliding window, suppressed): the
// circuit breaker's states, and in the simulator a Redis that goes away for two seconds
// and comes back, under fail-open, fail-closed and a local fallback: while it is away,
// Redis is asked only by the breaker's probes, decisions follow the policy, and Redis
// decides again once back.
#include <gtest/gtest.h>

#include <map>

#include "distkit/core/limiters/resilient_gcra.h"
#include "distkit/core/limiters/resilient_window.h"
#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/sim/world/world.h"

namespace distkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(CircuitBreaker, OpensAfterFailuresProbesOnceThenCloses) {
  CircuitBreaker b({.failures_to_open = 3, .open_for = seconds(1)});
  MonoTime t{};
  EXPECT_TRUE(b.allow(t));
  b.on_failure(t);
  b.on_failure(t);
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  b.on_failure(t);
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.allow(t + milliseconds(999)));
  EXPECT_TRUE(b.allow(t + seconds(1))) << "the probe";
  EXPECT_FALSE(b.allow(t + seconds(1))) << "one probe at a time";
  b.on_failure(t + seconds(1));
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen) << "a failed probe reopens at once";
  EXPECT_FALSE(b.allow(t + milliseconds(1500)));
  EXPECT_TRUE(b.allow(t + seconds(2)));
  b.on_success();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.allow(t + seconds(2)));
  EXPECT_EQ(b.times_opened(), 2u);
}

// One limiter kind under test: how to build its Redis and local limiters, the limit
// the outage runs with, and how many of the ~180 checks made while Redis is away its
// local fallback may allow.
struct GcraKind {
  using Policy = GcraFailurePolicy;
  static GcraLimiter remote(RedisConnection& conn, Executor&) {
    return *GcraLimiter::create(conn, {.prefix = "r"});
  }
  static LocalGcraLimiter local(const Clock& clock) { return LocalGcraLimiter(clock); }
  // 1.8 s at 20/s with a burst of 2, checked 100 times a second: about 38 allowed.
  static GcraRate limit() { return {.permits = 20, .period = seconds(1), .burst = 1}; }
  static constexpr int kMinAllowedDown = 30, kMaxAllowedDown = 2 + 37;
};

struct WindowKind {
  using Policy = WindowFailurePolicy;
  static SlidingWindowLimiter remote(RedisConnection& conn, Executor&) {
    return *SlidingWindowLimiter::create(conn, {.prefix = "r"});
  }
  static LocalSlidingWindowLimiter local(const Clock& clock) {
    return LocalSlidingWindowLimiter(clock);
  }
  // At most 20 in any 900 ms: 1.8 s holds at most three such spans' worth.
  static SlidingWindowLimit limit() {
    return {.limit = 20, .window = seconds(1), .bucket = milliseconds(100)};
  }
  static constexpr int kMinAllowedDown = 30, kMaxAllowedDown = 60;
};

struct SuppressedKind {
  using Policy = SuppressedFailurePolicy;
  static SuppressedLimiter remote(RedisConnection& conn, Executor& executor) {
    return *SuppressedLimiter::create(conn, executor, {.prefix = "r", .seed = 7});
  }
  static LocalSuppressedLimiter local(const Clock& clock) {
    return LocalSuppressedLimiter(clock, /*seed=*/7);
  }
  // Free up to 10 per second, never past 20: over 1.8 s at least the soft rate.
  static SuppressedLimit limit() {
    return {.soft_limit = 10,
            .hard_limit = 20,
            .window = seconds(1),
            .bucket = milliseconds(100),
            .factor_cache = milliseconds(100)};
  }
  static constexpr int kMinAllowedDown = 17, kMaxAllowedDown = 60;
};

struct Outcome {
  std::map<DecidedBy, int> while_down, after;
  std::uint64_t redis_calls_while_down = 0;
  int allowed_while_down = 0;
};

// One instance checks every 10 ms for 5 s; Redis is unreachable from 1 s to 3 s.
template <typename Kind>
Outcome run(FailureMode mode, bool fallback) {
  sim::World world({.seed = 3});
  const NodeId redis = world.add_redis_server("redis", std::make_unique<sim::InMemoryRedis>());
  Outcome out;
  bool done = false;
  const NodeId app = world.add_instance("app", [&](sim::NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(
        redis, {.request_timeout = milliseconds(100), .connect_timeout = milliseconds(100)});
    auto limiter = Kind::remote(*conn, node.executor());
    auto local = Kind::local(node.executor().clock());
    ResilientLimiter<typename Kind::Policy> resilient(
        limiter, node.executor().clock(),
        {.mode = mode,
         .breaker = {.failures_to_open = 3, .open_for = milliseconds(500)},
         .fallback = fallback ? &local : nullptr});
    const auto limit = Kind::limit();
    std::uint64_t calls_before = 0;
    for (int i = 0; i < 500; ++i) {
      const Duration now = world.now();
      if (now >= milliseconds(1000) && calls_before == 0) calls_before = resilient.redis_calls();
      auto d = co_await resilient.check("k", limit);
      EXPECT_TRUE(d.ok()) << d.status();
      if (d.ok()) {
        const bool down = now >= milliseconds(1200) && now < milliseconds(3000);
        if (down) {
          ++out.while_down[d->decided_by];
          out.allowed_while_down += d->decision.allowed ? 1 : 0;
        } else if (now >= milliseconds(3700)) {
          ++out.after[d->decided_by];
        }
      }
      if (now < milliseconds(3000))
        out.redis_calls_while_down = resilient.redis_calls() - calls_before;
      co_await sleep_for(node.executor(), milliseconds(10));
    }
    // Bad input is refused whatever the policy, breaker open or not.
    auto empty_key = co_await resilient.check("", limit);
    EXPECT_EQ(empty_key.status().code(), StatusCode::kInvalidArgument);
    auto negative = co_await resilient.check("k", limit, -1);
    EXPECT_EQ(negative.status().code(), StatusCode::kInvalidArgument);
    done = true;
  });
  world.schedule(seconds(1), [&] { world.partition(app, redis); });
  world.schedule(seconds(3), [&] { world.heal(app, redis); });
  EXPECT_TRUE(world.run_until([&] { return done; }, seconds(60)));
  return out;
}

template <typename Kind>
class ResilientLimiterTest : public ::testing::Test {};
using Kinds = ::testing::Types<GcraKind, WindowKind, SuppressedKind>;
TYPED_TEST_SUITE(ResilientLimiterTest, Kinds);

TYPED_TEST(ResilientLimiterTest, FailOpenAllowsWithoutAskingADownRedis) {
  Outcome o = run<TypeParam>(FailureMode::kFailOpen, false);
  EXPECT_GT(o.while_down[DecidedBy::kFailOpen], 100);
  EXPECT_EQ(o.while_down[DecidedBy::kRedis], 0);
  EXPECT_EQ(o.allowed_while_down, o.while_down[DecidedBy::kFailOpen]);
  // 3 failures open it, then one probe per 500 ms of the 2 s outage.
  EXPECT_LE(o.redis_calls_while_down, 3u + 5u) << "no timeout paid per request";
  EXPECT_GT(o.after[DecidedBy::kRedis], 100) << "handed back to Redis";
  EXPECT_EQ(o.after[DecidedBy::kFailOpen], 0);
}

TYPED_TEST(ResilientLimiterTest, FailClosedDenies) {
  Outcome o = run<TypeParam>(FailureMode::kFailClosed, false);
  EXPECT_GT(o.while_down[DecidedBy::kFailClosed], 100);
  EXPECT_EQ(o.allowed_while_down, 0);
  EXPECT_GT(o.after[DecidedBy::kRedis], 100);
}

TYPED_TEST(ResilientLimiterTest, ALocalFallbackLimitsMeanwhileAndHandsBack) {
  Outcome o = run<TypeParam>(FailureMode::kFailClosed, true);
  EXPECT_GT(o.while_down[DecidedBy::kFallback], 100);
  EXPECT_GE(o.allowed_while_down, TypeParam::kMinAllowedDown);
  EXPECT_LE(o.allowed_while_down, TypeParam::kMaxAllowedDown);
  EXPECT_GT(o.after[DecidedBy::kRedis], 100);
  EXPECT_EQ(o.after[DecidedBy::kFallback], 0);
}

}  // namespace
}  // namespace distkit
