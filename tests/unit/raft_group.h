// A test driver for RaftMachine: members with a durable image each, a network of
// in-flight messages the test delivers, drops, reorders or duplicates, and crashes
// that lose whatever a member had not made durable. Everything is explicit and
// deterministic; the simulator's driver comes later (docs/raft.md).
#ifndef DISTKIT_TESTS_UNIT_RAFT_GROUP_H_
#define DISTKIT_TESTS_UNIT_RAFT_GROUP_H_

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "distkit/core/raft/raft_machine.h"
#include "distkit/tests/support/applied_log.h"

namespace distkit::raft::testing {

struct Member {
  std::optional<RaftMachine> machine;
  DurableState disk;               // what survives a crash
  std::optional<Ready> in_flight;  // taken, not yet durable
  std::vector<Entry> applied;      // what its state machine applied (or restored), in order
  int snapshots_installed = 0;     // snapshots from the leader
  std::vector<ReadState> reads;    // reads confirmed to it, in order
};

class Group {
 public:
  // Voters 1..n with `base` (id and voters filled in; its learners are members too)
  // and the given durable states.
  explicit Group(int n, Config base = {}, std::map<NodeId, DurableState> disks = {}) : base_(base) {
    for (int i = 1; i <= n; ++i)
      base_.voters.push_back(static_cast<NodeId>(i));
    std::vector<NodeId> all = base_.voters;
    all.insert(all.end(), base_.learners.begin(), base_.learners.end());
    for (NodeId id : all) {
      Member& m = members_[id];
      if (auto it = disks.find(id); it != disks.end()) m.disk = it->second;
      start(id);
    }
  }

  // A member the others do not know yet (it joins by a membership change): it starts
  // as a learner beside the group's voters.
  void add_joiner(NodeId id) {
    Config c = base_;
    c.learners = {id};
    configs_[id] = c;
    members_[id];
    start(id);
  }

  // Observers (the interaction scripts print through them): every Ready as it is
  // taken, every message as it is delivered.
  std::function<void(NodeId, const Ready&)> on_ready;
  std::function<void(const Message&)> on_deliver;

  RaftMachine& operator[](NodeId id) { return *members_.at(id).machine; }
  Member& member(NodeId id) { return members_.at(id); }
  const std::map<NodeId, Member>& members() const { return members_; }
  std::deque<Message>& network() { return network_; }

  // Takes the member's Ready: sends what may leave before persisting, keeps the rest.
  void take_ready(NodeId id) {
    Member& m = members_.at(id);
    if (m.in_flight || !m.machine->has_ready()) return;
    m.in_flight = m.machine->ready();
    if (on_ready) on_ready(id, *m.in_flight);
    for (Message& msg : m.in_flight->messages)
      post(std::move(msg));
  }
  // Makes the taken Ready durable, sends its persisted messages, applies, advances.
  void persist(NodeId id) {
    Member& m = members_.at(id);
    if (!m.in_flight) return;
    Ready& rd = *m.in_flight;
    if (rd.snapshot) {
      m.disk.snapshot = *rd.snapshot;
      m.disk.entries.clear();
    }
    const Index base = m.disk.snapshot.metadata.index;
    if (!rd.entries.empty()) {
      if (rd.entries.front().index > base + m.disk.entries.size() + 1 ||
          rd.entries.front().index <= base)
        step_errors_.push_back("member " + std::to_string(id) + " was handed entry " +
                               std::to_string(rd.entries.front().index) + " after entry " +
                               std::to_string(base + m.disk.entries.size()) + ": a gap");
      m.disk.entries.resize(rd.entries.front().index - base - 1);
      for (const Entry& e : rd.entries)
        m.disk.entries.push_back(e);
    }
    if (rd.hard_state) m.disk.hard_state = *rd.hard_state;
    for (Message& msg : rd.persisted_messages)
      post(std::move(msg));
    if (rd.snapshot) {
      m.applied = decode_applied(rd.snapshot->data);
      ++m.snapshots_installed;
    }
    for (const Entry& e : rd.committed_entries) {
      if (e.index != m.applied.size() + 1) applied_out_of_order_ = true;
      m.applied.push_back(e);
    }
    for (const ReadState& r : rd.read_states)
      m.reads.push_back(r);
    m.in_flight.reset();
    m.machine->advance();
  }
  void process(NodeId id) {
    while (members_.at(id).machine->has_ready() || members_.at(id).in_flight) {
      take_ready(id);
      persist(id);
    }
  }
  void process_all() {
    for (auto& [id, m] : members_) {
      if (m.machine) process(id);
    }
  }

