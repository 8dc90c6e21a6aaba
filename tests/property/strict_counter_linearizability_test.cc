// Linearizability: the checker on hand-made histories, then StrictCounter in the
// simulator under generated fault schedules (partitions, lost replies, crashes,
// skew, Redis restarts without data loss, script flushes), on one server and on a
// simulated Redis Cluster whose slots migrate and masters fail over: every key's
// history must be linearizable. A deliberately broken counter (read-modify-write in two steps)
// must be caught. Failures print the seed, the schedule and a replay command.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "distkit/core/cluster/cluster_connection.h"
#include "distkit/core/counters/strict_counter.h"
#include "distkit/sim/check/linearizability.h"
#include "distkit/sim/cluster/sim_cluster.h"
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
using Op = CounterOperation;

Op add(std::int64_t d, int from_us, std::optional<int> to_us, std::int64_t result) {
  Op op;
  op.kind = Op::Kind::kAdd;
  op.argument = d;
  op.invoked = microseconds(from_us);
  if (to_us) op.completed = microseconds(*to_us);
  op.value = result;
  return op;
}
Op get(int from_us, int to_us, std::int64_t result) {
  Op op;
  op.kind = Op::Kind::kGet;
  op.invoked = microseconds(from_us);
  op.completed = microseconds(to_us);
  op.value = result;
  return op;
}

TEST(Linearizability, AcceptsConcurrentAddsInEitherOrder) {
  // Two overlapping adds; the one that returned 3 went second.
  EXPECT_TRUE(
      check_counter_linearizable({add(2, 0, 10, 3), add(1, 1, 9, 1), get(11, 12, 3)}).linearizable);
}

TEST(Linearizability, RejectsAStaleReadAfterACompletedWrite) {
  LinearizabilityResult r = check_counter_linearizable({add(5, 0, 1, 5), get(2, 3, 0)});
  EXPECT_FALSE(r.linearizable);
  EXPECT_NE(r.explanation.find("get"), std::string::npos) << r.explanation;
}

TEST(Linearizability, RejectsALostUpdate) {
  // Both adds "saw" 0: one increment was lost.
  EXPECT_FALSE(check_counter_linearizable({add(1, 0, 10, 1), add(1, 2, 12, 1), get(13, 14, 1)})
                   .linearizable);
}

TEST(Linearizability, UnknownOutcomesMayOrMayNotHaveApplied) {
  EXPECT_TRUE(
      check_counter_linearizable({add(5, 0, std::nullopt, 0), get(10, 11, 5)}).linearizable);
  EXPECT_TRUE(
      check_counter_linearizable({add(5, 0, std::nullopt, 0), get(10, 11, 0)}).linearizable);
  EXPECT_FALSE(
      check_counter_linearizable({add(5, 0, std::nullopt, 0), get(10, 11, 5), get(12, 13, 0)})
          .linearizable)
      << "once observed, an unknown add cannot be undone";
  EXPECT_FALSE(
      check_counter_linearizable({add(5, 20, std::nullopt, 0), get(10, 11, 5)}).linearizable)
      << "it cannot take effect before it was invoked";
}

TEST(Linearizability, ConditionalOperationsMustMatchTheStateTheySaw) {
  Op cas;
  cas.kind = Op::Kind::kSetIf;
  cas.argument = 9;
  cas.compare = Op::CompareOp::kEq;
  cas.operand = 5;
  cas.invoked = microseconds(2);
  cas.completed = microseconds(3);
  cas.previous = 5;
  cas.value = 9;
  cas.applied = true;
  EXPECT_TRUE(check_counter_linearizable({add(5, 0, 1, 5), cas, get(4, 5, 9)}).linearizable);
  cas.previous = 4;  // claims to have seen 4
  EXPECT_FALSE(check_counter_linearizable({add(5, 0, 1, 5), cas, get(4, 5, 9)}).linearizable);
}

// ---- StrictCounter in the simulator ----------------------------------------------------

