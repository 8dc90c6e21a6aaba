// The counter simulation example, used as a test: its bound holds under generated
// fault schedules, and it is deterministic.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "distkit/sim/harness/harness.h"
#include "examples/counter_simulation.h"

namespace distkit::examples {
namespace {

TEST(CounterSimulationExample, BoundHoldsAndRunsAreDeterministic) {
  Result<sim::FaultSchedule> faults = sim::parse_fault_schedule(
      "500000us partition 1 0; 1500000us heal-all; 1800000us loss 2 0 300");
  ASSERT_TRUE(faults.ok());
  CounterSimulationResult a = run_counter_simulation({.seed = 9, .faults = *faults});
  CounterSimulationResult b = run_counter_simulation({.seed = 9, .faults = *faults});
  EXPECT_TRUE(a.bounds_hold) << a.acknowledged << " <= " << a.final_value
                             << " <= " << a.acknowledged << " + " << a.unknown;
  EXPECT_GT(a.acknowledged, 0);
  EXPECT_GT(a.unknown + a.unavailable, 0) << "the faults had an effect";
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.final_value, b.final_value);
}

RC_GTEST_PROP(CounterSimulationExample, BoundHoldsUnderGeneratedFaults, (std::uint64_t seed)) {
  const sim::FaultSchedule faults =
      *sim::harness::gen_fault_schedule({1, 2, 3}, {0}, std::chrono::seconds(5));
  CounterSimulationResult r = run_counter_simulation({.seed = seed, .faults = faults});
  RC_LOG() << "seed=" << seed << " faults: " << sim::to_string(faults)
           << " acknowledged=" << r.acknowledged << " unknown=" << r.unknown
           << " final=" << r.final_value;
  RC_ASSERT(r.bounds_hold);
}

}  // namespace
}  // namespace distkit::examples
