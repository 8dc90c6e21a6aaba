// LocalGcraLimiter: GCRA for one process, with the same semantics and numbers as
// GcraLimiter (core/limiters/gcra.h), on this process's monotonic clock. Thread-safe: keys are
// spread over 64 shards (core/limiters/sharded_key_map.h), each a mutex and a map of TATs.
//
// Bounded: at most `max_keys` keys; a full shard first forgets keys whose TATs have all
// passed (they are at full capacity, the same as unknown keys), then refuses new keys
// with kResourceExhausted.
#ifndef DISTKIT_CORE_LOCAL_LOCAL_GCRA_H_
#define DISTKIT_CORE_LOCAL_LOCAL_GCRA_H_

#include <string_view>
#include <vector>

#include "distkit/core/limiters/gcra.h"
#include "distkit/core/limiters/sharded_key_map.h"

namespace distkit {

class LocalGcraLimiter {
 public:
  // `clock` must outlive the limiter.
  explicit LocalGcraLimiter(const Clock& clock, std::size_t max_keys = 1 << 16);

  [[nodiscard]] Result<GcraDecision> check(std::string_view key, const GcraRate& rate,
                                           std::int64_t quantity = 1);
  [[nodiscard]] Result<GcraVerdict> check_all(std::string_view key,
                                              const std::vector<GcraRate>& rates,
                                              std::int64_t quantity = 1);
  // As check_all, at a time the caller gives (microseconds on any one clock).
  [[nodiscard]] Result<GcraVerdict> check_all_at(std::string_view key,
                                                 const std::vector<GcraRate>& rates,
                                                 std::int64_t quantity, std::int64_t now_us);
  void reset(std::string_view key);

 private:
  struct Rated {
    std::int64_t permits;
    std::int64_t period_us;
    GcraTat tat;
  };

  const Clock& clock_;
  ShardedKeyMap<std::vector<Rated>> keys_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LOCAL_LOCAL_GCRA_H_
