// A linearizability checker for histories of counter operations (Wing & Gong's
// search with Lowe's memoisation, as Porcupine and Knossos do), and the history
// recorder simulation tests fill in.
//
// An operation has an invocation and a completion time in true simulated time.
// Operations that certainly did not run (kUnavailable, invalid input) are left out.
// Operations with an unknown outcome (timeout, lost reply, crashed caller) complete
// "at infinity" with any output: they may take effect at any point after their
// invocation, or never (linearized after everything observable).
// Histories of different keys are independent (P-compositionality): check each key.
#ifndef DISTKIT_SIM_CHECK_LINEARIZABILITY_H_
#define DISTKIT_SIM_CHECK_LINEARIZABILITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/async/clock.h"

namespace distkit::sim {

struct CounterOperation {
  enum class Kind : std::uint8_t { kAdd, kGet, kSet, kAddIf, kSetIf };
  enum class CompareOp : std::uint8_t { kAlways, kEq, kNe, kLt, kGt };

  Kind kind = Kind::kGet;
  std::int64_t argument = 0;  // delta for adds, value for sets
  CompareOp compare = CompareOp::kAlways;
  std::int64_t operand = 0;
  Duration invoked{0};
  std::optional<Duration> completed;  // nothing: unknown outcome
  // Outputs, when completed: the value after, the value before (conditional ops),
  // whether a conditional op applied.
  std::int64_t value = 0;
  std::int64_t previous = 0;
  bool applied = true;
  std::string process;  // who issued it, for reports
  // Certainly did not run (kUnavailable): recorders mark it, and leave it out of the
  // history they check.
  bool dropped = false;

  [[nodiscard]] std::string to_string() const;
};

struct LinearizabilityResult {
  bool linearizable = false;
  bool exhausted = false;  // the search hit its budget: no verdict
  std::uint64_t steps = 0;
  std::string explanation;  // for a failure: the operations that could not be placed
};

// Checks one key's history against a counter that starts at `initial`.
[[nodiscard]] LinearizabilityResult check_counter_linearizable(
    const std::vector<CounterOperation>& history, std::int64_t initial = 0,
    std::uint64_t max_steps = 50'000'000);

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_CHECK_LINEARIZABILITY_H_
