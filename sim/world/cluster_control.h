// ClusterControl: what the world and its fault schedules need from a simulated Redis
// Cluster (sim/cluster implements it), so sim/world and sim/faults do not depend on
// the cluster's implementation.
#ifndef DISTKIT_SIM_WORLD_CLUSTER_CONTROL_H_
#define DISTKIT_SIM_WORLD_CLUSTER_CONTROL_H_

#include <cstdint>

#include "distkit/core/seam/peer.h"

namespace distkit::sim {

// How a failover happens (the value of the cluster-failover fault kind).
enum class FailoverMode : std::uint8_t {
  kManual = 0,     // CLUSTER FAILOVER: the replica catches up, then roles swap; no loss
  kAutomatic = 1,  // the master dies; after node_timeout and an election its replica,
                   // fully synced, takes over; CLUSTERDOWN meanwhile
  kLossy = 2,      // as kAutomatic, but the replica missed the master's last writes
};

// Contract: called on the simulation's thread. Events that cannot happen now (a
// shard without a live replica, nothing to migrate) are traced no-ops, never errors.
class ClusterControl {
 public:
  virtual ~ClusterControl() = default;
  [[nodiscard]] virtual bool is_member(NodeId server) const = 0;
  // Moves a hash slot to the shard of `shard_member` while clients keep working
  // (MIGRATING/IMPORTING, ASK, TRYAGAIN, then the new owner). slot -1: the slot with
  // the most keys on another shard.
  virtual void migrate(NodeId shard_member, int slot) = 0;
  virtual void failover(NodeId shard_member, FailoverMode mode) = 0;
  // The world tells the cluster of its servers' crashes and restarts.
  virtual void on_crash(NodeId server) = 0;
  virtual void on_restart(NodeId server) = 0;
};

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_WORLD_CLUSTER_CONTROL_H_
