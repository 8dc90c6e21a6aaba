// HybridLimiter<Strategy>: a rate limiter decided mostly in this process, kept in step
// with Redis, written once (hybrid_window_limiter.h and hybrid_suppressed_limiter.h
// are its two strategies). Per key it keeps a local allowance, the requests decided
// here that Redis has not acknowledged (pending; the part being sent, in flight), and
// the order of its sends to Redis, so that the answer to an older send never
// overwrites the view a newer one left. It commits pending requests every
// sync_interval in bounded pipelines, in key order, and refills the allowance only
// from a successful answer:
//
//   allowance = min(budget, capacity - admitted at Redis) - admitted here, still pending
//   budget    = max(1, floor(capacity * budget_fraction))
//
// A Strategy says what differs: its limit, decision and Redis limiter, what
// one key's pending requests count (Counts, with += and -=), the rest of a key's view
// of Redis (View), and the local decision. It provides:
//
//   using Limit, Decision, Counts, View;
//   using Local;  // { std::optional<Decision> decision; Counts recorded; ... }: what
//                 // decide() concluded and recorded; the rest goes to Redis with it
//   static Result<Strategy> create(RedisConnection&, Executor&, const HybridOptions&);
//   static Status validate(const Limit&, std::int64_t count);
//   Local decide(std::string_view key, const HybridKeyState<Strategy>&, const Limit&,
//                std::int64_t count, MonoTime now);  // under the key's lock
//   Task<Result<Decision>> commit_and_inc(const std::string& key, const Limit&,
//                                         const Counts& sent, std::int64_t count,
//                                         const Local& local);
//   ScriptCall commit_call(const std::string& key, const Limit&, const Counts& sent) const;
//   static Result<Decision> parse_reply(const Result<RedisReply>&);
//   static bool same_limit(const Limit&, const Limit&);
//   static std::int64_t capacity(const Limit&);     // what Redis admits per window
//   static std::int64_t observed(const Counts&);    // requests in `Counts`
//   static std::int64_t admitted(const Counts&);    // of those, admitted
//   static std::int64_t admitted(const Decision&);  // admitted at Redis, per its answer
//   // The view from a successful answer to `requested` (0: a sync's commit).
//   static void refresh(View&, const Limit&, std::int64_t requested, const Decision&,
//                       MonoTime now);
//
// Lifetime: create() starts the sync task on `executor`; call shutdown() (it commits)
// and let it finish before destroying the limiter. Thread-safe.
#ifndef DISTKIT_CORE_LIMITERS_HYBRID_LIMITER_H_
#define DISTKIT_CORE_LIMITERS_HYBRID_LIMITER_H_

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "distkit/core/async/periodic_task.h"
#include "distkit/core/base/keys.h"
#include "distkit/core/limiters/sharded_key_map.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {

// A hybrid limiter's options (both strategies').
struct HybridOptions {
  std::string prefix;
  // Each key's local budget as a fraction of its capacity (in (0, 1]); at least 1.
  double budget_fraction = 0.05;
  Duration sync_interval = std::chrono::milliseconds(10);
  std::size_t max_keys = 1 << 16;
  // The suppressed strategy's draws; 0: a random one (Executor::entropy()). The
  // sliding window draws nothing.
  std::uint64_t seed = 0;
};

// The options the engine itself uses.
struct HybridSettings {
  double budget_fraction = 0.05;  // in (0, 1]
  Duration sync_interval = std::chrono::milliseconds(10);
  std::size_t max_keys = 1 << 16;

  [[nodiscard]] Status validate() const {
    if (!(budget_fraction > 0 && budget_fraction <= 1)) {
      return invalid_argument_error("budget_fraction must be in (0, 1]");
    }
    if (sync_interval <= Duration(0))
      return invalid_argument_error("sync_interval must be positive");
    if (max_keys == 0) return invalid_argument_error("max_keys must be positive");
    return Status();
  }
};

// A key's local budget: max(1, floor(capacity * budget_fraction)).
[[nodiscard]] inline std::int64_t hybrid_budget(std::int64_t capacity, double budget_fraction) {
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::floor(static_cast<double>(capacity) * budget_fraction)));
}

// Pipelines of at most this many script calls, so one sync never builds an unbounded
// request.
inline constexpr std::size_t kHybridSyncChunk = 256;

// One key's state.
template <typename Strategy>
struct HybridKeyState {
  typename Strategy::Limit limit{};
  std::int64_t allowance = 0;             // may still admit this many without asking Redis
  typename Strategy::Counts pending{};    // decided here, not acknowledged (in flight included)
  typename Strategy::Counts in_flight{};  // the part of `pending` being sent now
  std::uint64_t sends = 0;                // sends to Redis so far (the last one's seq)
  std::uint64_t applied = 0;              // the seq of the send whose answer set the view
  MonoTime last_used{};
  typename Strategy::View view{};
};

