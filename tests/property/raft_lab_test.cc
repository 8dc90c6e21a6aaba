// The MIT 6.5840 Raft lab's scenarios (3A-3D, docs/raft.md), on the simulator's
// virtual time and on the code users run: RaftNodes on simulated disks and networks.
// The lab's harness checks, kept: exactly one leader among connected members
// (check_one_leader), agreement on the term, no leader without a quorum, and on every
// event that no two members applied different commands at one index and that each
// applies in order (n_committed, the applier). Raft's invariants (election safety,
// committed entries durable on a quorum, restarts that keep what was durable) are
// checked after every event too. The lab's model is weaker than ours: a crash here
// also loses every write not yet synced.
//
// Each test runs one seed; DISTKIT_RAFT_SEED=<s> replays another.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "distkit/core/base/random.h"
#include "distkit/core/raft/raft_node.h"
#include "distkit/sim/check/raft_invariants.h"
#include "distkit/sim/world/world.h"
#include "distkit/tests/support/applied_log.h"

namespace distkit::sim {
namespace {

using raft::Entry;
using raft::Index;
using raft::RaftNode;
using raft::Term;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::uint64_t seed_or(std::uint64_t fallback) {
  const char* env = std::getenv("DISTKIT_RAFT_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : fallback;
}

// Records every command applied, in order; a snapshot is that history (so a member
// restored from one can still be compared index by index).
class Recorder final : public raft::StateMachine {
 public:
  explicit Recorder(std::vector<Entry>& applied) : applied_(applied) { applied_.clear(); }
  std::string apply(const Entry& e) override {
    applied_.push_back(e);
    return {};
  }
  std::string snapshot() const override { return raft::testing::encode_applied(applied_); }
  Status restore(std::string_view snapshot) override {
    applied_ = raft::testing::decode_applied(snapshot);
    return Status();
  }

 private:
  std::vector<Entry>& applied_;
};

struct LabOptions {
  int servers = 3;
  bool unreliable = false;             // 0-26 ms, 10% lost, some long reorderings
  std::uint64_t snapshot_entries = 0;  // 0: no snapshots
};

class Lab {
 public:
  Lab(LabOptions options, std::uint64_t seed)
      : options_(options),
        world_({.seed = seed,
                .default_link = options.unreliable
                                    ? LinkConfig{.latency = {.min = milliseconds(0),
                                                             .max = milliseconds(26),
                                                             .tail_probability = 0.05,
                                                             .tail = milliseconds(600)},
                                                 .loss = 0.1}
                                    : LinkConfig{.latency = {.min = milliseconds(1),
                                                             .max = milliseconds(3)}}}) {
    for (int i = 0; i < options_.servers; ++i) {
      const NodeId id = world_.add_instance("s" + std::to_string(i),
                                            [this](NodeContext& node) { return member(node); });
      ids_.push_back(id);
      connected_.insert(id);
    }
    invariants_ = std::make_unique<RaftInvariants>(ids_);
  }

  ~Lab() {
    for (NodeId id : ids_)
      invariants_->set_node(id, nullptr);
  }

  World& world() { return world_; }
  const std::vector<NodeId>& ids() const { return ids_; }
  const std::optional<std::string>& failure() const { return failure_; }

  // Runs `d` of virtual time, checking after every event.
  void run_for(Duration d) {
    world_.run_until(
        [this] {
          check();
          return failure_.has_value();
        },
        world_.now() + d);
  }

  // ---- The lab's network and crashes.
  void disconnect(NodeId id) {
    connected_.erase(id);
    world_.isolate(id);
  }
  void connect(NodeId id) {
    connected_.insert(id);
    for (NodeId other : connected_) {
      if (other != id) world_.heal(id, other);
    }
  }
  void crash(NodeId id) {
    if (!world_.alive(id)) return;
    live_.erase(id);
    invariants_->set_node(id, nullptr);
    world_.crash(id, CrashLoss::kEverythingUnsynced);
  }
  void restart(NodeId id) {
    if (!world_.alive(id)) world_.restart(id);
  }
  bool up(NodeId id) const { return connected_.contains(id) && live_.contains(id); }
  // Connected and running (perhaps still starting).
  bool available(NodeId id) const { return connected_.contains(id) && world_.alive(id); }
  // The server k places after `id` (the lab's (i + k) % n).
  NodeId other(NodeId id, int k) const {
    const auto at =
        static_cast<std::size_t>(std::find(ids_.begin(), ids_.end(), id) - ids_.begin());
    return ids_[(at + static_cast<std::size_t>(k)) % ids_.size()];
  }

  // Submits `command` at `id` (Start()): it is proposed if that member leads.
  void start(NodeId id, std::string command) { inbox_[id].push_back(std::move(command)); }

  // ---- The lab's checks.
  NodeId check_one_leader() {
    for (int attempt = 0; attempt < 10; ++attempt) {
      run_for(milliseconds(450 + 10 * attempt));
      std::map<Term, std::vector<NodeId>> leaders;
      for (NodeId id : ids_) {
        if (up(id) && live_.at(id)->machine().role() == raft::Role::kLeader)
          leaders[live_.at(id)->machine().term()].push_back(id);
      }
      for (const auto& [term, who] : leaders) {
        if (who.size() > 1) fail("term " + std::to_string(term) + " has two leaders");
      }
      if (!leaders.empty()) return leaders.rbegin()->second.front();
    }
    fail("expected one leader, got none");
    return 0;
  }
  Term check_terms() {
    std::optional<Term> term;
    for (NodeId id : ids_) {
      if (!up(id)) continue;
      const Term t = live_.at(id)->machine().term();
      if (term && *term != t) fail("servers disagree on the term");
      term = t;
    }
    return term.value_or(0);
  }
  void check_no_leader() {
    for (NodeId id : ids_) {
      if (up(id) && live_.at(id)->machine().role() == raft::Role::kLeader)
        fail("expected no leader among connected servers, but " + world_.name(id) + " leads");
    }
  }
  // How many members applied index `index` (and the command there).
  int n_committed(Index index, std::string* command = nullptr) {
    int n = 0;
    for (NodeId id : ids_) {
      for (const Entry& e : applied_[id]) {
        if (e.index != index) continue;
        ++n;
        if (command != nullptr) *command = e.data;
      }
    }
    return n;
  }
  // Submits `command` to the leader until at least `expected` members applied it;
  // returns its index (0, and a failure, after 10 s).
  Index one(const std::string& command, int expected, bool retry) {
    const SimTime until = world_.now() + seconds(10);
    std::size_t next = 0;
    while (world_.now() < until && !failure_) {
      bool started = false;
      for (std::size_t tried = 0; tried < ids_.size() && !started; ++tried) {
        const NodeId id = ids_[next++ % ids_.size()];
        if (up(id) && live_.at(id)->machine().role() == raft::Role::kLeader) {
          start(id, command);
          started = true;
        }
      }
      if (!started) {
        run_for(milliseconds(50));
        continue;
      }
      for (int wait = 0; wait < 100; ++wait) {
        run_for(milliseconds(20));
        const Index index = index_of(command);
        if (index != 0 && n_committed(index) >= expected) return index;
      }
      if (!retry) break;
    }
    fail("one(" + command + ") failed to reach agreement");
    return 0;
  }
  Index index_of(const std::string& command) {
    for (NodeId id : ids_) {
      for (const Entry& e : applied_[id]) {
        if (e.data == command) return e.index;
      }
    }
    return 0;
  }
  RaftNode* node(NodeId id) { return live_.contains(id) ? live_.at(id) : nullptr; }
  std::uint64_t messages() const {
    std::uint64_t n = 0;
    for (NodeId id : ids_)
      n += world_.datagrams_sent(id);
    return n;
  }
  std::uint64_t bytes() const {
    std::uint64_t n = 0;
    for (NodeId id : ids_)
      n += world_.datagram_bytes_sent(id);
    return n;
  }

  void fail(std::string why) {
    if (!failure_) failure_ = std::move(why);
  }

 private:
  Task<void> member(NodeContext& node) {
    raft::RaftNodeOptions options;
    options.raft.id = raft::raft_id(node.id());
    for (NodeId m : ids_)
      options.raft.voters.push_back(raft::raft_id(m));
    options.raft.seed = node.rng().next_u64() | 1;
    // The lab's timing: heartbeats ten times a second, elections after about a second.
    options.tick = milliseconds(100);
    options.wal.segment_bytes = 16 << 10;
    options.snapshot_entries = options_.snapshot_entries;
    options.raft.max_snapshot_chunk_bytes = 512;
    Recorder recorder(applied_[node.id()]);
    applied_checked_[node.id()] = 0;
    Result<std::unique_ptr<RaftNode>> started =
        co_await RaftNode::start(node.executor(), node.peers(), node.disk(), recorder, options);
    if (!started.ok()) {
      fail(node.name() + " could not start: " + started.status().to_string());
      co_return;
    }
    std::unique_ptr<RaftNode> raft = std::move(*started);
    live_[node.id()] = raft.get();
    invariants_->set_node(node.id(), raft.get());
    TaskScope proposals;  // after `raft`: its proposals die first
    std::deque<std::string>& inbox = inbox_[node.id()];
    while (true) {
      co_await sleep_for(node.executor(), milliseconds(1));
      while (!inbox.empty()) {
        spawn(node.executor(), &proposals, [](RaftNode* r, std::string c) -> Task<void> {
          (void)co_await r->propose(std::move(c));
        }(raft.get(), std::move(inbox.front())));
        inbox.pop_front();
      }
    }
  }

  // The applier's checks and Raft's invariants.
  void check() {
    if (failure_) return;
    if (const std::optional<std::string>& v = invariants_->check()) {
      fail(*v);
      return;
    }
    for (auto& [id, log] : applied_) {
      std::size_t& n = applied_checked_[id];
      if (n > log.size()) n = 0;  // restored from a snapshot: check it all again
      for (; n < log.size(); ++n) {
        const Entry& e = log[n];
        if (n > 0 && e.index <= log[n - 1].index)
          fail(world_.name(id) + " applied out of order at index " + std::to_string(e.index));
        auto [it, fresh] = committed_.try_emplace(e.index, e.data);
        if (!fresh && it->second != e.data)
          fail("commit index=" + std::to_string(e.index) + " server=" + world_.name(id) + " '" +
               e.data + "' != '" + it->second + "'");
      }
    }
  }

  LabOptions options_;
  World world_;
  std::vector<NodeId> ids_;
  std::set<NodeId> connected_;
  std::map<NodeId, RaftNode*> live_;
  std::map<NodeId, std::vector<Entry>> applied_;
  std::map<NodeId, std::size_t> applied_checked_;
  std::map<NodeId, std::deque<std::string>> inbox_;
  std::map<Index, std::string> committed_;
  std::unique_ptr<RaftInvariants> invariants_;
  std::optional<std::string> failure_;
};

std::string cmd(int n) {
  return "c" + std::to_string(n);
}

#define EXPECT_LAB_OK(lab) \
  EXPECT_FALSE((lab).failure().has_value()) << *(lab).failure() << " (seed " << seed << ")"

// ---- 3A: elections ---------------------------------------------------------------

TEST(RaftLab3A, InitialElection) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  lab.check_one_leader();
  const Term term1 = lab.check_terms();
  EXPECT_GE(term1, 1u);
  // Without failures the leader and term stay.
  lab.run_for(seconds(2));
  EXPECT_EQ(lab.check_terms(), term1) << "term changed without failures";
  lab.check_one_leader();
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3A, ReElection) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  const NodeId leader1 = lab.check_one_leader();
  lab.disconnect(leader1);
  lab.check_one_leader();
  // The old leader rejoining does not disturb the new one.
  lab.connect(leader1);
  const NodeId leader2 = lab.check_one_leader();
  // No quorum, no leader.
  lab.disconnect(leader2);
  lab.disconnect(lab.other(leader2, 1));
  lab.run_for(seconds(2));
  lab.check_no_leader();
  // A quorum again: a leader.
  lab.connect(lab.other(leader2, 1));
  lab.check_one_leader();
  lab.connect(leader2);
  lab.check_one_leader();
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3A, ManyElections) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 7}, seed);
  lab.check_one_leader();
  Rng rng(seed);
  for (int round = 0; round < 10; ++round) {
    std::vector<NodeId> out;
    for (int k = 0; k < 3; ++k)
      out.push_back(lab.ids()[rng.below(7)]);
    for (NodeId id : out)
      lab.disconnect(id);
    // Four or more of seven remain: one leader (or the same).
    lab.check_one_leader();
    for (NodeId id : out)
      lab.connect(id);
  }
  lab.check_one_leader();
  EXPECT_LAB_OK(lab);
}

