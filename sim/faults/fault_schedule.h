// FaultSchedule: the faults of one simulated run as plain data (a list of timed
// events), so RapidCheck can generate and shrink it, a failure can print it, and a
// replay can parse it back. A run is a chaos phase that applies the schedule, then a
// healing phase in which every fault is lifted and the system must converge.
#ifndef DISTKIT_SIM_FAULTS_FAULT_SCHEDULE_H_
#define DISTKIT_SIM_FAULTS_FAULT_SCHEDULE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/base/status.h"
#include "distkit/sim/world/world.h"

namespace distkit::sim {

enum class FaultKind : std::uint8_t {
  kPartition,           // a <-> b
  kPartitionOneWay,     // a -> b
  kIsolate,             // a from everyone
  kHeal,                // a <-> b
  kHealAll,             // every partition and link setting
  kLoss,                // a <-> b lose value/1000 of their messages
  kSlowLink,            // a <-> b get value microseconds of extra latency
  kResetConnections,    // a's Redis connections are reset
  kCrash,               // a
  kRestart,             // a (same identity; a crashed server comes back empty)
  kRestartNewIdentity,  // a
  kPause,               // a
  kResume,              // a
  kClockOffset,         // a's wall clock reads value ms off
  kClockDrift,          // a's clocks run value ppm fast (negative: slow)
  kClockJump,           // a's wall clock jumps by value ms
  kRedisRestart,        // server a restarts; value = DataLoss (0 none, 1 all, 2 recent)
  kScriptFlush,         // server a forgets its scripts
  kSlowServer,          // server a takes value microseconds more per command
  // Server a answers with an error for value ms, refusing before running (the
  // ServerCondition of sim/world/server_model.h):
  kRedisLoading,     // LOADING
  kRedisBusy,        // BUSY
  kRedisOom,         // OOM (commands that may grow memory; a script's first write)
  kRedisReadonly,    // READONLY (writes)
  kRedisMasterDown,  // MASTERDOWN
  // A simulated Redis Cluster's changes (sim/cluster; a is any node of the shard):
  kClusterMigrate,   // a hash slot moves to a's shard; value = slot, -1: the fullest
  kClusterFailover,  // a's shard fails over; value = FailoverMode (0 manual, 1 auto, 2 lossy)
  // Raft members and their disks (World::disk):
  kCrashTorn,  // a crashes, its disk keeping a random subset of unsynced sectors (kCrash
               // on an instance with a disk loses every unsynced write)
  kDuplicate,  // a <-> b deliver value/1000 of their peer messages twice
  kDiskSlow,   // a's disk syncs take value ms more (0: back to normal)
  kDiskFail,   // a's disk syncs fail (an I/O error) for value ms
};
// The condition a kRedis* error kind puts its server in; kNormal for other kinds.
[[nodiscard]] ServerCondition server_condition_of(FaultKind kind);

struct FaultEvent {
  Duration at{0};  // true time from the start of the run
  FaultKind kind = FaultKind::kHealAll;
  NodeId a = 0;
  NodeId b = 0;
  std::int64_t value = 0;
  friend bool operator==(const FaultEvent&, const FaultEvent&) = default;
};

struct FaultSchedule {
  std::vector<FaultEvent> events;
  friend bool operator==(const FaultSchedule&, const FaultSchedule&) = default;
};

[[nodiscard]] std::string_view fault_kind_name(FaultKind kind);
// How many node ids (0, 1 or 2) and whether a value the kind takes; fields it does
// not take are 0 in the canonical form (what parse_fault_schedule returns).
[[nodiscard]] int fault_node_count(FaultKind kind);
[[nodiscard]] bool fault_has_value(FaultKind kind);

// One line: "1500ms partition 0 1; 2000ms heal-all; 2100ms clock-drift 2 300".
// Node ids are numbers; names are printed by describe() for people.
[[nodiscard]] std::string to_string(const FaultSchedule& schedule);
// The inverse of to_string(); a clear kInvalidArgument on anything else.
[[nodiscard]] Result<FaultSchedule> parse_fault_schedule(std::string_view text);
// A human-readable list, with node names from `world`.
[[nodiscard]] std::string describe(const FaultSchedule& schedule, const World& world);

// Checks that every event names existing nodes of the right kind (servers for the
// Redis faults) and carries a value in range, so apply() cannot fail half-way.
[[nodiscard]] Status validate(const FaultSchedule& schedule, const World& world);

// Schedules every event on `world`, relative to its current time.
// REQUIRES: validate(schedule, world).ok().
void apply(const FaultSchedule& schedule, World& world);

// Lifts every fault: heals the network, resumes paused nodes, restarts crashed ones
// (same identity), removes server slowdowns and clock drift. Clock offsets stay:
// skew is a permanent condition the code under test must tolerate.
void heal_everything(World& world);

// The standard run: apply the events of `schedule` that fall within `chaos`, run the
// chaos phase, then heal everything and run for `healing`.
void run_chaos_then_heal(World& world, const FaultSchedule& schedule, Duration chaos,
                         Duration healing);

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_FAULTS_FAULT_SCHEDULE_H_
