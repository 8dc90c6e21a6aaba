// LaxCounter::inc and LaxInstanceAwareCounter::inc on an existing key against a bare
// std::atomic<int64_t>::fetch_add, same process, 1 and 2 threads. The flush task runs meanwhile
// (against a real redis-server), as it does in production. Issue target: ratio <= 8.
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>

#include "distkit/bench/bench_redis.h"
#include "distkit/bench/ratio_reporter.h"
#include "distkit/core/counters/lax_counter.h"
#include "distkit/core/counters/lax_instance_aware_counter.h"

namespace distkit {
namespace {

using bench::BenchRedis;

std::atomic<std::int64_t> g_counter{0};

LaxCounter* lax() {
  static LaxCounter* counter = [] {
    BenchRedis& r = BenchRedis::get();
    LaxCounterOptions options;
    options.prefix = "bench";
    options.instance_id = "bench";
    auto made = LaxCounter::create(*r.client, *r.runtime, options);
    return made.ok() ? std::move(*made).release() : nullptr;
  }();
  return counter;
}

LaxInstanceAwareCounter* lax_instance_aware() {
  static LaxInstanceAwareCounter* counter = [] {
    BenchRedis& r = BenchRedis::get();
    LaxInstanceAwareCounterOptions options;
    options.prefix = "bench";
    options.instance_id = "bench";
    auto made = LaxInstanceAwareCounter::create(*r.client, *r.runtime, options);
    return made.ok() ? std::move(*made).release() : nullptr;
  }();
  return counter;
}

void BM_Baseline_Inc(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(g_counter.fetch_add(1, std::memory_order_relaxed));
  state.SetItemsProcessed(state.iterations());
}

void BM_Lax_Inc(benchmark::State& state) {
  LaxCounter* counter = lax();
  if (counter == nullptr || !BenchRedis::get().ok()) return state.SkipWithError("no redis-server");
  (void)counter->inc("hot");
  for (auto _ : state)
    benchmark::DoNotOptimize(counter->inc("hot"));
  state.SetItemsProcessed(state.iterations());
}

void BM_LaxInstanceAware_Inc(benchmark::State& state) {
  LaxInstanceAwareCounter* counter = lax_instance_aware();
  if (counter == nullptr || !BenchRedis::get().ok()) return state.SkipWithError("no redis-server");
  (void)counter->inc("hot");
  for (auto _ : state)
    benchmark::DoNotOptimize(counter->inc("hot"));
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Baseline_Inc)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Lax_Inc)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_LaxInstanceAware_Inc)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace distkit

DISTKIT_BENCHMARK_MAIN()
