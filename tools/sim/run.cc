// Running a scenario in the simulator: its faults (the simulator's generator), the
// chaos and healing phases sampled for the report, the judgement, shrinking and the
// replay command.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <set>
#include <utility>

#include "distkit/core/cluster/cluster_connection.h"
#include "distkit/core/raft/raft_server.h"
#include "distkit/core/seam/peer_channels.h"
#include "distkit/sim/check/raft_invariants.h"
#include "distkit/sim/cluster/sim_cluster.h"
#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/sim/world/world.h"
#include "distkit/tools/sim/scenario.h"
#include "tools/sim/scenario_internal.h"

namespace distkit::scenario {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

// After the chaos phase: every fault lifted, then this long for the system to converge.
constexpr Duration kHealing = seconds(5);

double to_seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

sim::FaultSchedule generate_faults(const ScenarioOptions& options) {
  const Duration duration = options.duration;
  const RedisTopology& redis = options.redis;
  sim::FaultPlan plan{.chaos = duration, .profile = options.faults};
  const PrimitiveInfo* info = find_primitive(options.primitive);
  const bool raft = info != nullptr && info->backend == Backend::kRaft;
  int servers = redis.servers();
  if (raft) {
    // Members first: their clients are cut from them as instances from a server, and
    // they get the member kinds (crashes with their disks, links between them, clock
    // drift, disk faults). No Redis: its kinds are left out.
    servers = options.members;
    for (int m = 0; m < options.members; ++m) {
      plan.members.push_back(static_cast<NodeId>(m));
      plan.servers.push_back(static_cast<NodeId>(m));
    }
    plan.profile =
        sim::without(plan.profile, FaultProfile::kRedisRestarts | FaultProfile::kRedisErrors |
                                       FaultProfile::kClusterChanges);
  } else if (!redis.cluster()) {
    plan.servers = {0};
  } else {
    plan.shards.resize(static_cast<std::size_t>(redis.masters));
    for (int k = 0; k < redis.servers(); ++k) {
      const int shard = k < redis.masters ? k : (k - redis.masters) % redis.masters;
      plan.shards[static_cast<std::size_t>(shard)].push_back(static_cast<NodeId>(k));
      if (k < redis.masters) plan.servers.push_back(static_cast<NodeId>(k));
    }
  }
  for (int i = 0; i < options.instances; ++i)
    plan.instances.push_back(static_cast<NodeId>(servers + i));
  // About one episode per 5 s of a kind (at least 3 of each in a run), 0.2-4 s each.
  plan.rounds = static_cast<int>(
      std::max<std::int64_t>(3, std::chrono::duration_cast<milliseconds>(duration).count() / 5000));
  sim::Rng rng = sim::Rng(options.seed).derive("faults");
  sim::RngChoices choices(rng);
  return sim::generate_fault_schedule(plan, choices);
}

namespace {

// The fault timeline for the report: intervals per node, from the schedule.
std::vector<FaultMark> fault_marks(const sim::FaultSchedule& schedule,
                                   const std::vector<std::string>& names, double chaos_s) {
  using sim::FaultKind;
  std::vector<FaultMark> marks;
  std::map<std::pair<std::string, std::string>, double> open;  // (node, what) -> since
  const auto name = [&](NodeId id) {
    return id < names.size() ? names[id] : "node " + std::to_string(id);
  };
  const auto begin = [&](const std::string& node, const std::string& what, double t) {
    open.emplace(std::make_pair(node, what), t);
  };
  const auto end = [&](const std::string& node, const std::string& what, double t) {
    auto it = open.find({node, what});
    if (it == open.end()) return;
    marks.push_back({node, what, it->second, t});
    open.erase(it);
  };
  for (const sim::FaultEvent& e : schedule.events) {
    const double t = to_seconds(e.at);
    if (t >= chaos_s) continue;
    const std::string a = name(e.a);
    switch (e.kind) {
      // Under the link's higher node id: the instance when cut from the server (0),
      // the same node for a partition and its heal either way round.
      case FaultKind::kPartition:
      case FaultKind::kPartitionOneWay:
        begin(name(std::max(e.a, e.b)), "partition", t);
        break;
      case FaultKind::kIsolate:
        begin(a, "partition", t);
        break;
      case FaultKind::kHeal:
        end(name(std::max(e.a, e.b)), "partition", t);
        break;
      case FaultKind::kHealAll:
        for (auto it = open.begin(); it != open.end();) {
          if (it->first.second == "partition" || it->first.second == "loss" ||
              it->first.second == "duplication") {
            marks.push_back({it->first.first, it->first.second, it->second, t});
            it = open.erase(it);
          } else {
            ++it;
          }
        }
        break;
      case FaultKind::kLoss:
      case FaultKind::kSlowLink: {
        // A new value replaces the interval; 0 ends it.
        const std::string what = e.kind == FaultKind::kLoss ? "loss" : "slow link";
        end(a, what, t);
        if (e.value > 0) begin(a, what, t);
        break;
      }
      case FaultKind::kCrash:
        begin(a, "crashed", t);
        break;
      case FaultKind::kCrashTorn:
        begin(a, "crashed (torn writes)", t);
        break;
      case FaultKind::kDuplicate:
        end(a, "duplication", t);
        if (e.value > 0) begin(a, "duplication", t);
        break;
      case FaultKind::kDiskSlow:
        end(a, "slow disk", t);
        if (e.value > 0) begin(a, "slow disk", t);
        break;
      case FaultKind::kDiskFail:
        marks.push_back(
            {a, "disk syncs fail", t, std::min(chaos_s, t + static_cast<double>(e.value) / 1000)});
        break;
      case FaultKind::kRestart:
      case FaultKind::kRestartNewIdentity:
        end(a, "crashed", t);
        end(a, "crashed (torn writes)", t);
        break;
      case FaultKind::kPause:
        begin(a, "paused", t);
        break;
      case FaultKind::kResume:
        end(a, "paused", t);
        break;
      case FaultKind::kSlowServer:
        end(a, "slow server", t);
        if (e.value > 0) begin(a, "slow server", t);
        break;
      case FaultKind::kResetConnections:
        marks.push_back({a, "connections reset", t, t});
        break;
      case FaultKind::kClockOffset:
        marks.push_back({a, "clock offset " + std::to_string(e.value) + " ms", t, t});
        break;
      case FaultKind::kClockDrift:
        marks.push_back({a, "clock drift " + std::to_string(e.value) + " ppm", t, t});
        break;
      case FaultKind::kClockJump:
        marks.push_back({a, "clock jump " + std::to_string(e.value) + " ms", t, t});
        break;
      case FaultKind::kRedisRestart:
        marks.push_back({a, "redis restart", t, t});
        break;
      case FaultKind::kScriptFlush:
        marks.push_back({a, "script flush", t, t});
        break;
      case FaultKind::kRedisLoading:
      case FaultKind::kRedisBusy:
      case FaultKind::kRedisOom:
      case FaultKind::kRedisReadonly:
      case FaultKind::kRedisMasterDown: {
        // "redis-loading" -> "LOADING": the error the server answers with meanwhile.
        std::string what(sim::fault_kind_name(e.kind).substr(6));
        for (char& c : what)
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        marks.push_back({a, what, t, std::min(chaos_s, t + static_cast<double>(e.value) / 1000)});
        break;
      }
      case FaultKind::kClusterMigrate:
        marks.push_back({a,
                         e.value < 0 ? std::string("slot migration (fullest) to this shard")
                                     : "slot " + std::to_string(e.value) + " migration here",
                         t, t});
        break;
      case FaultKind::kClusterFailover:
        marks.push_back({a,
                         e.value == 0   ? "manual failover"
                         : e.value == 1 ? "automatic failover"
                                        : "lossy failover",
                         t, t});
        break;
    }
  }
  for (const auto& [key, since] : open)
    marks.push_back({key.first, key.second, since, chaos_s});
  return marks;
}

// ---- Raft primitives ------------------------------------------------------------------

// How long a healed group may take to converge after the workload ends.
constexpr Duration kRaftConvergence = seconds(30);

raft::RaftClientOptions raft_client_options(const std::vector<NodeId>& members) {
  return {.members = members, .attempt_timeout = milliseconds(300), .call_timeout = seconds(2)};
}

// The members of a Raft primitive's group as the runner sees them: their live servers
// (cleared before a crash destroys them), the invariants checked after every event,
// their supervisor, and what the report shows of them.
struct RaftGroup {
  std::unique_ptr<sim::RaftInvariants> invariants;
  std::map<NodeId, raft::RaftServer*> live;
  std::set<NodeId> stopped;                    // fail-stopped, waiting for the supervisor
  std::map<NodeId, std::string> start_errors;  // why a member's last start failed
  std::optional<Violation> violation;
  std::map<NodeId, std::pair<raft::Term, double>> leading;  // term, since
  std::function<void()> supervisor;

