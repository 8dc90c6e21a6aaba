// The suppressed strategy: free below the soft limit, shed with a growing factor
// between soft and hard, never past hard (a property); the admitted rate settles near
// the soft rate under 2x overload; the local limiter under threads; and the Redis
// script against the pure decision on every backend, draw for draw.
#include "distkit/core/limiters/suppressed_window.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "distkit/core/limiters/suppressed_limiter.h"
#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/sim/world/rng.h"
#include "distkit/sim/world/world.h"
#include "distkit/tests/support/backends.h"
#include "distkit/tests/support/manual_clock.h"
#include "distkit/tests/support/pinned_expiry.h"

namespace distkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const SuppressedLimit kLimit{
    .soft_limit = 100, .hard_limit = 200, .window = seconds(10), .bucket = milliseconds(100)};

TEST(SuppressedWindow, FreeBelowSoftShedBetweenNeverPastHard) {
  SuppressedState s;
  DrawSource draws(5);
  for (int i = 0; i < 100; ++i) {
    SuppressedDecision d = suppressed_decide(s, kLimit, i * 10, 1, draws.next_unit());
    ASSERT_TRUE(d.allowed);
    ASSERT_FALSE(d.suppressing);
  }
  int admitted = 100, shed = 0;
  for (int i = 100; i < 1000; ++i) {
    SuppressedDecision d = suppressed_decide(s, kLimit, i * 10, 1, draws.next_unit());
    EXPECT_TRUE(d.suppressing);
    EXPECT_GT(d.factor, 0);
    admitted += d.allowed ? 1 : 0;
    shed += d.allowed ? 0 : 1;
    EXPECT_EQ(d.observed - d.declined, admitted);
  }
  EXPECT_LE(admitted, 200) << "never past hard";
  EXPECT_GT(shed, 0);
  SuppressedDecision d = suppressed_decide(s, kLimit, 9999, 500, 0.0);
  EXPECT_FALSE(d.allowed) << "a request past hard is refused whatever the draw";
  EXPECT_EQ(d.factor, 1);
}

