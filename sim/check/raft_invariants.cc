#include "distkit/sim/check/raft_invariants.h"

#include <algorithm>
#include <functional>
#include <string_view>

namespace distkit::sim {

RaftInvariants::RaftInvariants(std::vector<distkit::NodeId> members, std::vector<std::string> names)
    : ids_(std::move(members)), names_(std::move(names)) {
  for (distkit::NodeId id : ids_)
    members_[id];
}

std::string RaftInvariants::name(distkit::NodeId member) const {
  auto it = std::find(ids_.begin(), ids_.end(), member);
  const auto i = static_cast<std::size_t>(it - ids_.begin());
  return i < names_.size() ? names_[i] : "member " + std::to_string(member);
}

void RaftInvariants::fail(std::string message) {
  if (!violation_) violation_ = std::move(message);
}

void RaftInvariants::set_node(distkit::NodeId member, const raft::RaftNode* node) {
  auto it = members_.find(member);
  if (it == members_.end()) return;  // not a member (a client crashed)
  Member& m = it->second;
  m.node = node;
  if (node == nullptr) return;
  // A new incarnation: what it recovered must cover what it held durably before.
  const raft::RaftMachine& machine = node->machine();
  const raft::Index start = machine.log().snapshot_index();
  for (raft::Index i = std::max(start, m.covered) + 1; i <= m.durable.size(); ++i) {
    const std::optional<raft::Term> t = machine.log().term(i);
    if (!t || *t != m.durable[i - 1]) {
      fail(name(member) + " restarted without entry " + std::to_string(i) + " (term " +
           std::to_string(m.durable[i - 1]) + ") that it held durably before: " +
           (t ? "its log has term " + std::to_string(*t)
              : "its log ends at " + std::to_string(machine.log().last_index())));
      break;
    }
  }
  // A new incarnation: its commit restarts from what it recovers.
  m.checked_commit = 0;
  m.term = 0;
  m.commit = 0;
}

void RaftInvariants::check_member(distkit::NodeId id, Member& m) {
  const raft::RaftMachine& machine = m.node->machine();
  // Its durable log, kept up to date so that it is known when the member goes down.
  const raft::Index durable = machine.durable_index();
  if (durable < m.durable.size()) m.durable.resize(durable);
  const raft::Index log_start = machine.log().first_index();
  for (raft::Index i = m.durable.size() + 1; i <= durable; ++i)
    m.durable.push_back(i < log_start ? 0 : machine.log().at(i).term);
  // Entries before the log's start are in its snapshot, durable once durable_index()
  // reaches it.
  m.covered = std::min(machine.snapshot_metadata().index, durable);

  if (machine.term() < m.term)
    fail(name(id) + "'s term went back from " + std::to_string(m.term) + " to " +
         std::to_string(machine.term()));
  if (machine.commit_index() < m.commit)
    fail(name(id) + "'s commit index went back from " + std::to_string(m.commit) + " to " +
         std::to_string(machine.commit_index()));
  m.term = machine.term();
  m.commit = machine.commit_index();

  if (machine.role() == raft::Role::kLeader) {
    auto [it, fresh] = leaders_.try_emplace(machine.term(), id);
    if (it->second != id)
      fail("two leaders in term " + std::to_string(machine.term()) + ": " + name(it->second) +
           " and " + name(id));
  }
}

const std::optional<std::string>& RaftInvariants::check() {
  if (violation_) return violation_;
  for (auto& [id, m] : members_) {
    if (m.node != nullptr) check_member(id, m);
  }
  // Committed prefixes, after every member's durable log is current.
  for (auto& [id, m] : members_) {
    if (m.node == nullptr) continue;
    const raft::RaftMachine& machine = m.node->machine();
    for (raft::Index i = std::max(m.checked_commit + 1, machine.log().first_index());
         i <= machine.commit_index(); ++i) {
      const raft::Entry& e = machine.log().at(i);
      const Committed seen{e.term, std::hash<std::string_view>{}(e.data)};
      auto [it, fresh] = committed_.try_emplace(i, seen);
      if (fresh) {
        int holders = 0;
        for (const auto& [other_id, other] : members_)
          holders +=
              other.durable.size() >= i && (i <= other.covered || other.durable[i - 1] == e.term)
                  ? 1
                  : 0;
        if (holders < static_cast<int>(members_.size()) / 2 + 1)
          fail("entry " + std::to_string(i) + " (term " + std::to_string(e.term) +
               ") was committed while durable on " + std::to_string(holders) + " of " +
               std::to_string(members_.size()) + " members");
      } else if (it->second.term != seen.term || it->second.digest != seen.digest) {
        fail(name(id) + " committed a different entry at index " + std::to_string(i) + " (term " +
             std::to_string(e.term) + ", where term " + std::to_string(it->second.term) +
             " was committed)");
      }
    }
    m.checked_commit = machine.commit_index();
  }
  return violation_;
}

}  // namespace distkit::sim
