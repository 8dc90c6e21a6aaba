#include "distkit/core/resilient_gcra.h"

#include "distkit/core/keys.h"

namespace distkit {

Result<ResilientDecision> ResilientGcraLimiter::without_redis(const std::string& key,
                                                              const GcraRate& rate,
                                                              std::int64_t quantity, Status why) {
  ResilientDecision out;
  out.redis_status = std::move(why);
  if (options_.fallback != nullptr) {
    DISTKIT_ASSIGN_OR_RETURN(out.decision, options_.fallback->check(key, rate, quantity));
    out.decided_by = DecidedBy::kFallback;
    return out;
  }
  out.decision.limit = rate.limit();
  out.decision.allowed = options_.mode == FailureMode::kFailOpen;
  out.decided_by = out.decision.allowed ? DecidedBy::kFailOpen : DecidedBy::kFailClosed;
  if (!out.decision.allowed) out.decision.retry_after = options_.breaker.open_for;
  return out;
}

Task<Result<ResilientDecision>> ResilientGcraLimiter::check(std::string key, GcraRate rate,
                                                            std::int64_t quantity) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  if (Status s = rate.validate(); !s.ok()) co_return s;
  if (!breaker_.allow(clock_.now())) {
    co_return without_redis(key, rate, quantity,
                            unavailable_error("the circuit breaker is open: Redis is not asked"));
  }
  ++redis_calls_;
  Result<GcraDecision> d = co_await limiter_.check(key, rate, quantity);
  if (d.ok()) {
    breaker_.on_success();
    co_return ResilientDecision{*d, DecidedBy::kRedis, Status()};
  }
  const StatusCode code = d.status().code();
  if (code != StatusCode::kUnavailable && code != StatusCode::kUnknownOutcome) {
    co_return d.status();
  }
  breaker_.on_failure(clock_.now());
  co_return without_redis(key, rate, quantity, d.status());
}

}  // namespace distkit
