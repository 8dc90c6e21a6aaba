#include "distkit/core/limiters/hybrid_window_limiter.h"

#include <algorithm>
#include <vector>

#include "distkit/core/base/keys.h"
#include "distkit/core/limiters/hybrid_sync.h"

namespace distkit {
namespace {

bool same_limit(const SlidingWindowLimit& a, const SlidingWindowLimit& b) {
  return a.limit == b.limit && a.window == b.window && a.bucket == b.bucket;
}

}  // namespace

Result<std::unique_ptr<HybridSlidingWindowLimiter>> HybridSlidingWindowLimiter::create(
    RedisConnection& redis, Executor& executor, HybridWindowOptions options) {
  DISTKIT_RETURN_IF_ERROR(
      validate_hybrid_options(options.budget_fraction, options.sync_interval, options.max_keys));
  Result<SlidingWindowLimiter> remote = SlidingWindowLimiter::create(redis, {options.prefix});
  if (!remote.ok()) return remote.status();
  std::unique_ptr<HybridSlidingWindowLimiter> limiter(
      new HybridSlidingWindowLimiter(redis, executor, std::move(options), std::move(*remote)));
  limiter->syncer_.start([self = limiter.get()]() -> Task<void> { (void)co_await self->sync(); });
  return limiter;
}

HybridSlidingWindowLimiter::HybridSlidingWindowLimiter(RedisConnection& redis, Executor& executor,
                                                       HybridWindowOptions options,
                                                       SlidingWindowLimiter remote)
    : redis_(redis),
      executor_(executor),
      options_(std::move(options)),
      remote_(std::move(remote)),
      keys_(options_.max_keys),
      syncer_(executor, options_.sync_interval) {}

HybridSlidingWindowLimiter::~HybridSlidingWindowLimiter() = default;

std::int64_t HybridSlidingWindowLimiter::budget(const SlidingWindowLimit& limit) const {
  return hybrid_budget(limit.limit, options_.budget_fraction);
}

bool HybridSlidingWindowLimiter::idle(const KeyState& state, MonoTime now) const {
  // Nothing owed to Redis, and unused for a window: forgetting it loses nothing (its
  // allowance would be refilled by the next sync anyway).
  return state.pending == 0 && state.in_flight == 0 &&
         now - state.last_used > state.limit.window + options_.sync_interval;
}

Result<std::optional<WindowDecision>> HybridSlidingWindowLimiter::try_inc(
    std::string_view key, const SlidingWindowLimit& limit, std::int64_t count) {
  DISTKIT_RETURN_IF_ERROR(limit.validate());
  if (count < 0) return invalid_argument_error("count must not be negative");
  const MonoTime now = executor_.clock().now();
  return keys_.apply(
      key,
      [&](KeyState& state) -> std::optional<WindowDecision> {
        if (!same_limit(state.limit, limit)) {
          // A new limit: what was allowed under the old one says nothing.
          state.limit = limit;
          state.allowance = 0;
          state.rejected_count = 0;
        }
        state.last_used = now;
        if (count == 0) return std::nullopt;  // a read: Redis knows the total
        if (count <= state.allowance) {
          state.allowance -= count;
          state.pending += count;
          uncommitted_.fetch_add(count);
          WindowDecision d;
          d.allowed = true;
          d.total = state.remote_total + state.pending;
          return d;
        }
        if (state.rejected_count > 0 && count >= state.rejected_count &&
            now < state.rejected_until) {
          WindowDecision d;
          d.total = state.remote_total + state.pending;
          d.retry_after = state.rejected_until - now;
          d.remaining_after_waiting = state.rejected_remaining;
          return d;
        }
        return std::nullopt;
      },
      [&](const KeyState& state) { return idle(state, now); });
}

std::optional<HybridSlidingWindowLimiter::Send> HybridSlidingWindowLimiter::take_unsent(
    std::string_view key, bool always) {
  const MonoTime now = executor_.clock().now();
  Result<std::optional<Send>> send = keys_.apply(
      key,
      [&](KeyState& state) -> std::optional<Send> {
        const std::int64_t unsent = state.pending - state.in_flight;
        if (unsent == 0 && !always) return std::nullopt;
        state.in_flight += unsent;
        return Send{state.limit, unsent, ++state.sends};
      },
      [&](const KeyState& state) { return idle(state, now); });
  return send.ok() ? *send : std::nullopt;
}

void HybridSlidingWindowLimiter::settle(std::string_view key, const Send& send,
                                        std::int64_t requested,
                                        const Result<WindowDecision>& answer) {
  const MonoTime now = executor_.clock().now();
  const SlidingWindowLimit& limit = send.limit;
  (void)keys_.apply(
      key,
      [&](KeyState& state) {
        state.in_flight -= send.sent;
        // Failed or unknown: the grants stay pending and go again with the next sync,
        // and the allowance is not refilled.
        if (!answer.ok()) return 0;
        state.pending -= send.sent;
        uncommitted_.fetch_sub(send.sent);
        // A newer send was answered first: its total already counts these grants.
        if (send.seq <= state.applied) return 0;
        state.applied = send.seq;
        if (!same_limit(state.limit, limit)) return 0;  // changed meanwhile: next sync
        state.remote_total = answer->total;
        // Grants made while this send was out (and any other send's, still in flight)
        // were made under the old allowance: they come out of the new one.
        state.allowance = std::max<std::int64_t>(
            0, std::min(budget(limit), limit.limit - answer->total) - state.pending);
        if (answer->allowed || requested == 0) {
          state.rejected_count = 0;
        } else if (answer->retry_after != kRetryNever) {
          state.rejected_count = requested;
          state.rejected_until = now + answer->retry_after;
          state.rejected_remaining = answer->remaining_after_waiting;
        }
        return 0;
      },
      [&](const KeyState& state) { return idle(state, now); });
}

Task<Result<WindowDecision>> HybridSlidingWindowLimiter::inc(std::string key,
                                                             SlidingWindowLimit limit,
                                                             std::int64_t count) {
  if (Status s = validate_key(key); !s.ok()) co_return s;
  Result<std::optional<WindowDecision>> local = try_inc(key, limit, count);
  if (!local.ok()) co_return local.status();
  if (local->has_value()) co_return **local;
  std::optional<Send> taken = take_unsent(key, /*always=*/true);
  Send send = taken ? *taken : Send{limit, 0, 0};
  send.limit = limit;  // the request's own (the key's, unless changed meanwhile)
  redis_calls_.fetch_add(1);
  Result<WindowDecision> answer = co_await remote_.commit_and_inc(key, limit, send.sent, count);
  settle(key, send, count, answer);
  co_return answer;
}

Task<Status> HybridSlidingWindowLimiter::sync() {
  const MonoTime now = executor_.clock().now();
  // Every key with grants not yet sent; they are taken when their chunk goes out.
  std::vector<std::string> keys;
  keys_.sweep([&](std::string_view key, KeyState& state) {
    if (state.pending > state.in_flight) {
      keys.emplace_back(key);
      return false;
    }
    return idle(state, now);
  });
  co_return co_await send_commits(
      redis_, std::move(keys),
      [this](const std::string& key) { return take_unsent(key, /*always=*/false); },
      [this](const std::string& key, const Send& send) {
        return remote_.script_call(key, send.limit, send.sent, 0);
      },
      &SlidingWindowLimiter::parse_reply,
      [this](const std::string& key, const Send& send, const Result<WindowDecision>& answer) {
        settle(key, send, 0, answer);
      },
      redis_calls_);
}

Task<Status> HybridSlidingWindowLimiter::shutdown() {
  co_await syncer_.stop();
  co_return co_await sync();
}

}  // namespace distkit
