// Sliding-window limiters (absolute strategy, core/limiters/sliding_window.h) over Redis and in
// one process. Both run sliding_window_decide's rules; the Redis one in one script per
// call, on the Redis server's clock by default (a client clock by option), with one
// hash per limited key, "{<prefix>:<key>}:window" (Cluster safe), that expires with its
// newest bucket: no cleanup loop is needed for correctness or storage (trypema's keys
// had no TTL and relied on one).
#ifndef DISTKIT_CORE_LIMITERS_SLIDING_WINDOW_LIMITER_H_
#define DISTKIT_CORE_LIMITERS_SLIDING_WINDOW_LIMITER_H_

#include <deque>
#include <string>
#include <string_view>

#include "distkit/core/limiters/sharded_key_map.h"
#include "distkit/core/limiters/sliding_window.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

struct SlidingWindowLimiterOptions {
  std::string prefix;
  const Clock* client_clock = nullptr;  // nullptr: the Redis server's clock
};

class SlidingWindowLimiter {
 public:
  [[nodiscard]] static Result<SlidingWindowLimiter> create(RedisConnection& redis,
                                                           SlidingWindowLimiterOptions options);
  [[nodiscard]] static const RedisScript& script();

  // Takes `count` if the window has room (0: reads the live total).
  Task<Result<WindowDecision>> inc(std::string key, SlidingWindowLimit limit,
                                   std::int64_t count = 1);
  // The same, after adding `committed` unconditionally (grants already made elsewhere:
  // HybridSlidingWindowLimiter's local ones), in the same script.
  Task<Result<WindowDecision>> commit_and_inc(std::string key, SlidingWindowLimit limit,
                                              std::int64_t committed, std::int64_t count);
  // The script call itself, for callers that pipeline many (arguments validated).
  [[nodiscard]] ScriptCall script_call(const std::string& key, const SlidingWindowLimit& limit,
                                       std::int64_t committed, std::int64_t count) const;
  [[nodiscard]] static Result<WindowDecision> parse_reply(const Result<RedisReply>& reply);
  [[nodiscard]] std::string redis_key(const std::string& key) const;

 private:
  SlidingWindowLimiter(RedisConnection& redis, SlidingWindowLimiterOptions options)
      : redis_(&redis), options_(std::move(options)) {}
  RedisConnection* redis_;
  SlidingWindowLimiterOptions options_;
};

// Thread-safe (64 mutex shards); bounded: at most `max_keys` keys, keys whose buckets
// have all expired are forgotten first, then new keys get kResourceExhausted.
class LocalSlidingWindowLimiter {
 public:
  explicit LocalSlidingWindowLimiter(const Clock& clock, std::size_t max_keys = 1 << 16);
  [[nodiscard]] Result<WindowDecision> inc(std::string_view key, const SlidingWindowLimit& limit,
                                           std::int64_t count = 1);
  [[nodiscard]] Result<WindowDecision> inc_at(std::string_view key, const SlidingWindowLimit& limit,
                                              std::int64_t count, std::int64_t now_ms);

 private:
  const Clock& clock_;
  ShardedKeyMap<std::deque<WindowBucket>> keys_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_SLIDING_WINDOW_LIMITER_H_