template <typename Strategy>
class HybridLimiter {
 public:
  using Limit = typename Strategy::Limit;
  using Decision = typename Strategy::Decision;
  using Counts = typename Strategy::Counts;
  using Local = typename Strategy::Local;
  using KeyState = HybridKeyState<Strategy>;

  // `redis` and `executor` must outlive the limiter.
  [[nodiscard]] static Result<std::unique_ptr<HybridLimiter>> create(RedisConnection& redis,
                                                                     Executor& executor,
                                                                     HybridOptions options) {
    const HybridSettings settings{options.budget_fraction, options.sync_interval, options.max_keys};
    DISTKIT_RETURN_IF_ERROR(settings.validate());
    Result<Strategy> strategy = Strategy::create(redis, executor, options);
    if (!strategy.ok()) return strategy.status();
    std::unique_ptr<HybridLimiter> limiter(
        new HybridLimiter(redis, executor, settings, std::move(*strategy)));
    limiter->syncer_.start([self = limiter.get()]() -> Task<void> { (void)co_await self->sync(); });
    return limiter;
  }
  HybridLimiter(const HybridLimiter&) = delete;
  HybridLimiter& operator=(const HybridLimiter&) = delete;

  // Decides `count` requests: here when the key's view and allowance tell, else through
  // Redis (which also takes this key's requests not yet sent).
  Task<Result<Decision>> inc(std::string key, Limit limit, std::int64_t count = 1) {
    if (Status s = validate_key(key); !s.ok()) co_return s;
    Result<Local> local = decide_here(key, limit, count);
    if (!local.ok()) co_return local.status();
    if (local->decision) co_return *local->decision;
    std::optional<Send> taken = take_unsent(key, /*always=*/true);
    Send send = taken ? *taken : Send{limit, Counts{}, 0};
    send.limit = limit;  // the request's own (the key's, unless changed meanwhile)
    redis_calls_.fetch_add(1);
    Result<Decision> answer =
        co_await strategy_.commit_and_inc(key, limit, send.sent, count, *local);
    settle(key, send, count, answer);
    co_return answer;
  }

  // The local half of inc(), no I/O: a decision, or nothing when only Redis can tell
  // (call inc()).
  [[nodiscard]] Result<std::optional<Decision>> try_inc(std::string_view key, const Limit& limit,
                                                        std::int64_t count = 1) {
    Result<Local> local = decide_here(key, limit, count);
    if (!local.ok()) return local.status();
    return local->decision;
  }

  // Commits every key's unsent requests now (and waits for the answers), in pipelines
  // of at most kHybridSyncChunk: a key's requests are taken (marked in flight) only when
  // its chunk goes out, and each chunk is settled as soon as it is answered, so no
  // request waits in flight behind another chunk. Returns the first error (the failed
  // keys' requests stay pending).
  Task<Status> sync();

  // Stops the periodic sync after a last one.
  Task<Status> shutdown() {
    co_await syncer_.stop();
    co_return co_await sync();
  }

  // Requests decided here that Redis has not acknowledged, across all keys.
  [[nodiscard]] std::int64_t uncommitted() const { return uncommitted_.load(); }
  // Round trips to Redis so far (sync pipelines and requests decided there).
  [[nodiscard]] std::uint64_t redis_calls() const { return redis_calls_.load(); }
  // A key's local budget under `limit`.
  [[nodiscard]] std::int64_t budget(const typename Strategy::Limit& limit) const {
    return hybrid_budget(Strategy::capacity(limit), settings_.budget_fraction);
  }

 private:
  HybridLimiter(RedisConnection& redis, Executor& executor, HybridSettings settings,
                Strategy strategy)
      : redis_(redis),
        executor_(executor),
        settings_(settings),
        strategy_(std::move(strategy)),
        keys_(settings.max_keys),
        syncer_(executor, settings.sync_interval) {}

  // The local decision, under the key's lock, after a limit other than the key's has
  // reset its view and allowance (what was known under the old limit says nothing).
  // What it decided is recorded: pending until Redis acknowledges it, the admitted part
  // out of the allowance.
  [[nodiscard]] Result<Local> decide_here(std::string_view key, const Limit& limit,
                                          std::int64_t count) {
    DISTKIT_RETURN_IF_ERROR(Strategy::validate(limit, count));
    const MonoTime now = executor_.clock().now();
    return keys_.apply(
        key,
        [&](KeyState& state) {
          if (!Strategy::same_limit(state.limit, limit)) {
            state.limit = limit;
            state.allowance = 0;
            state.view = typename Strategy::View{};
          }
          state.last_used = now;
          Local local = strategy_.decide(key, state, limit, count, now);
          if (Strategy::observed(local.recorded) > 0) {
            state.pending += local.recorded;
            state.allowance -= Strategy::admitted(local.recorded);
            uncommitted_.fetch_add(Strategy::observed(local.recorded));
          }
          return local;
        },
        [&](const KeyState& state) { return idle(state, now); });
  }

