// Shared between the scenario runner's files (not part of its interface).
#ifndef DISTKIT_TOOLS_SCENARIO_INTERNAL_H_
#define DISTKIT_TOOLS_SCENARIO_INTERNAL_H_

#include <vector>

#include "distkit/tools/sim/scenario.h"

namespace distkit::scenario {

// Sleeps until the workload's next operation (rate and shape of env.options).
Task<void> pace(InstanceEnv& env);
std::vector<PrimitiveInfo> builtin_primitives();
// raft-counter and raft-kv (raft_workloads.cc).
void add_raft_primitives(std::vector<PrimitiveInfo>& list);

}  // namespace distkit::scenario

#endif  // DISTKIT_TOOLS_SCENARIO_INTERNAL_H_
