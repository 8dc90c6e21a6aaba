// The built-in primitives of the scenario runner: the four counters and the three
// Redis-backed limiters, each with the invariant a user may rely on under faults.
#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <type_traits>

#include "distkit/core/counters/instance_aware_counter.h"
#include "distkit/core/counters/lax_counter.h"
#include "distkit/core/counters/lax_instance_aware_counter.h"
#include "distkit/core/counters/strict_counter.h"
#include "distkit/core/limiters/gcra_limiter.h"
#include "distkit/core/limiters/hybrid_suppressed_limiter.h"
#include "distkit/core/limiters/hybrid_window_limiter.h"
#include "distkit/core/limiters/sliding_window_limiter.h"
#include "distkit/core/limiters/suppressed_limiter.h"
#include "distkit/sim/check/limiter_bounds.h"
#include "distkit/tools/sim/scenario.h"
#include "tools/sim/scenario_internal.h"

namespace distkit::scenario {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string key_name(int i) {
  return "k" + std::to_string(i);
}

// "app-3.0" -> "app-3_0": instance ids take letters, digits, '-' and '_'.
std::string instance_id(const std::string& process) {
  std::string id = process;
  std::replace(id.begin(), id.end(), '.', '_');
  return id;
}

// Waits for the final read, then returns (the primitive shuts down after).
Task<void> wait_released(InstanceEnv& env) {
  while (!*env.released)
    co_await sleep_for(*env.executor, milliseconds(10));
}

// ---------------------------------------------------------------- counters

std::int64_t next_delta(InstanceEnv& env) {
  return env.rng->between(1, 3);
}
int next_key(InstanceEnv& env) {
  return static_cast<int>(env.rng->below(static_cast<std::uint64_t>(env.options->keys)));
}

// Records an operation's outcome: acknowledged, unknown (may or may not have counted),
// or certainly not applied.
template <typename Tally>
void record_outcome(Tally& t, StatusCode code, std::int64_t delta) {
  if (code == StatusCode::kOk) {
    t.acked += delta;
  } else if (code == StatusCode::kUnknownOutcome) {
    t.unknown += delta;
  }
}

// What every counter scenario records: per process and key, what was acknowledged,
// what had an unknown outcome, and (lax) what was incremented locally.
class CounterPrimitive : public Primitive {
 public:
  explicit CounterPrimitive(const ScenarioOptions& options) : options_(options) {}

  void sample(double seconds, Timeline& timeline) override {
    // The views as distances from the truth: a flat 0 is exact, a dip is an instance
    // that has not heard of others' increments yet (a partition, a flush not yet made).
    timeline.y_label = "k0: each instance's last view minus the true value";
    timeline.get("true value (0)", true).points.emplace_back(seconds, 0);
    for (const auto& [index, view] : views_)
      timeline.get("app-" + std::to_string(index))
          .points.emplace_back(seconds, view - static_cast<double>(truth_k0_));
  }
  [[nodiscard]] std::uint64_t operations() const override { return operations_; }

  struct Tally {
    std::int64_t acked = 0;
    std::int64_t unknown = 0;
    std::int64_t made = 0;  // lax: incremented locally
  };

 protected:
  // Sums over the processes `only` (all when null).
  [[nodiscard]] Tally sum(const std::string& key, const std::set<std::string>* only) const {
    Tally t;
    for (const auto& [process, keys] : tallies_) {
      if (only != nullptr && !only->contains(process)) continue;
      if (auto it = keys.find(key); it != keys.end()) {
        t.acked += it->second.acked;
        t.unknown += it->second.unknown;
        t.made += it->second.made;
      }
    }
    return t;
  }
  Tally& tally(const std::string& process, const std::string& key) {
    return tallies_[process][key];
  }
  // The strict and lax counters' keys (one family): read as a StrictCounter.
  Task<void> read_plain_finals(InstanceEnv& env) {
    StrictCounter counter = *StrictCounter::create(*env.redis, env.options->key_prefix);
    co_await read_finals(env, [&](std::string key) { return counter.get(std::move(key)); });
  }
  // Reads every key's final value through `read` (retried: the run has healed).
  template <typename Read>
  Task<void> read_finals(InstanceEnv& env, Read read) {
    for (int k = 0; k < options_.keys; ++k) {
      for (int attempt = 0; attempt < 50; ++attempt) {
        Result<std::int64_t> v = co_await read(key_name(k));
        if (v.ok()) {
          finals_[key_name(k)] = *v;
          break;
        }
        co_await sleep_for(*env.executor, milliseconds(100));
      }
    }
  }
  std::optional<Violation> missing_final(const std::string& key) const {
    if (finals_.contains(key)) return std::nullopt;
    return Violation{"could not read " + key + " after healing", -1};
  }

