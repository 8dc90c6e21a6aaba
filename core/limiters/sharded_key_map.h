// ShardedKeyMap<State>: the per-key state of the local limiters, in 64 shards, each a
// mutex and a hash map, bounded. apply() runs a decision on a key's state under its
// shard's lock; a key whose state is idle (nothing to remember: back at full capacity)
// takes no room, and a full shard first forgets its idle keys.
#ifndef DISTKIT_CORE_LIMITERS_SHARDED_KEY_MAP_H_
#define DISTKIT_CORE_LIMITERS_SHARDED_KEY_MAP_H_

#include <algorithm>
#include <array>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "distkit/core/base/status.h"

namespace distkit {

template <typename State>
class ShardedKeyMap {
 public:
  explicit ShardedKeyMap(std::size_t max_keys)
      : max_keys_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {}

  // `decide(State&)` runs on the key's state (a fresh State for an unknown key) and its
  // result is returned. `idle(const State&)` says a state holds nothing worth keeping.
  // kResourceExhausted when a new, non-idle key finds its shard full of non-idle keys.
  template <typename Decide, typename Idle>
  auto apply(std::string_view key, Decide&& decide, Idle&& idle)
      -> Result<std::invoke_result_t<Decide, State&>> {
    Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (auto it = shard.keys.find(key); it != shard.keys.end()) return decide(it->second);
    State fresh{};
    auto result = decide(fresh);
    if (idle(fresh)) return result;
    if (shard.keys.size() >= max_keys_per_shard_) {
      std::erase_if(shard.keys, [&](const auto& entry) { return idle(entry.second); });
      if (shard.keys.size() >= max_keys_per_shard_) {
        return resource_exhausted_error("a local limiter holds at most " +
                                        std::to_string(max_keys_per_shard_ * kShards) +
                                        " limited keys");
      }
    }
    shard.keys.emplace(std::string(key), std::move(fresh));
    return result;
  }

  void erase(std::string_view key) {
    Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (auto it = shard.keys.find(key); it != shard.keys.end()) shard.keys.erase(it);
  }

  // Runs `fn(key, State&)` on every key, shard by shard under each shard's lock; a key
  // for which it returns true is forgotten. For background work over all keys (a hybrid
  // limiter's sync); `fn` must not call back into the map.
  template <typename Fn>
  void sweep(Fn&& fn) {
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mutex);
      for (auto it = shard.keys.begin(); it != shard.keys.end();) {
        it = fn(std::string_view(it->first), it->second) ? shard.keys.erase(it) : std::next(it);
      }
    }
  }

  // Shard `i`'s index for a key, for per-shard resources kept by the caller.
  [[nodiscard]] static std::size_t shard_of(std::string_view key) {
    return std::hash<std::string_view>{}(key) % kShards;
  }
  static constexpr std::size_t kShards = 64;

 private:
  struct KeyHash {  // find() takes a string_view without building a string
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, State, KeyHash, std::equal_to<>> keys;
  };
  std::size_t max_keys_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_SHARDED_KEY_MAP_H_
