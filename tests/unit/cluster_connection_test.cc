// The cluster client (core/cluster) in the simulator: production's ClusterConnection
// over production's connection, against the simulated Redis Cluster (sim/cluster) as
// it changes under the client: slots migrating (MOVED, ASK, TRYAGAIN), masters failing
// over (manual and automatic, with the CLUSTERDOWN window), partitions, a dead seed.
#include "distkit/core/cluster/cluster_connection.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "distkit/sim/cluster/sim_cluster.h"
#include "distkit/sim/world/world.h"

namespace distkit::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ClusterInTheSimulator : public ::testing::Test {
 protected:
  void make_cluster(SimClusterOptions options) { cluster_ = &SimCluster::create(world_, options); }

  // A ClusterConnection on an instance, whose connector reaches the simulated nodes.
  template <typename Body>
  void run(Body body, cluster::ClusterConnectionOptions options = {}) {
    if (cluster_ == nullptr) make_cluster({.masters = 2, .replicas = 1});
    if (options.seeds.empty()) options.seeds = cluster_->seeds();
    world_.add_instance("app", [this, body, options](NodeContext& node) -> Task<void> {
      app_ = node.id();
      node_ = &node;
      cluster::ClusterConnection redis(node.executor(), options, [&node](const std::string& a) {
        return node.connect_redis(
            a, {.request_timeout = milliseconds(200), .connect_timeout = milliseconds(100)});
      });
      co_await body(redis);
      done_ = true;
    });
    world_.run_for(seconds(30));
    ASSERT_TRUE(done_);
    EXPECT_TRUE(cluster_->check_invariants().ok()) << cluster_->check_invariants();
  }

  Task<void> sleep(Duration d) { co_await sleep_for(node_->executor(), d); }

  // The n-th key "k<i>" whose slot a master of the initial layout owns.
  std::string key_on(int master, int n = 0) {
    for (int i = 0;; ++i) {
      std::string key = "k" + std::to_string(i);
      if (cluster_->owner_of_slot(cluster::key_slot(key)) == cluster_->servers()[master] &&
          n-- == 0) {
        return key;
      }
    }
  }
  std::string address(NodeId server) const { return world_.server_address(server); }

  World world_{{.seed = 11}};
  SimCluster* cluster_ = nullptr;
  NodeContext* node_ = nullptr;
  NodeId app_ = 0;
  bool done_ = false;
};

TEST_F(ClusterInTheSimulator, CommandsGoToTheOwnerOfTheirSlotAndPipelinesKeepInputOrder) {
  std::string a, b;
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    a = key_on(0);
    b = key_on(1);
    EXPECT_TRUE((co_await redis.command("SET", a, "on-0")).ok());
    EXPECT_TRUE((co_await redis.command("SET", b, "on-1")).ok());
    std::vector<RedisCommand> pipeline;
    for (const std::string& key : {b, a, b, a})
      pipeline.push_back(RedisCommand{"INCR", "{" + key + "}n"});
    std::vector<Result<RedisReply>> got = co_await redis.execute_pipeline(std::move(pipeline));
    EXPECT_EQ(*got[0], RedisReply::integer(1));
    EXPECT_EQ(*got[1], RedisReply::integer(1));
    EXPECT_EQ(*got[2], RedisReply::integer(2));
    EXPECT_EQ(*got[3], RedisReply::integer(2));
    EXPECT_EQ(redis.stats().moved, 0u) << "the map was right from the start";
  });
  EXPECT_EQ(cluster_->model(cluster_->servers()[0]).key_count(), 2u);
  EXPECT_EQ(cluster_->model(cluster_->servers()[1]).key_count(), 2u);
}

