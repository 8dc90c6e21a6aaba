#include "distkit/core/counters/lax_counter.h"

#include <charconv>
#include <functional>
#include <limits>

#include "distkit/core/seam/script_error.h"

namespace distkit {
namespace {

#include "core/counters/lax_counter_lua.inc"

const RedisScript& flush_script() {
  static const RedisScript script(kLaxFlushLua);
  return script;
}

std::int64_t nanos(MonoTime t) {
  return t.time_since_epoch().count();
}

}  // namespace

const RedisScript& LaxCounter::flush_script_for_tests() {
  return flush_script();
}

Result<std::unique_ptr<LaxCounter>> LaxCounter::create(RedisConnection& redis, Executor& executor,
                                                       LaxCounterOptions options) {
  DISTKIT_ASSIGN_OR_RETURN(StrictCounter strict, StrictCounter::create(redis, options.prefix));
  DISTKIT_RETURN_IF_ERROR(validate_instance_id(options.instance_id));
  if (options.flush_interval <= Duration(0) || options.max_batch == 0 || options.max_keys == 0) {
    return invalid_argument_error("flush_interval, max_batch and max_keys must be positive");
  }
  if (options.session == 0) {
    options.session = executor.entropy();
  }
  std::unique_ptr<LaxCounter> counter(
      new LaxCounter(redis, executor, std::move(options), std::move(strict)));
  // Failures are retried next tick with the same batch.
  counter->flusher_.start([c = counter.get()]() -> Task<void> { (void)co_await c->flush(); });
  return counter;
}

LaxCounter::LaxCounter(RedisConnection& redis, Executor& executor, LaxCounterOptions options,
                       StrictCounter strict)
    : redis_(redis),
      executor_(executor),
      options_(std::move(options)),
      strict_(std::move(strict)),
      hash_(strict_.redis_key()),
      sequence_key_("{" + options_.prefix + "}:lax_batch:" + options_.instance_id),
      buffer_(executor, options_.max_keys, options_.max_batch),
      flusher_(executor, options_.flush_interval) {}

LaxCounter::~LaxCounter() = default;

Result<LaxCounter::Entry*> LaxCounter::find_or_insert(std::string_view key) {
  if (Entry* e = buffer_.find(key)) return e;
  DISTKIT_RETURN_IF_ERROR(validate_key(key));
  return buffer_.find_or_insert(key);
}

Result<std::int64_t> LaxCounter::inc(std::string_view key, std::int64_t delta) {
  DISTKIT_ASSIGN_OR_RETURN(Entry * e, find_or_insert(key));
  return DeltaBuffer<Entry>::add_with_view(*e, delta, [](const Entry& entry, std::int64_t d) {
    return local_sum(entry.remote.load(), entry.unacknowledged(), d);
  });
}

std::int64_t LaxCounter::unacknowledged() const {
  return buffer_.unacknowledged();
}

Task<DeltaBuffer<LaxCounter::Entry>::Sent> LaxCounter::send(
    const DeltaBuffer<Entry>::Batch& batch) {
  std::vector<std::string> keys = {hash_, sequence_key_};
  std::vector<std::string> args = {
      std::to_string(options_.session), std::to_string(batch.number),
      std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.batch_memory).count())};
  for (const auto& [e, d] : batch.deltas) {
    args.push_back(e->key);
    args.push_back(std::to_string(d));
  }
  Result<RedisReply> reply = co_await redis_.eval(flush_script(), std::move(keys), std::move(args));
  const std::int64_t now = nanos(executor_.clock().now());
  co_return DeltaBuffer<Entry>::acknowledge(
      batch, parse_flush_reply<std::int64_t>(reply, batch.deltas.size(), parse_counter_value),
      [now](Entry& e, std::int64_t remote) {
        e.remote.store(remote);
        e.refreshed_ns.store(now);
      });
}

Task<Status> LaxCounter::flush() {
  co_return co_await buffer_.flush(
      [this](const DeltaBuffer<Entry>::Batch& batch) { return send(batch); });
}

Task<Status> LaxCounter::shutdown() {
  co_await flusher_.stop();
  co_return co_await flush();
}

Task<Result<std::int64_t>> LaxCounter::get(std::string key) {
  Result<Entry*> found = find_or_insert(key);
  if (!found.ok()) co_return found.status();
  Entry* e = *found;
  const std::int64_t now = nanos(executor_.clock().now());
  if (e->needs_refresh(now, options_.flush_interval)) {
    Result<std::int64_t> remote = co_await strict_.get(key);
    if (!remote.ok()) co_return remote.status();
    if (e->in_flight.load() == 0) {
      e->remote.store(*remote);
      e->refreshed_ns.store(now);
    }
  }
  co_return local_sum(e->remote.load(), e->unacknowledged());
}

Task<Result<std::int64_t>> LaxCounter::set(std::string key, std::int64_t value) {
  Result<Entry*> found = find_or_insert(key);
  if (!found.ok()) co_return found.status();
  if (Status s = co_await flush(); !s.ok()) co_return s;
  Result<std::int64_t> set = co_await strict_.set(key, value);
  if (!set.ok()) co_return set.status();
  (*found)->remote.store(value);
  (*found)->refreshed_ns.store(nanos(executor_.clock().now()));
  co_return value + (*found)->pending.load();
}

Task<Result<std::int64_t>> LaxCounter::del(std::string key) {
  Result<Entry*> found = find_or_insert(key);
  if (!found.ok()) co_return found.status();
  if (Status s = co_await flush(); !s.ok()) co_return s;
  Result<std::int64_t> old = co_await strict_.del(key);
  if (!old.ok()) co_return old.status();
  (*found)->remote.store(0);
  (*found)->refreshed_ns.store(nanos(executor_.clock().now()));
  co_return *old;
}

Task<Status> LaxCounter::clear() {
  if (Status s = co_await flush(); !s.ok()) co_return s;
  if (Status s = co_await strict_.clear(); !s.ok()) co_return s;
  const std::int64_t now = nanos(executor_.clock().now());
  buffer_.for_each([&](Entry& e) {
    e.remote.store(0);
    e.refreshed_ns.store(now);
  });
  co_return Status();
}

}  // namespace distkit
