// Peer messages between nodes (Raft's, and its clients'). The simulator routes them
// through the same network as Redis traffic, so a partition cuts both.
#ifndef DISTKIT_CORE_SEAM_PEER_H_
#define DISTKIT_CORE_SEAM_PEER_H_

#include <cstdint>
#include <string>

#include "distkit/core/async/task.h"

namespace distkit {

using NodeId = std::uint32_t;

struct PeerMessage {
  NodeId from = 0;
  std::string payload;
};

// Contract:
// - send() is best effort and returns at once: a message may be lost, delayed,
//   duplicated or reordered with respect to other messages, but it is never corrupted
//   or delivered to anyone but `to`. A message to an unknown node is dropped.
// - receive() completes with the next message delivered to this node, in delivery
//   order. At most one receive() may be pending at a time; destroying the frame that
//   waits in it withdraws it (the next message waits for the next receive()).
// - Used from the node's executor only.
class PeerEndpoint {
 public:
  virtual ~PeerEndpoint() = default;
  [[nodiscard]] virtual NodeId self() const = 0;
  virtual void send(NodeId to, std::string payload) = 0;
  virtual Task<PeerMessage> receive() = 0;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_SEAM_PEER_H_
