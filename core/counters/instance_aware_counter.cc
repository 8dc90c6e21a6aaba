#include "distkit/core/counters/instance_aware_counter.h"

#include <limits>
#include <string_view>

#include "distkit/core/counters/delta_buffer.h"
#include "distkit/core/seam/in_input_order.h"
#include "distkit/core/seam/script_error.h"

namespace distkit {
namespace {

#include "core/counters/instance_aware_lua.inc"

#define DISTKIT_SCRIPT(function, source)     \
  const RedisScript& function() {            \
    static const RedisScript script(source); \
    return script;                           \
  }
DISTKIT_SCRIPT(inc_script, kIaIncLua)
DISTKIT_SCRIPT(set_script, kIaSetLua)
DISTKIT_SCRIPT(set_on_instance_script, kIaSetOnInstanceLua)
DISTKIT_SCRIPT(get_script, kIaGetLua)
DISTKIT_SCRIPT(del_script, kIaDelLua)
DISTKIT_SCRIPT(del_on_instance_script, kIaDelOnInstanceLua)
DISTKIT_SCRIPT(clear_script, kIaClearLua)
DISTKIT_SCRIPT(heartbeat_script, kIaHeartbeatLua)
DISTKIT_SCRIPT(reap_script, kIaReapLua)
DISTKIT_SCRIPT(recover_script, kIaRecoverLua)
DISTKIT_SCRIPT(retire_script, kIaRetireLua)
DISTKIT_SCRIPT(flush_script, kIaFlushLua)
#undef DISTKIT_SCRIPT

// How many dead owners one heartbeat takes on, and how many reap steps it spends on
// each before the next heartbeat continues.
constexpr std::size_t kOwnersPerHeartbeat = 16;
constexpr int kReapStepsPerOwner = 64;

bool is_reaped(const Result<RedisReply>& reply) {
  return !reply.ok() && classify_script_error(reply.status()) == ScriptError::kReaped;
}

std::string random_instance_id(Executor& executor) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int half = 0; half < 2; ++half) {
    std::uint64_t bits = executor.entropy();
    for (int i = 0; i < 16; ++i, bits >>= 4)
      id.push_back(kHex[bits & 15]);
  }
  return id;
}

std::int64_t millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

Result<std::unique_ptr<StrictInstanceAwareCounter>> StrictInstanceAwareCounter::create(
    RedisConnection& redis, Executor& executor, InstanceAwareCounterOptions options) {
  return create_family(redis, executor, std::move(options), kStrictFamily);
}

Result<std::unique_ptr<StrictInstanceAwareCounter>> StrictInstanceAwareCounter::create_family(
    RedisConnection& redis, Executor& executor, InstanceAwareCounterOptions options,
    std::string_view family) {
  DISTKIT_RETURN_IF_ERROR(validate_key(options.prefix, "prefix"));
  if (options.instance_id.empty()) options.instance_id = random_instance_id(executor);
  DISTKIT_RETURN_IF_ERROR(validate_instance_id(options.instance_id));
  if (options.dead_instance_threshold < std::chrono::milliseconds(10)) {
    return invalid_argument_error("dead_instance_threshold must be at least 10 ms");
  }
  if (options.heartbeat_interval == Duration(0))
    options.heartbeat_interval = options.dead_instance_threshold / 3;
  if (options.heartbeat_interval <= Duration(0) ||
      options.heartbeat_interval >= options.dead_instance_threshold) {
    return invalid_argument_error(
        "heartbeat_interval must be positive and below dead_instance_threshold");
  }
  if (options.reap_batch == 0 || options.recovery_batch == 0 || options.max_keys == 0) {
    return invalid_argument_error("reap_batch, recovery_batch and max_keys must be positive");
  }
  if (options.session == 0) options.session = executor.entropy() >> 2 | 1;
  std::string name = "{" + options.prefix + "}:" + std::string(family);
  std::unique_ptr<StrictInstanceAwareCounter> counter(
      new StrictInstanceAwareCounter(redis, executor, std::move(options), std::move(name)));
  if (counter->options_.background_heartbeat) {
    // Failures: the next heartbeat tries again.
    counter->heartbeats_.start(
        [c = counter.get()]() -> Task<void> { (void)co_await c->heartbeat(); });
  }
  return counter;
}

