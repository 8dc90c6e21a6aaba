// The sliding-window limiters behind the failure policy of core/limiters/resilient_limiter.h
// (circuit breaker; fail open, fail closed, or a local limiter of the same strategy as
// fallback, handing back to Redis by itself):
//   ResilientWindowLimiter      SlidingWindowLimiter, LocalSlidingWindowLimiter fallback
//   ResilientSuppressedLimiter  SuppressedLimiter, LocalSuppressedLimiter fallback
// check(key, limit, count) is the remote limiter's inc().
#ifndef DISTKIT_CORE_LIMITERS_RESILIENT_WINDOW_H_
#define DISTKIT_CORE_LIMITERS_RESILIENT_WINDOW_H_

#include <string>
#include <string_view>

#include "distkit/core/limiters/resilient_limiter.h"
#include "distkit/core/limiters/sliding_window_limiter.h"
#include "distkit/core/limiters/suppressed_limiter.h"

namespace distkit {

struct WindowFailurePolicy {
  using Remote = SlidingWindowLimiter;
  using Local = LocalSlidingWindowLimiter;
  using Limit = SlidingWindowLimit;
  using Decision = WindowDecision;
  static Task<Result<WindowDecision>> ask(SlidingWindowLimiter& remote, std::string key,
                                          SlidingWindowLimit limit, std::int64_t count) {
    return remote.inc(std::move(key), limit, count);
  }
  static Result<WindowDecision> ask_local(LocalSlidingWindowLimiter& local, std::string_view key,
                                          const SlidingWindowLimit& limit, std::int64_t count) {
    return local.inc(key, limit, count);
  }
  // Without an answer the total is unknown: reported as 0.
  static WindowDecision without_answer(const SlidingWindowLimit&, bool allowed,
                                       Duration retry_after) {
    WindowDecision d;
    d.allowed = allowed;
    if (!allowed) d.retry_after = retry_after;
    return d;
  }
};

struct SuppressedFailurePolicy {
  using Remote = SuppressedLimiter;
  using Local = LocalSuppressedLimiter;
  using Limit = SuppressedLimit;
  using Decision = SuppressedDecision;
  static Task<Result<SuppressedDecision>> ask(SuppressedLimiter& remote, std::string key,
                                              SuppressedLimit limit, std::int64_t count) {
    return remote.inc(std::move(key), limit, count);
  }
  static Result<SuppressedDecision> ask_local(LocalSuppressedLimiter& local, std::string_view key,
                                              const SuppressedLimit& limit, std::int64_t count) {
    return local.inc(key, limit, count);
  }
  // Fail closed sheds everything (factor 1); fail open admits as if below soft.
  static SuppressedDecision without_answer(const SuppressedLimit&, bool allowed, Duration) {
    SuppressedDecision d;
    d.allowed = allowed;
    d.suppressing = !allowed;
    d.factor = allowed ? 0 : 1;
    return d;
  }
};

using ResilientWindowLimiter = ResilientLimiter<WindowFailurePolicy>;
using ResilientSuppressedLimiter = ResilientLimiter<SuppressedFailurePolicy>;

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_RESILIENT_WINDOW_H_
