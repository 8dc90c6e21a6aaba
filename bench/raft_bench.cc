// Raft's costs on the simulator, measured in what the protocol does rather than in wall
// time: messages per committed entry, messages per idle member per second, leader
// syncs per entry, and commit latency as a ratio to its physical floor. Each benchmark
// iteration runs a 3-member group (RaftNode, the code users run) on fixed links (1 ms
// one way) and disks (2 ms per sync) for a stretch of simulated time; the counters are
// per iteration. The floor of a commit is one round trip to a follower plus that
// follower's sync, run in parallel with the leader's own: 2 x 1 ms + 2 ms.
//
//   bazel run --config=opt //bench:raft_bench
//
// Counters (deterministic for a build: the same seed gives the same numbers):
//   msgs_per_entry      peer messages sent by all members / entries committed
//   syncs_per_entry     the leader's disk syncs / entries committed
//   commit_vs_floor     mean propose-to-apply time at the leader / (2 x one-way + sync)
//   msgs_per_member_s   (idle) messages sent per member per simulated second
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "distkit/core/raft/raft_node.h"
#include "distkit/sim/world/world.h"

namespace distkit::sim {
namespace {

using std::chrono::milliseconds;

constexpr Duration kOneWay = milliseconds(1);
constexpr Duration kSync = milliseconds(2);
constexpr Duration kMeasured = std::chrono::seconds(10);

class Nothing final : public raft::StateMachine {
 public:
  std::string apply(const raft::Entry&) override { return {}; }
  std::string snapshot() const override { return {}; }
  Status restore(std::string_view) override { return Status(); }
};

struct Measured {
  std::uint64_t committed = 0;
  std::uint64_t messages = 0;
  std::uint64_t leader_syncs = 0;
  double mean_commit_ms = 0;
};

// A 3-member group; once a leader is up, `in_flight` proposers on it propose back to
// back (0: idle) for kMeasured. `tick`: the members' tick (heartbeats every tick,
// elections after 10 to 20).
Measured run_group(int in_flight, Duration tick) {
  World world({.seed = 1,
               .default_link = LinkConfig{.latency = {.min = kOneWay, .max = kOneWay}},
               .disk_sync_min = kSync,
               .disk_sync_max = kSync});
  std::vector<NodeId> ids;
  std::vector<raft::RaftNode*> nodes(3, nullptr);
  std::uint64_t committed = 0;
  Duration latency_sum{0};
  bool measuring = false;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(
        world.add_instance("m" + std::to_string(i + 1), [&, i](NodeContext& node) -> Task<void> {
          raft::RaftNodeOptions options;
          options.raft.id = raft::raft_id(node.id());
          for (NodeId m : ids)
            options.raft.voters.push_back(raft::raft_id(m));
          options.raft.seed = 7 + static_cast<std::uint64_t>(i);
          options.tick = tick;
          Nothing state;
          Result<std::unique_ptr<raft::RaftNode>> started = co_await raft::RaftNode::start(
              node.executor(), node.peers(), node.disk(), state, options);
          if (!started.ok()) co_return;
          std::unique_ptr<raft::RaftNode> raft = std::move(*started);
          nodes[static_cast<std::size_t>(i)] = raft.get();
          while (raft->machine().role() != raft::Role::kLeader)
            co_await sleep_for(node.executor(), milliseconds(5));
          for (int p = 0; p < in_flight; ++p) {
            node.spawn([](NodeContext& node, raft::RaftNode* raft, std::uint64_t& committed,
                          Duration& latency_sum, bool& measuring) -> Task<void> {
              while (true) {
                const MonoTime start = node.executor().clock().now();
                Result<std::string> r = co_await raft->propose("x");
                if (r.ok() && measuring) {
                  ++committed;
                  latency_sum += node.executor().clock().now() - start;
                }
              }
            }(node, raft.get(), committed, latency_sum, measuring));
          }
          while (true)
            co_await sleep_for(node.executor(), std::chrono::hours(1));
        }));
  }
  // Warm up: elect a leader and settle.
  world.run_for(std::chrono::seconds(3));
  const auto sent = [&] {
    std::uint64_t n = 0;
    for (NodeId id : ids)
      n += world.datagrams_sent(id);
    return n;
  };
  raft::RaftNode* leader = nullptr;
  NodeId leader_id = 0;
  for (int i = 0; i < 3; ++i) {
    if (nodes[i] != nullptr && nodes[i]->machine().role() == raft::Role::kLeader) {
      leader = nodes[i];
      leader_id = ids[static_cast<std::size_t>(i)];
    }
  }
  Measured m;
  if (leader == nullptr) return m;
  const std::uint64_t messages_before = sent();
  const std::uint64_t syncs_before = world.disk(leader_id).syncs();
  measuring = true;
  world.run_for(kMeasured);
  measuring = false;
  m.committed = committed;
  m.messages = sent() - messages_before;
  m.leader_syncs = world.disk(leader_id).syncs() - syncs_before;
  m.mean_commit_ms = committed == 0
                         ? 0
                         : std::chrono::duration<double, std::milli>(latency_sum).count() /
                               static_cast<double>(committed);
  return m;
}

void report(benchmark::State& state, const Measured& m) {
  const double entries = static_cast<double>(std::max<std::uint64_t>(1, m.committed));
  state.counters["entries"] = static_cast<double>(m.committed);
  state.counters["msgs_per_entry"] = static_cast<double>(m.messages) / entries;
  state.counters["syncs_per_entry"] = static_cast<double>(m.leader_syncs) / entries;
  const double floor_ms = std::chrono::duration<double, std::milli>(2 * kOneWay + kSync).count();
  state.counters["commit_ms"] = m.mean_commit_ms;
  state.counters["commit_vs_floor"] = m.mean_commit_ms / floor_ms;
}

// One proposal at a time: latency, and the messages each entry costs on its own.
void BM_Raft_OneInFlight(benchmark::State& state) {
  Measured m;
  for (auto _ : state)
    m = run_group(1, milliseconds(state.range(0)));
  report(state, m);
}

// 64 proposals in flight: group commit (one sync per Ready) and batched appends.
void BM_Raft_SixtyFourInFlight(benchmark::State& state) {
  Measured m;
  for (auto _ : state)
    m = run_group(64, milliseconds(state.range(0)));
  report(state, m);
}

// No proposals: heartbeats and their answers only.
void BM_Raft_Idle(benchmark::State& state) {
  Measured m;
  for (auto _ : state)
    m = run_group(0, milliseconds(state.range(0)));
  state.counters["msgs_per_member_s"] =
      static_cast<double>(m.messages) / 3 / std::chrono::duration<double>(kMeasured).count();
}

// Ticks of 10 ms (RaftNodeOptions' default) and 100 ms (etcd's).
BENCHMARK(BM_Raft_OneInFlight)->Arg(10)->Arg(100)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Raft_SixtyFourInFlight)
    ->Arg(10)
    ->Arg(100)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Raft_Idle)->Arg(10)->Arg(100)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace distkit::sim

BENCHMARK_MAIN();