constexpr char kTarget[] = "//tests/property:strict_counter_linearizability_test";
// The same on a simulated Redis Cluster: its replay runs only the cluster's case.
constexpr char kClusterTarget[] =
    "//tests/property:strict_counter_linearizability_test "
    "--test_filter=StrictCounterLinearizability.ClusterReplayFromEnvironment";
constexpr Duration kChaos = seconds(3);
constexpr Duration kHealing = seconds(2);
const std::vector<NodeId> kServers = {0};
const std::vector<NodeId> kClients = {1, 2, 3};
// On a cluster of 2 masters with a replica each: servers 0..3, clients 4..6.
const std::vector<NodeId> kClusterMasters = {0, 1};
const std::vector<std::vector<NodeId>> kShards = {{0, 2}, {1, 3}};
const std::vector<NodeId> kClusterClients = {4, 5, 6};
const std::vector<std::string> kKeys = {"a", "b"};

struct RunResult {
  std::optional<std::string> violation;
  std::size_t unchecked_keys = 0;  // the checker's budget ran out
  std::string report;
  std::size_t operations = 0;
  // Operations after the faults healed that did not succeed: each should have.
  std::size_t failed_after_healing = 0;
};

// Each client runs kOperations in bursts of kBurst (dense, so operations overlap),
// with gaps between bursts that spread them over the whole chaos phase; then, once
// everything has healed, kOperationsAfterHealing more, which must all succeed. (The
// operations ran in the first ~100 ms before, so a fault that refused everything from
// the start, like a LOADING window, left a history with no operation.)
constexpr int kOperations = 60;
constexpr int kBurst = 10;
constexpr int kOperationsAfterHealing = 5;
constexpr Duration kSettle = seconds(1);  // after healing: reconnect backoffs have ended

