// The RedisConnection contract, written once and run on every backend: the
// simulator (World + InMemoryRedis over the simulated network), a real redis-server
// through transport::RedisClient, and a real 3-master Redis Cluster through
// transport::RedisClusterClient.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>

#include "distkit/core/redis_connection.h"
#include "distkit/sim/in_memory_redis.h"
#include "distkit/sim/world.h"
#include "distkit/tests/redis_fixture.h"
#include "distkit/transport/cluster.h"
#include "distkit/transport/redis_client.h"

namespace distkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Runs a coroutine with a connection, to completion, on one backend.
class Backend {
 public:
  using Body = std::function<Task<void>(RedisConnection&, Executor&)>;
  virtual ~Backend() = default;
  virtual void run(Body body) = 0;
};

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

class RealBackend final : public Backend {
 public:
  RealBackend() {
    auto server = testing::RedisServer::start();
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
    transport::RedisClient client(*runtime_, {.port = static_cast<std::uint16_t>(server_->port())});
    (void)co_await client.command("FLUSHALL");
    (void)co_await client.command("SCRIPT", "FLUSH");
    co_await body(client, *runtime_);
  }
  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<transport::AsioRuntime> runtime_;
};

class ClusterBackend final : public Backend {
 public:
  ClusterBackend() {
    // One cluster for the whole test process (each case flushes it first).
    // Destroyed (servers stopped, files removed) when the process exits.
    static std::unique_ptr<testing::RedisCluster> shared = [] {
      auto cluster = testing::RedisCluster::start(3);
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
    transport::RedisClusterClient client(*runtime_, {.seeds = cluster_->addresses()});
    (void)co_await client.command("FLUSHALL");
    (void)co_await client.command("SCRIPT", "FLUSH");
    co_await body(client, *runtime_);
  }
  testing::RedisCluster* cluster_;
  std::unique_ptr<transport::AsioRuntime> runtime_;
};

class RedisContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sim") {
      backend_ = std::make_unique<SimBackend>();
    } else if (GetParam() == "real") {
      backend_ = std::make_unique<RealBackend>();
    } else {
      backend_ = std::make_unique<ClusterBackend>();
    }
  }
  std::unique_ptr<Backend> backend_;
};

TEST_P(RedisContract, RepliesAndServerErrors) {
  backend_->run([](RedisConnection& conn, Executor&) -> Task<void> {
    EXPECT_EQ(*co_await conn.command("SET", "k", 41), RedisReply::simple_string("OK"));
    EXPECT_EQ(*co_await conn.command("INCR", "k"), RedisReply::integer(42));
    EXPECT_EQ(*co_await conn.command("GET", "k"), RedisReply::bulk_string("42"));
    EXPECT_TRUE((co_await conn.command("GET", "missing"))->is_nil());
    Result<RedisReply> wrong = co_await conn.command("HGET", "k", "f");
    EXPECT_EQ(wrong.status().code(), StatusCode::kServerError);
    EXPECT_EQ(wrong.status().server_error_prefix(), "WRONGTYPE");
    Result<RedisReply> unknown = co_await conn.command("NOSUCHCOMMAND");
    EXPECT_EQ(unknown.status().server_error_prefix(), "ERR");
    Result<RedisReply> empty = co_await conn.execute(RedisCommand{});
    EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
    const std::string binary("a\0b\r\nc", 6);
    (void)co_await conn.command("SET", "bin", binary);
    EXPECT_EQ(*co_await conn.command("GET", "bin"), RedisReply::bulk_string(binary));
  });
}

