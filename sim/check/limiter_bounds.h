// The rate limiters' bounds, checked on what an observer saw: each grant was sent at
// `sent_us` and acknowledged at `acked_us` (true time), so it certainly took effect
// within [sent_us, acked_us]. A check counts, for a window, only the grants certainly
// inside it, so a passing history may still hide an overshoot, but a failing one is
// an overshoot for sure. Used by the simulation tests and by distkit-sim.
#ifndef DISTKIT_SIM_CHECK_LIMITER_BOUNDS_H_
#define DISTKIT_SIM_CHECK_LIMITER_BOUNDS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace distkit::sim {

struct Grant {
  std::int64_t sent_us = 0;
  std::int64_t acked_us = 0;
  std::int64_t quantity = 1;
  std::string process;  // who was granted it
};

struct BoundViolation {
  std::string what;  // "21 granted within 90000 us by 3 processes, bound 20"
  std::int64_t at_us = 0;
};

// Sliding windows: for every span [acked - span_us, acked] ending at a grant's
// acknowledgement, the grants certainly inside it total at most `bound(p)`, p the
// number of distinct processes among them (a hybrid limiter's bound grows with p).
[[nodiscard]] std::optional<BoundViolation> check_window_bound(
    std::vector<Grant> grants, std::int64_t span_us,
    const std::function<std::int64_t(std::size_t processes)>& bound);

// GCRA: in every window [sent_i, acked_j] of w = acked_j - sent_i + 1 microseconds,
// at most burst + 1 + floor((w - 1) / t_us) permits (t_us: the emission interval,
// rounded down, which only loosens the bound). Windows longer than `horizon_us` are
// not examined when it is positive (each extra T adds a permit to the bound, so long
// windows rarely tell more than short ones).
[[nodiscard]] std::optional<BoundViolation> check_gcra_bound(std::vector<Grant> grants,
                                                             std::int64_t burst, std::int64_t t_us,
                                                             std::int64_t horizon_us = 0);

}  // namespace distkit::sim

#endif  // DISTKIT_SIM_CHECK_LIMITER_BOUNDS_H_
