#include "distkit/core/local/local_gcra.h"

#include <algorithm>

namespace distkit {

LocalGcraLimiter::LocalGcraLimiter(const Clock& clock, std::size_t max_keys)
    : clock_(clock), keys_(max_keys) {}

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
  const auto decide = [&](std::vector<Rated>& rated) {
    const auto same = [](const Rated& r, const GcraRate& rate) {
      return r.permits == rate.permits && r.period_us == rate.period_us();
    };
    std::vector<std::optional<GcraTat>> tats(rates.size());
    for (std::size_t i = 0; i < rates.size(); ++i) {
      for (const Rated& r : rated)
        if (same(r, rates[i])) tats[i] = r.tat;
    }
    GcraSteps steps = gcra_decide_all(rates, tats, now_us, quantity);
    for (std::size_t i = 0; i < rates.size(); ++i) {
      if (!steps.stores[i]) continue;  // denied, or a peek: nothing taken
      auto it = std::find_if(rated.begin(), rated.end(),
                             [&](const Rated& r) { return same(r, rates[i]); });
      if (it != rated.end()) {
        it->tat = *steps.stores[i];
      } else {
        rated.push_back({rates[i].permits, rates[i].period_us(), *steps.stores[i]});
      }
    }
    return steps.verdict;
  };
  // Back at full capacity: every TAT has passed.
  const auto idle = [&](const std::vector<Rated>& rated) {
    return std::all_of(rated.begin(), rated.end(),
                       [&](const Rated& r) { return r.tat.us < now_us; });
  };
  return keys_.apply(key, decide, idle);
}

void LocalGcraLimiter::reset(std::string_view key) {
  keys_.erase(key);
}

}  // namespace distkit
