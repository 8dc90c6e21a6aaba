// Shared by the Redis limiters' scripts (GCRA, sliding window, suppressed).
#ifndef DISTKIT_CORE_LIMITERS_LIMITER_SCRIPT_H_
#define DISTKIT_CORE_LIMITERS_LIMITER_SCRIPT_H_

#include <string>

#include "distkit/core/async/clock.h"
#include "distkit/core/base/status.h"
#include "distkit/core/seam/redis_reply.h"

namespace distkit {

// The scripts' "now" argument: empty, so the script reads the Redis server's TIME, or
// the client clock's wall time in whole `Unit`s (std::chrono::milliseconds, ...).
template <typename Unit>
[[nodiscard]] std::string script_now(const Clock* client_clock) {
  if (client_clock == nullptr) return std::string();
  return std::to_string(
      std::chrono::duration_cast<Unit>(client_clock->wall_now().time_since_epoch()).count());
}

// An integer a limiter script returns: its scripts compute in Lua doubles, exact below
// 2^53, so anything beyond +-2^53 (or below `min`) is a broken or lying server, reported
// as kProtocolError rather than carried into arithmetic that would overflow.
[[nodiscard]] inline Result<std::int64_t> script_integer(const RedisReply& e, std::string_view what,
                                                         std::int64_t min = 0) {
  constexpr std::int64_t kExact = std::int64_t{1} << 53;
  if (!e.is_integer() || e.integer_value() < min || e.integer_value() >= kExact ||
      e.integer_value() <= -kExact) {
    return protocol_error("unexpected " + std::string(what) + " " + e.to_string() +
                          " in a limiter script's reply");
  }
  return e.integer_value();
}

// Milliseconds from a script as a Duration (which counts nanoseconds: at most ~292
// years of them); -1 is `never` where the caller allows it.
[[nodiscard]] inline Result<Duration> script_millis(const RedisReply& e, std::string_view what) {
  constexpr std::int64_t kMaxMillis = std::int64_t{9'000'000'000'000};
  if (!e.is_integer() || e.integer_value() < 0 || e.integer_value() > kMaxMillis) {
    return protocol_error("unexpected " + std::string(what) + " " + e.to_string() +
                          " in a limiter script's reply");
  }
  return Duration(std::chrono::milliseconds(e.integer_value()));
}

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_LIMITER_SCRIPT_H_
