// HybridSlidingWindowLimiter: the sliding window (core/limiters/sliding_window.h, absolute
// strategy) decided mostly in this process, kept in step with Redis. It shares the
// Redis layout of SlidingWindowLimiter ("{<prefix>:<key>}:window"), so hybrid and
// Redis limiters of one prefix limit the same windows.
//
// Per key, a sync with Redis (one script: commit this process's uncommitted grants,
// then read the window, or take a request) leaves a local allowance:
//
//   allowance = min(budget, limit - total) - grants made here since the sync was sent
//   budget    = max(1, floor(limit * budget_fraction))
//
// A request within the allowance is granted at once, without I/O; one beyond it goes
// to Redis (and refreshes the allowance), and a rejection is remembered until its
// retry_after so a limited key does not cost a round trip per call. Uncommitted grants
// are sent every `sync_interval`; a commit that fails or whose outcome is unknown is
// sent again (counting twice only ever under-admits), and the allowance is never
// refilled without a successful sync, so an instance cut off from Redis grants at most
// its budget.
//
// Bound (tests/contract/hybrid_window_test.cc checks it in the simulator under faults): in any
// (window - bucket), at most
//
//   limit + (N - 1) * budget
//
// are granted, where N counts the processes (a crashed and restarted one counts again)
// that granted within it. It rests on Redis running one process's sends in the order
// they were sent (one connection, FIFO): a sync's chunk takes its keys' grants only as
// it goes out, so a later request to Redis for the same key follows that commit, and an
// answer older than the allowance in place is not applied. trypema's hybrid gave every
// instance the whole remaining capacity: N instances could overshoot by N x remaining
// per sync interval.
// A crash loses at most `budget` uncommitted grants per key (Redis under-counts them).
//
// Lifetime: create() starts the sync task on `executor`; call shutdown() (it commits)
// and let it finish before destroying the limiter. Thread-safe.
#ifndef DISTKIT_CORE_LIMITERS_HYBRID_WINDOW_LIMITER_H_
#define DISTKIT_CORE_LIMITERS_HYBRID_WINDOW_LIMITER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "distkit/core/limiters/hybrid_engine.h"
#include "distkit/core/limiters/sliding_window_limiter.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

struct HybridWindowOptions {
  std::string prefix;
  // Each key's local budget as a fraction of its limit (in (0, 1]); at least 1.
  double budget_fraction = 0.05;
  Duration sync_interval = std::chrono::milliseconds(10);
  std::size_t max_keys = 1 << 16;
};

// The sliding window's part of a hybrid limiter (hybrid_engine.h).
struct HybridWindowStrategy {
  using Limit = SlidingWindowLimit;
  using Decision = WindowDecision;
  using Counts = std::int64_t;  // grants
  using Remote = SlidingWindowLimiter;
  struct View {
    std::int64_t remote_total = 0;
    // A remembered rejection: requests of at least `rejected_count` until then.
    MonoTime rejected_until{};
    std::int64_t rejected_count = 0;
    std::int64_t rejected_remaining = 0;
  };
  static bool same_limit(const Limit& a, const Limit& b) {
    return a.limit == b.limit && a.window == b.window && a.bucket == b.bucket;
  }
  static std::int64_t capacity(const Limit& limit) { return limit.limit; }
  static std::int64_t observed(Counts grants) { return grants; }
  static std::int64_t admitted(Counts grants) { return grants; }
  static std::int64_t admitted(const Decision& answer) { return answer.total; }
  static void refresh(View& view, const Limit& limit, std::int64_t requested,
                      const Decision& answer, MonoTime now);
  static ScriptCall commit_call(const Remote& remote, const std::string& key, const Limit& limit,
                                Counts grants) {
    return remote.script_call(key, limit, grants, 0);
  }
  static Result<Decision> parse_reply(const Result<RedisReply>& reply) {
    return SlidingWindowLimiter::parse_reply(reply);
  }
};

class HybridSlidingWindowLimiter : public HybridEngine<HybridWindowStrategy> {
 public:
  // `redis` and `executor` must outlive the limiter.
  [[nodiscard]] static Result<std::unique_ptr<HybridSlidingWindowLimiter>> create(
      RedisConnection& redis, Executor& executor, HybridWindowOptions options);
  ~HybridSlidingWindowLimiter();
  HybridSlidingWindowLimiter(const HybridSlidingWindowLimiter&) = delete;
  HybridSlidingWindowLimiter& operator=(const HybridSlidingWindowLimiter&) = delete;

  // Takes `count` if the window has room: locally when the allowance covers it, else
  // through Redis. `total` is this process's view (Redis's total at the last sync plus
  // local grants since).
  Task<Result<WindowDecision>> inc(std::string key, SlidingWindowLimit limit,
                                   std::int64_t count = 1);
  // The local half of inc(), no I/O: a decision when the allowance covers `count` or a
  // remembered rejection applies; nothing when only Redis can tell (call inc()).
  [[nodiscard]] Result<std::optional<WindowDecision>> try_inc(std::string_view key,
                                                              const SlidingWindowLimit& limit,
                                                              std::int64_t count = 1);

 private:
  HybridSlidingWindowLimiter(RedisConnection& redis, Executor& executor, HybridSettings settings,
                             SlidingWindowLimiter remote);
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_HYBRID_WINDOW_LIMITER_H_