// `broken`: increments as GET then SET (not atomic), which loses updates.
// `on_cluster`: Redis is a simulated cluster (sim/cluster) of 2 masters with a replica
// each, reached through the cluster client; else one server.
RunResult run(std::uint64_t seed, const FaultSchedule& schedule, bool broken = false,
              bool on_cluster = false) {
  World world({.seed = seed,
               .default_link = LinkConfig{
                   .latency = {.min = 100us, .max = 2ms, .tail_probability = 0.02, .tail = 50ms}}});
  SimCluster* cluster = nullptr;
  if (on_cluster) {
    cluster = &SimCluster::create(world, {.masters = 2, .replicas = 1});
  } else {
    world.add_redis_server("redis", std::make_unique<InMemoryRedis>());
  }
  const ConnectionOptions connection{.request_timeout = milliseconds(120),
                                     .connect_timeout = milliseconds(80)};
  std::map<std::string, std::vector<CounterOperation>> histories;
  std::size_t failed_after_healing = 0;
  const SimTime begin = world.now();
  for (int i = 0; i < 3; ++i) {
    world.add_instance("c" + std::to_string(i), [&, broken](NodeContext& node) -> Task<void> {
      std::unique_ptr<RedisConnection> conn;
      if (cluster == nullptr) {
        conn = node.connect_redis(0, connection);
      } else {
        conn = std::make_unique<cluster::ClusterConnection>(
            node.executor(), cluster::ClusterConnectionOptions{.seeds = cluster->seeds()},
            [&node, &connection](const std::string& a) {
              return node.connect_redis(a, connection);
            });
      }
      StrictCounter counter = *StrictCounter::create(*conn, "lin");
      for (int n = 0; n < kOperations + kOperationsAfterHealing; ++n) {
        if (n == kOperations) {
          while (world.now() < begin + kChaos + kSettle)
            co_await sleep_for(node.executor(), milliseconds(10));
        }
        const std::string key = kKeys[node.rng().below(kKeys.size())];
        CounterOperation op;
        op.process = node.identity();
        op.invoked = world.now();
        const std::uint64_t choice = node.rng().below(10);
        std::vector<CounterOperation>& history = histories[key];
        history.push_back(op);  // recorded at invocation: a crash leaves it unknown
        const std::size_t index = history.size() - 1;
        StatusCode code = StatusCode::kOk;
        if (choice < 5) {
          const std::int64_t delta = node.rng().between(-3, 5);
          history[index].kind = CounterOperation::Kind::kAdd;
          history[index].argument = delta;
          Result<std::int64_t> r = Status();
          if (broken) {
            Result<std::int64_t> seen = co_await counter.get(key);
            r = seen.ok() ? co_await counter.set(key, *seen + delta) : seen;
          } else {
            r = co_await counter.inc(key, delta);
          }
          code = r.status().code();
          if (r.ok()) histories[key][index].value = *r;
        } else if (choice < 8) {
          history[index].kind = CounterOperation::Kind::kGet;
          Result<std::int64_t> r = co_await counter.get(key);
          code = r.status().code();
          if (r.ok()) histories[key][index].value = *r;
        } else {
          const std::int64_t operand = node.rng().between(-2, 6);
          const std::int64_t value = node.rng().between(0, 9);
          history[index].kind = CounterOperation::Kind::kSetIf;
          history[index].argument = value;
          history[index].compare = CounterOperation::CompareOp::kGt;
          history[index].operand = operand;
          Result<Change> r = co_await counter.set_if(key, Condition::gt(operand), value);
          code = r.status().code();
          if (r.ok()) {
            histories[key][index].value = r->value;
            histories[key][index].previous = r->previous;
            histories[key][index].applied = r->applied;
          }
        }
        CounterOperation& done = histories[key][index];
        if (code == StatusCode::kOk) {
          done.completed = world.now();
        } else if (code == StatusCode::kUnavailable || code == StatusCode::kCancelled ||
                   code == StatusCode::kServerError) {
          // Never ran: not sent, or refused by the server before running (LOADING,
          // READONLY, OOM, ...: the strict scripts write nothing before they can fail).
          done.kind = CounterOperation::Kind::kGet;  // dropped below
          done.process = "";
        }
        if (n >= kOperations && code != StatusCode::kOk) ++failed_after_healing;
        const bool end_of_burst = n % kBurst == kBurst - 1;
        co_await sleep_for(node.executor(), end_of_burst
                                                ? milliseconds(node.rng().between(0, 700))
                                                : microseconds(node.rng().between(100, 3000)));
      }
    });
  }
  RunResult result;
  if (Status valid = validate(schedule, world); !valid.ok()) {
    result.violation = valid.to_string();
    return result;
  }
  run_chaos_then_heal(world, schedule, kChaos, kHealing);
  result.failed_after_healing = failed_after_healing;
  for (auto& [key, history] : histories) {
    std::vector<CounterOperation> ran;
    for (CounterOperation& op : history) {
      if (!op.process.empty()) ran.push_back(op);
    }
    result.operations += ran.size();
    // A bounded search per key: a history with many unknown outcomes (a long partition)
    // can need far more steps; such a key is counted as unchecked, not as a pass.
    LinearizabilityResult verdict = check_counter_linearizable(ran, 0, 2'000'000);
    if (verdict.exhausted) ++result.unchecked_keys;
    if (!verdict.linearizable && !verdict.exhausted) {
      result.violation = "key " + key + " is not linearizable: " + verdict.explanation;
      break;
    }
  }
  if (cluster != nullptr && !result.violation) {
    if (Status s = cluster->check_invariants(); !s.ok()) result.violation = s.to_string();
  }
  if (result.violation)
    result.report =
        *result.violation + "\n" +
        harness::failure_report(on_cluster ? kClusterTarget : kTarget, seed, schedule, world);
  return result;
}

