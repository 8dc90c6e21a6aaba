// StrictCounter::inc through RedisClient (64 callers, one connection) against raw
// hiredis sending EVALSHA of the very same script 16-deep pipelined, same server,
// same run: what the counter API and the client cost on top of the script itself.
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <cstdio>
#include <memory>

#include "distkit/bench/bench_redis.h"
#include "distkit/bench/ratio_reporter.h"
#include "distkit/core/counters/strict_counter.h"

namespace distkit {
namespace {

using bench::BenchRedis;

constexpr int kBatch = 1024;
constexpr int kCallers = 64;

BenchRedis& setup() {
  BenchRedis& r = BenchRedis::get();
  r.load(StrictCounter::inc_script());
  return r;
}

void BM_Baseline_Inc(benchmark::State& state) {
  BenchRedis& s = setup();
  if (!s.ok()) return state.SkipWithError("no redis-server");
  const std::string& sha = StrictCounter::inc_script().sha1();
  int key = 0;
  for (auto _ : state) {
    for (int sent = 0; sent < kBatch; sent += 16) {
      for (int j = 0; j < 16; ++j) {
        const std::string field = "k" + std::to_string(key++ & 63);
        redisAppendCommand(s.hiredis, "EVALSHA %s 1 {bench}:strict_counter %s always 0 1",
                           sha.c_str(), field.c_str());
      }
      if (!s.drain(16)) return state.SkipWithError("hiredis failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

Task<int> increments(StrictCounter& counter, Executor& executor) {
  co_return co_await bench::run_callers(
      executor, kCallers, kBatch / kCallers, [&](int id, int i) -> Task<bool> {
        co_return (co_await counter.inc("k" + std::to_string((id * 16 + i) & 63))).ok();
      });
}

void BM_StrictCounter_Inc(benchmark::State& state) {
  BenchRedis& s = setup();
  if (!s.ok()) return state.SkipWithError("no redis-server");
  StrictCounter counter = *StrictCounter::create(*s.client, "bench");
  for (auto _ : state) {
    if (block_on(*s.runtime, increments(counter, *s.runtime)) != 0)
      return state.SkipWithError("inc failed");
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK(BM_Baseline_Inc)->UseRealTime();
BENCHMARK(BM_StrictCounter_Inc)->UseRealTime();

}  // namespace
}  // namespace distkit

DISTKIT_BENCHMARK_MAIN()
