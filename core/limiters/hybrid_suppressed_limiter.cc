#include "distkit/core/limiters/hybrid_suppressed_limiter.h"

namespace distkit {

Result<HybridSuppressedStrategy> HybridSuppressedStrategy::create(RedisConnection& redis,
                                                                  Executor& executor,
                                                                  const HybridOptions& options) {
  // The node's, in the simulator.
  const std::uint64_t seed = options.seed != 0 ? options.seed : executor.entropy();
  Result<SuppressedLimiter> remote =
      SuppressedLimiter::create(redis, executor, {.prefix = options.prefix, .seed = seed});
  if (!remote.ok()) return remote.status();
  // Not the Redis limiter's sequence: a local draw and a remote one stay independent.
  const std::uint64_t local_seed = (seed ^ 0x5bd1e995) != 0 ? seed ^ 0x5bd1e995 : 0x5bd1e995;
  return HybridSuppressedStrategy(std::move(*remote), draws_per_shard(local_seed));
}

Status HybridSuppressedStrategy::validate(const Limit& limit, std::int64_t count) {
  DISTKIT_RETURN_IF_ERROR(limit.validate());
  // Bounded like the Redis limiter's, before anything is recorded here.
  if (count < 0 || count >= (std::int64_t{1} << 53)) {
    return invalid_argument_error("count must be in [0, 2^53)");
  }
  return Status();
}

HybridSuppressedStrategy::Local HybridSuppressedStrategy::decide(
    std::string_view key, const HybridKeyState<HybridSuppressedStrategy>& state, const Limit& limit,
    std::int64_t count, MonoTime now) {
  Local out;
  out.draw = draws_[ShardedKeyMap<int>::shard_of(key)].next_unit();
  const View& view = state.view;
  if (count == 0 || now >= view.until) return out;
  const std::int64_t forecast =
      view.remote_observed - view.remote_declined + admitted(state.pending) + count;
  bool allow;
  double factor = 0;
  if (forecast > limit.hard_limit) {
    allow = false;
    factor = 1;
  } else if (forecast <= limit.soft_limit) {
    if (count > state.allowance) return out;
    allow = true;
  } else {
    if (!view.suppressing) return out;  // crossed soft since the view: Redis decides
    factor = view.factor;
    allow = factor <= 0 || (factor < 1 && out.draw < 1 - factor);
    if (allow && count > state.allowance) return out;
  }
  out.recorded = SuppressedCommit{count, allow ? 0 : count};
  SuppressedDecision d;
  d.allowed = allow;
  d.suppressing = forecast > limit.soft_limit;
  d.factor = factor;
  d.observed = view.remote_observed + state.pending.observed + out.recorded.observed;
  d.declined = view.remote_declined + state.pending.declined + out.recorded.declined;
  out.decision = d;
  return out;
}

void HybridSuppressedStrategy::refresh(View& view, const Limit& limit, std::int64_t requested,
                                       const Decision& answer, MonoTime now) {
  view.remote_observed = answer.observed;
  view.remote_declined = answer.declined;
  // A request refused for passing hard comes back with factor 1, which is not Redis's
  // factor: smaller requests in the shedding zone are then Redis's to draw.
  const bool past_hard =
      requested > 0 && !answer.allowed && admitted(answer) + requested > limit.hard_limit;
  view.suppressing = answer.suppressing && !past_hard;
  view.factor = past_hard ? 0 : answer.factor;
  view.until = now + limit.factor_cache;
}

}  // namespace distkit
