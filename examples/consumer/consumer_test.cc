#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "distkit/core/base/status.h"
#include "distkit/core/raft/kv.h"
#include "distkit/core/raft/raft_client.h"
#include "distkit/core/raft/raft_server.h"
#include "distkit/core/seam/peer_channels.h"
#include "distkit/core/seam/redis_reply.h"
#include "distkit/sim/world/world.h"

TEST(Consumer, UsesDistkitPublicHeaders) {
  distkit::Result<int> r = distkit::unknown_outcome_error("reply lost");
  EXPECT_EQ(r.status().code(), distkit::StatusCode::kUnknownOutcome);
  EXPECT_EQ(distkit::RedisReply::integer(3).to_string(), "(integer) 3");
}

// The simulator is usable from a consumer's own tests.
TEST(Consumer, RunsASimulatedWorld) {
  distkit::sim::World world({.seed = 3});
  int ticks = 0;
  world.add_instance("a", [&](distkit::sim::NodeContext& node) -> distkit::Task<void> {
    for (int i = 0; i < 5; ++i) {
      co_await distkit::sleep_for(node.executor(), std::chrono::seconds(1));
      ++ticks;
    }
  });
  world.run_for(std::chrono::seconds(10));
  EXPECT_EQ(ticks, 5);
}

// A replicated key-value store: three Raft members on simulated disks and network,
// and a client that writes and reads through whichever member leads.
TEST(Consumer, RunsARaftKeyValueStore) {
  using namespace std::chrono_literals;
  distkit::sim::World world({.seed = 7});
  std::vector<distkit::NodeId> members;
  for (int i = 0; i < 3; ++i) {
    members.push_back(world.add_instance(
        "m" + std::to_string(i + 1), [&](distkit::sim::NodeContext& node) -> distkit::Task<void> {
          distkit::raft::RaftServerOptions options;
          options.node.raft.id = distkit::raft::raft_id(node.id());
          for (distkit::NodeId m : members)
            options.node.raft.voters.push_back(distkit::raft::raft_id(m));
          options.node.raft.seed = node.rng().next_u64() | 1;
          distkit::raft::KvStore store;
          auto server = co_await distkit::raft::RaftServer::start(node.executor(), node.peers(),
                                                                  node.disk(), store, options);
          if (!server.ok()) co_return;
          while (true)
            co_await distkit::sleep_for(node.executor(), 1h);
        }));
  }
  std::optional<std::string> before;
  std::optional<std::string> read;
  distkit::Status status = distkit::unavailable_error("not run");
  world.add_instance("client", [&](distkit::sim::NodeContext& node) -> distkit::Task<void> {
    distkit::PeerChannels channels(node.executor(), node.peers());
    distkit::raft::RaftClient client(
        node.executor(), channels.channel(distkit::raft::kClientChannel), {.members = members});
    distkit::raft::KvClient kv(client);
    auto put = co_await kv.put("greeting", "hello");
    auto got = co_await kv.get("greeting");
    status = put.ok() ? got.status() : put.status();
    if (put.ok()) before = *put;
    if (got.ok()) read = *got;
  });
  world.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(status.ok()) << status.to_string();
  EXPECT_FALSE(before.has_value());  // the key was absent
  EXPECT_EQ(read, "hello");
}
