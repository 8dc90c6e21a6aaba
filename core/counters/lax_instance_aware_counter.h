// LaxInstanceAwareCounter: StrictInstanceAwareCounter's slices and cumulative values
// (its own family, "{<prefix>}:lax_instance_aware_counter"), with LaxCounter's
// increments: inc() is local, lock-free and instant, and a flush task sends each
// key's summed delta to this instance's slice at most once per `flush_interval`.
//
// - Flushes are idempotent: each batch has a number, applied at most once per
//   incarnation; a batch whose outcome was unknown is sent again with the same number
//   until acknowledged, and a delta leaves the buffer only then. If the instance was
//   found dead meanwhile, it recovers (restoring every acknowledged slice, see
//   StrictInstanceAwareCounter) and the batch goes to the new incarnation: counted
//   once either way.
// - get() answers locally while the key's value from Redis is younger than
//   `flush_interval`; the local view is (cumulative, slice) from Redis plus every
//   delta not yet acknowledged.
// - set, set_on_instance, del, del_on_instance, clear and clear_on_instance flush
//   first, then act at once through the strict path (atomic on Redis).
// - A crash loses the deltas not yet flushed (at most one interval of increments);
//   the crashed instance's flushed slices leave the cumulative once it is found dead.
//
// Lifetime: create() starts the flush and heartbeat tasks on `executor`; call
// shutdown() (it flushes) and let it finish before destroying the counter.
#ifndef DISTKIT_CORE_COUNTERS_LAX_INSTANCE_AWARE_COUNTER_H_
#define DISTKIT_CORE_COUNTERS_LAX_INSTANCE_AWARE_COUNTER_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "distkit/core/async/periodic_task.h"
#include "distkit/core/counters/delta_buffer.h"
#include "distkit/core/counters/instance_aware_counter.h"

namespace distkit {

struct LaxInstanceAwareCounterOptions : InstanceAwareCounterOptions {
  Duration flush_interval = std::chrono::milliseconds(20);
  std::size_t max_batch = 100;  // keys per flush script
};

class LaxInstanceAwareCounter {
 public:
  // `redis` and `executor` must outlive the counter.
  [[nodiscard]] static Result<std::unique_ptr<LaxInstanceAwareCounter>> create(
      RedisConnection& redis, Executor& executor, LaxInstanceAwareCounterOptions options);
  ~LaxInstanceAwareCounter();
  LaxInstanceAwareCounter(const LaxInstanceAwareCounter&) = delete;
  LaxInstanceAwareCounter& operator=(const LaxInstanceAwareCounter&) = delete;

  // Thread-safe; lock-free once the key has been seen. Returns the local view.
  [[nodiscard]] Result<SliceValue> inc(std::string_view key, std::int64_t delta = 1);
  Task<Result<SliceValue>> get(std::string key);
  Task<Result<SliceValue>> set(std::string key, std::int64_t value);
  Task<Result<SliceValue>> set_on_instance(std::string key, std::int64_t value);
  // Returns the (cumulative, slice) before.
  Task<Result<SliceValue>> del(std::string key);
  Task<Result<SliceChange>> del_on_instance(std::string key);
  Task<Status> clear();
  Task<Status> clear_on_instance();
  // Sends everything pending now (and waits for the answer).
  Task<Status> flush();
  // A last flush, then stops the flush and heartbeat tasks.
  Task<Status> shutdown();

  // Local deltas not yet acknowledged by Redis, across all keys.
  [[nodiscard]] std::int64_t unacknowledged() const;
  [[nodiscard]] std::uint64_t batches_sent() const { return buffer_.batches_sent(); }
  // Heartbeats, recovery and reaping, and the statistics of those.
  [[nodiscard]] StrictInstanceAwareCounter& strict() { return *strict_; }

 private:
  struct Entry : DeltaEntry {
    using DeltaEntry::DeltaEntry;
    std::atomic<std::int64_t> cumulative{0};  // last (cumulative, slice) from Redis
    std::atomic<std::int64_t> slice{0};
  };
  LaxInstanceAwareCounter(Executor& executor, LaxInstanceAwareCounterOptions options,
                          std::unique_ptr<StrictInstanceAwareCounter> strict);
  Result<Entry*> find_or_insert(std::string_view key);
  // What Redis said plus what is not acknowledged (plus `extra`); kOutOfRange if that
  // leaves the int64 range.
  [[nodiscard]] Result<SliceValue> local_view(const Entry& e, std::int64_t extra = 0) const;
  void refreshed(Entry& e, SliceValue remote);
  Task<DeltaBuffer<Entry>::Sent> send(const DeltaBuffer<Entry>::Batch& batch);

  Executor& executor_;
  LaxInstanceAwareCounterOptions options_;
  std::unique_ptr<StrictInstanceAwareCounter> strict_;
  DeltaBuffer<Entry> buffer_;
  PeriodicTask flusher_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_COUNTERS_LAX_INSTANCE_AWARE_COUNTER_H_
