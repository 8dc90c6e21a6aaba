// RaftMachine: one member of a Raft group as a pure state machine (the etcd-raft /
// raft-rs design). Inputs: tick(), step(message), propose(data), campaign(). Output:
// a Ready (what to persist, what to send before and after persisting, what to apply),
// acknowledged by advance(). No I/O, no clock, no threads; randomness from the seed in
// its Config. A driver persists, sends and applies; tests drive it directly.
//
// The rules (each has a test in tests/unit/raft_machine_test.cc):
// E1 Elections. A follower that hears no leader for its randomized timeout (drawn in
//    [election_tick, 2 * election_tick) from the seed) campaigns. With pre_vote it
//    first asks a quorum whether it would win, without raising anyone's term, so a
//    member that was cut off does not depose a working leader when it comes back.
// E2 Votes. A member grants one vote per term, to a candidate whose log is at least
//    as up to date as its own (§5.4.1). While it has heard from a leader within the
//    election timeout (check_quorum), it ignores requests for a higher term.
// E3 Check quorum. A leader that has not heard from a quorum within an election
//    timeout steps down, so a leader on the minority side of a partition stops
//    acting as one.
// R1 Replication. Per follower: probe (one append in flight until it answers) until
//    the match is found, then replicate (up to max_inflight appends and
//    max_inflight_bytes of entries pipelined; report_unreachable falls back to probe). A
//    rejection carries a hint so the leader skips a whole term per round trip.
// R2 Commit. A leader commits an index stored by a quorum only if the entry is of its
//    own term (Figure 8); each new leader appends a no-op so that happens.
// P1 Persistence. Vote requests, votes and append acknowledgements are in
//    Ready::persisted_messages: they leave only after what they promise is durable.
//    A leader counts its own log only as far as it is durable.
// P2 Applying. Committed entries are handed out only up to the local durable index
//    (etcd #14370: a single member must not apply what a crash would lose).
// L1 Reads (ReadIndex, Raft thesis §6.4). A read is answered with the commit index
//    once a quorum has answered a heartbeat sent after the read was asked, so a
//    deposed leader that does not know it yet cannot answer with stale data; a new
//    leader first commits an entry of its term (its commit index is then current).
// L2 Lease reads (opt in, Config::lease_reads; Raft thesis §6.4.1). Members that
//    heard from a leader ignore other candidates for an election timeout (check
//    quorum), and so does a member that just started (it may have promised that to a
//    leader before it went down). So while a quorum acknowledged a heartbeat round sent
//    less than a drift-shortened election timeout ago, no other leader can exist, and
//    the leader answers reads at once. It stops during a leadership transfer (whose
//    campaign passes leases) and until an entry of its term commits.
// T1 Leadership transfer. transfer_leader(to) brings `to`'s log up to date, then tells
//    it to campaign at once (kTimeoutNow): it skips pre-vote, and members in the
//    leader's lease grant its vote (the vote request says it is a transfer). The
//    leader takes no proposals meanwhile; the transfer is abandoned after an
//    election timeout (and proposals are taken again).
// S1 Snapshots. Once the driver has made a snapshot of the state machine durable,
//    compact() drops the log up to its index. A follower that needs entries from before
//    the leader's log start gets the snapshot instead, in chunks of
//    max_snapshot_chunk_bytes, one in flight (a lost one is sent again on the next
//    heartbeat answer), from the snapshot the transfer started with (a compaction
//    meanwhile does not restart it). When the last chunk is in and checks out, the follower drops
//    its log and hands the snapshot to its driver (Ready::snapshot) unless its log
//    already holds the snapshot's last entry or its commit index is past it (a stale
//    snapshot changes nothing). It acknowledges the snapshot only once it is durable.
// M1 Membership (Raft thesis §4.1, single-server changes). A change is a log entry
//    that takes effect on every member as soon as it is in its log (committed or not;
//    a replaced one is undone). Learners receive the log and count for nothing. A
//    leader takes one change at a time (the previous one committed), never removes
//    itself (transfer first), and none before an entry of its own term committed:
//    otherwise a change appended by an earlier leader and one of its own can lead to
//    disjoint majorities (the single-server bug, raft-dev 2015).
// I1 Bad input. A message that names another member, an unknown sender, or entries
//    that are not contiguous is refused with kInvalidArgument and changes nothing;
//    a restart state that is not a valid log is refused by create().
//
//
// Thread safety: none; one driver calls it from one thread.
#ifndef DISTKIT_CORE_RAFT_RAFT_MACHINE_H_
#define DISTKIT_CORE_RAFT_RAFT_MACHINE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "distkit/core/base/random.h"
#include "distkit/core/base/status.h"
#include "distkit/core/raft/log.h"
#include "distkit/core/raft/types.h"

