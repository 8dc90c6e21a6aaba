// Helpers for simulation tests: RapidCheck generators of fault schedules, and the
// replay line every failure prints, in namespace distkit::sim::harness (not "testing",
// which inside distkit::sim would hide gtest's ::testing). Test-only (depends on RapidCheck).
#ifndef DISTKIT_SIM_HARNESS_HARNESS_H_
#define DISTKIT_SIM_HARNESS_HARNESS_H_

#include <rapidcheck.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "distkit/sim/faults/fault_generator.h"
#include "distkit/sim/faults/fault_schedule.h"

namespace distkit::sim {
// How RapidCheck prints a schedule in a counterexample.
inline void showValue(const FaultSchedule& schedule, std::ostream& os) {
  os << '"' << to_string(schedule) << '"';
}
}  // namespace distkit::sim

namespace distkit::sim::harness {

// Schedules over `instances` and `servers` (node ids of a world built the same way),
// with event times in [0, chaos): the one generator (sim/faults/fault_generator.h),
// drawing from RapidCheck, so a failing schedule shrinks draw by draw (fewer rounds,
// earlier and shorter episodes, smaller values). At most `max_rounds` rounds of one
// episode per kind: one round is about the dozen events the properties ran under
// before the one generator; three made them 3 to 6 times slower.
// What the properties run under unless they say otherwise: every kind, the server's
// refusals (redis-errors: LOADING, BUSY, OOM, READONLY, MASTERDOWN) included.
inline constexpr FaultProfile kPropertyFaults = FaultProfile::kAll;

// `shards`: a simulated Redis Cluster's (master first), for the cluster-changes kinds.
rc::Gen<FaultSchedule> gen_fault_schedule(std::vector<NodeId> instances,
                                          std::vector<NodeId> servers, Duration chaos,
                                          FaultProfile profile = kPropertyFaults,
                                          int max_rounds = 1,
                                          std::vector<std::vector<NodeId>> shards = {});

// A seed and schedule to replay, from DISTKIT_SIM_SEED and DISTKIT_SIM_SCHEDULE.
struct Replay {
  std::uint64_t seed = 0;
  FaultSchedule schedule;
};
// Nothing when DISTKIT_SIM_SEED is unset; aborts with a clear message when the
// variables are malformed (a mistyped replay must not silently run something else).
std::optional<Replay> replay_from_environment();

// "seed=42 schedule=\"...\"\nreplay: bazel test <target> --test_env=DISTKIT_SIM_SEED=42
// --test_env=DISTKIT_SIM_SCHEDULE='...'" plus the schedule with node names.
std::string failure_report(std::string_view target, std::uint64_t seed,
                           const FaultSchedule& schedule, const World& world);

}  // namespace distkit::sim::harness

#endif  // DISTKIT_SIM_HARNESS_HARNESS_H_
