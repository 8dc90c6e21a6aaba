// The failure policy of the Redis limiter: the circuit breaker's states, and in the
// simulator a Redis that goes away for two seconds and comes back, under fail-open,
// fail-closed and a local fallback: while it is away, Redis is asked only by the
// breaker's probes, decisions follow the policy, and Redis decides again once back.
#include "distkit/core/resilient_gcra.h"

#include <gtest/gtest.h>

#include <map>

#include "distkit/sim/in_memory_redis.h"
#include "distkit/sim/world.h"

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

struct Outcome {
  std::map<DecidedBy, int> while_down, after;
  std::uint64_t redis_calls_while_down = 0;
  int allowed_while_down = 0;
};

// One instance checks every 10 ms for 5 s; Redis is unreachable from 1 s to 3 s.
Outcome run(FailureMode mode, bool fallback) {
  sim::World world({.seed = 3});
  const NodeId redis = world.add_redis_server("redis", std::make_unique<sim::InMemoryRedis>());
  Outcome out;
  bool done = false;
  const NodeId app = world.add_instance("app", [&](sim::NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(
        redis, {.request_timeout = milliseconds(100), .connect_timeout = milliseconds(100)});
    GcraLimiter limiter = *GcraLimiter::create(*conn, {.prefix = "r"});
    LocalGcraLimiter local(node.executor().clock());
    ResilientGcraLimiter resilient(
        limiter, node.executor().clock(),
        {.mode = mode,
         .breaker = {.failures_to_open = 3, .open_for = milliseconds(500)},
         .fallback = fallback ? &local : nullptr});
    const GcraRate rate{.permits = 20, .period = seconds(1), .burst = 1};
    std::uint64_t calls_before = 0;
    for (int i = 0; i < 500; ++i) {
      const Duration now = world.now();
      if (now >= milliseconds(1000) && calls_before == 0) calls_before = resilient.redis_calls();
      Result<ResilientDecision> d = co_await resilient.check("k", rate);
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
    done = true;
  });
  world.schedule(seconds(1), [&] { world.partition(app, redis); });
  world.schedule(seconds(3), [&] { world.heal(app, redis); });
  EXPECT_TRUE(world.run_until([&] { return done; }, seconds(60)));
  return out;
}

TEST(ResilientGcra, FailOpenAllowsWithoutAskingADownRedis) {
  Outcome o = run(FailureMode::kFailOpen, false);
  EXPECT_GT(o.while_down[DecidedBy::kFailOpen], 100);
  EXPECT_EQ(o.while_down[DecidedBy::kRedis], 0);
  // 3 failures open it, then one probe per 500 ms of the 2 s outage.
  EXPECT_LE(o.redis_calls_while_down, 3u + 5u) << "no timeout paid per request";
  EXPECT_GT(o.after[DecidedBy::kRedis], 100) << "handed back to Redis";
  EXPECT_EQ(o.after[DecidedBy::kFailOpen], 0);
}

TEST(ResilientGcra, FailClosedDenies) {
  Outcome o = run(FailureMode::kFailClosed, false);
  EXPECT_GT(o.while_down[DecidedBy::kFailClosed], 100);
  EXPECT_EQ(o.allowed_while_down, 0);
  EXPECT_GT(o.after[DecidedBy::kRedis], 100);
}

TEST(ResilientGcra, ALocalFallbackLimitsMeanwhileAndHandsBack) {
  Outcome o = run(FailureMode::kFailClosed, true);
  EXPECT_GT(o.while_down[DecidedBy::kFallback], 100);
  // 1.8 s at 20/s with a burst of 2, checked 100 times a second: about 38 allowed.
  EXPECT_GE(o.allowed_while_down, 30);
  EXPECT_LE(o.allowed_while_down, 2 + 37);
  EXPECT_GT(o.after[DecidedBy::kRedis], 100);
  EXPECT_EQ(o.after[DecidedBy::kFallback], 0);
}

}  // namespace
}  // namespace distkit
