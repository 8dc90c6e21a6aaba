// What the hybrid limiters (hybrid_window_limiter.h, hybrid_suppressed_limiter.h) share:
// the checks of their options, the budget rule, and the commit of every key's pending
// requests in bounded pipelines, in order per key.
#ifndef DISTKIT_CORE_LIMITERS_HYBRID_SYNC_H_
#define DISTKIT_CORE_LIMITERS_HYBRID_SYNC_H_

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "distkit/core/seam/redis_connection.h"

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

// One key's send to Redis: the requests taken from its pending ones (`Counts`), the limit
// they were decided under, and the send's place in the key's order of sends, so that
// the answer to an older send never overwrites the view a newer one left.
template <typename Limit, typename Counts>
struct HybridSend {
  Limit limit;
  Counts sent{};
  std::uint64_t seq = 0;
};

// Commits the pending requests of `keys` in pipelines of at most kHybridSyncChunk:
// a key's unsent requests are taken (`take(key)`, marking them in flight; nothing when
// none are left) only when its chunk goes out, and each chunk is settled
// (`settle(key, send, answer)`) as soon as it is answered, so no request waits in
// flight behind another chunk. `call(key, send)` builds the script call, `parse` reads
// its reply. Counts each pipeline in `round_trips`; returns the first error (the failed
// keys' requests stay pending, by their settle()).
template <typename Take, typename Call, typename Parse, typename Settle>
Task<Status> send_commits(RedisConnection& redis, std::vector<std::string> keys, Take take,
                          Call call, Parse parse, Settle settle,
                          std::atomic<std::uint64_t>& round_trips) {
  using Send = typename std::invoke_result_t<Take&, const std::string&>::value_type;
  // In key order, not the key map's: what is sent, and so a simulated run's trace, does
  // not depend on the standard library's hash tables.
  std::sort(keys.begin(), keys.end());
  Status first_error;
  for (std::size_t begin = 0; begin < keys.size(); begin += kHybridSyncChunk) {
    const std::size_t end = std::min(keys.size(), begin + kHybridSyncChunk);
    std::vector<std::pair<const std::string*, Send>> sends;
    std::vector<ScriptCall> calls;
    for (std::size_t i = begin; i < end; ++i) {
      std::optional<Send> send = take(keys[i]);
      if (!send) continue;
      calls.push_back(call(keys[i], *send));
      sends.emplace_back(&keys[i], std::move(*send));
    }
    if (calls.empty()) continue;
    round_trips.fetch_add(1);
    std::vector<Result<RedisReply>> replies = co_await redis.eval_pipeline(std::move(calls));
    for (std::size_t i = 0; i < sends.size(); ++i) {
      auto answer = parse(i < replies.size() ? replies[i]
                                             : Result<RedisReply>(unavailable_error(
                                                   "the pipeline left a script unanswered")));
      if (!answer.ok() && first_error.ok()) first_error = answer.status();
      settle(*sends[i].first, sends[i].second, answer);
    }
  }
  co_return first_error;
}

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_HYBRID_SYNC_H_
