// GcraLimiter: GCRA over Redis, redis-cell compatible (core/limiters/gcra.h has the semantics).
// One script per check, atomic on the server, so the window bound holds across every
// instance sharing the Redis; several rates on one key are checked all or nothing.
//
// Time: the Redis server's clock (TIME) by default, the same for every caller however
// skewed their own clocks are; `use_client_clock` sends the caller's wall clock instead
// (for comparison, or when the server's clock is not trusted).
// Keys: "{<prefix>:<key>}:gcra", one hash per limited key (its rates are fields), so
// the keys spread over a Redis Cluster and each script touches one key. The hash
// expires when its last TAT has passed (TTL ceil(new_tat - now)).
// Outcomes: kInvalidArgument for bad keys or rates (nothing sent); the connection's
// kUnavailable / kUnknownOutcome otherwise (an unknown check may have taken permits).
#ifndef DISTKIT_CORE_LIMITERS_GCRA_LIMITER_H_
#define DISTKIT_CORE_LIMITERS_GCRA_LIMITER_H_

#include <string>
#include <vector>

#include "distkit/core/limiters/gcra.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

struct GcraLimiterOptions {
  std::string prefix;
  // Nullptr: the Redis server's clock. Else this clock's wall time.
  const Clock* client_clock = nullptr;
};

class GcraLimiter {
 public:
  // `redis` (and the client clock) must outlive the limiter.
  [[nodiscard]] static Result<GcraLimiter> create(RedisConnection& redis,
                                                  GcraLimiterOptions options);
  [[nodiscard]] static const RedisScript& script();

  // Takes `quantity` permits of `key` (0: a peek that takes nothing).
  Task<Result<GcraDecision>> check(std::string key, GcraRate rate, std::int64_t quantity = 1);
  // Every rate must allow, or nothing is taken; `binding` names the tightest rate.
  Task<Result<GcraVerdict>> check_all(std::string key, std::vector<GcraRate> rates,
                                      std::int64_t quantity = 1);
  // Forgets the key's history (full capacity again).
  Task<Status> reset(std::string key);

  [[nodiscard]] std::string redis_key(const std::string& key) const;

 private:
  GcraLimiter(RedisConnection& redis, GcraLimiterOptions options)
      : redis_(&redis), options_(std::move(options)) {}
  RedisConnection* redis_;
  GcraLimiterOptions options_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_GCRA_LIMITER_H_
