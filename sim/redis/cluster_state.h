// ClusterState: the truth of a simulated Redis Cluster (its nodes, who serves each
// hash slot, which slot moves where, whether the cluster is up), shared by its nodes.
// sim/cluster changes it; each InMemoryRedis joined to it (join_cluster) answers as
// that node of it would: MOVED, ASK, TRYAGAIN, CLUSTERDOWN, CLUSTER SLOTS...
//
// Every node sees a change at once (no gossip delay), so the cluster is never of two
// minds; clients still learn of changes late, from redirections.
#ifndef DISTKIT_SIM_REDIS_CLUSTER_STATE_H_
#define DISTKIT_SIM_REDIS_CLUSTER_STATE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace distkit::sim {

struct ClusterNodeState {
  std::string address;  // "host:port", as CLUSTER SLOTS and MOVED name it
  std::string id;       // 40 hex characters (CLUSTER MYID)
  int master = -1;      // index of the master it replicates; -1 for a master
  bool failed = false;  // the others have marked it failed (down past node_timeout)
};

struct ClusterState {
  static constexpr int kSlots = 16384;
  std::vector<ClusterNodeState> nodes;
  // Per slot: index of the master serving it, or -1 (unbound).
  std::vector<int> owner = std::vector<int>(kSlots, -1);
  // Per slot: the node importing it from its owner while it migrates, or -1.
  std::vector<int> importing = std::vector<int>(kSlots, -1);
  // False while a slot is unbound or served by a failed master (require-full-coverage
  // yes): keyed commands get CLUSTERDOWN everywhere.
  bool ok = true;
};

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_REDIS_CLUSTER_STATE_H_