// ---- 3B: agreement ---------------------------------------------------------------

TEST(RaftLab3B, BasicAgree) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  lab.check_one_leader();
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(lab.index_of(cmd(i)), 0u) << "committed before Start()";
    EXPECT_NE(lab.one(cmd(i), 3, false), 0u);
  }
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3B, FollowerFailure) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  lab.one(cmd(101), 3, false);
  const NodeId leader1 = lab.check_one_leader();
  lab.disconnect(lab.other(leader1, 1));
  // The leader and the remaining follower agree.
  lab.one(cmd(102), 2, false);
  lab.run_for(seconds(1));
  lab.one(cmd(103), 2, false);
  // Both followers gone: nothing commits.
  const NodeId leader2 = lab.check_one_leader();
  lab.disconnect(lab.other(leader2, 1));
  lab.disconnect(lab.other(leader2, 2));
  lab.start(leader2, cmd(104));
  lab.run_for(seconds(2));
  EXPECT_EQ(lab.n_committed(lab.index_of(cmd(103)) + 1), 0) << "committed without a majority";
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3B, LeaderFailure) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  lab.one(cmd(101), 3, false);
  const NodeId leader1 = lab.check_one_leader();
  lab.disconnect(leader1);
  // The remaining two elect a leader and agree.
  lab.one(cmd(102), 2, false);
  lab.run_for(seconds(1));
  lab.one(cmd(103), 2, false);
  const NodeId leader2 = lab.check_one_leader();
  lab.disconnect(leader2);
  // One server left: nothing commits.
  for (NodeId id : lab.ids())
    lab.start(id, cmd(104));
  lab.run_for(seconds(2));
  EXPECT_EQ(lab.index_of(cmd(104)), 0u) << "committed without a majority";
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3B, FailAgree) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  lab.one(cmd(101), 3, false);
  const NodeId leader = lab.check_one_leader();
  lab.disconnect(lab.other(leader, 1));
  for (int i = 102; i <= 105; ++i)
    lab.one(cmd(i), 2, false);
  lab.connect(lab.other(leader, 1));
  // The rejoined follower catches up.
  lab.one(cmd(106), 3, true);
  lab.run_for(seconds(1));
  lab.one(cmd(107), 3, true);
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3B, FailNoAgree) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 5}, seed);
  lab.one(cmd(10), 5, false);
  const NodeId leader = lab.check_one_leader();
  for (int k = 1; k <= 3; ++k)
    lab.disconnect(lab.other(leader, k));
  lab.start(leader, cmd(20));
  lab.run_for(seconds(2));
  EXPECT_EQ(lab.index_of(cmd(20)), 0u) << "committed with 2 of 5";
  for (int k = 1; k <= 3; ++k)
    lab.connect(lab.other(leader, k));
  // Progress resumes (the uncommitted command may be overwritten).
  lab.check_one_leader();
  lab.one(cmd(1000), 5, true);
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3B, ConcurrentStarts) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  const NodeId leader = lab.check_one_leader();
  const Term term = lab.node(leader)->machine().term();
  for (int i = 0; i < 5; ++i)
    lab.start(leader, cmd(100 + i));
  lab.run_for(seconds(1));
  ASSERT_EQ(lab.node(leader)->machine().term(), term) << "the term changed: not one term";
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(lab.n_committed(lab.index_of(cmd(100 + i))), 3) << cmd(100 + i);
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3B, Rejoin) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  lab.one(cmd(101), 3, true);
  const NodeId leader1 = lab.check_one_leader();
  lab.disconnect(leader1);
  // The old leader takes commands it cannot commit.
  lab.start(leader1, cmd(102));
  lab.start(leader1, cmd(103));
  lab.start(leader1, cmd(104));
  lab.one(cmd(103 + 100), 2, true);
  const NodeId leader2 = lab.check_one_leader();
  lab.disconnect(leader2);
  lab.connect(leader1);
  lab.one(cmd(104 + 100), 2, true);
  lab.connect(leader2);
  lab.one(cmd(105 + 100), 3, true);
  EXPECT_EQ(lab.index_of(cmd(102)), 0u) << "the old leader's uncommitted command survived";
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3B, Backup) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 5}, seed);
  int next = 0;
  lab.one(cmd(++next), 5, true);
  // The leader and one follower take 50 commands they cannot commit.
  const NodeId leader1 = lab.check_one_leader();
  lab.disconnect(lab.other(leader1, 2));
  lab.disconnect(lab.other(leader1, 3));
  lab.disconnect(lab.other(leader1, 4));
  for (int i = 0; i < 50; ++i)
    lab.start(leader1, cmd(1000 + i));
  lab.run_for(milliseconds(500));
  lab.disconnect(leader1);
  lab.disconnect(lab.other(leader1, 1));
  // The other three commit 50 others.
  lab.connect(lab.other(leader1, 2));
  lab.connect(lab.other(leader1, 3));
  lab.connect(lab.other(leader1, 4));
  for (int i = 0; i < 50; ++i)
    lab.one(cmd(2000 + i), 3, true);
  // Now the leader of those and one of its followers are cut off; 50 more go nowhere.
  const NodeId leader2 = lab.check_one_leader();
  NodeId other = lab.other(leader1, 2);
  if (other == leader2) other = lab.other(leader2, 1);
  lab.disconnect(other);
  for (int i = 0; i < 50; ++i)
    lab.start(leader2, cmd(3000 + i));
  lab.run_for(milliseconds(500));
  // The first group comes back with the one cut off: they must back up over 50
  // conflicting entries quickly.
  for (NodeId id : lab.ids())
    lab.disconnect(id);
  lab.connect(leader1);
  lab.connect(lab.other(leader1, 1));
  lab.connect(other);
  for (int i = 0; i < 50; ++i)
    lab.one(cmd(4000 + i), 3, true);
  for (NodeId id : lab.ids())
    lab.connect(id);
  lab.one(cmd(9999), 5, true);
  EXPECT_EQ(lab.index_of(cmd(1000)), 0u);
  EXPECT_LAB_OK(lab);
}

