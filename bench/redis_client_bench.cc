// transport::RedisClient against raw hiredis on the same redis-server, same run.
//
//  - Throughput: 1024 EVALSHA of a one-line HINCRBY script per iteration.
//    Baseline: one hiredis connection pipelining 16 deep. Client: 64 coroutines
//    sharing one RedisClient (automatic pipelining). Issue target: time ratio <= 1.25
//    (throughput >= 0.8 of the baseline).
//  - Latency: 100 sequential round trips per iteration from one caller.
//    Baseline: blocking hiredis. Client: one coroutine awaiting each reply.
//    Target: time ratio <= 1.2.
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <cstdio>
#include <memory>

#include "distkit/bench/bench_redis.h"
#include "distkit/bench/ratio_reporter.h"
#include "distkit/core/seam/redis_connection.h"

namespace distkit {
namespace {

using bench::BenchRedis;

const RedisScript kHincrby("return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)");
constexpr int kBatch = 1024;
constexpr int kCallers = 64;
constexpr int kSequential = 100;

BenchRedis& setup() {
  BenchRedis& r = BenchRedis::get();
  r.load(kHincrby);
  return r;
}

void append_evalsha(redisContext* c) {
  redisAppendCommand(c, "EVALSHA %s 1 {b}:h f", kHincrby.sha1().c_str());
}

void BM_Baseline_Throughput(benchmark::State& state) {
  BenchRedis& s = setup();
  if (!s.ok()) return state.SkipWithError("no redis-server");
  for (auto _ : state) {
    for (int sent = 0; sent < kBatch; sent += 16) {
      for (int j = 0; j < 16; ++j)
        append_evalsha(s.hiredis);
      if (!s.drain(16)) return state.SkipWithError("hiredis failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

Task<int> many_callers(transport::RedisClient& client, Executor& executor) {
  const std::vector<std::string> keys(1, "{b}:h");
  const std::vector<std::string> args(1, "f");
  co_return co_await bench::run_callers(
      executor, kCallers, kBatch / kCallers,
      [&](int, int) -> Task<bool> { co_return (co_await client.eval(kHincrby, keys, args)).ok(); });
}

void BM_Client_Throughput(benchmark::State& state) {
  BenchRedis& s = setup();
  if (!s.ok()) return state.SkipWithError("no redis-server");
  for (auto _ : state) {
    if (block_on(*s.runtime, many_callers(*s.client, *s.runtime)) != 0) {
      return state.SkipWithError("client requests failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_Baseline_Latency(benchmark::State& state) {
  BenchRedis& s = setup();
  if (!s.ok()) return state.SkipWithError("no redis-server");
  for (auto _ : state) {
    for (int i = 0; i < kSequential; ++i) {
      append_evalsha(s.hiredis);
      if (!s.drain(1)) return state.SkipWithError("hiredis failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * kSequential);
}

Task<int> sequential(transport::RedisClient& client) {
  int failures = 0;
  const std::vector<std::string> keys(1, "{b}:h");
  const std::vector<std::string> args(1, "f");
  for (int i = 0; i < kSequential; ++i) {
    if (!(co_await client.eval(kHincrby, keys, args)).ok()) ++failures;
  }
  co_return failures;
}

void BM_Client_Latency(benchmark::State& state) {
  BenchRedis& s = setup();
  if (!s.ok()) return state.SkipWithError("no redis-server");
  for (auto _ : state) {
    if (block_on(*s.runtime, sequential(*s.client)) != 0)
      return state.SkipWithError("client failed");
  }
  state.SetItemsProcessed(state.iterations() * kSequential);
}

BENCHMARK(BM_Baseline_Throughput)->UseRealTime();
BENCHMARK(BM_Client_Throughput)->UseRealTime();
BENCHMARK(BM_Baseline_Latency)->UseRealTime();
BENCHMARK(BM_Client_Latency)->UseRealTime();

}  // namespace
}  // namespace distkit

DISTKIT_BENCHMARK_MAIN()
