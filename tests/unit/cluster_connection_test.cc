// The cluster routing (core/cluster) in the simulator: production's ClusterConnection
// over production's connection, against small cluster nodes written for this test
// (slot ownership, CLUSTER SLOTS, MOVED, ASK with ASKING). A first step of running
// the cluster client under simulated faults; the full simulated Redis Cluster is
// still to come (issue 15).
#include "distkit/core/cluster/cluster_connection.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "distkit/sim/world/world.h"

namespace distkit::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Which node owns each slot, and which slot is migrating where: shared by the nodes.
struct SlotMap {
  std::vector<int> owner = std::vector<int>(cluster::kClusterSlots, 0);
  std::map<int, int> migrating;  // slot -> the node importing it
  std::vector<std::string> addresses;
};

// A cluster node for GET/SET/INCR: a keyed command on a slot it does not own gets
// MOVED; on a slot it is migrating away, ASK when the key is not here (any more); an
// importing node serves a slot only after ASKING (once).
class MiniClusterNode final : public ServerModel {
 public:
  MiniClusterNode(std::shared_ptr<SlotMap> map, int self) : map_(std::move(map)), self_(self) {}

  RedisReply execute(ClientId client, const RedisCommand& c, ServerEnv&) override {
    const std::string name = c[0];
    executed_.push_back(name);
    if (name == "ASKING") {
      asking_[client] = true;
      return RedisReply::simple_string("OK");
    }
    if (name == "CLUSTER") return slots_reply();
    const bool asking = std::exchange(asking_[client], false);
    const int slot = cluster::key_slot(c.at(1));
    if (map_->owner[slot] != self_) {
      auto importing = map_->migrating.find(slot);
      const bool imported_here = importing != map_->migrating.end() && importing->second == self_;
      if (!(imported_here && asking)) return redirect("MOVED", slot, map_->owner[slot]);
    } else if (auto m = map_->migrating.find(slot); m != map_->migrating.end()) {
      if (!data.contains(c[1])) return redirect("ASK", slot, m->second);
    }
    if (name == "SET") {
      data[c[1]] = c[2];
      return RedisReply::simple_string("OK");
    }
    if (name == "INCR") {
      const std::int64_t v = (data.contains(c[1]) ? std::stoll(data[c[1]]) : 0) + 1;
      data[c[1]] = std::to_string(v);
      return RedisReply::integer(v);
    }
    auto it = data.find(c[1]);
    return it == data.end() ? RedisReply::nil() : RedisReply::bulk_string(it->second);
  }
  void disconnect(ClientId client) override { asking_.erase(client); }
  void restart(DataLoss, ServerEnv&) override {}
  void flush_scripts() override {}

  std::map<std::string, std::string> data;
  const std::vector<std::string>& executed() const { return executed_; }

 private:
  RedisReply redirect(const char* kind, int slot, int to) const {
    return RedisReply::error(std::string(kind) + " " + std::to_string(slot) + " " +
                             map_->addresses[to]);
  }
  RedisReply slots_reply() const {
    std::vector<RedisReply> ranges;
    int start = 0;
    for (int s = 1; s <= cluster::kClusterSlots; ++s) {
      if (s < cluster::kClusterSlots && map_->owner[s] == map_->owner[start]) continue;
      const std::string& address = map_->addresses[map_->owner[start]];
      const std::size_t colon = address.rfind(':');
      ranges.push_back(RedisReply::array(
          {RedisReply::integer(start), RedisReply::integer(s - 1),
           RedisReply::array({RedisReply::bulk_string(address.substr(0, colon)),
                              RedisReply::integer(std::stoll(address.substr(colon + 1)))})}));
      start = s;
    }
    return RedisReply::array(std::move(ranges));
  }

  std::shared_ptr<SlotMap> map_;
  int self_;
  std::map<ClientId, bool> asking_;
  std::vector<std::string> executed_;
};

class ClusterInTheSimulator : public ::testing::Test {
 protected:
  ClusterInTheSimulator() {
    map_->addresses = {"10.0.0.1:7000", "10.0.0.2:7000"};
    for (int s = cluster::kClusterSlots / 2; s < cluster::kClusterSlots; ++s)
      map_->owner[s] = 1;
    for (int i = 0; i < 2; ++i) {
      auto node = std::make_unique<MiniClusterNode>(map_, i);
      nodes_.push_back(node.get());
      ids_.push_back(world_.add_redis_server("node" + std::to_string(i), std::move(node)));
    }
  }

  // A ClusterConnection on an instance, whose connector reaches simulated nodes.
  template <typename Body>
  void run(Body body) {
    world_.add_instance("app", [this, body](NodeContext& node) -> Task<void> {
      app_ = node.id();
      cluster::ClusterConnection redis(node.executor(), {.seeds = {map_->addresses[0]}},
                                       [this, &node](const std::string& address) {
                                         const int index = address == map_->addresses[0] ? 0 : 1;
                                         return node.connect_redis(
                                             ids_[index], {.request_timeout = milliseconds(200),
                                                           .connect_timeout = milliseconds(100)});
                                       });
      co_await body(redis);
      done_ = true;
    });
    world_.run_for(seconds(10));
    ASSERT_TRUE(done_);
  }

