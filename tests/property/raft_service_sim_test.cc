// The replicated counter and key-value store in the simulator, end to end on the code
// users run: members are RaftServers (RaftNode, sessions, a CounterStore or KvStore) on
// simulated disks; clients are RaftClients on other nodes, reaching the members over
// the same simulated network, which loses, delays, reorders and duplicates messages.
// For 20 simulated seconds members crash (losing or tearing unsynced writes) and
// restart, and any node may be partitioned or isolated; then everything heals.
//
// Checked after every event: Raft's invariants (sim/check/raft_invariants.h). At the
// end: every key's history (invocation and completion in true time; an unknown
// outcome may have taken effect or not) is linearizable against the counter model
// (the KV store as a register, sim/check/raft_operations.h); after healing every
// client's operations succeed again. A broken variant that applies
// retried commands again (no deduplication) is caught. Same seed, same trace.
//
// A failure prints its seed; replay it alone with
//   bazel test //tests/property:raft_service_sim_test --test_env=DISTKIT_RAFT_SEED=<seed>
// (DISTKIT_RAFT_SEEDS=<n> searches seeds 1..n).
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "distkit/core/raft/counter.h"
#include "distkit/core/raft/kv.h"
#include "distkit/core/raft/raft_server.h"
#include "distkit/sim/check/linearizability.h"
#include "distkit/sim/check/raft_invariants.h"
#include "distkit/sim/check/raft_operations.h"
#include "distkit/sim/world/world.h"

namespace distkit::sim {
namespace {

using raft::RaftServer;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kMembers = 3;
constexpr int kClients = 3;
constexpr int kKeys = 2;
constexpr Duration kChaos = seconds(20);
constexpr Duration kHealed = seconds(15);

enum class Service { kCounter, kKv };

struct Outcome {
  std::optional<std::string> violation;
  std::uint64_t trace_hash = 0;
  int ok = 0;
  int unknown = 0;
  int ok_after_healing = 0;
  std::uint64_t duplicated = 0;
  // Rolling restarts: each leader's shutdown(), and the longest one (with its linger).
  std::vector<Status> shutdowns;
  Duration slowest_shutdown{0};
  // The longest time between two successful client operations before healing, and
  // how many such gaps were longer than an election timeout (100 ms).
  Duration longest_stall{0};
  int stalls = 0;
};

// `rolling`: no faults; instead, every 2 s the leader is shut down (shutdown(), which
// hands leadership over), stopped and restarted half a second later: a rolling
// upgrade.
Outcome run(std::uint64_t seed, Service service, bool deduplicate = true, bool rolling = false) {
  World world({.seed = seed,
               .default_link = LinkConfig{.latency = {.min = milliseconds(1),
                                                      .max = milliseconds(5),
                                                      .tail_probability = 0.01,
                                                      .tail = milliseconds(80)},
                                          .duplicate = 0.02}});
  std::vector<NodeId> members;
  std::vector<NodeId> clients;
  std::map<std::string, std::deque<CounterOperation>> history;
  std::unique_ptr<RaftInvariants> invariants;  // once the members are known
  std::optional<std::string> violation;
  bool healed = false;
  bool stop = false;
  Outcome out;
  std::map<NodeId, RaftServer*> servers;  // the live ones
  SimTime last_ok{};
  std::set<NodeId> to_shut_down;

  for (int i = 0; i < kMembers; ++i) {
    const NodeId id =
        world.add_instance("m" + std::to_string(i + 1), [&](NodeContext& node) -> Task<void> {
          raft::RaftServerOptions options;
          options.node.raft.id = raft::raft_id(node.id());
          for (NodeId m : members)
            options.node.raft.voters.push_back(raft::raft_id(m));
          options.node.raft.seed = node.rng().next_u64() | 1;
          options.node.wal.segment_bytes = 16 << 10;
          options.node.snapshot_entries = 64;  // snapshots and compaction exercised
          options.node.raft.max_snapshot_chunk_bytes = 1024;
          options.node.proposal_timeout = milliseconds(500);
          options.sessions.deduplicate = deduplicate;
          raft::CounterStore counters;
          raft::KvStore kv;
          raft::StateMachine& app =
              service == Service::kCounter ? static_cast<raft::StateMachine&>(counters) : kv;
          Result<std::unique_ptr<RaftServer>> server =
              co_await RaftServer::start(node.executor(), node.peers(), node.disk(), app, options);
          if (!server.ok()) {
            violation = node.name() + " could not start: " + server.status().to_string();
            co_return;
          }
          invariants->set_node(node.id(), &(*server)->node());
          servers[node.id()] = server->get();
          // Serve until the node crashes (the world then drops its frames, and the
          // check forgets it first), or is asked to shut down.
          while (!to_shut_down.contains(node.id()))
            co_await sleep_for(node.executor(), milliseconds(10));
          const SimTime asked = world.now();
          out.shutdowns.push_back(co_await (*server)->shutdown(seconds(1)));
          out.slowest_shutdown = std::max(out.slowest_shutdown, world.now() - asked);
          to_shut_down.erase(node.id());
          // The process exits (from outside its own frames), and comes back.
          const NodeId self = node.id();
          world.schedule(world.now() + milliseconds(1), [&, self] {
            servers.erase(self);
            invariants->set_node(self, nullptr);
            world.crash(self, CrashLoss::kEverythingUnsynced);
          });
          world.schedule(world.now() + milliseconds(500), [&, self] { world.restart(self); });
          while (true)
            co_await sleep_for(node.executor(), seconds(3600));
        });
    members.push_back(id);
  }
  invariants = std::make_unique<RaftInvariants>(members);
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(
        world.add_instance("c" + std::to_string(c + 1), [&](NodeContext& node) -> Task<void> {
          PeerChannels channels(node.executor(), node.peers());
          raft::RaftClient client(node.executor(), channels.channel(raft::kClientChannel),
                                  {.members = members, .call_timeout = seconds(3)});
          raft::CounterClient counter(client);
          raft::KvClient kv(client);
          Rng rng = node.rng().derive("workload");
          while (!stop) {
            co_await sleep_for(node.executor(), milliseconds(rng.between(1, 30)));
            const std::string key = "k" + std::to_string(rng.below(kKeys));
            // Recorded before it runs (a deque: the record stays put while others
            // append): if this client crashed mid-call, it would stay "unknown".
            CounterOperation& op = history[key].emplace_back(
                CounterOperation{.invoked = world.now(), .process = node.name()});
            Status status;
            if (service == Service::kCounter) {
              status = co_await random_counter_operation(counter, rng, key, op);
            } else {
              status = co_await random_kv_operation(kv, rng, key, op);
            }
            if (status.ok()) {
              op.completed = world.now();
              if (!healed && last_ok != SimTime{}) {
                out.longest_stall = std::max(out.longest_stall, world.now() - last_ok);
                if (world.now() - last_ok >= milliseconds(100)) ++out.stalls;
              }
              last_ok = world.now();
              ++out.ok;
              if (healed) ++out.ok_after_healing;
            } else if (status.code() == StatusCode::kUnknownOutcome) {
              ++out.unknown;  // may have run: completes "at infinity"
            } else if (status.code() == StatusCode::kUnavailable) {
              op.dropped = true;  // certainly did not run
            } else {
              op.dropped = true;
              if (!violation)
                violation = node.name() + ": unexpected outcome " + status.to_string();
            }
          }
        }));
  }

