// TcpPeers over loopback: messages between three nodes arrive whole, in order per
// sender, from the right node; a peer that was down is dialled again when it is back;
// strangers, other clusters and oversized frames are refused without touching the
// other streams. Waits are for events (a message, a closed socket), never for time.
#include "distkit/transport/tcp_peers.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/async/task.h"
#include "distkit/core/base/bytes.h"
#include "distkit/core/peer/frames.h"
#include "distkit/transport/runtime.h"

namespace distkit::transport {
namespace {

using std::chrono::seconds;
constexpr std::uint64_t kCluster = 7;

// Runs `fn` on the runtime's thread and waits for it.
template <typename Fn>
auto on_runtime(AsioRuntime& runtime, Fn fn) {
  return block_on(runtime, [](Fn f) -> Task<decltype(f())> { co_return f(); }(std::move(fn)));
}

// One node: its endpoint, and what it received (filled by a loop on the runtime).
class Node {
 public:
  Node(AsioRuntime& runtime, NodeId id, std::uint16_t port = 0) : runtime_(runtime) {
    on_runtime(runtime_, [&] {
      Result<std::unique_ptr<TcpPeers>> p =
          TcpPeers::start(runtime_, {.cluster = kCluster, .self = id, .listen_port = port});
      EXPECT_TRUE(p.ok()) << p.status();
      if (!p.ok()) return 0;
      peers_ = std::move(*p);
      spawn(runtime_, &*scope_, receive_loop(peers_.get(), this));
      return 0;
    });
  }
  ~Node() {
    on_runtime(runtime_, [&] {
      scope_.reset();  // the receive loop first, then the endpoint it waits on
      peers_.reset();
      return 0;
    });
  }

  std::uint16_t port() {
    return on_runtime(runtime_, [&] { return peers_->port(); });
  }
  void know(NodeId id, std::uint16_t port) {
    on_runtime(runtime_, [&] {
      EXPECT_TRUE(peers_->set_peer(id, "127.0.0.1:" + std::to_string(port)).ok());
      return 0;
    });
  }
  void send(NodeId to, std::string payload) {
    on_runtime(runtime_, [&] {
      peers_->send(to, std::move(payload));
      return 0;
    });
  }
  TcpPeersCounters counters() {
    return on_runtime(runtime_, [&] { return peers_->counters(); });
  }
  // Waits until `n` messages arrived (woken by each arrival; `limit` only bounds a
  // failure, or is a sender's retry interval).
  std::vector<PeerMessage> wait_for(std::size_t n, Duration limit = seconds(20)) {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, limit, [&] { return got_.size() >= n; });
    return got_;
  }

 private:
  static Task<void> receive_loop(TcpPeers* peers, Node* node) {
    while (true) {
      PeerMessage m = co_await peers->receive();
      {
        std::lock_guard lock(node->mutex_);
        node->got_.push_back(std::move(m));
      }
      node->arrived_.notify_all();
    }
  }

