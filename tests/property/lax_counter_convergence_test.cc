// LaxCounter in the simulator under generated fault schedules (partitions, loss,
// resets, pauses, skew, crashes and restarts, script flushes): after healing and a
// clean shutdown of the live instances, each key holds exactly the increments of
// every incarnation that shut down cleanly, plus at most the increments of the
// incarnations that crashed (their unflushed deltas die with them; a batch in flight
// counts at most once). A double-counted retry or a lost acknowledged batch breaks it.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "distkit/core/counters/lax_counter.h"
#include "distkit/core/counters/strict_counter.h"
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

constexpr char kTarget[] = "//tests/property:lax_counter_convergence_test";
constexpr Duration kChaos = seconds(3);
constexpr Duration kHealing = seconds(2);
const std::vector<NodeId> kServers = {0};
const std::vector<NodeId> kClients = {1, 2, 3};
const std::vector<std::string> kKeys = {"a", "b"};

struct Incarnation {
  std::map<std::string, std::int64_t> increments;
  bool shut_down = false;  // flushed everything and stopped cleanly
};

struct RunResult {
  std::optional<std::string> violation;
  std::string report;
  std::int64_t increments = 0;
};

RunResult run(std::uint64_t seed, const FaultSchedule& schedule) {
  World world({.seed = seed,
               .default_link = LinkConfig{
                   .latency = {.min = 100us, .max = 2ms, .tail_probability = 0.02, .tail = 40ms}}});
  world.add_redis_server("redis", std::make_unique<InMemoryRedis>());
  std::map<std::string, Incarnation> incarnations;  // by "identity/incarnation"
  bool stop = false;
  for (int i = 0; i < 3; ++i) {
    world.add_instance("c" + std::to_string(i), [&](NodeContext& node) -> Task<void> {
      const std::string me = node.identity() + "/" + std::to_string(node.incarnation());
      Incarnation& mine = incarnations[me];
      auto conn = node.connect_redis(
          0, {.request_timeout = milliseconds(100), .connect_timeout = milliseconds(80)});
      LaxCounterOptions options;
      options.prefix = "conv";
      options.instance_id = node.name();  // the same id after a restart: sessions differ
      options.session = node.rng().next_u64() | 1;
      auto lax = std::move(*LaxCounter::create(*conn, node.executor(), options));
      while (!stop) {
        const std::string& key = kKeys[node.rng().below(kKeys.size())];
        const std::int64_t delta = node.rng().between(1, 5);
        if (lax->inc(key, delta).ok()) mine.increments[key] += delta;
        co_await sleep_for(node.executor(), microseconds(node.rng().between(200, 3000)));
      }
      // Retry the final flush until Redis answers (the network has healed).
      while (!(co_await lax->shutdown()).ok())
        co_await sleep_for(node.executor(), milliseconds(10));
      mine.shut_down = true;
    });
  }
  RunResult result;
  if (Status valid = validate(schedule, world); !valid.ok()) {
    result.violation = valid.to_string();
    return result;
  }
  run_chaos_then_heal(world, schedule, kChaos, kHealing);
  stop = true;
  world.run_for(seconds(3));
  std::map<std::string, std::int64_t> final_values;
  bool read = false;
  world.add_instance("observer", [&](NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(0);
    StrictCounter strict = *StrictCounter::create(*conn, "conv");
    for (const std::string& key : kKeys)
      final_values[key] = (co_await strict.get(key)).value_or(-1);
    read = true;
  });
  world.run_until([&] { return read; }, world.now() + seconds(10));

  for (const std::string& key : kKeys) {
    std::int64_t certain = 0, maybe = 0;
    for (const auto& [who, inc] : incarnations) {
      auto it = inc.increments.find(key);
      const std::int64_t n = it == inc.increments.end() ? 0 : it->second;
      (inc.shut_down ? certain : maybe) += n;
      result.increments += n;
    }
    const std::int64_t got = final_values[key];
    if (got < certain || got > certain + maybe) {
      result.violation = "key " + key + " holds " + std::to_string(got) + ", expected between " +
                         std::to_string(certain) + " (clean shutdowns) and " +
                         std::to_string(certain + maybe) + " (plus crashed incarnations)";
      break;
    }
  }
  if (result.violation)
    result.report =
        *result.violation + "\n" + harness::failure_report(kTarget, seed, schedule, world);
  return result;
}

