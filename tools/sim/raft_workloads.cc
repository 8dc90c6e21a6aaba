// The Raft primitives of the scenario runner: raft-counter and raft-kv. The runner
// starts the group (members with disks, its invariants checked after every event, a
// supervisor restarting fail-stopped members, convergence after healing: run.cc);
// these run the clients' workload and judge its history.
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "distkit/core/raft/counter.h"
#include "distkit/core/raft/kv.h"
#include "distkit/sim/check/linearizability.h"
#include "distkit/sim/check/raft_operations.h"
#include "distkit/tools/sim/scenario.h"
#include "tools/sim/scenario_internal.h"

namespace distkit::scenario {
namespace {

using std::chrono::milliseconds;

class RaftPrimitive final : public Primitive {
 public:
  RaftPrimitive(const ScenarioOptions& options, bool kv,
                std::function<void(raft::RaftServerOptions&)> configure)
      : options_(options), kv_(kv), configure_(std::move(configure)) {}

  void configure_member(raft::RaftServerOptions& options) override {
    if (configure_) configure_(options);
  }

  std::unique_ptr<raft::StateMachine> make_state_machine() override {
    if (kv_) return std::make_unique<raft::KvStore>();
    return std::make_unique<raft::CounterStore>();
  }

  // Each operation is recorded before it runs: if the process crashes meanwhile, it
  // stays "unknown" (it may or may not take effect).
  Task<void> run(InstanceEnv& env) override {
    raft::CounterClient counter(*env.raft);
    raft::KvClient kv(*env.raft);
    while (!*env.stop) {
      const std::string key =
          "k" + std::to_string(env.rng->below(static_cast<std::uint64_t>(options_.keys)));
      // A deque: the record stays put while others append.
      sim::CounterOperation& op = history_[key].emplace_back(sim::CounterOperation{
          .invoked = Duration(std::chrono::microseconds(env.true_us())), .process = env.process});
      ++operations_;
      Status status;
      if (kv_) {
        status = co_await sim::random_kv_operation(kv, *env.rng, key, op);
      } else {
        status = co_await sim::random_counter_operation(counter, *env.rng, key, op);
      }
      if (status.ok()) {
        op.completed = Duration(std::chrono::microseconds(env.true_us()));
        if (key == "k0") views_[env.index] = static_cast<double>(op.value);
      } else if (status.code() == StatusCode::kUnknownOutcome) {
        // Left as recorded: it completes "at infinity".
      } else if (status.code() == StatusCode::kUnavailable) {
        op.dropped = true;  // certainly did not run
      } else {
        if (!unexpected_)
          unexpected_ = Violation{env.process + ": unexpected outcome " + status.to_string(),
                                  static_cast<double>(env.true_us()) / 1e6};
        op.dropped = true;
      }
      co_await pace(env);
    }
    settled(env.process);
    while (!*env.released)
      co_await sleep_for(*env.executor, milliseconds(10));
  }

  void sample(double seconds, Timeline& timeline) override {
    timeline.y_label = kv_ ? "k0 as each client last read or wrote it (-1: absent)"
                           : "k0 as each client last saw it";
    for (const auto& [index, view] : views_)
      timeline.get("app-" + std::to_string(index)).points.emplace_back(seconds, view);
  }

  std::optional<Violation> check() override {
    if (unexpected_) return unexpected_;
    for (const auto& [key, all] : history_) {
      std::vector<sim::CounterOperation> ops;
      for (const sim::CounterOperation& op : all) {
        if (!op.dropped) ops.push_back(op);
      }
      const sim::LinearizabilityResult r =
          sim::check_counter_linearizable(ops, kv_ ? sim::kAbsentValue : 0);
      if (r.exhausted) return Violation{key + ": the linearizability search ran out of budget", -1};
      if (!r.linearizable) return Violation{key + " is not linearizable: " + r.explanation, -1};
    }
    return std::nullopt;
  }

  std::uint64_t operations() const override { return operations_; }

  std::string invariant() const override {
    return std::string("every key's history is linearizable (") +
           (kv_ ? "a register: put, get, compare-and-set, delete"
                : "StrictCounter's model: inc, get, set, inc_if, set_if") +
           "; an unknown outcome may or may not take effect); after every event: one leader "
           "per term, one committed entry per index, committed entries durable on a "
           "quorum, terms and commits never going back; healed, the group converges";
  }

 private:
  const ScenarioOptions& options_;
  bool kv_;
  std::function<void(raft::RaftServerOptions&)> configure_;
  std::map<std::string, std::deque<sim::CounterOperation>> history_;
  std::map<int, double> views_;
  std::optional<Violation> unexpected_;
  std::uint64_t operations_ = 0;
};

}  // namespace

std::unique_ptr<Primitive> make_raft_primitive(
    const ScenarioOptions& options, bool kv,
    std::function<void(raft::RaftServerOptions&)> configure) {
  return std::make_unique<RaftPrimitive>(options, kv, std::move(configure));
}

void add_raft_primitives(std::vector<PrimitiveInfo>& list) {
  list.push_back({"raft-counter",
                  "a StrictCounter-like counter replicated by Raft (members and clients, no Redis)",
                  [](const ScenarioOptions& o) { return make_raft_primitive(o, false); },
                  Backend::kRaft});
  list.push_back(
      {"raft-kv", "a key-value store replicated by Raft: put, get, compare-and-set, delete",
       [](const ScenarioOptions& o) { return make_raft_primitive(o, true); }, Backend::kRaft});
  list.push_back(
      {"raft-kv-lease", "raft-kv reading by leader lease (trusts clocks to drift under 10%)",
       [](const ScenarioOptions& o) {
         return make_raft_primitive(
             o, true, [](raft::RaftServerOptions& m) { m.node.raft.lease_reads = true; });
       },
       Backend::kRaft});
}

}  // namespace distkit::scenario
