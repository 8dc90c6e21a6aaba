#include "distkit/core/limiters/suppressed_window.h"

#include <algorithm>

namespace distkit {
namespace {

std::int64_t whole_ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

std::int64_t SuppressedLimit::window_ms() const {
  return whole_ms(window);
}
std::int64_t SuppressedLimit::bucket_ms() const {
  return whole_ms(bucket);
}

Status SuppressedLimit::validate() const {
  if (soft_limit < 0 || hard_limit < soft_limit || hard_limit >= (std::int64_t{1} << 53)) {
    return invalid_argument_error("limits must satisfy 0 <= soft_limit <= hard_limit < 2^53");
  }
  const auto whole = [](Duration d) {
    return d >= std::chrono::milliseconds(1) && d % std::chrono::milliseconds(1) == Duration(0);
  };
  if (!whole(window) || !whole(bucket) || bucket > window || !whole(factor_cache)) {
    return invalid_argument_error(
        "window, bucket and factor_cache must be whole milliseconds, bucket <= window");
  }
  if (window_ms() / bucket_ms() > 1000) {
    return invalid_argument_error("at most 1000 buckets per window (window / bucket)");
  }
  return Status();
}

SuppressedDecision suppressed_decide(SuppressedState& state, const SuppressedLimit& limit,
                                     std::int64_t now_ms, std::int64_t count, double draw,
                                     SuppressedCommit committed) {
  auto& buckets = state.buckets;
  // Into the newest bucket if it is still open, else a new one starting now.
  const auto record = [&](std::int64_t observed, std::int64_t declined) {
    if (buckets.empty() || now_ms - buckets.back().start_ms > limit.bucket_ms())
      buckets.push_back({now_ms, 0, 0});
    buckets.back().observed += observed;
    buckets.back().declined += declined;
  };
  bool evicted = false;
  while (!buckets.empty() && buckets.front().start_ms < now_ms - limit.window_ms()) {
    buckets.pop_front();
    evicted = true;
  }
  if (evicted ||
      (state.cached_factor && now_ms - state.factor_cached_at_ms >= whole_ms(limit.factor_cache))) {
    state.cached_factor.reset();
  }
  if (committed.observed > 0) record(committed.observed, committed.declined);
  std::int64_t observed = 0, declined = 0, last_second = 0;
  for (const SuppressedBucket& b : buckets) {
    observed += b.observed;
    declined += b.declined;
    if (now_ms - b.start_ms <= 1000) last_second += b.observed;
  }
  const std::int64_t admitted = observed - declined;
  const auto computed_factor = [&]() -> double {
    if (buckets.empty() || admitted < limit.soft_limit) return 0;
    if (admitted >= limit.hard_limit) return 1;
    const double window_s = static_cast<double>(limit.window_ms()) / 1000;
    const double perceived =
        std::max(static_cast<double>(observed) / window_s, static_cast<double>(last_second));
    if (perceived <= 0) return 0;
    return std::clamp(1 - (static_cast<double>(limit.soft_limit) / window_s) / perceived, 0.0, 1.0);
  };
  SuppressedDecision d;
  const std::int64_t forecast = admitted + count;
  if (forecast <= limit.soft_limit) {
    d.allowed = true;
  } else if (forecast > limit.hard_limit) {
    d.suppressing = true;
    d.factor = 1;
  } else {
    d.suppressing = true;
    if (!state.cached_factor) {
      state.cached_factor = computed_factor();
      state.factor_cached_at_ms = now_ms;
    }
    d.factor = *state.cached_factor;
    d.allowed = d.factor <= 0 || (d.factor < 1 && draw < 1 - d.factor);
  }
  if (count > 0) record(count, d.allowed ? 0 : count);
  d.observed = observed + count;
  d.declined = declined + (d.allowed ? 0 : count);
  return d;
}

}  // namespace distkit
