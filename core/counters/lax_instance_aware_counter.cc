#include "distkit/core/counters/lax_instance_aware_counter.h"

#include <limits>

#include "distkit/core/seam/script_error.h"

namespace distkit {
namespace {

std::int64_t nanos(MonoTime t) {
  return t.time_since_epoch().count();
}

}  // namespace

Result<std::unique_ptr<LaxInstanceAwareCounter>> LaxInstanceAwareCounter::create(
    RedisConnection& redis, Executor& executor, LaxInstanceAwareCounterOptions options) {
  if (options.flush_interval <= Duration(0) || options.max_batch == 0) {
    return invalid_argument_error("flush_interval and max_batch must be positive");
  }
  DISTKIT_ASSIGN_OR_RETURN(std::unique_ptr<StrictInstanceAwareCounter> strict,
                           StrictInstanceAwareCounter::create_family(
                               redis, executor, options, StrictInstanceAwareCounter::kLaxFamily));
  std::unique_ptr<LaxInstanceAwareCounter> counter(
      new LaxInstanceAwareCounter(executor, std::move(options), std::move(strict)));
  // Failures are retried next tick with the same batch.
  counter->flusher_.start([c = counter.get()]() -> Task<void> { (void)co_await c->flush(); });
  return counter;
}

LaxInstanceAwareCounter::LaxInstanceAwareCounter(Executor& executor,
                                                 LaxInstanceAwareCounterOptions options,
                                                 std::unique_ptr<StrictInstanceAwareCounter> strict)
    : executor_(executor),
      options_(std::move(options)),
      strict_(std::move(strict)),
      buffer_(executor, options_.max_keys, options_.max_batch),
      flusher_(executor, options_.flush_interval) {}

LaxInstanceAwareCounter::~LaxInstanceAwareCounter() = default;

Result<LaxInstanceAwareCounter::Entry*> LaxInstanceAwareCounter::find_or_insert(
    std::string_view key) {
  if (Entry* e = buffer_.find(key)) return e;
  DISTKIT_RETURN_IF_ERROR(validate_key(key));
  return buffer_.find_or_insert(key);
}

Result<SliceValue> LaxInstanceAwareCounter::local_view(const Entry& e, std::int64_t extra) const {
  const std::int64_t local = e.unacknowledged();
  SliceValue view;
  DISTKIT_ASSIGN_OR_RETURN(view.cumulative, local_sum(e.cumulative.load(), local, extra));
  DISTKIT_ASSIGN_OR_RETURN(view.slice, local_sum(e.slice.load(), local, extra));
  return view;
}

void LaxInstanceAwareCounter::refreshed(Entry& e, SliceValue remote) {
  e.cumulative.store(remote.cumulative);
  e.slice.store(remote.slice);
  e.refreshed_ns.store(nanos(executor_.clock().now()));
}

Result<SliceValue> LaxInstanceAwareCounter::inc(std::string_view key, std::int64_t delta) {
  DISTKIT_ASSIGN_OR_RETURN(Entry * e, find_or_insert(key));
  return DeltaBuffer<Entry>::add_with_view(
      *e, delta, [this](const Entry& entry, std::int64_t d) { return local_view(entry, d); });
}

std::int64_t LaxInstanceAwareCounter::unacknowledged() const {
  return buffer_.unacknowledged();
}

Task<DeltaBuffer<LaxInstanceAwareCounter::Entry>::Sent> LaxInstanceAwareCounter::send(
    const DeltaBuffer<Entry>::Batch& batch) {
  std::vector<StrictInstanceAwareCounter::Delta> deltas;
  deltas.reserve(batch.deltas.size());
  for (const auto& [e, d] : batch.deltas)
    deltas.push_back({e->key, d});
  co_return DeltaBuffer<Entry>::acknowledge(
      batch, co_await strict_->add_batch(batch.number, std::move(deltas)),
      [this](Entry& e, SliceValue remote) { refreshed(e, remote); });
}

Task<Status> LaxInstanceAwareCounter::flush() {
  co_return co_await buffer_.flush(
      [this](const DeltaBuffer<Entry>::Batch& batch) { return send(batch); });
}

Task<Status> LaxInstanceAwareCounter::shutdown() {
  co_await flusher_.stop();
  Status flushed = co_await flush();
  if (!flushed.ok()) co_return flushed;
  co_return co_await strict_->shutdown();
}

Task<Result<SliceValue>> LaxInstanceAwareCounter::get(std::string key) {
  Result<Entry*> found = find_or_insert(key);
  if (!found.ok()) co_return found.status();
  Entry* e = *found;
  const std::int64_t now = nanos(executor_.clock().now());
  if (e->needs_refresh(now, options_.flush_interval)) {
    Result<SliceValue> remote = co_await strict_->get(key);
    if (!remote.ok()) co_return remote.status();
    if (e->in_flight.load() == 0) refreshed(*e, *remote);
  }
  co_return local_view(*e);
}

Task<Result<SliceValue>> LaxInstanceAwareCounter::set(std::string key, std::int64_t value) {
  Result<Entry*> found = find_or_insert(key);
  if (!found.ok()) co_return found.status();
  if (Status s = co_await flush(); !s.ok()) co_return s;
  Result<SliceValue> set = co_await strict_->set(key, value);
  if (!set.ok()) co_return set.status();
  refreshed(**found, *set);
  co_return local_view(**found);
}

Task<Result<SliceValue>> LaxInstanceAwareCounter::set_on_instance(std::string key,
                                                                  std::int64_t value) {
  Result<Entry*> found = find_or_insert(key);
  if (!found.ok()) co_return found.status();
  if (Status s = co_await flush(); !s.ok()) co_return s;
  Result<SliceValue> set = co_await strict_->set_on_instance(key, value);
  if (!set.ok()) co_return set.status();
  refreshed(**found, *set);
  co_return local_view(**found);
}

Task<Result<SliceValue>> LaxInstanceAwareCounter::del(std::string key) {
  Result<Entry*> found = find_or_insert(key);
  if (!found.ok()) co_return found.status();
  if (Status s = co_await flush(); !s.ok()) co_return s;
  Result<SliceValue> old = co_await strict_->del(key);
  if (!old.ok()) co_return old.status();
  refreshed(**found, SliceValue{});
  co_return *old;
}

Task<Result<SliceChange>> LaxInstanceAwareCounter::del_on_instance(std::string key) {
  Result<Entry*> found = find_or_insert(key);
  if (!found.ok()) co_return found.status();
  if (Status s = co_await flush(); !s.ok()) co_return s;
  Result<SliceChange> change = co_await strict_->del_on_instance(key);
  if (!change.ok()) co_return change.status();
  refreshed(**found, change->value);
  co_return *change;
}

Task<Status> LaxInstanceAwareCounter::clear() {
  if (Status s = co_await flush(); !s.ok()) co_return s;
  if (Status s = co_await strict_->clear(); !s.ok()) co_return s;
  buffer_.for_each([&](Entry& e) { refreshed(e, SliceValue{}); });
  co_return Status();
}

Task<Status> LaxInstanceAwareCounter::clear_on_instance() {
  if (Status s = co_await flush(); !s.ok()) co_return s;
  if (Status s = co_await strict_->clear_on_instance(); !s.ok()) co_return s;
  // Cumulatives moved by this instance's removal: read them again before serving.
  buffer_.for_each([](Entry& e) {
    e.slice.store(0);
    e.refreshed_ns.store(std::numeric_limits<std::int64_t>::min());
  });
  co_return Status();
}

}  // namespace distkit