  // Delivers messages (and processes every member) until nothing is left.
  void stabilize() {
    process_all();
    for (int delivered = 0; !network_.empty(); ++delivered) {
      if (delivered == 100'000) {  // a livelock: report it rather than hang
        step_errors_.push_back("stabilize: still delivering after 100000 messages, e.g. " +
                               std::string(to_string(network_.front().type)) + " " +
                               std::to_string(network_.front().from) + "->" +
                               std::to_string(network_.front().to));
        network_.clear();
        return;
      }
      Message msg = std::move(network_.front());
      network_.pop_front();
      deliver(msg);
      process_all();
    }
  }
  void deliver(const Message& msg) {
    if (on_deliver) on_deliver(msg);
    auto it = members_.find(msg.to);
    if (it == members_.end() || !it->second.machine) return;  // no such member, or down
    Member& to = it->second;
    if (Status s = to.machine->step(msg); !s.ok()) step_errors_.push_back(s.to_string());
  }

  void tick(NodeId id, int times = 1) {
    for (int i = 0; i < times; ++i)
      members_.at(id).machine->tick();
  }
  void tick_all(int times = 1) {
    for (int i = 0; i < times; ++i) {
      for (auto& [id, m] : members_) {
        if (m.machine) m.machine->tick();
      }
    }
  }
  // Campaigns on `id` and lets the network settle.
  void elect(NodeId id) {
    members_.at(id).machine->campaign();
    stabilize();
  }
  Result<Index> propose(NodeId id, std::string data) {
    Result<Index> r = members_.at(id).machine->propose(std::move(data));
    stabilize();
    return r;
  }