// The lab's message budgets (its RPCs are a request and a reply: two datagrams here).
TEST(RaftLab3B, Count) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  lab.check_one_leader();
  const std::uint64_t elect = lab.messages();
  EXPECT_LE(elect, 60u) << "the lab allows 30 RPCs to elect";
  const std::uint64_t before = lab.messages();
  for (int i = 0; i < 10; ++i)
    lab.one(cmd(i), 3, false);
  const std::uint64_t agreed = lab.messages() - before;
  // The lab allows (10 + 1 + 3) * 3 RPCs (84 datagrams); a leader here also tells the
  // followers of each commit at once (one more round per agreement, for latency).
  EXPECT_LE(agreed, 10u * 10) << "an append, its answer and the commit's round per follower";
  const std::uint64_t idle_start = lab.messages();
  lab.run_for(seconds(1));
  const std::uint64_t idle = lab.messages() - idle_start;
  EXPECT_LE(idle, 120u) << "the lab allows 60 RPCs per idle second";
  std::cout << "datagrams: " << elect << " to elect, " << agreed << " for 10 agreements, " << idle
            << " per idle second\n";
  EXPECT_LAB_OK(lab);
}

// The lab's byte budget: each command crosses the network about once per follower.
TEST(RaftLab3B, RPCBytes) {
  const std::uint64_t seed = seed_or(1);
  const int servers = 3;
  Lab lab({.servers = servers}, seed);
  lab.one("99", servers, false);
  const std::uint64_t before = lab.bytes();
  std::uint64_t sent = 0;
  SplitMix64 rng(seed);
  for (int i = 0; i < 10; ++i) {
    std::string command(5000, ' ');
    for (char& c : command)
      c = static_cast<char>('a' + rng.next_u64() % 26);
    lab.one(command, servers, false);
    sent += command.size();
  }
  const std::uint64_t got = lab.bytes() - before;
  // The lab allows servers * sent + 50000 bytes. Tighter here: the leader sends each
  // command once to each follower, plus headers, answers and heartbeats (a variant
  // that resends from the follower's match sends 157 KB where this one sends 107 KB).
  EXPECT_LE(got, servers * sent + 50'000) << "past the lab's budget";
  EXPECT_LE(got, (servers - 1) * sent + 20'000) << "a command sent more than once per follower";
  std::cout << "bytes: " << got << " for " << sent << " bytes of commands on " << servers
            << " servers\n";
  EXPECT_LAB_OK(lab);
}

// ---- 3C: persistence ---------------------------------------------------------------

TEST(RaftLab3C, Persist1) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  lab.one(cmd(11), 3, true);
  // Every server down and back.
  for (NodeId id : lab.ids())
    lab.crash(id);
  for (NodeId id : lab.ids())
    lab.restart(id);
  lab.one(cmd(12), 3, true);
  const NodeId leader1 = lab.check_one_leader();
  lab.crash(leader1);
  lab.restart(leader1);
  lab.one(cmd(13), 3, true);
  const NodeId leader2 = lab.check_one_leader();
  lab.crash(leader2);
  lab.one(cmd(14), 2, true);
  lab.restart(leader2);
  lab.one(cmd(15), 3, true);
  const NodeId follower = lab.other(lab.check_one_leader(), 1);
  lab.crash(follower);
  lab.one(cmd(16), 2, true);
  lab.restart(follower);
  lab.one(cmd(17), 3, true);
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3C, Persist2) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 5}, seed);
  int index = 1;
  for (int iteration = 0; iteration < 5; ++iteration) {
    lab.one(cmd(10 + index++), 5, true);
    const NodeId leader1 = lab.check_one_leader();
    lab.crash(lab.other(leader1, 1));
    lab.crash(lab.other(leader1, 2));
    lab.one(cmd(10 + index++), 3, true);
    lab.crash(leader1);
    lab.crash(lab.other(leader1, 3));
    lab.crash(lab.other(leader1, 4));
    lab.restart(lab.other(leader1, 1));
    lab.restart(lab.other(leader1, 2));
    lab.run_for(seconds(1));
    lab.restart(lab.other(leader1, 3));
    lab.one(cmd(10 + index++), 3, true);
    lab.restart(lab.other(leader1, 4));
    lab.restart(leader1);
  }
  lab.one(cmd(1000), 5, true);
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3C, Persist3) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3}, seed);
  lab.one(cmd(101), 3, true);
  const NodeId leader = lab.check_one_leader();
  lab.disconnect(lab.other(leader, 2));
  lab.one(cmd(102), 2, true);
  lab.crash(leader);
  lab.crash(lab.other(leader, 1));
  lab.connect(lab.other(leader, 2));
  lab.restart(leader);
  lab.one(cmd(103), 2, true);
  lab.restart(lab.other(leader, 1));
  lab.one(cmd(104), 3, true);
  EXPECT_LAB_OK(lab);
}

