// ResilientLimiter<Traits>: a Redis-backed limiter with a failure policy for when Redis
// is down or slow. Behind a CircuitBreaker, so a down Redis costs a few timeouts, not
// one per request: while the breaker is open no call goes to Redis at all.
//
// When Redis cannot answer (kUnavailable, kUnknownOutcome; a server that refuses
// everyone for now: LOADING, BUSY, OOM, READONLY, MASTERDOWN, MISCONF, TRYAGAIN,
// CLUSTERDOWN; a reply that cannot be read; or the breaker is open):
// - with a `fallback` local limiter: it decides (per process; give it this process's
//   share of the limit). It hands back to Redis automatically: the breaker probes Redis
//   after `open_for`, and the first success closes it.
// - without one: `mode` decides, kFailOpen (allow: the limiter must not take the
//   service down) or kFailClosed (deny: the limit matters more than availability).
// Invalid input and other errors are returned as they are, whatever the policy.
// Every call that went to Redis moves the breaker: a decision closes it, the failures
// above count toward opening it (a failed probe reopens it), and anything else (an
// answer about the request, such as WRONGTYPE; or the caller's frame destroyed before
// the answer) releases a probe, so a half-open breaker never waits forever.
//
// Instances (core/limiters/resilient_gcra.h, core/limiters/resilient_window.h):
// ResilientGcraLimiter, ResilientWindowLimiter, ResilientSuppressedLimiter. A Traits type names
//   Remote, Local, Limit, Decision
//   static Task<Result<Decision>> ask(Remote&, std::string key, Limit, std::int64_t count)
//   static Result<Decision> ask_local(Local&, std::string_view key, const Limit&, count)
//   static Decision without_answer(const Limit&, bool allowed, Duration retry_after)
// Not thread-safe (the breaker is not): use one from one executor, and let it outlive
// every check() it started.
#ifndef DISTKIT_CORE_LIMITERS_RESILIENT_LIMITER_H_
#define DISTKIT_CORE_LIMITERS_RESILIENT_LIMITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "distkit/core/async/clock.h"
#include "distkit/core/async/task.h"
#include "distkit/core/base/keys.h"
#include "distkit/core/base/status.h"
#include "distkit/core/limiters/circuit_breaker.h"

namespace distkit {

enum class FailureMode : std::uint8_t { kFailOpen, kFailClosed };

// Who decided.
enum class DecidedBy : std::uint8_t { kRedis, kFallback, kFailOpen, kFailClosed };

template <typename Local>
struct ResilientOptions {
  FailureMode mode = FailureMode::kFailOpen;
  CircuitBreakerOptions breaker;
  Local* fallback = nullptr;  // must outlive the limiter
};

template <typename Decision>
struct ResilientOutcome {
  Decision decision;
  DecidedBy decided_by = DecidedBy::kRedis;
  Status redis_status;  // why Redis did not decide (ok when it did)
};

template <typename Traits>
class ResilientLimiter {
 public:
  using Remote = typename Traits::Remote;
  using Local = typename Traits::Local;
  using Limit = typename Traits::Limit;
  using Decision = typename Traits::Decision;
  using Outcome = ResilientOutcome<Decision>;

  // `remote` and `clock` (for the breaker) must outlive this.
  ResilientLimiter(Remote& remote, const Clock& clock, ResilientOptions<Local> options)
      : remote_(remote), clock_(clock), options_(options), breaker_(options.breaker) {}

