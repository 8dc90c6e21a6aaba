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
  // The state machine starts from the snapshot and is rebuilt from the log after it.
  if (!durable.snapshot.empty()) {
    if (Status s = state.restore(durable.snapshot.data); !s.ok())
      co_return data_loss_error("raft: the snapshot of index " +
                                std::to_string(durable.snapshot.metadata.index) +
                                " does not restore: " + s.message());
  }
  durable.applied = durable.snapshot.metadata.index;
  const Index restored = durable.applied;
  // Members started alike must not time out in step (repeated split votes).
  if (options.raft.seed == 0) options.raft.seed = executor.entropy();
  Result<RaftMachine> machine = RaftMachine::create(options.raft, std::move(durable));
  if (!machine.ok()) co_return machine.status();
  std::unique_ptr<RaftNode> node(new RaftNode(executor, peers, state, std::move(options),
                                              std::move(*machine), std::move(*wal)));
  node->applied_ = restored;
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
  // Reads asked while leading and not confirmed yet never will be once leadership is
  // lost: say so now rather than at their timeout (nothing ran; the caller retries).
  if (machine_.role() != Role::kLeader && reads_.size() > confirmed_.size()) {
    std::set<std::uint64_t> confirmed;
    for (const auto& [index, request] : confirmed_)
      confirmed.insert(request);
    for (auto& [request, waiter] : std::map<std::uint64_t, Waiter*>(reads_)) {
      if (!confirmed.contains(request))
        resolve_read(request, unavailable_error("raft: leadership was lost before the read "
                                                "was confirmed"));
    }
  }
  if (processing_ || !failed_.ok() || !machine_.has_ready()) return;
  processing_ = true;
  spawn(executor_, &scope_, process_readies());
}

void RaftNode::send(const Message& m) {
  peers_.send(peer_id(m.to), encode_message(m));
}

void RaftNode::stop(const Status& why) {
  failed_ = why;  // fail-stop: nothing more leaves this member
  for (auto& [index, waiter] : std::map<Index, Waiter*>(waiters_))
    resolve(index, unknown_outcome_error("raft: the member stopped: " + why.to_string()));
  for (auto& [request, waiter] : std::map<std::uint64_t, Waiter*>(reads_))
    resolve_read(request, unavailable_error("raft: the member stopped: " + why.to_string()));
}

// A snapshot from the leader: durable first (the file, then the log's mark), so that
// the acknowledgement sent after this Ready promises only what survives a crash.
Task<Status> RaftNode::install(const Snapshot& snapshot) {
  if (Status s = co_await wal_->save_snapshot(snapshot); !s.ok()) co_return s;
  co_return co_await wal_->install_snapshot(snapshot.metadata);
}

Task<Status> RaftNode::maybe_snapshot() {
  const Index applied = machine_.applied_index();
  const Index last = machine_.snapshot_metadata().index;
  if (options_.snapshot_entries == 0 || applied < last ||
      applied - last < options_.snapshot_entries)
    co_return Status();
  Result<Snapshot> snapshot = machine_.snapshot_at(applied, state_.snapshot());
  if (!snapshot.ok()) co_return Status();  // nothing new to cover
  if (Status s = co_await wal_->save_snapshot(*snapshot); !s.ok()) co_return s;
  // A newer snapshot from the leader may have replaced the log meanwhile: then this
  // one is merely an older file, and nothing is compacted.
  if (machine_.compact(*snapshot).ok()) {
    ++snapshots_taken_;
    if (Status s = wal_->compact(snapshot->metadata.index); !s.ok()) co_return s;
  }
  co_return Status();
}

Task<void> RaftNode::process_readies() {
  while (failed_.ok() && machine_.has_ready()) {
    Ready rd = machine_.ready();
    for (const Message& m : rd.messages)
      send(m);
    if (rd.snapshot) {
      if (Status s = co_await install(*rd.snapshot); !s.ok()) {
        stop(s);
        break;
      }
    }
    if (!rd.entries.empty() || rd.hard_state) {
      Status s = co_await wal_->persist(rd.entries, rd.hard_state, rd.must_sync);
      if (!s.ok()) {
        stop(s);
        break;
      }
    }
    for (const Message& m : rd.persisted_messages)
      send(m);
    if (rd.snapshot) {
      const Index index = rd.snapshot->metadata.index;
      if (Status s = state_.restore(rd.snapshot->data); !s.ok()) {
        stop(data_loss_error("raft: the leader's snapshot of index " + std::to_string(index) +
                             " does not restore: " + s.message()));
        break;
      }
      ++snapshots_installed_;
      applied_ = index;
      // Proposals the snapshot covers: whether theirs is in it is not known here.
      while (!waiters_.empty() && waiters_.begin()->first <= index)
        resolve(waiters_.begin()->first,
                unknown_outcome_error("raft: a snapshot from the leader replaced the log"));
    }
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
    if (Status s = co_await maybe_snapshot(); !s.ok()) {
      stop(s);
      break;
    }
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
  co_return co_await wait_for_commit(*index);
}

Task<Status> RaftNode::change_membership(ConfChange change) {
  if (!failed_.ok())
    co_return unavailable_error("raft: the member stopped: " + failed_.to_string());
  Result<Index> index = machine_.propose_conf_change(change);
  if (!index.ok()) co_return index.status();
  Result<std::string> outcome = co_await wait_for_commit(*index);
  co_return outcome.status();
}

Task<Status> RaftNode::step_down(Duration timeout) {
  const MonoTime deadline = executor_.clock().now() + timeout;
  while (failed_.ok() && machine_.role() == Role::kLeader) {
    if (executor_.clock().now() >= deadline)
      co_return unavailable_error("raft: leadership was not handed over within the timeout");
    if (machine_.lead_transferee() == kNobody) {
      raft::NodeId best = kNobody;
      Index best_match = 0;
      for (raft::NodeId v : machine_.conf_state().voters) {
        const Progress* p = machine_.progress(v);
        if (v == machine_.id() || p == nullptr) continue;
        if (best == kNobody || p->match > best_match) {
          best = v;
          best_match = p->match;
        }
      }
      if (best == kNobody)
        co_return failed_precondition_error("raft: no other voter to hand leadership to");
      (void)machine_.transfer_leader(best);
      pump();
    }
    co_await sleep_for(executor_, options_.tick);
  }
  co_return Status();
}

Task<Result<std::string>> RaftNode::wait_for_commit(Index index) {
  // An earlier proposal at this index was replaced in this member's own log: it can
  // no longer commit.
  resolve(index, unavailable_error("raft: another entry took the proposal's place"));
  Waiter waiter{.owner = this, .term = machine_.term()};
  const Registration<Index> registration(*this, waiters_, index, waiter);
  waiter.timer =
      executor_.schedule_after(options_.proposal_timeout, [this, i = index, w = &waiter] {
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
