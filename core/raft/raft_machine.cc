#include "distkit/core/raft/raft_machine.h"

#include <algorithm>
#include <functional>
#include <set>
#include <utility>

#include "distkit/core/raft/codec.h"

namespace distkit::raft {

namespace {

// Config::seed, or (0) one of the member's own, so that members configured alike do not
// time out in step.
std::uint64_t election_seed(const Config& config) {
  std::uint64_t state = config.id;
  return config.seed != 0 ? config.seed : splitmix64_step(state);
}

}  // namespace

std::string_view to_string(MessageType type) {
  switch (type) {
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResponse";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResponse";
    case MessageType::kAppend:
      return "Append";
    case MessageType::kAppendResponse:
      return "AppendResponse";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResponse:
      return "HeartbeatResponse";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
    case MessageType::kSnapshot:
      return "Snapshot";
    case MessageType::kSnapshotResponse:
      return "SnapshotResponse";
  }
  return "?";
}

std::string_view to_string(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

Status Config::validate() const {
  if (id == kNobody) return invalid_argument_error("raft config: id must not be 0");
  if (voters.empty()) return invalid_argument_error("raft config: no voters");
  std::set<NodeId> seen;
  for (const std::vector<NodeId>* list : {&voters, &learners}) {
    for (NodeId v : *list) {
      if (v == kNobody) return invalid_argument_error("raft config: member id 0");
      if (!seen.insert(v).second)
        return invalid_argument_error("raft config: member " + std::to_string(v) + " listed twice");
    }
  }
  if (!seen.contains(id))
    return invalid_argument_error("raft config: id " + std::to_string(id) +
                                  " is not among the members");
  if (heartbeat_tick <= 0)
    return invalid_argument_error("raft config: heartbeat_tick must be positive");
  if (election_tick <= heartbeat_tick)
    return invalid_argument_error("raft config: election_tick must exceed heartbeat_tick");
  if (max_inflight == 0) return invalid_argument_error("raft config: max_inflight must be >= 1");
  if (max_snapshot_chunk_bytes == 0 || max_snapshot_chunk_bytes > kMaxEntryBytes)
    return invalid_argument_error("raft config: max_snapshot_chunk_bytes must be in [1, " +
                                  std::to_string(kMaxEntryBytes) + "]");
  if (lease_reads && !check_quorum)
    return invalid_argument_error("raft config: lease_reads needs check_quorum");
  if (!(max_clock_drift >= 0 && max_clock_drift < 1))
    return invalid_argument_error("raft config: max_clock_drift must be in [0, 1)");
  return Status();
}

namespace {

// The members a snapshot records, sorted.
ConfState conf_of(const SnapshotMetadata& snapshot) {
  ConfState conf{snapshot.voters, snapshot.learners};
  std::sort(conf.voters.begin(), conf.voters.end());
  std::sort(conf.learners.begin(), conf.learners.end());
  return conf;
}

Status validate_durable(const Config& config, const DurableState& d) {
  const SnapshotMetadata& snap = d.snapshot.metadata;
  if ((snap.index == 0) != (snap.term == 0))
    return invalid_argument_error("raft durable state: a snapshot of index " +
                                  std::to_string(snap.index) + " and term " +
                                  std::to_string(snap.term));
  if (snap.index != 0 && snap.voters.empty())
    return invalid_argument_error("raft durable state: a snapshot without voters");
  Term previous = snap.term;
  for (std::size_t i = 0; i < d.entries.size(); ++i) {
    const Entry& e = d.entries[i];
    if (e.index != snap.index + i + 1)
      return invalid_argument_error("raft durable state: entry " +
                                    std::to_string(snap.index + i + 1) + " has index " +
                                    std::to_string(e.index));
    if (e.term < previous || e.term == 0)
      return invalid_argument_error("raft durable state: entry " + std::to_string(e.index) +
                                    " has term " + std::to_string(e.term) + " after term " +
                                    std::to_string(previous));
    previous = e.term;
  }
  if (previous > d.hard_state.term)
    return invalid_argument_error("raft durable state: the log's last term " +
                                  std::to_string(previous) + " is past the hard state's term " +
                                  std::to_string(d.hard_state.term));
  const Index last = snap.index + d.entries.size();
  if (d.hard_state.commit > last)
    return invalid_argument_error("raft durable state: commit " +
                                  std::to_string(d.hard_state.commit) + " is past the log's end " +
                                  std::to_string(last));
  if (d.applied > std::max(d.hard_state.commit, snap.index))
    return invalid_argument_error("raft durable state: applied " + std::to_string(d.applied) +
                                  " is past commit " + std::to_string(d.hard_state.commit));
  (void)config;
  return Status();
}

// Whether a message of this type must wait until the state it follows is durable.
bool needs_persistence(const Message& m, Term durable_term, Mutation mutation) {
  if (mutation == Mutation::kAcknowledgeBeforePersisting && m.type == MessageType::kAppendResponse)
    return false;
  if (mutation == Mutation::kVoteBeforePersisting && m.type == MessageType::kVoteResponse)
    return false;
  switch (m.type) {
    case MessageType::kVote:            // the candidate's own term and vote
    case MessageType::kVoteResponse:    // the vote given
    case MessageType::kAppendResponse:  // the entries acknowledged
      return true;
    case MessageType::kPreVote:  // `term` is hypothetical; nothing was changed
      return false;
    case MessageType::kPreVoteResponse:
      return m.reject && m.term > durable_term;
    default:
      // Never speak in a term that a crash could take back.
      return m.term > durable_term;
  }
}

}  // namespace

Result<RaftMachine> RaftMachine::create(Config config, DurableState durable) {
  DISTKIT_RETURN_IF_ERROR(config.validate());
  DISTKIT_RETURN_IF_ERROR(validate_durable(config, durable));
  std::sort(config.voters.begin(), config.voters.end());
  std::sort(config.learners.begin(), config.learners.end());
  return RaftMachine(std::move(config), std::move(durable));
}

RaftMachine::RaftMachine(Config config, DurableState durable)
    : config_(std::move(config)),
      rng_(election_seed(config_)),
      log_(std::move(durable.entries), durable.snapshot.metadata.index,
           durable.snapshot.metadata.term),
      snapshot_(durable.snapshot.metadata),
      term_(durable.hard_state.term),
      vote_(durable.hard_state.vote),
      // The snapshot holds committed entries only.
      commit_(std::max(durable.hard_state.commit, snapshot_.index)),
      applied_(std::max(durable.applied, snapshot_.index)),
      durable_(log_.last_index()),
      handed_(log_.last_index()),
      durable_hard_state_(durable.hard_state),
      outstanding_applied_(applied_) {
  if (durable.snapshot.empty()) {
    base_conf_ = ConfState{config_.voters, config_.learners};
  } else {
    snapshot_bytes_ = std::make_shared<const std::string>(encode_snapshot(durable.snapshot));
    base_conf_ = conf_of(snapshot_);
  }
  for (Index i = log_.first_index(); i <= log_.last_index(); ++i) {
    if (log_.at(i).type == EntryType::kConfChange) conf_entries_.push_back(i);
  }
  recompute_conf();
  started_term_ = term_;
  reset_randomized_timeout();
}

ConfState RaftMachine::conf_at(Index index) const {
  ConfState conf = base_conf_;
  for (Index i : conf_entries_) {
    if (i > index) break;
    Result<ConfChange> change = decode_conf_change(log_.at(i).data);
    // Each was checked when proposed, against the same members.
    if (change.ok()) (void)apply_conf_change(conf, *change);
  }
  return conf;
}

void RaftMachine::recompute_conf() {
  conf_ = conf_at(log_.last_index());
}

void RaftMachine::append_entries(std::span<const Entry> entries) {
  if (entries.empty()) return;
  const Index first = entries.front().index;
  bool changed = false;
  while (!conf_entries_.empty() && conf_entries_.back() >= first) {
    conf_entries_.pop_back();  // a change that is replaced is undone
    changed = true;
  }
  log_.append(entries);
  for (const Entry& e : entries) {
    if (e.type != EntryType::kConfChange) continue;
    conf_entries_.push_back(e.index);
    changed = true;
  }
  // Membership changes are rare: the common append touches neither the members nor the
  // leader's progress.
  if (!changed) return;
  recompute_conf();
  if (role_ == Role::kLeader) sync_progress();
}

void RaftMachine::sync_progress() {
  // A member a pending change removes is still sent the log until the change commits,
  // so it learns that it was removed (and does not campaign).
  ConfState committed;
  if (!conf_entries_.empty() && conf_entries_.back() > commit_) committed = conf_at(commit_);
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (it->first != config_.id && !conf_.is_member(it->first) && !committed.is_member(it->first)) {
      it = progress_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::vector<NodeId>* list : {&conf_.voters, &conf_.learners}) {
    for (NodeId m : *list) {
      if (m == config_.id || progress_.contains(m)) continue;
      Progress& p = progress_[m];
      p.next = log_.last_index() + 1;
      p.match = 0;
    }
  }
  if (lead_transferee_ != kNobody && !conf_.is_voter(lead_transferee_)) {
    lead_transferee_ = kNobody;  // its successor left the voters
    transfer_elapsed_ = 0;
  }
}

Result<Index> RaftMachine::propose_conf_change(ConfChange change) {
  if (role_ != Role::kLeader) return not_leader_error();
  if (lead_transferee_ != kNobody)
    return unavailable_error("raft: leadership is being transferred to " +
                             std::to_string(lead_transferee_));
  if (!committed_in_term() && config_.mutation != Mutation::kNoSingleServerFix)
    return unavailable_error(
        "raft: a new leader changes membership only once an entry of its term has committed");
  if (!conf_entries_.empty() && conf_entries_.back() > commit_)
    return failed_precondition_error("raft: the membership change at index " +
                                     std::to_string(conf_entries_.back()) +
                                     " is not committed yet");
  if (change.type == ConfChangeType::kRemove && change.node == config_.id)
    return failed_precondition_error(
        "raft: the leader cannot remove itself; transfer leadership first");
  ConfState next = conf_;
  DISTKIT_RETURN_IF_ERROR(apply_conf_change(next, change));
  std::vector<Entry> one;
  one.push_back(Entry{.type = EntryType::kConfChange, .data = encode_conf_change(change)});
  append_as_leader(std::move(one));
  appends_pending_ = true;
  return log_.last_index();
}

const Progress* RaftMachine::progress(NodeId member) const {
  auto it = progress_.find(member);
  return it == progress_.end() ? nullptr : &it->second;
}

void RaftMachine::reset_randomized_timeout() {
  randomized_timeout_ =
      config_.election_tick + static_cast<int>(rng_.next_u64() % config_.election_tick);
}

void RaftMachine::reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNobody;
  }
  leader_ = kNobody;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_timeout();
  votes_.clear();
  progress_.clear();
  uncommitted_bytes_ = 0;
  appends_pending_ = false;
  heartbeat_round_ = 0;
  round_sent_at_.clear();
  round_acked_.clear();
  lease_until_ = 0;
  lead_transferee_ = kNobody;
  transfer_elapsed_ = 0;
  pending_reads_.clear();
  reads_before_first_commit_.clear();
}

