// An example of a user's own simulation test, written against distkit's public sim
// API: N instances share a counter in Redis (INCRBY), under a fault schedule, and
// the run checks what any client of a distributed counter must guarantee:
//
//   acknowledged <= final value <= acknowledged + unknown
//
// An INCRBY whose reply was lost (UNKNOWN) may or may not have counted; one that
// failed as UNAVAILABLE never did. The server is a small ServerModel of its own, to
// show the extension point (the library's in-memory Redis plugs in the same way).
#ifndef DISTKIT_EXAMPLES_COUNTER_SIMULATION_H_
#define DISTKIT_EXAMPLES_COUNTER_SIMULATION_H_

#include <cstdint>
#include <string>

#include "distkit/sim/faults/fault_schedule.h"

namespace distkit::examples {

struct CounterSimulationOptions {
  std::uint64_t seed = 1;
  int instances = 3;
  sim::FaultSchedule faults;
  Duration chaos = std::chrono::seconds(5);
  Duration healing = std::chrono::seconds(3);
};

struct CounterSimulationResult {
  std::int64_t acknowledged = 0;  // sum of increments the server confirmed
  std::int64_t unknown = 0;       // sum of increments with an UNKNOWN outcome
  std::int64_t unavailable = 0;   // sum of increments certainly not applied
  std::int64_t final_value = 0;   // the counter read after healing
  std::uint64_t operations = 0;
  std::uint64_t events = 0;
  std::uint64_t trace_hash = 0;
  double simulated_seconds = 0;
  bool bounds_hold = false;
  std::string fault_description;  // the schedule, with node names
};

[[nodiscard]] CounterSimulationResult run_counter_simulation(
    const CounterSimulationOptions& options);

}  // namespace distkit::examples

#endif  // DISTKIT_EXAMPLES_COUNTER_SIMULATION_H_