namespace distkit::raft {

// Deliberately broken machines, for proving that the tests catch what they claim to.
// Never set outside tests.
enum class Mutation : std::uint8_t {
  kNone,
  kCommitEarlierTermsByCounting,  // no Figure 8 rule
  kAcknowledgeBeforePersisting,   // append acks leave with the entries unsynced
  kVoteBeforePersisting,          // votes leave with the vote unsynced
  kReadWithoutQuorum,             // a leader answers reads without confirming it leads
  kNoSingleServerFix,             // M1: a new leader changes membership before its first commit
  kApplyBeforeDurable,            // P2 off: a leader counts its own entries at once and they
                                  // are applied before they are durable (etcd #14370)
};

struct Config {
  NodeId id = kNobody;
  // The members when the log holds no change and there is no snapshot (a snapshot's
  // and then the log's changes take over). This member is one of them; a member that
  // joins is started as a learner with the voters it joins.
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  int election_tick = 10;  // ticks without a leader before a campaign (randomized up to 2x)
  int heartbeat_tick = 1;  // ticks between a leader's heartbeats; < election_tick
  bool pre_vote = true;
  bool check_quorum = true;
  // L2 lease reads: a leader answers a read at once while a quorum acknowledged one of
  // its heartbeat rounds within the lease, election_tick * (1 - d) / (1 + d) ticks of
  // its own clock from when the round was sent (d = max_clock_drift). Safe only while
  // no member's clock runs more than d faster or slower than another's: a leader whose
  // clock runs slow serves stale reads. Needs check_quorum.
  bool lease_reads = false;
  double max_clock_drift = 0.1;
  std::size_t max_append_bytes = 1 << 20;  // data per append message (at least one entry)
  std::size_t max_inflight = 256;          // appends in flight per follower
  // Entry data in flight per follower: no append is sent past it (0: no bound), so a
  // slow follower holds at most this much of the leader's bandwidth and its memory.
  std::size_t max_inflight_bytes = 0;
  std::size_t max_snapshot_chunk_bytes = 1 << 20;  // of a snapshot sent to a follower
  // Proposals are refused (kResourceExhausted) while the leader's uncommitted data
  // exceeds this; 0 means no bound.
  std::size_t max_uncommitted_bytes = 0;
  // Election timeouts. 0: one derived from the member's id, so members configured
  // alike still time out apart (RaftNode draws one from its executor's entropy).
  std::uint64_t seed = 0;
  Mutation mutation = Mutation::kNone;