// A slot that moved while the client held the old map: MOVED (the command did not
// run), the client follows it, learns the slot, and goes straight there next time.
TEST_F(ClusterInTheSimulator, MovedIsFollowedAndLearned) {
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    const std::string key = key_on(0);
    const int slot = cluster::key_slot(key);
    EXPECT_TRUE((co_await redis.command("SET", key, "v")).ok());
    cluster_->migrate(cluster_->servers()[1], slot);
    co_await sleep(milliseconds(100));
    EXPECT_EQ(cluster_->owner_of_slot(slot), cluster_->servers()[1]);
    EXPECT_EQ(*(co_await redis.command("GET", key)), RedisReply::bulk_string("v"));
    EXPECT_EQ(redis.stats().moved, 1u);
    EXPECT_EQ(*(co_await redis.command("GET", key)), RedisReply::bulk_string("v"));
    EXPECT_EQ(redis.stats().moved, 1u) << "learned: no second redirect";
    EXPECT_EQ(redis.node_for_slot(static_cast<std::uint16_t>(slot)),
              address(cluster_->servers()[1]));
  });
}

// During a slow migration: a key already moved is served by the importing node after
// ASKING, and the map does not change; a multi-key command whose keys are split gets
// TRYAGAIN, waits, and succeeds once the slot has moved.
TEST_F(ClusterInTheSimulator, AMigrationIsInvisibleThroughAskAndTryAgain) {
  make_cluster(
      {.masters = 2, .replicas = 0, .migration_batch = 1, .migration_step = milliseconds(40)});
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    const std::vector<std::string> keys = {"{s}a", "{s}b", "{s}c", "{s}d"};
    const int slot = cluster::key_slot(keys[0]);
    const NodeId source = cluster_->owner_of_slot(slot);
    const NodeId target = cluster_->servers()[source == cluster_->servers()[0] ? 1 : 0];
    for (const std::string& key : keys)
      EXPECT_TRUE((co_await redis.command("SET", key, key)).ok());
    cluster_->migrate(target, slot);
    co_await sleep(milliseconds(50));  // one key moved ("{s}a", the first in order)
    EXPECT_EQ(*(co_await redis.command("GET", keys[0])), RedisReply::bulk_string(keys[0]));
    EXPECT_EQ(redis.stats().asked, 1u);
    EXPECT_EQ(redis.node_for_slot(static_cast<std::uint16_t>(slot)), address(source));
    Result<RedisReply> both = co_await redis.command("MGET", keys[0], keys[3]);
    EXPECT_TRUE(both.ok()) << both.status();
    EXPECT_EQ(
        both.value_or(RedisReply::nil()),
        RedisReply::array({RedisReply::bulk_string(keys[0]), RedisReply::bulk_string(keys[3])}));
    EXPECT_GT(redis.stats().tryagain, 0u);
    EXPECT_EQ(cluster_->owner_of_slot(slot), target);
  });
}

// In a pipeline, a command refused with TRYAGAIN is sent again after the batch and
// succeeds; the others are answered in input order.
TEST_F(ClusterInTheSimulator, APipelinedTryAgainIsResent) {
  make_cluster(
      {.masters = 2, .replicas = 0, .migration_batch = 1, .migration_step = milliseconds(40)});
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    const int slot = cluster::key_slot("{s}a");
    const NodeId source = cluster_->owner_of_slot(slot);
    for (const char* key : {"{s}a", "{s}b", "{s}c"})
      EXPECT_TRUE((co_await redis.command("SET", key, key)).ok());
    cluster_->migrate(cluster_->servers()[source == cluster_->servers()[0] ? 1 : 0], slot);
    co_await sleep(milliseconds(50));
    std::vector<RedisCommand> pipeline;
    pipeline.push_back({"MGET", "{s}a", "{s}c"});
    pipeline.push_back({"GET", key_on(0)});
    std::vector<Result<RedisReply>> got = co_await redis.execute_pipeline(std::move(pipeline));
    EXPECT_EQ(got[0].value_or(RedisReply::nil()),
              RedisReply::array({RedisReply::bulk_string("{s}a"), RedisReply::bulk_string("{s}c")}))
        << got[0].status();
    EXPECT_TRUE(got[1].ok());
    EXPECT_GT(redis.stats().tryagain, 0u);
  });
}

