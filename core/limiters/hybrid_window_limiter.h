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
#include <optional>
#include <string>
#include <string_view>

#include "distkit/core/limiters/hybrid_limiter.h"
#include "distkit/core/limiters/sliding_window_limiter.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

using HybridWindowOptions = HybridOptions;

// The sliding window's part of a hybrid limiter (hybrid_limiter.h).
class HybridWindowStrategy {
 public:
  using Limit = SlidingWindowLimit;
  using Decision = WindowDecision;
  using Counts = std::int64_t;  // grants
  struct View {
    std::int64_t remote_total = 0;
    // A remembered rejection: requests of at least `rejected_count` until then.
    MonoTime rejected_until{};
    std::int64_t rejected_count = 0;
    std::int64_t rejected_remaining = 0;
  };
  struct Local {
    std::optional<WindowDecision> decision;
    std::int64_t recorded = 0;  // granted here
  };

  [[nodiscard]] static Result<HybridWindowStrategy> create(RedisConnection& redis, Executor&,
                                                           const HybridOptions& options);
  [[nodiscard]] static Status validate(const Limit& limit, std::int64_t count);
  // A grant within the allowance, or a remembered rejection; else nothing.
  [[nodiscard]] Local decide(std::string_view key,
                             const HybridKeyState<HybridWindowStrategy>& state, const Limit& limit,
                             std::int64_t count, MonoTime now);
  Task<Result<Decision>> commit_and_inc(const std::string& key, const Limit& limit, Counts grants,
                                        std::int64_t count, const Local&) {
    return remote_.commit_and_inc(key, limit, grants, count);
  }
  [[nodiscard]] ScriptCall commit_call(const std::string& key, const Limit& limit,
                                       Counts grants) const {
    return remote_.script_call(key, limit, grants, 0);
  }
  [[nodiscard]] static Result<Decision> parse_reply(const Result<RedisReply>& reply) {
    return SlidingWindowLimiter::parse_reply(reply);
  }
  [[nodiscard]] static bool same_limit(const Limit& a, const Limit& b) {
    return a.limit == b.limit && a.window == b.window && a.bucket == b.bucket;
  }
  [[nodiscard]] static std::int64_t capacity(const Limit& limit) { return limit.limit; }
  [[nodiscard]] static std::int64_t observed(Counts grants) { return grants; }
  [[nodiscard]] static std::int64_t admitted(Counts grants) { return grants; }
  [[nodiscard]] static std::int64_t admitted(const Decision& answer) { return answer.total; }
  static void refresh(View& view, const Limit& limit, std::int64_t requested,
                      const Decision& answer, MonoTime now);

 private:
  explicit HybridWindowStrategy(SlidingWindowLimiter remote) : remote_(std::move(remote)) {}
  SlidingWindowLimiter remote_;
};

// inc() takes `count` if the window has room: locally when the allowance covers it,
// else through Redis. `total` is this process's view (Redis's total at the last sync
// plus local grants since). try_inc() is the local half: a decision when the allowance
// covers `count` or a remembered rejection applies.
using HybridSlidingWindowLimiter = HybridLimiter<HybridWindowStrategy>;

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_HYBRID_WINDOW_LIMITER_H_