StrictInstanceAwareCounter::StrictInstanceAwareCounter(RedisConnection& redis, Executor& executor,
                                                       InstanceAwareCounterOptions options,
                                                       std::string family)
    : redis_(redis),
      executor_(executor),
      options_(std::move(options)),
      family_(std::move(family)),
      epochs_key_(family_ + ":epochs"),
      instances_key_(family_ + ":instances"),
      reaping_key_(family_ + ":reaping"),
      cumulative_key_(family_ + ":cumulative"),
      recovery_(executor),
      heartbeats_(executor, options_.heartbeat_interval) {
  set_owner(options_.session);
}

StrictInstanceAwareCounter::~StrictInstanceAwareCounter() = default;

void StrictInstanceAwareCounter::set_owner(std::uint64_t incarnation) {
  incarnation_ = incarnation;
  owner_ = options_.instance_id + "." + std::to_string(incarnation_);
  owner_slices_ = slices_key(owner_);
}

std::string StrictInstanceAwareCounter::slices_key(const std::string& owner) const {
  return family_ + ":slices:" + owner;
}

ScriptCall StrictInstanceAwareCounter::owner_call(const OwnerCall& call) const {
  std::vector<std::string> args;
  args.reserve(call.args.size() + 1);
  args.push_back(owner_);
  args.insert(args.end(), call.args.begin(), call.args.end());
  return ScriptCall{
      call.script, {epochs_key_, instances_key_, cumulative_key_, owner_slices_}, std::move(args)};
}

Task<Status> StrictInstanceAwareCounter::ensure_live() {
  // Everything waits while a recovery runs: an operation of the new incarnation
  // before its slice is restored would make the restore skip that key.
  auto recovering = co_await recovery_.lock();
  if (live_) co_return Status();
  co_return co_await recover();
}

Task<Status> StrictInstanceAwareCounter::recover() {
  // A few rounds: if this incarnation is found dead again while it restores, the
  // next one starts over (what the dead one restored is reaped like any slice).
  for (int round = 0; round < 4; ++round) {
    if (needs_new_incarnation_) {
      set_owner(incarnation_ + 1);
      needs_new_incarnation_ = false;
    }
    std::vector<std::pair<std::string, Remembered>> to_restore(remembered_.begin(),
                                                               remembered_.end());
    bool reaped = false;
    std::size_t done = 0;
    do {
      const std::size_t end = std::min(to_restore.size(), done + options_.recovery_batch);
      std::vector<std::string> args = {owner_, done == 0 ? "1" : "0"};
      for (std::size_t i = done; i < end; ++i) {
        args.push_back(to_restore[i].first);
        args.push_back(to_restore[i].second.epoch);
        args.push_back(std::to_string(to_restore[i].second.slice));
      }
      std::vector<std::string> keys = {epochs_key_, instances_key_, cumulative_key_, owner_slices_,
                                       reaping_key_};
      Result<RedisReply> reply =
          co_await redis_.eval(recover_script(), std::move(keys), std::move(args));
      if (is_reaped(reply)) {
        reaped = true;
        break;
      }
      // Unknown or failed: retried later with the same incarnation (each chunk is
      // idempotent: a restored slice is never restored twice).
      if (!reply.ok()) co_return reply.status();
      if (!reply->is_array() || reply->elements().size() != end - done)
        co_return protocol_error("unexpected recovery reply " + reply->to_string());
      for (std::size_t i = done; i < end; ++i) {
        const RedisReply& state = reply->elements()[i - done];
        if (!state.is_bulk_string())
          co_return protocol_error("unexpected recovery state " + state.to_string());
        if (state.text() == "stale" || state.text() == "overflow") {
          remembered_.erase(to_restore[i].first);
          ++stale_dropped_;
        }
      }
      done = end;
    } while (done < to_restore.size());
    if (reaped) {
      needs_new_incarnation_ = true;
      continue;
    }
    if (used_) ++recoveries_;
    used_ = true;
    live_ = true;
    co_return Status();
  }
  co_return unavailable_error("instance " + options_.instance_id +
                              " was found dead again during each of 4 recoveries");
}

