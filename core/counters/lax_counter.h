// LaxCounter: counters whose increments are local and instant, and reach Redis in
// batches. The same Redis layout as StrictCounter ("{<prefix>}:strict_counter"), so a
// StrictCounter of the same prefix reads what lax counters flushed.
//
// - inc() is a plain function (no coroutine), thread-safe, and takes no lock for a
//   key this counter has seen: a lock-free table of keys and atomic deltas. It returns
//   this process's view: the last value read from Redis plus every local delta not
//   yet acknowledged.
// - A flush task sends each key's summed delta at most once per `flush_interval`
//   (default 20 ms), in batches of at most `max_batch` keys, never blocking inc().
// - Flushes are idempotent: each batch carries this instance's next batch number and
//   Redis applies a number at most once. A batch whose outcome was unknown is sent
//   again, with the same number, until acknowledged: nothing is counted twice, and a
//   delta leaves the local buffer only once acknowledged.
// - get() answers locally while the key's value from Redis is younger than
//   `flush_interval`, else it reads Redis (and keeps local deltas on top).
// - set, del and clear flush first, then act at once through the strict path.
// - A crash loses the deltas not yet flushed (at most one interval of increments).
//
// Bounded: at most `max_keys` distinct keys (kResourceExhausted beyond). A flushed
// delta that Redis's script rejects is dropped and flush() reports it by code:
// kOutOfRange if it would overflow the counter, kFailedPrecondition if the field holds
// something other than an int64 (written by something else); the rest of the batch
// is applied.
// Lifetime: create() starts the flush task on `executor`; call shutdown() (it
// flushes) and let it finish before destroying the counter.
#ifndef DISTKIT_CORE_COUNTERS_LAX_COUNTER_H_
#define DISTKIT_CORE_COUNTERS_LAX_COUNTER_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/async/periodic_task.h"
#include "distkit/core/async/task.h"
#include "distkit/core/counters/delta_buffer.h"
#include "distkit/core/counters/strict_counter.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

struct LaxCounterOptions {
  std::string prefix;
  // Identifies this process's batches (idempotency); must be unique among live
  // instances of the family. Letters, digits, '-', '_'.
  std::string instance_id;
  // Distinguishes this counter's batches from those of an earlier process with the
  // same instance_id (whose numbering also started at 1). 0: a random one.
  std::uint64_t session = 0;
  Duration flush_interval = std::chrono::milliseconds(20);
  std::size_t max_batch = 100;
  std::size_t max_keys = 1 << 16;
  // How long Redis remembers an instance's last applied batch number.
  Duration batch_memory = std::chrono::hours(24);
};

class LaxCounter {
 public:
  // `redis` and `executor` must outlive the counter.
  [[nodiscard]] static Result<std::unique_ptr<LaxCounter>> create(RedisConnection& redis,
                                                                  Executor& executor,
                                                                  LaxCounterOptions options);
  ~LaxCounter();
  LaxCounter(const LaxCounter&) = delete;
  LaxCounter& operator=(const LaxCounter&) = delete;

  // Thread-safe; lock-free once the key has been seen. Returns the local view.
  [[nodiscard]] Result<std::int64_t> inc(std::string_view key, std::int64_t delta = 1);
  Task<Result<std::int64_t>> get(std::string key);
  Task<Result<std::int64_t>> set(std::string key, std::int64_t value);
  Task<Result<std::int64_t>> del(std::string key);
  Task<Status> clear();
  // Sends everything pending now (and waits for the answer).
  Task<Status> flush();
  // Stops the flush task after a last flush.
  Task<Status> shutdown();

  // Local deltas not yet acknowledged by Redis, across all keys.
  [[nodiscard]] std::int64_t unacknowledged() const;
  [[nodiscard]] std::uint64_t batches_sent() const { return buffer_.batches_sent(); }

  // The flush script, so tests can replay a batch as a retry would.
  [[nodiscard]] static const RedisScript& flush_script_for_tests();

 private:
  struct Entry : DeltaEntry {
    using DeltaEntry::DeltaEntry;
    std::atomic<std::int64_t> remote{0};  // last value read from Redis
  };
  LaxCounter(RedisConnection& redis, Executor& executor, LaxCounterOptions options,
             StrictCounter strict);
  Result<Entry*> find_or_insert(std::string_view key);
  Task<DeltaBuffer<Entry>::Sent> send(const DeltaBuffer<Entry>::Batch& batch);

  RedisConnection& redis_;
  Executor& executor_;
  LaxCounterOptions options_;
  StrictCounter strict_;
  std::string hash_;
  std::string sequence_key_;
  DeltaBuffer<Entry> buffer_;
  PeriodicTask flusher_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_COUNTERS_LAX_COUNTER_H_