  // What an increment's result says k0 is: the value, or the cumulative of the slices.
  static double view_of(std::int64_t value) { return static_cast<double>(value); }
  static double view_of(const SliceValue& value) { return static_cast<double>(value.cumulative); }

  // Strict counters: each increment a round trip, its outcome recorded (unknown until
  // the reply says otherwise: a crash keeps it unknown).
  template <typename Counter>
  Task<void> run_strict(InstanceEnv& env, Counter& counter) {
    while (!*env.stop) {
      const std::int64_t delta = next_delta(env);
      const int k = next_key(env);
      ++operations_;
      Tally& t = tally(env.process, key_name(k));
      t.unknown += delta;
      auto v = co_await counter.inc(key_name(k), delta);
      t.unknown -= delta;
      record_outcome(t, v.status().code(), delta);
      if (k == 0 && v.ok()) {
        views_[env.index] = view_of(*v);
        truth_k0_ += delta;
      }
      co_await pace(env);
    }
    settled(env.process);
    co_await wait_released(env);
  }

  // Lax counters: local increments; everything made here reaches Redis before the
  // final read (flushes retried: the run has healed), then the counter shuts down.
  template <typename Counter>
  Task<void> run_lax(InstanceEnv& env, Counter& counter) {
    while (!*env.stop) {
      const std::int64_t delta = next_delta(env);
      const int k = next_key(env);
      ++operations_;
      auto v = counter.inc(key_name(k), delta);
      if (v.ok()) {
        tally(env.process, key_name(k)).made += delta;
        if (k == 0) {
          views_[env.index] = view_of(*v);
          truth_k0_ += delta;
        }
      }
      co_await pace(env);
    }
    for (int attempt = 0; attempt < 100 && counter.unacknowledged() != 0; ++attempt) {
      (void)co_await counter.flush();
      if (counter.unacknowledged() != 0) co_await sleep_for(*env.executor, milliseconds(50));
    }
    if (counter.unacknowledged() == 0) settled(env.process);
    co_await wait_released(env);
    (void)co_await counter.shutdown();
  }

  // Every key's final cumulative, read through an instance-aware counter.
  template <typename Counter>
  Task<void> read_cumulatives(InstanceEnv& env, Counter& counter) {
    co_await read_finals(env, [&](std::string key) -> Task<Result<std::int64_t>> {
      Result<SliceValue> v = co_await counter.get(std::move(key));
      if (!v.ok()) co_return v.status();
      co_return v->cumulative;
    });
    (void)co_await counter.shutdown();
  }

