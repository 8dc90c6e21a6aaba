#include "distkit/core/limiters/hybrid_window_limiter.h"

namespace distkit {

Result<HybridWindowStrategy> HybridWindowStrategy::create(RedisConnection& redis, Executor&,
                                                          const HybridOptions& options) {
  Result<SlidingWindowLimiter> remote = SlidingWindowLimiter::create(redis, {options.prefix});
  if (!remote.ok()) return remote.status();
  return HybridWindowStrategy(std::move(*remote));
}

Status HybridWindowStrategy::validate(const Limit& limit, std::int64_t count) {
  DISTKIT_RETURN_IF_ERROR(limit.validate());
  if (count < 0) return invalid_argument_error("count must not be negative");
  return Status();
}

HybridWindowStrategy::Local HybridWindowStrategy::decide(
    std::string_view, const HybridKeyState<HybridWindowStrategy>& state, const Limit&,
    std::int64_t count, MonoTime now) {
  if (count == 0) return {};  // a read: Redis knows the total
  const View& view = state.view;
  WindowDecision d;
  if (count <= state.allowance) {
    d.allowed = true;
    d.total = view.remote_total + state.pending + count;
    return {d, count};
  }
  if (view.rejected_count > 0 && count >= view.rejected_count && now < view.rejected_until) {
    d.total = view.remote_total + state.pending;
    d.retry_after = view.rejected_until - now;
    d.remaining_after_waiting = view.rejected_remaining;
    return {d, 0};
  }
  return {};
}

void HybridWindowStrategy::refresh(View& view, const Limit&, std::int64_t requested,
                                   const Decision& answer, MonoTime now) {
  view.remote_total = answer.total;
  if (answer.allowed || requested == 0) {
    view.rejected_count = 0;
  } else if (answer.retry_after != kRetryNever) {
    view.rejected_count = requested;
    view.rejected_until = now + answer.retry_after;
    view.rejected_remaining = answer.remaining_after_waiting;
  }
}

}  // namespace distkit