TEST_P(RedisContract, PipelinesKeepOrderAndJudgeEachCommand) {
  backend_->run([](RedisConnection& conn, Executor&) -> Task<void> {
    std::vector<RedisCommand> commands;
    for (int i = 1; i <= 100; ++i)
      commands.push_back({"INCRBY", "n", std::to_string(i)});
    commands.push_back({"HSET", "n", "f", "v"});
    commands.push_back({"GET", "n"});
    std::vector<Result<RedisReply>> got = co_await conn.execute_pipeline(std::move(commands));
    EXPECT_EQ(got.size(), 102u);
    std::int64_t sum = 0;
    for (int i = 1; i <= 100; ++i) {
      sum += i;
      EXPECT_EQ(*got[i - 1], RedisReply::integer(sum));
    }
    EXPECT_EQ(got[100].status().server_error_prefix(), "WRONGTYPE");
    EXPECT_EQ(*got[101], RedisReply::bulk_string("5050"));
    EXPECT_TRUE((co_await conn.execute_pipeline(std::vector<RedisCommand>())).empty());
  });
}

TEST_P(RedisContract, ManyConcurrentCallersShareOneConnection) {
  backend_->run([](RedisConnection& conn, Executor& ex) -> Task<void> {
    std::vector<std::int64_t> seen;
    int finished = 0;
    TaskScope scope;
    auto caller = [&](int id) -> Task<void> {
      for (int i = 0; i < 20; ++i) {
        Result<RedisReply> r = co_await conn.command("INCR", "shared");
        if (r.ok()) seen.push_back(r->integer_value());
        // Each caller also checks its own ordering on its own key.
        Result<RedisReply> mine = co_await conn.command("INCR", "caller:" + std::to_string(id));
        EXPECT_EQ(*mine, RedisReply::integer(i + 1));
      }
      ++finished;
    };
    for (int c = 0; c < 64; ++c)
      spawn(ex, &scope, caller(c));
    while (finished < 64)
      co_await sleep_for(ex, milliseconds(1));
    EXPECT_EQ(seen.size(), 64u * 20u);
    std::set<std::int64_t> distinct(seen.begin(), seen.end());
    EXPECT_EQ(distinct.size(), seen.size()) << "no reply went to the wrong caller";
    EXPECT_EQ(*distinct.begin(), 1);
    EXPECT_EQ(*distinct.rbegin(), 64 * 20);
  });
}

TEST_P(RedisContract, ScriptsRunBySha1AndSurviveAScriptFlush) {
  backend_->run([](RedisConnection& conn, Executor&) -> Task<void> {
    static const RedisScript kScript("return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])");
    const std::vector<std::string> keys(1, "{c}:h");
    const std::vector<std::string> args = {"f", "3"};
    EXPECT_EQ(*co_await conn.eval(kScript, keys, args), RedisReply::integer(3));
    // EVAL caches a script where it ran (one node of a cluster); SCRIPT LOAD, everywhere.
    EXPECT_EQ(*co_await conn.command("SCRIPT", "LOAD", kScript.source()),
              RedisReply::bulk_string(kScript.sha1()));
    const RedisReply cached = RedisReply::array({RedisReply::integer(1)});
    EXPECT_EQ(*co_await conn.command("SCRIPT", "EXISTS", kScript.sha1()), cached);
    (void)co_await conn.command("SCRIPT", "FLUSH");
    EXPECT_EQ((co_await conn.command("EVALSHA", kScript.sha1(), "1", "{c}:h", "f", "3"))
                  .status()
                  .server_error_prefix(),
              "NOSCRIPT");
    EXPECT_EQ(*co_await conn.eval(kScript, keys, args), RedisReply::integer(6))
        << "eval() fell back to EVAL once";
    (void)co_await conn.command("SCRIPT", "FLUSH");
    std::vector<ScriptCall> calls(5, ScriptCall{&kScript, keys, args});
    std::vector<Result<RedisReply>> got = co_await conn.eval_pipeline(calls);
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(*got[i], RedisReply::integer(9 + 3 * i)) << i;
    static const RedisScript kIncr("return redis.call('INCR', KEYS[1])");
    Result<RedisReply> failing = co_await conn.eval(kIncr, keys, std::vector<std::string>());
    EXPECT_EQ(failing.status().server_error_prefix(), "WRONGTYPE");
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, RedisContract, ::testing::Values("sim", "real", "cluster"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace distkit
