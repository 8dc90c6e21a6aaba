// Scenarios: one primitive (a counter or a limiter) used by several instances under a
// workload and a fault profile, in the simulator (or against a real Redis, without
// faults), judged by that primitive's invariant. The engine of tools/distkit-sim.
//
//   ScenarioOptions o{.primitive = "lax-counter", .instances = 10, .faults = kAll};
//   ScenarioResult r = run_scenario(o);   // deterministic: same options, same result
//   if (r.violation) { FaultSchedule small = shrink_schedule(o, r.schedule); ... }
//
// A primitive is a Primitive: it runs the workload on each instance, records what
// each operation returned, and at the end checks its invariant. Tests register broken
// variants of their own (register_primitive) to show the runner catches them.
#ifndef DISTKIT_TOOLS_SCENARIO_H_
#define DISTKIT_TOOLS_SCENARIO_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/raft/raft_client.h"
#include "distkit/core/raft/raft_server.h"
#include "distkit/core/raft/state_machine.h"
#include "distkit/core/seam/redis_connection.h"
#include "distkit/sim/faults/fault_generator.h"
#include "distkit/sim/faults/fault_schedule.h"
#include "distkit/sim/world/rng.h"

namespace distkit::scenario {

// The kinds of faults a run sees: the simulator's one vocabulary.
using sim::FaultProfile;
using sim::parse_profile;
using sim::profile_name;

enum class WorkloadShape : std::uint8_t { kSteady, kBursty };
[[nodiscard]] std::string_view workload_name(WorkloadShape shape);
[[nodiscard]] Result<WorkloadShape> parse_workload(std::string_view name);

// "250ms", "90s", "5m", "1h", "1h30m": whole milliseconds, positive.
[[nodiscard]] Result<Duration> parse_duration(std::string_view text);
[[nodiscard]] std::string format_duration(Duration d);

// What Redis the simulated run uses: one server, or a Redis Cluster of `masters`
// masters with `replicas` replicas each (sim/cluster), reached through production's
// cluster client. "standalone", "cluster:3", "cluster:3x2".
struct RedisTopology {
  int masters = 0;  // 0: one standalone server
  int replicas = 1;
  [[nodiscard]] bool cluster() const { return masters > 0; }
  [[nodiscard]] int servers() const { return cluster() ? masters * (1 + replicas) : 1; }
  friend bool operator==(const RedisTopology&, const RedisTopology&) = default;
};
[[nodiscard]] Result<RedisTopology> parse_topology(std::string_view text);
[[nodiscard]] std::string topology_name(const RedisTopology& topology);

struct ScenarioOptions {
  std::string primitive = "lax-counter";
  int instances = 3;
  // Raft primitives: the group's members (1 to 7; the instances are its clients).
  int members = 3;
  WorkloadShape workload = WorkloadShape::kSteady;
  double rate = 20;  // operations per second per instance (bursts: 5x, a fifth of the time)
  int keys = 4;
  FaultProfile faults = FaultProfile::kAll;
  RedisTopology redis;
  Duration duration = std::chrono::seconds(60);  // the chaos phase (healing follows)
  std::uint64_t seed = 1;
  // Replay: this schedule instead of the one the seed generates.
  std::optional<sim::FaultSchedule> schedule;
  bool record_trace = false;
  // Redis keys of the run start with it (a real Redis gets a fresh one per run).
  std::string key_prefix = "scenario";
  int samples = 240;  // timeline points for the report
  // Called now and then with the fraction of the run done (progress line).
  std::function<void(double)> progress;

  [[nodiscard]] Status validate() const;
};

// One instance's part: what a primitive's workload runs with.
struct InstanceEnv {
  std::string process;  // "<instance>.<incarnation>": a restarted process is another
  int index = 0;
  Executor* executor = nullptr;
  RedisConnection* redis = nullptr;  // Redis primitives
  raft::RaftClient* raft = nullptr;  // Raft primitives: a client of the group
  sim::Rng* rng = nullptr;
  const ScenarioOptions* options = nullptr;
  std::function<std::int64_t()> true_us;  // true time since the start, microseconds
  const bool* stop = nullptr;             // the workload ends: settle (flush), then wait
  const bool* released = nullptr;         // the final read is done: shut down
};

// A series of (seconds, value) points of the report's chart.
struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;
  bool truth = false;  // the true value (drawn bold), not one instance's view
};
struct Timeline {
  std::string y_label;
  std::vector<Series> series;
  Series& get(const std::string& name, bool truth = false);
};

struct Violation {
  std::string message;
  double at_seconds = -1;  // where in the run, when it has a time
};

