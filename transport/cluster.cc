#include "distkit/transport/cluster.h"

#include <charconv>
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
    const std::size_t colon = address.rfind(':');
    o.host = address.substr(0, colon);
    unsigned port = 0;
    if (colon != std::string::npos) {
      std::from_chars(address.data() + colon + 1, address.data() + address.size(), port);
    }
    o.port = static_cast<std::uint16_t>(port);
    return std::make_unique<RedisClient>(runtime, std::move(o));
  };
  impl_ =
      std::make_unique<cluster::ClusterConnection>(runtime, std::move(routing), std::move(connect));
}

RedisClusterClient::~RedisClusterClient() = default;

}  // namespace distkit::transport