Task<std::vector<Result<RedisReply>>> StrictInstanceAwareCounter::run_as_owner(
    std::vector<OwnerCall> calls) {
  std::vector<std::optional<Result<RedisReply>>> results(calls.size());
  std::vector<std::size_t> pending(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i)
    pending[i] = i;
  for (int attempt = 0; attempt < 3 && !pending.empty(); ++attempt) {
    if (Status live = co_await ensure_live(); !live.ok()) {
      for (std::size_t i : pending)
        results[i] = live;
      pending.clear();
      break;
    }
    const std::string owner = owner_;
    std::vector<ScriptCall> batch;
    batch.reserve(pending.size());
    for (std::size_t i : pending)
      batch.push_back(owner_call(calls[i]));
    std::vector<Result<RedisReply>> replies = co_await redis_.eval_pipeline(std::move(batch));
    std::vector<std::size_t> again;
    for (std::size_t j = 0; j < pending.size(); ++j) {
      if (is_reaped(replies[j])) {
        // Refused before writing anything: safe to run again as the next incarnation.
        if (owner == owner_ && live_) {
          live_ = false;
          needs_new_incarnation_ = true;
        }
        again.push_back(pending[j]);
      } else {
        results[pending[j]] = std::move(replies[j]);
      }
    }
    pending = std::move(again);
  }
  for (std::size_t i : pending)
    results[i] = unavailable_error("instance " + options_.instance_id + " keeps being found dead");
  co_return take_all(results);
}

Task<Result<std::vector<Result<SliceValue>>>> StrictInstanceAwareCounter::add_batch(
    std::uint64_t number, std::vector<Delta> deltas) {
  OwnerCall call{&flush_script(), {std::to_string(number)}};
  call.args.reserve(1 + 2 * deltas.size());
  for (const Delta& d : deltas) {
    call.args.push_back(d.key);
    call.args.push_back(std::to_string(d.delta));
  }
  std::vector<OwnerCall> calls;
  calls.push_back(std::move(call));
  std::vector<Result<RedisReply>> replies = co_await run_as_owner(std::move(calls));
  // Each item: {cumulative, slice, epoch}.
  struct Applied {
    SliceValue value;
    std::string epoch;
  };
  Result<std::vector<Result<Applied>>> items = parse_flush_reply<Applied>(
      replies[0], deltas.size(), [](const RedisReply& item) -> Result<Applied> {
        const bool shaped =
            item.is_array() && item.elements().size() == 3 && item.elements()[2].is_bulk_string();
        Result<std::int64_t> cumulative =
            shaped ? parse_counter_value(item.elements()[0]) : protocol_error("bad item");
        Result<std::int64_t> slice =
            shaped ? parse_counter_value(item.elements()[1]) : protocol_error("bad item");
        if (!cumulative.ok() || !slice.ok()) {
          return protocol_error("unexpected flush item " + item.to_string());
        }
        return Applied{SliceValue{*cumulative, *slice}, item.elements()[2].text()};
      });
  if (!items.ok()) co_return items.status();
  std::vector<Result<SliceValue>> out;
  out.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    Result<Applied>& item = (*items)[i];
    if (!item.ok()) {
      out.push_back(item.status());
      continue;
    }
    remember(deltas[i].key, item->epoch, item->value.slice);
    out.push_back(item->value);
  }
  co_return out;
}

