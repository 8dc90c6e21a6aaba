// ResilientGcraLimiter: GcraLimiter with a failure policy for when Redis is down or
// slow. Behind a CircuitBreaker, so a down Redis costs a few timeouts, not one per
// request: while the breaker is open no call goes to Redis at all.
//
// When Redis cannot answer (kUnavailable, kUnknownOutcome, or the breaker is open):
// - with a `fallback` LocalGcraLimiter: the local limiter decides (per process; set its
//   rates to this process's share). It hands back to Redis automatically: the breaker
//   probes Redis after `open_for`, and the first success closes it.
// - without one: `mode` decides, kFailOpen (allow, the limiter must not take the service
//   down) or kFailClosed (deny, the limit matters more than availability).
// Invalid input and other errors are returned as they are.
#ifndef DISTKIT_CORE_RESILIENT_GCRA_H_
#define DISTKIT_CORE_RESILIENT_GCRA_H_

#include "distkit/core/circuit_breaker.h"
#include "distkit/core/gcra_limiter.h"
#include "distkit/core/local_gcra.h"
#include "distkit/core/task.h"

namespace distkit {

enum class FailureMode : std::uint8_t { kFailOpen, kFailClosed };

struct ResilientGcraOptions {
  FailureMode mode = FailureMode::kFailOpen;
  CircuitBreakerOptions breaker;
  LocalGcraLimiter* fallback = nullptr;  // must outlive the limiter
};

// Who decided.
enum class DecidedBy : std::uint8_t { kRedis, kFallback, kFailOpen, kFailClosed };

struct ResilientDecision {
  GcraDecision decision;
  DecidedBy decided_by = DecidedBy::kRedis;
  Status redis_status;  // why Redis did not decide (ok when it did)
};

class ResilientGcraLimiter {
 public:
  // `limiter` and `clock` (for the breaker) must outlive this.
  ResilientGcraLimiter(GcraLimiter& limiter, const Clock& clock, ResilientGcraOptions options)
      : limiter_(limiter), clock_(clock), options_(options), breaker_(options.breaker) {}

  Task<Result<ResilientDecision>> check(std::string key, GcraRate rate, std::int64_t quantity = 1);

  [[nodiscard]] const CircuitBreaker& breaker() const { return breaker_; }
  [[nodiscard]] std::uint64_t redis_calls() const { return redis_calls_; }

 private:
  Result<ResilientDecision> without_redis(const std::string& key, const GcraRate& rate,
                                          std::int64_t quantity, Status why);

  GcraLimiter& limiter_;
  const Clock& clock_;
  ResilientGcraOptions options_;
  CircuitBreaker breaker_;
  std::uint64_t redis_calls_ = 0;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_RESILIENT_GCRA_H_
