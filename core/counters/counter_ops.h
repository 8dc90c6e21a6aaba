// The conditions and outcomes of counter operations, shared by every strict counter:
// StrictCounter on Redis and the Raft-replicated counter (core/raft), so one workload
// and one checker compare them.
#ifndef DISTKIT_CORE_COUNTERS_COUNTER_OPS_H_
#define DISTKIT_CORE_COUNTERS_COUNTER_OPS_H_

#include <cstdint>

namespace distkit {

// When a conditional operation applies, judged on the current value (0 if missing).
struct Condition {
  enum class Op : std::uint8_t { kAlways, kEq, kNe, kLt, kGt };
  Op op = Op::kAlways;
  std::int64_t operand = 0;

  static Condition always() { return {}; }
  static Condition eq(std::int64_t v) { return {Op::kEq, v}; }
  static Condition ne(std::int64_t v) { return {Op::kNe, v}; }
  static Condition lt(std::int64_t v) { return {Op::kLt, v}; }  // current < v
  static Condition gt(std::int64_t v) { return {Op::kGt, v}; }  // current > v
  [[nodiscard]] bool matches(std::int64_t current) const;
  // The comparator as the counter scripts spell it ("always", "eq", ...).
  [[nodiscard]] const char* script_name() const;
};

// The value after and before a conditional operation, and whether it applied (when
// it did not, value == previous and nothing was written).
struct Change {
  std::int64_t value = 0;
  std::int64_t previous = 0;
  bool applied = false;
  friend bool operator==(const Change&, const Change&) = default;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_COUNTERS_COUNTER_OPS_H_
