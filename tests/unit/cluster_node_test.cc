// InMemoryRedis as a node of a Redis Cluster, command by command with no world: the
// redirections of Redis 7.0.15's getNodeByQuery (cluster.c) in processCommand's order,
// ASKING's one-command life, transactions, replicas, and the CLUSTER replies.
#include <gtest/gtest.h>

#include <memory>

#include "distkit/core/cluster/slots.h"
#include "distkit/sim/redis/in_memory_redis.h"

namespace distkit::sim {
namespace {

using std::chrono::seconds;

// Two masters (0: slots 0..8191, 1: the rest) and a replica (2) of master 0.
class ClusterNodeTest : public ::testing::Test {
 protected:
  ClusterNodeTest() {
    state_->nodes = {{"10.0.0.1:6379", std::string(40, 'a'), -1, false},
                     {"10.0.0.2:6379", std::string(40, 'b'), -1, false},
                     {"10.0.0.3:6379", std::string(40, 'c'), 0, false}};
    for (int s = 0; s < ClusterState::kSlots; ++s)
      state_->owner[s] = s < 8192 ? 0 : 1;
    for (int i = 0; i < 3; ++i) {
      nodes_.push_back(std::make_unique<InMemoryRedis>());
      nodes_.back()->join_cluster(state_, i);
    }
  }

  RedisReply run(int node, RedisCommand command, ClientId client = 1) {
    ServerEnv env{now_, &rng_};
    return nodes_[node]->execute(client, command, env);
  }
  // The n-th key "k<i>" whose slot is owned by `node`.
  static std::string key_on(int node, int n = 0) {
    for (int i = 0;; ++i) {
      std::string key = "k" + std::to_string(i);
      if ((cluster::key_slot(key) < 8192 ? 0 : 1) == node && n-- == 0) return key;
    }
  }
  static std::string slot_of(const std::string& key) {
    return std::to_string(cluster::key_slot(key));
  }