// The same with a client that does not wait on TRYAGAIN: the error reaches the caller
// (this is what the test above would see if the client did not handle it).
TEST_F(ClusterInTheSimulator, WithoutRetriesTryAgainReachesTheCaller) {
  make_cluster(
      {.masters = 2, .replicas = 0, .migration_batch = 1, .migration_step = milliseconds(40)});
  run(
      [&](cluster::ClusterConnection& redis) -> Task<void> {
        const int slot = cluster::key_slot("{s}a");
        const NodeId source = cluster_->owner_of_slot(slot);
        for (const char* key : {"{s}a", "{s}b"})
          EXPECT_TRUE((co_await redis.command("SET", key, "v")).ok());
        cluster_->migrate(cluster_->servers()[source == cluster_->servers()[0] ? 1 : 0], slot);
        co_await sleep(milliseconds(50));
        Result<RedisReply> both = co_await redis.command("MGET", "{s}a", "{s}b");
        EXPECT_EQ(both.status().server_error_prefix(), "TRYAGAIN") << both.status();
      },
      {.tryagain_attempts = 0});
}

// CLUSTER FAILOVER: the replica takes over with every write; the demoted master
// redirects keyed commands (MOVED) and refuses keyless writes (READONLY).
TEST_F(ClusterInTheSimulator, AManualFailoverLosesNothing) {
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    const std::string key = key_on(0);
    const NodeId master = cluster_->servers()[0];
    EXPECT_TRUE((co_await redis.command("SET", key, "v")).ok());
    cluster_->failover(master, FailoverMode::kManual);
    EXPECT_FALSE(cluster_->is_master(master));
    EXPECT_EQ(*(co_await redis.command("GET", key)), RedisReply::bulk_string("v"));
    EXPECT_EQ(redis.stats().moved, 1u);
    const NodeId now_master = cluster_->owner_of_slot(cluster::key_slot(key));
    EXPECT_NE(now_master, master);
    EXPECT_EQ(redis.node_for_slot(cluster::key_slot(key)), address(now_master));
  });
}

// The master dies: its slots fail (never sent: UNAVAILABLE, or CLUSTERDOWN once it is
// failed) until its replica is elected; then the same client finds the new master
// through the map and every acknowledged write is there.
TEST_F(ClusterInTheSimulator, AnAutomaticFailoverHasADownWindowAndLosesNothing) {
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    const std::string key = key_on(0);
    const NodeId master = cluster_->servers()[0];
    EXPECT_TRUE((co_await redis.command("SET", key, "v")).ok());
    const SimTime start = world_.now();
    cluster_->failover(master, FailoverMode::kAutomatic);
    int failures = 0;
    while (true) {
      Result<RedisReply> got = co_await redis.command("GET", key);
      if (got.ok()) {
        EXPECT_EQ(*got, RedisReply::bulk_string("v"));
        break;
      }
      ++failures;
      const Status& s = got.status();
      EXPECT_TRUE(s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kUnknownOutcome ||
                  s.server_error_prefix() == "CLUSTERDOWN")
          << s;
      if (world_.now() - start > seconds(10)) {
        ADD_FAILURE() << "no new master after 10s";
        break;
      }
    }
    EXPECT_GT(failures, 0);
    EXPECT_GE(world_.now() - start, seconds(1)) << "not before node_timeout";
    EXPECT_NE(cluster_->owner_of_slot(cluster::key_slot(key)), master);
    // The other shard kept working throughout (checked once more now).
    EXPECT_TRUE((co_await redis.command("SET", key_on(1), "x")).ok());
  });
  // The old master restarts and rejoins as a replica of its replacement.
  world_.restart(cluster_->servers()[0]);
  EXPECT_FALSE(cluster_->is_master(cluster_->servers()[0]));
  EXPECT_TRUE(cluster_->state().ok);
}

// After an automatic failover the client still maps the slot to the dead master: the
// command is not sent (kUnavailable), the map is reloaded from the other nodes, and the
// command goes once to the new master.
TEST_F(ClusterInTheSimulator, ACommandForADeadMasterGoesToItsReplacementOnce) {
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    const std::string key = key_on(0);
    EXPECT_TRUE((co_await redis.command("SET", key, "v")).ok());
    cluster_->failover(cluster_->servers()[0], FailoverMode::kAutomatic);
    co_await sleep(seconds(3));  // failed and replaced; the client heard nothing
    Result<RedisReply> got = co_await redis.command("GET", key);
    EXPECT_EQ(got.value_or(RedisReply::nil()), RedisReply::bulk_string("v")) << got.status();
    EXPECT_EQ(redis.stats().resent_after_unavailable, 1u);
  });
}

