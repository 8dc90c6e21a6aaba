// Runs the counter simulation for one seed and prints what happened:
//   bazel run //examples:counter_simulation -- [seed]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "counter_simulation.h"

int main(int argc, char** argv) {
  using namespace distkit;
  std::uint64_t seed = 42;
  if (argc > 1) {
    char* end = nullptr;
    seed = std::strtoull(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0') {
      std::fprintf(stderr, "usage: %s [seed]   (seed: an unsigned integer, not \"%s\")\n", argv[0],
                   argv[1]);
      return 2;
    }
  }
  // Instances are nodes 1..3, the server node 0.
  Result<sim::FaultSchedule> faults = sim::parse_fault_schedule(
      "500000us partition 1 0; 1500000us heal-all; 1800000us loss 2 0 300; "
      "2500000us clock-offset 3 -800; 2600000us crash 2; 3000000us restart 2; "
      "3200000us partition-one-way 0 3; 3600000us redis-restart 0 0; 4200000us pause 1; "
      "4700000us resume 1");
  if (!faults.ok()) {
    std::fprintf(stderr, "%s\n", faults.status().to_string().c_str());
    return 1;
  }
  const auto started = std::chrono::steady_clock::now();
  examples::CounterSimulationResult r =
      examples::run_counter_simulation({.seed = seed, .faults = *faults});
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::printf("distkit simulation: 3 instances INCRBY one Redis counter, seed %llu\n\n",
              static_cast<unsigned long long>(seed));
  std::printf("faults (chaos phase, then everything heals):\n%s\n", r.fault_description.c_str());
  std::printf("  operations            %llu\n", static_cast<unsigned long long>(r.operations));
  std::printf("  acknowledged sum      %lld\n", static_cast<long long>(r.acknowledged));
  std::printf("  unknown-outcome sum   %lld   (reply lost: may or may not have counted)\n",
              static_cast<long long>(r.unknown));
  std::printf("  unavailable sum       %lld   (never sent: certainly not counted)\n",
              static_cast<long long>(r.unavailable));
  std::printf("  final counter         %lld\n", static_cast<long long>(r.final_value));
  std::printf("  invariant             acknowledged <= final <= acknowledged + unknown: %s\n",
              r.bounds_hold ? "holds" : "VIOLATED");
  std::printf("  simulated             %.1f s in %.2f s of wall time (%.0fx), %llu events\n",
              r.simulated_seconds, wall, r.simulated_seconds / wall,
              static_cast<unsigned long long>(r.events));
  std::printf("  trace hash            %016llx   (same seed, same hash)\n\n",
              static_cast<unsigned long long>(r.trace_hash));
  std::printf("replay: bazel run //examples:counter_simulation -- %llu\n",
              static_cast<unsigned long long>(seed));
  return r.bounds_hold ? 0 : 1;
}