  // The remote limiter's decision on `count` (GCRA: the quantity; the windows: the
  // increment taken when allowed), or the policy's when Redis cannot give one.
  Task<Result<Outcome>> check(std::string key, Limit limit, std::int64_t count = 1) {
    if (Status s = validate_key(key); !s.ok()) co_return s;
    if (Status s = limit.validate(); !s.ok()) co_return s;
    if (count < 0) co_return invalid_argument_error("count must not be negative");
    if (!breaker_.allow(clock_.now())) {
      co_return without_redis(key, limit, count,
                              unavailable_error("the circuit breaker is open: Redis is not asked"));
    }
    ++redis_calls_;
    // Reports "no verdict" unless an outcome is reported below: also when this frame is
    // destroyed while it waits (a cancelled caller, a crashed process).
    PendingCall call(breaker_, /*probe=*/breaker_.is_probing());
    Result<Decision> d = co_await Traits::ask(remote_, key, limit, count);
    if (d.ok()) {
      call.report(Verdict::kSuccess, clock_.now());
      co_return Outcome{std::move(*d), DecidedBy::kRedis, Status()};
    }
    if (!redis_failed(d.status())) {
      call.report(Verdict::kNone, clock_.now());
      co_return d.status();
    }
    call.report(Verdict::kFailure, clock_.now());
    co_return without_redis(key, limit, count, d.status());
  }

  // Whether an error means Redis could not decide (rather than an answer about the
  // request): not reached, outcome unknown, a reply that makes no sense, or a server
  // that refuses everyone for now. A WRONGTYPE, a script's ERR or a DK code is about
  // this request (returned as it is; the breaker hears no verdict).
  [[nodiscard]] static bool redis_failed(const Status& status) {
    switch (status.code()) {
      case StatusCode::kUnavailable:
      case StatusCode::kUnknownOutcome:
      case StatusCode::kProtocolError:
        return true;
      case StatusCode::kServerError: {
        const std::string_view word = status.server_error_prefix();
        for (std::string_view down : {"LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN", "MISCONF",
                                      "TRYAGAIN", "CLUSTERDOWN"}) {
          if (word == down) return true;
        }
        return false;
      }
      default:
        return false;
    }
  }

  [[nodiscard]] const CircuitBreaker& breaker() const { return breaker_; }
  [[nodiscard]] std::uint64_t redis_calls() const { return redis_calls_; }

 private:
  enum class Verdict : std::uint8_t { kSuccess, kFailure, kNone };
  // One call let through by the breaker, which it must hear about exactly once.
  class PendingCall {
   public:
    PendingCall(CircuitBreaker& breaker, bool probe) : breaker_(breaker), probe_(probe) {}
    PendingCall(const PendingCall&) = delete;
    PendingCall& operator=(const PendingCall&) = delete;
    ~PendingCall() {
      if (!reported_ && probe_) breaker_.on_no_verdict();
    }
    void report(Verdict verdict, MonoTime now) {
      reported_ = true;
      switch (verdict) {
        case Verdict::kSuccess:
          breaker_.on_success();
          break;
        case Verdict::kFailure:
          breaker_.on_failure(now);
          break;
        case Verdict::kNone:
          if (probe_) breaker_.on_no_verdict();
      }
    }

   private:
    CircuitBreaker& breaker_;
    const bool probe_;  // this call is the half-open breaker's probe
    bool reported_ = false;
  };

  Result<Outcome> without_redis(const std::string& key, const Limit& limit, std::int64_t count,
                                Status why) {
    Outcome out;
    out.redis_status = std::move(why);
    if (options_.fallback != nullptr) {
      DISTKIT_ASSIGN_OR_RETURN(out.decision,
                               Traits::ask_local(*options_.fallback, key, limit, count));
      out.decided_by = DecidedBy::kFallback;
      return out;
    }
    const bool allow = options_.mode == FailureMode::kFailOpen;
    out.decision = Traits::without_answer(limit, allow, options_.breaker.open_for);
    out.decided_by = allow ? DecidedBy::kFailOpen : DecidedBy::kFailClosed;
    return out;
  }

  Remote& remote_;
  const Clock& clock_;
  ResilientOptions<Local> options_;
  CircuitBreaker breaker_;
  std::uint64_t redis_calls_ = 0;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_RESILIENT_LIMITER_H_
