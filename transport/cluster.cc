#include "distkit/transport/cluster.h"

#include <utility>

namespace distkit::transport {

RedisClusterClient::RedisClusterClient(AsioRuntime& runtime, RedisClusterOptions options) {
  cluster::ClusterConnectionOptions routing;
  routing.seeds = std::move(options.seeds);
  routing.max_redirects = options.max_redirects;
  routing.tryagain_attempts = options.tryagain_attempts;
  routing.tryagain_backoff = options.tryagain_backoff;
  routing.tryagain_backoff_max = options.tryagain_backoff_max;
  auto connect = [&runtime, node_options = std::move(options.node_options)](
                     const std::string& address) -> std::unique_ptr<RedisConnection> {
    RedisClientOptions o = node_options;
    // The cluster client hands over well-formed addresses only (split_address holds).
    const std::optional<cluster::HostPort> where = cluster::split_address(address);
    o.host = where ? where->host : address;
    o.port = where ? where->port : 0;
    return std::make_unique<RedisClient>(runtime, std::move(o));
  };
  impl_ =
      std::make_unique<cluster::ClusterConnection>(runtime, std::move(routing), std::move(connect));
}

RedisClusterClient::~RedisClusterClient() = default;

}  // namespace distkit::transport
