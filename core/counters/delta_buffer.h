// DeltaBuffer<Entry>: the local half of a lax counter. Increments add to a key's
// `pending` delta without a lock (a KeyTable of atomic deltas); flush() moves pending
// deltas into numbered batches and hands each to `send` until nothing is pending.
// A batch whose send failed is kept and sent again, unchanged (same number), by the
// next flush: a delta leaves the buffer only once acknowledged.
//
// Entry derives from DeltaEntry (and has `explicit Entry(std::string_view key)`).
// add() and unacknowledged() are thread-safe; flush() runs on the executor.
#ifndef DISTKIT_CORE_COUNTERS_DELTA_BUFFER_H_
#define DISTKIT_CORE_COUNTERS_DELTA_BUFFER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "distkit/core/async/async_mutex.h"
#include "distkit/core/async/executor.h"
#include "distkit/core/async/task.h"
#include "distkit/core/counters/key_table.h"
#include "distkit/core/seam/redis_reply.h"
#include "distkit/core/seam/script_error.h"

namespace distkit {

struct DeltaEntry {
  explicit DeltaEntry(std::string_view k) : key(k) {}
  const std::string key;
  std::atomic<std::int64_t> pending{0};    // local deltas not yet in a batch
  std::atomic<std::int64_t> in_flight{0};  // in a batch not yet acknowledged
  // When the key's value last came from Redis (the executor's clock, ns); never yet.
  std::atomic<std::int64_t> refreshed_ns{std::numeric_limits<std::int64_t>::min()};
  [[nodiscard]] std::int64_t unacknowledged() const { return pending.load() + in_flight.load(); }
  // Whether a lax get() must ask Redis: the value from Redis is older than `max_age`
  // and no batch is in flight (with one, Redis may or may not include it yet: the
  // local view is served).
  [[nodiscard]] bool needs_refresh(std::int64_t now_ns, Duration max_age) const {
    // Not "now - refreshed < max_age": refreshed starts at INT64_MIN.
    const bool fresh = refreshed_ns.load() > now_ns - max_age.count();
    return !fresh && in_flight.load() == 0;
  }
};

// A lax counter's local view, remote + local + extra, or kOutOfRange: near the int64
// limits (or after a server sent a wild value) the sum must not overflow.
[[nodiscard]] inline Result<std::int64_t> local_sum(std::int64_t remote, std::int64_t local,
                                                    std::int64_t extra = 0) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(remote, local, &sum) || __builtin_add_overflow(sum, extra, &sum)) {
    return out_of_range_error("the counter's local view would leave the int64 range");
  }
  return sum;
}

// A flush script's reply: an array of one item per delta. An error item is the script
// refusing that delta (by its code: core/seam/script_error.h); `parse(item)` reads the
// others into Result<T>. A failed reply, or one of another shape, is the batch's status.
template <typename T, typename Parse>
[[nodiscard]] Result<std::vector<Result<T>>> parse_flush_reply(const Result<RedisReply>& reply,
                                                               std::size_t deltas, Parse&& parse) {
  if (!reply.ok()) return reply.status();
  if (!reply->is_array() || reply->elements().size() != deltas) {
    return protocol_error("unexpected flush reply " + reply->to_string());
  }
  std::vector<Result<T>> items;
  items.reserve(deltas);
  for (const RedisReply& item : reply->elements()) {
    items.push_back(item.is_error() ? Result<T>(script_status(item)) : parse(item));
  }
  return items;
}

template <typename Entry>
class DeltaBuffer {
 public:
  struct Batch {
    std::uint64_t number = 0;
    std::vector<std::pair<Entry*, std::int64_t>> deltas;
  };
  // What sending one batch came to. Not acknowledged: kept for the next flush, and
  // `status` says why. Acknowledged: `status` reports deltas Redis rejected (dropped).
  struct Sent {
    bool acknowledged = false;
    Status status;
  };
  using Send = std::function<Task<Sent>(const Batch&)>;