bool StrictInstanceAwareCounter::may_remember(const std::string& key) const {
  return remembered_.size() < options_.max_keys || remembered_.contains(key);
}

void StrictInstanceAwareCounter::remember(const std::string& key, const std::string& epoch,
                                          std::int64_t slice) {
  if (slice == 0) {
    remembered_.erase(key);  // nothing to restore
    return;
  }
  remembered_[key] = Remembered{epoch, slice};
}

Result<SliceChange> StrictInstanceAwareCounter::parse_change(const std::string& key,
                                                             const Result<RedisReply>& reply) {
  if (!reply.ok()) return script_status(reply.status());
  const RedisReply& r = *reply;
  if (!r.is_array() || r.elements().size() != 6)
    return protocol_error("unexpected reply " + r.to_string());
  const auto& e = r.elements();
  SliceChange change;
  DISTKIT_ASSIGN_OR_RETURN(change.value.cumulative, parse_counter_value(e[0]));
  DISTKIT_ASSIGN_OR_RETURN(change.value.slice, parse_counter_value(e[1]));
  DISTKIT_ASSIGN_OR_RETURN(change.previous.cumulative, parse_counter_value(e[2]));
  DISTKIT_ASSIGN_OR_RETURN(change.previous.slice, parse_counter_value(e[3]));
  change.applied = e[4] == RedisReply::bulk_string("1");
  if (!e[5].is_bulk_string()) return protocol_error("unexpected epoch " + e[5].to_string());
  remember(key, e[5].text(), change.value.slice);
  return change;
}

Task<Result<SliceChange>> StrictInstanceAwareCounter::change(const RedisScript& script,
                                                             std::string key, Condition condition,
                                                             std::int64_t argument) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  if (!may_remember(key)) {
    co_return resource_exhausted_error("an instance-aware counter remembers at most " +
                                       std::to_string(options_.max_keys) + " keys");
  }
  std::vector<OwnerCall> calls;
  calls.push_back({&script,
                   {key, condition.script_name(), std::to_string(condition.operand),
                    std::to_string(argument)}});
  std::vector<Result<RedisReply>> replies = co_await run_as_owner(std::move(calls));
  co_return parse_change(key, replies[0]);
}

Task<Result<SliceChange>> StrictInstanceAwareCounter::change_without_condition(
    const RedisScript& script, std::string key) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  std::vector<OwnerCall> calls;
  calls.push_back({&script, {key}});
  std::vector<Result<RedisReply>> replies = co_await run_as_owner(std::move(calls));
  co_return parse_change(key, replies[0]);
}

Task<Result<SliceChange>> StrictInstanceAwareCounter::inc_if(std::string key, Condition condition,
                                                             std::int64_t delta) {
  co_return co_await change(inc_script(), std::move(key), condition, delta);
}

Task<Result<SliceValue>> StrictInstanceAwareCounter::inc(std::string key, std::int64_t delta) {
  Result<SliceChange> c = co_await change(inc_script(), std::move(key), Condition(), delta);
  if (!c.ok()) co_return c.status();
  co_return c->value;
}

Task<Result<SliceValue>> StrictInstanceAwareCounter::dec(std::string key, std::int64_t delta) {
  if (delta == std::numeric_limits<std::int64_t>::min()) {
    co_return out_of_range_error("dec by INT64_MIN: its negation is not an int64");
  }
  co_return co_await inc(std::move(key), -delta);
}

Task<Result<SliceChange>> StrictInstanceAwareCounter::set_if(std::string key, Condition condition,
                                                             std::int64_t value) {
  co_return co_await change(set_script(), std::move(key), condition, value);
}

Task<Result<SliceValue>> StrictInstanceAwareCounter::set(std::string key, std::int64_t value) {
  Result<SliceChange> c = co_await change(set_script(), std::move(key), Condition(), value);
  if (!c.ok()) co_return c.status();
  co_return c->value;
}