  // kInvalidArgument naming the first problem: no id, id not a member, duplicate or
  // zero members, no voter, ticks out of order.
  [[nodiscard]] Status validate() const;
};

// What a member recovers from its durable storage after a restart.
struct DurableState {
  HardState hard_state;
  Snapshot snapshot;           // the latest (empty: none); its voters are the config's
  std::vector<Entry> entries;  // the log after the snapshot (from index 1 without one)
  // What the state machine already holds (0: it replays); at least the snapshot's
  // index, since the driver restores the state machine from it.
  Index applied = 0;
};

enum class Role : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
[[nodiscard]] std::string_view to_string(Role role);

// A leader's view of one member's log.
struct Progress {
  enum class State : std::uint8_t { kProbe, kReplicate, kSnapshot };
  Index match = 0;  // known to hold entries 1..match
  Index next = 1;   // the next entry to send
  State state = State::kProbe;
  bool probe_sent = false;     // probe: an append is in flight, wait for its answer
  bool recent_active = false;  // heard from since the last check_quorum round
  // Replicate: each append in flight (its last index and its entries' data bytes),
  // and their total bytes.
  struct Inflight {
    Index last = 0;
    std::size_t bytes = 0;
  };
  std::deque<Inflight> inflight;
  std::size_t inflight_bytes = 0;
  Index sent_commit = 0;  // the highest commit index it was told it may apply
  // kSnapshot: the snapshot being sent (kept to the end of the transfer even when the
  // leader compacts again meanwhile, so frequent snapshots cannot restart a transfer
  // forever), how many of its encoded bytes the follower holds, and the chunk in
  // flight (probe_sent): where it ends and when it left.
  Index snapshot_index = 0;
  Term snapshot_term = 0;
  std::shared_ptr<const std::string> snapshot_bytes;
  std::uint64_t snapshot_offset = 0;
  std::uint64_t chunk_end = 0;
  std::uint64_t chunk_sent_at = 0;
};

class RaftMachine {
 public:
  // kInvalidArgument for a bad config or a durable state that is not a valid log
  // (entries not contiguous from 1, terms decreasing or past the hard state's term,
  // commit past the log, applied past commit, a vote for a non-member).
  [[nodiscard]] static Result<RaftMachine> create(Config config, DurableState durable = {});

  // One unit of logical time (the driver maps ticks to its clock).
  void tick();
  // A message from another member. kInvalidArgument (nothing changes) for a message
  // not addressed to this member, from a non-member, or with malformed entries.
  [[nodiscard]] Status step(const Message& message);
  // Appends `data` to the log, if this member is the leader. Returns its index; it is
  // committed when a committed entry at that index has this term() (a new leader may
  // replace it). kUnavailable when not the leader (leader() names it, if known) or
  // while leadership is being transferred; kResourceExhausted past
  // max_uncommitted_bytes; kInvalidArgument past kMaxEntryBytes.
  [[nodiscard]] Result<Index> propose(std::string data);
  // M1: appends a membership change, if this member is the leader. Returns its index
  // (in effect at once; committed like any entry). kUnavailable when not the leader,
  // during a transfer, or before an entry of this term committed (the single-server
  // fix: retry shortly); kFailedPrecondition while another change is uncommitted or
  // for removing the leader itself; kInvalidArgument for a change that does not apply
  // to the current members.
  [[nodiscard]] Result<Index> propose_conf_change(ConfChange change);
  // The members in effect: the latest change in the log.
  [[nodiscard]] const ConfState& conf_state() const { return conf_; }
  // Starts an election now (pre-vote first if configured). No-op on a leader or a
  // member that is not a voter.
  void campaign();
  // Asks for a linearizable read (L1). Ready::read_states later carries {request,
  // index}: once the state machine has applied `index`, its state reflects every write
  // committed before this call. kUnavailable when not the leader (leader() names it).
  // A request pending when leadership is lost is never answered (drivers time out).
  [[nodiscard]] Status read_index(std::uint64_t request);
  // Hands leadership to `to` (T1). kUnavailable when not the leader (leader() names
  // it); kInvalidArgument when `to` is not a voter. To itself, or to the member a
  // transfer is already heading for: nothing happens.
  [[nodiscard]] Status transfer_leader(NodeId to);
  // The driver could not reach `member` (its transport failed to send): a follower
  // being sent appends pipelined falls back to one at a time (probe) until it answers,
  // instead of filling its window into the void. Unknown members are ignored.
  void report_unreachable(NodeId member);
  // The driver failed to deliver the snapshot chunk in flight to `member`: it is sent
  // again, from what the follower acknowledged, at the next chance instead of after
  // half an election timeout. (Success needs no report: the follower acknowledges the
  // snapshot itself once it is durable there.)
  void report_snapshot_failure(NodeId member);
  // The member a transfer in progress is heading for, or kNobody.
  [[nodiscard]] NodeId lead_transferee() const { return lead_transferee_; }

