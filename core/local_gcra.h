// LocalGcraLimiter: GCRA for one process, with the same semantics and numbers as
// GcraLimiter (core/gcra.h), on this process's monotonic clock. Thread-safe: keys are
// spread over 64 shards, each a mutex and a map of TATs.
//
// Bounded: at most `max_keys` keys; a full shard first forgets keys whose TATs have all
// passed (they are at full capacity, the same as unknown keys), then refuses new keys
// with kResourceExhausted.
#ifndef DISTKIT_CORE_LOCAL_GCRA_H_
#define DISTKIT_CORE_LOCAL_GCRA_H_

#include <array>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "distkit/core/gcra.h"

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
  struct KeyHash {  // lets find() take a string_view without building a string
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<Rated>, KeyHash, std::equal_to<>> keys;
  };
  static constexpr std::size_t kShards = 64;
  Shard& shard_of(std::string_view key);

  const Clock& clock_;
  std::size_t max_keys_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LOCAL_GCRA_H_
