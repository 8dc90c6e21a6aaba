// The values the Raft machine takes and gives: log entries, the hard state that must
// survive a crash, the messages between members, and the Ready batch a driver
// processes. Plain values with no behaviour; the rules are in raft_machine.h.
#ifndef DISTKIT_CORE_RAFT_TYPES_H_
#define DISTKIT_CORE_RAFT_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace distkit::raft {

// A member's id; 0 is "nobody" (no vote, no known leader).
using NodeId = std::uint64_t;
inline constexpr NodeId kNobody = 0;
using Term = std::uint64_t;
// Log positions start at 1; 0 is "before the log".
using Index = std::uint64_t;

// The largest entry data a proposal may carry (an append message carries at least one
// entry, and stays under the codec's 16 MiB frame).
inline constexpr std::size_t kMaxEntryBytes = 8 << 20;

enum class EntryType : std::uint8_t {
  kNormal,      // a command for the replicated state machine
  kNoOp,        // appended by each new leader so that an entry of its term commits
  kConfChange,  // a membership change (ConfChange, codec.h); in effect once appended
};

// The group's members. Voters elect leaders and count toward commit and reads;
// learners receive the log and snapshots and count for nothing. Sorted, disjoint.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  [[nodiscard]] bool is_voter(NodeId id) const;
  [[nodiscard]] bool is_learner(NodeId id) const;
  [[nodiscard]] bool is_member(NodeId id) const { return is_voter(id) || is_learner(id); }
  friend bool operator==(const ConfState&, const ConfState&) = default;
};

// One membership change at a time (Raft thesis §4.1, single-server changes): a new
// member joins as a learner, catches up, then is promoted to voter; any member but
// the leader can be removed.
enum class ConfChangeType : std::uint8_t { kAddLearner = 1, kPromote = 2, kRemove = 3 };
struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddLearner;
  NodeId node = kNobody;
  friend bool operator==(const ConfChange&, const ConfChange&) = default;
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::kNormal;
  std::string data;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// What must be durable before a vote or an acknowledgement that depends on it leaves.
struct HardState {
  Term term = 0;
  NodeId vote = kNobody;  // whom this member voted for in `term`
  Index commit = 0;

  friend bool operator==(const HardState&, const HardState&) = default;
};

enum class MessageType : std::uint8_t {
  kPreVote,  // "would you vote for me in term+1?"; changes nobody's term
  kPreVoteResponse,
  kVote,
  kVoteResponse,
  kAppend,  // entries after (index, log_term), and the leader's commit
  kAppendResponse,
  kHeartbeat,
  kHeartbeatResponse,
  kTimeoutNow,        // leadership transfer: "campaign now", from the leader to its successor
  kSnapshot,          // a chunk of the leader's snapshot, for a follower behind its log's start
  kSnapshotResponse,  // a chunk received: how many bytes of the snapshot the follower has
};

// A kVote's context when the campaign is a leadership transfer: members in a leader's
// lease grant it (the leader asked for it), where they would ignore any other.
inline constexpr std::uint64_t kTransferCampaign = 1;

[[nodiscard]] std::string_view to_string(MessageType type);

struct Message {
  MessageType type = MessageType::kHeartbeat;
  NodeId from = kNobody;
  NodeId to = kNobody;
  // The sender's term; in a kPreVote, the term it would campaign in.
  Term term = 0;
  // kAppend: the entry before `entries` is (index, log_term).
  // kPreVote/kVote: the candidate's last entry is (index, log_term).
  // kHeartbeat, kHeartbeatResponse: `index` is the leader's heartbeat round (lease
  //   reads; 0 without them), echoed by the answer.
  // kSnapshot, kSnapshotResponse: the snapshot is of (index, log_term); `context` is
  //   the chunk's offset in the encoded snapshot (codec.h), or in the answer how many
  //   of its bytes the follower holds; `data` is the chunk; `done` marks the last one.
  // kAppendResponse: accepted, `index` is the last index known to match; rejected,
  //   `index` is the rejected kAppend's index and (reject_hint, log_term) the
  //   follower's guess of the last index that can match (the leader skips a whole
  //   term per round trip).
  Term log_term = 0;
  Index index = 0;
  std::vector<Entry> entries;
  Index commit = 0;  // kAppend, kHeartbeat: what the receiver may commit
  bool reject = false;
  Index reject_hint = 0;
  // kHeartbeat, kHeartbeatResponse: the read request a leader is confirming (0: none).
  // kVote: kTransferCampaign for a leadership transfer's campaign.
  std::uint64_t context = 0;
  std::string data;   // kSnapshot: the chunk
  bool done = false;  // kSnapshot: the last chunk

  friend bool operator==(const Message&, const Message&) = default;
};

// What a snapshot stands for: the state machine after applying entries 1..index (the
// last of term `term`), with the group's members at that point.
struct SnapshotMetadata {
  Index index = 0;
  Term term = 0;
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  friend bool operator==(const SnapshotMetadata&, const SnapshotMetadata&) = default;
};

// A state machine's snapshot (StateMachine::snapshot()) and what it stands for. An
// index of 0 means none.
struct Snapshot {
  SnapshotMetadata metadata;
  std::string data;

  [[nodiscard]] bool empty() const { return metadata.index == 0; }
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// A read the leader has confirmed (ReadIndex): once the state machine has applied
// `index`, reading it is linearizable for `request`.
struct ReadState {
  std::uint64_t request = 0;
  Index index = 0;

  friend bool operator==(const ReadState&, const ReadState&) = default;
};

// One batch of work for the driver, in this order:
//   0. If `snapshot` is set (one received from the leader), make it durable: the log
//      now starts after its index, and every entry the member held before is void.
//   1. Write `entries` (an entry at index i replaces the log's suffix from i) and
//      `hard_state`, and make them durable (one sync for the batch) when `must_sync`;
//      without it the batch changes only the commit index, which may be written
//      without a sync (a crash may lose it; the leader tells it again).
//   2. Send `messages` at any time, even before step 1 finishes (a leader's own
//      write runs in parallel with replication); send `persisted_messages` only after
//      step 1 is durable: votes and acknowledgements promise what it wrote.
//   3. Restore the state machine from `snapshot`, if set; then apply
//      `committed_entries` in order (each is durable here and on a quorum).
//   4. Call advance().
// `read_states` may be answered once the state machine has applied their index.
struct Ready {
  std::optional<Snapshot> snapshot;     // to persist, then restore the state machine from
  std::optional<HardState> hard_state;  // set when it changed
  bool must_sync = false;               // a snapshot, entries, or a new term or vote
  std::vector<Entry> entries;
  std::vector<Message> messages;
  std::vector<Message> persisted_messages;
  std::vector<Entry> committed_entries;
  std::vector<ReadState> read_states;

  [[nodiscard]] bool empty() const {
    return !snapshot && !hard_state && entries.empty() && messages.empty() &&
           persisted_messages.empty() && committed_entries.empty() && read_states.empty();
  }
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_TYPES_H_
