// Raft outside the simulator, in one process: three RaftServers (the key-value store)
// on POSIX disks under a temporary directory, talking over TcpPeers on loopback, and a
// RaftClient on a fourth endpoint. The same code the simulator proves, on real time,
// sockets and fsync: writes commit and read back, a member stopped without warning and
// started again from its directory catches up, and the group keeps serving while the
// leader is down. (Separate processes and kill -9 are issue 19's process tests.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/raft/kv.h"
#include "distkit/core/raft/raft_client.h"
#include "distkit/core/raft/raft_server.h"
#include "distkit/core/seam/peer_channels.h"
#include "distkit/transport/posix_disk.h"
#include "distkit/transport/runtime.h"
#include "distkit/transport/tcp_peers.h"

namespace distkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using transport::AsioRuntime;
using transport::PosixDisk;
using transport::TcpPeers;

constexpr std::uint64_t kCluster = 42;
const std::vector<NodeId> kMembers = {1, 2, 3};
constexpr NodeId kClientId = 9;

template <typename Fn>
auto on_runtime(AsioRuntime& runtime, Fn fn) {
  return block_on(runtime, [](Fn f) -> Task<decltype(f())> { co_return f(); }(std::move(fn)));
}

// One member: its endpoint, disk, store and server; stopped without a handover (as a
// crash of the process, but the page cache keeps what was written).
struct Member {
  std::unique_ptr<TcpPeers> peers;
  std::unique_ptr<PosixDisk> disk;
  std::unique_ptr<raft::KvStore> store;
  std::unique_ptr<raft::RaftServer> server;
};

class RaftOverTcp : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/raft-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
    // Endpoints first (ports chosen by the system), then everyone learns everyone.
    on_runtime(*runtime_, [&] {
      for (NodeId id : kMembers)
        ports_[id] = listen(members_[id], id, 0);
      client_peers_ = start_peers(kClientId, 0);
      for (NodeId id : kMembers)
        introduce(*members_[id].peers, id);
      introduce(*client_peers_, kClientId);
      return 0;
    });
    for (NodeId id : kMembers)
      start_server(id);
    on_runtime(*runtime_, [&] {
      channels_.emplace(*runtime_, *client_peers_);
      client_.emplace(*runtime_, channels_->channel(raft::kClientChannel),
                      raft::RaftClientOptions{.members = kMembers, .call_timeout = seconds(10)});
      kv_.emplace(*client_);
      return 0;
    });
  }
  void TearDown() override {
    on_runtime(*runtime_, [&] {
      kv_.reset();
      client_.reset();
      channels_.reset();
      for (NodeId id : kMembers)
        stop(id);
      client_peers_.reset();
      return 0;
    });
    runtime_.reset();
    std::error_code ec;
    std::filesystem::remove_all(directory_, ec);
  }

  std::unique_ptr<TcpPeers> start_peers(NodeId id, std::uint16_t port) {
    Result<std::unique_ptr<TcpPeers>> p =
        TcpPeers::start(*runtime_, {.cluster = kCluster, .self = id, .listen_port = port});
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }
  std::uint16_t listen(Member& m, NodeId id, std::uint16_t port) {
    m.peers = start_peers(id, port);
    return m.peers ? m.peers->port() : 0;
  }
  void introduce(TcpPeers& peers, NodeId self) {
    for (NodeId id : kMembers) {
      if (id != self) {
        EXPECT_TRUE(peers.set_peer(id, address(ports_[id])).ok());
      }
    }
    if (self != kClientId) {
      EXPECT_TRUE(peers.set_peer(kClientId, address(client_peers_->port())).ok());
    }
  }
  static std::string address(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

  void start_server(NodeId id) {
    Member& m = members_[id];
    Result<std::unique_ptr<PosixDisk>> disk = on_runtime(*runtime_, [&] {
      return PosixDisk::open(*runtime_, directory_ + "/m" + std::to_string(id));
    });
    ASSERT_TRUE(disk.ok()) << disk.status();
    m.disk = std::move(*disk);
    m.store = std::make_unique<raft::KvStore>();
    raft::RaftServerOptions options;
    options.node.raft.id = raft::raft_id(id);
    for (NodeId v : kMembers)
      options.node.raft.voters.push_back(raft::raft_id(v));
    options.node.wal.segment_bytes = 256 << 10;
    Result<std::unique_ptr<raft::RaftServer>> server = block_on(
        *runtime_, raft::RaftServer::start(*runtime_, *m.peers, *m.disk, *m.store, options));
    ASSERT_TRUE(server.ok()) << server.status();
    m.server = std::move(*server);
  }
  // Stops a member at once: no handover, no flush (run on the runtime's thread).
  void stop(NodeId id) {
    Member& m = members_[id];
    m.server.reset();
    m.store.reset();
    m.disk.reset();
    m.peers.reset();
  }
  void stop_now(NodeId id) {
    on_runtime(*runtime_, [&] {
      stop(id);
      return 0;
    });
  }
  void restart(NodeId id) {
    on_runtime(*runtime_, [&] {
      listen(members_[id], id, ports_[id]);
      introduce(*members_[id].peers, id);
      return 0;
    });
    start_server(id);
  }

  Status put(const std::string& key, const std::string& value) {
    return block_on(
        *runtime_, [](raft::KvClient& kv, std::string k, std::string v) -> Task<Status> {
          Result<std::optional<std::string>> r = co_await kv.put(std::move(k), std::move(v));
          co_return r.status();
        }(*kv_, key, value));
  }
  Result<std::optional<std::string>> get(const std::string& key) {
    return block_on(*runtime_, kv_->get(key));
  }
  std::optional<NodeId> leader() {
    return on_runtime(*runtime_, [&]() -> std::optional<NodeId> {
      for (NodeId id : kMembers) {
        const Member& m = members_[id];
        if (m.server && m.server->node().machine().role() == raft::Role::kLeader) return id;
      }
      return std::nullopt;
    });
  }
  std::map<std::string, std::string> data(NodeId id) {
    return on_runtime(*runtime_, [&] { return members_[id].store->data(); });
  }
  raft::Index applied(NodeId id) {
    return on_runtime(*runtime_, [&] { return members_[id].server->node().applied_index(); });
  }

  std::unique_ptr<AsioRuntime> runtime_ = AsioRuntime::start();
  std::string directory_;
  std::map<NodeId, Member> members_;
  std::map<NodeId, std::uint16_t> ports_;
  std::unique_ptr<TcpPeers> client_peers_;
  std::optional<PeerChannels> channels_;
  std::optional<raft::RaftClient> client_;
  std::optional<raft::KvClient> kv_;
};