  // A key whose slot the given node owns at the start.
  std::string key_on(int node, int n = 0) {
    for (int i = 0;; ++i) {
      std::string key = "k" + std::to_string(i);
      if (map_->owner[cluster::key_slot(key)] == node && n-- == 0) return key;
    }
  }

  World world_{{.seed = 11}};
  std::shared_ptr<SlotMap> map_ = std::make_shared<SlotMap>();
  std::vector<MiniClusterNode*> nodes_;
  std::vector<NodeId> ids_;
  NodeId app_ = 0;
  bool done_ = false;
};

TEST_F(ClusterInTheSimulator, CommandsGoToTheOwnerOfTheirSlotAndPipelinesKeepInputOrder) {
  const std::string a = key_on(0), b = key_on(1);
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    EXPECT_TRUE((co_await redis.command("SET", a, "on-0")).ok());
    EXPECT_TRUE((co_await redis.command("SET", b, "on-1")).ok());
    std::vector<RedisCommand> pipeline;
    for (const std::string& key : {b, a, b, a})
      pipeline.push_back(RedisCommand{"INCR", key + "n"});
    std::vector<Result<RedisReply>> got = co_await redis.execute_pipeline(std::move(pipeline));
    EXPECT_EQ(*got[0], RedisReply::integer(1));
    EXPECT_EQ(*got[1], RedisReply::integer(1));
    EXPECT_EQ(*got[2], RedisReply::integer(2));
    EXPECT_EQ(*got[3], RedisReply::integer(2));
    EXPECT_EQ(redis.stats().moved, 0u) << "the map was right from the start";
  });
  EXPECT_EQ(nodes_[0]->data.at(a), "on-0");
  EXPECT_EQ(nodes_[1]->data.at(b), "on-1");
}

// A slot that moved while the client held the old map: MOVED (the command did not
// run), the client follows it, learns the slot, and goes straight there next time.
TEST_F(ClusterInTheSimulator, MovedIsFollowedAndLearned) {
  const std::string key = key_on(0);
  const int slot = cluster::key_slot(key);
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    EXPECT_TRUE((co_await redis.command("SET", key, "v")).ok());
    map_->owner[slot] = 1;  // the slot moves, with its key
    nodes_[1]->data[key] = nodes_[0]->data[key];
    nodes_[0]->data.erase(key);
    EXPECT_EQ(*(co_await redis.command("GET", key)), RedisReply::bulk_string("v"));
    EXPECT_EQ(redis.stats().moved, 1u);
    EXPECT_EQ(*(co_await redis.command("GET", key)), RedisReply::bulk_string("v"));
    EXPECT_EQ(redis.stats().moved, 1u) << "learned: no second redirect";
    EXPECT_EQ(redis.node_for_slot(static_cast<std::uint16_t>(slot)), map_->addresses[1]);
  });
}

// During a migration a key already moved is served by the importing node after
// ASKING, once; the slot map does not change.
TEST_F(ClusterInTheSimulator, AskSendsAskingOnceAndKeepsTheMap) {
  const std::string key = key_on(0);
  const int slot = cluster::key_slot(key);
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    EXPECT_TRUE((co_await redis.command("SET", key, "v")).ok());
    map_->migrating[slot] = 1;
    nodes_[1]->data[key] = nodes_[0]->data[key];
    nodes_[0]->data.erase(key);
    EXPECT_EQ(*(co_await redis.command("GET", key)), RedisReply::bulk_string("v"));
    EXPECT_EQ(redis.stats().asked, 1u);
    EXPECT_EQ(redis.node_for_slot(static_cast<std::uint16_t>(slot)), map_->addresses[0]);
  });
  const auto& on_1 = nodes_[1]->executed();
  ASSERT_GE(on_1.size(), 2u);
  EXPECT_EQ(on_1[on_1.size() - 2], "ASKING");
  EXPECT_EQ(on_1.back(), "GET");
}

// A node cut off by a partition: its slots' commands fail as the connection says
// (never sent: UNAVAILABLE), the other node's keep working, and after healing the
// same client serves both again.
TEST_F(ClusterInTheSimulator, APartitionedNodeFailsOnlyItsSlots) {
  const std::string a = key_on(0), b = key_on(1);
  run([&](cluster::ClusterConnection& redis) -> Task<void> {
    EXPECT_TRUE((co_await redis.command("SET", a, "1")).ok());
    world_.partition(app_, ids_[1]);
    Result<RedisReply> cut = co_await redis.command("SET", b, "1");
    EXPECT_EQ(cut.status().code(), StatusCode::kUnavailable) << cut.status().to_string();
    EXPECT_TRUE((co_await redis.command("GET", a)).ok());
    world_.heal_all();
    Result<RedisReply> healed = co_await redis.command("SET", b, "2");
    EXPECT_TRUE(healed.ok()) << healed.status().to_string();
  });
  EXPECT_EQ(nodes_[1]->data.at(b), "2");
}

}  // namespace
}  // namespace distkit::sim
