// GCRA checks: GcraLimiter::check through RedisClient (64 callers, one connection)
// against raw hiredis sending EVALSHA of the very same script 16-deep pipelined (what
// the limiter API and the client cost on top of the script); LocalGcraLimiter::check
// and InvocationCounter::record against a bare std::atomic fetch_add. Issue targets:
// Redis ratio <= 1.25 (throughput >= 0.8 of raw), local ones measured.
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <memory>

#include "distkit/bench/bench_redis.h"
#include "distkit/bench/ratio_reporter.h"
#include "distkit/core/limiters/gcra_limiter.h"
#include "distkit/core/limiters/hybrid_window_limiter.h"
#include "distkit/core/local/invocation_counter.h"
#include "distkit/core/local/local_gcra.h"

namespace distkit {
namespace {

using bench::BenchRedis;

constexpr int kBatch = 1024;
constexpr int kCallers = 64;
// Plenty of permits: every check is allowed and writes, the common case.
const GcraRate kRate{.permits = 1'000'000, .period = std::chrono::seconds(1), .burst = 1000};

BenchRedis& setup() {
  BenchRedis& r = BenchRedis::get();
  r.load(GcraLimiter::script());
  return r;
}

void BM_Baseline_RedisCheck(benchmark::State& state) {
  BenchRedis& s = setup();
  if (!s.ok()) return state.SkipWithError("no redis-server");
  const std::string& sha = GcraLimiter::script().sha1();
  int key = 0;
  for (auto _ : state) {
    for (int sent = 0; sent < kBatch; sent += 16) {
      for (int j = 0; j < 16; ++j) {
        const std::string k = "{bench:k" + std::to_string(key++ & 63) + "}:gcra";
        redisAppendCommand(s.hiredis, "EVALSHA %s 1 %s %s 1 1000000/1000000 1000000 1000000 1000",
                           sha.c_str(), k.c_str(), "");
      }
      if (!s.drain(16)) return state.SkipWithError("hiredis failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

Task<int> checks(GcraLimiter& limiter, Executor& executor) {
  co_return co_await bench::run_callers(
      executor, kCallers, kBatch / kCallers, [&](int id, int i) -> Task<bool> {
        Result<GcraDecision> d =
            co_await limiter.check("k" + std::to_string((id * 16 + i) & 63), kRate);
        co_return d.ok() && d->allowed;
      });
}

void BM_GcraLimiter_RedisCheck(benchmark::State& state) {
  BenchRedis& s = setup();
  if (!s.ok()) return state.SkipWithError("no redis-server");
  GcraLimiter limiter = *GcraLimiter::create(*s.client, {.prefix = "bench"});
  for (auto _ : state) {
    if (block_on(*s.runtime, checks(limiter, *s.runtime)) != 0)
      return state.SkipWithError("check failed or denied");
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

// The local-first route to the same job: HybridSlidingWindowLimiter on the same
// callers and keys, a limit no caller reaches (budget 5% of it), syncing every 10 ms
// in the background. Not the same guarantee as GCRA (bounded overshoot, see its
// header); reported next to GcraLimiter in the peer comparison.
Task<int> window_checks(HybridSlidingWindowLimiter& limiter, Executor& executor) {
  const SlidingWindowLimit limit{.limit = 1'000'000'000,
                                 .window = std::chrono::seconds(1),
                                 .bucket = std::chrono::milliseconds(10)};
  co_return co_await bench::run_callers(
      executor, kCallers, kBatch / kCallers, [&](int id, int i) -> Task<bool> {
        Result<WindowDecision> d =
            co_await limiter.inc("k" + std::to_string((id * 16 + i) & 63), limit);
        co_return d.ok() && d->allowed;
      });
}

void BM_HybridWindow_RedisCheck(benchmark::State& state) {
  BenchRedis& s = setup();
  if (!s.ok()) return state.SkipWithError("no redis-server");
  auto limiter = *HybridSlidingWindowLimiter::create(*s.client, *s.runtime, {.prefix = "bench"});
  for (auto _ : state) {
    if (block_on(*s.runtime, window_checks(*limiter, *s.runtime)) != 0)
      return state.SkipWithError("check failed or denied");
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  if (!block_on(*s.runtime, limiter->shutdown()).ok()) state.SkipWithError("final sync failed");
}

std::atomic<std::int64_t> g_counter{0};

void BM_Baseline_Local(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(g_counter.fetch_add(1, std::memory_order_relaxed));
  state.SetItemsProcessed(state.iterations());
}

class SteadyClock : public Clock {
 public:
  MonoTime now() const override {
    return MonoTime(std::chrono::steady_clock::now().time_since_epoch());
  }
  WallTime wall_now() const override {
    return WallTime(std::chrono::system_clock::now().time_since_epoch());
  }
};

void BM_LocalGcra_Local(benchmark::State& state) {
  static SteadyClock clock;
  static LocalGcraLimiter limiter(clock);
  const GcraRate rate{.permits = 1'000'000'000, .period = std::chrono::seconds(1), .burst = 1000};
  for (auto _ : state)
    benchmark::DoNotOptimize(limiter.check("hot", rate));
  state.SetItemsProcessed(state.iterations());
}

void BM_InvocationCounter_Local(benchmark::State& state) {
  static auto counter = std::move(*InvocationCounter::create(6, 10));
  std::uint64_t t = 0;
  for (auto _ : state)
    counter->record(t++ >> 8);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Baseline_RedisCheck)->UseRealTime();
BENCHMARK(BM_GcraLimiter_RedisCheck)->UseRealTime();
BENCHMARK(BM_HybridWindow_RedisCheck)->UseRealTime();
BENCHMARK(BM_Baseline_Local)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_LocalGcra_Local)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_InvocationCounter_Local)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace distkit

DISTKIT_BENCHMARK_MAIN()
