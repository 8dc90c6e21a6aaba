// RaftNode: the driver of one Raft member on the seam. It runs RaftMachine with ticks
// from the executor's timers, messages from a PeerEndpoint (encoded by codec.h), the
// log in a WalStorage on a Disk, and a StateMachine that applies committed commands.
// The simulator runs it on simulated time, network and disks; production will run the
// same code over Asio and files (issue 19).
//
// Each Ready is processed in the order its contract sets (types.h): messages sent,
// entries and hard state persisted with one sync, persisted messages sent, committed
// entries applied, advance. While one Ready is being persisted, new messages are stepped,
// and what they produce waits for the next Ready.
//
// propose() returns the state machine's answer once the command is applied. It returns
// kUnavailable (not run, safe to retry) when this member is not the leader or another
// entry took the command's place, and kUnknownOutcome when the answer did not come
// within the proposal timeout: the command may still commit.
//
// Snapshots: every snapshot_entries applied entries, the state machine's snapshot is
// made durable and the log compacted to it. A member restarts from its newest
// snapshot and the log after it; one that fell behind the leader's log start is sent
// the leader's snapshot, which replaces its state (a proposal waiting on an index the
// snapshot covers ends kUnknownOutcome).
//
// A failed sync is fail-stop: the member stops taking part (failed() says why) and must
// be restarted, recovering from what is durable.
//
// Lifetime: destroying a RaftNode (on its executor's thread) destroys its loops: their
// sleeps cancel their timers, a pending receive() is withdrawn and a disk sync in
// flight is not resumed (the seams' contracts), so the executor may run on, as in a
// process that stops one member and starts it again. Callers still waiting in
// propose() or read_barrier() are never resumed, and their frames may be destroyed
// after the node.
#ifndef DISTKIT_CORE_RAFT_RAFT_NODE_H_
#define DISTKIT_CORE_RAFT_RAFT_NODE_H_

#include <coroutine>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "distkit/core/async/executor.h"
#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/raft/raft_machine.h"
#include "distkit/core/raft/state_machine.h"
#include "distkit/core/raft/wal_storage.h"
#include "distkit/core/seam/disk.h"
#include "distkit/core/seam/peer.h"

namespace distkit::raft {

struct RaftNodeOptions {
  Config raft;
  Duration tick = std::chrono::milliseconds(10);
  Duration proposal_timeout = std::chrono::seconds(2);
  WalOptions wal;
  // A snapshot of the state machine is taken (and the log compacted to it) once this
  // many entries were applied since the last one; 0: never.
  std::uint64_t snapshot_entries = 10'000;
};

[[nodiscard]] inline raft::NodeId raft_id(distkit::NodeId peer) {
  return raft::NodeId{peer} + 1;
}
[[nodiscard]] inline distkit::NodeId peer_id(raft::NodeId id) {
  return static_cast<distkit::NodeId>(id - 1);
}

class RaftNode {
 public:
  // Recovers the log from `disk` and starts the loops. A member's Raft id is its
  // PeerEndpoint id + 1 (Raft's 0 means "nobody"): raft_id(peer) and peer_id(raft).
  [[nodiscard]] static Task<Result<std::unique_ptr<RaftNode>>> start(Executor& executor,
                                                                     PeerEndpoint& peers,
                                                                     Disk& disk,
                                                                     StateMachine& state,
                                                                     RaftNodeOptions options);
  ~RaftNode();
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  [[nodiscard]] Task<Result<std::string>> propose(std::string command);
  // A membership change (RaftMachine::propose_conf_change), complete once committed
  // and applied here. Outcomes as propose(); kUnavailable also right after an
  // election (the new leader's first entry has not committed yet: retry).
  [[nodiscard]] Task<Status> change_membership(ConfChange change);
  // Completes once reading the state machine here is linearizable (ReadIndex): the
  // leader confirmed its leadership after this call, and this member has applied the
  // commit index of that moment. kUnavailable (nothing happened; retry) when this
  // member is not the leader, or no confirmation came within the proposal timeout.
  [[nodiscard]] Task<Status> read_barrier();
  // Hands leadership to member `to` (a Raft id): it catches up, then campaigns at
  // once (RaftMachine::transfer_leader). Proposals get kUnavailable meanwhile; the
  // transfer is abandoned after an election timeout.
  [[nodiscard]] Status transfer_leadership(raft::NodeId to);
  // Before a planned stop: if this member leads, hands leadership to the voter whose
  // log is most up to date (trying again after an abandoned transfer), and completes
  // once another member leads. OK at once when not the leader; kFailedPrecondition
  // when no other voter exists; kUnavailable when no handover happened within
  // `timeout` (this member may still lead).
  [[nodiscard]] Task<Status> step_down(Duration timeout);
  // The last entry the state machine applied, or restored from a snapshot.
  [[nodiscard]] Index applied_index() const { return applied_; }
  // Snapshots taken here / received from the leader (this incarnation).
  [[nodiscard]] std::uint64_t snapshots_taken() const { return snapshots_taken_; }
  [[nodiscard]] std::uint64_t snapshots_installed() const { return snapshots_installed_; }

  [[nodiscard]] const RaftMachine& machine() const { return machine_; }
  [[nodiscard]] const RaftNodeOptions& options() const { return options_; }
  [[nodiscard]] const Status& failed() const { return failed_; }
  // Messages that could not be decoded or stepped (and were dropped).
  [[nodiscard]] std::uint64_t bad_messages() const { return bad_messages_; }

 private:
  struct Waiter {
    RaftNode* owner = nullptr;  // cleared when the node is destroyed first
    // False once the waiting frame is gone: a resume posted before that is dropped.
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    Term term = 0;
    std::optional<Result<std::string>> outcome;
    std::coroutine_handle<> handle;
    Executor::TimerId timer = 0;
  };
  struct WaitFor;
  template <typename Key>
  struct Registration;

  RaftNode(Executor& executor, PeerEndpoint& peers, StateMachine& state, RaftNodeOptions options,
           RaftMachine machine, std::unique_ptr<WalStorage> wal);
  Task<Result<std::string>> wait_for_commit(Index index);
  Task<void> tick_loop();
  Task<void> receive_loop();
  Task<void> process_readies();
  void pump();
  void stop(const Status& why);
  Task<Status> install(const Snapshot& snapshot);
  Task<Status> maybe_snapshot();
  void send(const Message& m);
  void resolve(Index index, Result<std::string> outcome);
  void resolve_read(std::uint64_t request, Status outcome);

  Executor& executor_;
  PeerEndpoint& peers_;
  StateMachine& state_;
  RaftNodeOptions options_;
  RaftMachine machine_;
  std::unique_ptr<WalStorage> wal_;
  std::map<Index, Waiter*> waiters_;               // proposals, by index
  std::map<std::uint64_t, Waiter*> reads_;         // reads, by request
  std::set<Waiter*> live_waiters_;                 // every waiting frame, completed or not
  std::multimap<Index, std::uint64_t> confirmed_;  // confirmed reads waiting for apply
  std::uint64_t next_read_ = 0;
  Index applied_ = 0;
  bool processing_ = false;
  Status failed_;
  std::uint64_t bad_messages_ = 0;
  std::uint64_t snapshots_taken_ = 0;
  std::uint64_t snapshots_installed_ = 0;
  TaskScope scope_;  // last: the loops die before what they use
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_RAFT_NODE_H_
