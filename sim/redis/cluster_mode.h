// InMemoryRedis's cluster mode (cluster_mode.cc): what a node of a Redis Cluster
// answers before it runs a command, and the CLUSTER command. Not a public header.
#ifndef DISTKIT_SIM_REDIS_CLUSTER_MODE_H_
#define DISTKIT_SIM_REDIS_CLUSTER_MODE_H_

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "distkit/sim/redis/cluster_state.h"
#include "sim/redis/redis_internal.h"

namespace distkit::sim::redis {

// Whether `spec` takes keys at fixed positions (EVAL's move with numkeys).
[[nodiscard]] bool has_keys(const CommandSpec& spec);
// The keys of `command` as Redis 7.0's key specs name them, written from this server's
// command table (core/cluster has its own list: each checks the other in tests).
void append_command_keys(const CommandSpec& spec, const RedisCommand& command,
                         std::vector<std::string_view>& keys);

using QueuedCommands = std::vector<std::pair<const CommandSpec*, RedisCommand>>;

struct ClusterQuery {
  const ClusterState* cluster;
  int self;
  const Keyspace* db;
  std::int64_t now_ms;
  bool asking;            // the connection sent ASKING just before
  bool readonly_session;  // the connection sent READONLY
  const CommandSpec* spec;
  const RedisCommand* command;
  const QueuedCommands* queued;  // EXEC in MULTI: the transaction's commands
};

// The redirection or error (MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN) this node
// answers instead of running the command, or nothing: it runs here.
[[nodiscard]] std::optional<RedisReply> cluster_redirect(const ClusterQuery& query);

// CLUSTER SLOTS, MYID, INFO, KEYSLOT, COUNTKEYSINSLOT, GETKEYSINSLOT.
[[nodiscard]] RedisReply cluster_command(const ClusterState& cluster, int self, const Keyspace& db,
                                         std::int64_t now_ms, const RedisCommand& command);

// Moves up to `max` live keys of `slot` from `from` to `to` with their TTLs, as MIGRATE
// does (expired ones are dropped). Returns how many live keys of the slot remain.
std::size_t migrate_slot_keys(Keyspace& from, Keyspace& to, int slot, std::size_t max,
                              std::int64_t now_ms);

}  // namespace distkit::sim::redis

#endif  // DISTKIT_SIM_REDIS_CLUSTER_MODE_H_
