// StateMachine: what Raft replicates. Every member applies the same committed commands
// in the same order, so the machine must be deterministic: its answers and its state
// depend on the commands alone (no clock, no randomness, no I/O, ordered containers).
#ifndef DISTKIT_CORE_RAFT_STATE_MACHINE_H_
#define DISTKIT_CORE_RAFT_STATE_MACHINE_H_

#include <string>
#include <string_view>

#include "distkit/core/base/status.h"
#include "distkit/core/raft/types.h"

namespace distkit::raft {

// Contract:
// - apply() is called with every committed normal entry, in log order, once per
//   incarnation (an in-memory machine is rebuilt from the log after a restart); no-op
//   entries never reach it. Its return value is the answer to the command's proposer.
//   A command it cannot parse gets an error answer: the entry is committed anyway.
// - query() reads the state without changing it; it is called only after a read
//   barrier (linearizable) or by a caller that accepts a stale view.
// - snapshot() encodes the whole state; restore() replaces the whole state with one
//   that snapshot() produced (on any member, any build that reads its format), as if
//   every entry up to the snapshot had been applied. Deterministic: two machines that
//   applied the same entries give the same bytes. restore() of bytes it cannot parse
//   returns kDataLoss and leaves the state as it was.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  virtual std::string apply(const Entry& entry) = 0;
  [[nodiscard]] virtual std::string snapshot() const = 0;
  [[nodiscard]] virtual Status restore(std::string_view snapshot) = 0;
  [[nodiscard]] virtual std::string query(std::string_view request) const {
    (void)request;
    return {};
  }
};

}  // namespace distkit::raft

#endif  // DISTKIT_CORE_RAFT_STATE_MACHINE_H_