  const ScenarioOptions& options_;
  std::map<std::string, std::map<std::string, Tally>> tallies_;
  std::map<std::string, std::int64_t> finals_;
  std::map<int, double> views_;  // each instance's last view of k0
  std::int64_t truth_k0_ = 0;
  std::uint64_t operations_ = 0;
};

class StrictCounterPrimitive final : public CounterPrimitive {
 public:
  using CounterPrimitive::CounterPrimitive;
  Task<void> run(InstanceEnv& env) override {
    Result<StrictCounter> counter = StrictCounter::create(*env.redis, env.options->key_prefix);
    if (!counter.ok()) co_return;
    co_await run_strict(env, *counter);
  }
  Task<void> observe(InstanceEnv& env) override { co_await read_plain_finals(env); }
  std::optional<Violation> check() override {
    for (int k = 0; k < options_.keys; ++k) {
      const std::string key = key_name(k);
      if (auto m = missing_final(key)) return m;
      const Tally all = sum(key, nullptr);
      const std::int64_t final_value = finals_.at(key);
      if (final_value < all.acked || final_value > all.acked + all.unknown) {
        return Violation{key + " = " + std::to_string(final_value) + ", outside [acknowledged " +
                             std::to_string(all.acked) + ", acknowledged + unknown " +
                             std::to_string(all.acked + all.unknown) + "]",
                         -1};
      }
    }
    return std::nullopt;
  }
  std::string invariant() const override {
    return "acknowledged <= final value <= acknowledged + unknown-outcome, for every key";
  }
};

class LaxCounterPrimitive final : public CounterPrimitive {
 public:
  using CounterPrimitive::CounterPrimitive;
  Task<void> run(InstanceEnv& env) override {
    Result<std::unique_ptr<LaxCounter>> counter =
        LaxCounter::create(*env.redis, *env.executor,
                           {.prefix = env.options->key_prefix,
                            .instance_id = instance_id(env.process),
                            .session = env.rng->next_u64() | 1,
                            .flush_interval = milliseconds(50)});
    if (!counter.ok()) co_return;
    co_await run_lax(env, **counter);
  }
  Task<void> observe(InstanceEnv& env) override { co_await read_plain_finals(env); }
  std::optional<Violation> check() override {
    for (int k = 0; k < options_.keys; ++k) {
      const std::string key = key_name(k);
      if (auto m = missing_final(key)) return m;
      const std::int64_t lower = sum(key, &survivors()).made;
      const std::int64_t upper = sum(key, nullptr).made;
      const std::int64_t final_value = finals_.at(key);
      if (final_value < lower || final_value > upper) {
        return Violation{key + " = " + std::to_string(final_value) +
                             ", outside [made by survivors " + std::to_string(lower) +
                             ", made by all " + std::to_string(upper) +
                             "]: " + (final_value > upper ? "counted twice" : "lost increments"),
                         -1};
      }
    }
    return std::nullopt;
  }
  std::string invariant() const override {
    return "increments of surviving processes <= final value <= all increments made "
           "(a crash may lose unflushed ones; nothing counts twice)";
  }
};

// Instance-aware: a dead process's slice leaves the total; survivors' stay exact.
class InstanceAwarePrimitive final : public CounterPrimitive {
 public:
  InstanceAwarePrimitive(const ScenarioOptions& options, bool lax)
      : CounterPrimitive(options), lax_(lax) {}

  [[nodiscard]] Duration settle_time() const override { return kThreshold + kThreshold; }

  Task<void> run(InstanceEnv& env) override {
    InstanceAwareCounterOptions base{.prefix = env.options->key_prefix,
                                     .instance_id = instance_id(env.process),
                                     .session = (env.rng->next_u64() >> 2) | 1,
                                     .dead_instance_threshold = kThreshold};
    if (lax_) {
      LaxInstanceAwareCounterOptions o;
      static_cast<InstanceAwareCounterOptions&>(o) = base;
      o.flush_interval = milliseconds(50);
      auto counter = LaxInstanceAwareCounter::create(*env.redis, *env.executor, o);
      if (!counter.ok()) co_return;
      co_await run_lax(env, **counter);
      co_return;
    }
    auto counter = StrictInstanceAwareCounter::create(*env.redis, *env.executor, base);
    if (!counter.ok()) co_return;
    co_await run_strict(env, **counter);
    (void)co_await (*counter)->shutdown();
  }

  Task<void> observe(InstanceEnv& env) override {
    // The lax counters are a family of their own in Redis: read it as one of them.
    InstanceAwareCounterOptions base{.prefix = env.options->key_prefix,
                                     .instance_id = "observer",
                                     .session = 1,
                                     .dead_instance_threshold = kThreshold};
    if (lax_) {
      LaxInstanceAwareCounterOptions o;
      static_cast<InstanceAwareCounterOptions&>(o) = base;
      auto counter = LaxInstanceAwareCounter::create(*env.redis, *env.executor, o);
      if (!counter.ok()) co_return;
      co_await read_cumulatives(env, **counter);
      co_return;
    }
    auto counter = StrictInstanceAwareCounter::create(*env.redis, *env.executor, base);
    if (!counter.ok()) co_return;
    co_await read_cumulatives(env, **counter);
  }

  std::optional<Violation> check() override {
    for (int k = 0; k < options_.keys; ++k) {
      const std::string key = key_name(k);
      if (auto m = missing_final(key)) return m;
      const Tally live = sum(key, &survivors());
      const std::int64_t final_value = finals_.at(key);
      const std::int64_t lower = lax_ ? live.made : live.acked;
      const std::int64_t upper = lax_ ? live.made : live.acked + live.unknown;
      if (final_value < lower || final_value > upper) {
        return Violation{key + " = " + std::to_string(final_value) +
                             ", but the surviving processes hold [" + std::to_string(lower) + ", " +
                             std::to_string(upper) + "]",
                         -1};
      }
    }
    return std::nullopt;
  }
  std::string invariant() const override {
    return lax_ ? "final cumulative == increments of the surviving processes (dead ones reaped)"
                : "final cumulative within [acknowledged, + unknown] of the surviving processes";
  }

