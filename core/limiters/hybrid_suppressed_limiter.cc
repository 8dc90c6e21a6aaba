#include "distkit/core/limiters/hybrid_suppressed_limiter.h"

#include <algorithm>

#include "distkit/core/base/keys.h"
#include "distkit/core/limiters/hybrid_sync.h"

namespace distkit {
namespace {

bool same_limit(const SuppressedLimit& a, const SuppressedLimit& b) {
  return a.soft_limit == b.soft_limit && a.hard_limit == b.hard_limit && a.window == b.window &&
         a.bucket == b.bucket && a.factor_cache == b.factor_cache;
}

std::int64_t admitted(const SuppressedCommit& c) {
  return c.observed - c.declined;
}

}  // namespace

Result<std::unique_ptr<HybridSuppressedLimiter>> HybridSuppressedLimiter::create(
    RedisConnection& redis, Executor& executor, HybridSuppressedOptions options) {
  DISTKIT_RETURN_IF_ERROR(
      validate_hybrid_options(options.budget_fraction, options.sync_interval, options.max_keys));
  if (options.seed == 0) options.seed = executor.entropy();  // the node's, in the simulator
  Result<SuppressedLimiter> remote =
      SuppressedLimiter::create(redis, {.prefix = options.prefix, .seed = options.seed});
  if (!remote.ok()) return remote.status();
  std::unique_ptr<HybridSuppressedLimiter> limiter(
      new HybridSuppressedLimiter(redis, executor, std::move(options), std::move(*remote)));
  limiter->syncer_.start([self = limiter.get()]() -> Task<void> { (void)co_await self->sync(); });
  return limiter;
}

HybridSuppressedLimiter::HybridSuppressedLimiter(RedisConnection& redis, Executor& executor,
                                                 HybridSuppressedOptions options,
                                                 SuppressedLimiter remote)
    : redis_(redis),
      executor_(executor),
      options_(std::move(options)),
      remote_(std::move(remote)),
      keys_(options_.max_keys),
      // Not the Redis limiter's sequence: a local draw and a remote one stay independent.
      draws_(draws_per_shard((options_.seed ^ 0x5bd1e995) != 0 ? options_.seed ^ 0x5bd1e995
                                                               : 0x5bd1e995)),
      syncer_(executor, options_.sync_interval) {}

HybridSuppressedLimiter::~HybridSuppressedLimiter() = default;

std::int64_t HybridSuppressedLimiter::budget(const SuppressedLimit& limit) const {
  return hybrid_budget(limit.hard_limit, options_.budget_fraction);
}

bool HybridSuppressedLimiter::idle(const KeyState& state, MonoTime now) const {
  // Nothing owed to Redis and unused for a window: forgetting it loses nothing.
  return state.pending.observed == 0 && state.in_flight.observed == 0 &&
         now - state.last_used > state.limit.window + options_.sync_interval;
}

Result<HybridSuppressedLimiter::LocalOutcome> HybridSuppressedLimiter::decide_here(
    std::string_view key, const SuppressedLimit& limit, std::int64_t count) {
  DISTKIT_RETURN_IF_ERROR(limit.validate());
  // Bounded like the Redis limiter's, before anything is recorded here.
  if (count < 0 || count >= (std::int64_t{1} << 53)) {
    return invalid_argument_error("count must be in [0, 2^53)");
  }
  const MonoTime now = executor_.clock().now();
  DrawSource& draws = draws_[ShardedKeyMap<KeyState>::shard_of(key)];
  return keys_.apply(
      key,
      [&](KeyState& state) {
        LocalOutcome out;
        out.draw = draws.next_unit();
        if (!same_limit(state.limit, limit)) {
          // A new limit: the view and allowance were for the old one.
          state.limit = limit;
          state.allowance = 0;
          state.view_until = MonoTime{};
        }
        state.last_used = now;
        if (count == 0 || now >= state.view_until) return out;
        const std::int64_t forecast =
            state.remote_observed - state.remote_declined + admitted(state.pending) + count;
        bool allow;
        double factor = 0;
        if (forecast > limit.hard_limit) {
          allow = false;
          factor = 1;
        } else if (forecast <= limit.soft_limit) {
          if (count > state.allowance) return out;
          allow = true;
        } else {
          if (!state.suppressing) return out;  // crossed soft since the view: Redis decides
          factor = state.factor;
          allow = factor <= 0 || (factor < 1 && out.draw < 1 - factor);
          if (allow && count > state.allowance) return out;
        }
        state.pending.observed += count;
        uncommitted_.fetch_add(count);
        if (allow) {
          state.allowance -= count;
        } else {
          state.pending.declined += count;
        }
        SuppressedDecision d;
        d.allowed = allow;
        d.suppressing = forecast > limit.soft_limit;
        d.factor = factor;
        d.observed = state.remote_observed + state.pending.observed;
        d.declined = state.remote_declined + state.pending.declined;
        out.decision = d;
        return out;
      },
      [&](const KeyState& state) { return idle(state, now); });
}

Result<std::optional<SuppressedDecision>> HybridSuppressedLimiter::try_inc(
    std::string_view key, const SuppressedLimit& limit, std::int64_t count) {
  Result<LocalOutcome> local = decide_here(key, limit, count);
  if (!local.ok()) return local.status();
  return local->decision;
}

std::optional<HybridSuppressedLimiter::Send> HybridSuppressedLimiter::take_unsent(
    std::string_view key, bool always) {
  const MonoTime now = executor_.clock().now();
  Result<std::optional<Send>> send = keys_.apply(
      key,
      [&](KeyState& state) -> std::optional<Send> {
        const SuppressedCommit unsent{state.pending.observed - state.in_flight.observed,
                                      state.pending.declined - state.in_flight.declined};
        if (unsent.observed == 0 && !always) return std::nullopt;
        state.in_flight.observed += unsent.observed;
        state.in_flight.declined += unsent.declined;
        return Send{state.limit, unsent, ++state.sends};
      },
      [&](const KeyState& state) { return idle(state, now); });
  return send.ok() ? *send : std::nullopt;
}

void HybridSuppressedLimiter::settle(std::string_view key, const Send& send, std::int64_t requested,
                                     const Result<SuppressedDecision>& answer) {
  const MonoTime now = executor_.clock().now();
  const SuppressedLimit& limit = send.limit;
  (void)keys_.apply(
      key,
      [&](KeyState& state) {
        state.in_flight.observed -= send.sent.observed;
        state.in_flight.declined -= send.sent.declined;
        // Failed or unknown: the requests stay pending and go again with the next sync,
        // and neither the view nor the allowance is refreshed.
        if (!answer.ok()) return 0;
        state.pending.observed -= send.sent.observed;
        state.pending.declined -= send.sent.declined;
        uncommitted_.fetch_sub(send.sent.observed);
        // A newer send was answered first: its view already counts these requests.
        if (send.seq <= state.applied) return 0;
        state.applied = send.seq;
        if (!same_limit(state.limit, limit)) return 0;  // changed meanwhile: next sync
        const std::int64_t admitted_there = answer->observed - answer->declined;
        state.remote_observed = answer->observed;
        state.remote_declined = answer->declined;
        // A request refused for passing hard comes back with factor 1, which is not
        // Redis's factor: smaller requests in the shedding zone are then Redis's to draw.
        const bool past_hard =
            requested > 0 && !answer->allowed && admitted_there + requested > limit.hard_limit;
        state.suppressing = answer->suppressing && !past_hard;
        state.factor = past_hard ? 0 : answer->factor;
        state.view_until = now + limit.factor_cache;
        // Admissions made while this send was out (and any other send's, still in
        // flight) were made under the old allowance: they come out of the new one.
        state.allowance =
            std::max<std::int64_t>(0, std::min(budget(limit), limit.hard_limit - admitted_there) -
                                          admitted(state.pending));
        return 0;
      },
      [&](const KeyState& state) { return idle(state, now); });
}

Task<Result<SuppressedDecision>> HybridSuppressedLimiter::inc(std::string key,
                                                              SuppressedLimit limit,
                                                              std::int64_t count) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  Result<LocalOutcome> local = decide_here(key, limit, count);
  if (!local.ok()) co_return local.status();
  if (local->decision) co_return *local->decision;
  std::optional<Send> taken = take_unsent(key, /*always=*/true);
  Send send = taken ? *taken : Send{limit, SuppressedCommit{}, 0};
  send.limit = limit;  // the request's own (the key's, unless changed meanwhile)
  redis_calls_.fetch_add(1);
  Result<SuppressedDecision> answer =
      co_await remote_.commit_and_inc(key, limit, send.sent, count, local->draw);
  settle(key, send, count, answer);
  co_return answer;
}

Task<Status> HybridSuppressedLimiter::sync() {
  const MonoTime now = executor_.clock().now();
  // Every key with requests not yet sent; they are taken when their chunk goes out.
  std::vector<std::string> keys;
  keys_.sweep([&](std::string_view key, KeyState& state) {
    if (state.pending.observed > state.in_flight.observed) {
      keys.emplace_back(key);
      return false;
    }
    return idle(state, now);
  });
  co_return co_await send_commits(
      redis_, std::move(keys),
      [this](const std::string& key) { return take_unsent(key, /*always=*/false); },
      [this](const std::string& key, const Send& send) {
        return remote_.script_call(key, send.limit, send.sent, 0, 0);
      },
      &SuppressedLimiter::parse_reply,
      [this](const std::string& key, const Send& send, const Result<SuppressedDecision>& answer) {
        settle(key, send, 0, answer);
      },
      redis_calls_);
}

Task<Status> HybridSuppressedLimiter::shutdown() {
  co_await syncer_.stop();
  co_return co_await sync();
}

}  // namespace distkit