  std::shared_ptr<ClusterState> state_ = std::make_shared<ClusterState>();
  std::vector<std::unique_ptr<InMemoryRedis>> nodes_;
  Rng rng_{7};
  WallTime now_ = WallTime(seconds(1'767'225'600));
};

TEST_F(ClusterNodeTest, KeyedCommandsElsewhereGetMovedWithTheOwnersAddress) {
  const std::string mine = key_on(0), theirs = key_on(1);
  EXPECT_EQ(run(0, {"SET", mine, "v"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(0, {"GET", theirs}),
            RedisReply::error("MOVED " + slot_of(theirs) + " 10.0.0.2:6379"));
  // Keyless commands and EVAL without keys run anywhere.
  EXPECT_EQ(run(1, {"PING"}), RedisReply::simple_string("PONG"));
  EXPECT_EQ(run(1, {"EVAL", "return 1", "0"}), RedisReply::integer(1));
  EXPECT_EQ(run(1, {"EVAL", "return 1", "1", mine}).error_prefix(), "MOVED");
  EXPECT_EQ(run(0, {"MGET", mine, theirs}),
            RedisReply::error("CROSSSLOT Keys in request don't hash to the same slot"));
}

TEST_F(ClusterNodeTest, ARedirectComesBeforeARefusal) {
  nodes_[0]->set_condition(ServerCondition::kLoading);
  EXPECT_EQ(run(0, {"GET", key_on(1)}).error_prefix(), "MOVED");
  EXPECT_EQ(run(0, {"GET", key_on(0)}).error_prefix(), "LOADING");
}

TEST_F(ClusterNodeTest, AMigratingSlotAsksForMissingKeysAndSaysTryAgainWhenSplit) {
  const std::string a = "{t}a", b = "{t}b";
  const int slot = cluster::key_slot(a);
  const int owner = state_->owner[slot];
  const int other = 1 - owner;
  EXPECT_TRUE(run(owner, {"SET", a, "1"}).is_simple_string());
  state_->importing[slot] = other;
  const std::string ask = "ASK " + std::to_string(slot) + " " + state_->nodes[other].address;
  // The source serves keys it still has, asks for keys it does not.
  EXPECT_EQ(run(owner, {"GET", a}), RedisReply::bulk_string("1"));
  EXPECT_EQ(run(owner, {"GET", b}), RedisReply::error(ask));
  EXPECT_EQ(run(owner, {"MGET", a, b}),
            RedisReply::error("TRYAGAIN Multiple keys request during rehashing of slot"));
  // The target: MOVED without ASKING, served after it, for one command only.
  EXPECT_EQ(run(other, {"SET", b, "2"}).error_prefix(), "MOVED");
  EXPECT_EQ(run(other, {"ASKING"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(other, {"SET", b, "2"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(other, {"GET", b}).error_prefix(), "MOVED") << "ASKING lasts one command";
  // A rejected command uses ASKING up too.
  EXPECT_EQ(run(other, {"ASKING"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(other, {"GET"}).error_prefix(), "ERR");
  EXPECT_EQ(run(other, {"GET", b}).error_prefix(), "MOVED");
  // Multi-key on the target with some keys missing: TRYAGAIN even after ASKING.
  EXPECT_EQ(run(other, {"ASKING"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(other, {"MGET", a, b}).error_prefix(), "TRYAGAIN");
  // Once the slot is moved, the old owner redirects for good.
  nodes_[owner]->migrate_keys(slot, 100, *nodes_[other], now_);
  state_->owner[slot] = other;
  state_->importing[slot] = -1;
  EXPECT_EQ(run(owner, {"GET", a}).error_prefix(), "MOVED");
  EXPECT_EQ(run(other, {"MGET", a, b}),
            RedisReply::array({RedisReply::bulk_string("1"), RedisReply::bulk_string("2")}));
}

TEST_F(ClusterNodeTest, AnExpiredKeyCountsAsMissingWhileItsSlotMoves) {
  const std::string key = key_on(0);
  const int slot = cluster::key_slot(key);
  EXPECT_TRUE(run(0, {"SET", key, "v", "PX", "10"}).is_simple_string());
  state_->importing[slot] = 1;
  now_ += seconds(1);
  EXPECT_EQ(run(0, {"GET", key}).error_prefix(), "ASK");
}

TEST_F(ClusterNodeTest, TransactionsAreRedirectedAsAWhole) {
  const std::string mine = key_on(0), theirs = key_on(1);
  // Queued: the redirected command poisons the transaction.
  EXPECT_EQ(run(0, {"MULTI"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(0, {"INCR", mine}), RedisReply::simple_string("QUEUED"));
  EXPECT_EQ(run(0, {"INCR", theirs}).error_prefix(), "MOVED");
  EXPECT_EQ(run(0, {"EXEC"}).error_prefix(), "EXECABORT");
  // At EXEC: the slot moved after queueing; EXEC is redirected and the transaction
  // discarded.
  const int slot = cluster::key_slot(mine);
  EXPECT_EQ(run(0, {"MULTI"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(0, {"INCR", mine}), RedisReply::simple_string("QUEUED"));
  state_->owner[slot] = 1;
  EXPECT_EQ(run(0, {"EXEC"}).error_prefix(), "MOVED");
  EXPECT_EQ(run(0, {"EXEC"}), RedisReply::error("ERR EXEC without MULTI"));
  EXPECT_EQ(run(1, {"GET", mine}), RedisReply::nil()) << "nothing ran";
}

TEST_F(ClusterNodeTest, ClusterDownWhenASlotIsUnboundOrTheStateFailed) {
  const std::string key = key_on(0);
  state_->owner[cluster::key_slot(key)] = -1;
  EXPECT_EQ(run(0, {"GET", key}), RedisReply::error("CLUSTERDOWN Hash slot not served"));
  state_->owner[cluster::key_slot(key)] = 0;
  state_->ok = false;
  EXPECT_EQ(run(0, {"GET", key}), RedisReply::error("CLUSTERDOWN The cluster is down"));
  EXPECT_EQ(run(0, {"PING"}), RedisReply::simple_string("PONG")) << "keyless still served";
}

TEST_F(ClusterNodeTest, AReplicaRedirectsKeyedCommandsAndRefusesKeylessWrites) {
  const std::string key = key_on(0);
  EXPECT_EQ(run(2, {"SET", key, "v"}),
            RedisReply::error("MOVED " + slot_of(key) + " 10.0.0.1:6379"));
  EXPECT_EQ(run(2, {"FLUSHALL"}),
            RedisReply::error("READONLY You can't write against a read only replica."));
  EXPECT_EQ(run(2, {"DBSIZE"}), RedisReply::integer(0)) << "reads are not refused";
  // READONLY connections may read the master's slots there (the replica keeps no data
  // in the simulation).
  EXPECT_EQ(run(2, {"READONLY"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(2, {"GET", key}), RedisReply::nil());
  EXPECT_EQ(run(2, {"SET", key, "v"}).error_prefix(), "MOVED");
  EXPECT_EQ(run(2, {"GET", key_on(1)}).error_prefix(), "MOVED") << "not its master's slot";
}

TEST_F(ClusterNodeTest, ClusterSlotsListsRangesWithMastersThenLiveReplicas) {
  const RedisReply slots = run(1, {"CLUSTER", "SLOTS"});
  ASSERT_TRUE(slots.is_array());
  ASSERT_EQ(slots.elements().size(), 2u);
  const auto node = [](const char* ip, std::string id) {
    return RedisReply::array({RedisReply::bulk_string(ip), RedisReply::integer(6379),
                              RedisReply::bulk_string(std::move(id)), RedisReply::array({})});
  };
  EXPECT_EQ(slots.elements()[0],
            RedisReply::array({RedisReply::integer(0), RedisReply::integer(8191),
                               node("10.0.0.1", std::string(40, 'a')),
                               node("10.0.0.3", std::string(40, 'c'))}));
  EXPECT_EQ(slots.elements()[1],
            RedisReply::array({RedisReply::integer(8192), RedisReply::integer(16383),
                               node("10.0.0.2", std::string(40, 'b'))}));
  state_->nodes[2].failed = true;
  EXPECT_EQ(run(1, {"CLUSTER", "SLOTS"}).elements()[0].elements().size(), 3u);
  EXPECT_EQ(run(0, {"CLUSTER", "MYID"}), RedisReply::bulk_string(std::string(40, 'a')));
  EXPECT_EQ(run(0, {"CLUSTER", "KEYSLOT", "foo"}), RedisReply::integer(12182));
  EXPECT_TRUE(run(0, {"CLUSTER", "INFO"}).text().starts_with("cluster_state:ok\r\n"));
  EXPECT_EQ(run(0, {"CLUSTER", "NOPE"}).error_prefix(), "ERR");
}

// ASKING inside MULTI is queued, as Redis 7.0 does: it does not let the transaction's
// commands into an importing slot.
TEST_F(ClusterNodeTest, AskingInsideMultiIsQueuedAndDoesNotCount) {
  const std::string key = "{q}a";
  const int slot = cluster::key_slot(key);
  const int other = 1 - state_->owner[slot];
  state_->importing[slot] = other;
  EXPECT_EQ(run(other, {"MULTI"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(other, {"ASKING"}), RedisReply::simple_string("QUEUED"));
  EXPECT_EQ(run(other, {"SET", key, "v"}).error_prefix(), "MOVED");
  EXPECT_EQ(run(other, {"EXEC"}).error_prefix(), "EXECABORT");
  // Before MULTI it lasts through the transaction.
  EXPECT_EQ(run(other, {"ASKING"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(other, {"MULTI"}), RedisReply::simple_string("OK"));
  EXPECT_EQ(run(other, {"SET", key, "v"}), RedisReply::simple_string("QUEUED"));
  EXPECT_EQ(run(other, {"EXEC"}), RedisReply::array({RedisReply::simple_string("OK")}));
}

// processCommand checks OOM, then a replica's READONLY, then MASTERDOWN, LOADING, BUSY.
TEST_F(ClusterNodeTest, AReplicasReadonlyComesAfterOomAndBeforeTheOtherRefusals) {
  nodes_[2]->set_condition(ServerCondition::kLoading);
  EXPECT_EQ(run(2, {"FLUSHALL"}).error_prefix(), "READONLY");
  EXPECT_EQ(run(2, {"DBSIZE"}).error_prefix(), "LOADING");
  nodes_[2]->set_condition(ServerCondition::kOutOfMemory);
  EXPECT_EQ(run(2, {"FLUSHALL"}).error_prefix(), "READONLY") << "FLUSHALL may not grow memory";
}

// The routing's two lists of keys (core/cluster's command_keys, and the server's own
// from its command table) agree: a command is redirected by a node that does not own
// its keys exactly when the client would route it by them.
TEST_F(ClusterNodeTest, TheClientAndTheServerAgreeOnEachCommandsKeys) {
  const std::string k = key_on(1);  // node 1's; asked of node 0
  const std::vector<RedisCommand> commands = {{"GET", k},
                                              {"SET", k, "v"},
                                              {"DEL", k, k},
                                              {"EXISTS", k},
                                              {"UNLINK", k},
                                              {"MGET", k, k},
                                              {"MSET", k, "1", k, "2"},
                                              {"INCR", k},
                                              {"INCRBY", k, "2"},
                                              {"HSET", k, "f", "v"},
                                              {"HGETALL", k},
                                              {"SADD", k, "m"},
                                              {"ZADD", k, "1", "m"},
                                              {"ZRANGE", k, "0", "-1"},
                                              {"EXPIRE", k, "10"},
                                              {"PTTL", k},
                                              {"TYPE", k},
                                              {"EVAL", "return 1", "1", k},
                                              {"EVALSHA", std::string(40, 'a'), "1", k},
                                              {"EVAL", "return 1", "0"},
                                              {"PING"},
                                              {"ECHO", "x"},
                                              {"TIME"},
                                              {"DBSIZE"},
                                              {"KEYS", "*"},
                                              {"SCAN", "0"},
                                              {"SCRIPT", "EXISTS", "x"},
                                              {"FLUSHDB"}};
  for (const RedisCommand& c : commands) {
    const bool client_routes = !cluster::command_keys(c).empty();
    const bool server_redirects = run(0, c).error_prefix() == "MOVED";
    EXPECT_EQ(client_routes, server_redirects) << c[0];
  }
}

TEST_F(ClusterNodeTest, AStandaloneServerRefusesTheClusterCommands) {
  InMemoryRedis standalone;
  ServerEnv env{now_, &rng_};
  for (const char* name : {"ASKING", "READONLY", "READWRITE"}) {
    EXPECT_EQ(standalone.execute(1, {name}, env),
              RedisReply::error("ERR This instance has cluster support disabled"));
  }
  EXPECT_EQ(standalone.execute(1, {"CLUSTER", "SLOTS"}, env),
            RedisReply::error("ERR This instance has cluster support disabled"));
}

TEST_F(ClusterNodeTest, MigratingKeysKeepsTheirTtlAndDropsExpiredOnes) {
  const std::string a = "{m}a", b = "{m}b", c = "{m}c";
  const int slot = cluster::key_slot(a);
  const int from = state_->owner[slot];
  EXPECT_TRUE(run(from, {"SET", a, "1", "EX", "100"}).is_simple_string());
  EXPECT_TRUE(run(from, {"SET", b, "2"}).is_simple_string());
  EXPECT_TRUE(run(from, {"SET", c, "3", "PX", "1"}).is_simple_string());
  now_ += seconds(1);
  EXPECT_EQ(nodes_[from]->migrate_keys(slot, 1, *nodes_[1 - from], now_), 1u);
  EXPECT_EQ(nodes_[from]->migrate_keys(slot, 1, *nodes_[1 - from], now_), 0u);
  EXPECT_EQ(nodes_[from]->key_count(), 0u);
  EXPECT_EQ(nodes_[1 - from]->key_count(), 2u);
  state_->owner[slot] = 1 - from;
  EXPECT_EQ(run(1 - from, {"TTL", a}), RedisReply::integer(99));
}

}  // namespace
}  // namespace distkit::sim
