// GCRA (the generic cell rate algorithm), as a pure decision function, compatible with
// redis-cell's CL.THROTTLE (reference/seeds.md 4.1, 4.4):
//
//   T   = period / permits          (the emission interval, never truncated)
//   DVT = (burst + 1) * T           (burst + 1 permits may be taken at once)
//   a request of `quantity` at `now`, with stored TAT (theoretical arrival time):
//     base = clamp(TAT, now, now + DVT), next = base + quantity * T
//     allowed iff next - now <= DVT; then TAT := next (kept ceil(next - now))
//
// Exactness: times are whole microseconds and a TAT is an exact rational
// `us + rem / permits`, so T = period / permits loses nothing, however high the rate;
// the Redis script stores the same pair and computes the same numbers (all within 2^53,
// which validate() guarantees). Consequence: in any window of W microseconds at most
// burst + 1 + floor((W - 1) / T) permits are granted (tests/unit/gcra_test.cc).
//
// A TAT further ahead than DVT can only come from a clock that went back; it counts as
// now + DVT (fully used, recovering within DVT instead of waiting for the clock).
// Nothing here reads a clock: callers pass `now`.
#ifndef DISTKIT_CORE_LIMITERS_GCRA_H_
#define DISTKIT_CORE_LIMITERS_GCRA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "distkit/core/async/clock.h"
#include "distkit/core/base/status.h"

namespace distkit {

struct GcraRate {
  std::int64_t permits = 1;                   // per period, at least 1
  Duration period = std::chrono::seconds(1);  // whole microseconds, at least 1 us
  std::int64_t burst = 0;                     // extra permits at once (redis-cell's max_burst)

  // kInvalidArgument unless permits >= 1, period >= 1 us in whole microseconds,
  // burst >= 0, and (burst + 1) * period and permits * period stay below 2^50 us
  // (so every intermediate value is exact in a Lua double too).
  [[nodiscard]] Status validate() const;
  [[nodiscard]] std::int64_t period_us() const;
  [[nodiscard]] std::int64_t limit() const { return burst + 1; }
};

// A theoretical arrival time: us + rem / permits microseconds, 0 <= rem < permits.
struct GcraTat {
  std::int64_t us = 0;
  std::int64_t rem = 0;
  friend bool operator==(const GcraTat&, const GcraTat&) = default;
};

// What a caller learns of a check: the limiters return this.
struct GcraDecision {
  bool allowed = false;
  std::int64_t limit = 0;      // burst + 1
  std::int64_t remaining = 0;  // permits that could be taken right after this one
  Duration retry_after{0};     // 0 if allowed; kRetryNever if it can never be
  Duration reset_after{0};     // until the key is back to full capacity
  friend bool operator==(const GcraDecision&, const GcraDecision&) = default;
};

// Several rates checked together, all or nothing (a request must pass every rate; if
// one denies, nothing is taken from any): `combined` is allowed iff all allow, with
// the smallest remaining (and that rate's limit: `binding` is its index), the largest
// retry_after (kRetryNever if any can never allow) and reset_after.
struct GcraVerdict {
  GcraDecision combined;
  std::size_t binding = 0;
  friend bool operator==(const GcraVerdict&, const GcraVerdict&) = default;
};

// The pure step, for whoever keeps the state (the local limiter, the tests; the Redis
// script mirrors it): the decision and the state it leaves.
struct GcraStep {
  GcraDecision decision;
  // The TAT to store when it changed (allowed with quantity > 0), kept for
  // ceil(reset_after).
  std::optional<GcraTat> store;
};
struct GcraSteps {
  GcraVerdict verdict;
  std::vector<std::optional<GcraTat>> stores;  // per rate; set only when allowed
};

// The step for `quantity` permits (0: peek, nothing stored) at `now_us`, given the
// stored TAT (nullopt: none, or expired). REQUIRES: rate.validate().ok(), quantity >= 0.
[[nodiscard]] GcraStep gcra_decide(const GcraRate& rate, std::optional<GcraTat> tat,
                                   std::int64_t now_us, std::int64_t quantity);
// The same for several rates, all or nothing (GcraVerdict).
[[nodiscard]] GcraSteps gcra_decide_all(const std::vector<GcraRate>& rates,
                                        const std::vector<std::optional<GcraTat>>& tats,
                                        std::int64_t now_us, std::int64_t quantity);

// Header values for a decision (IETF draft RateLimit headers and Retry-After), in whole
// seconds rounded up: "limit=10, remaining=3, reset=2" and "2" (empty when allowed).
struct RateLimitHeaders {
  std::string rate_limit;
  std::string retry_after;
};
[[nodiscard]] RateLimitHeaders rate_limit_headers(const GcraDecision& decision);

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_GCRA_H_
