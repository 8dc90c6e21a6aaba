// RaftInvariants: Raft's safety properties, checked after every simulator event from
// the members' RaftNodes (the live ones) and what each held durably when it went down.
//
//   RaftInvariants check(members);
//   // when a member's node starts or stops (crash, fail-stop):
//   check.set_node(member, &server->node());  /  check.set_node(member, nullptr);
//   world.run_until([&] { return check.check().has_value(); }, limit);
//
// Checked:
// - election safety: at most one leader per term, over the whole history;
// - state machine safety and log matching: every member's committed prefix has the
//   same entry (term and data) at each index (where its log still holds it: entries a
//   snapshot covers are compared while they are in some member's log);
// - durability: an entry is durable on a quorum when it is first seen committed (else
//   a crash of those members loses it), counting what crashed members held durably;
// - monotonicity within an incarnation: term and commit index never go back;
// - durability across restarts: a restarted member's log holds every entry it held
//   durably when it went down (or a snapshot covering it), so every acknowledgement
//   it sent still holds (a disk that lies about sync fails this).
#ifndef DISTKIT_SIM_CHECK_RAFT_INVARIANTS_H_
#define DISTKIT_SIM_CHECK_RAFT_INVARIANTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/raft/raft_node.h"

namespace distkit::sim {

class RaftInvariants {
 public:
  // The members' peer ids; `names` (optional, same order) for messages.
  explicit RaftInvariants(std::vector<distkit::NodeId> members,
                          std::vector<std::string> names = {});

  // The member's node for its current incarnation; nullptr when it is down. Call with
  // nullptr before the node object is destroyed or its node crashes. Ids that are not
  // members are ignored.
  void set_node(distkit::NodeId member, const raft::RaftNode* node);

  // Checks what changed since the last call. Returns the first violation (and keeps
  // returning it).
  [[nodiscard]] const std::optional<std::string>& check();

  // Who led each term seen with a leader.
  [[nodiscard]] const std::map<raft::Term, distkit::NodeId>& leaders() const { return leaders_; }
  // The highest index seen committed.
  [[nodiscard]] raft::Index committed() const {
    return committed_.empty() ? 0 : committed_.rbegin()->first;
  }

 private:
  struct Member {
    const raft::RaftNode* node = nullptr;
    std::vector<raft::Term> durable;  // the terms of its durable log, index - 1
    raft::Index covered = 0;          // a durable snapshot holds entries 1..covered
    raft::Index checked_commit = 0;   // this incarnation's committed prefix checked
    raft::Term term = 0;
    raft::Index commit = 0;
  };
  struct Committed {
    raft::Term term = 0;
    std::uint64_t digest = 0;
  };

  std::string name(distkit::NodeId member) const;
  void fail(std::string message);
  void check_member(distkit::NodeId id, Member& m);

  std::vector<distkit::NodeId> ids_;
  std::vector<std::string> names_;
  std::map<distkit::NodeId, Member> members_;
  std::map<raft::Term, distkit::NodeId> leaders_;
  std::map<raft::Index, Committed> committed_;
  std::optional<std::string> violation_;
};

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_CHECK_RAFT_INVARIANTS_H_
