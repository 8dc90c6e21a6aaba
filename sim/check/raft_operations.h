// Random operations against a Raft-replicated counter or key-value store, each recorded
// as a CounterOperation for the linearizability checker: the same workload for the
// simulation tests and distkit-sim's raft-counter and raft-kv.
//
// The counter is checked as StrictCounter's model (a missing key is 0). The KV store is
// checked as a register per key whose values are small numbers written as decimals,
// with "absent" the value kAbsentValue: put and delete are unconditional writes that
// answer the value before, compare-and-set a conditional one (its answer carries the
// value it compared against), get a read.
#ifndef DISTKIT_SIM_CHECK_RAFT_OPERATIONS_H_
#define DISTKIT_SIM_CHECK_RAFT_OPERATIONS_H_

#include <cstdint>
#include <string>

#include "distkit/core/async/task.h"
#include "distkit/core/base/status.h"
#include "distkit/core/raft/counter.h"
#include "distkit/core/raft/kv.h"
#include "distkit/sim/check/linearizability.h"
#include "distkit/sim/world/rng.h"

namespace distkit::sim {

// The KV register's "absent" (workload values are >= 0); the model's initial value.
inline constexpr std::int64_t kAbsentValue = -1;

// Runs one random operation on `key`: fills `op`'s kind and arguments before it is
// sent (so a caller that crashes mid-call leaves a record of what may have run: keep
// `op` where it outlives the call, e.g. in a std::deque), and its outputs when it
// returns OK. Its times and process are the caller's. Returns the outcome.
[[nodiscard]] Task<Status> random_counter_operation(raft::CounterClient& counter, Rng& rng,
                                                    std::string key, CounterOperation& op);
[[nodiscard]] Task<Status> random_kv_operation(raft::KvClient& kv, Rng& rng, std::string key,
                                               CounterOperation& op);

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_CHECK_RAFT_OPERATIONS_H_