void RaftMachine::become_follower(Term term, NodeId leader) {
  reset(term);
  leader_ = leader;
  role_ = Role::kFollower;
}

void RaftMachine::become_pre_candidate() {
  // Neither the term nor the vote changes: a pre-vote disturbs no one.
  votes_.clear();
  leader_ = kNobody;
  role_ = Role::kPreCandidate;
}

void RaftMachine::become_candidate() {
  reset(term_ + 1);
  vote_ = config_.id;
  role_ = Role::kCandidate;
}

void RaftMachine::become_leader() {
  reset(term_);
  leader_ = config_.id;
  role_ = Role::kLeader;
  sync_progress();
  progress_[config_.id].match = durable_;
  progress_[config_.id].recent_active = true;
  // An entry of this term, so that what earlier leaders left commits (Figure 8).
  append_as_leader({Entry{.type = EntryType::kNoOp}});
}

void RaftMachine::campaign() {
  if (role_ == Role::kLeader || !is_voter(config_.id)) return;
  start_election(config_.pre_vote);
}

void RaftMachine::start_election(bool pre_vote, bool transfer) {
  Term vote_term;
  if (pre_vote) {
    become_pre_candidate();
    vote_term = term_ + 1;
  } else {
    become_candidate();
    vote_term = term_;
  }
  const MessageType type = pre_vote ? MessageType::kPreVote : MessageType::kVote;
  if (poll(config_.id, true) > 0) {  // a group of one
    if (pre_vote) {
      start_election(false);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId v : conf_.voters) {
    if (v == config_.id) continue;
    send(Message{.type = type,
                 .to = v,
                 .term = vote_term,
                 .log_term = log_.last_term(),
                 .index = log_.last_index(),
                 .context = transfer ? kTransferCampaign : 0});
  }
}

int RaftMachine::poll(NodeId from, bool granted) {
  if (is_voter(from)) votes_.try_emplace(from, granted);
  std::size_t yes = 0, no = 0;
  for (const auto& [id, g] : votes_) {
    if (is_voter(id)) (g ? yes : no) += 1;
  }
  if (yes >= quorum()) return 1;
  if (no > conf_.voters.size() - quorum()) return -1;
  return 0;
}

bool RaftMachine::in_lease() const {
  if (!config_.check_quorum) return false;
  // Restarted (it has a term): it may have been in a leader's lease when it went down.
  if (config_.lease_reads && started_term_ > 0 &&
      ticks_ < static_cast<std::uint64_t>(config_.election_tick))
    return true;
  return leader_ != kNobody && election_elapsed_ < config_.election_tick;
}

bool RaftMachine::lease_valid() const {
  return config_.lease_reads && role_ == Role::kLeader && ticks_ < lease_until_ &&
         lead_transferee_ == kNobody && committed_in_term();
}

void RaftMachine::extend_lease(NodeId from, std::uint64_t round) {
  std::uint64_t& acked = round_acked_[from];
  acked = std::max(acked, round);
  // The latest round a quorum (this leader included) has acknowledged.
  std::vector<std::uint64_t> rounds{heartbeat_round_};
  for (NodeId v : conf_.voters) {
    if (v == config_.id) continue;
    auto it = round_acked_.find(v);
    rounds.push_back(it == round_acked_.end() ? 0 : it->second);
  }
  std::sort(rounds.begin(), rounds.end(), std::greater<>());
  const std::uint64_t quorum_round = rounds[quorum() - 1];
  auto sent = round_sent_at_.find(quorum_round);
  if (sent == round_sent_at_.end()) return;
  const double d = config_.max_clock_drift;
  const auto lease = static_cast<std::uint64_t>(config_.election_tick * (1 - d) / (1 + d));
  lease_until_ = std::max(lease_until_, sent->second + lease);
  round_sent_at_.erase(round_sent_at_.begin(), sent);  // older rounds no longer matter
}

void RaftMachine::tick() {
  ++ticks_;
  if (role_ == Role::kLeader) {
    ++heartbeat_elapsed_;
    ++election_elapsed_;
    if (lead_transferee_ != kNobody && ++transfer_elapsed_ >= config_.election_tick) {
      // The successor did not take over in an election timeout: lead on.
      lead_transferee_ = kNobody;
      transfer_elapsed_ = 0;
    }
    if (election_elapsed_ >= config_.election_tick) {
      election_elapsed_ = 0;
      if (config_.check_quorum) {
        check_quorum_round();
        if (role_ != Role::kLeader) return;
      }
    }
    if (heartbeat_elapsed_ >= config_.heartbeat_tick) {
      heartbeat_elapsed_ = 0;
      broadcast_heartbeat();
    }
    return;
  }
  ++election_elapsed_;
  if (election_elapsed_ >= randomized_timeout_) {
    election_elapsed_ = 0;
    if (is_voter(config_.id)) start_election(config_.pre_vote);  // learners never campaign
  }
}

void RaftMachine::check_quorum_round() {
  std::size_t active = 0;
  for (auto& [id, p] : progress_) {
    if (is_voter(id) && (id == config_.id || p.recent_active)) ++active;
    if (id != config_.id) p.recent_active = false;
  }
  if (active < quorum()) become_follower(term_, kNobody);
}

Status RaftMachine::validate_message(const Message& m) const {
  if (m.to != config_.id)
    return invalid_argument_error("raft: message for " + std::to_string(m.to) + " reached " +
                                  std::to_string(config_.id));
  // A sender outside this member's view of the group is fine: a change may not have
  // reached it yet. Answers from non-members are not counted.
  if (m.from == config_.id || m.from == kNobody)
    return invalid_argument_error("raft: message from " + std::to_string(m.from) + " to " +
                                  std::to_string(config_.id));
  if (m.term == 0) return invalid_argument_error("raft: message with term 0");
  const bool names_an_entry = m.type == MessageType::kAppend || m.type == MessageType::kVote ||
                              m.type == MessageType::kPreVote || m.type == MessageType::kSnapshot;
  if (m.type == MessageType::kSnapshot && m.index == 0)
    return invalid_argument_error("raft: a snapshot of index 0 from " + std::to_string(m.from));
  // (index, log_term) names an entry: index 0 has term 0, every other a term >= 1, and
  // none is past the sender's term.
  if (names_an_entry && ((m.index == 0) != (m.log_term == 0) || m.log_term > m.term))
    return invalid_argument_error(
        "raft: " + std::string(to_string(m.type)) + " from " + std::to_string(m.from) +
        " names entry (" + std::to_string(m.index) + ", term " + std::to_string(m.log_term) + ")");
  if (m.type == MessageType::kAppend) {
    Term previous = m.log_term;
    for (std::size_t i = 0; i < m.entries.size(); ++i) {
      const Entry& e = m.entries[i];
      if (e.index != m.index + 1 + i || e.term == 0 || e.term < previous || e.term > m.term ||
          e.type > EntryType::kConfChange)
        return invalid_argument_error("raft: append from " + std::to_string(m.from) +
                                      " with malformed entry at position " + std::to_string(i));
      previous = e.term;
    }
  }
  return Status();
}

Status RaftMachine::step(const Message& m) {
  DISTKIT_RETURN_IF_ERROR(validate_message(m));
  const bool vote_request = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
  if (m.term > term_) {
    const bool transfer = m.type == MessageType::kVote && m.context == kTransferCampaign;
    if (vote_request && in_lease() && !transfer) {
      // A leader is alive (as far as this member knows): a member that was cut off
      // must not depose it. (Unless the leader itself asked for the campaign.)
      return Status();
    }
    if (m.type == MessageType::kPreVote) {
      // Answered below without changing the term.
    } else if (m.type == MessageType::kPreVoteResponse && !m.reject) {
      // Granted for our future term: counted below.
    } else {
      const bool from_leader = m.type == MessageType::kAppend ||
                               m.type == MessageType::kHeartbeat ||
                               m.type == MessageType::kSnapshot;
      become_follower(m.term, from_leader ? m.from : kNobody);
    }
  } else if (m.term < term_) {
    if ((config_.check_quorum || config_.pre_vote) &&
        (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
         m.type == MessageType::kSnapshot)) {
      // A deposed leader that cannot hear higher terms through votes (pre-vote and
      // leases hold them back) learns of ours from this answer.
      send(Message{.type = MessageType::kAppendResponse, .to = m.from, .term = term_});
    } else if (m.type == MessageType::kPreVote) {
      send(Message{
          .type = MessageType::kPreVoteResponse, .to = m.from, .term = term_, .reject = true});
    }
    return Status();
  }

  if (vote_request) {
    handle_vote_request(m);
    return Status();
  }
  switch (role_) {
    case Role::kLeader:
      step_leader(m);
      break;
    case Role::kPreCandidate:
    case Role::kCandidate:
      step_candidate(m);
      break;
    case Role::kFollower:
      step_follower(m);
      break;
  }
  return Status();
}

void RaftMachine::handle_vote_request(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  const bool can_vote =
      vote_ == m.from || (vote_ == kNobody && leader_ == kNobody) || (pre && m.term > term_);
  const MessageType answer = pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  if (can_vote && log_.is_up_to_date(m.index, m.log_term)) {
    // A granted pre-vote answers in the candidate's future term, so it counts it.
    send(Message{.type = answer, .to = m.from, .term = m.term});
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    send(Message{.type = answer, .to = m.from, .term = term_, .reject = true});
  }
}

void RaftMachine::step_candidate(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      become_follower(m.term, m.from);
      handle_append(m);
      return;
    case MessageType::kHeartbeat:
      become_follower(m.term, m.from);
      handle_heartbeat(m);
      return;
    case MessageType::kSnapshot:
      become_follower(m.term, m.from);
      handle_snapshot(m);
      return;
    case MessageType::kPreVoteResponse:
    case MessageType::kVoteResponse: {
      const bool mine = (role_ == Role::kPreCandidate) == (m.type == MessageType::kPreVoteResponse);
      if (!mine) return;  // an answer to an earlier phase
      // A grant for an earlier pre-vote (delayed or duplicated) is not a grant for this
      // one: the hypothetical term must be ours + 1.
      if (role_ == Role::kPreCandidate && !m.reject && m.term != term_ + 1) return;
      const int result = poll(m.from, !m.reject);
      if (result > 0) {
        if (role_ == Role::kPreCandidate) {
          start_election(false);
        } else {
          become_leader();
          broadcast_append();
        }
      } else if (result < 0) {
        become_follower(term_, kNobody);
      }
      return;
    }
    default:
      return;
  }
}

