// GcraLimiter, SlidingWindowLimiter and HybridSlidingWindowLimiter across four instances in the
// simulator, under generated fault schedules (partitions, loss, resets, crashes, pauses, client
// clock skew and jumps, script flushes, slow server): on the Redis server's clock, at most burst +
// 1 + floor((W - 1) / T) permits are granted in any window of W, however skewed the instances'
// clocks are. A grant is known to have happened within [sent, acknowledged] (true time), so every
// window [sent_i, acknowledged_j] is checked against the grants that certainly fell inside it. The
// sliding window's bound: at most `limit` in any (window - bucket); the hybrid's: at most limit +
// (N - 1) x budget in any (window - bucket), N the processes that granted in it. The suppressed
// strategy's (SuppressedLimiter, HybridSuppressedLimiter): the same with its hard limit. The same
// run with the limiter on the instances' own clocks breaks the bound once their clocks disagree
// (GcraSimulation.ClientClocksBreakTheBoundUnderSkew).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <set>

#include "distkit/core/limiters/gcra_limiter.h"
#include "distkit/core/limiters/hybrid_suppressed_limiter.h"
#include "distkit/core/limiters/hybrid_window_limiter.h"
#include "distkit/core/limiters/sliding_window_limiter.h"
#include "distkit/core/limiters/suppressed_limiter.h"
#include "distkit/sim/check/limiter_bounds.h"
#include "distkit/sim/faults/fault_schedule.h"
#include "distkit/sim/harness/harness.h"
#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/sim/world/world.h"

