#include "distkit/core/limiters/hybrid_window_limiter.h"

#include "distkit/core/base/keys.h"

namespace distkit {

void HybridWindowStrategy::refresh(View& view, const Limit& limit, std::int64_t requested,
                                   const Decision& answer, MonoTime now) {
  (void)limit;
  view.remote_total = answer.total;
  if (answer.allowed || requested == 0) {
    view.rejected_count = 0;
  } else if (answer.retry_after != kRetryNever) {
    view.rejected_count = requested;
    view.rejected_until = now + answer.retry_after;
    view.rejected_remaining = answer.remaining_after_waiting;
  }
}

Result<std::unique_ptr<HybridSlidingWindowLimiter>> HybridSlidingWindowLimiter::create(
    RedisConnection& redis, Executor& executor, HybridWindowOptions options) {
  const HybridSettings settings{options.budget_fraction, options.sync_interval, options.max_keys};
  DISTKIT_RETURN_IF_ERROR(settings.validate());
  Result<SlidingWindowLimiter> remote = SlidingWindowLimiter::create(redis, {options.prefix});
  if (!remote.ok()) return remote.status();
  std::unique_ptr<HybridSlidingWindowLimiter> limiter(
      new HybridSlidingWindowLimiter(redis, executor, settings, std::move(*remote)));
  limiter->start();
  return limiter;
}

HybridSlidingWindowLimiter::HybridSlidingWindowLimiter(RedisConnection& redis, Executor& executor,
                                                       HybridSettings settings,
                                                       SlidingWindowLimiter remote)
    : HybridEngine(redis, executor, settings, std::move(remote)) {}

HybridSlidingWindowLimiter::~HybridSlidingWindowLimiter() = default;

Result<std::optional<WindowDecision>> HybridSlidingWindowLimiter::try_inc(
    std::string_view key, const SlidingWindowLimit& limit, std::int64_t count) {
  DISTKIT_RETURN_IF_ERROR(limit.validate());
  if (count < 0) return invalid_argument_error("count must not be negative");
  return decide_here(
      key, limit, [&](KeyState& state, MonoTime now) -> std::optional<WindowDecision> {
        if (count == 0) return std::nullopt;  // a read: Redis knows the total
        const HybridWindowStrategy::View& view = state.view;
        if (count <= state.allowance) {
          record(state, count);
          WindowDecision d;
          d.allowed = true;
          d.total = view.remote_total + state.pending;
          return d;
        }
        if (view.rejected_count > 0 && count >= view.rejected_count && now < view.rejected_until) {
          WindowDecision d;
          d.total = view.remote_total + state.pending;
          d.retry_after = view.rejected_until - now;
          d.remaining_after_waiting = view.rejected_remaining;
          return d;
        }
        return std::nullopt;
      });
}

Task<Result<WindowDecision>> HybridSlidingWindowLimiter::inc(std::string key,
                                                             SlidingWindowLimit limit,
                                                             std::int64_t count) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  Result<std::optional<WindowDecision>> local = try_inc(key, limit, count);
  if (!local.ok()) co_return local.status();
  if (local->has_value()) co_return **local;
  co_return co_await through_redis(
      std::move(key), limit, count,
      [count](SlidingWindowLimiter& remote, const std::string& key, const SlidingWindowLimit& limit,
              std::int64_t grants) { return remote.commit_and_inc(key, limit, grants, count); });
}

}  // namespace distkit
