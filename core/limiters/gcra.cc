#include "distkit/core/limiters/gcra.h"

#include <algorithm>

namespace distkit {
namespace {

using Wide = __int128;
constexpr std::int64_t kExactLimit = std::int64_t{1} << 50;

// Microseconds from a scaled (x permits) amount, rounded up.
Duration scaled_to_duration(Wide scaled, std::int64_t permits) {
  const Wide us = (scaled + permits - 1) / permits;
  return std::chrono::microseconds(static_cast<std::int64_t>(us));
}

std::int64_t ceil_seconds(Duration d) {
  const std::int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return (us + 999'999) / 1'000'000;
}

}  // namespace

std::int64_t GcraRate::period_us() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(period).count();
}

Status GcraRate::validate() const {
  if (permits < 1) return invalid_argument_error("a rate needs at least 1 permit per period");
  if (burst < 0) return invalid_argument_error("burst must not be negative");
  if (period < std::chrono::microseconds(1) ||
      period % std::chrono::microseconds(1) != Duration(0)) {
    return invalid_argument_error("a rate's period must be a whole number of microseconds");
  }
  const Wide p = period_us();
  if ((Wide{burst} + 1) * p >= kExactLimit || Wide{permits} * p >= kExactLimit) {
    return invalid_argument_error(
        "(burst + 1) x period and permits x period must stay below 2^50 microseconds");
  }
  return Status();
}

GcraStep gcra_decide(const GcraRate& rate, std::optional<GcraTat> tat, std::int64_t now_us,
                     std::int64_t quantity) {
  // Everything in microseconds x permits, so T = period is an integer.
  const Wide permits = rate.permits;
  const Wide t = rate.period_us();
  const Wide dvt = (Wide{rate.burst} + 1) * t;
  const Wide now = Wide{now_us} * permits;
  const Wide stored = tat ? Wide{tat->us} * permits + tat->rem : now;
  const Wide base = std::clamp(stored, now, now + dvt);
  const Wide increment = Wide{quantity} * t;
  const Wide next = base + increment;

  GcraStep step;
  GcraDecision& d = step.decision;
  d.limit = rate.limit();
  const Wide used = (next - now <= dvt) ? next - now : base - now;
  d.allowed = next - now <= dvt;
  d.remaining = static_cast<std::int64_t>(std::max<Wide>(0, (dvt - used) / t));
  d.reset_after = scaled_to_duration(used, rate.permits);
  if (d.allowed) {
    if (quantity > 0) {
      step.store = GcraTat{static_cast<std::int64_t>(next / permits),
                           static_cast<std::int64_t>(next % permits)};
    }
  } else if (increment > dvt) {
    d.retry_after = kRetryNever;
  } else {
    d.retry_after = scaled_to_duration(next - dvt - now, rate.permits);
  }
  return step;
}

GcraSteps gcra_decide_all(const std::vector<GcraRate>& rates,
                          const std::vector<std::optional<GcraTat>>& tats, std::int64_t now_us,
                          std::int64_t quantity) {
  GcraSteps steps;
  GcraVerdict& v = steps.verdict;
  std::vector<GcraStep> taken;
  bool all_allowed = !rates.empty();
  for (std::size_t i = 0; i < rates.size(); ++i) {
    taken.push_back(
        gcra_decide(rates[i], i < tats.size() ? tats[i] : std::nullopt, now_us, quantity));
    all_allowed = all_allowed && taken.back().decision.allowed;
  }
  GcraDecision& c = v.combined;
  c.allowed = all_allowed;
  for (std::size_t i = 0; i < rates.size(); ++i) {
    // Denied: nothing is taken from any rate, so each reports its state as it stays.
    const GcraDecision d =
        all_allowed
            ? taken[i].decision
            : gcra_decide(rates[i], i < tats.size() ? tats[i] : std::nullopt, now_us, 0).decision;
    if (i == 0 || d.remaining < c.remaining) {
      c.remaining = d.remaining;
      c.limit = d.limit;
      v.binding = i;
    }
    c.reset_after = std::max(c.reset_after, d.reset_after);
    // kRetryNever is the largest.
    c.retry_after = std::max(c.retry_after, taken[i].decision.retry_after);
    steps.stores.push_back(all_allowed ? taken[i].store : std::nullopt);
  }
  return steps;
}

RateLimitHeaders rate_limit_headers(const GcraDecision& decision) {
  RateLimitHeaders h;
  h.rate_limit = "limit=" + std::to_string(decision.limit) +
                 ", remaining=" + std::to_string(decision.remaining) +
                 ", reset=" + std::to_string(ceil_seconds(decision.reset_after));
  if (!decision.allowed && decision.retry_after != kRetryNever)
    h.retry_after = std::to_string(ceil_seconds(decision.retry_after));
  return h;
}

}  // namespace distkit