void RaftMachine::step_follower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_append(m);
      return;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_heartbeat(m);
      return;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_snapshot(m);
      return;
    case MessageType::kTimeoutNow:
      // The leader hands over: campaign at once, without pre-vote (the leader, which
      // would have answered no, asked for it).
      if (is_voter(config_.id)) start_election(false, /*transfer=*/true);
      return;
    default:
      return;  // late answers to a campaign or to a leadership this member lost
  }
}

void RaftMachine::truncated_at(Index first) {
  if (first <= handed_) {
    handed_ = first - 1;
    if (outstanding_ && (outstanding_truncated_ == 0 || first < outstanding_truncated_))
      outstanding_truncated_ = first;
  }
  // The durable copy of the replaced entries is superseded once the next Ready is
  // durable; until then they do not count as this member's log.
  durable_ = std::min(durable_, first - 1);
}

void RaftMachine::handle_append(const Message& m) {
  if (m.index < commit_) {
    // Already committed here: acknowledge what is known to match.
    send(Message{
        .type = MessageType::kAppendResponse, .to = m.from, .term = term_, .index = commit_});
    return;
  }
  if (log_.matches(m.index, m.log_term)) {
    const Index last_new = m.index + m.entries.size();
    const Index conflict = log_.find_conflict(m.entries);
    // conflict > m.index >= commit_: a committed entry is never replaced.
    if (conflict != 0) {
      const std::size_t skip = conflict - (m.index + 1);
      const std::span<const Entry> fresh(m.entries.begin() + static_cast<std::ptrdiff_t>(skip),
                                         m.entries.end());
      if (conflict <= log_.last_index()) truncated_at(conflict);
      append_entries(fresh);
    }
    commit_to(std::min(m.commit, last_new));
    send(Message{
        .type = MessageType::kAppendResponse, .to = m.from, .term = term_, .index = last_new});
    return;
  }
  const auto [hint_index, hint_term] =
      log_.find_conflict_by_term(std::min(m.index, log_.last_index()), m.log_term);
  send(Message{.type = MessageType::kAppendResponse,
               .to = m.from,
               .term = term_,
               .log_term = hint_term,
               .index = m.index,
               .reject = true,
               .reject_hint = hint_index});
}

