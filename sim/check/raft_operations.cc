#include "distkit/sim/check/raft_operations.h"

#include <charconv>
#include <optional>
#include <utility>

namespace distkit::sim {
namespace {

using Kind = CounterOperation::Kind;
using Compare = CounterOperation::CompareOp;

// A register value: a decimal the workload wrote, or absent. Anything else (which the
// workload never writes) maps to a value no operation expects, so the checker fails.
std::int64_t register_value(const std::optional<std::string>& v) {
  if (!v) return kAbsentValue;
  std::int64_t out = 0;
  auto [end, error] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (error != std::errc() || end != v->data() + v->size()) return -2;
  return out;
}

}  // namespace

Task<Status> random_counter_operation(raft::CounterClient& counter, Rng& rng, std::string key,
                                      CounterOperation& op) {
  if (rng.below(5) == 0) {
    op.kind = Kind::kGet;
    Result<std::int64_t> v = co_await counter.get(std::move(key));
    if (v.ok()) op.value = *v;
    co_return v.status();
  }
  raft::CounterCommand command{.key = std::move(key)};
  switch (rng.below(4)) {
    case 0:
      op.kind = Kind::kAdd;
      op.argument = static_cast<std::int64_t>(rng.between(1, 5));
      command.op = raft::CounterOp::kIncIf;
      break;
    case 1:
      op.kind = Kind::kSet;
      op.argument = static_cast<std::int64_t>(rng.below(40));
      command.op = raft::CounterOp::kSetIf;
      break;
    case 2:
      op.kind = Kind::kAddIf;
      op.compare = Compare::kLt;
      op.operand = static_cast<std::int64_t>(rng.below(40));
      op.argument = 3;
      command.op = raft::CounterOp::kIncIf;
      command.condition = Condition::lt(op.operand);
      break;
    default:
      op.kind = Kind::kSetIf;
      op.compare = Compare::kEq;
      op.operand = static_cast<std::int64_t>(rng.below(10));
      op.argument = static_cast<std::int64_t>(rng.below(40));
      command.op = raft::CounterOp::kSetIf;
      command.condition = Condition::eq(op.operand);
      break;
  }
  command.argument = op.argument;
  Result<Change> r = co_await counter.run(std::move(command));
  if (r.ok()) {
    op.value = r->value;
    op.previous = r->previous;
    op.applied = r->applied;
  }
  co_return r.status();
}

Task<Status> random_kv_operation(raft::KvClient& kv, Rng& rng, std::string key,
                                 CounterOperation& op) {
  raft::KvCommand command{.key = std::move(key)};
  op.kind = Kind::kSetIf;
  op.compare = Compare::kAlways;
  switch (rng.below(4)) {
    case 0:
      op.kind = Kind::kGet;
      command.op = raft::KvOp::kGet;
      break;
    case 1:
      op.argument = static_cast<std::int64_t>(rng.below(20));
      command.op = raft::KvOp::kPut;
      command.value = std::to_string(op.argument);
      break;
    case 2:
      op.argument = kAbsentValue;
      command.op = raft::KvOp::kDelete;
      break;
    default:
      op.compare = Compare::kEq;
      op.operand = rng.chance(0.2) ? kAbsentValue : static_cast<std::int64_t>(rng.below(20));
      op.argument = static_cast<std::int64_t>(rng.below(20));
      command.op = raft::KvOp::kCompareAndSet;
      command.value = std::to_string(op.argument);
      if (op.operand != kAbsentValue) command.expected = std::to_string(op.operand);
      break;
  }
  const raft::KvOp kind = command.op;
  Result<raft::KvAnswer> r = co_await kv.run(std::move(command));
  if (!r.ok()) co_return r.status();
  const std::int64_t before = register_value(r->previous);
  switch (kind) {
    case raft::KvOp::kGet:
      op.value = before;
      break;
    case raft::KvOp::kPut:
    case raft::KvOp::kDelete:
      // Unconditional writes: always "apply" in the model (a delete of an absent key
      // leaves it absent).
      op.previous = before;
      op.value = op.argument;
      op.applied = true;
      break;
    case raft::KvOp::kCompareAndSet:
      op.previous = before;
      op.applied = r->applied;
      op.value = r->applied ? op.argument : before;
      break;
  }
  co_return Status();
}

}  // namespace distkit::sim