Task<Result<SliceChange>> StrictInstanceAwareCounter::set_on_instance_if(std::string key,
                                                                         Condition condition,
                                                                         std::int64_t value) {
  co_return co_await change(set_on_instance_script(), std::move(key), condition, value);
}

Task<Result<SliceValue>> StrictInstanceAwareCounter::set_on_instance(std::string key,
                                                                     std::int64_t value) {
  Result<SliceChange> c =
      co_await change(set_on_instance_script(), std::move(key), Condition(), value);
  if (!c.ok()) co_return c.status();
  co_return c->value;
}

Task<Result<SliceValue>> StrictInstanceAwareCounter::del(std::string key) {
  Result<SliceChange> c = co_await change_without_condition(del_script(), std::move(key));
  if (!c.ok()) co_return c.status();
  co_return c->previous;
}

Task<Result<SliceChange>> StrictInstanceAwareCounter::del_on_instance(std::string key) {
  co_return co_await change_without_condition(del_on_instance_script(), std::move(key));
}

namespace {

Result<SliceValue> parse_get(const Result<RedisReply>& reply, std::string* epoch) {
  if (!reply.ok()) return script_status(reply.status());
  const RedisReply& r = *reply;
  if (!r.is_array() || r.elements().size() != 3 || !r.elements()[2].is_bulk_string())
    return protocol_error("unexpected reply " + r.to_string());
  SliceValue value;
  DISTKIT_ASSIGN_OR_RETURN(value.cumulative, parse_counter_value(r.elements()[0]));
  DISTKIT_ASSIGN_OR_RETURN(value.slice, parse_counter_value(r.elements()[1]));
  *epoch = r.elements()[2].text();
  return value;
}

}  // namespace

Task<Result<SliceValue>> StrictInstanceAwareCounter::get(std::string key) {
  std::vector<std::string> keys;
  keys.push_back(std::move(key));
  std::vector<Result<SliceValue>> values = co_await get_all(std::move(keys));
  co_return std::move(values[0]);
}

Task<std::vector<Result<SliceValue>>> StrictInstanceAwareCounter::get_all(
    std::vector<std::string> keys) {
  co_return co_await in_input_order<SliceValue>(
      keys.size(),
      [&](std::size_t i) -> Result<OwnerCall> {
        DISTKIT_RETURN_IF_ERROR(validate_key(keys[i]));
        return OwnerCall{&get_script(), {keys[i]}};
      },
      [this](std::vector<OwnerCall> calls) { return run_as_owner(std::move(calls)); },
      [&](std::size_t i, const Result<RedisReply>& reply) {
        std::string epoch;
        Result<SliceValue> value = parse_get(reply, &epoch);
        // A read also tells what this instance holds (0: a set or del elsewhere made it
        // stale).
        if (value.ok() && may_remember(keys[i])) remember(keys[i], epoch, value->slice);
        return value;
      });
}

Task<std::vector<Result<SliceChange>>> StrictInstanceAwareCounter::inc_all(
    std::vector<StrictCounter::Increment> items) {
  co_return co_await in_input_order<SliceChange>(
      items.size(),
      [&](std::size_t i) -> Result<OwnerCall> {
        DISTKIT_RETURN_IF_ERROR(validate_key(items[i].key));
        if (!may_remember(items[i].key)) {
          return resource_exhausted_error("an instance-aware counter remembers at most " +
                                          std::to_string(options_.max_keys) + " keys");
        }
        return OwnerCall{
            &inc_script(),
            {items[i].key, items[i].condition.script_name(),
             std::to_string(items[i].condition.operand), std::to_string(items[i].delta)}};
      },
      [this](std::vector<OwnerCall> calls) { return run_as_owner(std::move(calls)); },
      [&](std::size_t i, const Result<RedisReply>& reply) {
        return parse_change(items[i].key, reply);
      });
}