namespace distkit::sim {

using namespace std::chrono_literals;
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kTarget[] = "//tests/property:gcra_simulation_test";
constexpr Duration kChaos = seconds(2);
const std::vector<NodeId> kServers = {0};
const std::vector<NodeId> kClients = {1, 2, 3, 4};
// T = 2 ms, 5 at once.
const GcraRate kRate{.permits = 50, .period = milliseconds(100), .burst = 4};
// At most 20 in any 90 ms.
const SlidingWindowLimit kWindow{
    .limit = 20, .window = milliseconds(100), .bucket = milliseconds(10)};

// Shedding from 10, never past 20 in any 90 ms.
const SuppressedLimit kSuppressed{.soft_limit = 10,
                                  .hard_limit = 20,
                                  .window = milliseconds(100),
                                  .bucket = milliseconds(10),
                                  .factor_cache = milliseconds(20)};

// The hybrids' budget per instance: max(1, floor(20 * 0.1)) = 2.
constexpr double kHybridFraction = 0.1;
constexpr std::int64_t kHybridBudget = 2;

enum class Kind { kGcra, kSlidingWindow, kHybridWindow, kSuppressed, kHybridSuppressed };
constexpr Kind kKinds[] = {Kind::kGcra, Kind::kSlidingWindow, Kind::kHybridWindow,
                           Kind::kSuppressed, Kind::kHybridSuppressed};

struct RunResult {
  std::optional<std::string> violation;
  std::string report;
  std::size_t grants = 0;
};

std::int64_t us(Duration d) {
  return std::chrono::duration_cast<microseconds>(d).count();
}

RunResult run(std::uint64_t seed, const FaultSchedule& schedule, bool client_clocks,
              Kind kind = Kind::kGcra, double hybrid_fraction = kHybridFraction) {
  World world({.seed = seed,
               .default_link = LinkConfig{
                   .latency = {.min = 100us, .max = 1ms, .tail_probability = 0.02, .tail = 20ms}}});
  world.add_redis_server("redis", std::make_unique<InMemoryRedis>());
  std::vector<Grant> grants;
  bool stop = false;
  for (int i = 0; i < 4; ++i) {
    world.add_instance("c" + std::to_string(i), [&](NodeContext& node) -> Task<void> {
      auto conn = node.connect_redis(
          0, {.request_timeout = milliseconds(50), .connect_timeout = milliseconds(50)});
      const Clock* own = client_clocks ? &node.executor().clock() : nullptr;
      GcraLimiter gcra = *GcraLimiter::create(*conn, {.prefix = "sim", .client_clock = own});
      SlidingWindowLimiter window =
          *SlidingWindowLimiter::create(*conn, {.prefix = "sim", .client_clock = own});
      // The hybrids only when tested: their sync tasks are events.
      std::unique_ptr<HybridSlidingWindowLimiter> hybrid;
      if (kind == Kind::kHybridWindow) {
        hybrid = *HybridSlidingWindowLimiter::create(*conn, node.executor(),
                                                     {.prefix = "sim",
                                                      .budget_fraction = hybrid_fraction,
                                                      .sync_interval = milliseconds(10)});
      }
      // Seeded draws: a replay makes the same ones.
      SuppressedLimiter suppressed = *SuppressedLimiter::create(
          *conn, node.executor(),
          {.prefix = "sim", .client_clock = own, .seed = node.rng().next_u64() | 1});
      const std::uint64_t hybrid_seed = node.rng().next_u64() | 1;
      std::unique_ptr<HybridSuppressedLimiter> hybrid_suppressed;
      if (kind == Kind::kHybridSuppressed) {
        hybrid_suppressed = *HybridSuppressedLimiter::create(*conn, node.executor(),
                                                             {.prefix = "sim",
                                                              .budget_fraction = hybrid_fraction,
                                                              .sync_interval = milliseconds(10),
                                                              .seed = hybrid_seed});
      }
      const std::string process = node.name() + "." + std::to_string(node.incarnation());
      while (!stop) {
        const std::int64_t quantity = node.rng().between(1, 2);
        const std::int64_t sent = us(world.now());
        bool allowed = false;
        if (kind == Kind::kGcra) {
          Result<GcraDecision> d = co_await gcra.check("k", kRate, quantity);
          allowed = d.ok() && d->allowed;
        } else if (kind == Kind::kSlidingWindow) {
          Result<WindowDecision> d = co_await window.inc("k", kWindow, quantity);
          allowed = d.ok() && d->allowed;
        } else if (kind == Kind::kHybridWindow) {
          Result<WindowDecision> d = co_await hybrid->inc("k", kWindow, quantity);
          allowed = d.ok() && d->allowed;
        } else if (kind == Kind::kSuppressed) {
          Result<SuppressedDecision> d = co_await suppressed.inc("k", kSuppressed, quantity);
          allowed = d.ok() && d->allowed;
        } else {
          Result<SuppressedDecision> d =
              co_await hybrid_suppressed->inc("k", kSuppressed, quantity);
          allowed = d.ok() && d->allowed;
        }
        if (allowed) grants.push_back({sent, us(world.now()), quantity, process});
        co_await sleep_for(node.executor(), microseconds(node.rng().between(0, 3000)));
      }
      if (hybrid) (void)co_await hybrid->shutdown();
      if (hybrid_suppressed) (void)co_await hybrid_suppressed->shutdown();
    });
  }
  RunResult result;
  if (Status valid = validate(schedule, world); !valid.ok()) {
    result.violation = valid.to_string();
    return result;
  }
  run_chaos_then_heal(world, schedule, kChaos, seconds(1));
  stop = true;
  world.run_for(milliseconds(200));
  result.grants = grants.size();
  const std::int64_t t_us = us(kRate.period) / kRate.permits;  // 2000: exact here
  std::optional<BoundViolation> violation;
  if (kind == Kind::kGcra) {
    violation = check_gcra_bound(grants, kRate.burst, t_us);
  } else {
    // Within the limit (the hybrids: plus the budget of every process but one that
    // granted in the span). kSuppressed's window and hard limit are kWindow's.
    const bool hybrid = kind == Kind::kHybridWindow || kind == Kind::kHybridSuppressed;
    violation =
        check_window_bound(grants, us(kWindow.window - kWindow.bucket), [&](std::size_t processes) {
          return kWindow.limit +
                 (hybrid ? kHybridBudget * static_cast<std::int64_t>(processes - 1) : 0);
        });
  }
  if (violation) result.violation = violation->what;
  if (result.violation) {
    result.report =
        *result.violation + "\n" + harness::failure_report(kTarget, seed, schedule, world);
  }
  return result;
}

// The server's clock is the one clock: faults on it are not the limiter's to absorb.
FaultSchedule without_server_clock_faults(FaultSchedule schedule) {
  std::erase_if(schedule.events, [](const FaultEvent& e) {
    const bool clock = e.kind == FaultKind::kClockOffset || e.kind == FaultKind::kClockDrift ||
                       e.kind == FaultKind::kClockJump;
    return (clock && e.a == 0) || e.kind == FaultKind::kRedisRestart;
  });
  return schedule;
}

RC_GTEST_PROP(GcraSimulation, TheBoundHoldsAcrossInstancesOnTheServerClock, (std::uint64_t seed)) {
  const FaultSchedule schedule =
      without_server_clock_faults(*harness::gen_fault_schedule(kClients, kServers, kChaos));
  RunResult r = run(seed, schedule, /*client_clocks=*/false);
  RC_LOG() << r.report;
  RC_ASSERT(!r.violation.has_value());
}

RC_GTEST_PROP(GcraSimulation, TheSlidingWindowBoundHoldsAcrossInstances, (std::uint64_t seed)) {
  const FaultSchedule schedule =
      without_server_clock_faults(*harness::gen_fault_schedule(kClients, kServers, kChaos));
  RunResult r = run(seed, schedule, /*client_clocks=*/false, Kind::kSlidingWindow);
  RC_LOG() << r.report;
  RC_ASSERT(!r.violation.has_value());
}

RC_GTEST_PROP(GcraSimulation, TheHybridWindowBoundHoldsAcrossInstances, (std::uint64_t seed)) {
  const FaultSchedule schedule =
      without_server_clock_faults(*harness::gen_fault_schedule(kClients, kServers, kChaos));
  RunResult r = run(seed, schedule, /*client_clocks=*/false, Kind::kHybridWindow);
  RC_LOG() << r.report;
  RC_ASSERT(!r.violation.has_value());
}

RC_GTEST_PROP(GcraSimulation, TheSuppressedBoundHoldsAcrossInstances, (std::uint64_t seed)) {
  const FaultSchedule schedule =
      without_server_clock_faults(*harness::gen_fault_schedule(kClients, kServers, kChaos));
  RunResult r = run(seed, schedule, /*client_clocks=*/false, Kind::kSuppressed);
  RC_LOG() << r.report;
  RC_ASSERT(!r.violation.has_value());
}

RC_GTEST_PROP(GcraSimulation, TheHybridSuppressedBoundHoldsAcrossInstances, (std::uint64_t seed)) {
  const FaultSchedule schedule =
      without_server_clock_faults(*harness::gen_fault_schedule(kClients, kServers, kChaos));
  RunResult r = run(seed, schedule, /*client_clocks=*/false, Kind::kHybridSuppressed);
  RC_LOG() << r.report;
  RC_ASSERT(!r.violation.has_value());
}

// The budget is what bounds the hybrid's overshoot: trypema gave each instance the whole
// remaining capacity (budget_fraction 1 here), and four instances then pass
// limit + 3 x 2 within one window even without faults.
TEST(GcraSimulation, AWholeRemainingBudgetPerInstanceOvershoots) {
  RunResult bounded = run(1, FaultSchedule{}, false, Kind::kHybridWindow);
  EXPECT_FALSE(bounded.violation.has_value()) << bounded.report;
  EXPECT_GT(bounded.grants, 200u);
  RunResult whole = run(1, FaultSchedule{}, false, Kind::kHybridWindow, /*hybrid_fraction=*/1.0);
  EXPECT_TRUE(whole.violation.has_value());
  RunResult suppressed = run(1, FaultSchedule{}, false, Kind::kHybridSuppressed);
  EXPECT_FALSE(suppressed.violation.has_value()) << suppressed.report;
  EXPECT_GT(suppressed.grants, 200u);
  RunResult whole_suppressed =
      run(1, FaultSchedule{}, false, Kind::kHybridSuppressed, /*hybrid_fraction=*/1.0);
  EXPECT_TRUE(whole_suppressed.violation.has_value());
}

TEST(GcraSimulation, WithoutFaultsTheLimitIsReachedButNotPassed) {
  RunResult r = run(1, FaultSchedule{}, false);
  EXPECT_FALSE(r.violation.has_value()) << r.report;
  // 3 s at 500/s in quantities of 1-2: most of the rate is used.
  EXPECT_GT(r.grants, 800u);
  RunResult w = run(1, FaultSchedule{}, false, Kind::kSlidingWindow);
  EXPECT_FALSE(w.violation.has_value()) << w.report;
  EXPECT_GT(w.grants, 200u);
  RunResult s = run(1, FaultSchedule{}, false, Kind::kSuppressed);
  EXPECT_FALSE(s.violation.has_value()) << s.report;
  EXPECT_GT(s.grants, 200u);
}

TEST(GcraSimulation, ClientClocksBreakTheBoundUnderSkew) {
  Result<FaultSchedule> skew =
      parse_fault_schedule("0us clock-offset 1 -300; 0us clock-offset 2 300");
  ASSERT_TRUE(skew.ok());
  EXPECT_FALSE(run(1, *skew, /*client_clocks=*/false).violation.has_value())
      << "the server's clock: skew does not matter";
  EXPECT_TRUE(run(1, *skew, /*client_clocks=*/true).violation.has_value())
      << "each instance's own clock: the instance 300 ms ahead empties the bucket early";
}

TEST(GcraSimulation, ReplayFromEnvironment) {
  std::optional<harness::Replay> replay = harness::replay_from_environment();
  if (!replay) GTEST_SKIP() << "set DISTKIT_SIM_SEED (and DISTKIT_SIM_SCHEDULE) to replay a case";
  for (Kind kind : kKinds) {
    RunResult r = run(replay->seed, replay->schedule, false, kind);
    EXPECT_FALSE(r.violation.has_value()) << r.report;
  }
}

}  // namespace
}  // namespace distkit::sim
