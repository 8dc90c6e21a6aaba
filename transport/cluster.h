// RedisClusterClient: core/cluster's ClusterConnection with a RedisClient per node,
// on an AsioRuntime. The routing (slots, MOVED/ASK, broadcasts, pipelines split per
// node) is documented in distkit/core/cluster/cluster_connection.h; this only makes
// the node connections.
//
// Thread safety and lifetime as RedisClient.
#ifndef DISTKIT_TRANSPORT_CLUSTER_H_
#define DISTKIT_TRANSPORT_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/cluster/cluster_connection.h"
#include "distkit/core/seam/redis_connection.h"
#include "distkit/transport/redis_client.h"

namespace distkit::transport {

using cluster::command_keys;
using cluster::command_slot;
using cluster::kClusterSlots;
using cluster::key_slot;

struct RedisClusterOptions {
  std::vector<std::string> seeds;   // "host:port" of some nodes
  RedisClientOptions node_options;  // per-node connection settings (host/port ignored)
  int max_redirects = 5;
  // TRYAGAIN (a multi-key command while its slot migrates) is resent after a backoff.
  int tryagain_attempts = 5;
  Duration tryagain_backoff = std::chrono::milliseconds(10);
  Duration tryagain_backoff_max = std::chrono::milliseconds(200);
};

using RedisClusterStats = cluster::ClusterStats;

class RedisClusterClient final : public RedisConnection {
 public:
  RedisClusterClient(AsioRuntime& runtime, RedisClusterOptions options);
  ~RedisClusterClient() override;

  Task<Result<RedisReply>> execute(RedisCommand command) override {
    return impl_->execute(std::move(command));
  }
  Task<std::vector<Result<RedisReply>>> execute_pipeline(
      std::vector<RedisCommand> commands) override {
    return impl_->execute_pipeline(std::move(commands));
  }

  // Reloads the slot map now.
  Task<Status> refresh() { return impl_->refresh(); }
  [[nodiscard]] RedisClusterStats stats() const { return impl_->stats(); }
  // The node ("host:port") serving `slot` in the current map, if known.
  [[nodiscard]] std::optional<std::string> node_for_slot(std::uint16_t slot) const {
    return impl_->node_for_slot(slot);
  }

 private:
  std::unique_ptr<cluster::ClusterConnection> impl_;
};

}  // namespace distkit::transport

#endif  // DISTKIT_TRANSPORT_CLUSTER_H_
