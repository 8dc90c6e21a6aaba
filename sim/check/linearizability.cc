#include "distkit/sim/check/linearizability.h"

#include <algorithm>
#include <limits>
#include <set>

namespace distkit::sim {
namespace {

bool matches(CounterOperation::CompareOp op, std::int64_t current, std::int64_t operand) {
  switch (op) {
    case CounterOperation::CompareOp::kAlways:
      return true;
    case CounterOperation::CompareOp::kEq:
      return current == operand;
    case CounterOperation::CompareOp::kNe:
      return current != operand;
    case CounterOperation::CompareOp::kLt:
      return current < operand;
    case CounterOperation::CompareOp::kGt:
      return current > operand;
  }
  return false;
}

// The counter model: is `op` (with its recorded output) legal in `state`, and what
// state follows? An operation of unknown outcome accepts any output.
std::optional<std::int64_t> step(std::int64_t state, const CounterOperation& op) {
  const bool known = op.completed.has_value();
  using K = CounterOperation::Kind;
  switch (op.kind) {
    case K::kGet:
      if (known && op.value != state) return std::nullopt;
      return state;
    case K::kAdd: {
      std::int64_t next = 0;
      if (__builtin_add_overflow(state, op.argument, &next)) return std::nullopt;
      if (known && op.value != next) return std::nullopt;
      return next;
    }
    case K::kSet:
      if (known && op.value != op.argument) return std::nullopt;
      return op.argument;
    case K::kAddIf:
    case K::kSetIf: {
      const bool applies = matches(op.compare, state, op.operand);
      std::int64_t next = state;
      if (applies) {
        if (op.kind == K::kSetIf) {
          next = op.argument;
        } else if (__builtin_add_overflow(state, op.argument, &next)) {
          return std::nullopt;
        }
      }
      if (known && (op.previous != state || op.applied != applies || op.value != next))
        return std::nullopt;
      return next;
    }
  }
  return std::nullopt;
}

struct Entry {
  bool is_call;
  std::size_t op;
  Duration time;
  Entry* prev = nullptr;
  Entry* next = nullptr;
  Entry* match = nullptr;  // call <-> return
};

}  // namespace

std::string CounterOperation::to_string() const {
  static const char* const kKinds[] = {"add", "get", "set", "add_if", "set_if"};
  static const char* const kOps[] = {"always", "eq", "ne", "lt", "gt"};
  std::string out = process + " " + kKinds[static_cast<int>(kind)];
  if (kind != Kind::kGet) out += "(" + std::to_string(argument) + ")";
  if (kind == Kind::kAddIf || kind == Kind::kSetIf) {
    out += std::string(" if ") + kOps[static_cast<int>(compare)] + " " + std::to_string(operand);
  }
  out += " @" +
         std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(invoked).count()) +
         "us";
  if (!completed) return out + " -> unknown";
  out += ".." +
         std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(*completed).count()) +
         "us -> " + std::to_string(value);
  if (kind == Kind::kAddIf || kind == Kind::kSetIf) {
    out += " (was " + std::to_string(previous) + (applied ? ", applied)" : ", not applied)");
  }
  return out;
}

LinearizabilityResult check_counter_linearizable(const std::vector<CounterOperation>& history,
                                                 std::int64_t initial, std::uint64_t max_steps) {
  LinearizabilityResult result;
  const std::size_t n = history.size();
  if (n == 0) {
    result.linearizable = true;
    return result;
  }
  // Events in time order; at equal times calls come first (closed intervals overlap).
  const Duration infinity = Duration(std::numeric_limits<Duration::rep>::max());
  std::vector<Entry> entries;
  entries.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    entries.push_back(Entry{true, i, history[i].invoked});
    entries.push_back(Entry{false, i, history[i].completed.value_or(infinity)});
  }
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (entries[a].time != entries[b].time) return entries[a].time < entries[b].time;
    return entries[a].is_call && !entries[b].is_call;
  });
  Entry head{true, 0, Duration(0)};
  Entry* last = &head;
  std::vector<Entry*> call_of(n), return_of(n);
  for (std::size_t index : order) {
    Entry* e = &entries[index];
    last->next = e;
    e->prev = last;
    last = e;
    (e->is_call ? call_of : return_of)[e->op] = e;
  }
  for (std::size_t i = 0; i < n; ++i) {
    call_of[i]->match = return_of[i];
    return_of[i]->match = call_of[i];
  }
  const auto lift = [](Entry* call) {
    call->prev->next = call->next;
    if (call->next) call->next->prev = call->prev;
    Entry* ret = call->match;
    ret->prev->next = ret->next;
    if (ret->next) ret->next->prev = ret->prev;
  };
  const auto unlift = [](Entry* call) {
    Entry* ret = call->match;
    ret->prev->next = ret;
    if (ret->next) ret->next->prev = ret;
    call->prev->next = call;
    if (call->next) call->next->prev = call;
  };

  std::vector<bool> linearized(n, false);
  std::set<std::pair<std::vector<bool>, std::int64_t>> cache;
  struct Frame {
    Entry* call;
    std::int64_t state_before;
  };
  std::vector<Frame> stack;
  std::int64_t state = initial;
  // The operation that failed deepest in the search, for the explanation.
  std::size_t deepest = 0;
  std::optional<std::pair<std::size_t, std::int64_t>> blocked;
  Entry* entry = head.next;
  while (head.next != nullptr) {
    if (++result.steps > max_steps) {
      result.exhausted = true;
      result.explanation = "search budget exhausted after " + std::to_string(max_steps) + " steps";
      return result;
    }
    if (entry == nullptr) break;  // only unknown returns remain past the end
    if (entry->is_call) {
      std::optional<std::int64_t> next = step(state, history[entry->op]);
      bool advanced = false;
      if (next) {
        linearized[entry->op] = true;
        if (cache.insert({linearized, *next}).second) {
          stack.push_back({entry, state});
          state = *next;
          lift(entry);
          entry = head.next;
          advanced = true;
        } else {
          linearized[entry->op] = false;
        }
      }
      if (!next && (!blocked || stack.size() >= deepest)) {
        deepest = stack.size();
        blocked = std::make_pair(entry->op, state);
      }
      if (!advanced) entry = entry->next;
      continue;
    }
    // A return whose operation is not placed yet: undo the last choice. Unknown
    // operations "return" at infinity, so reaching one means all known ones are placed.
    if (!history[entry->op].completed) {
      result.linearizable = true;
      return result;
    }
    if (stack.empty()) {
      result.explanation = "no order explains the history";
      if (blocked) {
        result.explanation += "; deepest conflict: " + history[blocked->first].to_string() +
                              " against a value of " + std::to_string(blocked->second) + " after " +
                              std::to_string(deepest) + " operations placed";
      }
      return result;
    }
    Frame top = stack.back();
    stack.pop_back();
    state = top.state_before;
    linearized[top.call->op] = false;
    unlift(top.call);
    entry = top.call->next;
  }
  result.linearizable = true;
  return result;
}

}  // namespace distkit::sim
