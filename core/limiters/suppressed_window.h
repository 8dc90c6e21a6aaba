// Sliding-window limiting, trypema's suppressed strategy (reference/seeds.md B.6, B.8):
// instead of a hard cut at the limit, load is shed progressively. Below `soft_limit`
// every request is admitted; between soft and hard a request is admitted with
// probability 1 - factor, where the suppression factor grows with the perceived rate
// (the larger of the window's average and the last second's count):
//   factor = 1 - (soft_limit / window_seconds) / perceived_rate_per_second
// and nothing is admitted that would take the admitted total past `hard_limit`.
//
// The window keeps buckets (start, observed, declined) as the absolute strategy does
// (core/limiters/sliding_window.h: expired buckets dropped on every call, count-aware), counting
// every request as observed and the refused ones as declined; admitted = observed -
// declined. Guarantee: the admitted total in the live window never exceeds hard_limit.
// The factor is cached per key for `factor_cache` (trypema's default 100 ms).
//
// Randomness comes from the caller (`draw` in [0, 1)): the local limiter passes its
// own generator, the Redis script Lua's math.random (seeded by the server; in the
// simulator, from the world's seed).
#ifndef DISTKIT_CORE_LIMITERS_SUPPRESSED_WINDOW_H_
#define DISTKIT_CORE_LIMITERS_SUPPRESSED_WINDOW_H_

#include <cstdint>
#include <deque>
#include <optional>

#include "distkit/core/async/clock.h"
#include "distkit/core/base/status.h"

namespace distkit {

struct SuppressedLimit {
  std::int64_t soft_limit = 1;  // per window: admitted freely up to here
  std::int64_t hard_limit = 1;  // per window: never admitted past here (>= soft_limit)
  Duration window = std::chrono::seconds(10);
  Duration bucket = std::chrono::milliseconds(100);
  Duration factor_cache = std::chrono::milliseconds(100);

  [[nodiscard]] Status validate() const;
  [[nodiscard]] std::int64_t window_ms() const;
  [[nodiscard]] std::int64_t bucket_ms() const;
};

struct SuppressedBucket {
  std::int64_t start_ms = 0;
  std::int64_t observed = 0;
  std::int64_t declined = 0;
  friend bool operator==(const SuppressedBucket&, const SuppressedBucket&) = default;
};

struct SuppressedState {
  std::deque<SuppressedBucket> buckets;
  std::optional<double> cached_factor;
  std::int64_t factor_cached_at_ms = 0;
};

struct SuppressedDecision {
  bool allowed = false;
  bool suppressing = false;   // between soft and hard (or at hard): the factor applied
  double factor = 0;          // the suppression factor in [0, 1]
  std::int64_t observed = 0;  // live totals after the call
  std::int64_t declined = 0;
  friend bool operator==(const SuppressedDecision&, const SuppressedDecision&) = default;
};

// Requests decided elsewhere (HybridSuppressedLimiter's local decisions), recorded
// before the decision.
struct SuppressedCommit {
  std::int64_t observed = 0;
  std::int64_t declined = 0;  // of `observed`

  SuppressedCommit& operator+=(const SuppressedCommit& other) {
    observed += other.observed;
    declined += other.declined;
    return *this;
  }
  SuppressedCommit& operator-=(const SuppressedCommit& other) {
    observed -= other.observed;
    declined -= other.declined;
    return *this;
  }
};

// `committed` is added first, unconditionally (to the newest bucket, or a new one).
// REQUIRES: limit.validate().ok(), count >= 0, 0 <= draw < 1,
// 0 <= committed.declined <= committed.observed.
SuppressedDecision suppressed_decide(SuppressedState& state, const SuppressedLimit& limit,
                                     std::int64_t now_ms, std::int64_t count, double draw,
                                     SuppressedCommit committed = {});

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_SUPPRESSED_WINDOW_H_
