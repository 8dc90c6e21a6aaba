// ManualClock: a Clock that moves only when a test moves it (limiters' client-clock
// mode, local limiters). Monotonic and wall time are the same value.
#ifndef DISTKIT_TESTS_MANUAL_CLOCK_H_
#define DISTKIT_TESTS_MANUAL_CLOCK_H_

#include "distkit/core/async/clock.h"

namespace distkit::test_support {

class ManualClock : public Clock {
 public:
  explicit ManualClock(Duration since_epoch = Duration(0)) : wall_(since_epoch) {}
  [[nodiscard]] MonoTime now() const override { return MonoTime(wall_.time_since_epoch()); }
  [[nodiscard]] WallTime wall_now() const override { return wall_; }
  void set(Duration since_epoch) { wall_ = WallTime(since_epoch); }
  void advance(Duration d) { wall_ += d; }

 private:
  WallTime wall_;
};

}  // namespace distkit::test_support

#endif  // DISTKIT_TESTS_MANUAL_CLOCK_H_
