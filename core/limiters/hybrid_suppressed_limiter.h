// HybridSuppressedLimiter: the suppressed strategy (core/limiters/suppressed_window.h) decided
// mostly in this process, kept in step with Redis. It shares the Redis layout of
// SuppressedLimiter ("{<prefix>:<key>}:suppressed"), so hybrid and Redis limiters of one
// prefix shed load from the same windows.
//
// Per key, a sync with Redis (one script: record this process's uncommitted requests,
// observed and declined, then decide or read) leaves a view: Redis's observed and
// declined totals, whether it is suppressing and with which factor, valid for
// `factor_cache` (the factor is Redis's cached one, so a local decision may use a factor
// up to twice that old); and an allowance:
//
//   allowance = min(budget, hard_limit - admitted) - admitted here since the sync was sent
//   budget    = max(1, floor(hard_limit * budget_fraction))
//
// With a live view, a request is decided here without I/O (forecast = the view's
// admitted total + this process's since + count):
//   forecast > hard_limit          declined (factor 1); no allowance needed
//   forecast <= soft_limit         admitted if the allowance covers it
//   between, view suppressing      drawn against the view's factor: declined, or
//                                  admitted if the allowance covers it
// Anything else (no live view, the allowance short, the soft limit crossed since a view
// that was not suppressing) goes to Redis with the same draw, and refreshes the view.
// Every request decided here, admitted or declined, is committed within `sync_interval`
// (declines feed the perceived rate behind the factor); a commit that fails or whose
// outcome is unknown is sent again (recorded twice only ever over-states the load), and
// the allowance is never refilled without a successful sync.
//
// Bound (tests/gcra_simulation_test.cc checks it under faults): in any (window - bucket)
// at most hard_limit + (N - 1) * budget are admitted, N counting the processes (a
// restarted one again) that admitted within it. It rests on Redis running one process's
// sends in the order they were sent (one connection, FIFO): a sync's chunk takes its
// keys' requests only as it goes out, so a later request to Redis for the same key
// follows that commit, and an answer older than the view in place is not applied.
// The soft limit and the factor are as approximate as their inputs: each process
// admits up to its budget past a stale view.
// A crash loses at most `budget` admitted and any declined uncommitted requests per key.
//
// Lifetime: create() starts the sync task on `executor`; call shutdown() (it commits)
// and let it finish before destroying the limiter. Thread-safe.
#ifndef DISTKIT_CORE_LIMITERS_HYBRID_SUPPRESSED_LIMITER_H_
#define DISTKIT_CORE_LIMITERS_HYBRID_SUPPRESSED_LIMITER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/async/periodic_task.h"
#include "distkit/core/limiters/hybrid_sync.h"
#include "distkit/core/limiters/sharded_key_map.h"
#include "distkit/core/limiters/suppressed_limiter.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

struct HybridSuppressedOptions {
  std::string prefix;
  // Each key's local budget as a fraction of its hard limit (in (0, 1]); at least 1.
  double budget_fraction = 0.05;
  Duration sync_interval = std::chrono::milliseconds(10);
  std::size_t max_keys = 1 << 16;
  std::uint64_t seed = 0;  // of the draws; 0: a random one (Executor::entropy())
};

class HybridSuppressedLimiter {
 public:
  // `redis` and `executor` must outlive the limiter.
  [[nodiscard]] static Result<std::unique_ptr<HybridSuppressedLimiter>> create(
      RedisConnection& redis, Executor& executor, HybridSuppressedOptions options);
  ~HybridSuppressedLimiter();
  HybridSuppressedLimiter(const HybridSuppressedLimiter&) = delete;
  HybridSuppressedLimiter& operator=(const HybridSuppressedLimiter&) = delete;

  // Decides `count` requests: here when the view and the allowance allow, else through
  // Redis. `observed`/`declined` are this process's view (Redis's totals at the last
  // sync plus the requests decided here since). count 0 reads through Redis.
  Task<Result<SuppressedDecision>> inc(std::string key, SuppressedLimit limit,
                                       std::int64_t count = 1);
  // The local half of inc(), no I/O: a decision, or nothing when only Redis can tell.
  [[nodiscard]] Result<std::optional<SuppressedDecision>> try_inc(std::string_view key,
                                                                  const SuppressedLimit& limit,
                                                                  std::int64_t count = 1);

  // Commits every uncommitted request now (and waits for the answers).
  Task<Status> sync();
  // Stops the sync task after a last sync.
  Task<Status> shutdown();

  // Requests decided here (admitted or declined) that Redis has not acknowledged.
  [[nodiscard]] std::int64_t uncommitted() const { return uncommitted_.load(); }
  // Round trips to Redis so far (sync pipelines and requests decided there).
  [[nodiscard]] std::uint64_t redis_calls() const { return redis_calls_.load(); }
  [[nodiscard]] std::int64_t budget(const SuppressedLimit& limit) const;

 private:
  struct KeyState {
    SuppressedLimit limit;
    std::int64_t allowance = 0;
    SuppressedCommit pending;    // decided here, not acknowledged (in flight included)
    SuppressedCommit in_flight;  // the part of `pending` being sent now
    // The view from the last successful sync.
    std::int64_t remote_observed = 0;
    std::int64_t remote_declined = 0;
    bool suppressing = false;
    double factor = 0;
    MonoTime view_until{};      // no view after this
    std::uint64_t sends = 0;    // sends to Redis so far (the last one's seq)
    std::uint64_t applied = 0;  // the seq of the send whose answer set the view
    MonoTime last_used{};
  };
  using Send = HybridSend<SuppressedLimit, SuppressedCommit>;
  struct LocalOutcome {
    std::optional<SuppressedDecision> decision;
    double draw = 0;  // the draw made, for Redis to decide with when there is no decision
  };
  HybridSuppressedLimiter(RedisConnection& redis, Executor& executor,
                          HybridSuppressedOptions options, SuppressedLimiter remote);
  [[nodiscard]] Result<LocalOutcome> decide_here(std::string_view key, const SuppressedLimit& limit,
                                                 std::int64_t count);
  // Marks the unsent requests of `key` as in flight and numbers the send; nothing when
  // there are none, unless `always` (a request goes to Redis anyway).
  std::optional<Send> take_unsent(std::string_view key, bool always);
  // Applies an answer to `requested` (0: a sync): the send's requests acknowledged (or
  // not), and, unless a newer send's answer came first, the view and allowance refreshed.
  void settle(std::string_view key, const Send& send, std::int64_t requested,
              const Result<SuppressedDecision>& answer);
  [[nodiscard]] bool idle(const KeyState& state, MonoTime now) const;

  RedisConnection& redis_;
  Executor& executor_;
  HybridSuppressedOptions options_;
  SuppressedLimiter remote_;
  ShardedKeyMap<KeyState> keys_;
  // One generator per shard of keys_, used under that shard's lock.
  std::vector<DrawSource> draws_;
  std::atomic<std::int64_t> uncommitted_{0};
  std::atomic<std::uint64_t> redis_calls_{0};
  PeriodicTask syncer_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_HYBRID_SUPPRESSED_LIMITER_H_