  void forget(NodeId id) {
    if (invariants) invariants->set_node(id, nullptr);
    live.erase(id);
  }

  void check(double at) {
    if (violation || !invariants) return;
    if (const std::optional<std::string>& v = invariants->check()) violation = Violation{*v, at};
  }

  // A member that stopped after a failed sync is a process that exited: every second
  // its supervisor restarts what stopped (the crash drops the old incarnation whole;
  // the disk keeps its page cache, as after a process exit).
  void supervise(sim::World& world) {
    supervisor = [this, &world] {
      for (NodeId id : std::exchange(stopped, {})) {
        world.crash(id);
        world.restart(id);
      }
      world.schedule(world.now() + seconds(1), supervisor);
    };
    world.schedule(world.now() + seconds(1), supervisor);
  }

  void end_leadership(NodeId id, double at, const sim::World& world, ScenarioResult& r) {
    auto it = leading.find(id);
    if (it == leading.end()) return;
    r.faults.push_back({world.name(id), "leader, term " + std::to_string(it->second.first),
                        it->second.second, at});
    leading.erase(it);
  }

  void sample(double at, const sim::World& world, ScenarioResult& r) {
    r.terms.y_label = "each member's term";
    r.commits.y_label = "each member's commit index";
    std::vector<NodeId> ended;  // down, or no longer leading in the term it led
    for (const auto& [id, since] : leading) {
      auto it = live.find(id);
      if (it == live.end() || it->second->node().machine().role() != raft::Role::kLeader ||
          it->second->node().machine().term() != since.first)
        ended.push_back(id);
    }
    for (NodeId id : ended)
      end_leadership(id, at, world, r);
    for (const auto& [id, server] : live) {
      const raft::RaftMachine& m = server->node().machine();
      r.terms.get(world.name(id)).points.emplace_back(at, static_cast<double>(m.term()));
      r.commits.get(world.name(id)).points.emplace_back(at, static_cast<double>(m.commit_index()));
      if (m.role() == raft::Role::kLeader && !leading.contains(id)) leading[id] = {m.term(), at};
    }
  }