void RaftMachine::handle_heartbeat(const Message& m) {
  // The leader sends min(match, commit): never past what this log is known to share.
  if (m.commit <= log_.last_index()) commit_to(m.commit);
  // `index` carries the leader's heartbeat round (lease reads): echoed.
  send(Message{.type = MessageType::kHeartbeatResponse,
               .to = m.from,
               .term = term_,
               .index = m.index,
               .context = m.context});
}

void RaftMachine::commit_to(Index index) {
  if (index > commit_) commit_ = index;
}

void RaftMachine::step_leader(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& p = it->second;
  switch (m.type) {
    case MessageType::kAppendResponse:
      p.recent_active = true;
      handle_append_response(m);
      return;
    case MessageType::kSnapshotResponse:
      p.recent_active = true;
      handle_snapshot_response(m);
      return;
    case MessageType::kHeartbeatResponse:
      p.recent_active = true;
      // A snapshot chunk in flight is sent again only once it looks lost: a fresh
      // copy per heartbeat would start a new stream of chunks each time.
      if (p.state != Progress::State::kSnapshot ||
          ticks_ - p.chunk_sent_at >= static_cast<std::uint64_t>(config_.election_tick) / 2)
        p.probe_sent = false;
      if (m.context != 0) release_reads_confirmed_by(m.from, m.context);
      if (config_.lease_reads && m.index != 0) extend_lease(m.from, m.index);
      if (p.match >= log_.last_index()) return;
      if (p.state == Progress::State::kReplicate && window_full(p) && log_.term(p.next - 1)) {
        // The window is full and perhaps its appends were lost: an empty append at the
        // window's end is acknowledged (freeing it) or rejected (back to probe). The
        // window itself is left alone, so a slow follower is never sent more than it.
        send(Message{.type = MessageType::kAppend,
                     .to = m.from,
                     .term = term_,
                     .log_term = *log_.term(p.next - 1),
                     .index = p.next - 1,
                     .commit = commit_});
        return;
      }
      send_append(m.from);
      return;
    default:
      return;
  }
}