// Figure 8: leaders crash soon after taking a command, so entries of earlier terms
// must not be committed by counting.
void figure8(bool unreliable, int iterations, std::uint64_t seed) {
  Lab lab({.servers = 5, .unreliable = unreliable}, seed);
  Rng rng(seed);
  lab.one(cmd(0), 1, true);
  std::set<NodeId> down;  // crashed, or disconnected when unreliable
  const auto take_down = [&](NodeId id) {
    if (unreliable) {
      lab.disconnect(id);
    } else {
      lab.crash(id);
    }
    down.insert(id);
  };
  const auto bring_back = [&](NodeId id) {
    if (unreliable) {
      lab.connect(id);
    } else {
      lab.restart(id);
    }
    down.erase(id);
  };
  for (int iteration = 0; iteration < iterations; ++iteration) {
    std::optional<NodeId> leader;
    for (NodeId id : lab.ids()) {
      if (lab.up(id) && lab.node(id)->machine().role() == raft::Role::kLeader) {
        lab.start(id, cmd(1000 + iteration));
        leader = id;
      }
    }
    // Mostly a moment, now and then long enough for an election.
    lab.run_for(rng.below(100) < 10 ? milliseconds(rng.below(2000)) : milliseconds(rng.below(13)));
    if (leader && !down.contains(*leader)) take_down(*leader);
    if (lab.ids().size() - down.size() < 3) {
      const NodeId s = lab.ids()[rng.below(lab.ids().size())];
      if (down.contains(s)) bring_back(s);
    }
  }
  for (NodeId id : std::set<NodeId>(down))
    bring_back(id);
  lab.one(cmd(99999), 5, true);
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3C, Figure8) {
  figure8(false, 200, seed_or(1));
}