  void close_leadership(double at, const sim::World& world, ScenarioResult& r) {
    while (!leading.empty())
      end_leadership(leading.begin()->first, at, world, r);
  }

  // One leader, every member up, and every member's log committed and applied up to
  // the leader's last entry.
  [[nodiscard]] bool converged(const std::vector<NodeId>& members) const {
    const raft::RaftServer* leader = nullptr;
    for (const auto& [id, server] : live) {
      if (server->node().machine().role() != raft::Role::kLeader) continue;
      if (leader != nullptr) return false;
      leader = server;
    }
    if (leader == nullptr) return false;
    const raft::Index last = leader->node().machine().log().last_index();
    for (NodeId id : members) {
      auto it = live.find(id);
      if (it == live.end()) return false;
      const raft::RaftNode& node = it->second->node();
      if (node.machine().commit_index() != last || node.applied_index() != last) return false;
    }
    return true;
  }

  [[nodiscard]] std::string describe(const sim::World& world,
                                     const std::vector<NodeId>& members) const {
    std::string out;
    for (NodeId id : members) {
      if (!out.empty()) out += "; ";
      out += world.name(id) + ": ";
      auto it = live.find(id);
      if (it == live.end()) {
        out += "down";
        if (auto e = start_errors.find(id); e != start_errors.end())
          out += " (its last start failed: " + e->second + ")";
        continue;
      }
      const raft::RaftMachine& m = it->second->node().machine();
      out += std::string(m.role() == raft::Role::kLeader ? "leader" : "not leader") + ", term " +
             std::to_string(m.term()) + ", commit " + std::to_string(m.commit_index()) +
             ", applied " + std::to_string(it->second->node().applied_index()) + ", last " +
             std::to_string(m.log().last_index());
    }
    return out;
  }
};

// A member: a RaftServer on the node's simulated disk, running the primitive's state
// machine, until it crashes (or stops after a failed sync, until its supervisor
// restarts it).
Task<void> run_member(sim::NodeContext& node, const std::vector<NodeId>& members,
                      Primitive& primitive, RaftGroup& group) {
  raft::RaftServerOptions options;
  options.node.raft.id = raft::raft_id(node.id());
  for (NodeId m : members)
    options.node.raft.voters.push_back(raft::raft_id(m));
  options.node.raft.seed = node.rng().next_u64() | 1;
  options.node.wal.segment_bytes = 1 << 20;  // small: rollovers happen
  // Snapshots every few hundred entries, sent in chunks: a member that was down long
  // catches up by snapshot.
  options.node.snapshot_entries = 256;
  options.node.raft.max_snapshot_chunk_bytes = 4096;
  options.node.proposal_timeout = seconds(1);
  primitive.configure_member(options);
  std::unique_ptr<raft::StateMachine> machine = primitive.make_state_machine();
  Result<std::unique_ptr<raft::RaftServer>> server = co_await raft::RaftServer::start(
      node.executor(), node.peers(), node.disk(), *machine, options);
  if (!server.ok()) {
    // A disk still failing its syncs, or damage: the supervisor tries again in a
    // second. Damage never heals, and the group's convergence check reports it.
    group.start_errors[node.id()] = server.status().to_string();
    group.stopped.insert(node.id());
    while (true)
      co_await sleep_for(node.executor(), std::chrono::hours(1));
  }
  group.start_errors.erase(node.id());
  group.live[node.id()] = server->get();
  group.invariants->set_node(node.id(), &(*server)->node());
  while ((*server)->node().failed().ok())
    co_await sleep_for(node.executor(), milliseconds(50));
  group.forget(node.id());
  group.stopped.insert(node.id());
  // Exited: nothing runs here any more; the supervisor's crash drops this frame.
  while (true)
    co_await sleep_for(node.executor(), std::chrono::hours(1));
}

}  // namespace

Result<ScenarioResult> run_scenario(const ScenarioOptions& options) {
  DISTKIT_RETURN_IF_ERROR(options.validate());
  const auto wall_start = std::chrono::steady_clock::now();
  ScenarioResult result;
  result.options = options;
  result.options.progress = nullptr;
  const PrimitiveInfo& info = *find_primitive(options.primitive);
  std::unique_ptr<Primitive> primitive = info.make(options);
  result.invariant = primitive->invariant();

  sim::World world({.seed = options.seed,
                    .default_link = {.latency = {.min = microseconds(200),
                                                 .max = milliseconds(2),
                                                 .tail_probability = 0.01,
                                                 .tail = milliseconds(50)}},
                    .record_trace = options.record_trace});
  const bool raft = info.backend == Backend::kRaft;
  // Raft: the members first (generate_faults' node ids), each a RaftServer on its
  // simulated disk, with the checks over them.
  std::vector<NodeId> members;
  RaftGroup group;
  // Redis: one server, or a cluster whose servers come first.
  sim::SimCluster* cluster = nullptr;
  NodeId redis = 0;
  if (raft) {
    for (int m = 0; m < options.members; ++m)
      members.push_back(world.add_instance(
          "m" + std::to_string(m + 1),
          [&](sim::NodeContext& node) { return run_member(node, members, *primitive, group); }));
    std::vector<std::string> names;
    for (NodeId m : members)
      names.push_back(world.name(m));
    group.invariants = std::make_unique<sim::RaftInvariants>(members, names);
    world.set_crash_observer([&group](NodeId id) { group.forget(id); });
  } else if (options.redis.cluster()) {
    cluster = &sim::SimCluster::create(
        world, {.masters = options.redis.masters, .replicas = options.redis.replicas});
  } else {
    redis = world.add_redis_server("redis", std::make_unique<sim::InMemoryRedis>());
  }
  const sim::ConnectionOptions connection{.request_timeout = milliseconds(200),
                                          .connect_timeout = milliseconds(200)};
  const auto connect = [cluster, redis](
                           sim::NodeContext& node,
                           sim::ConnectionOptions o) -> std::unique_ptr<RedisConnection> {
    if (cluster == nullptr) return node.connect_redis(redis, std::move(o));
    return std::make_unique<cluster::ClusterConnection>(
        node.executor(), cluster::ClusterConnectionOptions{.seeds = cluster->seeds()},
        [&node, o](const std::string& address) { return node.connect_redis(address, o); });
  };
  bool stop = false;
  bool released = false;
  const auto true_us = [&world] {
    return std::chrono::duration_cast<microseconds>(world.now()).count();
  };
  // What a process of the scenario (an instance, or the final observer) is given.
  const auto env_for = [&](std::string process, int index, sim::NodeContext& node,
                           RedisConnection* conn, raft::RaftClient* client, sim::Rng& rng) {
    return InstanceEnv{.process = std::move(process),
                       .index = index,
                       .executor = &node.executor(),
                       .redis = conn,
                       .raft = client,
                       .rng = &rng,
                       .options = &options,
                       .true_us = true_us,
                       .stop = &stop,
                       .released = &released};
  };
  for (int i = 0; i < options.instances; ++i) {
    world.add_instance("app-" + std::to_string(i), [&, i](sim::NodeContext& node) -> Task<void> {
      sim::Rng rng = node.rng().derive("workload");
      const std::string process = node.name() + "." + std::to_string(node.incarnation());
      if (raft) {
        PeerChannels channels(node.executor(), node.peers());
        raft::RaftClient client(node.executor(), channels.channel(raft::kClientChannel),
                                raft_client_options(members));
        InstanceEnv env = env_for(process, i, node, nullptr, &client, rng);
        co_await primitive->run(env);
        co_return;
      }
      auto conn = connect(node, connection);
      InstanceEnv env = env_for(process, i, node, conn.get(), nullptr, rng);
      co_await primitive->run(env);
    });
  }
  for (NodeId id : world.nodes())
    result.nodes.push_back(world.name(id));

  result.schedule = options.schedule ? *options.schedule : generate_faults(options);
  if (Status valid = sim::validate(result.schedule, world); !valid.ok()) return valid;
  result.schedule_description = sim::describe(result.schedule, world);
  result.faults = fault_marks(result.schedule, result.nodes, to_seconds(options.duration));

  // Chaos, then healing, sampled for the report; progress in steps of 1%.
  sim::FaultSchedule during_chaos;
  for (const sim::FaultEvent& e : result.schedule.events) {
    if (e.at < options.duration) during_chaos.events.push_back(e);
  }
  sim::apply(during_chaos, world);
  const Duration total = options.duration + kHealing;
  const Duration sample_every = total / options.samples;
  for (int s = 0; s <= options.samples; ++s) {
    world.schedule(world.now() + sample_every * s, [&, s] {
      const double at = to_seconds(sample_every * s);
      primitive->sample(at, result.timeline);
      if (raft) group.sample(at, world, result);
    });
  }
  const sim::SimTime start = world.now();
  // Raft: its invariants after every event; a fail-stopped member is restarted by its
  // supervisor (as systemd would) after a second.
  const auto checked = [&](sim::SimTime until) {
    if (!raft) return world.run_until(until);
    world.run_until(
        [&] {
          group.check(to_seconds(world.now() - start));
          return false;
        },
        until);
  };
  if (raft) group.supervise(world);
  for (int step = 1; step <= 100; ++step) {
    const sim::SimTime until = start + total * step / 100;
    if (until > start + options.duration && world.now() <= start + options.duration) {
      checked(start + options.duration);
      sim::heal_everything(world);
    }
    checked(until);
    if (options.progress) options.progress(step / 100.0);
  }
  // The workload stops; the processes settle (flush), then a fresh one reads.
  stop = true;
  const std::size_t instances = static_cast<std::size_t>(options.instances);
  world.run_until(
      [&] {
        if (raft) group.check(to_seconds(world.now() - start));
        return primitive->survivors().size() >= instances;
      },
      world.now() + seconds(30));
  checked(world.now() + primitive->settle_time());
  bool observed = false;
  world.add_instance("observer", [&](sim::NodeContext& node) -> Task<void> {
    sim::Rng rng = node.rng().derive("observer");
    if (raft) {
      PeerChannels channels(node.executor(), node.peers());
      raft::RaftClient client(node.executor(), channels.channel(raft::kClientChannel),
                              raft_client_options(members));
      InstanceEnv env = env_for("observer", -1, node, nullptr, &client, rng);
      co_await primitive->observe(env);
      observed = true;
      co_return;
    }
    auto conn = connect(node, {});
    InstanceEnv env = env_for("observer", -1, node, conn.get(), nullptr, rng);
    co_await primitive->observe(env);
    observed = true;
  });
  world.run_until(
      [&] {
        if (raft) group.check(to_seconds(world.now() - start));
        return observed;
      },
      world.now() + seconds(60));
  if (raft) {
    // Liveness: healed, the group converges (one leader, every member has applied
    // everything it committed) within kRaftConvergence.
    const bool converged = world.run_until(
        [&] {
          group.check(to_seconds(world.now() - start));
          return group.converged(members);
        },
        world.now() + kRaftConvergence);
    if (!converged && !group.violation)
      group.violation =
          Violation{"the Raft group did not converge within " + format_duration(kRaftConvergence) +
                        " of the workload's end: " + group.describe(world, members),
                    -1};
    group.close_leadership(to_seconds(world.now() - start), world, result);
  }
  released = true;
  world.run_for(seconds(1));

  if (cluster != nullptr) {
    // What the cluster did, from its history: migrations and CLUSTERDOWN as intervals,
    // failures and promotions as instants.
    std::map<std::string, double> since;
    const double end = to_seconds(world.now() - start);
    for (const sim::SimCluster::Event& e : cluster->history()) {
      const double t = to_seconds(e.at - start);
      const std::string node = world.name(e.node);
      if (e.what.starts_with("migrating slot ")) {
        since[node + "/" + e.what.substr(10, e.what.find(" to ") - 10)] = t;
      } else if (e.what.starts_with("migrated slot ")) {
        const std::string what = e.what.substr(9);
        if (auto it = since.find(node + "/" + what); it != since.end()) {
          result.faults.push_back({node, "migrating " + what, it->second, t});
          since.erase(it);
        }
      } else if (e.what == "state fail") {
        since["cluster/CLUSTERDOWN"] = t;
      } else if (e.what == "state ok") {
        if (auto it = since.find("cluster/CLUSTERDOWN"); it != since.end()) {
          result.faults.push_back({"cluster", "CLUSTERDOWN", it->second, t});
          since.erase(it);
        }
      } else if (e.what == "failed" || e.what.starts_with("promoted")) {
        result.faults.push_back({node, e.what, t, t});
      }
    }
    for (const auto& [key, from] : since) {
      const std::size_t slash = key.find('/');
      result.faults.push_back({key.substr(0, slash), key.substr(slash + 1), from, end});
    }
  }
  result.violation = raft && group.violation ? group.violation : primitive->check();
  if (cluster != nullptr && !result.violation) {
    if (Status s = cluster->check_invariants(); !s.ok()) {
      result.violation = Violation{"the simulated cluster broke its invariant: " + s.message(), -1};
    }
  }
  if (!observed && !result.violation)
    result.violation = Violation{"the final read never finished", -1};
  result.operations = primitive->operations();
  result.events = world.events_run();
  result.trace_hash = world.trace_hash();
  if (options.record_trace) result.trace = world.trace_lines();
  result.simulated_seconds = to_seconds(world.now());
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

sim::FaultSchedule shrink_schedule(const ScenarioOptions& options, sim::FaultSchedule failing,
                                   int max_runs,
                                   const std::function<void(int, std::size_t)>& step) {
  ScenarioOptions o = options;
  o.progress = nullptr;
  o.record_trace = false;
  int runs = 0;
  const auto fails = [&](const sim::FaultSchedule& candidate) {
    o.schedule = candidate;
    ++runs;
    Result<ScenarioResult> r = run_scenario(o);
    return r.ok() && r->violation.has_value();
  };
  // Halves first (big steps), then single events, until nothing more can go.
  for (std::size_t chunk = std::max<std::size_t>(1, failing.events.size() / 2); runs < max_runs;) {
    bool removed = false;
    for (std::size_t i = 0; i < failing.events.size() && runs < max_runs;) {
      sim::FaultSchedule candidate = failing;
      const std::size_t n = std::min(chunk, candidate.events.size() - i);
      candidate.events.erase(candidate.events.begin() + static_cast<std::ptrdiff_t>(i),
                             candidate.events.begin() + static_cast<std::ptrdiff_t>(i + n));
      if (fails(candidate)) {
        failing = std::move(candidate);
        removed = true;
        if (step) step(runs, failing.events.size());
      } else {
        i += n;
      }
    }
    if (chunk == 1 && !removed) break;
    if (!removed) chunk = std::max<std::size_t>(1, chunk / 2);
  }
  return failing;
}

std::string replay_command(const ScenarioResult& result) {
  const ScenarioOptions& o = result.options;
  std::string rate = std::to_string(o.rate);
  rate.erase(rate.find_last_not_of('0') + 1);
  if (!rate.empty() && rate.back() == '.') rate.pop_back();
  std::string cmd = "bazel run //tools/sim:distkit-sim -- --primitive " + o.primitive +
                    " --instances " + std::to_string(o.instances) + " --workload " +
                    std::string(workload_name(o.workload)) + " --rate " + rate + " --keys " +
                    std::to_string(o.keys) + " --faults " + profile_name(o.faults) +
                    " --duration " + format_duration(o.duration) + " --seed " +
                    std::to_string(o.seed);
  if (o.redis.cluster()) cmd += " --redis " + topology_name(o.redis);
  if (const PrimitiveInfo* p = find_primitive(o.primitive); p && p->backend == Backend::kRaft)
    cmd += " --members " + std::to_string(o.members);
  if (o.schedule) cmd += " --schedule '" + sim::to_string(result.schedule) + "'";
  return cmd;
}

}  // namespace distkit::scenario
