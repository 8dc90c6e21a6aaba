#include "distkit/core/raft/raft_node.h"

#include <utility>

#include "distkit/core/raft/codec.h"

namespace distkit::raft {

struct RaftNode::WaitFor {
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

// Registers `waiter` under `key` for as long as the waiting frame lives. If the frame
// is destroyed while waiting (its caller is gone, or the node crashed), the waiter
// leaves the maps, its timer is cancelled and a resume already posted is dropped.
template <typename Key>
struct RaftNode::Registration {
  Registration(RaftNode& node, std::map<Key, Waiter*>& map, Key key, Waiter& waiter)
      : node(node), map(map), key(key), waiter(waiter) {
    map[key] = &waiter;
    node.live_waiters_.insert(&waiter);
  }
  ~Registration() {
    *waiter.alive = false;
    if (waiter.owner == nullptr) return;  // the node is gone
    node.live_waiters_.erase(&waiter);
    auto it = map.find(key);
    if (it != map.end() && it->second == &waiter) map.erase(it);
    if (waiter.timer != 0) node.executor_.cancel(waiter.timer);
  }
  RaftNode& node;
  std::map<Key, Waiter*>& map;
  Key key;
  Waiter& waiter;
};

RaftNode::~RaftNode() {
  // Waiting callers may outlive us (in a crash their frames go later), completed or
  // not: detach every one.
  for (Waiter* waiter : live_waiters_) {
    if (waiter->timer != 0) executor_.cancel(waiter->timer);
    waiter->timer = 0;
    waiter->owner = nullptr;
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
      Status s = co_await wal_->persist(rd.entries, rd.hard_state, rd.must_sync);
      if (!s.ok()) {
        failed_ = s;  // fail-stop: nothing more leaves this member
        for (auto& [index, waiter] : std::map<Index, Waiter*>(waiters_))
          resolve(index, unknown_outcome_error("raft: the member stopped: " + s.to_string()));
        for (auto& [request, waiter] : std::map<std::uint64_t, Waiter*>(reads_))
          resolve_read(request, unavailable_error("raft: the member stopped: " + s.to_string()));
        break;
      }
    }
    for (const Message& m : rd.persisted_messages)
      send(m);
    for (const Entry& e : rd.committed_entries) {
      std::string answer;
      if (e.type == EntryType::kNormal) answer = state_.apply(e);
      applied_ = e.index;
      auto it = waiters_.find(e.index);
      if (it == waiters_.end()) continue;
      if (it->second->term == e.term) {
        resolve(e.index, std::move(answer));
      } else {
        resolve(e.index,
                unavailable_error("raft: another entry committed in the proposal's place"));
      }
    }
    for (const ReadState& r : rd.read_states)
      confirmed_.emplace(r.index, r.request);
    // Confirmed reads whose index is applied may read now.
    while (!confirmed_.empty() && confirmed_.begin()->first <= applied_) {
      resolve_read(confirmed_.begin()->second, Status());
      confirmed_.erase(confirmed_.begin());
    }
    machine_.advance();
  }
  processing_ = false;
}

namespace {

// Completes the waiter at `key` in `map` (if any) with `outcome` and wakes its
// coroutine through the executor.
template <typename Map, typename Waiter>
void complete(Executor& executor, Map& map, typename Map::key_type key,
              Result<std::string> outcome) {
  auto it = map.find(key);
  if (it == map.end()) return;
  Waiter* waiter = it->second;
  map.erase(it);
  if (waiter->timer != 0) executor.cancel(waiter->timer);
  waiter->timer = 0;
  waiter->outcome = std::move(outcome);
  if (waiter->handle) {
    std::coroutine_handle<> handle = std::exchange(waiter->handle, {});
    executor.post([handle, alive = waiter->alive] {
      if (*alive) handle.resume();
    });
  }
}

}  // namespace

void RaftNode::resolve(Index index, Result<std::string> outcome) {
  complete<std::map<Index, Waiter*>, Waiter>(executor_, waiters_, index, std::move(outcome));
}

void RaftNode::resolve_read(std::uint64_t request, Status outcome) {
  Result<std::string> r = outcome.ok() ? Result<std::string>(std::string()) : outcome;
  complete<std::map<std::uint64_t, Waiter*>, Waiter>(executor_, reads_, request, std::move(r));
}

Task<Status> RaftNode::read_barrier() {
  if (!failed_.ok())
    co_return unavailable_error("raft: the member stopped: " + failed_.to_string());
  const std::uint64_t request = ++next_read_;
  if (Status s = machine_.read_index(request); !s.ok()) co_return s;
  Waiter waiter{.owner = this, .term = machine_.term()};
  const Registration<std::uint64_t> registration(*this, reads_, request, waiter);
  waiter.timer = executor_.schedule_after(options_.proposal_timeout, [this, request, w = &waiter] {
    auto it = reads_.find(request);
    if (it == reads_.end() || it->second != w) return;
    w->timer = 0;
    // Nothing was changed by a read: safe to ask again.
    resolve_read(request, unavailable_error("raft: the read was not confirmed in time"));
  });
  pump();
  co_await WaitFor{waiter};
  co_return waiter.outcome->status();
}

Status RaftNode::transfer_leadership(raft::NodeId to) {
  if (!failed_.ok()) return unavailable_error("raft: the member stopped: " + failed_.to_string());
  Status s = machine_.transfer_leader(to);
  pump();
  return s;
}

Task<Result<std::string>> RaftNode::propose(std::string command) {
  if (!failed_.ok())
    co_return unavailable_error("raft: the member stopped: " + failed_.to_string());
  Result<Index> index = machine_.propose(std::move(command));
  if (!index.ok()) co_return index.status();
  // An earlier proposal at this index was replaced in this member's own log: it can
  // no longer commit.
  resolve(*index, unavailable_error("raft: another entry took the proposal's place"));
  Waiter waiter{.owner = this, .term = machine_.term()};
  const Registration<Index> registration(*this, waiters_, *index, waiter);
  waiter.timer =
      executor_.schedule_after(options_.proposal_timeout, [this, i = *index, w = &waiter] {
        auto it = waiters_.find(i);
        if (it == waiters_.end() || it->second != w) return;
        w->timer = 0;
        resolve(i, unknown_outcome_error("raft: no answer within the proposal timeout"));
      });
  pump();
  co_await WaitFor{waiter};
  co_return std::move(*waiter.outcome);
}

}  // namespace distkit::raft
