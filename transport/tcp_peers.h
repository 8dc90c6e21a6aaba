// TcpPeers: the peer seam (core/seam/peer.h) over TCP, for Raft members in separate
// processes. The bytes are core/peer/frames.h's: each node dials every peer it sends to
// (one stream per peer and direction), opens with a hello naming its cluster and node
// id, then sends length- and checksum-framed messages.
//
// - send() queues the message on the stream to `to` and returns at once. While the
//   stream is down it is dialled again with jittered exponential backoff; messages
//   queued past max_queued_bytes, to an unknown node, or on a stream that fails are
//   dropped, never resent (Raft sends again): the seam's "best effort".
// - receive() completes with the next message from any peer. An accepted stream whose
//   hello names another cluster, node 0 or this node, or that carries a damaged or
//   oversized frame, is closed (and counted); the others are unaffected. A node not in
//   `peers` may send (a member joining by a membership change dials before it is
//   known); replying to it needs set_peer().
// - A stream that dies soon after it came up (a peer that accepts and closes) keeps
//   the backoff growing; one that stayed up for reconnect_max resets it.
// - The hello is trusted: anyone who can reach the port can speak as a member. Bind to
//   a private network (loopback in the tests).
//
// Thread safety: everything runs on the runtime's thread (the node's executor). Create
// and destroy it there, or while the runtime is not running.
#ifndef DISTKIT_TRANSPORT_TCP_PEERS_H_
#define DISTKIT_TRANSPORT_TCP_PEERS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/seam/peer.h"
#include "distkit/transport/runtime.h"

namespace distkit::transport {

struct TcpPeersOptions {
  std::uint64_t cluster = 0;  // every member's must match (the hello)
  NodeId self = 0;
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: a free port (port() says which)
  // The members to send to: id -> "host:port" (numeric host, or a name to resolve).
  // More can be added with set_peer().
  std::map<NodeId, std::string> peers;
  std::size_t max_frame_bytes = 32 << 20;
  std::size_t max_queued_bytes = 64 << 20;  // per peer
  std::size_t max_inbox_messages = 1 << 16;
  Duration reconnect_min = std::chrono::milliseconds(20);
  Duration reconnect_max = std::chrono::seconds(1);
};

struct TcpPeersCounters {
  std::uint64_t dropped_sends = 0;     // unknown node, queue full, or lost with a stream
  std::uint64_t refused_streams = 0;   // accepted streams closed for bad bytes or hello
  std::uint64_t dropped_received = 0;  // the inbox was full
  std::uint64_t connects = 0;          // outgoing streams established
};

class TcpPeers final : public PeerEndpoint {
 public:
  // Listens on the options' address and port. kUnavailable when it cannot (the port
  // is taken); kInvalidArgument for an id of 0 or a peer address without a port.
  [[nodiscard]] static Result<std::unique_ptr<TcpPeers>> start(AsioRuntime& runtime,
                                                               TcpPeersOptions options);
  ~TcpPeers() override;
  TcpPeers(const TcpPeers&) = delete;
  TcpPeers& operator=(const TcpPeers&) = delete;

  [[nodiscard]] NodeId self() const override;
  void send(NodeId to, std::string payload) override;
  Task<PeerMessage> receive() override;

  // Adds or changes a member's address; kInvalidArgument without a port.
  [[nodiscard]] Status set_peer(NodeId id, const std::string& address);
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] const TcpPeersCounters& counters() const;

  struct State;

 private:
  explicit TcpPeers(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace distkit::transport

#endif  // DISTKIT_TRANSPORT_TCP_PEERS_H_