TEST_F(RaftOverTcp, WritesCommitReadBackAndSurviveAMemberRestartAndALeaderStop) {
  for (int i = 0; i < 100; ++i) {
    const Status s = put("k" + std::to_string(i), "v" + std::to_string(i));
    ASSERT_TRUE(s.ok()) << i << ": " << s.to_string() << "; leader: " << leader().value_or(0);
  }
  Result<std::optional<std::string>> v = get("k42");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "v42");

  // A follower stopped without warning and started from its directory: it recovers its
  // log from disk and catches up with what it missed.
  const NodeId first_leader = *leader();
  const NodeId follower = first_leader == 1 ? 2 : 1;
  stop_now(follower);
  for (int i = 100; i < 150; ++i)
    ASSERT_TRUE(put("k" + std::to_string(i), "v" + std::to_string(i)).ok()) << i;
  restart(follower);

  // The leader stopped without a handover: the other two elect one, and the client
  // finds it (the write may wait out an election).
  stop_now(first_leader);
  for (int i = 150; i < 200; ++i)
    ASSERT_TRUE(put("k" + std::to_string(i), "v" + std::to_string(i)).ok()) << i;
  ASSERT_TRUE(leader().has_value());
  EXPECT_NE(*leader(), first_leader);
  restart(first_leader);
  ASSERT_TRUE(put("last", "write").ok());

  // Every member holds the same 201 keys once it has applied the last write.
  const raft::Index last = applied(*leader());
  std::map<std::string, std::string> want = data(*leader());
  ASSERT_EQ(want.size(), 201u);
  for (NodeId id : kMembers) {
    // The last write commits on a quorum. A member that was down is dialled again
    // after the leader's backoff (up to 1.5 s): writes go on until it has caught up
    // (the deadline only bounds a failure).
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    for (int attempt = 0; applied(id) < last && std::chrono::steady_clock::now() < deadline;
         ++attempt)
      ASSERT_TRUE(put("nudge", std::to_string(attempt)).ok());
    std::map<std::string, std::string> got = data(id);
    got.erase("nudge");
    want.erase("nudge");
    EXPECT_EQ(got.size(), want.size()) << "member " << id;
    for (const auto& [key, value] : want) {
      auto it = got.find(key);
      EXPECT_TRUE(it != got.end() && it->second == value)
          << "member " << id << " lacks " << key << "=" << value << " (applied " << applied(id)
          << ", the leader's " << last << ")";
    }
  }
}

}  // namespace
}  // namespace distkit
