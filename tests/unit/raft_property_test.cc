// Raft's safety properties over generated schedules: five members, and every step one
// of tick, deliver (any in-flight message: reordering), drop, duplicate, propose, take
// a Ready, make it durable, crash (losing what was not durable), restart, isolate,
// heal, compact (snapshot the state machine and drop the log it covers; followers
// behind get the snapshot in chunks). After every step:
//   - election safety: at most one leader per term, over the whole history;
//   - state machine safety: no two members apply different entries at an index, and
//     each applies in order;
//   - durability: every applied (so committed) entry is durable on a quorum;
//   - promises: no vote, vote request, acknowledgement or message of a term leaves
//     before what it promises is durable (raft_group.h checks each one sent).
// At the end, healed, restarted and every log compacted: one leader, and every member
// applies the same log (liveness). Each deliberately broken machine (Mutation) is caught.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/base/random.h"
#include "distkit/core/raft/raft_machine.h"
#include "tests/unit/raft_group.h"

namespace distkit::raft {
namespace {

using testing::Group;

enum class Act : std::uint8_t {
  kTick,
  kDeliver,
  kDrop,
  kDuplicate,
  kPropose,
  kProcess,  // take a Ready and make it durable at once
  kTake,
  kPersist,
  kCrash,
  kRestart,
  kIsolate,
  kHeal,
  kRead,     // a linearizable read at the member, if it leads
  kCompact,  // snapshot at the applied index, drop the log before it
};

struct Action {
  Act act = Act::kTick;
  NodeId node = 1;
  int pick = 0;  // which in-flight message
};

std::string describe(const std::vector<Action>& actions) {
  static constexpr const char* kNames[] = {"tick",    "deliver", "drop",    "dup",    "propose",
                                           "process", "take",    "persist", "crash",  "restart",
                                           "isolate", "heal",    "read",    "compact"};
  std::string out;
  for (const Action& a : actions) {
    out += kNames[static_cast<int>(a.act)];
    if (a.act != Act::kHeal) out += " " + std::to_string(a.node);
    if (a.act == Act::kDeliver || a.act == Act::kDrop || a.act == Act::kDuplicate)
      out += "#" + std::to_string(a.pick);
    out += "; ";
  }
  return out;
}

// The mix: mostly message traffic and Readies processed whole, some ticks, and rarer
// Readies taken and made durable apart (the window a crash can fall into), failures.
Action action_from(int roll, NodeId node, int pick) {
  Act act;
  if (roll < 32)
    act = Act::kDeliver;
  else if (roll < 45)
    act = Act::kTick;
  else if (roll < 47)
    act = Act::kCompact;
  else if (roll < 70)
    act = Act::kProcess;
  else if (roll < 74)
    act = Act::kTake;
  else if (roll < 78)
    act = Act::kPersist;
  else if (roll < 83)
    act = Act::kPropose;
  else if (roll < 86)
    act = Act::kRead;
  else if (roll < 90)
    act = Act::kDrop;
  else if (roll < 92)
    act = Act::kDuplicate;
  else if (roll < 93)
    act = Act::kCrash;
  else if (roll < 97)
    act = Act::kRestart;
  else if (roll < 98)
    act = Act::kIsolate;
  else
    act = Act::kHeal;
  return Action{act, node, pick};
}

constexpr int kMembers = 5;

class Trial {
 public:
  explicit Trial(Mutation mutation, std::uint64_t seed)
      : group_(kMembers,
               Config{.election_tick = 5,
                      .heartbeat_tick = 1,
                      .max_append_bytes = 1,  // one entry per append: the most interleavings
                      .max_inflight = 4,
                      .max_snapshot_chunk_bytes = 256,  // snapshots in several chunks
                      .seed = seed,
                      .mutation = mutation}) {}

  // The first violation, or nullopt.
  std::optional<std::string> play(const std::vector<Action>& actions) {
    for (std::size_t i = 0; i < actions.size(); ++i) {
      apply(actions[i]);
      if (auto v = check()) return "after step " + std::to_string(i + 1) + ": " + *v;
    }
    return converge();
  }

 private:
  bool alive(NodeId id) { return group_.member(id).machine.has_value(); }