 private:
  static constexpr Duration kThreshold = seconds(2);
  bool lax_;
};

// ---------------------------------------------------------------- limiters

using sim::Grant;

class LimiterPrimitive : public Primitive {
 public:
  explicit LimiterPrimitive(const ScenarioOptions& options)
      : options_(options),
        // Each key gets half of what the instances ask of it: the limiter is busy.
        limit_(std::max<std::int64_t>(
            1, static_cast<std::int64_t>(options.rate * options.instances / options.keys / 2))) {}

  Task<void> run(InstanceEnv& env) override {
    // Owned by this frame: a crash destroys it with the process's connection.
    std::unique_ptr<Decider> decider = make_decider(env);
    if (decider == nullptr) co_return;
    while (!*env.stop) {
      const int k = next_key(env);
      ++operations_;
      const std::int64_t sent = env.true_us();
      const bool allowed = co_await decider->decide(key_name(k));
      if (allowed) {
        grants_[key_name(k)].push_back({sent, env.true_us(), 1, env.process});
        if (k == 0) ++allowed_by_[env.index];
      }
      co_await pace(env);
    }
    settled(env.process);
    co_await wait_released(env);
    co_await decider->finish();
  }

  void sample(double seconds, Timeline& timeline) override {
    timeline.y_label = "grants of k0 in the last second";
    const std::int64_t now = static_cast<std::int64_t>(seconds * 1e6);
    std::int64_t in_window = 0;
    const auto& g = grants_["k0"];
    for (auto it = g.rbegin(); it != g.rend() && it->acked_us > now - 1'000'000; ++it)
      ++in_window;
    timeline.get("granted (all instances)", true).points.emplace_back(seconds, in_window);
    timeline.get("bound").points.emplace_back(seconds, static_cast<double>(per_second_bound()));
    for (auto& [index, allowed] : allowed_by_) {
      auto& last = last_allowed_[index];
      const double dt = seconds - last_sample_;
      timeline.get("app-" + std::to_string(index))
          .points.emplace_back(seconds, dt > 0 ? (allowed - last) / dt : 0);
      last = allowed;
    }
    last_sample_ = seconds;
  }
  [[nodiscard]] std::uint64_t operations() const override { return operations_; }

  // One process's limiter.
  class Decider {
   public:
    virtual ~Decider() = default;
    virtual Task<bool> decide(std::string key) = 0;
    virtual Task<void> finish() { co_return; }
  };

 protected:
  virtual std::unique_ptr<Decider> make_decider(InstanceEnv& env) = 0;
  [[nodiscard]] virtual std::int64_t per_second_bound() const = 0;

  // Sliding windows: grants certainly inside every span ending at a grant's ack.
  std::optional<Violation> check_spans(std::int64_t span_us,
                                       const std::function<std::int64_t(std::size_t)>& bound) {
    for (const auto& [key, grants] : grants_) {
      if (auto v = sim::check_window_bound(grants, span_us, bound)) {
        return Violation{key + ": " + v->what, v->at_us / 1e6};
      }
    }
    return std::nullopt;
  }

  const ScenarioOptions& options_;
  std::int64_t limit_;  // per key and second
  std::map<std::string, std::vector<Grant>> grants_;
  std::map<int, double> allowed_by_, last_allowed_;
  double last_sample_ = 0;
  std::uint64_t operations_ = 0;
};

class GcraPrimitive final : public LimiterPrimitive {
 public:
  explicit GcraPrimitive(const ScenarioOptions& options)
      : LimiterPrimitive(options),
        rate_{.permits = limit_,
              .period = seconds(1),
              .burst = std::max<std::int64_t>(0, limit_ / 10)} {}

