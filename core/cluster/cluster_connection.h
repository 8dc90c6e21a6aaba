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
// - A command whose keys hash to different slots fails with kInvalidArgument
//   (CROSSSLOT) before anything is sent. Commands without keys go to any node.
// - Pipelines are split per node and sent concurrently; order is kept among commands
//   of one node (so of one slot), not across nodes. Results come back in input order.
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
#include "distkit/core/seam/redis_connection.h"

namespace distkit::cluster {

constexpr int kClusterSlots = 16384;

// CRC16 (XMODEM) of the key's hash tag (the part between the first '{' and the next
// '}', if non-empty) or of the whole key, modulo 16384.
[[nodiscard]] std::uint16_t key_slot(std::string_view key);

// The keys a command touches, as Redis Cluster routes them (first key for most
// commands; all for DEL, EXISTS, MGET, ...; KEYS of EVAL/EVALSHA; every other
// argument of MSET). Empty for commands without keys.
[[nodiscard]] std::vector<std::string_view> command_keys(const RedisCommand& command);

// The slot of a command's keys: nothing for keyless commands; kInvalidArgument
// (CROSSSLOT) when they span slots.
[[nodiscard]] Result<std::optional<std::uint16_t>> command_slot(const RedisCommand& command);

// Makes the connection to one node, named "host:port" (as CLUSTER SLOTS and MOVED
// name it). Called once per node; the connection connects lazily.
using NodeConnector = std::function<std::unique_ptr<RedisConnection>(const std::string& address)>;

struct ClusterConnectionOptions {
  std::vector<std::string> seeds;  // "host:port" of some nodes
  int max_redirects = 5;
};

struct ClusterStats {
  std::uint64_t map_refreshes = 0;
  std::uint64_t moved = 0;
  std::uint64_t asked = 0;
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

  Executor& executor_;
  ClusterConnectionOptions options_;
  NodeConnector connect_;
  std::map<std::string, std::unique_ptr<RedisConnection>> nodes_;
  std::vector<std::string> slot_owner_;  // kClusterSlots entries, "" when unknown
  bool map_loaded_ = false;
  ClusterStats stats_;
};

}  // namespace distkit::cluster

#endif  // DISTKIT_CORE_CLUSTER_CLUSTER_CONNECTION_H_
