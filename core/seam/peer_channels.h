// PeerChannels: several conversations over one PeerEndpoint (Raft's messages between
// members and its clients' requests share a node's endpoint, which allows one pending
// receive). Each payload travels with a one-byte channel tag in front; a channel is a
// PeerEndpoint of its own with the same contract (best effort: lost, delayed,
// duplicated or reordered, never corrupted).
//
//   PeerChannels channels(executor, node.peers());
//   PeerEndpoint& raft = channels.channel(kRaftChannel);
//   PeerEndpoint& clients = channels.channel(kClientChannel);
//
// A message with no tag, an unknown tag, or for a channel whose queue is full (nobody
// is receiving) is dropped and counted: a peer sending garbage costs it nothing.
// Used from the executor's thread only. Destroying it withdraws its receive from the
// base endpoint (whose contract allows that); destroy a channel's receivers first.
#ifndef DISTKIT_CORE_SEAM_PEER_CHANNELS_H_
#define DISTKIT_CORE_SEAM_PEER_CHANNELS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

#include "distkit/core/async/executor.h"
#include "distkit/core/async/task.h"
#include "distkit/core/seam/peer.h"

namespace distkit {

class PeerChannels {
 public:
  using Tag = std::uint8_t;

  // Messages kept per channel for a receiver that has not asked yet; more are dropped.
  explicit PeerChannels(Executor& executor, PeerEndpoint& base, std::size_t max_queued = 4096);
  ~PeerChannels();
  PeerChannels(const PeerChannels&) = delete;
  PeerChannels& operator=(const PeerChannels&) = delete;

  // The channel with `tag` (created on first use; the same object afterwards).
  [[nodiscard]] PeerEndpoint& channel(Tag tag);

  // Messages dropped: untagged, for an unknown channel, or over a full queue.
  [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

 private:
  class Channel;
  Task<void> dispatch_loop();

  Executor& executor_;
  PeerEndpoint& base_;
  std::size_t max_queued_;
  std::map<Tag, std::unique_ptr<Channel>> channels_;
  std::uint64_t dropped_ = 0;
  TaskScope scope_;  // last: the loop dies before what it uses
};

}  // namespace distkit

#endif  // DISTKIT_CORE_SEAM_PEER_CHANNELS_H_
