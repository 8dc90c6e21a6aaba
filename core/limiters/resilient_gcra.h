// ResilientGcraLimiter: GcraLimiter behind the failure policy of
// core/limiters/resilient_limiter.h (circuit breaker; fail open, fail closed, or a
// LocalGcraLimiter fallback that hands back to Redis by itself).
#ifndef DISTKIT_CORE_LIMITERS_RESILIENT_GCRA_H_
#define DISTKIT_CORE_LIMITERS_RESILIENT_GCRA_H_

#include <string>
#include <string_view>

#include "distkit/core/limiters/gcra_limiter.h"
#include "distkit/core/limiters/resilient_limiter.h"
#include "distkit/core/local/local_gcra.h"

namespace distkit {

struct GcraFailurePolicy {
  using Remote = GcraLimiter;
  using Local = LocalGcraLimiter;
  using Limit = GcraRate;
  using Decision = GcraDecision;
  static Task<Result<GcraDecision>> ask(GcraLimiter& remote, std::string key, GcraRate rate,
                                        std::int64_t quantity) {
    return remote.check(std::move(key), rate, quantity);
  }
  static Result<GcraDecision> ask_local(LocalGcraLimiter& local, std::string_view key,
                                        const GcraRate& rate, std::int64_t quantity) {
    return local.check(key, rate, quantity);
  }
  static GcraDecision without_answer(const GcraRate& rate, bool allowed, Duration retry_after) {
    GcraDecision d;
    d.allowed = allowed;
    d.limit = rate.limit();
    if (!allowed) d.retry_after = retry_after;
    return d;
  }
};

using ResilientGcraOptions = ResilientOptions<LocalGcraLimiter>;
using ResilientDecision = ResilientOutcome<GcraDecision>;
using ResilientGcraLimiter = ResilientLimiter<GcraFailurePolicy>;

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_RESILIENT_GCRA_H_