TEST(SuppressedWindow, TwiceTheSoftRateSettlesNearTheSoftRate) {
  SuppressedState s;
  DrawSource draws(9);
  int admitted_last_window = 0;
  for (std::int64_t now = 0; now < 120'000; now += 50) {  // 20/s for two minutes
    const bool ok = suppressed_decide(s, kLimit, now, 1, draws.next_unit()).allowed;
    if (now >= 110'000) admitted_last_window += ok ? 1 : 0;
  }
  // Soft is 100 per 10 s (10/s): the factor is about 1 - 10/20, so about half pass.
  EXPECT_GE(admitted_last_window, 70);
  EXPECT_LE(admitted_last_window, 140);
}

TEST(SuppressedWindow, InvalidLimitsAreRejected) {
  EXPECT_FALSE((SuppressedLimit{.soft_limit = 5, .hard_limit = 4}).validate().ok());
  EXPECT_FALSE((SuppressedLimit{.soft_limit = -1, .hard_limit = 4}).validate().ok());
  EXPECT_TRUE(kLimit.validate().ok());
}

struct Step {
  std::int64_t advance_ms;
  std::int64_t count;
};

RC_GTEST_PROP(SuppressedWindow, TheAdmittedTotalNeverPassesHard, (std::uint64_t seed)) {
  const std::int64_t soft = *rc::gen::inRange<std::int64_t>(0, 30);
  const SuppressedLimit limit{.soft_limit = soft,
                              .hard_limit = soft + *rc::gen::inRange<std::int64_t>(0, 30),
                              .window = milliseconds(*rc::gen::inRange<std::int64_t>(100, 3000)),
                              .bucket = milliseconds(50)};
  RC_PRE(limit.validate().ok());
  const auto steps = *rc::gen::container<std::vector<Step>>(
      rc::gen::build<Step>(rc::gen::set(&Step::advance_ms, rc::gen::inRange<std::int64_t>(0, 200)),
                           rc::gen::set(&Step::count, rc::gen::inRange<std::int64_t>(0, 4))));
  SuppressedState s;
  DrawSource draws(seed);
  std::int64_t now = 0;
  for (const Step& step : steps) {
    now += step.advance_ms;
    const SuppressedDecision d = suppressed_decide(s, limit, now, step.count, draws.next_unit());
    RC_ASSERT(d.observed - d.declined <= limit.hard_limit);
    RC_ASSERT(d.factor >= 0 && d.factor <= 1);
    if (!d.suppressing) RC_ASSERT(d.allowed);
  }
}

TEST(LocalSuppressed, ThreadsNeverPassHard) {
  test_support::ManualClock clock(seconds(5));
  LocalSuppressedLimiter limiter(clock, 3);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (limiter.inc("hot", kLimit)->allowed) ++admitted;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_GE(admitted.load(), 100) << "everything below soft";
  EXPECT_LE(admitted.load(), 200);
}

using SuppressedLimiterTest = test_support::BackendTest;

TEST_P(SuppressedLimiterTest, TheScriptAgreesWithThePureDecision) {
  backend_->run([](RedisConnection& redis, Executor& executor) -> Task<void> {
    test_support::ManualClock clock;
    // Keys must not expire on the server's real clock while the test's clock stands.
    test_support::PinnedExpiryConnection pinned(redis, {&SuppressedLimiter::script()});
    SuppressedLimiter limiter = *SuppressedLimiter::create(
        pinned, executor, {.prefix = "sup", .client_clock = &clock, .seed = 1});
    sim::Rng rng(23);
    int checks = 0, suppressing = 0;
    for (int sequence = 0; sequence < 20; ++sequence) {
      const std::int64_t soft = rng.between(0, 20);
      const SuppressedLimit limit{.soft_limit = soft,
                                  .hard_limit = soft + rng.between(0, 20),
                                  .window = milliseconds(rng.between(200, 3000)),
                                  .bucket = milliseconds(rng.between(1, 200)),
                                  .factor_cache = milliseconds(rng.between(1, 300))};
      if (!limit.validate().ok()) continue;
      SuppressedState model;
      std::int64_t now = 1'700'000'000'000 + sequence;
      const std::string key = "s" + std::to_string(sequence);
      for (int step = 0; step < 60; ++step) {
        now += rng.chance(0.3) ? 0 : rng.between(0, rng.chance(0.05) ? 5000 : 100);
        clock.set(milliseconds(now));
        const std::int64_t count = rng.between(0, 3);
        const double draw = rng.unit();
        // Sometimes with requests a hybrid limiter decided elsewhere.
        SuppressedCommit committed;
        if (rng.chance(0.3)) {
          committed.observed = rng.between(0, 6);
          committed.declined = rng.between(0, committed.observed);
        }
        const SuppressedDecision want =
            suppressed_decide(model, limit, now, count, draw, committed);
        Result<SuppressedDecision> got =
            co_await limiter.commit_and_inc(key, limit, committed, count, draw);
        if (!got.ok() || !(*got == want)) {
          ADD_FAILURE() << "sequence " << sequence << " step " << step
                        << ": model allowed=" << want.allowed << " factor=" << want.factor
                        << " observed=" << want.observed << " declined=" << want.declined
                        << "; script "
                        << (got.ok() ? "allowed=" + std::to_string(got->allowed) +
                                           " factor=" + std::to_string(got->factor) +
                                           " observed=" + std::to_string(got->observed) +
                                           " declined=" + std::to_string(got->declined)
                                     : got.status().to_string());
          co_return;
        }
        // While the hash exists it lives until its newest bucket leaves the window.
        const std::int64_t newest = model.buckets.empty() ? now : model.buckets.back().start_ms;
        const std::int64_t live_ttl = std::max(newest, now) + limit.window_ms() + 1 - now;
        const std::int64_t ttl = pinned.last_ttl_ms().value_or(-3);
        if (ttl != live_ttl && !(ttl == -2 && model.buckets.empty())) {
          ADD_FAILURE() << "sequence " << sequence << " step " << step
                        << ": the script left a TTL of " << ttl << " ms, the model says "
                        << live_ttl << (model.buckets.empty() ? " or no key" : "");
          co_return;
        }
        suppressing += want.suppressing ? 1 : 0;
        ++checks;
      }
    }
    EXPECT_GT(checks, 800);
    EXPECT_GT(suppressing, 100) << "the shedding zone is exercised";
  });
}

DISTKIT_INSTANTIATE_ON_ALL_BACKENDS(SuppressedLimiterTest);

// Left unseeded in the simulator, the draws come from the node: a world's seed replays
// them (they used to come from the operating system, and no run replayed).
std::vector<double> unseeded_draws(std::uint64_t world_seed) {
  sim::World world({.seed = world_seed});
  const NodeId redis = world.add_redis_server("redis", std::make_unique<sim::InMemoryRedis>());
  std::vector<double> draws;
  world.add_instance("app", [&](sim::NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(redis);
    Result<SuppressedLimiter> limiter =
        SuppressedLimiter::create(*conn, node.executor(), {.prefix = "p"});
    EXPECT_TRUE(limiter.ok()) << limiter.status();
    if (!limiter.ok()) co_return;
    for (int i = 0; i < 4; ++i)
      draws.push_back(limiter->next_draw());
  });
  world.run_for(seconds(1));
  return draws;
}

TEST(SuppressedLimiter, UnseededDrawsComeFromTheSimulatedNode) {
  const std::vector<double> first = unseeded_draws(5);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(unseeded_draws(5), first) << "the same world seed replays the same draws";
  EXPECT_NE(unseeded_draws(6), first) << "another world seed, other draws";
}

}  // namespace
}  // namespace distkit