  // S1. A snapshot of the state machine after entry `index`, to make durable and then
  // pass to compact(). `data` is StateMachine::snapshot() taken with `index` applied.
  // kFailedPrecondition when `index` is not applied yet or not after the current
  // snapshot.
  [[nodiscard]] Result<Snapshot> snapshot_at(Index index, std::string data) const;
  // Drops the log up to the snapshot's index, keeping the snapshot to send to
  // followers that need it. The driver calls it once the snapshot is durable.
  // kFailedPrecondition when the log no longer holds the snapshot's last entry (a
  // newer snapshot from the leader replaced the log meanwhile): nothing changes.
  [[nodiscard]] Status compact(Snapshot snapshot);
  // The snapshot the log starts after (index 0: none).
  [[nodiscard]] const SnapshotMetadata& snapshot_metadata() const { return snapshot_; }

  [[nodiscard]] bool has_ready() const;
  // The next batch (see Ready in types.h). At most one is outstanding: call advance()
  // when it has been processed, before the next ready(). Inputs may be stepped in
  // between; what they produce goes into the next batch.
  [[nodiscard]] Ready ready();
  void advance();

  [[nodiscard]] NodeId id() const { return config_.id; }
  [[nodiscard]] Role role() const { return role_; }
  [[nodiscard]] Term term() const { return term_; }
  [[nodiscard]] NodeId vote() const { return vote_; }
  [[nodiscard]] NodeId leader() const { return leader_; }
  [[nodiscard]] Index commit_index() const { return commit_; }
  [[nodiscard]] Index applied_index() const { return applied_; }
  [[nodiscard]] Index durable_index() const { return durable_; }
  [[nodiscard]] const RaftLog& log() const { return log_; }
  [[nodiscard]] int randomized_election_timeout() const { return randomized_timeout_; }
  // The leader's view of `member`; nullptr when not the leader or not a member.
  [[nodiscard]] const Progress* progress(NodeId member) const;

 private:
  RaftMachine(Config config, DurableState durable);

  [[nodiscard]] std::size_t quorum() const { return conf_.voters.size() / 2 + 1; }
  [[nodiscard]] bool is_voter(NodeId id) const { return conf_.is_voter(id); }
  // Appends to the log (a suffix may be replaced) and keeps the members in step.
  void append_entries(std::span<const Entry> entries);
  void recompute_conf();
  [[nodiscard]] ConfState conf_at(Index index) const;
  // Leader: a progress for every member but itself, none for others.
  void sync_progress();
  [[nodiscard]] HardState hard_state() const { return {term_, vote_, commit_}; }
  [[nodiscard]] bool in_lease() const;
  [[nodiscard]] bool lease_valid() const;
  void extend_lease(NodeId from, std::uint64_t round);
  // kUnavailable naming the leader, if known.
  [[nodiscard]] Status not_leader_error() const;
  [[nodiscard]] Status validate_message(const Message& m) const;

  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset(Term term);
  void reset_randomized_timeout();
  void start_election(bool pre_vote, bool transfer = false);
  void send_timeout_now(NodeId to);
  // Records a vote; returns +1 won, -1 lost, 0 pending.
  int poll(NodeId from, bool granted);

