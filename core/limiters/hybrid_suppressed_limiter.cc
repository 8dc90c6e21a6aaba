#include "distkit/core/limiters/hybrid_suppressed_limiter.h"

#include "distkit/core/base/keys.h"

namespace distkit {

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

Result<std::unique_ptr<HybridSuppressedLimiter>> HybridSuppressedLimiter::create(
    RedisConnection& redis, Executor& executor, HybridSuppressedOptions options) {
  const HybridSettings settings{options.budget_fraction, options.sync_interval, options.max_keys};
  DISTKIT_RETURN_IF_ERROR(settings.validate());
  if (options.seed == 0) options.seed = executor.entropy();  // the node's, in the simulator
  Result<SuppressedLimiter> remote =
      SuppressedLimiter::create(redis, executor, {.prefix = options.prefix, .seed = options.seed});
  if (!remote.ok()) return remote.status();
  std::unique_ptr<HybridSuppressedLimiter> limiter(
      new HybridSuppressedLimiter(redis, executor, settings, options.seed, std::move(*remote)));
  limiter->start();
  return limiter;
}

HybridSuppressedLimiter::HybridSuppressedLimiter(RedisConnection& redis, Executor& executor,
                                                 HybridSettings settings, std::uint64_t seed,
                                                 SuppressedLimiter remote)
    : HybridEngine(redis, executor, settings, std::move(remote)),
      // Not the Redis limiter's sequence: a local draw and a remote one stay independent.
      draws_(draws_per_shard((seed ^ 0x5bd1e995) != 0 ? seed ^ 0x5bd1e995 : 0x5bd1e995)) {}

HybridSuppressedLimiter::~HybridSuppressedLimiter() = default;

Result<HybridSuppressedLimiter::LocalOutcome> HybridSuppressedLimiter::decide(
    std::string_view key, const SuppressedLimit& limit, std::int64_t count) {
  DISTKIT_RETURN_IF_ERROR(limit.validate());
  // Bounded like the Redis limiter's, before anything is recorded here.
  if (count < 0 || count >= (std::int64_t{1} << 53)) {
    return invalid_argument_error("count must be in [0, 2^53)");
  }
  DrawSource& draws = draws_[ShardedKeyMap<int>::shard_of(key)];
  return decide_here(key, limit, [&](KeyState& state, MonoTime now) {
    LocalOutcome out;
    out.draw = draws.next_unit();
    const HybridSuppressedStrategy::View& view = state.view;
    if (count == 0 || now >= view.until) return out;
    const std::int64_t forecast = view.remote_observed - view.remote_declined +
                                  HybridSuppressedStrategy::admitted(state.pending) + count;
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
    record(state, SuppressedCommit{count, allow ? 0 : count});
    SuppressedDecision d;
    d.allowed = allow;
    d.suppressing = forecast > limit.soft_limit;
    d.factor = factor;
    d.observed = view.remote_observed + state.pending.observed;
    d.declined = view.remote_declined + state.pending.declined;
    out.decision = d;
    return out;
  });
}

Result<std::optional<SuppressedDecision>> HybridSuppressedLimiter::try_inc(
    std::string_view key, const SuppressedLimit& limit, std::int64_t count) {
  Result<LocalOutcome> local = decide(key, limit, count);
  if (!local.ok()) return local.status();
  return local->decision;
}

Task<Result<SuppressedDecision>> HybridSuppressedLimiter::inc(std::string key,
                                                              SuppressedLimit limit,
                                                              std::int64_t count) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  Result<LocalOutcome> local = decide(key, limit, count);
  if (!local.ok()) co_return local.status();
  if (local->decision) co_return *local->decision;
  co_return co_await through_redis(
      std::move(key), limit, count,
      [count, draw = local->draw](SuppressedLimiter& remote, const std::string& key,
                                  const SuppressedLimit& limit, const SuppressedCommit& sent) {
        return remote.commit_and_inc(key, limit, sent, count, draw);
      });
}

}  // namespace distkit