class Primitive {
 public:
  virtual ~Primitive() = default;
  // The workload on one process until *env.stop; then it settles (flushes what it
  // holds), calls settled(env.process), waits for *env.released and shuts down.
  virtual Task<void> run(InstanceEnv& env) = 0;
  // After every process settled: reads the final state (a fresh process).
  virtual Task<void> observe(InstanceEnv& env) {
    (void)env;
    co_return;
  }
  // How long the observer waits after the processes settled (the instance-aware
  // counters' dead-instance threshold: dead slices must be gone first).
  [[nodiscard]] virtual Duration settle_time() const { return std::chrono::milliseconds(100); }
  virtual void sample(double seconds, Timeline& timeline) = 0;
  [[nodiscard]] virtual std::optional<Violation> check() = 0;
  [[nodiscard]] virtual std::uint64_t operations() const = 0;
  // The invariant in words, for the summary and the report.
  [[nodiscard]] virtual std::string invariant() const = 0;
  // Raft primitives: the replicated state machine a member runs (a fresh one per
  // incarnation: it is rebuilt from the log), and a last say on a member's options
  // (tests register broken variants through it).
  [[nodiscard]] virtual std::unique_ptr<raft::StateMachine> make_state_machine() { return nullptr; }
  virtual void configure_member(raft::RaftServerOptions& options) { (void)options; }

  void settled(const std::string& process) { survivors_.insert(process); }
  [[nodiscard]] const std::set<std::string>& survivors() const { return survivors_; }

 private:
  std::set<std::string> survivors_;
};

using PrimitiveFactory = std::function<std::unique_ptr<Primitive>(const ScenarioOptions&)>;
// What a primitive runs on: Redis (a server or a cluster, and instances using it), or
// a Raft group (members with disks, and instances as its clients; no Redis).
enum class Backend : std::uint8_t { kRedis, kRaft };
struct PrimitiveInfo {
  std::string name;
  std::string description;
  PrimitiveFactory make;
  Backend backend = Backend::kRedis;
};
// raft-counter (kv false) or raft-kv, with `configure` applied to every member's
// options: for tests that register broken variants (a mutation, no deduplication).
[[nodiscard]] std::unique_ptr<Primitive> make_raft_primitive(
    const ScenarioOptions& options, bool kv,
    std::function<void(raft::RaftServerOptions&)> configure = {});

// The built-in primitives, then any registered ones.
[[nodiscard]] const std::vector<PrimitiveInfo>& primitives();
void register_primitive(PrimitiveInfo info);
[[nodiscard]] const PrimitiveInfo* find_primitive(std::string_view name);

// A fault interval or instant, for the report's timeline.
struct FaultMark {
  std::string node;
  std::string what;
  double from_seconds = 0;
  double to_seconds = 0;  // == from for an instant
};

struct ScenarioResult {
  ScenarioOptions options;
  sim::FaultSchedule schedule;
  std::string schedule_description;  // with node names
  std::vector<std::string> nodes;    // names by node id
  double simulated_seconds = 0;
  double wall_seconds = 0;
  std::uint64_t events = 0;
  std::uint64_t operations = 0;
  std::uint64_t trace_hash = 0;
  std::vector<std::string> trace;  // when options.record_trace
  std::optional<Violation> violation;
  std::string invariant;
  Timeline timeline;
  // Raft primitives: each member's term and commit index over time (its leadership
  // is in `faults`, as intervals).
  Timeline terms;
  Timeline commits;
  std::vector<FaultMark> faults;
  std::string backend = "simulator";
};

// The schedule a seed gives for the options' profile, topology and instances (events
// within `duration`). Node ids: the servers first (a cluster's masters, then its
// replicas) or the Raft members, then the instances.
[[nodiscard]] sim::FaultSchedule generate_faults(const ScenarioOptions& options);

// Runs one seed in the simulator. kInvalidArgument for bad options or schedules.
[[nodiscard]] Result<ScenarioResult> run_scenario(const ScenarioOptions& options);

// Removes events from a failing schedule while the run still fails (at most
// `max_runs` runs); returns the smallest failing schedule found.
[[nodiscard]] sim::FaultSchedule shrink_schedule(
    const ScenarioOptions& options, sim::FaultSchedule failing, int max_runs,
    const std::function<void(int, std::size_t)>& step = {});

// The same workload against a real Redis ("redis://host:port"), in real time, without
// faults.
[[nodiscard]] Result<ScenarioResult> run_on_redis(const ScenarioOptions& options,
                                                  std::string_view url);

// The one-line command that replays `result` (with its schedule).
[[nodiscard]] std::string replay_command(const ScenarioResult& result);

}  // namespace distkit::scenario

#endif  // DISTKIT_TOOLS_SCENARIO_H_