  void apply(const Action& a) {
    std::deque<Message>& net = group_.network();
    switch (a.act) {
      case Act::kTick:
        if (alive(a.node)) group_.tick(a.node);
        return;
      case Act::kDeliver:
      case Act::kDrop:
      case Act::kDuplicate: {
        if (net.empty()) return;
        const auto at = net.begin() + static_cast<std::ptrdiff_t>(a.pick % net.size());
        Message m = *at;
        if (a.act == Act::kDuplicate) {
          net.push_back(m);
          return;
        }
        net.erase(at);
        if (a.act == Act::kDeliver) group_.deliver(m);
        return;
      }
      case Act::kPropose:
        if (alive(a.node)) (void)group_[a.node].propose("p" + std::to_string(++proposals_));
        return;
      case Act::kProcess:
        if (alive(a.node)) {
          group_.take_ready(a.node);
          group_.persist(a.node);
        }
        return;
      case Act::kTake:
        if (alive(a.node)) group_.take_ready(a.node);
        return;
      case Act::kPersist:
        if (alive(a.node)) group_.persist(a.node);
        return;
      case Act::kCrash:
        if (alive(a.node)) {
          group_.crash(a.node);
          checked_[a.node] = 0;
        }
        return;
      case Act::kRestart:
        if (!alive(a.node)) {
          group_.restart(a.node);
          checked_[a.node] = 0;
        }
        return;
      case Act::kIsolate:
        group_.isolate(a.node);
        return;
      case Act::kHeal:
        group_.heal();
        return;
      case Act::kCompact:
        if (alive(a.node)) (void)group_.compact(a.node);
        return;
      case Act::kRead:
        if (alive(a.node) && group_[a.node].role() == Role::kLeader) {
          // The read must see at least everything committed before it is asked.
          Index floor = committed_.empty() ? 0 : committed_.rbegin()->first;
          for (const auto& [id, m] : group_.members()) {
            if (m.machine) floor = std::max(floor, m.machine->commit_index());
          }
          read_floor_[++reads_] = floor;
          (void)group_[a.node].read_index(reads_);
        }
        return;
    }
  }

  std::optional<std::string> check() {
    if (!group_.broken_promises().empty()) return group_.broken_promises().front();
    if (!group_.step_errors().empty()) return "step error: " + group_.step_errors().front();
    if (group_.applied_out_of_order()) return "an entry applied out of order";
    for (const auto& [id, m] : group_.members()) {
      if (!m.machine) continue;
      if (m.machine->role() == Role::kLeader) {
        auto [it, fresh] = leaders_.try_emplace(m.machine->term(), id);
        if (it->second != id)
          return "two leaders in term " + std::to_string(it->first) + ": " +
                 std::to_string(it->second) + " and " + std::to_string(id);
      }
      for (std::size_t& n = checked_[id]; n < m.applied.size(); ++n) {
        const Entry& e = m.applied[n];
        auto [it, fresh] = committed_.try_emplace(e.index, e);
        if (!(it->second == e))
          return "member " + std::to_string(id) + " applied (" + std::to_string(e.term) + ", '" +
                 e.data + "') at index " + std::to_string(e.index) + " where (" +
                 std::to_string(it->second.term) + ", '" + it->second.data + "') was applied";
      }
    }
    for (const auto& [id, m] : group_.members()) {
      for (std::size_t& n = reads_checked_[id]; n < m.reads.size(); ++n) {
        const ReadState& r = m.reads[n];
        if (r.index < read_floor_[r.request])
          return "read " + std::to_string(r.request) + " was answered by member " +
                 std::to_string(id) + " at index " + std::to_string(r.index) + ", but " +
                 std::to_string(read_floor_[r.request]) + " was committed before it was asked";
      }
    }
    for (const auto& [index, e] : committed_) {
      int holders = 0;
      for (const auto& [id, m] : group_.members()) {
        const std::vector<Entry>& d = m.disk.entries;
        const Index base = m.disk.snapshot.metadata.index;
        // In its durable snapshot (which holds committed entries only), or in its log.
        if (index <= base || (base + d.size() >= index && d[index - base - 1].term == e.term))
          ++holders;
      }
      if (holders < kMembers / 2 + 1)
        return "committed entry " + std::to_string(index) + " is durable on " +
               std::to_string(holders) + " members only";
    }
    return std::nullopt;
  }

  // Faults off: everyone restarted and connected. Within 200 ticks there is one
  // leader and every member applies the same log, up to the leader's last entry.
  std::optional<std::string> converge() {
    group_.heal();
    for (NodeId id = 1; id <= kMembers; ++id) {
      if (!alive(id)) {
        group_.restart(id);
        checked_[id] = 0;
      }
    }
    // Members that were down or cut off catch up from compacted logs: by snapshot.
    for (NodeId id = 1; id <= kMembers; ++id)
      (void)group_.compact(id);
    for (int round = 0; round < 200; ++round) {
      group_.tick_all();
      group_.stabilize();
      if (auto v = check()) return "while converging: " + *v;
      const NodeId leader = group_.leader();
      if (leader == kNobody) continue;
      const RaftMachine& l = group_[leader];
      if (l.commit_index() != l.log().last_index()) continue;
      bool equal = true;
      for (const auto& [id, m] : group_.members()) {
        equal = equal && m.applied.size() == l.commit_index();
      }
      if (equal) return std::nullopt;
    }
    return "no convergence within 200 ticks of healing";
  }

