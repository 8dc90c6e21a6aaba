// Suppressed sliding-window limiters (core/limiters/suppressed_window.h) over Redis and in one
// process. The Redis one runs one script per call (core/lua/suppressed_window.lua) on
// the server's clock by default, one hash per key, "{<prefix>:<key>}:suppressed",
// expiring with its newest bucket; its random draw is made here and sent, so the
// script is a pure function of its inputs.
#ifndef DISTKIT_CORE_LIMITERS_SUPPRESSED_LIMITER_H_
#define DISTKIT_CORE_LIMITERS_SUPPRESSED_LIMITER_H_

#include <string>
#include <string_view>
#include <vector>

#include "distkit/core/base/random.h"
#include "distkit/core/limiters/sharded_key_map.h"
#include "distkit/core/limiters/suppressed_window.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

// The draws come from core's seeded generator: deterministic when seeded, so the
// simulator replays them.
using DrawSource = SplitMix64;

// One generator per ShardedKeyMap shard, derived from `seed` (0: a random one), for
// limiters that draw under a shard's lock.
[[nodiscard]] std::vector<DrawSource> draws_per_shard(std::uint64_t seed);

struct SuppressedLimiterOptions {
  std::string prefix;
  const Clock* client_clock = nullptr;  // nullptr: the Redis server's clock
  // Of the draws; 0: a random one, from the executor (Executor::entropy(): the
  // operating system's in production, the node's stream in the simulator).
  std::uint64_t seed = 0;
};

class SuppressedLimiter {
 public:
  // `redis` must outlive the limiter; `executor` is asked only for a seed left at 0.
  [[nodiscard]] static Result<SuppressedLimiter> create(RedisConnection& redis, Executor& executor,
                                                        SuppressedLimiterOptions options);
  [[nodiscard]] static const RedisScript& script();

  Task<Result<SuppressedDecision>> inc(std::string key, SuppressedLimit limit,
                                       std::int64_t count = 1);
  // The same with the draw given (for tests comparing with the pure decision).
  Task<Result<SuppressedDecision>> inc_with_draw(std::string key, SuppressedLimit limit,
                                                 std::int64_t count, double draw);
  // The same, after recording `committed` unconditionally (requests decided elsewhere:
  // HybridSuppressedLimiter's local ones), in the same script.
  Task<Result<SuppressedDecision>> commit_and_inc(std::string key, SuppressedLimit limit,
                                                  SuppressedCommit committed, std::int64_t count,
                                                  double draw);
  // The script call itself, for callers that pipeline many (arguments validated).
  [[nodiscard]] ScriptCall script_call(const std::string& key, const SuppressedLimit& limit,
                                       SuppressedCommit committed, std::int64_t count,
                                       double draw) const;
  [[nodiscard]] static Result<SuppressedDecision> parse_reply(const Result<RedisReply>& reply);
  // A draw from this limiter's generator (not thread-safe, like inc()).
  [[nodiscard]] double next_draw() { return draws_.next_unit(); }
  [[nodiscard]] std::string redis_key(const std::string& key) const;

 private:
  SuppressedLimiter(RedisConnection& redis, SuppressedLimiterOptions options)
      : redis_(&redis), options_(std::move(options)), draws_(options_.seed) {}
  RedisConnection* redis_;
  SuppressedLimiterOptions options_;
  DrawSource draws_;
};

// Thread-safe (64 mutex shards, each with its own draws); bounded like the other local
// limiters.
class LocalSuppressedLimiter {
 public:
  LocalSuppressedLimiter(const Clock& clock, std::uint64_t seed, std::size_t max_keys = 1 << 16);
  [[nodiscard]] Result<SuppressedDecision> inc(std::string_view key, const SuppressedLimit& limit,
                                               std::int64_t count = 1);
  [[nodiscard]] Result<SuppressedDecision> inc_at(std::string_view key,
                                                  const SuppressedLimit& limit, std::int64_t count,
                                                  std::int64_t now_ms);

 private:
  const Clock& clock_;
  ShardedKeyMap<SuppressedState> keys_;
  // One generator per shard, used under that shard's lock (inside apply()).
  std::vector<DrawSource> draws_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_SUPPRESSED_LIMITER_H_