void RaftMachine::handle_append_response(const Message& m) {
  Progress& p = progress_[m.from];
  if (m.reject) {
    Index probe = m.reject_hint;
    // Where this log can check terms; before its start, the follower's word (it needs
    // the snapshot then anyway).
    if (m.log_term > 0 && m.reject_hint > log_.snapshot_index())
      probe = log_.find_conflict_by_term(m.reject_hint, m.log_term).first;
    bool moved = false;
    if (p.state == Progress::State::kReplicate) {
      if (m.index > p.match) {  // else a stale rejection
        p.state = Progress::State::kProbe;
        clear_inflight(p);
        p.next = p.match + 1;
        moved = true;
      }
    } else if (p.next - 1 == m.index) {  // else a stale rejection
      // Rejected at or below what it acknowledged: its storage lost synced entries (a
      // lying fsync, a replaced disk). Resending what it rejects would spin forever;
      // start over from what it says it holds.
      if (m.index <= p.match) p.match = std::min(p.match, probe);
      p.next = std::max(std::min(m.index, probe + 1), p.match + 1);
      p.probe_sent = false;
      moved = true;
    }
    if (moved) send_append(m.from);
    return;
  }
  if (m.index > log_.last_index()) return;  // acknowledges entries this leader never had
  bool updated = false;
  if (p.match < m.index) {
    p.match = m.index;
    updated = true;
    p.probe_sent = false;
  }
  p.next = std::max(p.next, m.index + 1);
  const bool snapshot_done = p.state == Progress::State::kSnapshot && p.match >= p.snapshot_index;
  if ((p.state == Progress::State::kProbe && updated) || snapshot_done) {
    p.state = Progress::State::kReplicate;
    p.snapshot_bytes = nullptr;
    p.probe_sent = false;
    p.next = p.match + 1;
    clear_inflight(p);
  } else if (p.state == Progress::State::kReplicate) {
    while (!p.inflight.empty() && p.inflight.front().last <= m.index) {
      p.inflight_bytes -= p.inflight.front().bytes;
      p.inflight.pop_front();
    }
  }
  if (updated && maybe_commit()) {
    broadcast_append();
  } else if (p.sent_commit < std::min(commit_, p.next - 1)) {
    // It holds entries committed since it was last told (a commit broadcast skips a
    // paused follower): tell it now, not at the next heartbeat. Found by the
    // interaction scripts.
    send_append(m.from);
  }
  // Fill the window (the broadcast sent at most one append to this follower).
  while (send_append(m.from, false)) {
  }
  if (m.from == lead_transferee_ && p.match == log_.last_index()) send_timeout_now(m.from);
}

bool RaftMachine::window_full(const Progress& p) const {
  return p.inflight.size() >= config_.max_inflight ||
         (config_.max_inflight_bytes > 0 && p.inflight_bytes >= config_.max_inflight_bytes);
}

void RaftMachine::clear_inflight(Progress& p) {
  p.inflight.clear();
  p.inflight_bytes = 0;
}

void RaftMachine::report_unreachable(NodeId member) {
  if (role_ != Role::kLeader || member == config_.id) return;
  auto it = progress_.find(member);
  if (it == progress_.end() || it->second.state != Progress::State::kReplicate) return;
  Progress& p = it->second;
  p.state = Progress::State::kProbe;
  clear_inflight(p);
  p.next = p.match + 1;
  p.probe_sent = false;
}

void RaftMachine::report_snapshot_failure(NodeId member) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(member);
  if (it == progress_.end() || it->second.state != Progress::State::kSnapshot) return;
  it->second.probe_sent = false;
}

