#include "distkit/core/counters/strict_counter.h"

#include <charconv>
#include <limits>

#include "distkit/core/seam/in_input_order.h"
#include "distkit/core/seam/script_error.h"

namespace distkit {
namespace {

#include "core/counters/strict_counter_lua.inc"

const RedisScript& inc_if_script() {
  static const RedisScript script(kStrictIncIfLua);
  return script;
}
const RedisScript& set_if_script() {
  static const RedisScript script(kStrictSetIfLua);
  return script;
}
const RedisScript& del_script() {
  static const RedisScript script(kStrictDelLua);
  return script;
}

Result<Change> parse_change(const Result<RedisReply>& outcome) {
  if (!outcome.ok()) return script_status(outcome.status());
  const RedisReply& r = *outcome;
  if (!r.is_array() || r.elements().size() != 3)
    return protocol_error("unexpected reply " + r.to_string());
  DISTKIT_ASSIGN_OR_RETURN(std::int64_t value, parse_counter_value(r.elements()[0]));
  DISTKIT_ASSIGN_OR_RETURN(std::int64_t previous, parse_counter_value(r.elements()[1]));
  return Change{value, previous, r.elements()[2] == RedisReply::bulk_string("1")};
}

// A field as stored (HGET) or as the del script returns it: nil reads 0, and a value
// something other than a counter wrote is the caller's problem to know about, not a
// broken server (unlike a script reply, which always carries an int64).
Result<std::int64_t> parse_optional_value(const Result<RedisReply>& outcome) {
  if (!outcome.ok()) return script_status(outcome.status());
  if (outcome->is_nil()) return std::int64_t{0};
  Result<std::int64_t> value = parse_counter_value(*outcome);
  if (!value.ok() && outcome->is_bulk_string()) {
    return failed_precondition_error("the field holds \"" + outcome->text() +
                                     "\", not an int64 (something other than a counter wrote it)");
  }
  return value;
}

ScriptCall conditional_call(const RedisScript& script, const std::string& hash, std::string key,
                            Condition condition, std::int64_t argument) {
  return ScriptCall{&script,
                    {hash},
                    {std::move(key), condition.script_name(), std::to_string(condition.operand),
                     std::to_string(argument)}};
}

}  // namespace

Result<std::int64_t> parse_counter_value(const RedisReply& reply) {
  if (!reply.is_bulk_string()) {
    return protocol_error("expected a counter value, got " + reply.to_string());
  }
  std::int64_t value = 0;
  const std::string& text = reply.text();
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  // Canonical only, as Redis writes an integer: from_chars alone would take "007" and "-0".
  if (error != std::errc() || end != text.data() + text.size() || std::to_string(value) != text) {
    return protocol_error("the counter holds \"" + text + "\", not an int64");
  }
  return value;
}

const RedisScript& StrictCounter::inc_script() {
  return inc_if_script();
}

Result<StrictCounter> StrictCounter::create(RedisConnection& redis, std::string prefix) {
  DISTKIT_RETURN_IF_ERROR(validate_key(prefix, "prefix"));
  return StrictCounter(redis, "{" + prefix + "}:strict_counter");
}

Task<Result<Change>> StrictCounter::inc_if(std::string key, Condition condition,
                                           std::int64_t delta) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  ScriptCall call = conditional_call(inc_if_script(), hash_, std::move(key), condition, delta);
  co_return parse_change(
      co_await redis_->eval(*call.script, std::move(call.keys), std::move(call.args)));
}

Task<Result<std::int64_t>> StrictCounter::inc(std::string key, std::int64_t delta) {
  Result<Change> change = co_await inc_if(std::move(key), Condition::always(), delta);
  if (!change.ok()) co_return change.status();
  co_return change->value;
}

Task<Result<std::int64_t>> StrictCounter::dec(std::string key, std::int64_t delta) {
  if (delta == std::numeric_limits<std::int64_t>::min()) {
    co_return out_of_range_error("dec by INT64_MIN: its negation is not an int64");
  }
  co_return co_await inc(std::move(key), -delta);
}

Task<Result<std::int64_t>> StrictCounter::get(std::string key) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  co_return parse_optional_value(co_await redis_->command("HGET", hash_, key));
}

Task<Result<Change>> StrictCounter::set_if(std::string key, Condition condition,
                                           std::int64_t value) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  ScriptCall call = conditional_call(set_if_script(), hash_, std::move(key), condition, value);
  co_return parse_change(
      co_await redis_->eval(*call.script, std::move(call.keys), std::move(call.args)));
}

Task<Result<std::int64_t>> StrictCounter::set(std::string key, std::int64_t value) {
  Result<Change> change = co_await set_if(std::move(key), Condition::always(), value);
  if (!change.ok()) co_return change.status();
  co_return change->value;
}

Task<Result<std::int64_t>> StrictCounter::del(std::string key) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  const std::vector<std::string> keys(1, hash_);
  const std::vector<std::string> args(1, key);
  co_return parse_optional_value(co_await redis_->eval(del_script(), keys, args));
}

Task<Status> StrictCounter::clear() {
  Result<RedisReply> deleted = co_await redis_->command("DEL", hash_);
  co_return deleted.status();
}

Task<std::vector<Result<std::int64_t>>> StrictCounter::get_all(std::vector<std::string> keys) {
  co_return co_await in_input_order<std::int64_t>(
      keys.size(),
      [&](std::size_t i) -> Result<RedisCommand> {
        DISTKIT_RETURN_IF_ERROR(validate_key(keys[i]));
        return RedisCommand{"HGET", hash_, keys[i]};
      },
      [this](std::vector<RedisCommand> commands) {
        return redis_->execute_pipeline(std::move(commands));
      },
      [](std::size_t, const Result<RedisReply>& reply) { return parse_optional_value(reply); });
}

namespace {

// Runs one conditional script per item in one pipeline; invalid keys fail alone.
template <typename Item>
Task<std::vector<Result<Change>>> run_all(RedisConnection& redis, const RedisScript& script,
                                          const std::string& hash, std::vector<Item> items,
                                          std::int64_t Item::*argument) {
  co_return co_await in_input_order<Change>(
      items.size(),
      [&](std::size_t i) -> Result<ScriptCall> {
        DISTKIT_RETURN_IF_ERROR(validate_key(items[i].key));
        return conditional_call(script, hash, std::move(items[i].key), items[i].condition,
                                items[i].*argument);
      },
      [&](std::vector<ScriptCall> calls) { return redis.eval_pipeline(std::move(calls)); },
      [](std::size_t, const Result<RedisReply>& reply) { return parse_change(reply); });
}

}  // namespace

Task<std::vector<Result<Change>>> StrictCounter::inc_all(std::vector<Increment> increments) {
  co_return co_await run_all(*redis_, inc_if_script(), hash_, std::move(increments),
                             &Increment::delta);
}

Task<std::vector<Result<Change>>> StrictCounter::set_all(std::vector<Assignment> assignments) {
  co_return co_await run_all(*redis_, set_if_script(), hash_, std::move(assignments),
                             &Assignment::value);
}

}  // namespace distkit