TEST(RaftLab3C, Figure8Unreliable) {
  figure8(true, 200, seed_or(1));
}

TEST(RaftLab3C, UnreliableAgree) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 5, .unreliable = true}, seed);
  for (int iteration = 1; iteration < 20; ++iteration) {
    for (int j = 0; j < 4; ++j) {
      for (NodeId id : lab.ids())
        lab.start(id, cmd(100 * iteration + j));
    }
    lab.one(cmd(iteration), 1, true);
  }
  lab.one(cmd(100), 5, true);
  EXPECT_LAB_OK(lab);
}

// Churn: commands from every side while servers are disconnected, crashed and
// restarted; every command a client saw committed is in the final log.
void churn(bool unreliable, std::uint64_t seed) {
  Lab lab({.servers = 5, .unreliable = unreliable}, seed);
  Rng rng(seed);
  std::set<std::string> seen_committed;
  int next = 0;
  lab.check_one_leader();
  for (int round = 0; round < 20; ++round) {
    const NodeId s = lab.ids()[rng.below(5)];
    switch (rng.below(4)) {
      case 0:
        lab.disconnect(s);
        break;
      case 1:
        lab.connect(s);
        break;
      case 2:
        lab.crash(s);
        break;
      default:
        lab.restart(s);
        break;
    }
    // A majority stays up (or comes back), as the lab's churn keeps it.
    for (NodeId id : lab.ids()) {
      int available = 0;
      for (NodeId other : lab.ids())
        available += lab.available(other) ? 1 : 0;
      if (available >= 3) break;
      lab.restart(id);
      lab.connect(id);
    }
    // Clients offer commands to every server meanwhile; the leader, if any, takes them.
    for (int k = 0; k < 5; ++k) {
      ++next;
      for (NodeId id : lab.ids())
        lab.start(id, cmd(next));
      lab.run_for(milliseconds(rng.between(10, 140)));
    }
    for (int n = 1; n <= next; ++n) {
      if (lab.index_of(cmd(n)) != 0) seen_committed.insert(cmd(n));
    }
  }
  for (NodeId id : lab.ids()) {
    lab.restart(id);
    lab.connect(id);
  }
  lab.run_for(seconds(2));
  const Index last = lab.one(cmd(999999), 5, true);
  std::set<std::string> final_log;
  for (Index i = 1; i <= last; ++i) {
    std::string c;
    if (lab.n_committed(i, &c) > 0) final_log.insert(c);
  }
  for (const std::string& c : seen_committed)
    EXPECT_TRUE(final_log.contains(c)) << c << " was committed and is gone (seed " << seed << ")";
  EXPECT_GT(seen_committed.size(), 20u);
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3C, ReliableChurn) {
  churn(false, seed_or(1));
}