// A keyless write that reaches a demoted master (here a script writing a key it did
// not declare) is refused with READONLY; the client reloads the map and resends it
// once, to a master. Broadcasts (SCRIPT LOAD, FLUSHALL) to a demoted master run again
// on the new masters.
TEST_F(ClusterInTheSimulator, ReadonlyFromADemotedMasterSendsTheCommandToAMaster) {
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    EXPECT_TRUE((co_await redis.command("SET", key_on(0), "v")).ok());  // answered by master 0
    cluster_->failover(cluster_->servers()[0], FailoverMode::kManual);
    Result<RedisReply> wrote =
        co_await redis.command("EVAL", "redis.call('SET', 'x', '1') return 1", "0");
    EXPECT_EQ(wrote.value_or(RedisReply::nil()), RedisReply::integer(1)) << wrote.status();
    EXPECT_EQ(redis.stats().readonly, 1u);
    cluster_->failover(cluster_->servers()[1], FailoverMode::kManual);
    Result<RedisReply> loaded = co_await redis.command("SCRIPT", "LOAD", "return 2");
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE((co_await redis.command("FLUSHALL")).ok());
  });
}

// What the routing cannot do right it refuses: a transaction (one node's connection
// throughout) and cross-slot keys, before anything is sent.
TEST_F(ClusterInTheSimulator, TransactionsAndCrossSlotCommandsAreRefusedBeforeSending) {
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    for (const char* name : {"MULTI", "EXEC", "DISCARD", "WATCH", "unwatch"}) {
      Result<RedisReply> r = co_await redis.command(name);
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name;
    }
    Result<RedisReply> cross = co_await redis.command("MGET", key_on(0), key_on(1));
    EXPECT_EQ(cross.status().code(), StatusCode::kInvalidArgument);
    std::vector<RedisCommand> pipeline;
    pipeline.push_back({"MULTI"});
    pipeline.push_back({"SET", "{p}a", "1"});
    std::vector<Result<RedisReply>> got = co_await redis.execute_pipeline(std::move(pipeline));
    EXPECT_EQ(got[0].status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(got[1].ok());
  });
}

// A node cut off by a partition: its slots' commands fail as the connection says
// (never sent: UNAVAILABLE), the other node's keep working, and after healing the
// same client serves both again.
TEST_F(ClusterInTheSimulator, APartitionedNodeFailsOnlyItsSlots) {
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    const std::string a = key_on(0), b = key_on(1);
    EXPECT_TRUE((co_await redis.command("SET", a, "1")).ok());
    world_.partition(app_, cluster_->servers()[1]);
    Result<RedisReply> cut = co_await redis.command("SET", b, "1");
    EXPECT_EQ(cut.status().code(), StatusCode::kUnavailable) << cut.status().to_string();
    EXPECT_TRUE((co_await redis.command("GET", a)).ok());
    world_.heal_all();
    Result<RedisReply> healed = co_await redis.command("SET", b, "2");
    EXPECT_TRUE(healed.ok()) << healed.status().to_string();
  });
}

// The client's only seed is a master that then dies for good: the map it loaded named
// the replica, which it asks after the failover.
TEST_F(ClusterInTheSimulator, ADeadSeedIsNotNeededOnceTheMapIsKnown) {
  make_cluster({.masters = 2, .replicas = 1});
  run(
      [&](cluster::ClusterConnection& redis) -> Task<void> {
        const std::string key = key_on(0);
        EXPECT_TRUE((co_await redis.command("SET", key, "v")).ok());
        cluster_->failover(cluster_->servers()[0], FailoverMode::kAutomatic);
        co_await sleep(seconds(3));
        Result<RedisReply> got = co_await redis.command("GET", key);
        if (!got.ok()) got = co_await redis.command("GET", key);  // the first may find out
        EXPECT_TRUE(got.ok()) << got.status();
        EXPECT_EQ(got.value_or(RedisReply::nil()), RedisReply::bulk_string("v"));
      },
      {.seeds = {"10.0.0.1:6379"}});
}

}  // namespace
}  // namespace distkit::sim
