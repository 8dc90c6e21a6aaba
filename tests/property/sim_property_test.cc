// Properties of the simulated world under generated fault schedules (RapidCheck
// generates and shrinks the schedules):
//  1. Outcome honesty: an operation reported OK ran exactly once; one reported
//     UNAVAILABLE never ran; one reported UNKNOWN ran at most once; nothing runs
//     twice. (The connection, production's state machine over simulated TCP
//     segments, never resends a request that may have run; the mutant that does is
//     caught.)
//  2. Liveness after healing: once every fault is lifted, every instance completes
//     operations again.
//  3. Determinism: the same seed and schedule give the same trace hash.
// A failure prints its seed, the shrunk schedule and a one-line replay command;
// DISTKIT_SIM_SEED / DISTKIT_SIM_SCHEDULE replay exactly that case.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>

#include "distkit/sim/faults/fault_schedule.h"
#include "distkit/sim/harness/harness.h"
#include "distkit/sim/world/world.h"
#include "distkit/tests/support/fake_redis_model.h"

namespace distkit::sim {

using namespace std::chrono_literals;
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kTarget[] = "//tests/property:sim_property_test";
constexpr Duration kChaos = seconds(3);
constexpr Duration kHealing = seconds(3);
constexpr int kInstances = 3;
// Node ids follow from the order the world is built in: the server first.
const std::vector<NodeId> kServers = {0};
const std::vector<NodeId> kInstanceIds = {1, 2, 3};

struct Outcome {
  StatusCode code;
  SimTime completed;
  NodeId node;
};

struct RunResult {
  std::uint64_t trace_hash = 0;
  std::uint64_t events = 0;
  std::optional<std::string> violation;
  std::string report;  // filled when there is a violation
};

// Two deliberately broken clients for testing the checker: `blind_retry` resends an
// operation whose outcome was UNKNOWN; `mutation` breaks the connection itself (the
// production state machine, core/conn), e.g. one that writes a written request again
// after a reconnect. Either can make an operation run twice.
RunResult run(std::uint64_t seed, const FaultSchedule& schedule, bool blind_retry = false,
              conn::Mutation mutation = conn::Mutation::kNone) {
  World world({.seed = seed,
               .default_link = LinkConfig{
                   .latency = {.min = 100us, .max = 3ms, .tail_probability = 0.02, .tail = 80ms}}});
  auto model = std::make_unique<distkit::test_support::FakeRedisModel>();
  distkit::test_support::FakeRedisModel& fake = *model;
  const NodeId redis = world.add_redis_server("redis", std::move(model));
  std::map<std::string, Outcome> outcomes;  // by operation id
  for (int i = 0; i < kInstances; ++i) {
    world.add_instance("c" + std::to_string(i), [&, redis](NodeContext& node) -> Task<void> {
      auto conn = node.connect_redis(redis, {.request_timeout = milliseconds(150),
                                             .connect_timeout = milliseconds(100),
                                             .mutation = mutation});
      for (int n = 0;; ++n) {
        // Unique per incarnation, so a restarted instance never reuses an id.
        const std::string op =
            node.identity() + "/" + std::to_string(node.incarnation()) + "/" + std::to_string(n);
        Result<RedisReply> r = co_await conn->command("SET", "op:" + op, "1");
        while (blind_retry && r.status().code() == StatusCode::kUnknownOutcome) {
          r = co_await conn->command("SET", "op:" + op, "1");
        }
        outcomes[op] = Outcome{r.status().code(), world.now(), node.id()};
        co_await sleep_for(node.executor(),
                           std::chrono::microseconds(node.rng().between(200, 4000)));
      }
    });
  }
  RunResult result;
  if (Status valid = validate(schedule, world); !valid.ok()) {
    result.violation = "invalid schedule: " + valid.to_string();
  } else {
    run_chaos_then_heal(world, schedule, kChaos, kHealing);
  }
  result.trace_hash = world.trace_hash();
  result.events = world.events_run();

  std::map<std::string, int> runs;
  for (const RedisCommand& c : fake.executed()) {
    if (c.size() == 3 && c[0] == "SET" && c[1].starts_with("op:")) ++runs[c[1].substr(3)];
  }
  const auto fail = [&](std::string why) {
    if (!result.violation) result.violation = std::move(why);
  };
  for (const auto& [op, count] : runs) {
    if (count > 1) fail("operation " + op + " ran " + std::to_string(count) + " times");
  }
  std::map<NodeId, SimTime> last_ok;
  for (const auto& [op, outcome] : outcomes) {
    const int ran = runs.contains(op) ? runs.at(op) : 0;
    switch (outcome.code) {
      case StatusCode::kOk:
        if (ran != 1)
          fail("operation " + op + " reported OK but ran " + std::to_string(ran) + " times");
        last_ok[outcome.node] = std::max(last_ok[outcome.node], outcome.completed);
        break;
      case StatusCode::kUnavailable:
        if (ran != 0) fail("operation " + op + " reported UNAVAILABLE but ran");
        break;
      case StatusCode::kUnknownOutcome:
        break;  // at most once, checked above
      default:
        fail("operation " + op + " ended with an unexpected " +
             std::string(status_code_name(outcome.code)));
    }
  }
  // Liveness: in the last second of healing every instance completed an operation.
  const SimTime deadline = world.now() - seconds(1);
  for (NodeId id : world.instances()) {
    if (!last_ok.contains(id) || last_ok.at(id) < deadline) {
      fail("instance " + world.name(id) + " made no progress after healing");
    }
  }
  if (result.violation) {
    result.report =
        *result.violation + "\n" + harness::failure_report(kTarget, seed, schedule, world);
  }
  return result;
}

RC_GTEST_PROP(SimProperties, OutcomesAreHonestAndTheWorldRecoversAfterHealing,
              (std::uint64_t seed)) {
  const FaultSchedule schedule = *harness::gen_fault_schedule(kInstanceIds, kServers, kChaos);
  RunResult result = run(seed, schedule);
  RC_LOG() << result.report;
  RC_ASSERT(!result.violation.has_value());
}

RC_GTEST_PROP(SimProperties, SameSeedAndScheduleGiveTheSameTrace, (std::uint64_t seed)) {
  const FaultSchedule schedule = *harness::gen_fault_schedule(kInstanceIds, kServers, kChaos);
  const RunResult first = run(seed, schedule);
  const RunResult second = run(seed, schedule);
  RC_ASSERT(first.trace_hash == second.trace_hash);
  RC_ASSERT(first.events == second.events);
}

// Replays one case: DISTKIT_SIM_SEED=<n> DISTKIT_SIM_SCHEDULE='<schedule>'.
TEST(SimProperties, ReplayFromEnvironment) {
  std::optional<harness::Replay> replay = harness::replay_from_environment();
  if (!replay) GTEST_SKIP() << "set DISTKIT_SIM_SEED (and DISTKIT_SIM_SCHEDULE) to replay a case";
  RunResult result = run(replay->seed, replay->schedule);
  EXPECT_FALSE(result.violation.has_value()) << result.report;
  std::printf("trace hash %016llx, %llu events\n",
              static_cast<unsigned long long>(result.trace_hash),
              static_cast<unsigned long long>(result.events));
}

// The checker itself must catch a broken client. Replies from the server to c0 are
// lost for half a second: the honest client reports UNKNOWN and moves on; the blind
// retrier resends an operation that ran, which must be reported with a replay line.
TEST(SimProperties, CheckerCatchesABlindRetry) {
  Result<FaultSchedule> schedule =
      parse_fault_schedule("500000us partition-one-way 0 1; 1000000us heal 0 1");
  ASSERT_TRUE(schedule.ok()) << schedule.status().to_string();

  RunResult honest = run(7, *schedule);
  EXPECT_FALSE(honest.violation.has_value()) << honest.report;

  RunResult broken = run(7, *schedule, /*blind_retry=*/true);
  ASSERT_TRUE(broken.violation.has_value());
  // Either symptom of the retry: the operation ran twice, or the retry's reconnect
  // failed and the client reported UNAVAILABLE for an operation that had run.
  EXPECT_TRUE(broken.violation->starts_with("operation c0/")) << broken.report;
  EXPECT_TRUE(broken.violation->ends_with("ran 2 times") ||
              broken.violation->ends_with("reported UNAVAILABLE but ran"))
      << broken.report;
  EXPECT_NE(broken.report.find("seed=7"), std::string::npos) << broken.report;
  EXPECT_NE(broken.report.find("partition-one-way redis c0"), std::string::npos) << broken.report;
  EXPECT_NE(broken.report.find("bazel test //tests/property:sim_property_test "
                               "--test_env=DISTKIT_SIM_SEED=7 --test_env=DISTKIT_SIM_SCHEDULE="
                               "'500000us partition-one-way 0 1; 1000000us heal 0 1'"),
            std::string::npos)
      << broken.report;
}

// The property catches a broken connection, not only a broken caller: the state
// machine that writes a written request again after a reconnect (R2 broken) fails it
// on the schedule above, with a replay line, and on generated schedules too.
TEST(SimProperties, CheckerCatchesAConnectionThatResendsAfterReconnecting) {
  Result<FaultSchedule> schedule =
      parse_fault_schedule("500000us partition-one-way 0 1; 1000000us heal 0 1");
  ASSERT_TRUE(schedule.ok()) << schedule.status().to_string();
  RunResult broken =
      run(7, *schedule, /*blind_retry=*/false, conn::Mutation::kResendWrittenAfterReconnect);
  ASSERT_TRUE(broken.violation.has_value());
  EXPECT_TRUE(broken.violation->ends_with("ran 2 times") ||
              broken.violation->ends_with("reported UNAVAILABLE but ran"))
      << broken.report;
  EXPECT_NE(broken.report.find("replay: bazel test //tests/property:sim_property_test"),
            std::string::npos)
      << broken.report;

  const bool passed =
      rc::check("the property, run with the resending connection", [](std::uint64_t seed) {
        const FaultSchedule generated =
            *harness::gen_fault_schedule(kInstanceIds, kServers, kChaos);
        RunResult result = run(seed, generated, /*blind_retry=*/false,
                               conn::Mutation::kResendWrittenAfterReconnect);
        RC_LOG() << result.report;
        RC_ASSERT(!result.violation.has_value());
      });
  EXPECT_FALSE(passed) << "the property let a connection that resends written requests pass";
}

// Faults change the run: a schedule is not silently ignored.
TEST(SimProperties, FaultsChangeTheTrace) {
  Result<FaultSchedule> schedule = parse_fault_schedule("500000us crash 2");
  ASSERT_TRUE(schedule.ok());
  EXPECT_NE(run(7, FaultSchedule{}).trace_hash, run(7, *schedule).trace_hash);
}

}  // namespace
}  // namespace distkit::sim
