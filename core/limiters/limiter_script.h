// Shared by the Redis limiters' scripts (GCRA, sliding window, suppressed).
#ifndef DISTKIT_CORE_LIMITERS_LIMITER_SCRIPT_H_
#define DISTKIT_CORE_LIMITERS_LIMITER_SCRIPT_H_

#include <string>

#include "distkit/core/async/clock.h"

namespace distkit {

// The scripts' "now" argument: empty, so the script reads the Redis server's TIME, or
// the client clock's wall time in whole `Unit`s (std::chrono::milliseconds, ...).
template <typename Unit>
[[nodiscard]] std::string script_now(const Clock* client_clock) {
  if (client_clock == nullptr) return std::string();
  return std::to_string(
      std::chrono::duration_cast<Unit>(client_clock->wall_now().time_since_epoch()).count());
}

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_LIMITER_SCRIPT_H_
