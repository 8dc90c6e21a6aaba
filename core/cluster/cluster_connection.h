// ClusterConnection: a RedisConnection over a Redis Cluster. Commands go to the node
// that owns their keys' slot (CRC16 with hash tags, 16384 slots), each node through
// its own RedisConnection, made by a NodeConnector: production connects RedisClients
// over sockets (transport/cluster.h), the simulator its own connection over the
// simulated network. The routing is the same code in both worlds.
//
// - The slot map comes from CLUSTER SLOTS on any known node, at first use and again
//   after a MOVED reply (which also updates that slot at once, and the command is
//   retried there: MOVED means it did not run). ASK sends ASKING and the command to
//   the importing node, once. At most `max_redirects` hops per command.
// - The errors a cluster answers while it changes, each by what it means (a refusal
//   did not run, so resending it is safe):
//   TRYAGAIN (a multi-key command during a slot's migration): resent after a backoff
//     (tryagain_backoff doubling up to tryagain_backoff_max), at most
//     `tryagain_attempts` times, then returned;
//   CLUSTERDOWN (a failed master not yet replaced): returned at once, and the slot map
//     is reloaded before the next command; the caller's timeout is its budget;
//   READONLY (a keyless write sent to a master that was demoted): the map is reloaded
//     and the command resent once;
//   kUnavailable from a node (certainly not sent, e.g. it is down): the map is
//     reloaded from the other nodes and the command resent once if its slot moved;
//   kUnknownOutcome: returned, never resent; the map is reloaded before the next
//     command.
//   The map is asked of the node that answered last, then of every master and replica
//   the last map named, then of the seeds: after a failover a seed may be the dead
//   master.
// - A command whose keys hash to different slots fails with kInvalidArgument
//   (CROSSSLOT) before anything is sent. Commands without keys go to any node.
// - Pipelines are split per node and sent concurrently; order is kept among commands
//   of one node (so of one slot), not across nodes, and not for a command that was
//   redirected or refused (MOVED, ASK, TRYAGAIN, READONLY): it is sent again, alone,
//   after the batch. Results come back in input order.
// - MULTI, EXEC, DISCARD, WATCH and UNWATCH fail with kInvalidArgument: a transaction
//   needs one node's connection throughout; use a script on keys of one {hash tag}.
// - SCRIPT LOAD/EXISTS/FLUSH, FLUSHALL and FLUSHDB go to every master (a script must
//   be cached where its keys live); SCRIPT EXISTS answers 1 only where all masters
//   have the script; the first error wins. A pipeline holding one of these runs its
//   commands one at a time, in order.
//
// Thread safety: use it from tasks on its executor's thread, as the node connections.
#ifndef DISTKIT_CORE_CLUSTER_CLUSTER_CONNECTION_H_
#define DISTKIT_CORE_CLUSTER_CLUSTER_CONNECTION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/async/executor.h"
#include "distkit/core/cluster/slots.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit::cluster {

// Makes the connection to one node, named "host:port" (as CLUSTER SLOTS and MOVED
// name it). Called once per node; the connection connects lazily.
using NodeConnector = std::function<std::unique_ptr<RedisConnection>(const std::string& address)>;

struct ClusterConnectionOptions {
  std::vector<std::string> seeds;  // "host:port" of some nodes
  int max_redirects = 5;
  int tryagain_attempts = 5;
  Duration tryagain_backoff = std::chrono::milliseconds(10);
  Duration tryagain_backoff_max = std::chrono::milliseconds(200);
};

struct ClusterStats {
  std::uint64_t map_refreshes = 0;
  std::uint64_t moved = 0;
  std::uint64_t asked = 0;
  std::uint64_t tryagain = 0;                  // TRYAGAIN answers (each resent or returned)
  std::uint64_t clusterdown = 0;               // CLUSTERDOWN answers returned
  std::uint64_t readonly = 0;                  // READONLY answers (a demoted master)
  std::uint64_t resent_after_unavailable = 0;  // resent to a slot's new owner
};

class ClusterConnection final : public RedisConnection {
 public:
  ClusterConnection(Executor& executor, ClusterConnectionOptions options, NodeConnector connect);
  ~ClusterConnection() override;

  Task<Result<RedisReply>> execute(RedisCommand command) override;
  Task<std::vector<Result<RedisReply>>> execute_pipeline(
      std::vector<RedisCommand> commands) override;

  // Reloads the slot map now.
  Task<Status> refresh();
  [[nodiscard]] ClusterStats stats() const { return stats_; }
  // The node ("host:port") serving `slot` in the current map, if known.
  [[nodiscard]] std::optional<std::string> node_for_slot(std::uint16_t slot) const;

 private:
  RedisConnection& node(const std::string& address);
  Task<Result<RedisReply>> broadcast(RedisCommand command);
  Task<Result<RedisReply>> route(RedisCommand command, std::optional<std::uint16_t> slot);
  Task<Status> ensure_map();
  // Where a command with `slot` (or none) goes by the current map; "" if nowhere.
  [[nodiscard]] std::string target_for(std::optional<std::uint16_t> slot) const;
  [[nodiscard]] std::vector<std::string> refresh_candidates() const;

  Executor& executor_;
  ClusterConnectionOptions options_;
  NodeConnector connect_;
  std::map<std::string, std::unique_ptr<RedisConnection>> nodes_;
  std::vector<std::string> slot_owner_;  // kClusterSlots entries, "" when unknown
  std::vector<std::string> masters_;     // the slot owners of the last map, in slot order
  std::vector<std::string> map_nodes_;   // masters and replicas the last map named
  std::string last_answered_;            // the node that answered last
  bool map_loaded_ = false;
  ClusterStats stats_;
};

}  // namespace distkit::cluster

#endif  // DISTKIT_CORE_CLUSTER_CLUSTER_CONNECTION_H_
