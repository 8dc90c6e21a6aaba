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
// Bound (tests/property/gcra_simulation_test.cc checks it under faults): in any (window - bucket)
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

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/limiters/hybrid_limiter.h"
#include "distkit/core/limiters/suppressed_limiter.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

using HybridSuppressedOptions = HybridOptions;

// The suppressed strategy's part of a hybrid limiter (hybrid_limiter.h).
class HybridSuppressedStrategy {
 public:
  using Limit = SuppressedLimit;
  using Decision = SuppressedDecision;
  using Counts = SuppressedCommit;  // requests observed, and of those declined
  // Redis's view at the last successful sync, live until `until`.
  struct View {
    std::int64_t remote_observed = 0;
    std::int64_t remote_declined = 0;
    bool suppressing = false;
    double factor = 0;
    MonoTime until{};
  };
  struct Local {
    std::optional<SuppressedDecision> decision;
    SuppressedCommit recorded;  // decided here
    double draw = 0;            // the draw made, for Redis to decide with when there is no decision
  };

  [[nodiscard]] static Result<HybridSuppressedStrategy> create(RedisConnection& redis,
                                                               Executor& executor,
                                                               const HybridOptions& options);
  [[nodiscard]] static Status validate(const Limit& limit, std::int64_t count);
  // With a live view: declined past hard, admitted within the allowance below soft,
  // drawn against the view's factor between; else nothing (Redis decides, same draw).
  [[nodiscard]] Local decide(std::string_view key,
                             const HybridKeyState<HybridSuppressedStrategy>& state,
                             const Limit& limit, std::int64_t count, MonoTime now);
  Task<Result<Decision>> commit_and_inc(const std::string& key, const Limit& limit,
                                        const Counts& sent, std::int64_t count,
                                        const Local& local) {
    return remote_.commit_and_inc(key, limit, sent, count, local.draw);
  }
  [[nodiscard]] ScriptCall commit_call(const std::string& key, const Limit& limit,
                                       const Counts& sent) const {
    return remote_.script_call(key, limit, sent, 0, 0);
  }
  [[nodiscard]] static Result<Decision> parse_reply(const Result<RedisReply>& reply) {
    return SuppressedLimiter::parse_reply(reply);
  }
  [[nodiscard]] static bool same_limit(const Limit& a, const Limit& b) {
    return a.soft_limit == b.soft_limit && a.hard_limit == b.hard_limit && a.window == b.window &&
           a.bucket == b.bucket && a.factor_cache == b.factor_cache;
  }
  [[nodiscard]] static std::int64_t capacity(const Limit& limit) { return limit.hard_limit; }
  [[nodiscard]] static std::int64_t observed(const Counts& c) { return c.observed; }
  [[nodiscard]] static std::int64_t admitted(const Counts& c) { return c.observed - c.declined; }
  [[nodiscard]] static std::int64_t admitted(const Decision& answer) {
    return answer.observed - answer.declined;
  }
  static void refresh(View& view, const Limit& limit, std::int64_t requested,
                      const Decision& answer, MonoTime now);

 private:
  HybridSuppressedStrategy(SuppressedLimiter remote, std::vector<DrawSource> draws)
      : remote_(std::move(remote)), draws_(std::move(draws)) {}
  SuppressedLimiter remote_;
  // One generator per shard of the limiter's keys, used under that shard's lock.
  std::vector<DrawSource> draws_;
};

// inc() decides `count` requests: here when the view and the allowance allow, else
// through Redis. `observed`/`declined` are this process's view (Redis's totals at the
// last sync plus the requests decided here since). count 0 reads through Redis.
using HybridSuppressedLimiter = HybridLimiter<HybridSuppressedStrategy>;

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_HYBRID_SUPPRESSED_LIMITER_H_