RC_GTEST_PROP(StrictCounterLinearizability, EveryKeysHistoryIsLinearizableUnderFaults,
              (std::uint64_t seed)) {
  const FaultSchedule schedule = *harness::gen_fault_schedule(
      kClients, kServers, kChaos,
      // Without server restarts, as before the one generator: each resets every
      // connection, and the operations in flight become unknown outcomes, whose
      // placements the checker searches exhaustively.
      without(harness::kPropertyFaults, FaultProfile::kRedisRestarts));
  RunResult r = run(seed, schedule);
  RC_LOG() << r.report;
  RC_ASSERT(!r.violation.has_value());
  RC_CLASSIFY(r.unchecked_keys > 0, "a key past the checker's budget");
  RC_ASSERT(r.operations > 0u);
  RC_ASSERT(r.failed_after_healing == 0u);
}

// On a simulated cluster under the same faults, and its slots migrating and its
// masters failing over (cluster-changes): the client's redirections and resends must
// not break linearizability, nor lose an acknowledged increment.
RC_GTEST_PROP(StrictCounterLinearizability, EveryKeysHistoryIsLinearizableOnACluster,
              (std::uint64_t seed)) {
  const FaultSchedule schedule = *harness::gen_fault_schedule(
      kClusterClients, kClusterMasters, kChaos,
      without(harness::kPropertyFaults, FaultProfile::kRedisRestarts), 1, kShards);
  RunResult r = run(seed, schedule, false, /*on_cluster=*/true);
  RC_LOG() << r.report;
  RC_ASSERT(!r.violation.has_value());
  RC_CLASSIFY(r.unchecked_keys > 0, "a key past the checker's budget");
  RC_CLASSIFY(to_string(schedule).find("cluster-") != std::string::npos, "cluster changes");
  RC_ASSERT(r.operations > 0u);
  RC_ASSERT(r.failed_after_healing == 0u);
}

TEST(StrictCounterLinearizability, ClusterReplayFromEnvironment) {
  std::optional<harness::Replay> replay = harness::replay_from_environment();
  if (!replay) GTEST_SKIP() << "set DISTKIT_SIM_SEED (and DISTKIT_SIM_SCHEDULE) to replay a case";
  RunResult r = run(replay->seed, replay->schedule, false, /*on_cluster=*/true);
  EXPECT_FALSE(r.violation.has_value()) << r.report;
}

TEST(StrictCounterLinearizability, ABrokenCounterIsCaughtOnAClusterToo) {
  int caught = 0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    RunResult r = run(seed, FaultSchedule{}, /*broken=*/true, /*on_cluster=*/true);
    if (r.violation) {
      ++caught;
      EXPECT_NE(r.report.find("--test_filter=StrictCounterLinearizability.ClusterReplay"),
                std::string::npos);
    }
  }
  EXPECT_GE(caught, 3);
}

TEST(StrictCounterLinearizability, ReplayFromEnvironment) {
  std::optional<harness::Replay> replay = harness::replay_from_environment();
  if (!replay) GTEST_SKIP() << "set DISTKIT_SIM_SEED (and DISTKIT_SIM_SCHEDULE) to replay a case";
  if (std::getenv("DISTKIT_SIM_SCHEDULE") != nullptr &&
      std::string(std::getenv("DISTKIT_SIM_SCHEDULE")).find("cluster-") != std::string::npos) {
    GTEST_SKIP() << "a cluster's schedule: ClusterReplayFromEnvironment replays it";
  }
  RunResult r = run(replay->seed, replay->schedule);
  EXPECT_FALSE(r.violation.has_value()) << r.report;
}

TEST(StrictCounterLinearizability, ABrokenReadModifyWriteCounterIsCaught) {
  int caught = 0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    RunResult r = run(seed, FaultSchedule{}, /*broken=*/true);
    if (r.violation) {
      ++caught;
      EXPECT_NE(r.report.find("replay: bazel test " + std::string(kTarget)), std::string::npos);
    }
  }
  EXPECT_GE(caught, 3) << "lost updates show up in most runs of 3 concurrent clients";
}

}  // namespace
}  // namespace distkit::sim
