#include "distkit/tests/support/backends.h"

#include "distkit/core/cluster/cluster_connection.h"
#include "distkit/sim/cluster/sim_cluster.h"
#include "distkit/sim/redis/in_memory_redis.h"
#include "distkit/sim/world/world.h"
#include "distkit/tests/support/redis_fixture.h"
#include "distkit/transport/cluster.h"
#include "distkit/transport/redis_client.h"

namespace distkit::test_support {
namespace {

using std::chrono::seconds;

class SimBackend final : public Backend {
 public:
  void run(Body body) override {
    sim::World world({.seed = 17});
    const NodeId redis = world.add_redis_server("redis", std::make_unique<sim::InMemoryRedis>());
    bool done = false;
    world.add_instance("client", [&](sim::NodeContext& node) -> Task<void> {
      auto conn = node.connect_redis(redis);
      co_await body(*conn, node.executor());
      done = true;
    });
    ASSERT_TRUE(world.run_until([&] { return done; }, world.now() + seconds(600)));
  }
};

// The simulated Redis Cluster (3 masters, each with a replica) through production's
// cluster client over production's connection.
class SimClusterBackend final : public Backend {
 public:
  void run(Body body) override {
    sim::World world({.seed = 17});
    sim::SimCluster& cluster = sim::SimCluster::create(world, {.masters = 3, .replicas = 1});
    bool done = false;
    world.add_instance("client", [&](sim::NodeContext& node) -> Task<void> {
      cluster::ClusterConnection conn(
          node.executor(), {.seeds = cluster.seeds()},
          [&node](const std::string& address) { return node.connect_redis(address); });
      co_await body(conn, node.executor());
      done = true;
    });
    ASSERT_TRUE(world.run_until([&] { return done; }, world.now() + seconds(600)));
    EXPECT_TRUE(cluster.check_invariants().ok()) << cluster.check_invariants();
  }
};

// The contract suites are not about timeouts: a round trip slowed by a sanitizer
// and a loaded machine must not turn into kUnknownOutcome. (The client's own
// timeout tests set short ones themselves.)
transport::RedisClientOptions patient_options() {
  transport::RedisClientOptions options;
  options.request_timeout = std::chrono::seconds(30);
  options.connect_timeout = std::chrono::seconds(10);
  return options;
}

class RealBackend final : public Backend {
 public:
  RealBackend() {
    auto server = RedisServer::start();
    EXPECT_TRUE(server.ok()) << server.status().to_string();
    if (server.ok()) server_ = std::move(*server);
    runtime_ = transport::AsioRuntime::start();
  }
  ~RealBackend() override { runtime_.reset(); }
  void run(Body body) override {
    ASSERT_NE(server_, nullptr);
    block_on(*runtime_, run_on_runtime(std::move(body)));
  }

 private:
  Task<void> run_on_runtime(Body body) {
    transport::RedisClientOptions options = patient_options();
    options.port = static_cast<std::uint16_t>(server_->port());
    transport::RedisClient client(*runtime_, options);
    (void)co_await client.command("FLUSHALL");
    (void)co_await client.command("SCRIPT", "FLUSH");
    co_await body(client, *runtime_);
  }
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<transport::AsioRuntime> runtime_;
};

class ClusterBackend final : public Backend {
 public:
  ClusterBackend() {
    // One cluster for the whole test process (each case flushes it first).
    // Destroyed (servers stopped, files removed) when the process exits.
    static std::unique_ptr<RedisCluster> shared = [] {
      auto cluster = RedisCluster::start(3);
      EXPECT_TRUE(cluster.ok()) << cluster.status().to_string();
      return cluster.ok() ? std::move(*cluster) : nullptr;
    }();
    cluster_ = shared.get();
    runtime_ = transport::AsioRuntime::start();
  }
  ~ClusterBackend() override { runtime_.reset(); }
  void run(Body body) override {
    ASSERT_NE(cluster_, nullptr);
    block_on(*runtime_, run_on_runtime(std::move(body)));
  }

 private:
  Task<void> run_on_runtime(Body body) {
    transport::RedisClusterClient client(
        *runtime_, {.seeds = cluster_->addresses(), .node_options = patient_options()});
    (void)co_await client.command("FLUSHALL");
    (void)co_await client.command("SCRIPT", "FLUSH");
    co_await body(client, *runtime_);
  }
  RedisCluster* cluster_;
  std::unique_ptr<transport::AsioRuntime> runtime_;
};

}  // namespace

const std::vector<std::string>& backend_names() {
  static const std::vector<std::string> names = {"sim", "sim_cluster", "real", "cluster"};
  return names;
}

std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "sim") return std::make_unique<SimBackend>();
  if (name == "sim_cluster") return std::make_unique<SimClusterBackend>();
  if (name == "real") return std::make_unique<RealBackend>();
  return std::make_unique<ClusterBackend>();
}

Task<bool> eventually(Executor& executor, std::function<bool()> done, Duration cap) {
  const MonoTime give_up = executor.clock().now() + cap;
  while (!done()) {
    if (executor.clock().now() >= give_up) co_return false;
    co_await sleep_for(executor, std::chrono::milliseconds(1));
  }
  co_return true;
}

}  // namespace distkit::test_support