  AsioRuntime& runtime_;
  std::unique_ptr<TcpPeers> peers_;
  std::optional<TaskScope> scope_{std::in_place};
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<PeerMessage> got_;
};

TEST(TcpPeers, ThreeNodesExchangeMessagesWholeAndInOrder) {
  auto runtime = AsioRuntime::start();
  std::map<NodeId, std::unique_ptr<Node>> nodes;
  for (NodeId id : {1, 2, 3})
    nodes[id] = std::make_unique<Node>(*runtime, id);
  for (auto& [id, node] : nodes) {
    for (auto& [other, o] : nodes) {
      if (other != id) node->know(other, o->port());
    }
  }
  for (int i = 0; i < 100; ++i) {
    for (auto& [id, node] : nodes) {
      for (NodeId to : {1, 2, 3}) {
        // Sizes from empty to 100 KB: frames cross read boundaries.
        if (to != id)
          node->send(to, std::to_string(id) + ":" + std::to_string(i) + ":" +
                             std::string(static_cast<std::size_t>(i * i * 10), 'x'));
      }
    }
  }
  for (auto& [id, node] : nodes) {
    const std::vector<PeerMessage> got = node->wait_for(200);
    ASSERT_EQ(got.size(), 200u) << "node " << id;
    std::map<NodeId, int> next;
    for (const PeerMessage& m : got) {
      const std::string want = std::to_string(m.from) + ":" + std::to_string(next[m.from]) + ":";
      EXPECT_EQ(m.payload.substr(0, want.size()), want) << "in order, from the right node";
      EXPECT_EQ(m.payload.size(),
                want.size() + static_cast<std::size_t>(next[m.from] * next[m.from] * 10));
      ++next[m.from];
    }
  }
  for (auto& [id, node] : nodes)
    EXPECT_EQ(node->counters().refused_streams, 0u);
  nodes.clear();
}

TEST(TcpPeers, APeerThatWasDownIsDialledAgainWhenItIsBack) {
  auto runtime = AsioRuntime::start();
  auto a = std::make_unique<Node>(*runtime, 1);
  auto b = std::make_unique<Node>(*runtime, 2);
  const std::uint16_t b_port = b->port();
  a->know(2, b_port);
  b.reset();  // down
  a->send(2, "lost");
  // The dial fails at once on loopback (refused); until it has, b must stay down.
  for (int i = 0; i < 1'000'000 && a->counters().dropped_sends == 0; ++i) {
  }
  ASSERT_EQ(a->counters().dropped_sends, 1u) << "the message to a peer that is down";
  // Back on the same port; a keeps sending (Raft would) until one arrives.
  b = std::make_unique<Node>(*runtime, 2, b_port);
  std::vector<PeerMessage> got;
  for (int i = 0; i < 500 && got.empty(); ++i) {
    a->send(2, "again");
    got = b->wait_for(1, std::chrono::milliseconds(20));  // an arrival, or send again
  }
  ASSERT_FALSE(got.empty()) << "never delivered after the peer came back";
  EXPECT_EQ(got.front().from, 1u);
  EXPECT_EQ(got.front().payload, "again");
  EXPECT_GE(a->counters().connects, 1u);
}

// A raw client that writes `bytes` to `port` and waits until the server closes.
bool closed_after_writing(std::uint16_t port, const std::string& bytes) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return false;
  boost::asio::write(s, boost::asio::buffer(bytes), ec);
  char c;
  s.read_some(boost::asio::buffer(&c, 1), ec);  // blocks until the server closes
  return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
}

TEST(TcpPeers, StrangersOtherClustersAndOversizedFramesAreRefused) {
  auto runtime = AsioRuntime::start();
  auto a = std::make_unique<Node>(*runtime, 1);
  auto b = std::make_unique<Node>(*runtime, 2);
  const std::uint16_t port = a->port();
  EXPECT_TRUE(closed_after_writing(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(closed_after_writing(port, peer::encode_hello({.cluster = 99, .node = 5})));
  std::string big = peer::encode_hello({.cluster = kCluster, .node = 5});
  put_u32(big, 64u << 20);  // a frame of 64 MiB: past the 32 MiB limit
  put_u32(big, 0);
  EXPECT_TRUE(closed_after_writing(port, big));
  std::string damaged = peer::encode_hello({.cluster = kCluster, .node = 5});
  peer::encode_frame("payload", damaged);
  damaged.back() ^= 1;
  EXPECT_TRUE(closed_after_writing(port, damaged));
  EXPECT_EQ(a->counters().refused_streams, 4u);
  // The others are unaffected.
  b->know(1, port);
  b->send(1, "still here");
  const std::vector<PeerMessage> got = a->wait_for(1);
  ASSERT_EQ(got.size(), 1u) << "nothing from the refused streams, and b's message";
  EXPECT_EQ(got[0].from, 2u);
  EXPECT_EQ(got[0].payload, "still here");
}

TEST(TcpPeers, BadOptionsAreRefused) {
  auto runtime = AsioRuntime::start();
  on_runtime(*runtime, [&] {
    EXPECT_EQ(TcpPeers::start(*runtime, {.self = 0}).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(TcpPeers::start(*runtime, {.self = 1, .peers = {{2, "localhost"}}}).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(
        TcpPeers::start(*runtime, {.self = 1, .listen_address = "not an address"}).status().code(),
        StatusCode::kInvalidArgument);
    return 0;
  });
}

}  // namespace
}  // namespace distkit::transport
