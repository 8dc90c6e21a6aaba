// CircuitBreaker: stops paying for a dependency that is down. A pure state machine
// over `now` (no clock, no I/O):
//   closed    - calls go through; `failures_to_open` failures in a row open it;
//   open      - calls are refused at once for `open_for`;
//   half-open - then one probe call goes through: success closes the breaker, failure
//               opens it for another `open_for`; a probe that ends without a verdict
//               (an answer about the request rather than about Redis, or its caller
//               gone) lets the next call probe. Other calls are refused meanwhile.
// Every call allow() let through must report exactly one of on_success, on_failure or
// on_no_verdict, or a half-open breaker would wait for its probe forever.
// Not thread-safe: use it from one executor (as the limiters do).
#ifndef DISTKIT_CORE_LIMITERS_CIRCUIT_BREAKER_H_
#define DISTKIT_CORE_LIMITERS_CIRCUIT_BREAKER_H_

#include <cstdint>

#include "distkit/core/async/clock.h"

namespace distkit {

struct CircuitBreakerOptions {
  int failures_to_open = 3;
  Duration open_for = std::chrono::seconds(1);
};

class CircuitBreaker {
 public:
  enum class State : std::uint8_t { kClosed, kOpen, kHalfOpen };

  explicit CircuitBreaker(CircuitBreakerOptions options = {}) : options_(options) {}

  // Whether a call may go out now. In half-open, true once (the probe) until the probe
  // reports back.
  [[nodiscard]] bool allow(MonoTime now) {
    if (state_ == State::kOpen && now >= reopen_at_) {
      state_ = State::kHalfOpen;
      probing_ = false;
    }
    if (state_ == State::kClosed) return true;
    if (state_ == State::kHalfOpen && !probing_) {
      probing_ = true;
      return true;
    }
    return false;
  }
  void on_success() {
    state_ = State::kClosed;
    failures_ = 0;
    probing_ = false;
  }
  // The probe said nothing about Redis's health (an answer about the request, or its
  // caller went away before the answer): the next call may probe. Only for the call
  // allow() let through as the probe (is_probing() right after it).
  void on_no_verdict() { probing_ = false; }
  // Whether a probe is out (half-open): right after allow() said yes, that call is it.
  [[nodiscard]] bool is_probing() const { return state_ == State::kHalfOpen && probing_; }
  void on_failure(MonoTime now) {
    ++failures_;
    if (state_ == State::kHalfOpen || failures_ >= options_.failures_to_open) {
      state_ = State::kOpen;
      reopen_at_ = now + options_.open_for;
      probing_ = false;
      ++times_opened_;
    }
  }
  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] std::uint64_t times_opened() const { return times_opened_; }

 private:
  CircuitBreakerOptions options_;
  State state_ = State::kClosed;
  int failures_ = 0;
  bool probing_ = false;
  MonoTime reopen_at_{};
  std::uint64_t times_opened_ = 0;
};

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_CIRCUIT_BREAKER_H_
