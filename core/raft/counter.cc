#include "distkit/core/raft/counter.h"

#include <utility>

#include "distkit/core/base/keys.h"
#include "distkit/core/raft/codec.h"

namespace distkit::raft {
namespace {

constexpr std::uint8_t kOk = 0;
constexpr std::uint8_t kMalformed = 1;
constexpr std::uint8_t kOverflow = 2;

Status bad(std::string_view what) {
  return protocol_error("raft counter: " + std::string(what));
}

std::string status_only(std::uint8_t status) {
  std::string out;
  put_u8(out, status);
  return out;
}

Status validate(const CounterCommand& c) {
  return validate_key(c.key);
}

}  // namespace

std::string encode_counter_command(const CounterCommand& c) {
  std::string out;
  put_u8(out, static_cast<std::uint8_t>(c.op));
  put_sized(out, c.key);
  put_u8(out, static_cast<std::uint8_t>(c.condition.op));
  put_u64(out, static_cast<std::uint64_t>(c.condition.operand));
  put_u64(out, static_cast<std::uint64_t>(c.argument));
  return out;
}

Result<CounterCommand> decode_counter_command(std::string_view bytes) {
  ByteReader r(bytes);
  CounterCommand c;
  std::uint8_t op = 0;
  std::uint8_t condition = 0;
  std::uint64_t operand = 0;
  std::uint64_t argument = 0;
  if (!r.u8(op) || op > static_cast<std::uint8_t>(CounterOp::kDelete))
    return bad("unknown command");
  if (!r.sized(c.key) || !r.u8(condition) || !r.u64(operand) || !r.u64(argument))
    return bad("a truncated command");
  if (condition > static_cast<std::uint8_t>(Condition::Op::kGt)) return bad("unknown condition");
  if (r.left() != 0) return bad("trailing bytes after a command");
  c.op = static_cast<CounterOp>(op);
  c.condition =
      Condition{static_cast<Condition::Op>(condition), static_cast<std::int64_t>(operand)};
  c.argument = static_cast<std::int64_t>(argument);
  DISTKIT_RETURN_IF_ERROR(validate(c));
  return c;
}

std::string encode_counter_answer(const Result<Change>& answer) {
  if (!answer.ok()) return status_only(kOverflow);
  std::string out = status_only(kOk);
  put_u64(out, static_cast<std::uint64_t>(answer->value));
  put_u64(out, static_cast<std::uint64_t>(answer->previous));
  put_u8(out, answer->applied ? 1 : 0);
  return out;
}

Result<Change> decode_counter_answer(std::string_view bytes) {
  ByteReader r(bytes);
  std::uint8_t status = 0;
  if (!r.u8(status)) return bad("an empty answer");
  if (status == kMalformed)
    return invalid_argument_error("raft counter: the members could not parse the command");
  if (status == kOverflow)
    return out_of_range_error("raft counter: the result would leave the int64 range");
  std::uint64_t value = 0;
  std::uint64_t previous = 0;
  std::uint8_t applied = 0;
  if (status != kOk || !r.u64(value) || !r.u64(previous) || !r.u8(applied) || applied > 1 ||
      r.left() != 0)
    return bad("a malformed answer");
  return Change{.value = static_cast<std::int64_t>(value),
                .previous = static_cast<std::int64_t>(previous),
                .applied = applied == 1};
}

std::string CounterStore::apply(const Entry& entry) {
  Result<CounterCommand> c = decode_counter_command(entry.data);
  if (!c.ok()) return status_only(kMalformed);
  auto it = values_.find(c->key);
  const std::int64_t current = it == values_.end() ? 0 : it->second;
  Change change{.value = current, .previous = current, .applied = false};
  switch (c->op) {
    case CounterOp::kGet:
      break;
    case CounterOp::kIncIf:
      if (!c->condition.matches(current)) break;
      if (__builtin_add_overflow(current, c->argument, &change.value))
        return encode_counter_answer(out_of_range_error("overflow"));
      change.applied = true;
      break;
    case CounterOp::kSetIf:
      if (!c->condition.matches(current)) break;
      change.value = c->argument;
      change.applied = true;
      break;
    case CounterOp::kDelete:
      change.value = 0;
      change.applied = it != values_.end();
      if (change.applied) values_.erase(it);
      return encode_counter_answer(change);
  }
  if (change.applied) values_.insert_or_assign(std::move(c->key), change.value);
  return encode_counter_answer(change);
}

std::string CounterStore::query(std::string_view request) const {
  Result<CounterCommand> c = decode_counter_command(request);
  if (!c.ok() || c->op != CounterOp::kGet) return status_only(kMalformed);
  auto it = values_.find(c->key);
  const std::int64_t current = it == values_.end() ? 0 : it->second;
  return encode_counter_answer(Change{.value = current, .previous = current, .applied = false});
}

Task<Result<Change>> CounterClient::run(CounterCommand command) {
  if (Status s = validate(command); !s.ok()) co_return s;
  Result<std::string> answer =
      co_await client_.request(command.op == CounterOp::kGet, encode_counter_command(command));
  if (!answer.ok()) co_return answer.status();
  co_return decode_counter_answer(*answer);
}

// (Commands are built before co_await: GCC 12 mishandles braced lists inside it.)
Task<Result<Change>> CounterClient::inc_if(std::string key, Condition condition,
                                           std::int64_t delta) {
  CounterCommand command{
      .op = CounterOp::kIncIf, .key = std::move(key), .condition = condition, .argument = delta};
  co_return co_await run(std::move(command));
}

Task<Result<Change>> CounterClient::set_if(std::string key, Condition condition,
                                           std::int64_t value) {
  CounterCommand command{
      .op = CounterOp::kSetIf, .key = std::move(key), .condition = condition, .argument = value};
  co_return co_await run(std::move(command));
}

Task<Result<std::int64_t>> CounterClient::inc(std::string key, std::int64_t delta) {
  Result<Change> c = co_await inc_if(std::move(key), Condition::always(), delta);
  if (!c.ok()) co_return c.status();
  co_return c->value;
}

Task<Result<std::int64_t>> CounterClient::set(std::string key, std::int64_t value) {
  Result<Change> c = co_await set_if(std::move(key), Condition::always(), value);
  if (!c.ok()) co_return c.status();
  co_return c->value;
}

Task<Result<std::int64_t>> CounterClient::get(std::string key) {
  CounterCommand command{.op = CounterOp::kGet, .key = std::move(key)};
  Result<Change> c = co_await run(std::move(command));
  if (!c.ok()) co_return c.status();
  co_return c->value;
}

Task<Result<std::int64_t>> CounterClient::del(std::string key) {
  CounterCommand command{.op = CounterOp::kDelete, .key = std::move(key)};
  Result<Change> c = co_await run(std::move(command));
  if (!c.ok()) co_return c.status();
  co_return c->previous;
}

std::string CounterStore::snapshot() const {
  std::string out;
  put_u64(out, values_.size());
  for (const auto& [key, value] : values_) {
    put_sized(out, key);
    put_u64(out, static_cast<std::uint64_t>(value));
  }
  return out;
}

Status CounterStore::restore(std::string_view snapshot) {
  ByteReader r(snapshot);
  std::uint64_t count = 0;
  if (!r.u64(count) || count > r.left() / 12)
    return data_loss_error("raft counter: a snapshot with a bad count");
  std::map<std::string, std::int64_t> values;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string key;
    std::uint64_t value = 0;
    if (!r.sized(key) || !r.u64(value))
      return data_loss_error("raft counter: a snapshot cut short at pair " + std::to_string(i));
    values.emplace_hint(values.end(), std::move(key), static_cast<std::int64_t>(value));
  }
  if (r.left() != 0) return data_loss_error("raft counter: bytes after the snapshot");
  values_ = std::move(values);
  return Status();
}

}  // namespace distkit::raft