  std::optional<Violation> check() override {
    const std::int64_t t_us = 1'000'000 / rate_.permits;  // floor: a looser bound, never tighter
    // Windows up to a few bursts long (longer ones add T per T).
    const std::int64_t horizon = 4 * (rate_.burst + 1) * (t_us + 1) + 100'000;
    for (const auto& [key, grants] : grants_) {
      if (auto v = sim::check_gcra_bound(grants, rate_.burst, t_us, horizon)) {
        return Violation{key + ": " + v->what, v->at_us / 1e6};
      }
    }
    return std::nullopt;
  }
  std::string invariant() const override {
    return "at most burst + 1 + floor((W - 1) / T) grants in any window W (T = 1 s / " +
           std::to_string(rate_.permits) + ", burst " + std::to_string(rate_.burst) + ")";
  }

 private:
  class GcraDecider final : public Decider {
   public:
    GcraDecider(GcraLimiter limiter, const GcraRate& rate)
        : limiter_(std::move(limiter)), rate_(rate) {}
    Task<bool> decide(std::string key) override {
      Result<GcraDecision> d = co_await limiter_.check(std::move(key), rate_);
      co_return d.ok() && d->allowed;
    }

   private:
    GcraLimiter limiter_;
    const GcraRate& rate_;
  };
  std::unique_ptr<Decider> make_decider(InstanceEnv& env) override {
    Result<GcraLimiter> limiter =
        GcraLimiter::create(*env.redis, {.prefix = env.options->key_prefix});
    if (!limiter.ok()) return nullptr;
    return std::make_unique<GcraDecider>(std::move(*limiter), rate_);
  }
  std::int64_t per_second_bound() const override { return rate_.permits + rate_.burst; }

  GcraRate rate_;
};

// The limiter behind a Decider: a value, or a unique_ptr for the hybrids (which are
// shut down, committing what is left, when the process finishes).
template <typename T>
T& limiter_of(T& limiter) {
  return limiter;
}
template <typename T>
T& limiter_of(std::unique_ptr<T>& limiter) {
  return *limiter;
}

// A Redis or hybrid sliding-window limiter: `inc(key, limit)` decides.
template <typename Handle, typename Limit>
class IncDecider final : public LimiterPrimitive::Decider {
 public:
  IncDecider(Handle limiter, const Limit& limit) : limiter_(std::move(limiter)), limit_(limit) {}
  Task<bool> decide(std::string key) override {
    auto d = co_await limiter_of(limiter_).inc(std::move(key), limit_);
    co_return d.ok() && d->allowed;
  }
  Task<void> finish() override {
    if constexpr (!std::is_same_v<decltype(limiter_of(limiter_)), Handle&>) {
      (void)co_await limiter_->shutdown();
    }
  }

 private:
  Handle limiter_;
  const Limit& limit_;
};

template <typename Limit, typename Handle>
std::unique_ptr<LimiterPrimitive::Decider> decider_for(Result<Handle> limiter, const Limit& limit) {
  if (!limiter.ok()) return nullptr;
  return std::make_unique<IncDecider<Handle, Limit>>(std::move(*limiter), limit);
}

// The sliding windows: absolute or suppressed, in Redis or hybrid (local decisions
// within a budget of 5% of the limit per process). The suppressed ones shed from half
// the limit and never pass it (their hard limit).
class WindowPrimitive final : public LimiterPrimitive {
 public:
  WindowPrimitive(const ScenarioOptions& options, bool suppressed, bool hybrid)
      : LimiterPrimitive(options),
        suppressed_(suppressed),
        hybrid_(hybrid),
        window_{.limit = limit_, .window = seconds(1), .bucket = milliseconds(100)},
        shedding_{.soft_limit = limit_ / 2,
                  .hard_limit = limit_,
                  .window = seconds(1),
                  .bucket = milliseconds(100),
                  .factor_cache = milliseconds(100)} {}

  std::optional<Violation> check() override {
    const std::int64_t budget = hybrid_budget(limit_, kBudgetFraction);
    return check_spans(900'000, [&](std::size_t processes) {
      return limit_ +
             (hybrid_ ? budget * static_cast<std::int64_t>(processes > 0 ? processes - 1 : 0) : 0);
    });
  }
  std::string invariant() const override {
    const std::string limit = suppressed_ ? "hard limit" : "limit";
    return (hybrid_ ? "at most " + limit + " + (processes - 1) x budget " : "at most " + limit) +
           " grants in any 900 ms (window 1 s - bucket 100 ms, " + limit + " " +
           std::to_string(limit_) +
           (hybrid_ ? ", budget " + std::to_string(hybrid_budget(limit_, kBudgetFraction)) : "") +
           ")";
  }