  Group group_;

 public:
  // For classifying runs: how much happened.
  [[nodiscard]] std::size_t terms_with_a_leader() const { return leaders_.size(); }
  [[nodiscard]] std::size_t committed_entries() const { return committed_.size(); }
  [[nodiscard]] int snapshots_installed() const {
    int n = 0;
    for (const auto& [id, m] : group_.members())
      n += m.snapshots_installed;
    return n;
  }

 private:
  int proposals_ = 0;
  std::uint64_t reads_ = 0;
  std::map<std::uint64_t, Index> read_floor_;  // per read: the commit index when asked
  std::map<NodeId, std::size_t> reads_checked_;
  std::map<Term, NodeId> leaders_;
  std::map<Index, Entry> committed_;
  std::map<NodeId, std::size_t> checked_;
};

rc::Gen<Action> gen_action() {
  return rc::gen::apply([](int roll, int node,
                           int pick) { return action_from(roll, static_cast<NodeId>(node), pick); },
                        rc::gen::inRange(0, 100), rc::gen::inRange(1, kMembers + 1),
                        rc::gen::inRange(0, 64));
}

RC_GTEST_PROP(RaftProperties, SafeOnEveryScheduleAndLiveAfterHealing, ()) {
  const auto seed = *rc::gen::inRange<std::uint64_t>(1, 1'000'000);
  const auto actions = *rc::gen::scale(10.0, rc::gen::container<std::vector<Action>>(gen_action()));
  Trial run(Mutation::kNone, seed);
  const std::optional<std::string> violation = run.play(actions);
  RC_LOG() << "seed " << seed << "; schedule: " << describe(actions);
  RC_ASSERT(!violation.has_value());
  RC_CLASSIFY(run.terms_with_a_leader() >= 3, "3+ leaders");
  RC_CLASSIFY(run.committed_entries() >= 20, "20+ entries committed");
  RC_CLASSIFY(run.snapshots_installed() > 0, "a snapshot sent to a follower");
}

// Schedules from a seed, without RapidCheck: for counting how many seeds catch a
// broken machine.
std::vector<Action> schedule_from_seed(std::uint64_t seed, std::size_t length) {
  SplitMix64 rng(seed);
  std::vector<Action> out;
  for (std::size_t i = 0; i < length; ++i) {
    const int roll = static_cast<int>(rng.next_u64() % 100);
    const auto node = static_cast<NodeId>(1 + rng.next_u64() % kMembers);
    out.push_back(action_from(roll, node, static_cast<int>(rng.next_u64() % 64)));
  }
  return out;
}

int seeds_catching(Mutation mutation, int seeds, std::string* example) {
  int caught = 0;
  for (int s = 1; s <= seeds; ++s) {
    Trial run(mutation, static_cast<std::uint64_t>(s));
    if (std::optional<std::string> v = run.play(schedule_from_seed(s, 3000))) {
      if (caught++ == 0) *example = "seed " + std::to_string(s) + ": " + *v;
    }
  }
  return caught;
}

TEST(RaftProperties, TheSeededSchedulesFindNothingInTheRealMachine) {
  std::string example;
  EXPECT_EQ(seeds_catching(Mutation::kNone, 300, &example), 0) << example;
}

TEST(RaftProperties, AnAcknowledgementBeforePersistingIsCaught) {
  std::string example;
  const int caught = seeds_catching(Mutation::kAcknowledgeBeforePersisting, 300, &example);
  std::cout << caught << " of 300 seeds caught it\n";
  EXPECT_GT(caught, 0);
  EXPECT_NE(example.find("before it was durable"), std::string::npos) << example;
}

TEST(RaftProperties, AVoteBeforePersistingIsCaught) {
  std::string example;
  const int caught = seeds_catching(Mutation::kVoteBeforePersisting, 300, &example);
  std::cout << caught << " of 300 seeds caught it\n";
  EXPECT_GT(caught, 0);
  EXPECT_NE(example.find("before it was durable"), std::string::npos) << example;
}

// A read without confirming leadership (Mutation::kReadWithoutQuorum) was not caught
// by 300 seeds either: the deposed leader steps down (check quorum) before a new one
// commits. raft_machine_test's scripted stale read catches it.
// Committing an earlier term's entry by counting (no Figure 8 rule) needs a sequence
// these schedules did not produce in 300 seeds; raft_machine_test's scripted Figure 8
// catches it.

}  // namespace
}  // namespace distkit::raft