Task<Status> StrictInstanceAwareCounter::clear() {
  std::vector<std::string> keys = {epochs_key_, cumulative_key_};
  Result<RedisReply> reply = co_await redis_.eval(clear_script(), std::move(keys), {});
  if (!reply.ok()) co_return reply.status();
  remembered_.clear();  // every slice anywhere is stale now
  co_return Status();
}

Task<Status> StrictInstanceAwareCounter::clear_on_instance() {
  { auto no_recovery_runs = co_await recovery_.lock(); }
  // Retire this incarnation as if it were found dead: its slices are then removed
  // (bounded steps) by the same reaper, and the next operation registers anew.
  const std::string retired = owner_;
  std::vector<std::string> keys = {instances_key_, reaping_key_};
  std::vector<std::string> args = {retired};
  Result<RedisReply> moved =
      co_await redis_.eval(retire_script(), std::move(keys), std::move(args));
  if (!moved.ok()) co_return moved.status();
  if (owner_ == retired) {
    live_ = false;
    needs_new_incarnation_ = true;
  }
  remembered_.clear();
  used_ = false;  // nothing of this instance left: the next registration is a fresh start
  co_return co_await reap(retired);
}

Task<Status> StrictInstanceAwareCounter::reap(const std::string& dead_owner) {
  for (int step = 0; step < kReapStepsPerOwner; ++step) {
    std::vector<std::string> keys = {epochs_key_, cumulative_key_, slices_key(dead_owner),
                                     reaping_key_};
    std::vector<std::string> args = {dead_owner, std::to_string(options_.reap_batch)};
    Result<RedisReply> reply =
        co_await redis_.eval(reap_script(), std::move(keys), std::move(args));
    if (!reply.ok()) co_return reply.status();
    const auto* e = reply->is_array() ? &reply->elements() : nullptr;
    if (e == nullptr || e->size() != 3 || !(*e)[0].is_integer() || !(*e)[2].is_integer())
      co_return protocol_error("unexpected reap reply " + reply->to_string());
    slices_reaped_ += static_cast<std::uint64_t>((*e)[0].integer_value());
    const std::int64_t left = (*e)[2].integer_value();
    const std::int64_t blocked = (*e)[1].is_integer() ? (*e)[1].integer_value() : 0;
    if (left == 0) co_return Status();
    if (left <= blocked) {
      co_return out_of_range_error(std::to_string(blocked) + " slices of " + dead_owner +
                                   " cannot be removed: their keys would leave the int64 range");
    }
  }
  co_return Status();  // the next heartbeat continues
}

Task<Status> StrictInstanceAwareCounter::heartbeat() {
  if (!used_) co_return Status();  // nothing of this instance in Redis yet
  if (Status live = co_await ensure_live(); !live.ok()) co_return live;
  const std::string owner = owner_;
  std::vector<std::string> keys = {instances_key_, reaping_key_};
  std::vector<std::string> args = {owner, std::to_string(millis(options_.dead_instance_threshold)),
                                   std::to_string(kOwnersPerHeartbeat)};
  Result<RedisReply> reply =
      co_await redis_.eval(heartbeat_script(), std::move(keys), std::move(args));
  if (is_reaped(reply)) {
    // Only if this incarnation is still the current one: a late refusal of an earlier
    // one must not retire its successor (whose restored slices would then be restored
    // again from a memory that may miss acknowledgements still on their way).
    if (owner == owner_ && live_) {
      live_ = false;
      needs_new_incarnation_ = true;
    }
    co_return co_await ensure_live();  // restores every remembered slice
  }
  if (!reply.ok()) co_return reply.status();
  if (!reply->is_array())
    co_return protocol_error("unexpected heartbeat reply " + reply->to_string());
  Status status;
  for (const RedisReply& dead : reply->elements()) {
    if (!dead.is_bulk_string()) continue;
    if (Status s = co_await reap(dead.text()); !s.ok()) status = s;
  }
  co_return status;
}

Task<Status> StrictInstanceAwareCounter::shutdown() {
  co_await heartbeats_.stop();
  co_return Status();
}

}  // namespace distkit