  // One key's send to Redis: the requests taken from its pending ones, the limit they
  // were decided under, and the send's place in the key's order of sends.
  struct Send {
    Limit limit;
    Counts sent{};
    std::uint64_t seq = 0;
  };

  [[nodiscard]] bool idle(const KeyState& state, MonoTime now) const {
    // Nothing owed to Redis, and unused for a window: forgetting it loses nothing (its
    // allowance would be refilled by the next sync anyway).
    return Strategy::observed(state.pending) == 0 && Strategy::observed(state.in_flight) == 0 &&
           now - state.last_used > state.limit.window + settings_.sync_interval;
  }

  // Marks the unsent requests of `key` as in flight and numbers the send; nothing when
  // there are none, unless `always` (a request goes to Redis anyway).
  std::optional<Send> take_unsent(std::string_view key, bool always) {
    const MonoTime now = executor_.clock().now();
    Result<std::optional<Send>> send = keys_.apply(
        key,
        [&](KeyState& state) -> std::optional<Send> {
          Counts unsent = state.pending;
          unsent -= state.in_flight;
          if (Strategy::observed(unsent) == 0 && !always) return std::nullopt;
          state.in_flight += unsent;
          return Send{state.limit, unsent, ++state.sends};
        },
        [&](const KeyState& state) { return idle(state, now); });
    return send.ok() ? *send : std::nullopt;
  }

  // Applies an answer to `requested` (0: a sync): the send's requests acknowledged (or,
  // failed or unknown, left pending to go again, the allowance not refilled), and, unless
  // a newer send's answer came first, the view and allowance refreshed.
  void settle(std::string_view key, const Send& send, std::int64_t requested,
              const Result<Decision>& answer) {
    const MonoTime now = executor_.clock().now();
    const Limit& limit = send.limit;
    (void)keys_.apply(
        key,
        [&](KeyState& state) {
          state.in_flight -= send.sent;
          if (!answer.ok()) return 0;
          state.pending -= send.sent;
          uncommitted_.fetch_sub(Strategy::observed(send.sent));
          // A newer send was answered first: its view already counts these requests.
          if (send.seq <= state.applied) return 0;
          state.applied = send.seq;
          if (!Strategy::same_limit(state.limit, limit)) return 0;  // changed: next sync
          Strategy::refresh(state.view, limit, requested, *answer, now);
          // Admissions made while this send was out (and any other send's, still in
          // flight) were made under the old allowance: they come out of the new one.
          state.allowance = std::max<std::int64_t>(
              0, std::min(budget(limit), Strategy::capacity(limit) - Strategy::admitted(*answer)) -
                     Strategy::admitted(state.pending));
          return 0;
        },
        [&](const KeyState& state) { return idle(state, now); });
  }

  RedisConnection& redis_;
  Executor& executor_;
  const HybridSettings settings_;
  Strategy strategy_;
  ShardedKeyMap<KeyState> keys_;
  std::atomic<std::int64_t> uncommitted_{0};
  std::atomic<std::uint64_t> redis_calls_{0};
  PeriodicTask syncer_;
};

template <typename Strategy>
Task<Status> HybridLimiter<Strategy>::sync() {
  const MonoTime now = executor_.clock().now();
  std::vector<std::string> keys;
  keys_.sweep([&](std::string_view key, KeyState& state) {
    if (Strategy::observed(state.pending) > Strategy::observed(state.in_flight)) {
      keys.emplace_back(key);
      return false;
    }
    return idle(state, now);
  });
  // In key order, not the key map's: what is sent, and so a simulated run's trace, does
  // not depend on the standard library's hash tables.
  std::sort(keys.begin(), keys.end());
  Status first_error;
  for (std::size_t begin = 0; begin < keys.size(); begin += kHybridSyncChunk) {
    const std::size_t end = std::min(keys.size(), begin + kHybridSyncChunk);
    std::vector<std::pair<const std::string*, Send>> sends;
    std::vector<ScriptCall> calls;
    for (std::size_t i = begin; i < end; ++i) {
      std::optional<Send> send = take_unsent(keys[i], /*always=*/false);
      if (!send) continue;
      calls.push_back(strategy_.commit_call(keys[i], send->limit, send->sent));
      sends.emplace_back(&keys[i], std::move(*send));
    }
    if (calls.empty()) continue;
    redis_calls_.fetch_add(1);
    std::vector<Result<RedisReply>> replies = co_await redis_.eval_pipeline(std::move(calls));
    for (std::size_t i = 0; i < sends.size(); ++i) {
      Result<Decision> answer = Strategy::parse_reply(
          i < replies.size()
              ? replies[i]
              : Result<RedisReply>(unavailable_error("the pipeline left a script unanswered")));
      if (!answer.ok() && first_error.ok()) first_error = answer.status();
      settle(*sends[i].first, sends[i].second, 0, answer);
    }
  }
  co_return first_error;
}

}  // namespace distkit

#endif  // DISTKIT_CORE_LIMITERS_HYBRID_LIMITER_H_