TEST(RaftLab3C, UnreliableChurn) {
  churn(true, seed_or(1));
}

// ---- 3D: snapshots -------------------------------------------------------------------

// Snapshots every 10 entries; a victim is disconnected or crashed, misses more than a
// snapshot's worth, and must catch up by InstallSnapshot.
void snapshot_catch_up(bool unreliable, bool disconnect, bool crash, std::uint64_t seed) {
  Lab lab({.servers = 3, .unreliable = unreliable, .snapshot_entries = 10}, seed);
  int next = 0;
  lab.one(cmd(++next), 3, true);
  std::uint64_t installed_before = 0;
  for (int round = 0; round < 10; ++round) {
    const NodeId leader = lab.check_one_leader();
    const NodeId victim = lab.other(leader, 1 + round % 2);
    if (disconnect) {
      lab.disconnect(victim);
      lab.one(cmd(++next), 2, true);
    }
    if (crash) {
      lab.crash(victim);
      lab.one(cmd(++next), 2, true);
    }
    // More than a snapshot's worth, so the victim needs the snapshot.
    for (int i = 0; i < 11; ++i)
      lab.start(lab.check_one_leader(), cmd(++next));
    lab.one(cmd(++next), 2, true);
    if (disconnect) lab.connect(victim);
    if (crash) lab.restart(victim);
    lab.one(cmd(++next), 3, true);
    for (NodeId id : lab.ids()) {
      if (RaftNode* n = lab.node(id)) {
        // The log stays short: the snapshots keep it under twice the interval plus
        // what is in flight.
        EXPECT_LT(n->machine().log().last_index() - n->machine().log().snapshot_index(), 40u)
            << "log not compacted";
        installed_before += n->snapshots_installed();
      }
    }
  }
  EXPECT_GT(installed_before, 0u) << "nobody caught up by snapshot";
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3D, SnapshotBasic) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3, .snapshot_entries = 10}, seed);
  for (int i = 0; i < 100; ++i)
    lab.one(cmd(i), 3, true);
  for (NodeId id : lab.ids()) {
    const raft::RaftMachine& m = lab.node(id)->machine();
    EXPECT_LT(m.log().last_index() - m.log().snapshot_index(), 20u) << "log size not bounded";
    EXPECT_GT(lab.node(id)->snapshots_taken(), 5u);
  }
  EXPECT_LAB_OK(lab);
}

