// The one generator of fault schedules. A FaultProfile names the kinds of faults a run
// may see (the one vocabulary: distkit-sim's --faults and the simulation tests' plans
// alike); the generator lays them out as episodes (a fault and, unless the run ends
// first, its lifting) over the instances and servers of a world. It draws through
// FaultChoices, so distkit-sim draws from a seeded Rng (RngChoices) and the RapidCheck
// properties from RapidCheck, which then shrinks a failing schedule choice by choice
// (sim/harness/harness.h).
#ifndef DISTKIT_SIM_FAULTS_FAULT_GENERATOR_H_
#define DISTKIT_SIM_FAULTS_FAULT_GENERATOR_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/base/status.h"
#include "distkit/sim/faults/fault_schedule.h"
#include "distkit/sim/world/rng.h"

namespace distkit::sim {

// A set of kinds of faults (bits), e.g. kPartitions | kClockSkew.
enum class FaultProfile : std::uint8_t {
  kNone = 0,
  kPartitions = 1,       // an instance cut from a server or a peer, both ways or one way
  kLossyNetwork = 2,     // message loss and slow links; connections reset
  kDeadInstances = 4,    // crashes and restarts (same or new identity), pauses
  kClockSkew = 8,        // instances' wall clocks off, drifting, jumping (never a server's)
  kRedisRestarts = 16,   // servers restart (keeping their data), forget scripts, slow down
  kRedisErrors = 32,     // servers answer LOADING, BUSY, OOM, READONLY or MASTERDOWN a while
  kClusterChanges = 64,  // a Redis Cluster moves slots and fails masters over (needs shards)
  kDisk = 128,           // Raft members' disks: slow and failing syncs, torn writes at crashes
  kAll = 255,
};
[[nodiscard]] constexpr FaultProfile operator|(FaultProfile a, FaultProfile b) {
  return static_cast<FaultProfile>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
[[nodiscard]] constexpr bool has(FaultProfile set, FaultProfile kind) {
  return (static_cast<unsigned>(set) & static_cast<unsigned>(kind)) != 0;
}
// `set` without the kinds of `kinds`.
[[nodiscard]] constexpr FaultProfile without(FaultProfile set, FaultProfile kinds) {
  return static_cast<FaultProfile>(static_cast<unsigned>(set) & ~static_cast<unsigned>(kinds));
}
// "none", "all", or the kinds joined by commas ("partitions,clock-skew").
[[nodiscard]] std::string profile_name(FaultProfile profile);
// The inverse: one name or a comma-separated list of them; kInvalidArgument otherwise.
[[nodiscard]] Result<FaultProfile> parse_profile(std::string_view names);

struct FaultPlan {
  std::vector<NodeId> instances;
  std::vector<NodeId> servers;
  // A simulated Redis Cluster's shards (master first), for kClusterChanges; empty
  // without a cluster, and then nothing is drawn for them.
  std::vector<std::vector<NodeId>> shards;
  // Raft members (peers of each other, each with a disk): the network, dead-instance,
  // clock and disk kinds also fall on them and between them. Empty: nothing is drawn
  // for them.
  std::vector<NodeId> members;
  Duration chaos{std::chrono::seconds(10)};  // events fall in [0, chaos)
  FaultProfile profile = FaultProfile::kAll;
  int rounds = 3;  // each round adds an episode of every kind in the profile
  Duration shortest = std::chrono::milliseconds(200);  // of an episode
  Duration longest = std::chrono::seconds(4);
};

// The draws a generator makes.
class FaultChoices {
 public:
  virtual ~FaultChoices() = default;
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  virtual std::int64_t between(std::int64_t lo, std::int64_t hi) = 0;
  [[nodiscard]] bool chance(double p) {
    return between(0, 999) < static_cast<std::int64_t>(p * 1000);
  }
};

class RngChoices final : public FaultChoices {
 public:
  explicit RngChoices(Rng& rng) : rng_(rng) {}
  std::int64_t between(std::int64_t lo, std::int64_t hi) override { return rng_.between(lo, hi); }

 private:
  Rng& rng_;
};

// A schedule in time order; valid for a world with those nodes (sim::validate).
[[nodiscard]] FaultSchedule generate_fault_schedule(const FaultPlan& plan, FaultChoices& choose);

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_FAULTS_FAULT_GENERATOR_H_
