// InMemoryRedis: the simulator's Redis server. A keyspace with strings, hashes, sets
// and sorted sets, expiry on the server's (simulated) clock, Redis 7.0's replies and
// error codes for the commands distkit and its users need, MULTI/EXEC, and scripts run
// by real Lua 5.1 with Redis's conversion rules, global protection, frozen time and a
// SHA1 script cache. Proved against a real redis-server by differential tests.
//
// It is a ServerModel, so a sim::World serves it over its simulated network; tools
// (simredis) call execute_at() directly with wall-clock time.
//
// Not thread-safe: one caller at a time (the simulator's thread, or simredis's).
#ifndef DISTKIT_SIM_REDIS_IN_MEMORY_REDIS_H_
#define DISTKIT_SIM_REDIS_IN_MEMORY_REDIS_H_

#include <memory>
#include <string>
#include <vector>

#include "distkit/sim/redis/cluster_state.h"
#include "distkit/sim/world/server_model.h"

namespace distkit::sim {

struct InMemoryRedisOptions {
  // How far a replica lags: a failover (DataLoss::kRecentWrites) loses the writes of
  // at most this much server time.
  Duration replication_lag = std::chrono::milliseconds(100);
  // A script is stopped (with an error) after this many Lua instructions, so a
  // runaway script cannot hang a simulation. Real Redis would answer BUSY instead.
  std::uint64_t script_instruction_limit = 500'000'000;
  // Simulated time one Lua instruction costs (a long script keeps the server busy).
  Duration time_per_lua_instruction = std::chrono::nanoseconds(2);
  // As redis.conf's requirepass: when set, a connection must AUTH (or HELLO ... AUTH)
  // as the default user before anything else ("NOAUTH Authentication required.").
  std::string requirepass;
};

class InMemoryRedis final : public ServerModel {
 public:
  explicit InMemoryRedis(InMemoryRedisOptions options = {});
  ~InMemoryRedis() override;
  InMemoryRedis(const InMemoryRedis&) = delete;
  InMemoryRedis& operator=(const InMemoryRedis&) = delete;

  RedisReply execute(ClientId client, const RedisCommand& command, ServerEnv& env) override;
  void disconnect(ClientId client) override;
  void restart(DataLoss loss, ServerEnv& env) override;
  void flush_scripts() override;
  // LOADING, BUSY, OOM, READONLY and MASTERDOWN refuse what Redis 7.0 refuses, before
  // it runs; inside a script, at its redis.call (OOM only before its first write).
  void set_condition(ServerCondition condition) override;

  // Keys, including logically expired ones not yet removed (as DBSIZE counts them).
  [[nodiscard]] std::size_t key_count() const;
  [[nodiscard]] std::size_t cached_scripts() const;

  // ---- Cluster mode (sim/cluster drives it).
  // From now on this server is node `self` of `cluster`, whose changes it sees at once:
  // Redis 7.0's redirections (MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN) come before
  // its refusals (OOM, READONLY, LOADING...), as processCommand orders them; ASKING,
  // READONLY and READWRITE act on the connection; CLUSTER SLOTS, MYID, INFO, KEYSLOT,
  // COUNTKEYSINSLOT and GETKEYSINSLOT answer; a replica refuses keyless writes with
  // READONLY. Scripts touch only the keys they declare (no check of undeclared ones).
  void join_cluster(std::shared_ptr<const ClusterState> cluster, int self);
  // Live keys per slot (expired ones not counted), for choosing what to migrate.
  [[nodiscard]] std::vector<std::size_t> live_keys_per_slot(WallTime now) const;
  // Moves up to `max` live keys of `slot` to `target`, with their TTLs (MIGRATE);
  // returns how many live keys of the slot remain here.
  std::size_t migrate_keys(int slot, std::size_t max, InMemoryRedis& target, WallTime now);
  // A copy of the data, as it is (`lagged` false) or as the replica that trails it by
  // up to replication_lag holds it at `now`; a promoted replica loads one.
  struct Snapshot;
  [[nodiscard]] std::shared_ptr<const Snapshot> snapshot(bool lagged, WallTime now) const;
  void load(const Snapshot& snapshot);
  // A demoted master's data is its new master's, which the simulation does not copy.
  void clear_data();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_REDIS_IN_MEMORY_REDIS_H_