TEST(RaftLab3D, SnapshotInstall) {
  snapshot_catch_up(false, true, false, seed_or(1));
}

TEST(RaftLab3D, SnapshotInstallUnreliable) {
  snapshot_catch_up(true, true, false, seed_or(1));
}

TEST(RaftLab3D, SnapshotInstallCrash) {
  snapshot_catch_up(false, false, true, seed_or(1));
}

TEST(RaftLab3D, SnapshotInstallUnCrash) {
  snapshot_catch_up(true, false, true, seed_or(1));
}

// Crash everyone after snapshots: no one's log or applied index goes back.
TEST(RaftLab3D, SnapshotAllCrash) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3, .unreliable = true, .snapshot_entries = 10}, seed);
  int next = 0;
  lab.one(cmd(++next), 3, true);
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 11; ++i)
      lab.one(cmd(++next), 3, true);
    const Index before = lab.one(cmd(++next), 3, true);
    for (NodeId id : lab.ids())
      lab.crash(id);
    for (NodeId id : lab.ids())
      lab.restart(id);
    lab.run_for(milliseconds(10));
    for (NodeId id : lab.ids()) {
      if (RaftNode* n = lab.node(id)) {
        EXPECT_GE(n->machine().log().last_index(), before) << "the log went back after restart";
      }
    }
    const Index after = lab.one(cmd(++next), 3, true);
    EXPECT_GT(after, before);
  }
  EXPECT_LAB_OK(lab);
}

// A snapshot restored at start is in memory: later persists do not lose it.
TEST(RaftLab3D, SnapshotInit) {
  const std::uint64_t seed = seed_or(1);
  Lab lab({.servers = 3, .snapshot_entries = 10}, seed);
  int next = 0;
  for (int i = 0; i < 12; ++i)
    lab.one(cmd(++next), 3, true);
  for (NodeId id : lab.ids())
    lab.crash(id);
  for (NodeId id : lab.ids())
    lab.restart(id);
  lab.one(cmd(++next), 3, true);  // a persist after the restore
  for (NodeId id : lab.ids())
    lab.crash(id);
  for (NodeId id : lab.ids())
    lab.restart(id);
  lab.one(cmd(++next), 3, true);
  for (NodeId id : lab.ids()) {
    const RaftNode* n = lab.node(id);
    ASSERT_NE(n, nullptr);
    EXPECT_GE(n->machine().log().snapshot_index(), 10u) << "the snapshot was lost";
  }
  EXPECT_LAB_OK(lab);
}

}  // namespace
}  // namespace distkit::sim