  // Faults, drawn from the seed: member crashes (at most one down at a time: a
  // majority stays), partitions and isolation of any node, lossy links.
  Rng faults(seed ^ 0xfa17);
  std::set<NodeId> down;
  const auto crash = [&](NodeId member, CrashLoss loss) {
    servers.erase(member);
    invariants->set_node(member, nullptr);
    world.crash(member, loss);
  };
  std::vector<NodeId> everyone = members;
  everyone.insert(everyone.end(), clients.begin(), clients.end());
  for (Duration t = seconds(2); rolling && t < kChaos; t += seconds(2)) {
    world.schedule(SimTime(t), [&] {
      for (const auto& [id, server] : servers) {
        if (server->node().machine().role() == raft::Role::kLeader) to_shut_down.insert(id);
      }
    });
  }
  for (Duration t = milliseconds(300); !rolling && t < kChaos;
       t += milliseconds(faults.between(200, 1200))) {
    const NodeId member = members[faults.below(members.size())];
    const NodeId a = everyone[faults.below(everyone.size())];
    const NodeId b = everyone[faults.below(everyone.size())];
    const int kind = static_cast<int>(faults.below(6));
    world.schedule(SimTime(t), [&, member, a, b, kind] {
      switch (kind) {
        case 0:
        case 1:
          if (world.alive(member) && down.empty()) {
            crash(member, kind == 0 ? CrashLoss::kEverythingUnsynced : CrashLoss::kTornSectors);
            down.insert(member);
          } else if (!world.alive(member)) {
            world.restart(member);
            down.erase(member);
          }
          break;
        case 2:
          world.isolate(a);
          break;
        case 3:
          if (a != b) world.partition(a, b);
          break;
        case 4:
          if (a != b)
            world.set_link_both(
                a, b,
                LinkConfig{.latency = {.min = milliseconds(1), .max = milliseconds(30)},
                           .loss = 0.3,
                           .duplicate = 0.2});
          break;
        default:
          world.heal_all();
          break;
      }
    });
  }
  // Raft's invariants after every event.
  const auto broken = [&] {
    if (const auto& v = invariants->check(); v && !violation) violation = *v;
    return violation.has_value();
  };
  world.run_until(broken, SimTime(kChaos));
  world.heal_all();
  for (NodeId id : members) {
    if (!world.alive(id)) world.restart(id);
  }
  // Give the group an election's time before counting what succeeds.
  world.run_until(broken, world.now() + seconds(2));
  healed = true;
  world.run_until(broken, world.now() + kHealed);
  stop = true;
  world.run_until(broken, world.now() + seconds(5));