Status RaftMachine::transfer_leader(NodeId to) {
  if (role_ != Role::kLeader) return not_leader_error();
  if (!is_voter(to))
    return invalid_argument_error("raft: cannot transfer leadership to non-voter " +
                                  std::to_string(to));
  if (to == config_.id || to == lead_transferee_) return Status();
  lead_transferee_ = to;
  transfer_elapsed_ = 0;
  if (progress_[to].match == log_.last_index()) {
    send_timeout_now(to);
  } else {
    send_append(to);  // it takes over once it has caught up
  }
  return Status();
}

void RaftMachine::send_snapshot_chunk(NodeId to, Progress& p) {
  // A transfer goes on with the snapshot it started with; one not yet begun takes the
  // newest.
  if (p.snapshot_bytes == nullptr ||
      (p.snapshot_offset == 0 && p.snapshot_index != snapshot_.index)) {
    p.snapshot_index = snapshot_.index;
    p.snapshot_term = snapshot_.term;
    p.snapshot_bytes = snapshot_bytes_;
    p.snapshot_offset = 0;
  }
  const std::string& bytes = *p.snapshot_bytes;
  const std::size_t offset =
      static_cast<std::size_t>(std::min<std::uint64_t>(p.snapshot_offset, bytes.size()));
  const std::size_t n = std::min(config_.max_snapshot_chunk_bytes, bytes.size() - offset);
  p.probe_sent = true;
  p.chunk_end = offset + n;
  p.chunk_sent_at = ticks_;
  send(Message{.type = MessageType::kSnapshot,
               .to = to,
               .term = term_,
               .log_term = p.snapshot_term,
               .index = p.snapshot_index,
               .commit = commit_,
               .context = offset,
               .data = bytes.substr(offset, n),
               .done = offset + n == bytes.size()});
}

void RaftMachine::handle_snapshot_response(const Message& m) {
  Progress& p = progress_[m.from];
  if (p.state != Progress::State::kSnapshot || m.index != p.snapshot_index) return;  // stale
  p.snapshot_offset = m.context;
  // Only the answer to the chunk in flight sends the next one (one stream); other
  // answers (to a duplicate, or saying what the follower holds) only move the offset,
  // and a lost chunk is sent again from there on a heartbeat answer.
  if (!p.probe_sent || m.context != p.chunk_end) return;
  p.probe_sent = false;
  // All of it there: the follower acknowledges with an append answer once it is durable.
  if (p.snapshot_offset < p.snapshot_bytes->size()) send_snapshot_chunk(m.from, p);
}

void RaftMachine::handle_snapshot(const Message& m) {
  const auto answer = [&](std::uint64_t have) {
    send(Message{.type = MessageType::kSnapshotResponse,
                 .to = m.from,
                 .term = term_,
                 .log_term = m.log_term,
                 .index = m.index,
                 .context = have});
  };
  if (m.index <= commit_) {
    // Stale: it holds all of that, committed. The leader carries on from its commit.
    send(Message{
        .type = MessageType::kAppendResponse, .to = m.from, .term = term_, .index = commit_});
    return;
  }
  bool same = incoming_index_ == m.index && incoming_term_ == m.log_term;
  if (m.context == 0 && !(same && !incoming_bytes_.empty())) {  // not a duplicate first chunk
    incoming_index_ = m.index;
    incoming_term_ = m.log_term;
    incoming_bytes_.clear();
    same = true;
  }
  if (!same || m.context != incoming_bytes_.size()) {
    answer(same ? incoming_bytes_.size() : 0);  // not the chunk expected: say what it has
    return;
  }
  incoming_bytes_ += m.data;
  if (!m.done) {
    answer(incoming_bytes_.size());
    return;
  }
  Result<Snapshot> snapshot = decode_snapshot(incoming_bytes_);
  std::string bytes = std::move(incoming_bytes_);
  incoming_bytes_.clear();
  incoming_index_ = 0;
  if (!snapshot.ok() || snapshot->metadata.index != m.index ||
      snapshot->metadata.term != m.log_term || snapshot->metadata.voters.empty()) {
    answer(0);  // damaged on the way, or not the snapshot announced: from the start
    return;
  }
  if (!log_.matches(m.index, m.log_term)) {
    restore(std::move(*snapshot));
    snapshot_bytes_ = std::make_shared<const std::string>(std::move(bytes));
  } else {
    // Its log already holds the snapshot's last entry, hence everything before it.
    commit_to(m.index);
  }
  // Sent once the snapshot (or the entries) are durable.
  send(
      Message{.type = MessageType::kAppendResponse, .to = m.from, .term = term_, .index = m.index});
}

void RaftMachine::restore(Snapshot snapshot) {
  const Index index = snapshot.metadata.index;
  const Index committed_before = commit_;
  log_.restore(index, snapshot.metadata.term);
  snapshot_ = snapshot.metadata;
  base_conf_ = conf_of(snapshot_);
  conf_entries_.clear();
  conf_ = base_conf_;
  commit_ = std::max(commit_, index);
  // The entries held before are void but for the committed ones; the snapshot is
  // durable once its Ready is.
  durable_ = std::min(durable_, committed_before);
  handed_ = index;
  if (outstanding_) outstanding_truncated_ = 1;
  snapshot_to_persist_ = std::move(snapshot);
}

Result<Snapshot> RaftMachine::snapshot_at(Index index, std::string data) const {
  if (index > applied_ || index <= log_.snapshot_index() || !log_.term(index))
    return failed_precondition_error("raft: cannot snapshot at " + std::to_string(index) +
                                     " (applied " + std::to_string(applied_) +
                                     ", the log starts after " +
                                     std::to_string(log_.snapshot_index()) + ")");
  const ConfState conf = conf_at(index);
  return Snapshot{.metadata = {.index = index,
                               .term = *log_.term(index),
                               .voters = conf.voters,
                               .learners = conf.learners},
                  .data = std::move(data)};
}

