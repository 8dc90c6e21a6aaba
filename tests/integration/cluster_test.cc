// transport::RedisClusterClient on a real local 3-master Redis Cluster: slot
// hashing, routing, CROSSSLOT, pipelines across nodes, and MOVED/ASK during a live
// slot migration.
#include "distkit/transport/cluster.h"

#include <gtest/gtest.h>

#include "distkit/tests/support/redis_fixture.h"
#include "distkit/tests/support/status_matchers.h"

namespace distkit::transport {
namespace {

TEST(ClusterSlots, Crc16AndHashTags) {
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % kClusterSlots);  // CRC16/XMODEM check value
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot(""), 0);
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{}{bar}"), key_slot("foo{}{bar}")) << "an empty tag hashes the whole key";
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
}

TEST(ClusterSlots, CommandKeysAndCrossSlot) {
  EXPECT_EQ(command_keys({"EVALSHA", "sha", "2", "{a}x", "{a}y", "arg"}),
            (std::vector<std::string_view>{"{a}x", "{a}y"}));
  EXPECT_EQ(command_keys({"MSET", "k1", "v1", "k2", "v2"}),
            (std::vector<std::string_view>{"k1", "k2"}));
  EXPECT_TRUE(command_keys({"PING"}).empty());
  EXPECT_FALSE(command_slot({"PING"})->has_value());
  EXPECT_EQ(**command_slot({"MGET", "{t}1", "{t}2"}), key_slot("t"));
  Result<std::optional<std::uint16_t>> cross = command_slot({"MGET", "a", "b"});
  EXPECT_EQ(cross.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(cross.status().message().find("CROSSSLOT"), std::string::npos);
}

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = test_support::RedisCluster::start(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status().to_string();
    cluster_ = std::move(*cluster);
  }
  static void TearDownTestSuite() { cluster_.reset(); }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    runtime_ = AsioRuntime::start();
  }
  void TearDown() override { runtime_.reset(); }

  template <typename Body>
  void with_cluster(Body body) {
    RedisClusterOptions options;
    options.seeds = {cluster_->addresses().front()};
    block_on(*runtime_, [](AsioRuntime& rt, RedisClusterOptions o, Body b) -> Task<void> {
      RedisClusterClient client(rt, o);
      co_await b(client);
    }(*runtime_, std::move(options), std::move(body)));
  }

  // The node holding `slot`'s keys, asked directly (not through the client's map).
  test_support::RedisServer* holder_of(std::uint16_t slot) {
    for (const auto& node : cluster_->nodes()) {
      auto n = node->command({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)});
      if (n.ok() && n->is_integer() && n->integer_value() > 0) return node.get();
    }
    return nullptr;
  }

  static std::unique_ptr<test_support::RedisCluster> cluster_;
  std::unique_ptr<AsioRuntime> runtime_;
};
std::unique_ptr<test_support::RedisCluster> ClusterTest::cluster_;

TEST_F(ClusterTest, RoutesEveryKeyToItsOwner) {
  with_cluster([&](RedisClusterClient& client) -> Task<void> {
    for (int i = 0; i < 200; ++i) {
      Result<RedisReply> r = co_await client.command("SET", "key:" + std::to_string(i), i);
      EXPECT_TRUE(r.ok()) << r.status().to_string();
    }
    for (int i = 0; i < 200; ++i) {
      EXPECT_THAT(co_await client.command("GET", "key:" + std::to_string(i)),
                  IsOkAndHolds(RedisReply::bulk_string(std::to_string(i))));
    }
    EXPECT_EQ(client.stats().moved, 0u) << "the slot map was right from the start";
    Result<RedisReply> cross = co_await client.command("MGET", "key:1", "key:2");
    EXPECT_EQ(cross.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE((co_await client.command("MGET", "{u}1", "{u}2")).ok());
  });
  std::int64_t total = 0;
  int nodes_with_keys = 0;
  for (const auto& node : cluster_->nodes()) {
    const std::int64_t n = node->command({"DBSIZE"})->integer_value();
    total += n;
    nodes_with_keys += n > 0;
  }
  EXPECT_GE(total, 200);
  EXPECT_EQ(nodes_with_keys, 3) << "keys spread over all masters";
}

TEST_F(ClusterTest, PipelinesSpanNodesAndKeepInputOrder) {
  with_cluster([&](RedisClusterClient& client) -> Task<void> {
    std::vector<RedisCommand> commands;
    for (int i = 0; i < 60; ++i)
      commands.push_back({"INCRBY", "p:" + std::to_string(i % 6), std::to_string(i)});
    commands.push_back({"MGET", "a", "b"});  // cross-slot: its own error, the rest unaffected
    std::vector<Result<RedisReply>> got = co_await client.execute_pipeline(std::move(commands));
    std::vector<std::int64_t> sums(6, 0);
    for (int i = 0; i < 60; ++i) {
      sums[i % 6] += i;
      EXPECT_EQ(*got[i], RedisReply::integer(sums[i % 6])) << i;
    }
    EXPECT_EQ(got[60].status().code(), StatusCode::kInvalidArgument);
  });
}

TEST_F(ClusterTest, FollowsAskDuringAMigrationAndMovedAfterIt) {
  const std::string key = "migrating-key";
  const std::uint16_t slot = key_slot(key);
  const std::string s = std::to_string(slot);
  with_cluster([&](RedisClusterClient& client) -> Task<void> {
    EXPECT_TRUE((co_await client.command("SET", key, "v1")).ok());
    test_support::RedisServer* source = holder_of(slot);
    EXPECT_NE(source, nullptr);
    if (source == nullptr) co_return;
    EXPECT_EQ(client.node_for_slot(slot), source->address());
    test_support::RedisServer* target = nullptr;
    for (const auto& node : cluster_->nodes()) {
      if (node.get() != source) target = node.get();
    }
    const std::string source_id = source->command({"CLUSTER", "MYID"})->text();
    const std::string target_id = target->command({"CLUSTER", "MYID"})->text();
    // Start migrating the slot and move the key: the source now answers ASK.
    EXPECT_EQ(*target->command({"CLUSTER", "SETSLOT", s, "IMPORTING", source_id}),
              RedisReply::simple_string("OK"));
    EXPECT_EQ(*source->command({"CLUSTER", "SETSLOT", s, "MIGRATING", target_id}),
              RedisReply::simple_string("OK"));
    auto migrated = source->command(
        {"MIGRATE", target->host(), std::to_string(target->port()), key, "0", "5000"});
    EXPECT_EQ(*migrated, RedisReply::simple_string("OK"));
    EXPECT_THAT(co_await client.command("GET", key), IsOkAndHolds(RedisReply::bulk_string("v1")));
    EXPECT_EQ(client.stats().asked, 1u);
    // Finish the migration: the source now answers MOVED.
    for (const auto& node : cluster_->nodes()) {
      (void)node->command({"CLUSTER", "SETSLOT", s, "NODE", target_id});
    }
    EXPECT_THAT(co_await client.command("GET", key), IsOkAndHolds(RedisReply::bulk_string("v1")));
    EXPECT_EQ(client.stats().moved, 1u);
    EXPECT_EQ(client.node_for_slot(slot), target->address());
    EXPECT_THAT(co_await client.command("GET", key), IsOkAndHolds(RedisReply::bulk_string("v1")));
    EXPECT_EQ(client.stats().moved, 1u) << "the map was updated: no second redirect";
  });
}

}  // namespace
}  // namespace distkit::transport
