#include "distkit/core/seam/peer_channels.h"

#include <utility>

#include "distkit/core/async/mailbox.h"

namespace distkit {

class PeerChannels::Channel final : public PeerEndpoint {
 public:
  Channel(PeerChannels& owner, Tag tag) : owner_(owner), tag_(tag) {}

  NodeId self() const override { return owner_.base_.self(); }

  void send(NodeId to, std::string payload) override {
    payload.insert(payload.begin(), static_cast<char>(tag_));
    owner_.base_.send(to, std::move(payload));
  }

  Task<PeerMessage> receive() override { co_return co_await inbox_.pop(); }

  // False when the queue is full (the message is dropped).
  bool deliver(PeerMessage message) { return inbox_.push(std::move(message)); }

 private:
  PeerChannels& owner_;
  Tag tag_;
  Mailbox<PeerMessage> inbox_{owner_.executor_, owner_.max_queued_};
};

PeerChannels::PeerChannels(Executor& executor, PeerEndpoint& base, std::size_t max_queued)
    : executor_(executor), base_(base), max_queued_(max_queued) {
  spawn(executor_, &scope_, dispatch_loop());
}

PeerChannels::~PeerChannels() = default;

PeerEndpoint& PeerChannels::channel(Tag tag) {
  std::unique_ptr<Channel>& slot = channels_[tag];
  if (!slot) slot = std::make_unique<Channel>(*this, tag);
  return *slot;
}

Task<void> PeerChannels::dispatch_loop() {
  while (true) {
    PeerMessage message = co_await base_.receive();
    if (message.payload.empty()) {
      ++dropped_;
      continue;
    }
    auto it = channels_.find(static_cast<Tag>(message.payload.front()));
    message.payload.erase(message.payload.begin());
    if (it == channels_.end() || !it->second->deliver(std::move(message))) ++dropped_;
  }
}

}  // namespace distkit
