// Clock: the time one node sees. The core never reads the OS clock; it asks a Clock,
// so the same code runs on real time or on a simulated node's skewed, drifting clock.
#ifndef DISTKIT_CORE_ASYNC_CLOCK_H_
#define DISTKIT_CORE_ASYNC_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace distkit {

using Duration = std::chrono::nanoseconds;

// Tag for monotonic time points; its epoch is arbitrary (process or simulation start).
struct MonotonicClockTag {
  using duration = Duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<MonotonicClockTag, duration>;
  static constexpr bool is_steady = true;
};

// For intervals, deadlines and timers: never goes backwards.
using MonoTime = MonotonicClockTag::time_point;
// Unix-epoch time, for what other machines must agree on (TTLs, windows). It may jump
// backwards or forwards (NTP steps, injected skew).
using WallTime = std::chrono::sys_time<Duration>;

// Contract:
// - now() never decreases across calls on the same Clock.
// - wall_now() makes no monotonicity promise.
// - Both are cheap and thread-safe for production clocks; a simulated clock is used
//   only from the simulation's thread.
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual MonoTime now() const = 0;
  [[nodiscard]] virtual WallTime wall_now() const = 0;
};

// Milliseconds since the Unix epoch, the unit Redis uses for TTLs and TIME.
[[nodiscard]] inline std::int64_t unix_millis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A retry_after that no wait can satisfy (a request larger than a limit allows at once).
inline constexpr Duration kRetryNever = Duration::max();

}  // namespace distkit

#endif  // DISTKIT_CORE_ASYNC_CLOCK_H_