Status RaftMachine::compact(Snapshot snapshot) {
  const SnapshotMetadata& meta = snapshot.metadata;
  if (meta.index <= log_.snapshot_index() || meta.index > applied_ ||
      !log_.matches(meta.index, meta.term))
    return failed_precondition_error(
        "raft: cannot compact to " + std::to_string(meta.index) + " (term " +
        std::to_string(meta.term) + "): the log starts after " +
        std::to_string(log_.snapshot_index()) + ", applied " + std::to_string(applied_));
  snapshot_bytes_ = std::make_shared<const std::string>(encode_snapshot(snapshot));
  snapshot_ = meta;
  base_conf_ = conf_at(meta.index);
  log_.compact(meta.index);
  conf_entries_.erase(conf_entries_.begin(),
                      std::upper_bound(conf_entries_.begin(), conf_entries_.end(), meta.index));
  return Status();
}

void RaftMachine::send_timeout_now(NodeId to) {
  send(Message{.type = MessageType::kTimeoutNow, .to = to, .term = term_});
}

bool RaftMachine::send_append(NodeId to, bool send_if_empty) {
  Progress& p = progress_[to];
  if (p.state != Progress::State::kSnapshot && p.next <= log_.snapshot_index()) {
    // What it needs next is compacted away: it gets the snapshot (S1).
    p.state = Progress::State::kSnapshot;
    clear_inflight(p);
    p.probe_sent = false;
    p.snapshot_index = 0;
    p.snapshot_bytes = nullptr;
  }
  if (p.state == Progress::State::kSnapshot) {
    if (p.probe_sent) return false;
    send_snapshot_chunk(to, p);
    return true;
  }
  const bool paused = p.state == Progress::State::kProbe ? p.probe_sent : window_full(p);
  if (paused) return false;
  const Index previous = p.next - 1;
  // Within the byte window too (at least one entry: it may be larger than the window).
  std::size_t budget = config_.max_append_bytes;
  if (p.state == Progress::State::kReplicate && config_.max_inflight_bytes > 0)
    budget = std::min(budget, config_.max_inflight_bytes - p.inflight_bytes);
  std::vector<Entry> entries = log_.slice(p.next, log_.last_index(), budget);
  if (entries.empty() && !send_if_empty) return false;
  const Index last_sent = entries.empty() ? previous : entries.back().index;
  if (p.state == Progress::State::kReplicate) {
    if (!entries.empty()) {
      p.next = last_sent + 1;
      std::size_t bytes = 0;
      for (const Entry& e : entries)
        bytes += e.data.size();
      p.inflight.push_back({last_sent, bytes});
      p.inflight_bytes += bytes;
    }
  } else {
    p.probe_sent = true;
  }
  // The follower commits up to what this append leaves it holding.
  p.sent_commit = std::max(p.sent_commit, std::min(commit_, last_sent));
  send(Message{.type = MessageType::kAppend,
               .to = to,
               .term = term_,
               .log_term = *log_.term(previous),
               .index = previous,
               .entries = std::move(entries),
               .commit = commit_});
  return true;
}

void RaftMachine::broadcast_append(bool send_if_empty) {
  // Over a copy of the members: progress_ may not be touched while iterating it.
  std::vector<NodeId> to;
  for (const auto& [id, p] : progress_) {
    if (id != config_.id) to.push_back(id);
  }
  for (NodeId v : to)
    send_append(v, send_if_empty);
}

void RaftMachine::broadcast_heartbeat(std::uint64_t context) {
  std::uint64_t round = 0;
  if (config_.lease_reads) {
    round = ++heartbeat_round_;
    round_sent_at_[round] = ticks_;
  }
  for (auto& [v, p] : progress_) {
    if (v == config_.id) continue;
    p.sent_commit = std::max(p.sent_commit, std::min(p.match, commit_));
    send(Message{.type = MessageType::kHeartbeat,
                 .to = v,
                 .term = term_,
                 .index = round,
                 .commit = std::min(p.match, commit_),
                 .context = context});
  }
}

Status RaftMachine::not_leader_error() const {
  return unavailable_error("raft: member " + std::to_string(config_.id) + " is not the leader" +
                           (leader_ == kNobody ? std::string(" (no leader known)")
                                               : "; the leader is " + std::to_string(leader_)));
}

Status RaftMachine::read_index(std::uint64_t request) {
  if (role_ != Role::kLeader) return not_leader_error();
  if (lease_valid()) {
    read_states_.push_back({request, commit_});  // L2: no other leader can exist now
    return Status();
  }
  if (!committed_in_term()) {
    // Until an entry of its term commits, a new leader's commit index may be behind
    // what an earlier leader committed.
    reads_before_first_commit_.push_back(request);
    return Status();
  }
  confirm_read(request);
  return Status();
}

void RaftMachine::confirm_read(std::uint64_t request) {
  if (quorum() == 1 || config_.mutation == Mutation::kReadWithoutQuorum) {
    read_states_.push_back({request, commit_});
    return;
  }
  pending_reads_.push_back({.request = request, .index = commit_, .acks = {config_.id}});
  broadcast_heartbeat(request);
}

void RaftMachine::release_reads_confirmed_by(NodeId from, std::uint64_t request) {
  auto it = std::find_if(pending_reads_.begin(), pending_reads_.end(),
                         [request](const PendingRead& r) { return r.request == request; });
  if (it == pending_reads_.end() || !is_voter(from)) return;
  if (std::find(it->acks.begin(), it->acks.end(), from) == it->acks.end()) it->acks.push_back(from);
  if (it->acks.size() < quorum()) return;
  // A quorum still followed this leader after the read was asked: this read, and every
  // one asked before it, is confirmed.
  const auto end = std::next(it);
  for (auto r = pending_reads_.begin(); r != end; ++r)
    read_states_.push_back({r->request, r->index});
  pending_reads_.erase(pending_reads_.begin(), end);
}

void RaftMachine::start_waiting_reads() {
  if (reads_before_first_commit_.empty() || !committed_in_term()) return;
  std::vector<std::uint64_t> waiting;
  waiting.swap(reads_before_first_commit_);
  for (std::uint64_t request : waiting)
    confirm_read(request);
}