  for (auto& [key, all] : history) {
    if (violation) break;
    std::vector<CounterOperation> ops;
    for (const CounterOperation& op : all) {
      if (!op.dropped) ops.push_back(op);
    }
    const LinearizabilityResult r =
        check_counter_linearizable(ops, service == Service::kCounter ? 0 : kAbsentValue);
    if (r.exhausted) {
      violation = "key " + key + ": the linearizability search ran out of budget";
    } else if (!r.linearizable) {
      violation = "key " + key + " is not linearizable: " + r.explanation;
    }
  }
  out.violation = violation;
  out.trace_hash = world.trace_hash();
  return out;
}

std::vector<std::uint64_t> seeds(std::uint64_t default_count) {
  std::vector<std::uint64_t> out;
  if (const char* env = std::getenv("DISTKIT_RAFT_SEED")) {
    out.push_back(std::strtoull(env, nullptr, 10));
    return out;
  }
  const char* many = std::getenv("DISTKIT_RAFT_SEEDS");
  const std::uint64_t n = many != nullptr ? std::strtoull(many, nullptr, 10) : default_count;
  for (std::uint64_t s = 1; s <= n; ++s)
    out.push_back(s);
  return out;
}

std::string replay_line(std::uint64_t seed) {
  return "replay: bazel test //tests/property:raft_service_sim_test "
         "--test_env=DISTKIT_RAFT_SEED=" +
         std::to_string(seed);
}

void expect_correct_and_live(Service service, const char* name) {
  for (std::uint64_t seed : seeds(4)) {
    const Outcome o = run(seed, service);
    EXPECT_FALSE(o.violation.has_value())
        << name << ", seed " << seed << ": " << o.violation.value_or("") << "\n"
        << replay_line(seed);
    // Liveness: after healing, the clients' operations go through again.
    EXPECT_GT(o.ok_after_healing, 100) << name << ", seed " << seed << "\n" << replay_line(seed);
    std::cout << name << ", seed " << seed << ": " << o.ok << " ok (" << o.ok_after_healing
              << " after healing), " << o.unknown << " unknown\n";
  }
}

TEST(RaftServiceSim, CounterIsLinearizableUnderFaults) {
  expect_correct_and_live(Service::kCounter, "counter");
}

TEST(RaftServiceSim, KvIsLinearizableUnderFaults) {
  expect_correct_and_live(Service::kKv, "kv");
}

// A rolling restart: each leader hands over before it stops, so no client operation
// waits for an election, and none ends UNKNOWN.
TEST(RaftServiceSim, RollingRestartsHandLeadershipOverWithoutAnElection) {
  for (std::uint64_t seed : seeds(2)) {
    const Outcome o = run(seed, Service::kKv, true, /*rolling=*/true);
    EXPECT_FALSE(o.violation.has_value())
        << "seed " << seed << ": " << o.violation.value_or("") << "\n"
        << replay_line(seed);
    ASSERT_GE(o.shutdowns.size(), 8u) << "seed " << seed;
    for (const Status& s : o.shutdowns)
      EXPECT_TRUE(s.ok()) << "seed " << seed << ": " << s;
    // An election would take at least an election timeout (100 ms here): clients
    // would stall that long at every restart (a shutdown that does not hand over
    // stalls them 9 times in 9, and one that stops as soon as it handed over 4 times
    // in 9: clients then call the member that is gone).
    EXPECT_LE(o.stalls, 1) << "seed " << seed;
    EXPECT_EQ(o.unknown, 0) << "seed " << seed;
    std::cout << "seed " << seed << ": " << o.shutdowns.size() << " leaders shut down, slowest "
              << "shutdown " << std::chrono::duration_cast<milliseconds>(o.slowest_shutdown).count()
              << " ms, " << o.stalls << " client stalls of 100 ms or more (longest "
              << std::chrono::duration_cast<milliseconds>(o.longest_stall).count() << " ms), "
              << o.ok << " ok, " << o.unknown << " unknown\n";
  }
}

TEST(RaftServiceSim, SameSeedSameTrace) {
  const Outcome a = run(2, Service::kCounter);
  const Outcome b = run(2, Service::kCounter);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.ok, b.ok);
  EXPECT_NE(run(3, Service::kCounter).trace_hash, a.trace_hash);
}

// Without deduplication a retried increment (its first attempt committed, the answer
// lost) is applied twice, which no linearization explains.
TEST(RaftServiceSim, ApplyingRetriesAgainIsCaught) {
  std::optional<std::string> caught;
  for (std::uint64_t seed = 1; seed <= 6 && !caught; ++seed) {
    const Outcome o = run(seed, Service::kCounter, /*deduplicate=*/false);
    if (o.violation && o.violation->find("linearizable") != std::string::npos)
      caught = "seed " + std::to_string(seed) + ": " + *o.violation;
  }
  ASSERT_TRUE(caught.has_value()) << "not caught within 6 seeds";
  std::cout << "caught at " << caught->substr(0, 300) << "\n";
}

}  // namespace
}  // namespace distkit::sim