  void step_leader(const Message& m);
  void step_candidate(const Message& m);
  void step_follower(const Message& m);
  void handle_vote_request(const Message& m);
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_append_response(const Message& m);
  void handle_snapshot(const Message& m);
  void handle_snapshot_response(const Message& m);
  void send_snapshot_chunk(NodeId to, Progress& p);
  [[nodiscard]] bool window_full(const Progress& p) const;
  static void clear_inflight(Progress& p);
  void restore(Snapshot snapshot);

  void append_as_leader(std::vector<Entry> entries);
  bool send_append(NodeId to, bool send_if_empty = true);
  void broadcast_append(bool send_if_empty = true);
  void broadcast_heartbeat(std::uint64_t context = 0);
  bool maybe_commit();
  void commit_to(Index index);
  void check_quorum_round();
  [[nodiscard]] bool committed_in_term() const { return log_.term(commit_) == term_; }
  void confirm_read(std::uint64_t request);
  void release_reads_confirmed_by(NodeId from, std::uint64_t request);
  void start_waiting_reads();
  void send(Message m);
  void truncated_at(Index first);

  Config config_;
  SplitMix64 rng_;
  RaftLog log_;
  // M1: the members as of the log's start, the membership changes in the log (their
  // indexes), and the members in effect (base_conf_ with every change applied).
  ConfState base_conf_;
  std::vector<Index> conf_entries_;
  ConfState conf_;
  // The snapshot the log starts after, and its encoding (what followers are sent).
  SnapshotMetadata snapshot_;
  std::shared_ptr<const std::string> snapshot_bytes_;
  // Follower: a snapshot being received, the chunks so far.
  Index incoming_index_ = 0;
  Term incoming_term_ = 0;
  std::string incoming_bytes_;
  // Follower: a snapshot restored and not yet handed to the driver.
  std::optional<Snapshot> snapshot_to_persist_;
  Term term_ = 0;
  NodeId vote_ = kNobody;
  NodeId leader_ = kNobody;
  Role role_ = Role::kFollower;
  Index commit_ = 0;
  Index applied_ = 0;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;
  std::map<NodeId, bool> votes_;
  std::map<NodeId, Progress> progress_;  // leader only
  std::size_t uncommitted_bytes_ = 0;
  bool appends_pending_ = false;  // leader: proposals not yet sent (next Ready)
  std::uint64_t ticks_ = 0;       // since this incarnation started
  Term started_term_ = 0;         // the durable term it started in (0: a new member)
  // Lease reads (leader): heartbeat rounds, when each was sent, the last each member
  // acknowledged, and the tick the lease runs until.
  std::uint64_t heartbeat_round_ = 0;
  std::map<std::uint64_t, std::uint64_t> round_sent_at_;
  std::map<NodeId, std::uint64_t> round_acked_;
  std::uint64_t lease_until_ = 0;
  NodeId lead_transferee_ = kNobody;  // leader: a transfer in progress, to whom
  int transfer_elapsed_ = 0;          // its ticks so far
  // Reads being confirmed, in request order, with who has answered their heartbeat;
  // reads waiting for the first commit of the term; reads confirmed, for the Ready.
  struct PendingRead {
    std::uint64_t request = 0;
    Index index = 0;
    std::vector<NodeId> acks;
  };
  std::deque<PendingRead> pending_reads_;
  std::vector<std::uint64_t> reads_before_first_commit_;
  std::vector<ReadState> read_states_;

  // The pipeline to the driver.
  Index durable_ = 0;  // entries 1..durable_ are durable
  Index handed_ = 0;   // entries 1..handed_ were handed out in a Ready
  HardState durable_hard_state_;
  std::vector<Message> messages_;
  std::vector<Message> persisted_messages_;
  // The outstanding Ready, if any: what advance() makes durable and applied.
  bool outstanding_ = false;
  Index outstanding_last_ = 0;
  Index outstanding_truncated_ = 0;  // a replaced suffix's first index meanwhile, 0 if none
  HardState outstanding_hard_state_;
  Index outstanding_applied_ = 0;
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_RAFT_MACHINE_H_