RC_GTEST_PROP(LaxCounterConvergence, EveryKeyConvergesToItsIncrements, (std::uint64_t seed)) {
  const FaultSchedule schedule = *harness::gen_fault_schedule(kClients, kServers, kChaos);
  RunResult r = run(seed, schedule);
  RC_LOG() << r.report;
  RC_ASSERT(!r.violation.has_value());
  RC_ASSERT(r.increments > 0);
}

TEST(LaxCounterConvergence, WithoutFaultsEveryIncrementCountsExactlyOnce) {
  RunResult r = run(3, FaultSchedule{});
  EXPECT_FALSE(r.violation.has_value()) << r.report;
  EXPECT_GT(r.increments, 1000);
}

TEST(LaxCounterConvergence, LostRepliesAreRetriedWithoutDoubleCounting) {
  // Replies to c0 are lost for a second: its batches time out (UNKNOWN) and are
  // retried with the same numbers; each must count once.
  Result<FaultSchedule> schedule = parse_fault_schedule(
      "500000us partition-one-way 0 1; 1500000us heal 0 1; 2000000us loss 2 0 400");
  ASSERT_TRUE(schedule.ok());
  RunResult r = run(5, *schedule);
  EXPECT_FALSE(r.violation.has_value()) << r.report;
}

// Redis unreachable for two seconds: increments keep working locally, flushes fail
// with a clear error, the buffer keeps everything, and all of it lands exactly once
// when Redis is back.
TEST(LaxCounterConvergence, TheBufferKeepsIncrementsWhileRedisIsDown) {
  World world({.seed = 9});
  const NodeId redis = world.add_redis_server("redis", std::make_unique<InMemoryRedis>());
  std::vector<Status> flushes_while_down;
  std::int64_t buffered_while_down = 0;
  std::int64_t total = 0;
  std::int64_t in_redis = -1;
  bool done = false;
  const NodeId app = world.add_instance("app", [&](NodeContext& node) -> Task<void> {
    auto conn = node.connect_redis(
        redis, {.request_timeout = milliseconds(100), .connect_timeout = milliseconds(100)});
    LaxCounterOptions options;
    options.prefix = "down";
    options.instance_id = "app";
    options.session = 1;
    auto lax = std::move(*LaxCounter::create(*conn, node.executor(), options));
    for (int i = 0; i < 400; ++i) {  // 4 s of traffic, Redis away from 1 s to 3 s
      EXPECT_TRUE(lax->inc("k", 2).ok());
      total += 2;
      co_await sleep_for(node.executor(), milliseconds(10));
      if (i == 200) {
        flushes_while_down.push_back(co_await lax->flush());
        buffered_while_down = lax->unacknowledged();
      }
    }
    EXPECT_TRUE((co_await lax->shutdown()).ok());
    StrictCounter strict = *StrictCounter::create(*conn, "down");
    in_redis = (co_await strict.get("k")).value_or(-1);
    done = true;
  });
  world.schedule(seconds(1), [&] { world.partition(app, redis); });
  world.schedule(seconds(3), [&] { world.heal(app, redis); });
  ASSERT_TRUE(world.run_until([&] { return done; }, seconds(30)));
  ASSERT_EQ(flushes_while_down.size(), 1u);
  const StatusCode code = flushes_while_down[0].code();
  EXPECT_TRUE(code == StatusCode::kUnknownOutcome || code == StatusCode::kUnavailable)
      << flushes_while_down[0];
  EXPECT_GT(buffered_while_down, 150) << "about a second of increments waits in the buffer";
  EXPECT_EQ(in_redis, total) << "every increment counted exactly once";
}

TEST(LaxCounterConvergence, ReplayFromEnvironment) {
  std::optional<harness::Replay> replay = harness::replay_from_environment();
  if (!replay) GTEST_SKIP() << "set DISTKIT_SIM_SEED (and DISTKIT_SIM_SCHEDULE) to replay a case";
  RunResult r = run(replay->seed, replay->schedule);
  EXPECT_FALSE(r.violation.has_value()) << r.report;
}

}  // namespace
}  // namespace distkit::sim