bool RaftMachine::maybe_commit() {
  std::vector<Index> matches;
  for (const auto& [id, p] : progress_) {
    if (is_voter(id)) matches.push_back(p.match);
  }
  if (matches.size() < quorum()) return false;  // the leader itself is no voter
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const Index candidate = matches[quorum() - 1];
  // Only an entry of this term commits by counting (Figure 8).
  const bool own_term =
      log_.term(candidate) == term_ || config_.mutation == Mutation::kCommitEarlierTermsByCounting;
  if (candidate > commit_ && own_term) {
    for (Index i = commit_ + 1; i <= candidate; ++i) {
      // Only this leader's own entries were counted in.
      if (log_.at(i).term != term_) continue;
      const std::size_t size = log_.at(i).data.size();
      uncommitted_bytes_ -= std::min(uncommitted_bytes_, size);
    }
    const Index before = commit_;
    commit_ = candidate;
    // A membership change committed: members it removed are no longer sent to.
    if (std::upper_bound(conf_entries_.begin(), conf_entries_.end(), before) !=
        std::upper_bound(conf_entries_.begin(), conf_entries_.end(), commit_))
      sync_progress();
    start_waiting_reads();
    return true;
  }
  return false;
}

void RaftMachine::append_as_leader(std::vector<Entry> entries) {
  Index index = log_.last_index();
  for (Entry& e : entries) {
    e.term = term_;
    e.index = ++index;
    uncommitted_bytes_ += e.data.size();
  }
  append_entries(entries);
  if (config_.mutation == Mutation::kApplyBeforeDurable) {
    progress_[config_.id].match = log_.last_index();
    (void)maybe_commit();
  }
  // The leader's own entries count once they are durable (advance()).
}

Result<Index> RaftMachine::propose(std::string data) {
  if (role_ != Role::kLeader) return not_leader_error();
  if (lead_transferee_ != kNobody)
    return unavailable_error("raft: leadership is being transferred to " +
                             std::to_string(lead_transferee_));
  if (data.size() > kMaxEntryBytes)
    return invalid_argument_error("raft: a proposal of " + std::to_string(data.size()) +
                                  " bytes is past the limit of " + std::to_string(kMaxEntryBytes));
  if (config_.max_uncommitted_bytes != 0 && uncommitted_bytes_ > 0 &&
      uncommitted_bytes_ + data.size() > config_.max_uncommitted_bytes) {
    return resource_exhausted_error("raft: " + std::to_string(uncommitted_bytes_) +
                                    " bytes proposed and not yet committed");
  }
  std::vector<Entry> one;
  one.push_back(Entry{.data = std::move(data)});
  append_as_leader(std::move(one));
  // Sent with the next Ready: proposals made meanwhile share one append per follower.
  appends_pending_ = true;
  return log_.last_index();
}

void RaftMachine::send(Message m) {
  m.from = config_.id;
  if (needs_persistence(m, durable_hard_state_.term, config_.mutation)) {
    persisted_messages_.push_back(std::move(m));
  } else {
    messages_.push_back(std::move(m));
  }
}

bool RaftMachine::has_ready() const {
  if (outstanding_) return false;
  return snapshot_to_persist_ || appends_pending_ || hard_state() != durable_hard_state_ ||
         log_.last_index() > handed_ || !messages_.empty() || !persisted_messages_.empty() ||
         !read_states_.empty() || std::min(commit_, durable_) > applied_;
}

Ready RaftMachine::ready() {
  Ready rd;
  if (outstanding_) return rd;  // the previous one is not advanced yet
  if (appends_pending_) {
    appends_pending_ = false;
    if (role_ == Role::kLeader) broadcast_append(/*send_if_empty=*/false);
  }
  if (hard_state() != durable_hard_state_) {
    rd.hard_state = hard_state();
    // Only a new commit index need not be synced: a crash may lose it, and the
    // leader tells it again.
    rd.must_sync = rd.hard_state->term != durable_hard_state_.term ||
                   rd.hard_state->vote != durable_hard_state_.vote;
  }
  Index apply_from = applied_ + 1;
  Index applied_with_snapshot = applied_;
  if (snapshot_to_persist_) {
    apply_from = std::max(apply_from, snapshot_to_persist_->metadata.index + 1);
    applied_with_snapshot = std::max(applied_, snapshot_to_persist_->metadata.index);
    rd.snapshot = std::move(snapshot_to_persist_);
    snapshot_to_persist_.reset();
    rd.must_sync = true;
  }
  if (log_.last_index() > handed_) {
    rd.entries = log_.slice(handed_ + 1, log_.last_index(), static_cast<std::size_t>(-1));
    rd.must_sync = true;
  }
  rd.messages = std::move(messages_);
  messages_.clear();
  rd.persisted_messages = std::move(persisted_messages_);
  persisted_messages_.clear();
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  const Index apply_to =
      config_.mutation == Mutation::kApplyBeforeDurable ? commit_ : std::min(commit_, durable_);
  for (Index i = apply_from; i <= apply_to; ++i)
    rd.committed_entries.push_back(log_.at(i));

  outstanding_ = true;
  outstanding_last_ = log_.last_index();
  outstanding_truncated_ = 0;
  outstanding_hard_state_ = hard_state();
  outstanding_applied_ = std::max(applied_with_snapshot, apply_to);
  handed_ = log_.last_index();
  return rd;
}

void RaftMachine::advance() {
  if (!outstanding_) return;
  outstanding_ = false;
  Index now_durable = outstanding_last_;
  if (outstanding_truncated_ != 0) now_durable = std::min(now_durable, outstanding_truncated_ - 1);
  durable_ = std::max(durable_, std::min(now_durable, log_.last_index()));
  durable_hard_state_ = outstanding_hard_state_;
  applied_ = outstanding_applied_;
  if (role_ == Role::kLeader) {
    Progress& self = progress_[config_.id];
    if (durable_ > self.match) {
      self.match = durable_;
      if (maybe_commit()) broadcast_append();
    }
  }
}

}  // namespace distkit::raft