  // What the answer to a flush of `batch` (parse_flush_reply) comes to. The batch failed
  // or its outcome is unknown: not acknowledged, kept to be sent again. Otherwise
  // `apply(entry, value)` for each delta taken; a refused delta is dropped, and the
  // last refusal is the status, with its code.
  template <typename T, typename Apply>
  [[nodiscard]] static Sent acknowledge(const Batch& batch,
                                        const Result<std::vector<Result<T>>>& items,
                                        Apply&& apply) {
    if (!items.ok()) return Sent{false, items.status()};
    Status rejected;
    for (std::size_t i = 0; i < batch.deltas.size(); ++i) {
      auto [e, d] = batch.deltas[i];
      const Result<T>& item = (*items)[i];
      if (!item.ok()) {
        rejected =
            Status(item.status().code(), "a delta of " + std::to_string(d) + " to " + e->key +
                                             " was rejected: " + item.status().message());
        continue;
      }
      apply(*e, *item);
    }
    return Sent{true, rejected};
  }

  DeltaBuffer(Executor& executor, std::size_t max_keys, std::size_t max_batch)
      : table_(max_keys), max_batch_(max_batch), flushing_(executor) {}

  // The key must have been validated.
  [[nodiscard]] Result<Entry*> find_or_insert(std::string_view key) {
    if (Entry* e = table_.find(key)) return e;
    return table_.find_or_insert(key);
  }
  [[nodiscard]] Entry* find(std::string_view key) const { return table_.find(key); }

  // Lock-free; fails (changing nothing) if the local delta would overflow.
  [[nodiscard]] static Status add(Entry& e, std::int64_t delta) {
    std::int64_t pending = e.pending.load(std::memory_order_relaxed);
    std::int64_t next = 0;
    do {
      if (__builtin_add_overflow(pending, delta, &next)) {
        return out_of_range_error("the local delta of " + e.key + " would leave the int64 range");
      }
    } while (!e.pending.compare_exchange_weak(pending, next, std::memory_order_relaxed));
    return Status();
  }

  // Buffers `delta` unless the view it would show, `view(e, delta)` (a Result), is
  // refused; returns that view. The view is the answer of a lax inc(): one pass on the
  // hot path, not a second after the add.
  template <typename View>
  [[nodiscard]] static auto add_with_view(Entry& e, std::int64_t delta, View&& view)
      -> decltype(view(e, delta)) {
    auto shown = view(e, delta);
    if (!shown.ok()) return shown;
    DISTKIT_RETURN_IF_ERROR(add(e, delta));
    return shown;
  }

  template <typename F>
  void for_each(F f) const {
    for (std::size_t i = 0, n = table_.size(); i < n; ++i) {
      if (Entry* e = table_.at(i)) f(*e);
    }
  }

  [[nodiscard]] std::int64_t unacknowledged() const {
    std::int64_t total = 0;
    for_each([&](const Entry& e) { total += e.unacknowledged(); });
    return total;
  }
  [[nodiscard]] std::uint64_t batches_sent() const { return batches_sent_.load(); }

  // Sends batches until nothing is pending or a send fails (its status returned).
  Task<Status> flush(Send send) {
    auto one_at_a_time = co_await flushing_.lock();
    Status status;
    for (;;) {
      if (!unacknowledged_batch_ && !take_batch()) break;
      ++batches_sent_;
      Sent sent = co_await send(*unacknowledged_batch_);
      if (!sent.acknowledged) {
        status = sent.status;
        break;
      }
      for (const auto& [e, d] : unacknowledged_batch_->deltas)
        e->in_flight.fetch_sub(d);
      unacknowledged_batch_.reset();
      if (!sent.status.ok()) status = sent.status;
    }
    co_return status;
  }

 private:
  bool take_batch() {
    auto batch = std::make_unique<Batch>();
    for (std::size_t i = 0, n = table_.size(); i < n && batch->deltas.size() < max_batch_; ++i) {
      Entry* e = table_.at(i);
      if (e == nullptr || e->pending.load(std::memory_order_relaxed) == 0) continue;
      const std::int64_t d = e->pending.exchange(0);
      if (d == 0) continue;
      e->in_flight.fetch_add(d);
      batch->deltas.emplace_back(e, d);
    }
    if (batch->deltas.empty()) return false;
    batch->number = next_batch_++;
    unacknowledged_batch_ = std::move(batch);
    return true;
  }

  KeyTable<Entry> table_;
  std::size_t max_batch_;
  AsyncMutex flushing_;  // one flush at a time
  std::uint64_t next_batch_ = 1;
  std::unique_ptr<Batch> unacknowledged_batch_;
  std::atomic<std::uint64_t> batches_sent_{0};
};

}  // namespace distkit

#endif  // DISTKIT_CORE_COUNTERS_DELTA_BUFFER_H_
