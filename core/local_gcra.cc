#include "distkit/core/local_gcra.h"

#include <functional>

namespace distkit {

LocalGcraLimiter::LocalGcraLimiter(const Clock& clock, std::size_t max_keys)
    : clock_(clock), max_keys_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {}

LocalGcraLimiter::Shard& LocalGcraLimiter::shard_of(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

Result<GcraDecision> LocalGcraLimiter::check(std::string_view key, const GcraRate& rate,
                                             std::int64_t quantity) {
  DISTKIT_ASSIGN_OR_RETURN(GcraVerdict v, check_all(key, std::vector<GcraRate>(1, rate), quantity));
  return v.combined;
}

Result<GcraVerdict> LocalGcraLimiter::check_all(std::string_view key,
                                                const std::vector<GcraRate>& rates,
                                                std::int64_t quantity) {
  const std::int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.now().time_since_epoch())
          .count();
  return check_all_at(key, rates, quantity, now_us);
}

Result<GcraVerdict> LocalGcraLimiter::check_all_at(std::string_view key,
                                                   const std::vector<GcraRate>& rates,
                                                   std::int64_t quantity, std::int64_t now_us) {
  if (rates.empty()) return invalid_argument_error("check_all needs at least one rate");
  if (quantity < 0) return invalid_argument_error("quantity must not be negative");
  for (const GcraRate& rate : rates)
    DISTKIT_RETURN_IF_ERROR(rate.validate());
  Shard& shard = shard_of(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.keys.find(key);
  std::vector<std::optional<GcraTat>> tats(rates.size());
  if (it != shard.keys.end()) {
    for (std::size_t i = 0; i < rates.size(); ++i) {
      for (const Rated& r : it->second) {
        if (r.permits == rates[i].permits && r.period_us == rates[i].period_us()) tats[i] = r.tat;
      }
    }
  }
  GcraVerdict verdict = gcra_decide_all(rates, tats, now_us, quantity);
  if (!verdict.combined.allowed || quantity == 0) return verdict;
  if (it == shard.keys.end()) {
    if (shard.keys.size() >= max_keys_per_shard_) {
      // Forget keys back at full capacity: every TAT has passed.
      std::erase_if(shard.keys, [&](const auto& entry) {
        for (const Rated& r : entry.second) {
          if (r.tat.us >= now_us) return false;
        }
        return true;
      });
      if (shard.keys.size() >= max_keys_per_shard_) {
        return resource_exhausted_error("the local GCRA limiter is full (" +
                                        std::to_string(max_keys_per_shard_ * kShards) +
                                        " keys still limited)");
      }
    }
    it = shard.keys.emplace(std::string(key), std::vector<Rated>()).first;
  }
  for (std::size_t i = 0; i < rates.size(); ++i) {
    bool found = false;
    for (Rated& r : it->second) {
      if (r.permits == rates[i].permits && r.period_us == rates[i].period_us()) {
        r.tat = *verdict.stores[i];
        found = true;
      }
    }
    if (!found) it->second.push_back({rates[i].permits, rates[i].period_us(), *verdict.stores[i]});
  }
  return verdict;
}

void LocalGcraLimiter::reset(std::string_view key) {
  Shard& shard = shard_of(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  if (auto it = shard.keys.find(key); it != shard.keys.end()) shard.keys.erase(it);
}

}  // namespace distkit
