#include "distkit/core/raft/raft_node.h"

#include <utility>

#include "distkit/core/raft/codec.h"

namespace distkit::raft {

struct RaftNode::WaitFor {
  RaftNode& node;
  Waiter& waiter;
  bool await_ready() const noexcept { return waiter.outcome.has_value(); }
  void await_suspend(std::coroutine_handle<> handle) { waiter.handle = handle; }
  void await_resume() const noexcept {}
};

Task<Result<std::unique_ptr<RaftNode>>> RaftNode::start(Executor& executor, PeerEndpoint& peers,
                                                        Disk& disk, StateMachine& state,
                                                        RaftNodeOptions options) {
  Result<std::unique_ptr<WalStorage>> wal = co_await WalStorage::open(disk, options.wal);
  if (!wal.ok()) co_return wal.status();
  DurableState durable = (*wal)->recovered();
  durable.applied = 0;  // the state machine is rebuilt from the log
  Result<RaftMachine> machine = RaftMachine::create(options.raft, std::move(durable));
  if (!machine.ok()) co_return machine.status();
  std::unique_ptr<RaftNode> node(new RaftNode(executor, peers, state, std::move(options),
                                              std::move(*machine), std::move(*wal)));
  spawn(executor, &node->scope_, node->tick_loop());
  spawn(executor, &node->scope_, node->receive_loop());
  node->pump();
  co_return std::move(node);
}

RaftNode::RaftNode(Executor& executor, PeerEndpoint& peers, StateMachine& state,
                   RaftNodeOptions options, RaftMachine machine, std::unique_ptr<WalStorage> wal)
    : executor_(executor),
      peers_(peers),
      state_(state),
      options_(std::move(options)),
      machine_(std::move(machine)),
      wal_(std::move(wal)) {}

RaftNode::~RaftNode() {
  for (auto& [index, waiter] : waiters_) {
    if (waiter->timer != 0) executor_.cancel(waiter->timer);
  }
}

Task<void> RaftNode::tick_loop() {
  while (failed_.ok()) {
    co_await sleep_for(executor_, options_.tick);
    machine_.tick();
    pump();
  }
}

Task<void> RaftNode::receive_loop() {
  while (failed_.ok()) {
    PeerMessage incoming = co_await peers_.receive();
    Result<Message> m = decode_message(incoming.payload);
    // The sender is who the network says, whatever the bytes claim.
    if (!m.ok() || m->from != raft_id(incoming.from) || !machine_.step(*m).ok()) {
      ++bad_messages_;
      continue;
    }
    pump();
  }
}

void RaftNode::pump() {
  if (processing_ || !failed_.ok() || !machine_.has_ready()) return;
  processing_ = true;
  spawn(executor_, &scope_, process_readies());
}

void RaftNode::send(const Message& m) {
  peers_.send(peer_id(m.to), encode_message(m));
}

Task<void> RaftNode::process_readies() {
  while (failed_.ok() && machine_.has_ready()) {
    Ready rd = machine_.ready();
    for (const Message& m : rd.messages)
      send(m);
    if (!rd.entries.empty() || rd.hard_state) {
      Status s = co_await wal_->persist(rd.entries, rd.hard_state);
      if (!s.ok()) {
        failed_ = s;  // fail-stop: nothing more leaves this member
        for (auto& [index, waiter] : std::map<Index, Waiter*>(waiters_))
          resolve(index, unknown_outcome_error("raft: the member stopped: " + s.to_string()));
        break;
      }
    }
    for (const Message& m : rd.persisted_messages)
      send(m);
    for (const Entry& e : rd.committed_entries) {
      std::string answer;
      if (e.type == EntryType::kNormal) answer = state_.apply(e);
      auto it = waiters_.find(e.index);
      if (it == waiters_.end()) continue;
      if (it->second->term == e.term) {
        resolve(e.index, std::move(answer));
      } else {
        resolve(e.index,
                unavailable_error("raft: another entry committed in the proposal's place"));
      }
    }
    machine_.advance();
  }
  processing_ = false;
}

void RaftNode::resolve(Index index, Result<std::string> outcome) {
  auto it = waiters_.find(index);
  if (it == waiters_.end()) return;
  Waiter* waiter = it->second;
  waiters_.erase(it);
  if (waiter->timer != 0) executor_.cancel(waiter->timer);
  waiter->timer = 0;
  waiter->outcome = std::move(outcome);
  if (waiter->handle) {
    std::coroutine_handle<> handle = std::exchange(waiter->handle, {});
    executor_.post([handle] { handle.resume(); });
  }
}

Task<Result<std::string>> RaftNode::propose(std::string command) {
  if (!failed_.ok())
    co_return unavailable_error("raft: the member stopped: " + failed_.to_string());
  Result<Index> index = machine_.propose(std::move(command));
  if (!index.ok()) co_return index.status();
  // An earlier proposal at this index was replaced in this member's own log: it can
  // no longer commit.
  resolve(*index, unavailable_error("raft: another entry took the proposal's place"));
  Waiter waiter{.term = machine_.term()};
  waiters_[*index] = &waiter;
  // If this frame is destroyed while waiting (its caller is gone, or the node crashed),
  // the waiter must leave the map and its timer must not fire.
  struct Unregister {
    RaftNode& node;
    Index index;
    Waiter* waiter;
    ~Unregister() {
      auto it = node.waiters_.find(index);
      if (it != node.waiters_.end() && it->second == waiter) node.waiters_.erase(it);
      if (waiter->timer != 0) node.executor_.cancel(waiter->timer);
    }
  } unregister{*this, *index, &waiter};
  waiter.timer =
      executor_.schedule_after(options_.proposal_timeout, [this, i = *index, w = &waiter] {
        auto it = waiters_.find(i);
        if (it == waiters_.end() || it->second != w) return;
        w->timer = 0;
        resolve(i, unknown_outcome_error("raft: no answer within the proposal timeout"));
      });
  pump();
  co_await WaitFor{*this, waiter};
  co_return std::move(*waiter.outcome);
}

}  // namespace distkit::raft
