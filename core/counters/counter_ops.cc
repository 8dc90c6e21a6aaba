#include "distkit/core/counters/counter_ops.h"

namespace distkit {

const char* Condition::script_name() const {
  switch (op) {
    case Op::kAlways:
      return "always";
    case Op::kEq:
      return "eq";
    case Op::kNe:
      return "ne";
    case Op::kLt:
      return "lt";
    case Op::kGt:
      return "gt";
  }
  return "always";
}

bool Condition::matches(std::int64_t current) const {
  switch (op) {
    case Op::kAlways:
      return true;
    case Op::kEq:
      return current == operand;
    case Op::kNe:
      return current != operand;
    case Op::kLt:
      return current < operand;
    case Op::kGt:
      return current > operand;
  }
  return false;
}

}  // namespace distkit