  // Cuts both directions between a and b.
  void cut(NodeId a, NodeId b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void isolate(NodeId a) {
    for (auto& [id, m] : members_) {
      if (id != a) cut(a, id);
    }
  }
  void heal() { cut_.clear(); }
  // Drops every message for which `drop` is true when it is sent (nullptr: none).
  void set_filter(std::function<bool(const Message&)> drop) { filter_ = std::move(drop); }

  // The member stops; what it had not made durable is lost. Its state machine is
  // rebuilt from the log on restart (applied 0), as an in-memory one would be.
  void crash(NodeId id) {
    Member& m = members_.at(id);
    m.machine.reset();
    m.in_flight.reset();
  }
  void restart(NodeId id) {
    Member& m = members_.at(id);
    m.applied = decode_applied(m.disk.snapshot.data);
    m.disk.applied = 0;
    start(id);
  }

  // The member snapshots its state machine at its applied index and compacts its log
  // (what a driver does every so many entries). Returns the machine's answer.
  Status compact(NodeId id) {
    Member& m = members_.at(id);
    Result<Snapshot> snapshot =
        m.machine->snapshot_at(m.machine->applied_index(), encode_applied(m.applied));
    if (!snapshot.ok()) return snapshot.status();
    const Index index = snapshot->metadata.index;
    const Index base = m.disk.snapshot.metadata.index;
    m.disk.snapshot = *snapshot;
    m.disk.entries.erase(m.disk.entries.begin(),
                         m.disk.entries.begin() + static_cast<std::ptrdiff_t>(index - base));
    return m.machine->compact(std::move(*snapshot));
  }

  const std::vector<std::string>& step_errors() const { return step_errors_; }
  // Messages that promised what their sender had not made durable (P1).
  const std::vector<std::string>& broken_promises() const { return broken_promises_; }
  bool applied_out_of_order() const { return applied_out_of_order_; }
  // Messages the group has posted, by type (dropped ones included).
  int sent(MessageType type) const {
    auto it = sent_.find(type);
    return it == sent_.end() ? 0 : it->second;
  }

  // The one leader with the highest term, or kNobody.
  NodeId leader() const {
    NodeId best = kNobody;
    Term term = 0;
    for (const auto& [id, m] : members_) {
      if (m.machine && m.machine->role() == Role::kLeader && m.machine->term() >= term) {
        best = id;
        term = m.machine->term();
      }
    }
    return best;
  }

 private:
  void start(NodeId id) {
    Config c = configs_.contains(id) ? configs_.at(id) : base_;
    c.id = id;
    c.seed = (base_.seed == 0 ? 1 : base_.seed) * 1000 + id;
    Result<RaftMachine> r = RaftMachine::create(c, members_.at(id).disk);
    if (!r.ok()) {
      step_errors_.push_back(r.status().to_string());
      return;
    }
    members_.at(id).machine.emplace(std::move(*r));
  }
  void post(Message msg) {
    ++sent_[msg.type];
    check_promise(msg);
    if (cut_.contains({msg.from, msg.to})) return;
    if (filter_ && filter_(msg)) return;
    network_.push_back(std::move(msg));
  }

  // A vote, a vote request or an acknowledgement leaves only when what it promises is
  // in the sender's durable image.
  void check_promise(const Message& m) {
    const DurableState& disk = members_.at(m.from).disk;
    const HardState& hs = disk.hard_state;
    std::string broken;
    if (m.type == MessageType::kVoteResponse && !m.reject &&
        !(hs.term > m.term || (hs.term == m.term && hs.vote == m.to)))
      broken = "a vote for " + std::to_string(m.to) + " in term " + std::to_string(m.term);
    if (m.type == MessageType::kVote &&
        !(hs.term > m.term || (hs.term == m.term && hs.vote == m.from)))
      broken = "a vote request in term " + std::to_string(m.term);
    if (m.type == MessageType::kAppendResponse && !m.reject) {
      // The acknowledged entries are the ones on disk: the same last term.
      const Member& sender = members_.at(m.from);
      const Index base = disk.snapshot.metadata.index;
      const bool covered = m.index <= base;
      // (When the sender's log no longer holds the index, a snapshot from the leader
      // replaced it after the acknowledgement was made: what is on disk is what it
      // acknowledged.)
      const std::optional<Term> in_log =
          sender.machine ? sender.machine->log().term(m.index) : std::nullopt;
      const bool same_term = covered || !in_log ||
                             (base + disk.entries.size() >= m.index &&
                              *in_log == disk.entries[m.index - base - 1].term);
      if ((!covered && base + disk.entries.size() < m.index) || !same_term)
        broken = "an acknowledgement of index " + std::to_string(m.index);
    }
    const bool hypothetical_term =
        m.type == MessageType::kPreVote || (m.type == MessageType::kPreVoteResponse && !m.reject);
    if (broken.empty() && !hypothetical_term && m.term > hs.term)
      broken = "a " + std::string(to_string(m.type)) + " in term " + std::to_string(m.term);
    if (!broken.empty())
      broken_promises_.push_back("member " + std::to_string(m.from) + " sent " + broken +
                                 " before it was durable");
  }

  Config base_;
  std::map<NodeId, Config> configs_;  // members whose config is not base_
  std::map<NodeId, Member> members_;
  std::deque<Message> network_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::function<bool(const Message&)> filter_;
  std::vector<std::string> step_errors_;
  std::vector<std::string> broken_promises_;
  std::map<MessageType, int> sent_;
  bool applied_out_of_order_ = false;
};

// Durable state with the given entry terms (index 1.. in order) and hard-state term.
inline DurableState log_of_terms(std::initializer_list<Term> terms, Term hard_term) {
  DurableState d;
  Index i = 0;
  for (Term t : terms)
    d.entries.push_back(Entry{.term = t, .index = ++i});
  d.hard_state.term = hard_term;
  return d;
}

}  // namespace distkit::raft::testing

#endif  // DISTKIT_TESTS_UNIT_RAFT_GROUP_H_
