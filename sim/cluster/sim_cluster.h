// SimCluster: a Redis Cluster in the simulated world. N masters, each with R replicas,
// every one an InMemoryRedis server node answering as a node of the cluster would
// (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, CLUSTER SLOTS; see InMemoryRedis::join_cluster).
// The cluster changes under the clients, from a test or a fault schedule:
//
// - migrate(member, slot): the slot moves to member's shard a few keys at a time
//   (migration_batch per migration_step), as redis-cli --cluster reshard does with
//   SETSLOT IMPORTING/MIGRATING, MIGRATE and SETSLOT NODE. Meanwhile the source answers
//   ASK for missing keys and TRYAGAIN for multi-key commands split between the two.
//   The step waits while source or target is down or paused.
// - failover(member, mode): kManual swaps master and replica with no loss (CLUSTER
//   FAILOVER); kAutomatic crashes the master: after node_timeout it is failed and the
//   whole cluster answers CLUSTERDOWN (require-full-coverage), after the election
//   delay its first live replica takes over with the data the master had; kLossy is
//   that with the replica missing up to replication_lag of the last writes. A shard
//   without a running replica does not fail over (a traced no-op).
// - A master that crashes for any reason fails over the same way; one without a live
//   replica leaves the cluster down until it restarts. Nodes persist to an
//   append-only file: a master restarted before it was replaced comes back with the
//   data it had (unlike World::restart of a lone server, which comes back empty); one
//   that was replaced comes back as a replica of its replacement, without data.
//
// Fidelity (what real Redis does and this does not): no cluster bus or gossip delay
// (every node sees a change at once); replicas keep no live copy (they get the data
// when promoted, so READONLY reads from replicas see nothing); scripts are not checked
// for undeclared keys; a failover moves a slot's migration to the new master, where
// real Redis would leave the slot half-moved until `redis-cli --cluster fix`; a
// paused master is not failed over (real Redis fails it after node_timeout, and on
// resume it may run buffered writes before it learns it was demoted); a key already on
// a migration's target stays as the target has it (MIGRATE would fail with BUSYKEY).
#ifndef DISTKIT_SIM_CLUSTER_SIM_CLUSTER_H_
#define DISTKIT_SIM_CLUSTER_SIM_CLUSTER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "distkit/core/base/status.h"
#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/sim/world/cluster_control.h"
#include "distkit/sim/world/world.h"

namespace distkit::sim {

struct SimClusterOptions {
  int masters = 3;
  int replicas = 1;  // per master
  // A node down this long is failed by the others (cluster-node-timeout).
  Duration node_timeout = std::chrono::seconds(1);
  // A replica starts its election this long after its master failed, plus up to
  // election_jitter (clusterHandleSlaveFailover: 500ms + random(0, 500ms)).
  Duration election_delay = std::chrono::milliseconds(500);
  Duration election_jitter = std::chrono::milliseconds(500);
  std::size_t migration_batch = 10;
  Duration migration_step = std::chrono::milliseconds(5);
  InMemoryRedisOptions redis;
  ServerOptions server;  // address is set per node
};

class SimCluster final : public ClusterControl {
 public:
  // Adds the servers to `world` ("redis-0".. masters first, at "10.0.0.<k+1>:6379"),
  // gives each master an even share of the slots (as redis-cli --cluster create), and
  // attaches the cluster to the world, which owns it.
  static SimCluster& create(World& world, SimClusterOptions options = {});

  // Every node's address: the seeds a client needs.
  [[nodiscard]] std::vector<std::string> seeds() const;
  // All servers, masters of the initial layout first; and the shards as created
  // (master first), whatever failovers did since.
  [[nodiscard]] const std::vector<NodeId>& servers() const { return ids_; }
  [[nodiscard]] std::vector<std::vector<NodeId>> shards() const;
  // The server now serving `slot` (a master).
  [[nodiscard]] NodeId owner_of_slot(int slot) const;
  [[nodiscard]] bool is_master(NodeId server) const;
  [[nodiscard]] const ClusterState& state() const { return *state_; }
  [[nodiscard]] InMemoryRedis& model(NodeId server);

  // What happened to the cluster, in order, for reports: "migrating slot 12 to
  // redis-1", "redis-0 failed", "redis-3 promoted"...
  struct Event {
    SimTime at;
    NodeId node;
    std::string what;
  };
  [[nodiscard]] const std::vector<Event>& history() const { return history_; }
  // Every live key sits on its slot's owner or, while the slot migrates, on the node
  // importing it; no running replica holds data; the state is ok when every slot's owner runs.
  [[nodiscard]] Status check_invariants() const;

  // ClusterControl.
  [[nodiscard]] bool is_member(NodeId server) const override;
  void migrate(NodeId shard_member, int slot) override;
  void failover(NodeId shard_member, FailoverMode mode) override;
  void on_crash(NodeId server) override;
  void on_restart(NodeId server) override;

  SimCluster(World& world, SimClusterOptions options);

 private:
  [[nodiscard]] int index_of(NodeId server) const;
  [[nodiscard]] int master_index(int node) const;
  [[nodiscard]] bool up(int node) const;
  void note(int node, std::string what);
  void update_ok();
  void step_migration(int slot);
  void mark_failed(int node, std::uint64_t down_generation);
  void promote(int old_master, std::uint64_t down_generation);
  void replace_master(int old_master, int new_master);

  World& world_;
  SimClusterOptions options_;
  std::shared_ptr<ClusterState> state_;
  std::vector<NodeId> ids_;
  std::vector<InMemoryRedis*> models_;
  std::vector<std::vector<NodeId>> shards_;
  Rng rng_;
  // Per node: +1 at each crash and restart, so late timers of an old outage do nothing.
  std::vector<std::uint64_t> down_generation_;
  // Per node: the data a crashed master had (what its replica gets) and whether the
  // replica missed the last writes.
  std::vector<std::shared_ptr<const InMemoryRedis::Snapshot>> crash_data_;
  std::vector<std::shared_ptr<const InMemoryRedis::Snapshot>> persisted_;
  std::vector<bool> lossy_;
  std::vector<Event> history_;
};

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_CLUSTER_SIM_CLUSTER_H_