 private:
  static constexpr double kBudgetFraction = 0.05;

  std::unique_ptr<Decider> make_decider(InstanceEnv& env) override {
    const std::string& prefix = env.options->key_prefix;
    // Seeded from the process's stream: a replay draws the same.
    const std::uint64_t seed = suppressed_ ? env.rng->next_u64() | 1 : 0;
    if (suppressed_ && hybrid_) {
      return decider_for(HybridSuppressedLimiter::create(
                             *env.redis, *env.executor,
                             {.prefix = prefix, .budget_fraction = kBudgetFraction, .seed = seed}),
                         shedding_);
    }
    if (suppressed_) {
      return decider_for(
          SuppressedLimiter::create(*env.redis, *env.executor, {.prefix = prefix, .seed = seed}),
          shedding_);
    }
    if (hybrid_) {
      return decider_for(
          HybridSlidingWindowLimiter::create(
              *env.redis, *env.executor, {.prefix = prefix, .budget_fraction = kBudgetFraction}),
          window_);
    }
    return decider_for(SlidingWindowLimiter::create(*env.redis, {.prefix = prefix}), window_);
  }
  std::int64_t per_second_bound() const override { return limit_; }

  bool suppressed_;
  bool hybrid_;
  SlidingWindowLimit window_;
  SuppressedLimit shedding_;
};

}  // namespace

Task<void> pace(InstanceEnv& env) {
  const ScenarioOptions& o = *env.options;
  double rate = o.rate;
  if (o.workload == WorkloadShape::kBursty) {
    // One second in five at five times the rate, a quarter of it otherwise.
    const bool burst = (env.true_us() / 1'000'000) % 5 == 0;
    rate = burst ? rate * 5 : rate / 4;
  }
  // Uniform gaps around 1 / rate: deterministic, never a zero-length busy loop.
  const double mean_us = 1e6 / std::max(rate, 1e-3);
  const std::int64_t gap = env.rng->between(static_cast<std::int64_t>(mean_us / 2),
                                            static_cast<std::int64_t>(mean_us * 3 / 2));
  co_await sleep_for(*env.executor, std::chrono::microseconds(std::max<std::int64_t>(gap, 1)));
}

std::vector<PrimitiveInfo> builtin_primitives() {
  std::vector<PrimitiveInfo> list;
  list.push_back(
      {"strict-counter", "StrictCounter: every increment one script in Redis",
       [](const ScenarioOptions& o) { return std::make_unique<StrictCounterPrimitive>(o); }});
  list.push_back(
      {"lax-counter", "LaxCounter: local increments, idempotent batched flushes",
       [](const ScenarioOptions& o) { return std::make_unique<LaxCounterPrimitive>(o); }});
  list.push_back({"strict-ia-counter",
                  "StrictInstanceAwareCounter: per-instance slices, dead ones reaped",
                  [](const ScenarioOptions& o) {
                    return std::make_unique<InstanceAwarePrimitive>(o, false);
                  }});
  list.push_back(
      {"lax-ia-counter", "LaxInstanceAwareCounter: local increments into slices",
       [](const ScenarioOptions& o) { return std::make_unique<InstanceAwarePrimitive>(o, true); }});
  list.push_back({"gcra", "GcraLimiter: GCRA in one script, on the Redis server's clock",
                  [](const ScenarioOptions& o) { return std::make_unique<GcraPrimitive>(o); }});
  list.push_back({"sliding-window", "SlidingWindowLimiter: absolute strategy in Redis",
                  [](const ScenarioOptions& o) {
                    return std::make_unique<WindowPrimitive>(o, false, false);
                  }});
  list.push_back(
      {"hybrid-window", "HybridSlidingWindowLimiter: local grants within a budget, synced",
       [](const ScenarioOptions& o) { return std::make_unique<WindowPrimitive>(o, false, true); }});
  list.push_back(
      {"suppressed", "SuppressedLimiter: probabilistic shedding in Redis",
       [](const ScenarioOptions& o) { return std::make_unique<WindowPrimitive>(o, true, false); }});
  list.push_back(
      {"hybrid-suppressed",
       "HybridSuppressedLimiter: shedding decided locally within a budget, synced",
       [](const ScenarioOptions& o) { return std::make_unique<WindowPrimitive>(o, true, true); }});
  add_raft_primitives(list);
  return list;
}

}  // namespace distkit::scenario
