// What the hybrid limiters (hybrid_window_limiter.h, hybrid_suppressed_limiter.h) share:
// the checks of their options, the budget rule, and the commit of every key's pending
// requests in bounded pipelines.
#ifndef DISTKIT_CORE_HYBRID_SYNC_H_
#define DISTKIT_CORE_HYBRID_SYNC_H_

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "distkit/core/redis_connection.h"

namespace distkit {

// Pipelines of at most this many script calls, so one sync never builds an unbounded
// request.
inline constexpr std::size_t kHybridSyncChunk = 256;

[[nodiscard]] inline Status validate_hybrid_options(double budget_fraction, Duration sync_interval,
                                                    std::size_t max_keys) {
  if (!(budget_fraction > 0 && budget_fraction <= 1)) {
    return invalid_argument_error("budget_fraction must be in (0, 1]");
  }
  if (sync_interval <= Duration(0)) return invalid_argument_error("sync_interval must be positive");
  if (max_keys == 0) return invalid_argument_error("max_keys must be positive");
  return Status();
}

// A key's local budget: max(1, floor(limit * budget_fraction)).
[[nodiscard]] inline std::int64_t hybrid_budget(std::int64_t limit, double budget_fraction) {
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::floor(static_cast<double>(limit) * budget_fraction)));
}

// Sends `calls` (one per key with pending requests) in pipelines of kHybridSyncChunk,
// counting each pipeline in `round_trips`, and hands every answer, parsed by
// `parse(const Result<RedisReply>&)`, to `settle(index, answer)`. Returns the first
// error (the failed keys' requests stay pending with their settle()).
template <typename Parse, typename Settle>
Task<Status> send_commits(RedisConnection& redis, std::vector<ScriptCall> calls, Parse parse,
                          Settle settle, std::atomic<std::uint64_t>& round_trips) {
  const std::size_t n = calls.size();
  if (n == 0) co_return Status();
  round_trips.fetch_add((n + kHybridSyncChunk - 1) / kHybridSyncChunk);
  std::vector<Result<RedisReply>> replies =
      co_await redis.eval_pipelines(std::move(calls), kHybridSyncChunk);
  Status first_error;
  for (std::size_t i = 0; i < n; ++i) {
    auto answer = parse(replies[i]);
    if (!answer.ok() && first_error.ok()) first_error = answer.status();
    settle(i, answer);
  }
  co_return first_error;
}

}  // namespace distkit

#endif  // DISTKIT_CORE_HYBRID_SYNC_H_
